#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A frozen VMM, seen and thawed: after `save --keep-frozen` that no VMM
# stop followed (a cancelled shutdown) and after `migrate-begin` that no
# migration followed (a failed virsh migrate), `list` and `dominfo` show the
# VMM frozen and since when, and `nestvirt thaw` lets L2 run on.  Against
# the reference VMM on peer-to-peer D-Bus, with libvirt's test driver.
set -u
NESTVIRT=$1
TESTVMM=$2
T=$(mktemp -d /tmp/nestvirt-thaw-XXXXXX)
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus # never the host's bus
UUID=7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e31
VMM_PID= VMM_OUT=
trap 'kill -9 $VMM_PID 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup

. "$(dirname "$0")/tap.sh"

cat >"$T/node.xml" <<XML
<node><domain type='test'><name>l1</name><uuid>$UUID</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/vmm.sock"/>
  </nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain></node>
XML
nv() { "$NESTVIRT" -c "test://$T/node.xml" "$@"; }
mkfifo "$T/out"
"$TESTVMM" --socket "$T/vmm.sock" --vcpus 2 --uuid $UUID >"$T/out" 2>"$T/vmm.err" &
VMM_PID=$!
exec {VMM_OUT}<"$T/out"
expect() { local l; while IFS= read -r -t 10 l <&$VMM_OUT; do [[ $l == "$1"* ]] && { LINE=$l; return 0; }; done; return 1; }
counters() { kill -USR2 $VMM_PID; expect counters: && read -ra C <<<"${LINE#counters:}"; }
stays() { local old=("$@") i; sleep 0.3; counters || return 1; for i in "${!old[@]}"; do (( C[i] == old[i] )) || return 1; done; }
runs() { local old=("$@") i; sleep 0.3; counters || return 1; for i in "${!old[@]}"; do (( C[i] > old[i] )) || return 1; done; }
# The JSON of list/dominfo: VMM state of l1 as "frozen since" or "running".
vmm_state() {
        python3 -c '
import json, sys
o = json.loads(sys.argv[1]); o = o[0] if isinstance(o, list) else o
v = o["vmm_state"]
print("unreachable" if not v["reachable"] else ("frozen " + str(v["frozen_since"])) if v["frozen"] else "running")' "$1"
}
# A UTC time within a minute of now (what FrozenSince should be).
recent() { python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
sys.exit(abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > 60)' "$1"; }
expect ready; sleep 0.3

check "list: a running VMM is not frozen" test "$(vmm_state "$(nv list --json)")" = running
check "dominfo: vmm.frozen no" contains "$(nv dominfo l1)" "vmm.frozen       no"
out=$(nv thaw l1); rc=$?
check "thaw of a VMM that is not frozen: exit 0" test $rc -eq 0
check "thaw of a VMM that is not frozen: says so" contains "$out" "The VMM of domain 'l1' is not frozen; nothing to do."

# 1. A kept freeze whose VMM stop never came (a cancelled shutdown).
nv save l1 --keep-frozen >/dev/null
counters; saved=("${C[@]}")
check "save --keep-frozen: the VMM stays frozen" stays "${saved[@]}"
state=$(vmm_state "$(nv list --json)")
check "list --json: frozen, with FrozenSince" test "${state%% *}" = frozen
since=${state#frozen }
check "FrozenSince is the time of the save" recent "$since"
out=$(nv list)
check "list: the State column says frozen" contains "$out" " l1                   frozen "
check "list: since when, and how to thaw" contains "$out" "l1: the VMM is frozen since $since ('nestvirt thaw l1' lets it run)."
check "dominfo: frozen since" contains "$(nv dominfo l1)" "vmm.frozen       yes, since $since"
out=$(nv thaw l1); rc=$?
check "thaw a kept freeze: exit 0" test $rc -eq 0
check "thaw a kept freeze: says since when it was frozen" contains "$out" "Thawed the VMM of domain 'l1', frozen since $since."
check "thaw a kept freeze: L2 runs on" runs "${saved[@]}"
check "after thaw: list says running" test "$(vmm_state "$(nv list --json)")" = running

# 2. migrate-begin froze it for a migration that failed.
nv migrate-begin l1 --no-check -o "$T/dest.xml" >/dev/null; rc=$?
check "migrate-begin: exit 0" test $rc -eq 0
counters; saved=("${C[@]}")
check "migrate-begin: the VMM stays frozen" stays "${saved[@]}"
out=$(nv thaw l1 --json); rc=$?
check "thaw --json after a failed migration" python3 -c '
import json, sys
o = json.loads(sys.argv[1]); assert sys.argv[2] == "0" and o["domain"] == "l1" and o["was_frozen"] is True and o["frozen_since"]' "$out" $rc
check "thaw after a failed migration: L2 runs on" runs "${saved[@]}"

# 3. Another operation under way holds the domain's lock: thaw waits its turn (refused), nothing changes.
nv save l1 --keep-frozen >/dev/null
counters; saved=("${C[@]}")
mkdir -p "$T/run/locks"; exec {LOCK}>"$T/run/locks/$UUID.lock"; flock -n $LOCK
err=$(nv thaw l1 2>&1); rc=$?
check "thaw while another operation runs: refused (exit 2)" test $rc -eq 2
check "thaw while another operation runs: says so" contains "$err" "Another nestvirt operation on domain 'l1' is in progress"
check "thaw refused: the VMM stays frozen" stays "${saved[@]}"
exec {LOCK}>&-
nv thaw l1 >/dev/null
check "thaw once the lock is free" runs "${saved[@]}"

kill -9 $VMM_PID; wait $VMM_PID 2>/dev/null; VMM_PID=
err=$(nv thaw l1 2>&1); rc=$?
check "thaw without a VMM: exit 2" test $rc -eq 2
check "thaw without a VMM: names the socket" contains "$err" "$T/vmm.sock"
check "list without a VMM: unreachable, not frozen" test "$(vmm_state "$(nv list --json)")" = unreachable

tap_end
