#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nestvirtd (private dbus-daemon, root: no polkit) on a test-driver domain
# whose metadata names a VMM with no nestvirt code by its pidfile
# (<nestvirt:vmm transport="process">): the jobs go through the process
# backend unchanged.  The VMM is a real KVM VM of this machine
# (test-vmm-proc --vmm); where the kernel has no nested state the Save job
# fails with that kernel's refusal, which only the process backend gives.
# A kept freeze of the running VMM and a restore into it are refused, and
# the VMM is let go each time (no tracer left, not stopped).  dominfo
# names the pidfile and sees no freeze.
set -u
NESTVIRTD=$1 VMM_BIN=$2 BUSCONF=$3 DATA=$4 NESTVIRT=$5
command -v dbus-daemon >/dev/null && command -v busctl >/dev/null || { echo "1..0 # SKIP needs dbus-daemon and busctl"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root (ptrace of the VMM, no polkit)"; exit 0; }
T=$(mktemp -d /tmp/nestvirtd-process-XXXXXX)
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
UUID=3a9d4c2b-1e0f-4b6a-9c8d-7e6f5a4b3c2d
VMM= BUS_PID= D_PID=
cleanup() { kill -9 $VMM 2>/dev/null; kill $D_PID $BUS_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 143' TERM INT

. "$(dirname "$0")/tap.sh"
B() { busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" "$@"; }
. "$(dirname "$0")/dbus/nestvirtd.sh"

mkfifo "$T/in"
"$VMM_BIN" --vmm <"$T/in" >/dev/null 2>"$T/vmm.err" &
VMM=$!
exec {HOLD}>"$T/in" # the VMM runs until this closes
for ((i = 0; i < 100; i++)); do
        ls -l /proc/$VMM/fd 2>/dev/null | grep -q 'kvm-vcpu:1' && break
        kill -0 $VMM 2>/dev/null || { echo "1..0 # SKIP no KVM VM on this machine: $(cat "$T/vmm.err")"; exit 0; }
        sleep 0.1
done
echo $VMM >"$T/vmm.pid"
cat >"$T/node.xml" <<XML
<node><domain type='test'><name>p</name><uuid>$UUID</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="process" pidfile="$T/vmm.pid"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>
XML

dbus-daemon --config-file="$BUSCONF" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile 2>"$T/bus.err" &
BUS_PID=$!
for ((i = 0; i < 50; i++)); do [ -S "$T/bus" ] && break; sleep 0.1; done
NESTVIRT_HOST_ROOT=$DATA/data/host-amd "$NESTVIRTD" --connect "test://$T/node.xml" --linger 300 2>"$T/nestvirtd.err" &
D_PID=$!
for ((i = 0; i < 50; i++)); do B status org.nestvirt.NestedState1 >/dev/null 2>&1 && break; sleep 0.1; done

let_go() { # the VMM runs on: no tracer left, not stopped
        local st
        st=$(cat /proc/$VMM/status 2>/dev/null) || return 1
        grep -q '^TracerPid:[[:space:]]*0$' <<<"$st" && ! grep -q '^State:[[:space:]]*[tT]' <<<"$st"
}
switches() { # the VMM's threads' voluntary context switches: its vCPU threads sleep 1 ms after each OUT
        cat /proc/$VMM/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}
job_result() { # METHOD SIGNATURE ARGS...: runs a job to its end; prints "STATE: RESULT"
        local job
        job=$(path_of "$(B call "${M[@]}" "$@")")
        echo "$(job_wait "$job"): $(prop "$job" org.nestvirt.NestedState1.Job Result)"
}

out=$(job_result Save sa{sv}u p 0 0)
echo "# $out"
if [[ $out == completed* ]]; then
        check "Save job through the process backend: saved" contains "$out" "Saved 2 vCPU(s)"
else
        check "Save job through the process backend: this kernel's refusal" contains "$out" "KVM_CAP_NESTED_STATE is 0 on the VMM"
fi
check "the VMM was let go after the Save job" let_go
out=$(job_result Save sa{sv}u p 0 1)
echo "# $out"
check "Save with keep-frozen of the running process VMM fails" contains "$out" "failed:"
check "... and says to pause the VMM first" contains "$out" "Pause the VMM through its own API first"
out=$(job_result Restore sa{sv}u p 0 0)
echo "# $out"
check "Restore into the running process VMM fails" contains "$out" "failed:"
check "... and says it runs" contains "$out" "runs it already"
mpath=$(path_of "$(B call "${M[@]}" GetMachine s p)")
check "Machine: the process domain is listed" contains "$mpath" "/org/nestvirt/NestedState1/"
check "the VMM was let go after every job" let_go
out=$("$NESTVIRT" -c "test://$T/node.xml" dominfo p 2>&1)
check "dominfo names the pidfile" contains "$out" "vmm.pidfile      $T/vmm.pid"
check "dominfo: the VMM is not frozen (nothing holds it)" contains "$out" "vmm.frozen       no"
check "dominfo touched nothing" let_go
s0=$(switches); sleep 0.3; s1=$(switches)
check "the VMM's vCPU threads run on ($s0 -> $s1 context switches)" test "$s1" -gt "$s0"

tap_end
