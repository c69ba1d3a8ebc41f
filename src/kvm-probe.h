/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scratch VMs and vCPUs on the host's KVM: the kernel's own verdict on a
 * nested state before any VMM is touched, and the probes that learn which
 * of the rules that differ between kernels this one enforces.  Only a
 * kernel's KVM makes scratch vCPUs (nv_kvm_open_scratch()); on the
 * simulated KVM every call here fails with -EOPNOTSUPP or measures nothing.
 */
#pragma once

#include "host.h"
#include "kvm.h"

NV_BEGIN_DECLS

/*
 * A new VM on kvm's kernel with one vCPU set up as the target vCPU of a
 * vendor's state will be when the state lands: the CPUID KVM supports,
 * 64-bit paging (lma) or 32-bit protected mode, not in SMM, and for SVM
 * EFER.SVME, for VMX CR4.VMXE and IA32_FEATURE_CONTROL locked with VMXON
 * allowed.  Free the vCPU before the handle.
 */
int nv_kvm_scratch_vcpu(NvKvm *kvm, int vendor, bool lma, NvKvm **ret_kvm, NvVcpu **ret_vcpu, NvError **reterr);

/*
 * Scratch vCPUs for many states: a scratch VM holds as many vCPUs as KVM
 * allows (a vCPU lives as long as its VM), then the next VM is made.  kvm
 * (the host's handle) must outlive it.  A VMX scratch vCPU gets target's
 * nested VMX capability MSRs (NULL, or none measured: KVM's own).
 */
typedef struct NvScratch NvScratch;
int nv_scratch_new(NvKvm *kvm, const NvHostTarget *target, NvScratch **ret, NvError **reterr);
NvScratch *nv_scratch_free(NvScratch *s);
NV_DEFINE_FREEP(NvScratch *, nv_scratch_free)

/*
 * A fresh vCPU set up as nv_kvm_scratch_vcpu() does for the vCPU blob (len
 * bytes) will land on: the blob's vendor, and for VMX its L2's mode.  Free
 * it before the next one is asked for.
 */
int nv_scratch_vcpu_for_state(NvScratch *s, const void *blob, size_t len, NvVcpu **ret, NvError **reterr);

/*
 * KVM_SET_NESTED_STATE of blob on a scratch vCPU, from a copy that the
 * kernel cannot read beyond: the kernel's answer (0 accepted, -errno
 * refused, > 0 taken but left guest mode).
 */
int nv_kvm_scratch_set(NvVcpu *vcpu, const void *blob, size_t len);

/* A guest-mode SVM state every kernel accepts on a vCPU with EFER.SVME: the probes' base. */
void nv_kvm_probe_svm_blob(uint8_t blob[NV_SVM_MAX_SIZE]);

/* Measures t on kvm: eVMCS and SMM capabilities, CPUID, VMX MSRs, the probed rules; unknown where it cannot. */
void nv_kvm_probe_target(NvKvm *kvm, NvHostTarget *t);

NV_END_DECLS
