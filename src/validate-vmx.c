/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VMX half of the validator: vmx_set_nested_state(), check by check. */
#include "byteorder.h"
#include "validate-private.h"

static bool vmx_ok(Checker *c) {
        return nv_validate_fact(c, c->ctx->vmx_allowed, true,
                             N_("V2d/V8: whether the vCPU may use VMX (guest CPUID, nested=Y) is unknown"));
}

/* V2: the "no VMXON" header and the VMXON region. */
static int vmx_check_vmxon(Checker *c) {
        const NvNestedHeader *h = &c->h;

        if (h->vmx.vmxon_pa == NV_GPA_INVALID) {
                if (h->vmx.smm_flags != 0)
                        return nv_validate_reject(c, R_V2a, h->vmx.smm_flags);
                if (h->vmx.vmcs12_pa != NV_GPA_INVALID)
                        return nv_validate_reject(c, R_V2b, h->vmx.vmcs12_pa);
                if (h->flags & ~NV_NESTED_EVMCS)
                        return nv_validate_reject(c, R_V2c, h->flags);
                return 0;
        }
        if (!vmx_ok(c))
                return nv_validate_reject(c, R_V2d, h->vmx.vmxon_pa);
        if (!nv_validate_page_address(c, h->vmx.vmxon_pa))
                return nv_validate_reject(c, R_V2e, h->vmx.vmxon_pa);
        return 0;
}

/* V6 outcome when SMM is unknown: reject only if both branches would. */
static int vmx_check_smm_state(Checker *c) {
        const NvNestedHeader *h = &c->h;
        bool bad_in_smm = h->flags & (NV_NESTED_GUEST_MODE | NV_NESTED_RUN_PENDING);
        bool bad_outside = h->vmx.smm_flags != 0;

        if (c->ctx->in_smm == NV_UNKNOWN) {
                if (bad_in_smm && bad_outside)
                        return nv_validate_reject(c, R_V6, h->vmx.smm_flags);
                if (bad_in_smm || bad_outside)
                        nv_validate_unchecked(c, N_("V6: whether the vCPU is in SMM is unknown"));
                return 0;
        }
        if (c->ctx->in_smm == NV_YES ? bad_in_smm : bad_outside)
                return nv_validate_reject(c, R_V6, h->vmx.smm_flags);
        return 0;
}

/* V3..V8: header flag consistency, before KVM leaves nested mode. */
static int vmx_check_flags(Checker *c) {
        const NvNestedHeader *h = &c->h;
        int r;

        if ((h->vmx.smm_flags & NV_SMM_GUEST_MODE) && (h->flags & NV_NESTED_GUEST_MODE))
                return nv_validate_reject(c, R_V3, h->vmx.smm_flags);
        if (h->vmx.smm_flags & ~(NV_SMM_GUEST_MODE | NV_SMM_VMXON))
                return nv_validate_reject(c, R_V4, h->vmx.smm_flags);
        if (h->vmx.flags & ~NV_VMX_PREEMPTION_TIMER_DEADLINE)
                return nv_validate_reject(c, R_V5, h->vmx.flags);
        r = vmx_check_smm_state(c);
        if (r < 0)
                return r;
        if ((h->vmx.smm_flags & NV_SMM_GUEST_MODE) && !(h->vmx.smm_flags & NV_SMM_VMXON))
                return nv_validate_reject(c, R_V7, h->vmx.smm_flags);
        if ((h->flags & NV_NESTED_EVMCS) &&
            (!vmx_ok(c) || !nv_validate_fact(c, c->ctx->evmcs_enabled, true,
                                          N_("V8: whether the enlightened VMCS capability is enabled is unknown"))))
                return nv_validate_reject(c, R_V8, h->flags);
        return 0;
}

/* V11..V14: the current vmcs12 pointer and the vmcs12 itself. */
static int vmx_check_vmcs12(Checker *c) {
        const NvNestedHeader *h = &c->h;
        uint32_t rev;

        if (h->size < NV_NESTED_HDR_SIZE + NV_VMCS12_STRUCT_SIZE) {
                if ((h->flags & (NV_NESTED_GUEST_MODE | NV_NESTED_EVMCS)) || h->vmx.vmcs12_pa != NV_GPA_INVALID)
                        return nv_validate_reject(c, R_V11, h->size);
                return 1; /* "empty VMXON state": accepted */
        }
        if (h->vmx.vmcs12_pa != NV_GPA_INVALID) {
                if (h->vmx.vmcs12_pa == h->vmx.vmxon_pa || !nv_validate_page_address(c, h->vmx.vmcs12_pa))
                        return nv_validate_reject(c, R_V12a, h->vmx.vmcs12_pa);
        } else if (!(h->flags & NV_NESTED_EVMCS))
                return nv_validate_reject(c, R_V12c, h->vmx.vmcs12_pa);
        if (c->len < NV_NESTED_HDR_SIZE + NV_VMCS12_STRUCT_SIZE)
                return nv_validate_reject(c, R_V13, c->len);
        rev = get_le32(c->b + NV_OFF_DATA + VMCS12_REVISION_ID) & ~VMCS_SHADOW_BIT;
        if (rev != NV_VMCS12_REVISION)
                return nv_validate_reject(c, R_V14, rev);
        return 0;
}

/* V16..V18: the shadow vmcs12, only when the vmcs12 enables VMCS shadowing. */
static int vmx_check_shadow(Checker *c) {
        const uint8_t *v = c->b + NV_OFF_DATA;
        uint32_t dw0;

        if (!(get_le32(v + VMCS12_CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
            !(get_le32(v + VMCS12_SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_SHADOW_VMCS) ||
            get_le64(v + VMCS12_VMCS_LINK_POINTER) == NV_GPA_INVALID)
                return 0;
        if (c->h.size < NV_NESTED_HDR_SIZE + NV_VMCS12_AREA_SIZE + NV_VMCS12_STRUCT_SIZE)
                return nv_validate_reject(c, R_V16, c->h.size);
        if (c->len < NV_NESTED_HDR_SIZE + NV_VMCS12_AREA_SIZE + NV_VMCS12_STRUCT_SIZE)
                return nv_validate_reject(c, R_V17, c->len);
        dw0 = get_le32(v + NV_VMCS12_AREA_SIZE + VMCS12_REVISION_ID);
        if ((dw0 & ~VMCS_SHADOW_BIT) != NV_VMCS12_REVISION || !(dw0 & VMCS_SHADOW_BIT))
                return nv_validate_reject(c, R_V18, dw0);
        return 0;
}

int nv_validate_vmx(Checker *c) {
        int r;

        if (c->h.format != NV_FORMAT_VMX)
                return nv_validate_reject(c, R_V1, c->h.format);
        r = vmx_check_vmxon(c);
        if (r < 0)
                return r;
        r = vmx_check_flags(c);
        if (r < 0)
                return r;
        /* V9: no VMXON: KVM just leaves nested mode. */
        if (c->h.vmx.vmxon_pa == NV_GPA_INVALID)
                return 0;
        r = vmx_check_vmcs12(c);
        if (r != 0)
                return r < 0 ? r : 0;
        /* V15: outside guest mode the vmcs12 contents are not checked. */
        if (!(c->h.flags & NV_NESTED_GUEST_MODE))
                return 0;
        r = vmx_check_shadow(c);
        if (r < 0)
                return r;
        return nv_validate_vmx_entry(c);
}
