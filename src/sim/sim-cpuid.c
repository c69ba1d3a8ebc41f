/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated cpuid.c/x86.c parts that decide which CR4 and EFER bits a
 * vCPU may hold: the host's reserved bits (fixed when the module loads)
 * and the guest's (recomputed on every KVM_SET_CPUID2), as a current
 * kernel has them.
 */
#include "cpuid.h"
#include "sim-private.h"

/* __cr4_reserved_bits(): the CR4 bits a CPU with these CPUID entries may not set. */
uint64_t sim_cr4_reserved_bits(const struct kvm_cpuid_entry2 *e, uint32_t n) {
        return ~nv_cpuid_allowed_bits(e, n, /* efer= */ false);
}

/* efer_reserved_bits after the vendor module's kvm_enable_efer_bits() calls, for a host with these features. */
uint64_t sim_efer_reserved_bits(const NvSimConfig *cfg, const struct kvm_cpuid_entry2 *host, uint32_t n) {
        uint64_t rsvd = ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA);

        if (nv_cpuid_has(host, n, X86_FEATURE_NX))
                rsvd &= ~X86_EFER_NX;
        if (cfg->vendor == NV_FORMAT_SVM && cfg->nested)
                rsvd &= ~(X86_EFER_SVME | X86_EFER_LMSLE);
        if (nv_cpuid_has(host, n, X86_FEATURE_FXSR_OPT))
                rsvd &= ~X86_EFER_FFXSR;
        if (nv_cpuid_has(host, n, X86_FEATURE_AUTOIBRS))
                rsvd &= ~X86_EFER_AUTOIBRS;
        if (nv_cpuid_has(host, n, X86_FEATURE_TCE))
                rsvd &= ~X86_EFER_TCE;
        return rsvd;
}

/* kvm_is_valid_cr4() for SVM, which adds nothing to the common checks. */
bool sim_cr4_valid(const NvSim *s, const SimVcpu *v, uint64_t cr4) {
        return !(cr4 & s->cr4_reserved_bits) && !(cr4 & v->cr4_guest_rsvd_bits);
}

/* kvm_valid_efer(): the host's reserved bits, then __kvm_valid_efer()'s guest CPUID checks. */
bool sim_efer_valid(const NvSim *s, const SimVcpu *v, uint64_t efer) {
        if (efer & s->efer_reserved_bits)
                return false;
        return !(efer & ~nv_cpuid_allowed_bits(v->cpuid, v->cpuid_nent, /* efer= */ true));
}
