/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Nested state in and out of a frozen VMM process, with the same rules as
 * the in-process path (vcpu.h): the GET buffer sized from the capability,
 * every blob validated against the target vCPU before any SET, all or
 * nothing.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "vcpu.h"
#include "vmm-proc.h"

#define CPUID_MAX_ENTRIES 256

static int need_nested(const NvVmmProc *p, NvError **reterr) {
        if (nv_vmm_proc_nested_max(p) <= 0)
                return nv_error_set(reterr, -EOPNOTSUPP,
                                    _("The kernel cannot save nested state (KVM_CAP_NESTED_STATE is 0 on the VMM's VM)."));
        return 0;
}

/* KVM_GET_NESTED_STATE of vCPU i into a new blob of exactly the size the kernel reports. */
static int get_one(NvVmmProc *p, unsigned i, NvBlob *ret, NvError **reterr) {
        const NvVmmProcVcpu *v = nv_vmm_proc_vcpu(p, i);
        size_t alloc = (size_t) nv_vmm_proc_nested_max(p);
        _cleanup_free_ uint8_t *buf = calloc(1, alloc);
        struct kvm_nested_state *st = (struct kvm_nested_state *) buf;
        int r;

        if (!buf)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        st->size = (uint32_t) alloc; /* never smaller than the capability: the kernel writes that much */
        r = nv_vmm_proc_ioctl(p, v->fd, KVM_GET_NESTED_STATE, buf, alloc, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("KVM_GET_NESTED_STATE of vCPU %u"), v->id);
        if (st->size < NV_NESTED_HDR_SIZE || st->size > alloc)
                return nv_error_set(reterr, -EPROTO, _("KVM returned an impossible nested-state size %u for vCPU %u."),
                                    st->size, v->id);
        ret->len = st->size;
        ret->data = TAKE_PTR(buf);
        return 0;
}

int nv_vmm_proc_collect(NvVmmProc *p, NvSnapshot **ret, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        NvHostInfo host;
        int r = need_nested(p, reterr);

        for (unsigned i = 0; r >= 0 && i < nv_vmm_proc_n_vcpus(p); i++) {
                NvBlob b = {};
                r = get_one(p, i, &b, reterr);
                if (r < 0)
                        break;
                if (!s && !(s = nv_snapshot_new(nv_blob_format(b.data, b.len))))
                        r = nv_error_set(reterr, -ENOMEM, _("Out of memory."));
                if (r >= 0)
                        r = nv_snapshot_add(s, nv_vmm_proc_vcpu(p, i)->id, &b, reterr);
                nv_blob_clear(&b);
        }
        if (r < 0)
                return r;
        r = nv_host_probe(NULL, NULL, &host, reterr);
        if (r < 0)
                return r;
        nv_snapshot_stamp(s, &host);
        s->cap_nested_state = (uint32_t) nv_vmm_proc_nested_max(p);
        *ret = TAKE_PTR(s);
        return 0;
}

/* What the target vCPU tells the validator: its sregs, events and CPUID, read inside the VMM. */
static int vcpu_context(NvVmmProc *p, unsigned i, int vendor, NvValidateContext *ctx, NvError **reterr) {
        const NvVmmProcVcpu *v = nv_vmm_proc_vcpu(p, i);
        size_t cpuid_len = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
        _cleanup_free_ struct kvm_cpuid2 *cpuid = calloc(1, cpuid_len);
        struct kvm_sregs sregs;
        struct kvm_vcpu_events ev;
        int r;

        if (!cpuid)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        r = nv_vmm_proc_ioctl(p, v->fd, KVM_GET_SREGS, &sregs, sizeof sregs, reterr);
        if (r >= 0)
                r = nv_vmm_proc_ioctl(p, v->fd, KVM_GET_VCPU_EVENTS, &ev, sizeof ev, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Reading vCPU %u's state"), v->id);
        nv_validate_context_init(ctx);
        nv_validate_context_from_state(ctx, vendor, &sregs, &ev);
        cpuid->nent = CPUID_MAX_ENTRIES;
        /* A VMM that never set a CPUID leaves it empty (E2BIG/ENOENT... ): the bits stay unknown. */
        if (nv_vmm_proc_ioctl(p, v->fd, KVM_GET_CPUID2, cpuid, cpuid_len, NULL) >= 0 && cpuid->nent <= CPUID_MAX_ENTRIES)
                nv_validate_context_from_cpuid(ctx, cpuid);
        return 0;
}

static int check_snapshot(NvVmmProc *p, const NvSnapshot *s, NvError **reterr) {
        NvHostInfo host;
        int r = nv_host_probe(NULL, NULL, &host, reterr);

        if (r < 0)
                return r;
        if (host.cpu_vendor >= 0 && s->vendor != host.cpu_vendor)
                return nv_error_set(reterr, -EINVAL, _("The snapshot holds %s state but this host's CPU does %s."),
                                    nv_format_to_string(s->vendor), nv_format_to_string(host.cpu_vendor));
        if (s->n_vcpus != nv_vmm_proc_n_vcpus(p))
                return nv_error_set(reterr, -EINVAL, _("The snapshot has %zu vCPUs but the VMM has %u."), s->n_vcpus,
                                    nv_vmm_proc_n_vcpus(p));
        for (unsigned i = 0; i < nv_vmm_proc_n_vcpus(p); i++) {
                NvValidateContext ctx;
                if (s->vcpus[i].index != nv_vmm_proc_vcpu(p, i)->id)
                        return nv_error_set(reterr, -EINVAL, _("The snapshot's vCPU %u has no vCPU of that id in the VMM."),
                                            s->vcpus[i].index);
                r = vcpu_context(p, i, s->vendor, &ctx, reterr);
                if (r >= 0)
                        r = nv_validate_blob(s->vcpus[i].blob.data, s->vcpus[i].blob.len, &ctx, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("vCPU %u"), s->vcpus[i].index);
        }
        return 0;
}

static int set_one(NvVmmProc *p, unsigned i, const NvBlob *b, NvError **reterr) {
        const NvVmmProcVcpu *v = nv_vmm_proc_vcpu(p, i);
        _cleanup_free_ uint8_t *copy = malloc(b->len);
        int r;

        if (!copy)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        memcpy(copy, b->data, b->len);
        r = nv_vmm_proc_ioctl(p, v->fd, KVM_SET_NESTED_STATE, copy, b->len, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, _("KVM_SET_NESTED_STATE of vCPU %u"), v->id) : 0;
}

/*
 * After a SET failed: the n_set vCPUs loaded before it get what they held
 * back, and the error says so, or says loudly that one could not be.
 */
static int roll_back(NvVmmProc *p, unsigned n_set, const NvBlob *before, int r, NvError **reterr) {
        _cleanup_free_ char *why = NULL;
        unsigned failed = 0;

        for (unsigned j = 0; j < n_set; j++)
                if (set_one(p, j, &before[j], NULL) < 0)
                        failed++;
        if (n_set == 0 || !reterr || !(why = strdup(nv_error_message(*reterr, r))))
                return r;
        nv_error_clear(reterr);
        if (failed)
                return nv_error_set(reterr, r,
                                    _("%s; %u of the %u vCPUs loaded before it could not be set back to what they held: the "
                                      "VMM's nested state is mixed now, do not resume it"),
                                    why, failed, n_set);
        return nv_error_set(reterr, r,
                            dngettext(GETTEXT_PACKAGE, "%s; the %u vCPU loaded before it was set back to what it held",
                                      "%s; the %u vCPUs loaded before it were set back to what they held", n_set),
                            why, n_set);
}

int nv_vmm_proc_load(NvVmmProc *p, const NvSnapshot *s, NvError **reterr) {
        unsigned n = nv_vmm_proc_n_vcpus(p), i;
        _cleanup_free_ NvBlob *before = calloc(n ? n : 1, sizeof *before);
        int r = need_nested(p, reterr);

        if (!before)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        if (r >= 0)
                r = check_snapshot(p, s, reterr);
        for (i = 0; r >= 0 && i < n; i++)
                r = get_one(p, i, &before[i], reterr);
        for (i = 0; r >= 0 && i < n; i++) {
                r = set_one(p, i, &s->vcpus[i].blob, reterr);
                if (r < 0)
                        r = roll_back(p, i, before, r, reterr);
        }
        for (i = 0; i < n; i++)
                nv_blob_clear(&before[i]);
        return r;
}
