/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ordered, validated capture and restore of a vCPU's nested state. */
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "macro.h"
#include "vcpu.h"

int nv_vcpu_quiesce(NvVcpu *vcpu, NvError **reterr) {
        struct kvm_run *run = nv_vcpu_run_area(vcpu);
        int r;

        if (!run)
                return 0;
        run->immediate_exit = 1;
        r = nv_kvm_vcpu_run(vcpu, reterr);
        run->immediate_exit = 0;
        if (r == -EINTR)
                return 0;
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Cannot quiesce vCPU %u"), nv_vcpu_id(vcpu));
        return nv_error_set(reterr, -EIO, _("vCPU %u ran instead of exiting at once (exit reason %u)."),
                            nv_vcpu_id(vcpu), run->exit_reason);
}

size_t nv_vcpu_nested_room(NvVcpu *vcpu) {
        int cap = nv_kvm_nested_state_max(nv_vcpu_kvm(vcpu));

        return cap > (int) NV_NESTED_MAX_SIZE ? (size_t) cap : NV_NESTED_MAX_SIZE;
}

int nv_vcpu_get_nested_into(NvVcpu *vcpu, bool quiesce, void *buf, size_t room, size_t *ret_len, NvError **reterr) {
        struct kvm_nested_state *st = buf;
        int cap, r;

        cap = nv_kvm_nested_state_max(nv_vcpu_kvm(vcpu));
        if (cap <= 0)
                return nv_error_set(reterr, -EOPNOTSUPP, _("This kernel cannot save nested state (KVM_CAP_NESTED_STATE is 0)."));
        if (room < NV_NESTED_HDR_SIZE)
                return nv_error_set(reterr, -ENOBUFS, _("No room for vCPU %u's nested state."), nv_vcpu_id(vcpu));
        if (quiesce) {
                r = nv_vcpu_quiesce(vcpu, reterr);
                if (r < 0)
                        return r;
        }
        if (room > UINT32_MAX)
                room = UINT32_MAX;
        st->size = (uint32_t) room;
        r = nv_kvm_get_nested_state_raw(vcpu, st);
        if (r == -E2BIG)
                return nv_error_set(reterr, r, _("KVM wants %u bytes of nested state for vCPU %u, more than its capability %d."),
                                    st->size, nv_vcpu_id(vcpu), cap);
        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_GET_NESTED_STATE on vCPU %u failed: %s"), nv_vcpu_id(vcpu), strerror(-r));
        if (st->size < NV_NESTED_HDR_SIZE || st->size > room)
                return nv_error_set(reterr, -EPROTO, _("KVM returned an impossible nested-state size %u for vCPU %u."),
                                    st->size, nv_vcpu_id(vcpu));
        *ret_len = st->size;
        return (st->flags & KVM_STATE_NESTED_GUEST_MODE) ? 1 : 0;
}

int nv_vcpu_get_nested(NvVcpu *vcpu, bool quiesce, NvBlob *ret, NvError **reterr) {
        size_t alloc = nv_vcpu_nested_room(vcpu), len = 0;
        _cleanup_free_ uint8_t *buf = calloc(1, alloc);
        int r;

        if (!buf)
                return -ENOMEM;
        r = nv_vcpu_get_nested_into(vcpu, quiesce, buf, alloc, &len, reterr);
        if (r < 0)
                return r;
        ret->len = len;
        ret->data = realloc(buf, len) ?: buf;
        buf = NULL;
        return r;
}

void nv_validate_context_from_state(NvValidateContext *ctx, int vendor, const struct kvm_sregs *sregs,
                               const struct kvm_vcpu_events *ev) {
        nv_validate_context_init(ctx);
        ctx->vendor = vendor;
        ctx->svme = (sregs->efer & X86_EFER_SVME) ? NV_YES : NV_NO;
        ctx->in_smm = ev->smi.smm ? NV_YES : NV_NO;
        ctx->lma = (sregs->efer & X86_EFER_LMA) ? NV_YES : NV_NO;
        ctx->have_cr0 = true;
        ctx->cr0 = sregs->cr0;
}

void nv_validate_context_from_cpuid(NvValidateContext *ctx, const struct kvm_cpuid2 *cpuid) {
        ctx->maxphyaddr = nv_cpuid_maxphyaddr(cpuid->entries, cpuid->nent);
        ctx->have_cpuid = true;
        ctx->cr4_allowed = nv_cpuid_allowed_bits(cpuid->entries, cpuid->nent, /* efer= */ false);
        ctx->efer_allowed = nv_cpuid_allowed_bits(cpuid->entries, cpuid->nent, /* efer= */ true);
}

int nv_vcpu_validate_context(NvVcpu *vcpu, NvValidateContext *ctx, NvError **reterr) {
        _cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;
        struct kvm_sregs sregs;
        struct kvm_vcpu_events ev;
        int r;

        r = nv_kvm_get_sregs(vcpu, &sregs, reterr);
        if (r >= 0)
                r = nv_kvm_get_events(vcpu, &ev, reterr);
        if (r >= 0)
                r = nv_kvm_get_cpuid(vcpu, &cpuid, reterr);
        if (r < 0)
                return r;
        nv_validate_context_from_state(ctx, nv_kvm_vendor(nv_vcpu_kvm(vcpu)), &sregs, &ev);
        nv_validate_context_from_cpuid(ctx, cpuid);
        /* KVM lets userspace read them when the vCPU may use VMX; else they stay unknown. */
        if (ctx->vendor == NV_FORMAT_VMX)
                ctx->have_vmx_msrs = nv_kvm_read_vmx_msrs(nv_vcpu_kvm(vcpu), vcpu, ctx->vmx_msrs);
        return 0;
}

int nv_vcpu_set_nested(NvVcpu *vcpu, const NvBlob *blob, const NvValidateContext *ctx, NvError **reterr) {
        NvValidateContext own;
        int r;

        if (!ctx) {
                r = nv_vcpu_validate_context(vcpu, &own, reterr);
                if (r < 0)
                        return r;
                ctx = &own;
        }
        r = nv_validate_blob(blob->data, blob->len, ctx, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Nested state for vCPU %u refused before reaching the kernel"),
                                     nv_vcpu_id(vcpu));
        r = nv_kvm_set_nested_state_raw(vcpu, (const struct kvm_nested_state *) blob->data);
        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_SET_NESTED_STATE on vCPU %u failed with %s although the validator accepted the state."),
                                    nv_vcpu_id(vcpu), nv_errno_name(r));
        /* Not success: the kernel's VM-entry status (nested_vmx_enter_non_root_mode() on 6.1). */
        if (r > 0)
                return nv_error_set(reterr, NV_ERR_LEFT_GUEST_MODE,
                                    _("KVM_SET_NESTED_STATE on vCPU %u returned %d instead of 0 or an errno although the validator accepted the state: "
                                      "the kernel took the state but could not re-enter the nested guest with it, so the vCPU is back in its L1 hypervisor and L2 is lost."),
                                    nv_vcpu_id(vcpu), r);
        return 0;
}

static void blobs_clear(NvBlob *blobs, size_t n) {
        for (size_t i = 0; i < n; i++)
                nv_blob_clear(&blobs[i]);
}

int nv_vcpus_get_nested_all(NvVcpu *const *vcpus, size_t n, NvBlob *blobs, NvError **reterr) {
        _cleanup_free_ NvBlob *tmp = calloc(n ?: 1, sizeof(NvBlob));
        int r;

        if (!tmp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = nv_vcpu_get_nested(vcpus[i], /* quiesce= */ true, &tmp[i], reterr);
                if (r < 0) {
                        blobs_clear(tmp, i);
                        return r;
                }
        }
        memcpy(blobs, tmp, n * sizeof(NvBlob));
        return 0;
}

int nv_vcpus_get_nested_image(NvVcpu *const *vcpus, size_t n, NvSnapshotBuilder *b, unsigned *ret_guest, NvError **reterr) {
        unsigned guest = 0;
        size_t room, len = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                uint8_t *slot = nv_snapshot_builder_slot(b, &room);

                r = nv_vcpu_get_nested_into(vcpus[i], /* quiesce= */ true, slot, room, &len, reterr);
                if (r < 0)
                        return r;
                guest += r;
                r = nv_snapshot_builder_commit(b, nv_vcpu_id(vcpus[i]), len, reterr);
                if (r < 0)
                        return r;
        }
        *ret_guest = guest;
        return 0;
}

/* Each kept state starts 8-aligned, as KVM's own structure is. */
size_t nv_vcpus_undo_size(NvVcpu *const *vcpus, size_t n) {
        return n ? n * ALIGN_TO(nv_vcpu_nested_room(vcpus[0]), (size_t) 8) : 0;
}

/*
 * Every vCPU's current nested state, for the way back, one after the
 * other in undo (each kvm_nested_state says its own size): only the bytes
 * KVM wrote are touched, however large its room.
 */
static int keep_current(NvVcpu *const *vcpus, size_t n, uint8_t *undo, size_t undo_size, NvError **reterr) {
        size_t off = 0, len = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = nv_vcpu_get_nested_into(vcpus[i], /* quiesce= */ true, undo + off, undo_size - off, &len, reterr);
                if (r < 0)
                        return r;
                off += ALIGN_TO(len, (size_t) 8);
        }
        return 0;
}

/* The first n vCPUs get back what keep_current() kept (a best effort: each is tried). */
static void undo_to(NvVcpu *const *vcpus, size_t n, const uint8_t *undo) {
        size_t off = 0;

        for (size_t j = 0; j < n; j++) {
                const struct kvm_nested_state *st = (const struct kvm_nested_state *) (undo + off);

                (void) nv_kvm_set_nested_state_raw(vcpus[j], st);
                off += ALIGN_TO((size_t) st->size, (size_t) 8);
        }
}

int nv_vcpus_set_nested_all(NvVcpu *const *vcpus, size_t n, const NvBlob *blobs, void *undo, size_t undo_size, NvError **reterr) {
        _cleanup_free_ NvValidateContext *ctx = calloc(n ?: 1, sizeof(NvValidateContext));
        _cleanup_free_ uint8_t *own = NULL;
        size_t i;
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        if (!undo || undo_size < nv_vcpus_undo_size(vcpus, n)) {
                undo_size = nv_vcpus_undo_size(vcpus, n);
                undo = own = malloc(undo_size ?: 1);
                if (!own)
                        return -ENOMEM;
        }
        /* 1. Every blob must pass before any vCPU is touched. */
        for (i = 0; i < n && r >= 0; i++) {
                r = nv_vcpu_validate_context(vcpus[i], &ctx[i], reterr);
                if (r >= 0)
                        r = nv_validate_blob(blobs[i].data, blobs[i].len, &ctx[i], reterr);
        }
        if (r < 0)
                return nv_error_wrap(reterr, r, _("vCPU %zu refused, no vCPU was changed"), i - 1);
        /* 2. Keep the current state, then load; undo on the first refusal. */
        r = keep_current(vcpus, n, undo, undo_size, reterr);
        if (r < 0)
                return r;
        for (i = 0; i < n && r >= 0; i++)
                r = nv_vcpu_set_nested(vcpus[i], &blobs[i], &ctx[i], reterr);
        if (r < 0) {
                /* Includes the refused vCPU: a failed SET may already have left nested mode. */
                undo_to(vcpus, i, undo);
                r = nv_error_wrap(reterr, r, _("vCPU %zu refused by the kernel; every vCPU got its previous nested state back"), i - 1);
        }
        return r < 0 ? r : 0;
}
