#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The nestvirt command line end to end: demo on the simulated KVM,
# capabilities against fake host trees, and the virsh error conventions.
set -u
NESTVIRT=$1
DATA=$2
fails=0 passes=0

check() { # name, then a command that must succeed
        local name=$1; shift
        if "$@"; then passes=$((passes + 1)); echo "ok - $name"
        else fails=$((fails + 1)); echo "not ok - $name"; fi
}
contains() { grep -qF -- "$2" <<<"$1"; }

out=$("$NESTVIRT" demo --sim --vcpus 4 --vendor svm 2>&1); rc=$?
check "demo svm exits 0" test $rc -eq 0
check "demo says simulated" contains "$out" "on simulated KVM"
check "demo restores L2 progress" contains "$out" "vCPU 3: L2 counter 6 -> 7"
check "demo refuses corrupt copy" contains "$out" "Rule S9: control.asid"
out=$("$NESTVIRT" demo --sim --vendor vmx 2>&1); rc=$?
check "demo vmx exits 0" test $rc -eq 0
check "demo vmx refuses bad revision" contains "$out" "Rule V14"

out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities 2>&1)
check "capabilities reads kernel release" contains "$out" "6.1.0-28-cloud-amd64"
check "capabilities reads cpu vendor" contains "$out" "AMD EPYC 7B13 64-Core Processor (svm)"
check "capabilities reads kvm_amd nested=1" contains "$out" "Nested parameter:      enabled"
check "capabilities without /dev/kvm" contains "$out" "not available"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-intel-off "$NESTVIRT" capabilities --json 2>&1)
check "capabilities json vendor" contains "$out" '"cpu_vendor":"vmx"'
check "capabilities json kvm_intel N" contains "$out" '"nested":false'
check "capabilities json is valid" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"

err=$("$NESTVIRT" demo --vcpus 99 2>&1 >/dev/null); rc=$?
check "bad --vcpus exits 1" test $rc -eq 1
check "bad --vcpus says error:" contains "$err" "error: --vcpus takes a number from 1 to 64, not '99'."
err=$("$NESTVIRT" frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exits 1" test $rc -eq 1
check "unknown command named" contains "$err" "Unknown command 'frobnicate'"
out=$("$NESTVIRT" --help); rc=$?
check "--help exits 0" test $rc -eq 0
check "--help lists demo" contains "$out" "demo"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
