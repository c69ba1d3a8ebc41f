/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between the validator's generic, VMX and SVM parts; not installed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "nested-state.h"
#include "validate.h"
#include "x86-arch.h"

typedef enum Rule {
        R_G1, R_G2, R_G3, R_G4,
        R_V1, R_V2a, R_V2b, R_V2c, R_V2d, R_V2e, R_V3, R_V4, R_V5, R_V6, R_V7, R_V8,
        R_V11, R_V12a, R_V12c, R_V13, R_V14, R_V16, R_V17, R_V18,
        R_V19_PIN, R_V19_PROC, R_V19_PROC2, R_V19_CR3_TARGETS, R_V19_IOBM, R_V19_MSRBM, R_V19_VAPIC, R_V19_APIC,
        R_V19_APICV, R_V19_NMI, R_V19_PML, R_V19_NEEDS_EPT, R_V19_VMCSBM, R_V19_VPID, R_V19_PREEMPT, R_V19_EPTP,
        R_V19_VMFUNC, R_V19_EXIT, R_V19_MSR_SWITCH, R_V19_ENTRY, R_V19_EVENT, R_V19_HOST_CR, R_V19_HOST_CR3,
        R_V19_HOST_ADDR, R_V19_PAT, R_V19_HOST_MODE, R_V19_HOST_SEL, R_V19_HOST_EFER, R_V19_GUEST_CR, R_V19_GUEST_DR7,
        R_V19_LINK, R_V19_GUEST_EFER, R_V19_ACTIVITY, R_V20_CR3,
        R_S1, R_S2, R_S3, R_S4, R_S6, R_S7, R_S8,
        R_S9_VMRUN, R_S9_ASID, R_S9_NP, R_S9_NCR3, R_S9_MSRPM, R_S9_IOPM, R_S9_VNMI, R_S10,
        R_S11_PG, R_S11_PE, R_S11_VM, R_S11_SVME, R_S11_CDNW, R_S11_CR0HI, R_S11_DR6, R_S11_DR7,
        R_S11_PAE, R_S11_CR3, R_S11_CSLD, R_S11_CR4, R_S11_CR4_CPUID, R_S11_EFER, R_S11_EFER_CPUID,
        _R_MAX,
} Rule;

/* Every KVM refuses the bits outside KVM_CR4_BITS / KVM_EFER_BITS (x86-arch.h), whatever the CPUID. */
#define CR4_ALWAYS_RESERVED (~(uint64_t) KVM_CR4_BITS)
#define EFER_ALWAYS_RESERVED (~(uint64_t) KVM_EFER_BITS)

typedef struct Checker {
        const uint8_t *b;
        size_t len;
        NvNestedHeader h;
        const NvValidateContext *ctx;
        NvValidateResult *res;
} Checker;

/* Shared by validate*.c only, yet global in an installed library: hence nv_, as every global there. */
int nv_validate_reject(Checker *c, Rule r, uint64_t value);
int nv_validate_reject_bits(Checker *c, Rule r, uint64_t value, uint64_t bits);
void nv_validate_unchecked(Checker *c, const char *why);
bool nv_validate_gpa_legal(Checker *c, uint64_t gpa);
bool nv_validate_page_address(Checker *c, uint64_t gpa);
bool nv_validate_fact(Checker *c, NvTristate t, bool if_unknown, const char *why);
int nv_validate_vmx(Checker *c);
int nv_validate_vmx_entry(Checker *c);
int nv_validate_svm(Checker *c);
