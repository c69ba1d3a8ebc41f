#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On real nested SVM: the reference VMM with no nestvirt code running
# (--no-agent), reached only through ptrace by `nestvirt collect` and
# `nestvirt load`.  Collect from the running VMM (every vCPU's blob is a
# well-formed SVM state); the VMM runs on; nestvirt killed mid-collect
# leaves it running; save (pause, own state, collect), SIGKILL, restart
# paused, load, resume: L2 continues on every vCPU.
#
# Then the same VMM as a libvirt (test driver) domain whose metadata names
# it by pidfile (<nestvirt:vmm transport="process">): nestvirt save,
# maintenance save-all, the refusals (a kept freeze or a migrate-begin of
# the running VMM, a restore into it, a tracer that cannot suspend the
# VMM's seccomp filter), save killed at random points, save of a VMM whose
# seccomp filter forbids the ioctl (suspended: we run as root), and save →
# SIGKILL → restart paused → restore → L2 continues in guest mode.  The
# load's roll-back: a snapshot whose last vCPU the kernel refuses (the
# validator's rule S9 off, a test-only knob) leaves every vCPU as it was.
# maintenance save-all → SIGKILL → restart paused → restore-all; the
# same through nestvirtd's Save and Restore jobs on a private bus.
set -u
NESTVIRT=$1
TESTVMM=$2
SECCOMP_EXEC=$3 # runs a program under a filter that kills it on KVM_GET/SET_NESTED_STATE
NESTVIRTD=${4:-} BUSCONF=${5:-} # nestvirtd and a private bus's configuration (its jobs run if dbus-daemon and busctl are here)

. "$(dirname "$0")/../tap.sh"
not_contains() { ! grep -qF -- "$2" <<<"$1"; }

D=$(mktemp -d)
VMM= DAEMONS=
cleanup() { [[ -n $VMM ]] && kill -9 "$VMM" 2>/dev/null; [[ -n $DAEMONS ]] && kill $DAEMONS 2>/dev/null; wait; rm -rf "$D"; }
trap cleanup EXIT

start_vmm() { # ARGS...: starts the VMM ($WRAP in front, if set), waits for "ready"; VMM=pid, also in $D/vmm.pid
        : >"$D/out"
        ${WRAP:-} "$TESTVMM" --no-agent --kvm --vcpus 2 --own-state "$D/own" "$@" >"$D/out" 2>>"$D/err" &
        VMM=$!
        echo "$VMM" >"$D/vmm.pid"
        for _ in $(seq 100); do grep -q '^ready' "$D/out" && return 0; sleep 0.1; done
        return 1
}
stop_vmm() { kill -9 "$VMM"; wait "$VMM" 2>/dev/null; VMM=; }
counters() { # [l1-exits]: prints the VMM's "counters:" (L2 progress) or "l1-exits:" numbers (SIGUSR2)
        local what=${1:-counters} n
        n=$(grep -c "^$what:" "$D/out")
        kill -USR2 "$VMM"
        for _ in $(seq 50); do
                [[ $(grep -c "^$what:" "$D/out") -gt $n ]] && break
                sleep 0.1
        done
        grep "^$what:" "$D/out" | tail -n 1 | cut -d' ' -f2-
}
resume_and_check() { # WHAT: resumes the paused VMM (its own SIGCONT); L2 goes on from $saved, in guest mode
        local l1_before l1_after # after: the counters now, for the caller too
        l1_before=$(counters l1-exits)
        kill -CONT "$VMM"
        sleep 1
        after=$(counters)
        l1_after=$(counters l1-exits)
        check "L2 continues on every vCPU after the $1 ($saved -> $after)" all_greater "$saved" "$after"
        check "L1 handles L2's exits again: L2 runs nested ($l1_before -> $l1_after)" all_greater "$l1_before" "$l1_after"
        check "no vCPU stopped after the $1" not_contains "$(cat "$D/err")" "stopped"
}
kill_after() { # SECONDS COMMAND...: COMMAND SIGKILLed after SECONDS, wherever it is by then
        local delay=$1; shift
        "$@" >/dev/null 2>&1 &
        sleep "$delay"
        kill -9 $! 2>/dev/null
        wait $! 2>/dev/null
}
pause_own_state() { # the VMM's own pause (SIGHUP), then its own state (SIGUSR1)
        kill -HUP "$VMM"
        sleep 0.2
        rm -f "$D/own"
        kill -USR1 "$VMM"
        for _ in $(seq 50); do [[ -s $D/own ]] && break; sleep 0.1; done
}
all_greater() { # "A B" "C D": every later counter is larger
        local -a a=($1) b=($2)
        [[ ${#a[@]} -eq 2 && ${#b[@]} -eq 2 && ${b[0]} -gt ${a[0]} && ${b[1]} -gt ${a[1]} ]]
}
guest_mode_all() { # FILE: every vCPU in guest mode
        [[ $(grep -c '"guest_mode":true' <<<"$("$NESTVIRT" inspect --json "$1")") -eq 2 ]]
}
blobs_ok() { # FILE: 2 vCPUs of SVM state, each flags 0 or 0x100 (in L1, GIF clear or set), 0x101 or 0x103 (in L2), guest mode ones of 4224 bytes
        local json flags
        json=$("$NESTVIRT" inspect --json "$1") || return 1
        contains "$json" '"vcpu_count":2' || return 1
        [[ $(grep -c '"format":"svm"' <<<"$json") -eq 2 ]] || return 1
        flags=$(grep -o '"flags_value":[0-9]*' <<<"$json" | cut -d: -f2)
        for f in $flags; do
                [[ $f == 0 || $f == 256 || $f == 257 || $f == 259 ]] || { echo "# unexpected flags $f"; return 1; }
        done
        [[ $(grep -c '"guest_mode":true' <<<"$json") -eq $(grep -c '"size":4224' <<<"$json") ]]
}

if ! start_vmm; then
        echo "1..0 # SKIP the reference VMM cannot run nested SVM on real KVM here: $(tail -n 1 "$D/err")"
        exit 77
fi
c0=$(counters)

out=$("$NESTVIRT" collect --pid "$VMM" -o "$D/live.nvstate" 2>&1); rc=$?
echo "# $out"
check "collect from the running VMM exits 0" test $rc -eq 0
check "collect says how long the VMM was stopped" contains "$out" "the VMM was stopped for"
check "every vCPU's blob is well-formed SVM state" blobs_ok "$D/live.nvstate"
sleep 0.5
c1=$(counters)
check "L2 runs on after the collect ($c0 -> $c1)" all_greater "$c0" "$c1"

# nestvirt killed at assorted points of a collect: the VMM runs on.
for delay in 0.005 0.02 0.05; do
        kill_after $delay "$NESTVIRT" collect --pid "$VMM" -o "$D/killed.nvstate"
done
sleep 0.5
c2=$(counters)
check "the VMM is alive after nestvirt was killed mid-collect" kill -0 "$VMM"
check "L2 runs on after the killed collects ($c1 -> $c2)" all_greater "$c1" "$c2"
check "no vCPU stopped" not_contains "$(cat "$D/err")" "stopped"

# Save: pause through the VMM's own control, its own state, then the nested state.
pause_own_state
check "the VMM saved its own state" test -s "$D/own"
out=$("$NESTVIRT" collect --pid "$VMM" -o "$D/saved.nvstate" 2>&1); rc=$?
echo "# $out"
check "collect from the paused VMM exits 0" test $rc -eq 0
check "the saved blobs are well-formed SVM state" blobs_ok "$D/saved.nvstate"
saved=$(counters)
stop_vmm

check "the VMM restarts paused from its own state" start_vmm --restore
out=$("$NESTVIRT" load --pid "$VMM" "$D/saved.nvstate" 2>&1); rc=$?
echo "# $out"
check "load into the paused VMM exits 0" test $rc -eq 0
resume_and_check load
out=$("$NESTVIRT" collect --pid "$VMM" -o "$D/again.nvstate" 2>&1)
check "the restored VMM's state is well-formed again" blobs_ok "$D/again.nvstate"
check "the saved state had every vCPU in guest mode" guest_mode_all "$D/saved.nvstate"

# A damaged snapshot is refused before anything is set, and the VMM runs on.
cp "$D/saved.nvstate" "$D/bad.nvstate"
printf 'XXXX' | dd of="$D/bad.nvstate" bs=1 seek=300 conv=notrunc 2>/dev/null
out=$("$NESTVIRT" load --pid "$VMM" "$D/bad.nvstate" 2>&1); rc=$?
check "a damaged snapshot is refused" test $rc -eq 2 # could not run: refused before anything was set
sleep 0.3
c3=$(counters)
check "L2 runs on after the refusal ($after -> $c3)" all_greater "$after" "$c3"

# ---- The driver, through <nestvirt:vmm transport="process" pidfile=...>.
export NESTVIRT_STATE_DIR=$D/state NESTVIRT_RUNTIME_DIR=$D/run
UUID=5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d
node() { # [STATE_XML]: a test-driver node with the running domain l1 whose VMM is the pidfile's
        cat >"$D/node.xml" <<XML
<node><domain type='test'><name>l1</name><uuid>$UUID</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="process" pidfile="$D/vmm.pid"/>${1:-}
  </nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>
XML
}
nv() { "$NESTVIRT" -c "test://$D/node.xml" "$@"; }
field() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1"; } # JSON TEXT KEY: a flat value
restart_referencing() { # JSON WHAT: a save's JSON; the VMM killed, the node references the snapshot, restarted paused
        path=$(field "$1" path) sha=$(field "$1" sha256) # path: also for the caller
        check "$2: every vCPU was in guest mode" guest_mode_all "$path"
        saved=$(counters)
        stop_vmm
        node "$(printf '\n    <nestvirt:state path="%s" sha256="%s" vendor="svm" vcpus="2" time="2026-11-30T00:00:00Z"/>' "$path" "$sha")"
        check "the VMM restarts paused from its own state" start_vmm --restore
}
stop_vmm
node
start_vmm
sleep 0.3
c0=$(counters)
out=$(nv save l1 --json 2>&1); rc=$?
echo "# $out"
check "save of the running domain through its pidfile exits 0" test $rc -eq 0
path=$(field "$out" path)
check "the saved file holds well-formed SVM state" blobs_ok "$path"
sleep 0.5
c1=$(counters)
check "L2 runs on after the save ($c0 -> $c1)" all_greater "$c0" "$c1"

out=$(nv save l1 --keep-frozen 2>&1); rc=$?
echo "# $out"
check "save --keep-frozen of the running process VMM is refused (exit $rc)" test $rc -ne 0
check "the refusal says why and what to do" contains "$out" "the kernel resumes every traced thread when nestvirt exits. Pause the VMM through its own API first."
out=$(nv migrate-begin l1 --no-check 2>&1 >/dev/null); rc=$?
echo "# $out"
check "migrate-begin of the running process VMM is refused the same way" contains "$out" "Pause the VMM through its own API first"
out=$(nv restore l1 --file "$path" 2>&1); rc=$?
echo "# $out"
check "restore into the running VMM is refused (exit $rc)" test $rc -ne 0
check "the restore refusal says the VM runs" contains "$out" "runs it already"
out=$(nv maintenance save-all 2>&1); rc=$?
echo "# ${out//$'\n'/ / }"
check "maintenance save-all saves the process domain (exit $rc)" test $rc -eq 0
sleep 0.3
c2=$(counters)
check "L2 runs on after the refusals and save-all ($c1 -> $c2)" all_greater "$c1" "$c2"

# nestvirt save killed at random points: the VMM runs on, and the next save works.
for _ in 1 2 3 4 5 6; do
        # The program itself, not the nv function: a function in the background is a subshell, and killing it spares nestvirt.
        kill_after "0.$(printf '%03d' $((RANDOM % 400)))" "$NESTVIRT" -c "test://$D/node.xml" save l1
done
sleep 0.5
c3=$(counters)
check "the VMM is alive after saves killed at random points" kill -0 "$VMM"
check "L2 runs on after the killed saves ($c2 -> $c3)" all_greater "$c2" "$c3"
out=$(nv save l1 2>&1); rc=$?
check "a save after the killed ones exits 0" test $rc -eq 0
check "no vCPU stopped" not_contains "$(cat "$D/err")" "stopped"
stop_vmm

# A VMM whose seccomp filter kills it on KVM_GET_NESTED_STATE.
WRAP=$SECCOMP_EXEC
check "the VMM runs under a seccomp filter that forbids the nested-state ioctls" start_vmm
WRAP=
sleep 0.3
c0=$(counters)
out=$("$SECCOMP_EXEC" "$NESTVIRT" -c "test://$D/node.xml" save l1 2>&1); rc=$?
echo "# $out"
check "a tracer that cannot suspend the filter (itself under seccomp) is refused (exit $rc)" test $rc -ne 0
check "the refusal names the seccomp filter" contains "$out" "runs under a seccomp filter that could kill it on an injected syscall"
sleep 0.3
c1=$(counters)
check "the filtered VMM was left untouched and runs on ($c0 -> $c1)" all_greater "$c0" "$c1"
out=$(nv save l1 --json 2>&1); rc=$?
echo "# $out"
check "as root, save suspends the filter (PTRACE_O_SUSPEND_SECCOMP) and exits 0" test $rc -eq 0
check "the filtered VMM's state is well-formed" blobs_ok "$(field "$out" path)"
sleep 0.3
c2=$(counters)
check "the filtered VMM survived the injected ioctls and runs on ($c1 -> $c2)" all_greater "$c1" "$c2"
stop_vmm

# Save (paused by its own API, own state, kept freeze granted), SIGKILL, restart paused, restore, resume.
start_vmm
sleep 0.5
pause_own_state
out=$(nv migrate-begin l1 --no-check 2>&1); rc=$?
check "migrate-begin of the paused VMM exits 0 (its own pause keeps it stopped)" test $rc -eq 0
check "migrate-begin's XML carries the state inline" contains "$out" "<nestvirt:inline"
out=$(nv save l1 --keep-frozen --json 2>&1); rc=$?
echo "# $out"
check "save --keep-frozen of the paused VMM exits 0" test $rc -eq 0
check "... and says its own pause keeps it stopped, not nestvirt" test "$(field "$out" own_pause)" = true
restart_referencing "$out" "the paused VMM's save"
out=$(nv restore l1 2>&1); rc=$?
echo "# $out"
check "restore of the domain into the paused VMM exits 0" test $rc -eq 0
check "restore names the file" contains "$out" "from $path"

# The load's roll-back (all or nothing), in the paused, restored VMM.  A snapshot whose vCPU 0 differs from
# what vCPU 0 holds (control.int_vector) and whose vCPU 1, the last one set, has a vmcb12 asid of 0: the
# kernel refuses that SET, after vCPU 0's.  The validator refuses it before any SET (rule S9) unless the
# test-only knob NESTVIRT_TEST_DISABLE_RULE turns the rule off; `load --pid` has no scratch-vCPU check, so
# the blob reaches the VMM's own KVM_SET_NESTED_STATE.
poke() { printf "$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc 2>/dev/null; } # FILE OFFSET BYTES
unpack() { rm -rf "$2"; "$NESTVIRT" unpack "$1" -d "$2" >/dev/null; } # SNAPSHOT DIR: DIR/vcpu-N.raw
held() { # NAME: collects the VMM's nested state into $D/NAME.nvstate and $D/NAME/vcpu-N.raw
        "$NESTVIRT" collect --pid "$VMM" -o "$D/$1.nvstate" >/dev/null && unpack "$D/$1.nvstate" "$D/$1"
}
held before
check "before the refused load, every vCPU is in guest mode" guest_mode_all "$D/before.nvstate"
unpack "$D/before.nvstate" "$D/mixed"
poke "$D/mixed/vcpu-0.raw" '0x80 + 0x64' '\x5a\xa5\x01\x00' # control.int_vector
poke "$D/mixed/vcpu-1.raw" '0x80 + 0x58' '\0\0\0\0'         # control.asid
differs() { ! cmp -s "$1" "$2"; }
check "the test's vCPU 0 blob differs from what vCPU 0 holds" differs "$D/mixed/vcpu-0.raw" "$D/before/vcpu-0.raw"
# That the comparison below can fail: vCPU 0's blob alone (vCPU 1 its own) loads, and a collect shows it.
"$NESTVIRT" pack "$D/mixed/vcpu-0.raw" "$D/before/vcpu-1.raw" -o "$D/v0.nvstate" >/dev/null
out=$("$NESTVIRT" load --pid "$VMM" "$D/v0.nvstate" 2>&1); rc=$?
check "vCPU 0's changed blob alone loads (exit $rc)" test $rc -eq 0
held v0
check "... and a collect shows it on vCPU 0" cmp -s "$D/mixed/vcpu-0.raw" "$D/v0/vcpu-0.raw"
out=$("$NESTVIRT" load --pid "$VMM" "$D/before.nvstate" 2>&1); rc=$?
check "the state before loads back (exit $rc)" test $rc -eq 0
"$NESTVIRT" pack "$D/mixed/vcpu-0.raw" "$D/mixed/vcpu-1.raw" -o "$D/mixed.nvstate" >/dev/null
out=$("$NESTVIRT" load --pid "$VMM" "$D/mixed.nvstate" 2>&1); rc=$?
echo "# $out"
check "without the knob the validator refuses vCPU 1 before any SET (exit $rc)" contains "$out" "vCPU 1: Rule S9: control.asid"
out=$(NESTVIRT_TEST_DISABLE_RULE=S9 "$NESTVIRT" load --pid "$VMM" "$D/mixed.nvstate" 2>&1); rc=$?
echo "# $out"
check "with rule S9 off the load fails (exit $rc)" test $rc -ne 0
check "... at the kernel's SET of vCPU 1, the last one" contains "$out" "KVM_SET_NESTED_STATE of vCPU 1"
check "... and says vCPU 0, set before it, was set back" contains "$out" "the 1 vCPU loaded before it was set back to what it held"
held after
check "after the refused load vCPU 0 holds exactly what it held before" cmp -s "$D/before/vcpu-0.raw" "$D/after/vcpu-0.raw"
check "... and so does vCPU 1" cmp -s "$D/before/vcpu-1.raw" "$D/after/vcpu-1.raw"
resume_and_check "restore and the refused load"

# maintenance restore-all through the process transport: save-all of the VMM paused by its own API,
# SIGKILL, restart paused, restore-all, resume.
pause_own_state
out=$(nv maintenance save-all --json 2>&1); rc=$?
echo "# ${out//$'\n'/ }"
check "save-all of the paused process VMM exits 0" test $rc -eq 0
restart_referencing "$out" "save-all"
out=$(nv maintenance restore-all 2>&1); rc=$?
echo "# ${out//$'\n'/ / }"
check "restore-all through the process transport exits 0" test $rc -eq 0
check "restore-all restored the domain" contains "$out" "restore-all: 1 restored, 0 skipped, 0 failed."
check "restore-all's record is gone" test ! -e "$NESTVIRT_STATE_DIR/maintenance.list"
resume_and_check restore-all
stop_vmm

# nestvirtd's Save and Restore jobs through the process transport, on a private dbus-daemon (root: no
# polkit).  nestvirtd keeps one libvirt connection, so the reference its Save job sets is the one its
# Restore job reads.
nestvirtd_jobs() {
        local bus daemon out
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/bus
        B() { busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" "$@"; }
        . "$(dirname "$0")/../dbus/nestvirtd.sh"
        job_result() { # METHOD SIGNATURE ARGS...: runs a job to its end; prints "STATE: RESULT"
                local job
                job=$(path_of "$(B call "${M[@]}" "$@")")
                echo "$(job_wait "$job"): $(prop "$job" org.nestvirt.NestedState1.Job Result)"
        }
        node
        dbus-daemon --config-file="$BUSCONF" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile 2>"$D/bus.err" &
        bus=$!
        for _ in $(seq 50); do [[ -S $D/bus ]] && break; sleep 0.1; done
        "$NESTVIRTD" --connect "test://$D/node.xml" --linger 300 2>"$D/nestvirtd.err" &
        daemon=$!
        DAEMONS="$bus $daemon"
        on_bus() { B list 2>/dev/null | grep -q '^org\.nestvirt\.NestedState1 '; } # (busctl status wants more of /proc than the VM has)
        for _ in $(seq 50); do on_bus && break; sleep 0.1; done
        check "nestvirtd is on the private bus" on_bus

        start_vmm
        sleep 0.3
        c0=$(counters)
        out=$(job_result Save sa{sv}u l1 0 0)
        echo "# $out"
        check "nestvirtd's Save job of the running process VMM completes" contains "$out" "completed: Saved 2 vCPU(s)"
        sleep 0.3
        c1=$(counters)
        check "L2 runs on after the Save job ($c0 -> $c1)" all_greater "$c0" "$c1"
        pause_own_state
        out=$(job_result Save sa{sv}u l1 0 0)
        echo "# $out"
        check "the Save job of the paused VMM completes" contains "$out" "completed: Saved 2 vCPU(s)"
        check "... with every vCPU in guest mode" guest_mode_all "$(sed -n 's/.* to \(.*\)\.$/\1/p' <<<"$out")"
        saved=$(counters)
        stop_vmm
        check "the VMM restarts paused from its own state" start_vmm --restore
        out=$(job_result Restore sa{sv}u l1 0 0)
        echo "# $out"
        check "nestvirtd's Restore job into the restarted, paused VMM completes" contains "$out" "completed: Restored 2 vCPU(s)"
        resume_and_check "nestvirtd's Restore job"
        stop_vmm
        kill $DAEMONS
        wait $DAEMONS 2>/dev/null
        sed 's/^/# /' "$D/bus.err" "$D/nestvirtd.err"
        DAEMONS=
        unset DBUS_SYSTEM_BUS_ADDRESS
}
if [[ -n $NESTVIRTD ]] && command -v dbus-daemon >/dev/null && command -v busctl >/dev/null; then
        nestvirtd_jobs
else
        echo "# nestvirtd's jobs not run: ${NESTVIRTD:+no dbus-daemon or busctl here}${NESTVIRTD:-no nestvirtd given}"
fi

# How long collect stops a running VMM of N vCPUs (each running L2), for the documentation.
for n in 1 4 8; do
        start_vmm --vcpus $n || { check "the VMM starts with $n vCPUs" false; continue; }
        sleep 0.5
        out=$("$NESTVIRT" collect --pid "$VMM" -o "$D/n$n.nvstate" 2>&1); rc=$?
        echo "# $n vCPUs: $out"
        check "collect of $n vCPUs exits 0 with $n blobs" contains "$("$NESTVIRT" inspect --json "$D/n$n.nvstate")" "\"vcpu_count\":$n"
        stop_vmm
done

tap_end
