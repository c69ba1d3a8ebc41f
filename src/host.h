/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host probe: what this machine can do for nested virtualization.
 * Reads files below a root directory ("/" on a host) so that tests can
 * hand it a fake tree instead of the machine's own state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "validate.h"

NV_BEGIN_DECLS

/* Declared, not included: xml/ reads NvHostInfo and must not see <linux/kvm.h>. */
typedef struct NvKvm NvKvm;

#define NV_HOST_MAX_CPUID 256

/* One entry of KVM_GET_SUPPORTED_CPUID, as struct kvm_cpuid_entry2 has it. */
typedef struct NvCpuidLeaf {
        uint32_t function, index, flags;
        uint32_t eax, ebx, ecx, edx;
} NvCpuidLeaf;

/*
 * This host as a restore target, measured on a scratch VM and vCPU of its
 * KVM (never guessed from the kernel release): what a vCPU gets here, and
 * which of the rules that differ between kernels this one enforces,
 * learnt by handing it crafted states.  Unknown where it could not be
 * measured (no kernel KVM, no nested state, a probe that did not apply).
 */
typedef struct NvHostTarget {
        bool measured;                       /* a scratch VM and vCPU were made on a kernel's KVM */
        unsigned maxphyaddr;                 /* guest MAXPHYADDR of that vCPU's CPUID; 0: unknown */
        size_t n_cpuid;                      /* KVM_GET_SUPPORTED_CPUID, 0: unknown */
        NvCpuidLeaf cpuid[NV_HOST_MAX_CPUID];
        bool have_vmx_msrs;                  /* the nested VMX capability MSRs (KVM_GET_MSRS, feature MSRs) */
        uint64_t vmx_msrs[NV_VMX_MSR_COUNT]; /* IA32_VMX_BASIC (0x480) .. IA32_VMX_VMFUNC (0x491) */
        NvTristate evmcs;                    /* KVM_CAP_HYPERV_ENLIGHTENED_VMCS offered */
        NvTristate smm;                      /* KVM_CAP_X86_SMM */
        NvTristate npt;                      /* kvm_amd npt= */
        NvTristate svme0_gif0_ok;            /* probed: flags 0 accepted with EFER.SVME clear */
        NvTristate vnmi_needs_nmi_intercept; /* probed: V_NMI_ENABLE without the NMI intercept refused */
        NvTristate sregs_svme_needs_cpuid;   /* probed: KVM_SET_SREGS refuses EFER.SVME if the vCPU's CPUID lacks SVM */
} NvHostTarget;

typedef struct NvHostInfo {
        char kernel_release[128];    /* proc/sys/kernel/osrelease */
        int cpu_vendor;              /* NV_FORMAT_VMX (Intel, "vmx" flag), NV_FORMAT_SVM ("svm"), or -1 */
        char cpu_model[128];         /* "model name" of the first CPU */
        bool kvm_device;             /* the KVM device exists */
        int kvm_errno;               /* it exists but could not be opened or used: why (EACCES: not permitted); else 0 */
        int api_version;             /* KVM_GET_API_VERSION, 0 if not opened */
        NvTristate nested;           /* kvm_intel Y/N or kvm_amd 1/0; unknown if no module */
        int nested_state_max;        /* KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE); 0 if none */
        const char *backend;         /* "kvm", "simulated" or "none" */
        NvHostTarget target;         /* measured on a scratch vCPU (nv_host_probe_target) */
} NvHostInfo;

/*
 * Probes the host below root (NULL: "/").  kvm, if non-NULL, is the handle
 * whose backend's facts win over the files (the capability, the backend's
 * name, and all a simulated host models instead of this machine's);
 * otherwise root's dev/kvm is opened for the probe.  Missing files are not
 * errors: what cannot be learnt stays unknown.  Returns 0, or -ENOMEM.
 */
int nv_host_probe(const char *root, NvKvm *kvm, NvHostInfo *ret, NvError **reterr);

/*
 * Measures h->target on kvm (NULL: opens root's dev/kvm): a scratch VM and
 * vCPU, the CPUID and VMX MSRs it gets, and the probe states.  Only a
 * kernel's KVM that can save nested state is measured; elsewhere the facts
 * stay unknown.  Not part of nv_host_probe(): it creates VMs.
 */
void nv_host_probe_target(const char *root, NvKvm *kvm, NvHostInfo *h);

/*
 * The validator's context for a vCPU of the target h describes: vendor,
 * MAXPHYADDR, the CR4/EFER bits its CPUID offers, VMX MSRs, eVMCS and SMM
 * where absent, the probed rules.  Facts of the vCPU's own state (EFER,
 * CR0, SMM now) stay unknown.
 */
void nv_host_validate_context(const NvHostInfo *h, NvValidateContext *ctx);

/* Parses a nested= module parameter: "Y"/"1" yes, "N"/"0" no, else unknown. */
NvTristate nv_host_parse_nested_param(const char *value);

NV_END_DECLS
