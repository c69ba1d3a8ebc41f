/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole-vCPU save/load in a safe order, with rollback, and the
 * all-or-nothing helpers over several vCPUs.
 *
 * Load order: sregs first (EFER.SVME and CR0 must be in place before an SVM
 * SET, rules S3/S10), then MSRs, then events (SMM must be known before a
 * VMX SET, rule V6), then nested state, then regs.  Nested state before
 * regs is QEMU's order and resumed L2 correctly on a real kernel.
 */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "vcpu.h"

NvVcpuRegsNested *nv_vcpu_regs_nested_free(NvVcpuRegsNested *st) {
        if (st) {
                free(st->msrs);
                nv_blob_clear(&st->nested);
                free(st);
        }
        return NULL;
}

static struct kvm_msrs *msrs_new(const uint32_t *indices, size_t n) {
        struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

        if (!m)
                return NULL;
        m->nmsrs = (uint32_t) n;
        for (size_t i = 0; i < n; i++)
                m->entries[i].index = indices[i];
        return m;
}

static int save_msrs(NvVcpu *vcpu, const uint32_t *indices, size_t n, NvVcpuRegsNested *st, NvError **reterr) {
        int r;

        if (n == 0)
                return 0;
        st->msrs = msrs_new(indices, n);
        if (!st->msrs)
                return -ENOMEM;
        r = nv_kvm_get_msrs(vcpu, st->msrs, reterr);
        if (r >= 0 && (size_t) r != n)
                return nv_error_set(reterr, -EIO, _("vCPU %u: KVM read only %d of %zu MSRs (MSR 0x%x failed)."),
                                    nv_vcpu_id(vcpu), r, n, st->msrs->entries[r].index);
        return r < 0 ? r : 0;
}

int nv_vcpu_save_regs_nested(NvVcpu *vcpu, const uint32_t *msr_indices, size_t n_msrs, NvVcpuRegsNested **ret, NvError **reterr) {
        _cleanup_(nv_vcpu_regs_nested_freep) NvVcpuRegsNested *st = calloc(1, sizeof(NvVcpuRegsNested));
        int r;

        if (!st)
                return -ENOMEM;
        r = nv_vcpu_quiesce(vcpu, reterr);
        if (r >= 0)
                r = nv_kvm_get_events(vcpu, &st->events, reterr);
        if (r >= 0)
                r = nv_kvm_get_regs(vcpu, &st->regs, reterr);
        if (r >= 0)
                r = nv_kvm_get_sregs(vcpu, &st->sregs, reterr);
        if (r >= 0) {
                r = nv_vcpu_get_nested(vcpu, /* quiesce= */ false, &st->nested, reterr);
                if (r == -EOPNOTSUPP) { /* no nested state to save is not an error here */
                        nv_error_clear(reterr);
                        r = 0;
                }
        }
        if (r >= 0)
                r = save_msrs(vcpu, msr_indices, n_msrs, st, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Saving vCPU %u"), nv_vcpu_id(vcpu));
        *ret = TAKE_PTR(st);
        return 0;
}

/* Applies st in the load order; *step names the step that failed. */
static int apply_state(NvVcpu *vcpu, const NvVcpuRegsNested *st, const NvValidateContext *ctx, const char **step,
                       NvError **reterr) {
        int r;

        *step = "KVM_SET_SREGS";
        r = nv_kvm_set_sregs(vcpu, &st->sregs, reterr);
        if (r < 0)
                return r;
        *step = "KVM_SET_MSRS";
        if (st->msrs) {
                r = nv_kvm_set_msrs(vcpu, st->msrs, reterr);
                if (r >= 0 && (uint32_t) r != st->msrs->nmsrs)
                        return nv_error_set(reterr, -EINVAL, _("KVM refused MSR 0x%x."), st->msrs->entries[r].index);
                if (r < 0)
                        return r;
        }
        *step = "KVM_SET_VCPU_EVENTS";
        r = nv_kvm_set_events(vcpu, &st->events, reterr);
        if (r < 0)
                return r;
        *step = "KVM_SET_NESTED_STATE";
        if (st->nested.data) {
                r = nv_vcpu_set_nested(vcpu, &st->nested, ctx, reterr);
                if (r < 0)
                        return r;
        }
        *step = "KVM_SET_REGS";
        return nv_kvm_set_regs(vcpu, &st->regs, reterr);
}

int nv_vcpu_load_regs_nested(NvVcpu *vcpu, const NvVcpuRegsNested *st, NvError **reterr) {
        _cleanup_(nv_vcpu_regs_nested_freep) NvVcpuRegsNested *before = NULL;
        _cleanup_(nv_error_freep) NvError *rollback_err = NULL;
        _cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;
        NvValidateContext ctx;
        const uint32_t *indices = NULL;
        _cleanup_free_ uint32_t *idx = NULL;
        const char *step, *ignored;
        size_t n = st->msrs ? st->msrs->nmsrs : 0;
        int r;

        /* 1. Refuse bad nested state before touching anything: st's registers, the vCPU's own CPUID. */
        nv_validate_context_from_state(&ctx, nv_kvm_vendor(nv_vcpu_kvm(vcpu)), &st->sregs, &st->events);
        if (st->nested.data) {
                r = nv_kvm_get_cpuid(vcpu, &cpuid, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("vCPU %u left unchanged"), nv_vcpu_id(vcpu));
                nv_validate_context_from_cpuid(&ctx, cpuid);
                r = nv_validate_blob(st->nested.data, st->nested.len, &ctx, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("vCPU %u left unchanged"), nv_vcpu_id(vcpu));
        }
        /* 2. Keep what the vCPU has now, for the way back. */
        if (n) {
                idx = calloc(n, sizeof(*idx));
                if (!idx)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        idx[i] = st->msrs->entries[i].index;
                indices = idx;
        }
        r = nv_vcpu_save_regs_nested(vcpu, indices, n, &before, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("vCPU %u left unchanged"), nv_vcpu_id(vcpu));
        /* 3. Apply; on failure put the previous state back. */
        r = apply_state(vcpu, st, &ctx, &step, reterr);
        if (r >= 0)
                return 0;
        if (apply_state(vcpu, before, NULL, &ignored, &rollback_err) < 0)
                return nv_error_wrap(reterr, r, _("vCPU %u: %s failed and restoring its previous state failed too (%s)"),
                                     nv_vcpu_id(vcpu), step, nv_error_message(rollback_err, -EIO));
        return nv_error_wrap(reterr, r, _("vCPU %u: %s failed; its previous state was put back"), nv_vcpu_id(vcpu), step);
}
