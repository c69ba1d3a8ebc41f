/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The validator: decides, before the kernel sees a blob, what
 * KVM_SET_NESTED_STATE would do with it.  It mirrors the checks of x86.c,
 * vmx_set_nested_state() and svm_set_nested_state() in the kernel's order
 * (rule ids G*, V*, S* as in docs/kvm-nested-abi.md §3), so that the
 * first failing rule and its errno are the kernel's.
 *
 * Some checks depend on facts about the target vCPU or host (guest
 * MAXPHYADDR, EFER.SVME, SMM, ...).  Unknown facts never make the validator
 * refuse state the kernel might accept: the check is made as far as it can
 * be and listed in the result's `unchecked` array.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

NV_BEGIN_DECLS

typedef enum NvTristate {
        NV_UNKNOWN = -1,
        NV_NO = 0,
        NV_YES = 1,
} NvTristate;

#define NV_VMX_MSR_FIRST 0x480u
#define NV_VMX_MSR_COUNT 18u

typedef struct NvValidateContext {
        int vendor;               /* NV_FORMAT_VMX/SVM of the target host; -1: unknown, the blob's format decides */
        unsigned maxphyaddr;      /* guest MAXPHYADDR in bits; 0: unknown */
        NvTristate vmx_allowed;   /* VMX in guest CPUID and nested enabled (VMX_OK) */
        NvTristate evmcs_enabled; /* KVM_CAP_HYPERV_ENLIGHTENED_VMCS enabled on the vCPU */
        NvTristate svme;          /* target vCPU's EFER.SVME when the SET happens */
        NvTristate in_smm;        /* target vCPU in SMM when the SET happens */
        NvTristate npt_enabled;   /* host kvm_amd npt=1 */
        NvTristate svme0_gif0_ok; /* kernel accepts flags=0 with EFER.SVME=0 (fixed late 2025) */
        NvTristate vnmi_needs_nmi_intercept; /* kernel refuses vmcb12 V_NMI_ENABLE without the NMI intercept (6.12: yes, 6.1: no) */
        bool have_cr0;            /* cr0 below is the target vCPU's current CR0 */
        uint64_t cr0;
        /*
         * The CR4 and EFER bits the target vCPU's CPUID lets its L1 set
         * (KVM's kvm_is_valid_cr4() and kvm_valid_efer() for the guest part),
         * valid when have_cpuid is set.  Without them only the bits no KVM
         * accepts are refused.  Bits the CPUID offers but the host or an
         * older kernel does not support still pass: the kernel refuses those.
         */
        bool have_cpuid;
        uint64_t cr4_allowed;
        uint64_t efer_allowed;
        NvTristate lma; /* target vCPU's EFER.LMA when the SET happens (VMX host address-space size) */
        /*
         * The target vCPU's nested VMX capability MSRs, IA32_VMX_BASIC
         * (0x480) to IA32_VMX_VMFUNC (0x491) in order, valid when
         * have_vmx_msrs is set: the VM-entry checks on a guest-mode vmcs12
         * (V19) compare it with them.
         */
        bool have_vmx_msrs;
        uint64_t vmx_msrs[NV_VMX_MSR_COUNT];
} NvValidateContext;

#define NV_VALIDATE_MAX_UNCHECKED 8

/*
 * Not every refusal is an errno.  When the kernel takes a guest-mode state
 * but then cannot re-enter L2 with it (6.1: prepare_vmcs02() fails),
 * KVM_SET_NESTED_STATE returns a positive VM-entry status (2) and the vCPU
 * is back in L1, its L2 silently dropped.  nestvirt reports that outcome,
 * from the validator and from the ioctl path alike, as this error.
 */
#define NV_ERR_LEFT_GUEST_MODE (-EIO)

typedef struct NvValidateResult {
        int error;         /* 0: KVM would accept; else the negative errno it would return */
        const char *rule;  /* id of the failing rule ("V2e"), NULL when accepted */
        const char *field; /* the field the rule looks at, NULL when accepted */
        uint64_t value;    /* that field's value */
        char message[384]; /* whole translated sentence naming rule, field, value and errno */
        const char *unchecked[NV_VALIDATE_MAX_UNCHECKED]; /* checks not (fully) made, with why */
        size_t n_unchecked;
} NvValidateResult;

/* Sets every fact to unknown. */
void nv_validate_context_init(NvValidateContext *ctx);

/*
 * Validates blob (len bytes are readable) as KVM_SET_NESTED_STATE would,
 * given what ctx knows.  Always fills *ret.  Returns 0 if the kernel would
 * accept the blob, otherwise ret->error.  A blob shorter than what the
 * kernel reads gives -EFAULT, as the kernel's copy_from_user would.
 */
int nv_validate(const void *blob, size_t len, const NvValidateContext *ctx, NvValidateResult *ret);

/* Like nv_validate(), but reports a refusal through reterr. */
int nv_validate_blob(const void *blob, size_t len, const NvValidateContext *ctx, NvError **reterr);

/* Name of an errno as the kernel spells it ("EINVAL"), for messages. */
const char *nv_errno_name(int err);

NV_END_DECLS
