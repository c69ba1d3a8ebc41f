/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The KVM ioctl wrapper: every KVM ioctl the project issues goes through
 * this module.  A handle runs on the backend chosen when it was opened:
 * the kernel's /dev/kvm (nv_kvm_open, nv_kvm_adopt_vm), or another that
 * implements the same ops (the simulated KVM of the tests and the demo);
 * callers never learn which one, except its name for output.
 *
 * Conventions: functions return >= 0 on success and -errno on failure, with
 * a message naming the ioctl in *reterr when reterr is non-NULL.  Every fd is
 * opened O_CLOEXEC.  The nested-state calls live in vcpu.h, which adds the
 * safety rules (buffer sizing, quiescing, validation, ordering).
 */
#pragma once

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "nested-state.h"
#include "validate.h" /* NV_VMX_MSR_COUNT */

NV_BEGIN_DECLS

typedef struct NvKvm NvKvm;
typedef struct NvVcpu NvVcpu;

#define NV_KVM_API_VERSION 12
#define NV_KVM_DEFAULT_PATH "/dev/kvm"

/*
 * Opens path (NULL: /dev/kvm) and checks KVM_GET_API_VERSION == 12.
 * Returns 0 and a new handle in *ret; -ENOENT/-EACCES/-EPROTO otherwise.
 */
int nv_kvm_open(const char *path, NvKvm **ret, NvError **reterr);

/*
 * Wraps a VM fd owned by a VMM (it stays the VMM's: never closed here).
 * Used by VMMs that embed nestvirt for the nested part only.
 */
int nv_kvm_adopt_vm(int vm_fd, NvKvm **ret, NvError **reterr);

/* Frees the handle and closes what it opened; accepts NULL; returns NULL. */
NvKvm *nv_kvm_free(NvKvm *kvm);
NV_DEFINE_FREEP(NvKvm *, nv_kvm_free)

/* The backend's name, "kvm" or "simulated", for output that must say which one ran. */
const char *nv_kvm_backend_name(const NvKvm *kvm);

/* KVM_CHECK_EXTENSION on the VM fd when there is one, else the system fd. */
int nv_kvm_check_extension(NvKvm *kvm, long cap);

/*
 * KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE): the maximum blob size (8320
 * VMX, 4224 SVM), 0 if this kernel cannot save nested state.
 */
int nv_kvm_nested_state_max(NvKvm *kvm);

/* The host vendor from the capability (8320: NV_FORMAT_VMX, 4224: NV_FORMAT_SVM), -1 if unknown. */
int nv_kvm_vendor(NvKvm *kvm);

/*
 * A new handle on the same kernel, with no VM yet (create one with
 * nv_kvm_create_vm): for scratch VMs whose KVM_SET_NESTED_STATE verdicts
 * are the kernel's.  -EOPNOTSUPP on a backend whose verdicts would not be
 * (the simulated KVM) and on an adopted VM.
 */
int nv_kvm_open_scratch(NvKvm *kvm, NvKvm **ret, NvError **reterr);

/* KVM_GET_SUPPORTED_CPUID: the CPUID a vCPU may get here, in a new allocation (*ret, free()). */
int nv_kvm_get_supported_cpuid(NvKvm *kvm, struct kvm_cpuid2 **ret, NvError **reterr);

/* KVM_GET_MSRS on the system fd: feature MSRs (the nested VMX capability MSRs among them); returns how many were read. */
int nv_kvm_get_feature_msrs(NvKvm *kvm, struct kvm_msrs *msrs, NvError **reterr);

/*
 * The nested VMX capability MSRs IA32_VMX_BASIC (0x480) .. IA32_VMX_VMFUNC
 * (0x491) of vcpu, or with vcpu NULL the feature MSRs of kvm (what a vCPU
 * with the supported CPUID gets).  False when not all of them can be read
 * or IA32_VMX_BASIC lacks KVM's vmcs12 revision (nested off, an SVM host,
 * the simulator): ret is then untouched.
 */
bool nv_kvm_read_vmx_msrs(NvKvm *kvm, NvVcpu *vcpu, uint64_t ret[NV_VMX_MSR_COUNT]);

/* KVM_CREATE_VM (once per handle). */
int nv_kvm_create_vm(NvKvm *kvm, NvError **reterr);

/*
 * KVM_SET_USER_MEMORY_REGION for slot 0 at guest-physical 0 backed by mem
 * (page aligned, size bytes).  A backend without guest memory (the
 * simulator) accepts it as a no-op.
 */
int nv_kvm_set_memory(NvKvm *kvm, void *mem, size_t size, NvError **reterr);
/* The same for any slot and guest-physical address (page aligned). */
int nv_kvm_set_memory_slot(NvKvm *kvm, uint32_t slot, uint64_t gpa, void *mem, size_t size, NvError **reterr);

/*
 * KVM_CREATE_VCPU with the given id, maps its kvm_run, and sets the guest
 * CPUID to what the host supports (so that VMX/SVM is offered when nested is
 * enabled).  Returns 0 and the vCPU in *ret.
 */
int nv_kvm_create_vcpu(NvKvm *kvm, unsigned id, NvVcpu **ret, NvError **reterr);

/*
 * Wraps a vCPU a VMM created: its fd and kvm_run mapping stay the VMM's.
 * run may be NULL if the VMM never lets nestvirt quiesce the vCPU.
 */
int nv_kvm_adopt_vcpu(NvKvm *kvm, int vcpu_fd, unsigned id, struct kvm_run *run, NvVcpu **ret, NvError **reterr);

/* Frees the handle; closes and unmaps only what nestvirt created. */
NvVcpu *nv_vcpu_free(NvVcpu *vcpu);
NV_DEFINE_FREEP(NvVcpu *, nv_vcpu_free)

unsigned nv_vcpu_id(const NvVcpu *vcpu);
NvKvm *nv_vcpu_kvm(const NvVcpu *vcpu);
struct kvm_run *nv_vcpu_run_area(const NvVcpu *vcpu);

/*
 * The plain vCPU ioctls.  Each returns the ioctl's result (>= 0) or -errno,
 * and names the ioctl in *reterr on failure.  nv_kvm_vcpu_run() does not
 * treat -EINTR as an error message worth recording (it is the expected
 * result of an immediate exit) but still returns it.
 */
int nv_kvm_vcpu_run(NvVcpu *vcpu, NvError **reterr);
int nv_kvm_get_regs(NvVcpu *vcpu, struct kvm_regs *regs, NvError **reterr);
int nv_kvm_set_regs(NvVcpu *vcpu, const struct kvm_regs *regs, NvError **reterr);
int nv_kvm_get_sregs(NvVcpu *vcpu, struct kvm_sregs *sregs, NvError **reterr);
int nv_kvm_set_sregs(NvVcpu *vcpu, const struct kvm_sregs *sregs, NvError **reterr);
/* msrs->nmsrs entries follow the header; returns how many were read/written. */
int nv_kvm_get_msrs(NvVcpu *vcpu, struct kvm_msrs *msrs, NvError **reterr);
int nv_kvm_set_msrs(NvVcpu *vcpu, const struct kvm_msrs *msrs, NvError **reterr);
int nv_kvm_get_events(NvVcpu *vcpu, struct kvm_vcpu_events *ev, NvError **reterr);
int nv_kvm_set_events(NvVcpu *vcpu, const struct kvm_vcpu_events *ev, NvError **reterr);
int nv_kvm_set_cpuid(NvVcpu *vcpu, const struct kvm_cpuid2 *cpuid, NvError **reterr);
/* KVM_GET_CPUID2: the vCPU's CPUID as the VMM set it, in a new allocation (*ret, free()). */
int nv_kvm_get_cpuid(NvVcpu *vcpu, struct kvm_cpuid2 **ret, NvError **reterr);
int nv_kvm_enable_cap(NvVcpu *vcpu, const struct kvm_enable_cap *cap, NvError **reterr);

/*
 * The raw nested-state ioctls: state points to a buffer of at least
 * state->size bytes (GET) or the blob (SET).  No checks are added here;
 * use nv_vcpu_get_nested() / nv_vcpu_set_nested() from vcpu.h.
 */
int nv_kvm_get_nested_state_raw(NvVcpu *vcpu, struct kvm_nested_state *state);
int nv_kvm_set_nested_state_raw(NvVcpu *vcpu, const struct kvm_nested_state *state);

NV_END_DECLS
