#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The capabilities documents that test-kvm-scratch printed on two kernels
# (the console logs of e2e-kvm-real on Debian's 6.1 and e2e-kvm-real-6.12)
# differ where the kernels do, and only there: the probed V_NMI rule (6.1
# accepts V_NMI_ENABLE without the NMI intercept, 6.12 refuses it), the
# kernel release; the rules both kernels share (EFER.SVME clear needs GIF
# set), the vendor, MAXPHYADDR, eVMCS, SMM and NPT are the same.  The
# KVM_SET_SREGS EFER.SVME/CPUID check (backported unevenly) is shown.  Skips
# (77) when a log is missing (the e2e tests ran directly on a host's KVM,
# or not at all).
set -u
LOG61=$1
LOG612=$2
PRINTER=$3 # test-kvm-scratch: a log older than it is from an earlier build

. "$(dirname "$0")/../tap.sh"

doc() { # LOG: the document between the markers, kernel chatter dropped
        sed -n '/NESTVIRT-CAPS-BEGIN/,/NESTVIRT-CAPS-END/p' "$1" | grep -E '^ *</?[a-zA-Z]' | tr -d '\r'
}
attr() { # DOC NAME: the value of the first attribute NAME in DOC
        grep -oE " $2=\"[^\"]*\"" <<<"$1" | head -n 1 | sed 's/.*="\(.*\)"/\1/'
}
for log in "$LOG61" "$LOG612"; do
        if [[ ! -s $log || ! $log -nt $PRINTER ]] || [[ -z $(doc "$log") ]]; then
                echo "1..0 # SKIP no capabilities document in $log (the e2e tests ran on this host's KVM, skipped, or not since the last build)"
                exit 77
        fi
done
d61=$(doc "$LOG61") d612=$(doc "$LOG612")
echo "# 6.1:  $(attr "$d61" release): $(grep -o '<target [^>]*' <<<"$d61")"
echo "# 6.12: $(attr "$d612" release): $(grep -o '<target [^>]*' <<<"$d612")"
check "the 6.1 run booted 6.1" test "$(attr "$d61" release | cut -d. -f1-2)" = 6.1
check "the 6.12 run booted 6.12" test "$(attr "$d612" release | cut -d. -f1-2)" = 6.12
check "both measured on a scratch vCPU" test "$(attr "$d61" measured)$(attr "$d612" measured)" = yesyes
check "V_NMI without the NMI intercept: accepted by 6.1" test "$(attr "$d61" vnmiNeedsNmiIntercept)" = no
check "V_NMI without the NMI intercept: refused by 6.12" test "$(attr "$d612" vnmiNeedsNmiIntercept)" = yes
for a in svme0Gif0Accepted vendor maxphyaddr evmcs smm npt nestedStateMax; do
        check "$a: the same on both ($(attr "$d61" $a))" test "$(attr "$d61" $a)" = "$(attr "$d612" $a)"
done
check "both keep the old EFER.SVME=0 rule (flags must be GIF_SET)" test "$(attr "$d61" svme0Gif0Accepted)" = no
# Not a nested-state rule and backported unevenly (Debian's 6.1.0-57: no, 6.12.117: yes): measured, not pinned.
check "KVM_SET_SREGS's EFER.SVME/CPUID check probed on both" \
        test "$(attr "$d61" sregsSvmeNeedsCpuid)" != unknown -a "$(attr "$d612" sregsSvmeNeedsCpuid)" != unknown
echo "# KVM_SET_SREGS refuses EFER.SVME without CPUID.SVM: 6.1 $(attr "$d61" sregsSvmeNeedsCpuid), 6.12 $(attr "$d612" sregsSvmeNeedsCpuid)"
ndiff=$(diff <(grep '<leaf' <<<"$d61") <(grep '<leaf' <<<"$d612") | grep -c '^>')
echo "# CPUID leaves that differ between the two kernels' KVM_GET_SUPPORTED_CPUID: $ndiff"
tap_end
