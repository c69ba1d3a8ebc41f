/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPUID lookups over KVM's entries, and the CR4/EFER bits they gate. */
#include <stddef.h>

#include "cpuid.h"

static const struct kvm_cpuid_entry2 *cpuid_entry(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t leaf,
                                                  uint32_t subleaf) {
        for (uint32_t i = 0; i < n; i++)
                if (e[i].function == leaf && (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == subleaf))
                        return &e[i];
        return NULL;
}

bool nv_cpuid_has(const struct kvm_cpuid_entry2 *e, uint32_t n, X86Feature f) {
        const struct kvm_cpuid_entry2 *entry = cpuid_entry(e, n, f.leaf, f.subleaf);
        const uint32_t *reg;

        if (!entry)
                return false;
        reg = f.reg == X86_EAX ? &entry->eax : f.reg == X86_EBX ? &entry->ebx : f.reg == X86_ECX ? &entry->ecx : &entry->edx;
        return *reg & (1u << f.bit);
}

uint64_t nv_cpuid_allowed_bits(const struct kvm_cpuid_entry2 *e, uint32_t n, bool efer) {
        uint64_t allowed = efer ? KVM_EFER_CPUID_UNGATED : KVM_CR4_CPUID_UNGATED;

#define GATE(is_efer, bits, feature)                                           \
        if ((is_efer) == efer && nv_cpuid_has(e, n, feature))                  \
                allowed |= (bits);
        X86_CPUID_GATES(GATE)
#undef GATE
        return allowed;
}

unsigned nv_cpuid_maxphyaddr(const struct kvm_cpuid_entry2 *e, uint32_t n) {
        const struct kvm_cpuid_entry2 *max = cpuid_entry(e, n, X86_CPUID_EXT_MAX_LEAF, 0);
        const struct kvm_cpuid_entry2 *sizes = cpuid_entry(e, n, X86_CPUID_ADDR_SIZES, 0);

        return max && max->eax >= X86_CPUID_ADDR_SIZES && sizes ? sizes->eax & 0xff : X86_DEFAULT_MAXPHYADDR;
}
