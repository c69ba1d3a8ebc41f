/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capture and restore of nested state with the safety rules measured on a
 * real kernel (docs/kvm-nested-abi.md §2, §3.4):
 *  - the GET buffer is always sized from KVM_CAP_NESTED_STATE, never smaller
 *    (on SVM the kernel writes 4224 bytes into any buffer of >= 128);
 *  - a vCPU is quiesced (KVM_RUN with immediate_exit) before any state is
 *    read, so that an exit to userspace for I/O is completed first;
 *  - a blob is validated before KVM_SET_NESTED_STATE, and state is loaded in
 *    the order sregs, MSRs, events, nested state, regs;
 *  - a refused restore puts back what the vCPU had before.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include "snapshot.h"
#include "validate.h"

NV_BEGIN_DECLS

/*
 * Re-enters the vCPU with kvm_run->immediate_exit = 1 so that a pending
 * exit (e.g. port I/O) is completed and the vCPU's state is consistent.
 * The VMM must have stopped the vCPU's thread (not inside KVM_RUN).
 * No-op if the handle has no kvm_run mapping.  Returns 0 or -errno.
 */
int nv_vcpu_quiesce(NvVcpu *vcpu, NvError **reterr);

/*
 * Reads the vCPU's nested state into *ret (a new allocation of exactly the
 * returned size).  Quiesces first when quiesce is true (callers that read
 * other registers too quiesce once themselves).  Returns 1 if the vCPU was
 * in guest mode, 0 if not, -EOPNOTSUPP if the kernel cannot save nested
 * state, or another -errno.  *ret is untouched on failure.
 */
int nv_vcpu_get_nested(NvVcpu *vcpu, bool quiesce, NvBlob *ret, NvError **reterr);

/*
 * The same into room bytes at buf, the caller's (a slot of a snapshot
 * being built): *ret_len is the blob's size.  room must be at least
 * nv_vcpu_nested_room(vcpu), or a state that size would not fit.
 */
int nv_vcpu_get_nested_into(NvVcpu *vcpu, bool quiesce, void *buf, size_t room, size_t *ret_len, NvError **reterr);

/* The room a nested-state read needs: the capability, and never less than the largest blob of any vendor. */
size_t nv_vcpu_nested_room(NvVcpu *vcpu);

/*
 * Fills ctx with what can be learnt from the vCPU itself: host vendor,
 * EFER.SVME, SMM, CR0, and from its CPUID (KVM_GET_CPUID2) the guest
 * MAXPHYADDR and the CR4/EFER bits it may set.  Other facts stay unknown.
 */
int nv_vcpu_validate_context(NvVcpu *vcpu, NvValidateContext *ctx, NvError **reterr);

/* Fills ctx from a target vCPU's sregs and events; vendor is NV_FORMAT_* or -1. */
void nv_validate_context_from_state(NvValidateContext *ctx, int vendor, const struct kvm_sregs *sregs,
                                    const struct kvm_vcpu_events *ev);

/*
 * Adds what a target vCPU's CPUID (as KVM_GET_CPUID2 returns it) tells:
 * the guest MAXPHYADDR (36 without leaf 0x80000008, as KVM has it) and the
 * CR4/EFER bits whose features it offers.  The other facts are kept.
 */
void nv_validate_context_from_cpuid(NvValidateContext *ctx, const struct kvm_cpuid2 *cpuid);

/*
 * Validates blob against ctx (NULL: learnt from the vCPU now) and then
 * issues KVM_SET_NESTED_STATE.  A blob the validator refuses never reaches
 * the kernel.  Returns 0 or -errno with the rule or the kernel's errno in
 * *reterr.  A positive return of the ioctl (the kernel took the state but
 * could not re-enter L2, so L2 is lost) is NV_ERR_LEFT_GUEST_MODE.
 */
int nv_vcpu_set_nested(NvVcpu *vcpu, const NvBlob *blob, const NvValidateContext *ctx, NvError **reterr);

/*
 * What the ordered helpers save of one vCPU: the registers, events and
 * chosen MSRs that KVM_SET_NESTED_STATE checks a blob against, and the
 * blob.  Not the whole vCPU state: FPU/XSAVE, LAPIC, debug registers and
 * MP state stay the VMM's to save.
 */
typedef struct NvVcpuRegsNested {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_vcpu_events events;
        struct kvm_msrs *msrs; /* header plus msrs->nmsrs entries; NULL for none */
        NvBlob nested;         /* empty if the kernel cannot save nested state */
} NvVcpuRegsNested;

NvVcpuRegsNested *nv_vcpu_regs_nested_free(NvVcpuRegsNested *st);
NV_DEFINE_FREEP(NvVcpuRegsNested *, nv_vcpu_regs_nested_free)

/*
 * Quiesces the vCPU and saves events, regs, sregs, nested state and the
 * listed MSRs, in the kernel selftests' order.  Returns 0 and *ret.
 */
int nv_vcpu_save_regs_nested(NvVcpu *vcpu, const uint32_t *msr_indices, size_t n_msrs, NvVcpuRegsNested **ret, NvError **reterr);

/*
 * Loads st into the vCPU: validates st's nested blob against the context st
 * itself implies (its EFER.SVME, SMM and CR0) and the vCPU's CPUID (guest
 * MAXPHYADDR, CR4/EFER bits), then sets sregs, MSRs,
 * events, nested state, regs.  If any step fails, the vCPU's previous state
 * is put back in the same order and the error names the step.
 */
int nv_vcpu_load_regs_nested(NvVcpu *vcpu, const NvVcpuRegsNested *st, NvError **reterr);

/*
 * For VMMs that handle their own registers: captures every vCPU's nested
 * state (quiescing each first).  All-or-nothing: on failure nothing is
 * returned.  blobs must have room for n entries.
 */
int nv_vcpus_get_nested_all(NvVcpu *const *vcpus, size_t n, NvBlob *blobs, NvError **reterr);

/*
 * Every vCPU's nested state read (quiescing each first) straight into the
 * slots of snapshot builder b (nv_snapshot_builder_init for n vCPUs, with
 * nv_snapshot_image_max(n, nv_vcpu_nested_room()) bytes), committed under
 * each vCPU's id: no copy.  *ret_guest: how many were in guest mode.
 */
int nv_vcpus_get_nested_image(NvVcpu *const *vcpus, size_t n, NvSnapshotBuilder *b, unsigned *ret_guest, NvError **reterr);

/*
 * Loads blobs[i] into vcpus[i] for all i, all-or-nothing: every blob is
 * validated first; if the kernel then refuses one, the vCPUs already
 * loaded get their previous nested state back.  The error names the vCPU.
 * The previous states are kept in undo (undo_size bytes, at least
 * nv_vcpus_undo_size()): a caller that loads again and again passes memory
 * it keeps, whose pages are there already; NULL: allocated here.
 */
int nv_vcpus_set_nested_all(NvVcpu *const *vcpus, size_t n, const NvBlob *blobs, void *undo, size_t undo_size, NvError **reterr);

/* The undo room nv_vcpus_set_nested_all() needs for n vCPUs like vcpus[0]. */
size_t nv_vcpus_undo_size(NvVcpu *const *vcpus, size_t n);

NV_END_DECLS
