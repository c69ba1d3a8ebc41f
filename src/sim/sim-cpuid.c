/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated cpuid.c/x86.c parts that decide which CR4 and EFER bits a
 * vCPU may hold: the host's reserved bits (fixed when the module loads)
 * and the guest's (recomputed on every KVM_SET_CPUID2), as a current
 * kernel has them.
 */
#include "sim-private.h"

#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)
#define CR4_CET (1ull << 23)
#define CR4_LAM_SUP (1ull << 28)
#define CR4_FRED (1ull << 32)
/* CR4_RESERVED_BITS: everything but VME..VMXE and the bits named above. */
#define CR4_RESERVED_BITS (~(0x3FFFull | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP | CR4_PKE | \
                             CR4_CET | CR4_LAM_SUP | CR4_FRED))

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NX (1ull << 11)
#define EFER_LMSLE (1ull << 13)
#define EFER_FFXSR (1ull << 14)
#define EFER_TCE (1ull << 15)
#define EFER_AUTOIBRS (1ull << 21)

/* X86_FEATURE_*: leaf, subleaf, register (0..3 for EAX..EDX), bit. */
typedef struct SimFeature {
        uint32_t leaf, subleaf;
        unsigned reg, bit;
} SimFeature;

#define F_VMX ((SimFeature) { 1, 0, 2, 5 })
#define F_PCID ((SimFeature) { 1, 0, 2, 17 })
#define F_XSAVE ((SimFeature) { 1, 0, 2, 26 })
#define F_FSGSBASE ((SimFeature) { 7, 0, 1, 0 })
#define F_SMEP ((SimFeature) { 7, 0, 1, 7 })
#define F_SMAP ((SimFeature) { 7, 0, 1, 20 })
#define F_UMIP ((SimFeature) { 7, 0, 2, 2 })
#define F_PKU ((SimFeature) { 7, 0, 2, 3 })
#define F_SHSTK ((SimFeature) { 7, 0, 2, 7 })
#define F_LA57 ((SimFeature) { 7, 0, 2, 16 })
#define F_IBT ((SimFeature) { 7, 0, 3, 20 })
#define F_FRED ((SimFeature) { 7, 1, 0, 17 })
#define F_LAM ((SimFeature) { 7, 1, 0, 26 })
#define F_SVM ((SimFeature) { 0x80000001, 0, 2, 2 })
#define F_TCE ((SimFeature) { 0x80000001, 0, 2, 17 })
#define F_NX ((SimFeature) { 0x80000001, 0, 3, 20 })
#define F_FXSR_OPT ((SimFeature) { 0x80000001, 0, 3, 25 })
#define F_LM ((SimFeature) { 0x80000001, 0, 3, 29 })
#define F_AUTOIBRS ((SimFeature) { 0x80000021, 0, 0, 8 })

/* cpuid_entry2_find(): the index only counts for entries flagged as index-significant. */
static bool cpu_has(const struct kvm_cpuid_entry2 *e, uint32_t n, SimFeature f) {
        for (uint32_t i = 0; i < n; i++) {
                const uint32_t regs[4] = { e[i].eax, e[i].ebx, e[i].ecx, e[i].edx };

                if (e[i].function != f.leaf ||
                    ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e[i].index != f.subleaf))
                        continue;
                return regs[f.reg] & (1u << f.bit);
        }
        return false;
}

/* __cr4_reserved_bits(): the CR4 bits a CPU with these CPUID entries may not set. */
uint64_t sim_cr4_reserved_bits(const struct kvm_cpuid_entry2 *e, uint32_t n) {
        uint64_t rsvd = CR4_RESERVED_BITS;

        if (!cpu_has(e, n, F_XSAVE))
                rsvd |= CR4_OSXSAVE;
        if (!cpu_has(e, n, F_SMEP))
                rsvd |= CR4_SMEP;
        if (!cpu_has(e, n, F_SMAP))
                rsvd |= CR4_SMAP;
        if (!cpu_has(e, n, F_FSGSBASE))
                rsvd |= CR4_FSGSBASE;
        if (!cpu_has(e, n, F_PKU))
                rsvd |= CR4_PKE;
        if (!cpu_has(e, n, F_LA57))
                rsvd |= CR4_LA57;
        if (!cpu_has(e, n, F_UMIP))
                rsvd |= CR4_UMIP;
        if (!cpu_has(e, n, F_VMX))
                rsvd |= CR4_VMXE;
        if (!cpu_has(e, n, F_PCID))
                rsvd |= CR4_PCIDE;
        if (!cpu_has(e, n, F_LAM))
                rsvd |= CR4_LAM_SUP;
        if (!cpu_has(e, n, F_SHSTK) && !cpu_has(e, n, F_IBT))
                rsvd |= CR4_CET;
        if (!cpu_has(e, n, F_FRED))
                rsvd |= CR4_FRED;
        return rsvd;
}

/* efer_reserved_bits after the vendor module's kvm_enable_efer_bits() calls, for a host with these features. */
uint64_t sim_efer_reserved_bits(const NvSimConfig *cfg, const struct kvm_cpuid_entry2 *host, uint32_t n) {
        uint64_t rsvd = ~(EFER_SCE | EFER_LME | EFER_LMA);

        if (cpu_has(host, n, F_NX))
                rsvd &= ~EFER_NX;
        if (cfg->vendor == NV_FORMAT_SVM && cfg->nested)
                rsvd &= ~(SIM_EFER_SVME | EFER_LMSLE);
        if (cpu_has(host, n, F_FXSR_OPT))
                rsvd &= ~EFER_FFXSR;
        if (cpu_has(host, n, F_AUTOIBRS))
                rsvd &= ~EFER_AUTOIBRS;
        if (cpu_has(host, n, F_TCE))
                rsvd &= ~EFER_TCE;
        return rsvd;
}

/* kvm_is_valid_cr4() for SVM, which adds nothing to the common checks. */
bool sim_cr4_valid(const NvSim *s, const SimVcpu *v, uint64_t cr4) {
        return !(cr4 & s->cr4_reserved_bits) && !(cr4 & v->cr4_guest_rsvd_bits);
}

/* kvm_valid_efer(): the host's reserved bits, then __kvm_valid_efer()'s guest CPUID checks. */
bool sim_efer_valid(const NvSim *s, const SimVcpu *v, uint64_t efer) {
        const struct kvm_cpuid_entry2 *e = v->cpuid;
        uint32_t n = v->cpuid_nent;

        if (efer & s->efer_reserved_bits)
                return false;
        if ((efer & EFER_AUTOIBRS) && !cpu_has(e, n, F_AUTOIBRS))
                return false;
        if ((efer & EFER_FFXSR) && !cpu_has(e, n, F_FXSR_OPT))
                return false;
        if ((efer & SIM_EFER_SVME) && !cpu_has(e, n, F_SVM))
                return false;
        if ((efer & (EFER_LME | EFER_LMA)) && !cpu_has(e, n, F_LM))
                return false;
        if ((efer & EFER_NX) && !cpu_has(e, n, F_NX))
                return false;
        return !(efer & EFER_TCE) || cpu_has(e, n, F_TCE);
}
