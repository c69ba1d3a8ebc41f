/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a vCPU's CPUID (the entries KVM_SET_CPUID2 took) lets its guest do:
 * the CR4 and EFER bits it may set and its MAXPHYADDR, from the facts in
 * x86-arch.h.  Used by the validator's context and by the simulated KVM.
 */
#pragma once

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "x86-arch.h"

/* kvm_find_cpuid_entry_index(): the subleaf counts only where the entry says it is significant. */
bool nv_cpuid_has(const struct kvm_cpuid_entry2 *e, uint32_t n, X86Feature f);

/* The CR4 bits (efer false) or EFER bits (efer true) a guest with these entries may set. */
uint64_t nv_cpuid_allowed_bits(const struct kvm_cpuid_entry2 *e, uint32_t n, bool efer);

/* cpuid_query_maxphyaddr(): X86_DEFAULT_MAXPHYADDR unless leaf 0x80000008 says otherwise. */
unsigned nv_cpuid_maxphyaddr(const struct kvm_cpuid_entry2 *e, uint32_t n);
