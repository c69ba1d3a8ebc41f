#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On real nested SVM: the reference VMM with no nestvirt code running
# (--no-agent), reached only through ptrace by `nestvirt collect` and
# `nestvirt load`.  Collect from the running VMM (every vCPU's blob is a
# well-formed SVM state); the VMM runs on; nestvirt killed mid-collect
# leaves it running; save (pause, own state, collect), SIGKILL, restart
# paused, load, resume: L2 continues on every vCPU.
set -u
NESTVIRT=$1
TESTVMM=$2

. "$(dirname "$0")/../tap.sh"
not_contains() { ! grep -qF -- "$2" <<<"$1"; }

D=$(mktemp -d)
VMM=
cleanup() { [[ -n $VMM ]] && kill -9 "$VMM" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT

start_vmm() { # ARGS...: starts the VMM, waits for "ready"; VMM=pid
        : >"$D/out"
        "$TESTVMM" --no-agent --kvm --vcpus 2 --own-state "$D/own" "$@" >"$D/out" 2>>"$D/err" &
        VMM=$!
        for _ in $(seq 100); do grep -q '^ready' "$D/out" && return 0; sleep 0.1; done
        return 1
}
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
all_greater() { # "A B" "C D": every later counter is larger
        local -a a=($1) b=($2)
        [[ ${#a[@]} -eq 2 && ${#b[@]} -eq 2 && ${b[0]} -gt ${a[0]} && ${b[1]} -gt ${a[1]} ]]
}
guest_mode_all() { # FILE: every vCPU in guest mode
        [[ $(grep -c '"guest_mode":true' <<<"$("$NESTVIRT" inspect --json "$1")") -eq 2 ]]
}
blobs_ok() { # FILE: 2 vCPUs of SVM state, each flags 0, 0x101 or 0x103, guest mode ones of 4224 bytes
        local json flags
        json=$("$NESTVIRT" inspect --json "$1") || return 1
        contains "$json" '"vcpu_count":2' || return 1
        [[ $(grep -c '"format":"svm"' <<<"$json") -eq 2 ]] || return 1
        flags=$(grep -o '"flags_value":[0-9]*' <<<"$json" | cut -d: -f2)
        for f in $flags; do
                [[ $f == 0 || $f == 257 || $f == 259 ]] || { echo "# unexpected flags $f"; return 1; }
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
        "$NESTVIRT" collect --pid "$VMM" -o "$D/killed.nvstate" >/dev/null 2>&1 &
        sleep $delay
        kill -9 $! 2>/dev/null
        wait $! 2>/dev/null
done
sleep 0.5
c2=$(counters)
check "the VMM is alive after nestvirt was killed mid-collect" kill -0 "$VMM"
check "L2 runs on after the killed collects ($c1 -> $c2)" all_greater "$c1" "$c2"
check "no vCPU stopped" not_contains "$(cat "$D/err")" "stopped"

# Save: pause through the VMM's own control, its own state, then the nested state.
kill -HUP "$VMM"
sleep 0.2
kill -USR1 "$VMM"
for _ in $(seq 50); do [[ -s $D/own ]] && break; sleep 0.1; done
check "the VMM saved its own state" test -s "$D/own"
out=$("$NESTVIRT" collect --pid "$VMM" -o "$D/saved.nvstate" 2>&1); rc=$?
echo "# $out"
check "collect from the paused VMM exits 0" test $rc -eq 0
check "the saved blobs are well-formed SVM state" blobs_ok "$D/saved.nvstate"
saved=$(counters)
kill -9 "$VMM"; wait "$VMM" 2>/dev/null; VMM=

check "the VMM restarts paused from its own state" start_vmm --restore
out=$("$NESTVIRT" load --pid "$VMM" "$D/saved.nvstate" 2>&1); rc=$?
echo "# $out"
check "load into the paused VMM exits 0" test $rc -eq 0
l1_before=$(counters l1-exits)
kill -CONT "$VMM"
sleep 1
after=$(counters)
l1_after=$(counters l1-exits)
check "L2 continues on every vCPU after the load ($saved -> $after)" all_greater "$saved" "$after"
check "L1 handles L2's exits again: L2 runs nested ($l1_before -> $l1_after)" all_greater "$l1_before" "$l1_after"
check "no vCPU stopped after the load" not_contains "$(cat "$D/err")" "stopped"
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

tap_end
