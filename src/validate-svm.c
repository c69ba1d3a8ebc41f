/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SVM half of the validator: svm_set_nested_state(), check by check.
 * In an SVM blob the vmcb12 control area is L1's controls and the save area
 * is L1's state saved at VMRUN (not L2's registers).
 */
#include "byteorder.h"
#include "validate-private.h"

#define VMCB_CTL(off) (c->b + NV_OFF_DATA + VMCB_CTL_##off)
#define VMCB_SAVE(off) (c->b + NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_##off)

static bool cr0_cd_nw_bad(uint64_t cr0) {
        return !(cr0 & X86_CR0_CD) && (cr0 & X86_CR0_NW);
}

/* S3/S4: state allowed for the vCPU's current EFER.SVME and SMM. */
static int svm_check_vcpu(Checker *c) {
        uint16_t flags = c->h.flags;

        /* GIF_SET alone is fine whatever EFER.SVME is; ask only when it matters. */
        if (flags != NV_NESTED_GIF_SET &&
            !nv_validate_fact(c, c->ctx->svme, true, N_("S3: the vCPU's EFER.SVME is unknown"))) {
                if (flags & NV_NESTED_GUEST_MODE)
                        return nv_validate_reject(c, R_S3, flags);
                /* Kernels before the late-2025 fix demanded exactly GIF_SET here. */
                if (flags == 0 && !nv_validate_fact(c, c->ctx->svme0_gif0_ok, true,
                                                 N_("S3: whether this kernel accepts GIF clear with EFER.SVME clear is unknown")))
                        return nv_validate_reject(c, R_S3, flags);
        }
        if ((flags & NV_NESTED_GUEST_MODE) &&
            nv_validate_fact(c, c->ctx->in_smm, false, N_("S4: whether the vCPU is in SMM is unknown")))
                return nv_validate_reject(c, R_S4, flags);
        return 0;
}

/* S9: nested_vmcb_check_controls() on the cached controls. */
static int svm_check_controls(Checker *c) {
        uint64_t msrpm = get_le64(VMCB_CTL(MSRPM_BASE_PA)) & ~(uint64_t) X86_PAGE_MASK;
        uint64_t iopm = get_le64(VMCB_CTL(IOPM_BASE_PA)) & ~(uint64_t) X86_PAGE_MASK;
        uint64_t nested_ctl = get_le64(VMCB_CTL(NESTED_CTL)), ncr3 = get_le64(VMCB_CTL(NESTED_CR3));

        if (!(get_le32(VMCB_CTL(INTERCEPT_WORD4)) & SVM_INTERCEPT_VMRUN))
                return nv_validate_reject(c, R_S9_VMRUN, get_le32(VMCB_CTL(INTERCEPT_WORD4)));
        if (get_le32(VMCB_CTL(ASID)) == 0)
                return nv_validate_reject(c, R_S9_ASID, 0);
        if ((nested_ctl & SVM_NESTED_CTL_NP_ENABLE) &&
            !nv_validate_fact(c, c->ctx->npt_enabled, true, N_("S9: whether the host has NPT enabled is unknown")))
                return nv_validate_reject(c, R_S9_NP, nested_ctl);
        /*
         * APM vol. 2, 15.25.4: with NP on, an MBZ bit in nCR3 makes VMRUN
         * fail.  KVM checks it since 2026 (b71138fcc362, in stable kernels
         * back to 5.15; Debian's 6.1 has it): older kernels accept the state,
         * but it cannot run on hardware, so it is refused whatever the
         * kernel version.
         */
        if ((nested_ctl & SVM_NESTED_CTL_NP_ENABLE) && !nv_validate_gpa_legal(c, ncr3))
                return nv_validate_reject(c, R_S9_NCR3, ncr3);
        if (!nv_validate_gpa_legal(c, msrpm) || !nv_validate_gpa_legal(c, msrpm + SVM_MSRPM_SIZE - 1))
                return nv_validate_reject(c, R_S9_MSRPM, msrpm);
        if (!nv_validate_gpa_legal(c, iopm) || !nv_validate_gpa_legal(c, iopm + SVM_IOPM_SIZE - 1))
                return nv_validate_reject(c, R_S9_IOPM, iopm);
        /* A rule newer than 6.1 (Debian's 6.12 has it): which one the target runs is a probed fact. */
        if ((get_le32(VMCB_CTL(INT_CTL)) & SVM_INT_CTL_V_NMI_ENABLE) && !(get_le32(VMCB_CTL(INTERCEPT_WORD3)) & SVM_INTERCEPT_NMI) &&
            nv_validate_fact(c, c->ctx->vnmi_needs_nmi_intercept, false,
                             N_("S9: whether this kernel refuses V_NMI_ENABLE without the NMI intercept is unknown")))
                return nv_validate_reject(c, R_S9_VNMI, get_le32(VMCB_CTL(INT_CTL)));
        return 0;
}

/* S11, with EFER.LME and CR0.PG set: what long mode needs of CR4, CR3 and CS. */
static int svm_check_long_mode(Checker *c, uint64_t cr4) {
        uint64_t cr3 = get_le64(VMCB_SAVE(CR3));
        uint16_t cs_attrib = get_le16(VMCB_SAVE(CS + VMCB_SEG_ATTRIB));

        if (!(cr4 & X86_CR4_PAE))
                return nv_validate_reject(c, R_S11_PAE, cr4);
        if (!nv_validate_gpa_legal(c, cr3))
                return nv_validate_reject(c, R_S11_CR3, cr3);
        /*
         * APM vol. 2, 15.5: CS.L and CS.D both set in long mode is an
         * illegal state.  KVM checks it since 96bd3e76a171 (2026, in stable
         * kernels; Debian's 6.1 has it).  Like nCR3 in S9, it is refused
         * whatever the kernel version: hardware would not run it.
         */
        if ((cs_attrib & SVM_SELECTOR_L) && (cs_attrib & SVM_SELECTOR_DB))
                return nv_validate_reject(c, R_S11_CSLD, cs_attrib);
        return 0;
}

/*
 * S11, kvm_is_valid_cr4() and kvm_valid_efer(): bits no KVM accepts, then
 * bits the target vCPU's CPUID does not offer (reserved_r / cpuid_r).
 */
static int svm_check_cpuid_bits(Checker *c, uint64_t value, uint64_t reserved, uint64_t allowed, Rule reserved_r,
                                Rule cpuid_r) {
        if (value & reserved)
                return nv_validate_reject_bits(c, reserved_r, value, value & reserved);
        if (!c->ctx->have_cpuid) {
                nv_validate_unchecked(c, N_("S11: CR4 and EFER bits that depend on the vCPU's CPUID: its CPUID is unknown"));
                return 0;
        }
        if (value & ~allowed)
                return nv_validate_reject_bits(c, cpuid_r, value, value & ~allowed);
        return 0;
}

/* S11: the L1 state saved at VMRUN must be one VMRUN could have come from. */
static int svm_check_save(Checker *c) {
        uint64_t cr0 = get_le64(VMCB_SAVE(CR0));
        uint64_t cr4 = get_le64(VMCB_SAVE(CR4)), efer = get_le64(VMCB_SAVE(EFER));
        uint64_t rflags = get_le64(VMCB_SAVE(RFLAGS));
        uint64_t dr7 = get_le64(VMCB_SAVE(DR7)), dr6 = get_le64(VMCB_SAVE(DR6));
        int r;

        if (!(cr0 & X86_CR0_PG))
                return nv_validate_reject(c, R_S11_PG, cr0);
        if (!(cr0 & X86_CR0_PE))
                return nv_validate_reject(c, R_S11_PE, cr0);
        if (rflags & X86_EFLAGS_VM)
                return nv_validate_reject(c, R_S11_VM, rflags);
        if (!(efer & X86_EFER_SVME))
                return nv_validate_reject(c, R_S11_SVME, efer);
        if (cr0_cd_nw_bad(cr0))
                return nv_validate_reject(c, R_S11_CDNW, cr0);
        if (cr0 >> 32)
                return nv_validate_reject(c, R_S11_CR0HI, cr0);
        if (dr6 >> 32)
                return nv_validate_reject(c, R_S11_DR6, dr6);
        if (dr7 >> 32)
                return nv_validate_reject(c, R_S11_DR7, dr7);
        if ((efer & X86_EFER_LME) && (cr0 & X86_CR0_PG)) {
                r = svm_check_long_mode(c, cr4);
                if (r < 0)
                        return r;
        }
        r = svm_check_cpuid_bits(c, cr4, CR4_ALWAYS_RESERVED, c->ctx->cr4_allowed, R_S11_CR4, R_S11_CR4_CPUID);
        if (r < 0)
                return r;
        return svm_check_cpuid_bits(c, efer, EFER_ALWAYS_RESERVED, c->ctx->efer_allowed, R_S11_EFER, R_S11_EFER_CPUID);
}

int nv_validate_svm(Checker *c) {
        int r;

        if (c->h.format != NV_FORMAT_SVM)
                return nv_validate_reject(c, R_S1, c->h.format);
        if (c->h.flags & ~(NV_NESTED_GUEST_MODE | NV_NESTED_RUN_PENDING | NV_NESTED_GIF_SET))
                return nv_validate_reject(c, R_S2, c->h.flags);
        r = svm_check_vcpu(c);
        if (r < 0)
                return r;
        /* S5: outside guest mode KVM only sets GIF; vmcb_pa and the data are ignored. */
        if (!(c->h.flags & NV_NESTED_GUEST_MODE))
                return 0;
        if (!nv_validate_page_address(c, c->h.svm.vmcb_pa))
                return nv_validate_reject(c, R_S6, c->h.svm.vmcb_pa);
        if (c->h.size < NV_SVM_MAX_SIZE)
                return nv_validate_reject(c, R_S7, c->h.size);
        if (c->len < NV_SVM_MAX_SIZE)
                return nv_validate_reject(c, R_S8, c->len);
        r = svm_check_controls(c);
        if (r < 0)
                return r;
        if (c->ctx->have_cr0 && cr0_cd_nw_bad(c->ctx->cr0))
                return nv_validate_reject(c, R_S10, c->ctx->cr0);
        if (!c->ctx->have_cr0)
                nv_validate_unchecked(c, N_("S10: the vCPU's current CR0 is unknown"));
        return svm_check_save(c);
}
