#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nestvirtd against a real libvirtd, private to the test: a session daemon
# run as uid 65534 with its runtime and config directories here, serving
# libvirt's test driver over its unix socket (test+unix://...), and a
# private dbus-daemon (tests/dbus/bus.conf).
# - Property reads answer from nestvirtd's machine objects: with libvirtd
#   stopped (SIGSTOP), Get, GetAll and ListMachines still answer at once.
# - libvirtd killed and started again: nestvirtd reconnects, subscribes to
#   the events again, and its jobs work (before, every call failed with
#   "Domain 'l1' not found" and nestvirtd kept running).
set -u
NESTVIRTD=$1 TESTVMM=$2 BUSCONF=$3
LIBVIRTD=$(command -v libvirtd || echo /usr/sbin/libvirtd)
command -v dbus-daemon >/dev/null && command -v busctl >/dev/null && command -v setpriv >/dev/null && [ -x "$LIBVIRTD" ] || {
        echo "1..0 # SKIP needs libvirtd (package libvirt-daemon), dbus-daemon, busctl and setpriv"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root, to run libvirtd as another uid"; exit 0; }
T=$(mktemp -d /tmp/nestvirtd-lv-XXXXXX)
chmod 755 "$T"
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
UUID=7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e51
LV_PID= BUS_PID= D_PID= VMM_PID=
cleanup() {
        [ -n "$LV_PID" ] && kill -CONT $LV_PID 2>/dev/null
        kill $D_PID $VMM_PID $LV_PID $BUS_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT

. "$(dirname "$0")/tap.sh"
B() { busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --timeout=3 "$@"; }
. "$(dirname "$0")/dbus/nestvirtd.sh"

nested_node l1 $UUID "$T/vmm.sock" >"$T/node.xml"
chmod 644 "$T/node.xml"
mkdir -p "$T/lv/home" "$T/lv/run"
chown -R 65534:65534 "$T/lv"
chmod 700 "$T/lv/run"
SOCK=$T/lv/run/libvirt/libvirt-sock
libvirtd_start() {
        rm -f "$SOCK"
        setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$PATH" HOME="$T/lv/home" XDG_RUNTIME_DIR="$T/lv/run" \
                XDG_CONFIG_HOME="$T/lv/home/.config" XDG_CACHE_HOME="$T/lv/home/.cache" "$LIBVIRTD" --timeout 0 \
                >>"$T/libvirtd.log" 2>&1 &
        LV_PID=$!
        for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
        return 1
}
check "a private libvirtd starts" libvirtd_start
"$TESTVMM" --sim --socket "$T/vmm.sock" --vcpus 2 --uuid $UUID >"$T/vmm.out" 2>"$T/vmm.err" &
VMM_PID=$!
dbus-daemon --config-file="$BUSCONF" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile 2>"$T/bus.err" &
BUS_PID=$!
for ((i = 0; i < 50; i++)); do [ -S "$T/bus" ] && break; sleep 0.1; done
"$NESTVIRTD" --connect "test+unix://$T/node.xml?socket=$SOCK" 2>"$T/nestvirtd.err" &
D_PID=$!
for ((i = 0; i < 50; i++)); do B status org.nestvirt.NestedState1 >/dev/null 2>&1 && break; sleep 0.1; done
mpath=$(path_of "$(B call "${M[@]}" GetMachine s l1)")
check "nestvirtd on the private libvirtd: the machine" contains "$mpath" "/org/nestvirt/NestedState1/machine/"

# Reads come from the machine objects: libvirtd stopped, they still answer.
kill -STOP $LV_PID
check "libvirtd stopped: Get answers" test "$(prop "$mpath" org.nestvirt.NestedState1.Machine Name)" = l1
out=$(B call org.nestvirt.NestedState1 "$mpath" org.freedesktop.DBus.Properties GetAll s org.nestvirt.NestedState1.Machine 2>&1)
check "libvirtd stopped: GetAll answers, all nine" contains "$out" "a{sv} 9 \"Name\" s \"l1\""
check "libvirtd stopped: ListMachines answers" contains "$(B call "${M[@]}" ListMachines 2>&1)" "a(ssbo) 1 \"l1\""
kill -CONT $LV_PID

job=$(path_of "$(B call "${M[@]}" Save sa{sv}u l1 0 0)")
check "before the restart: a save completes" test "$(job_wait "$job")" = completed
for ((i = 0; i < 30; i++)); do old=$(prop "$mpath" org.nestvirt.NestedState1.Machine StatePath); [ -n "$old" ] && break; sleep 0.1; done
check "before the restart: the metadata event updated StatePath" test -f "$old"

# libvirtd goes away and comes back.
kill -TERM $LV_PID; wait $LV_PID 2>/dev/null
for ((i = 0; i < 50; i++)); do grep -q "connection closed" "$T/nestvirtd.err" && break; sleep 0.1; done
check "libvirtd gone: nestvirtd notices" grep -q "the libvirt connection closed" "$T/nestvirtd.err"
check "libvirtd gone: nestvirtd still answers reads" test "$(prop "$mpath" org.nestvirt.NestedState1.Machine Name)" = l1
check "libvirtd started again" libvirtd_start
for ((i = 0; i < 100; i++)); do grep -q "reconnected to libvirt" "$T/nestvirtd.err" && break; sleep 0.1; done
check "nestvirtd reconnects" grep -q "reconnected to libvirt" "$T/nestvirtd.err"
sleep 0.3 # the loop reads the domains again
check "after the reconnect: the machine was read again (no saved state on the fresh test driver)" \
        test -z "$(prop "$mpath" org.nestvirt.NestedState1.Machine StatePath)"
job=$(path_of "$(B call "${M[@]}" Save sa{sv}u l1 0 0)")
check "after the reconnect: a save completes" test "$(job_wait "$job")" = completed
out=$(prop "$job" org.nestvirt.NestedState1.Job Result)
check "after the reconnect: the save's result" contains "$out" "Saved 2 vCPU(s)"
for ((i = 0; i < 30; i++)); do new=$(prop "$mpath" org.nestvirt.NestedState1.Machine StatePath); [ -n "$new" ] && break; sleep 0.1; done
check "after the reconnect: events again (the metadata event set StatePath to the new snapshot)" \
        test -f "$new" -a "$new" != "$old"

kill $D_PID; wait $D_PID; rc=$?
check "nestvirtd exits cleanly on SIGTERM" test $rc -eq 0
D_PID=

tap_end
