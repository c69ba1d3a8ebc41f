#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On real nested SVM or VMX: the main job (nestvirt demo: save over D-Bus,
# VMM kill, restart, restore, then a damaged snapshot) with the validator's
# rule that catches the damage disabled by the test-only knob: S9 on SVM
# (vmcb12 asid 0), V14 on VMX (vmcs12 revision).  The damaged snapshot must
# still be refused, now by the kernel itself on a scratch vCPU, as a
# validator gap with the kernel's errno, and the VMM must not have been
# touched (L2 runs on: the demo checks its counters).  The good restore is
# judged by the kernel too.
#
#   scratch-gap.sh NESTVIRT [RULE]    RULE: S9 (default) or V14
set -u
NESTVIRT=$1
RULE=${2:-S9}

. "$(dirname "$0")/../tap.sh"

out=$(NESTVIRT_TEST_DISABLE_RULE=$RULE "$NESTVIRT" demo 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
rm -rf "$(sed -n 's/^(Files are left in \(.*\) for inspection.*/\1/p' <<<"$out")"
if grep -qF "not checked: the kernel's own verdict" <<<"$out"; then
        echo "1..0 # SKIP no kernel KVM with nested state of the demo's vendor: the scratch-vCPU check is not made here"
        exit 77
fi
check "demo without rule $RULE: exits 0 (the damaged snapshot still refused)" test $rc -eq 0
check "the good snapshot: the kernel accepted every blob on a scratch vCPU first" \
        contains "$out" "the kernel accepted every blob on a scratch vCPU before the VMM was touched"
check "the damaged snapshot: refused by the kernel as a validator gap, with its errno" \
        contains "$out" "vCPU 0: validator gap: the validator accepted this state, but the kernel refused it on a scratch vCPU set up like the target (KVM_SET_NESTED_STATE failed with EINVAL)"
check "the VMM was not touched: L2 runs on" contains "$out" "the VMM was not touched; L2 runs on"
tap_end
