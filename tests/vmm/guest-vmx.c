/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VMM's side of the nested VMX guest: the SVM guest's image with the VMX L1's code. */
#include <string.h>

#include "guest-vmx.h"

void nv_guest_vmx_build(uint8_t *mem) {
        _Static_assert(GX_VMWRITE_BITMAP + 0x1000 <= GS_VCPU_STRIDE, "the VMX pages fit a vCPU's area");
        nv_guest_svm_build(mem);
        memcpy(mem + GX_CODE_GPA, nv_guest_vmx_code, (size_t) (nv_guest_vmx_code_end - nv_guest_vmx_code));
}

int nv_guest_vmx_boot_vcpu(NvVcpu *vcpu, unsigned index, NvError **reterr) {
        struct kvm_regs regs;
        int r;

        r = nv_guest_svm_boot_vcpu(vcpu, index, reterr);
        if (r >= 0)
                r = nv_kvm_get_regs(vcpu, &regs, reterr);
        if (r < 0)
                return r;
        regs.rip = GX_CODE_GPA;
        return nv_kvm_set_regs(vcpu, &regs, reterr);
}
