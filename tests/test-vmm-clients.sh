#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent (in the reference VMM, simulated KVM) as clients other than
# sd-bus see it, on peer-to-peer D-Bus:
# - libdbus (dbus-send --peer, python3-dbus) and GDBus (Gio through
#   python3-gi): every call answered, 50 each, a new connection each;
# - 200 callers at once, all answered; 100 connections that say nothing do
#   not lock out `nestvirt save`; a silent connection is closed after the
#   idle timeout, and the freeze it held without keep-frozen ends with it;
# - each Freeze a hold of its own: two callers never end each other's
#   freeze; a kept freeze outlives its caller and a later `nestvirt save`;
#   Thaw with option "all" ends every hold;
# - a known option of the wrong type is InvalidArgs.
set -u
NESTVIRT=$1 TESTVMM=$2
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3)
HELPER=$(dirname "$0")/dbus/vmm-clients.py
command -v dbus-send >/dev/null && $PY -c 'import dbus, gi; gi.require_version("Gio", "2.0")' 2>/dev/null || {
        echo "1..0 # SKIP needs dbus-send, python3-dbus and python3-gi"; exit 0; }
T=$(mktemp -d /tmp/nestvirt-clients-XXXXXX)
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
UUID=7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e31
declare -a PIDS=()
trap 'kill -9 ${PIDS[*]} 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup

. "$(dirname "$0")/tap.sh"

. "$(dirname "$0")/dbus/nestvirtd.sh"
nested_node l1 $UUID "$T/vmm.sock" >"$T/node.xml"
nv() { "$NESTVIRT" -c "test://$T/node.xml" "$@"; }
vmm_start() { # SOCKET [TESTVMM OPTION...]
        local sock=$1; shift
        "$TESTVMM" --sim --socket "$sock" --vcpus 2 --uuid $UUID "$@" >"$sock.out" 2>>"$T/vmm.err" &
        PIDS+=($!)
        for ((i = 0; i < 100; i++)); do grep -q ready "$sock.out" 2>/dev/null && return 0; sleep 0.05; done
        return 1
}
ADDR=unix:path=$T/vmm.sock
C() { $PY "$HELPER" "$ADDR" "$@"; }
get() { # ADDRESS [TIMEOUT_MS]: libdbus's first call on a new connection
        timeout $((${2:-3000} / 1000 + 5)) dbus-send --peer="$1" --print-reply --reply-timeout=${2:-3000} /org/nestvirt/Vmm1 \
                org.freedesktop.DBus.Properties.Get string:org.nestvirt.Vmm1 string:VcpuCount
}

check "the reference VMM serves" vmm_start "$T/vmm.sock"

# libdbus and GDBus clients: the first call on each connection is answered.
ok=0
for ((i = 0; i < 50; i++)); do get "$ADDR" 2>/dev/null | grep -q "uint32 2" && ok=$((ok + 1)); done
check "dbus-send --peer: 50 of 50 calls answered ($ok)" test $ok -eq 50
out=$(C calls dbus 50)
check "python3-dbus (libdbus): 50 of 50 calls answered" contains "$out" "answered 50"
out=$(C calls gio 50)
check "GDBus (Gio): 50 of 50 calls answered" contains "$out" "answered 50"

# Freezes: one hold per caller.
out=$(C freeze-holds)
echo "$out" | sed 's/^/# /'
check "Freeze: each caller its own token" contains "$out" "distinct tokens True"
check "Freeze: one caller's thaw does not end another's freeze" contains "$out" "after A's thaw, frozen for B True"
check "Thaw: a token is good once" contains "$out" "A's token again org.freedesktop.DBus.Error.InvalidArgs"
check "Freeze: the last thaw resumes" contains "$out" "after B's thaw False"
check "keep-frozen: outlives its caller" contains "$out" "kept, caller gone True"
check "keep-frozen: survives another caller's freeze and thaw" contains "$out" "kept, after another caller's freeze and thaw True"
check "a plain freeze ends with its connection, the kept one stays" contains "$out" "kept, after a plain holder hung up True"
check "the kept token's thaw resumes" contains "$out" "after the kept token's thaw False"
check "Thaw when not frozen: NotFrozen" contains "$out" "thaw when not frozen org.nestvirt.Vmm1.Error.NotFrozen"
check "Thaw all: ends every hold" contains "$out" "after thaw all False"

# The shutdown path: save --keep-frozen, then a plain save (a cron job, nestvirtd) leaves it frozen.
nv save l1 --keep-frozen >/dev/null
check "save --keep-frozen: frozen" contains "$(C frozen)" "frozen True"
nv save l1 >/dev/null; rc=$?
check "a plain save after it succeeds" test $rc -eq 0
check "a plain save does not end the kept freeze" contains "$(C frozen)" "frozen True"
$PY - "$ADDR" <<'PY'
import dbus, sys
c = dbus.connection.Connection(sys.argv[1])
dbus.Interface(c.get_object(None, "/org/nestvirt/Vmm1", introspect=False), "org.nestvirt.Vmm1").Thaw(
    dbus.UInt64(0), dbus.Dictionary({"all": True}, signature="sv"))
PY
check "Thaw all ends it" contains "$(C frozen)" "frozen False"

# A known option of the wrong type.
out=$(C bad-option)
check "Freeze keep-frozen as a string: InvalidArgs" contains "$out" "org.freedesktop.DBus.Error.InvalidArgs Option 'keep-frozen' must be a boolean (b), not 's'."
check "the refused Freeze froze nothing" contains "$out" "frozen after False"

# Many connections: 100 that say nothing, then a save; then 200 callers at once.
C hold-open 100 20 >"$T/hold.out" &
HOLD=$!; PIDS+=($HOLD)
for ((i = 0; i < 100; i++)); do grep -q holding "$T/hold.out" && break; sleep 0.05; done
sleep 1.2 # silent long enough to give way
out=$(nv save l1 2>&1); rc=$?
check "100 silent connections: nestvirt save still works" test $rc -eq 0
[ $rc -eq 0 ] || echo "# $out"
ok=0
for ((i = 0; i < 10; i++)); do get "$ADDR" 2>/dev/null | grep -q "uint32 2" && ok=$((ok + 1)); done
check "100 silent connections: other callers are answered" test $ok -eq 10
kill $HOLD; wait $HOLD 2>/dev/null
for ((i = 0; i < 200; i++)); do
        (get "$ADDR" 30000 >"$T/c$i" 2>&1) &
done
wait_callers() { local p; for p in $(jobs -p); do [[ " ${PIDS[*]} " == *" $p "* ]] || wait "$p"; done; }
wait_callers
ok=$(grep -l "uint32 2" "$T"/c* | wc -l)
check "200 callers at once: all answered ($ok)" test "$ok" -eq 200

# A silent connection is closed after the idle timeout (here 1.5 s), and its freeze with it.
check "a VMM with a short idle timeout" vmm_start "$T/idle.sock" --idle-timeout 1500
out=$($PY "$HELPER" "unix:path=$T/idle.sock" idle-hold 3)
check "idle: frozen while the holder is connected" contains "$out" "frozen before True"
check "idle: the silent holder's freeze ended" contains "$out" "frozen after the holder was silent False"
check "idle: the silent connection was closed" contains "$out" "silent connection closed"

tap_end
