#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 1024 vCPUs (as many as KVM allows) end to end through the CLI: the
# reference VMM on the simulated KVM, SVM and VMX with shadow VMCS (8320
# bytes per vCPU, 8.5 MB of state), saved with nestvirt save, the VMM
# killed and restarted, and restored with nestvirt restore: every vCPU's
# L2 goes on.  libvirt's test driver; p2p D-Bus.
set -u
NESTVIRT=$1
TESTVMM=$2
T=$(mktemp -d /tmp/nestvirt-scale-XXXXXX)
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
UUID=7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e31
N=1024
VMM_PID= VMM_OUT=
trap 'kill -9 $VMM_PID 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup

. "$(dirname "$0")/tap.sh"
json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

node() { # [STATE_XML]
        cat >"$T/node.xml" <<XML
<node><domain type='test'><name>big</name><uuid>$UUID</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/vmm.sock"/>${1:-}
  </nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>$N</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain></node>
XML
}
nv() { "$NESTVIRT" -c "test://$T/node.xml" "$@"; }

. "$(dirname "$0")/testvmm-fifo.sh"
vmm_start() { local vendor=$1; shift; vmm_run --sim --vendor "$vendor" --vcpus $N "$@"; } # VENDOR [ARGS...]

for case in "svm 4224" "vmx 8320 --shadow-vmcs"; do
        read -r vendor size flag <<<"$case"
        node
        vmm_start $vendor $flag; sleep 0.3
        out=$(nv save big --keep-frozen --json); rc=$?
        check "$vendor, $N vCPUs: save exits 0" test $rc -eq 0
        path=$(json "$out" path) sha=$(json "$out" sha256)
        check "$vendor, $N vCPUs: every vCPU in guest mode" test "$(json "$out" guest_mode_vcpus)" = $N
        check "$vendor, $N vCPUs: the file holds $N states of $size bytes" test "$(stat -c %s "$path")" -gt $((N * size))
        check "$vendor, $N vCPUs: inspect reads all $N from the file" \
                test "$(nv inspect "$path" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["vcpu_count"], len(d["vcpus"]))')" = "$N $N"
        kill -USR1 $VMM_PID; expect "saved own state"; counters; saved=("${C[@]}")
        check "$vendor, $N vCPUs: the VMM reports $N counters" test ${#saved[@]} -eq $N
        check "$vendor, $N vCPUs: kept frozen after save" unchanged "${saved[@]}"
        vmm_kill
        node "$(printf '\n    <nestvirt:state path="%s" sha256="%s" vendor="%s" vcpus="%s" time="2026-11-23T00:00:00Z"/>' \
                "$path" "$sha" $vendor $N)"
        vmm_start $vendor $flag --restore
        out=$(nv restore big); rc=$?
        check "$vendor, $N vCPUs: restore exits 0" test $rc -eq 0
        check "$vendor, $N vCPUs: restore names the file and the count" contains "$out" "$N vCPUs"
        sleep 0.5
        check "$vendor, $N vCPUs: every vCPU's L2 went on after restore" advanced "${saved[@]}"
        vmm_kill
done

tap_end
