/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Migration rides libvirt's own: the source puts the nested state into the
 * migratable XML (inline, or a reference to shared storage), libvirt
 * carries that XML to the destination, whose hook verifies and lands the
 * state before the VMM starts, and restore loads it once the VMM runs.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "driver-private.h"
#include "fileio.h"

/* The collected image, described in meta: inline, or written to shared_dir and referenced. */
static int describe(const NvMigrateOptions *o, const NvDomainDef *def, const uint8_t *img, size_t len, const NvSnapshot *s,
                    NvError **reterr) {
        size_t max = o->inline_max ?: NV_META_MAX_INLINE;
        NvStateRef ref = { .vendor = s->vendor, .vcpus = (unsigned) s->n_vcpus };

        if (!o->shared_dir && len <= max && max <= NV_META_MAX_INLINE) {
                nv_snapshot_sha256_hex(img, len, ref.sha256);
                nv_state_ref_time(nv_now_usec(CLOCK_REALTIME), ref.time);
                /*
                 * The source's own snapshot files mean nothing on the destination:
                 * keep them out of its XML, or a refused inline copy would leave it
                 * pointing at this host's paths.
                 */
                nv_nested_meta_forget_states(def->meta);
                def->meta->has_inline = true;
                def->meta->inline_ref = ref;
                return nv_base64_encode(img, len, &def->meta->inline_data);
        }
        if (!o->shared_dir)
                return nv_error_set(reterr, -E2BIG,
                                    _("The nested state of domain '%s' is %zu bytes, more than %zu can travel inline; "
                                      "give a directory on shared storage."),
                                    def->name, len, max);
        return nv_land_image(&(NvLanding) { .dir = o->shared_dir, .domain = def->name }, img, len, s, def->meta, NULL, reterr);
}

typedef struct BeginCall {
        NvDriver *d;
        const NvMigrateOptions *o;
        const NvDomainDef *def;
        const NvVmm *vmm;
        char **ret_xml;
} BeginCall;

/* Collected, checked, described, and the migratable XML built around it. */
static int build_xml(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        BeginCall *c = userdata;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        _cleanup_free_ char *xml = NULL;
        int r;

        /* The destination's measured facts judge it; its kernel is asked by its hook when the state arrives. */
        r = nv_incoming_verify(&(NvVerify) { .vendor = c->vmm->b->vendor(c->vmm->h), .vcpus = c->vmm->b->vcpu_count(c->vmm->h),
                                             .target = c->o->dest },
                               img, len, &in, reterr);
        if (r >= 0)
                r = describe(c->o, c->def, img, len, in.snap, reterr);
        if (r >= 0)
                r = nv_conn_get_xml(c->d->conn, c->def->name, /* migratable= */ true, &xml, reterr);
        if (r >= 0)
                r = nv_domain_xml_set_meta(xml, strlen(xml), c->def->meta, c->ret_xml, reterr);
        return r;
}

int nv_driver_migrate_begin(NvDriver *d, const char *domain, const NvMigrateOptions *o, char **ret_xml, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        _cleanup_(nv_vmm_clear) NvVmm vmm = {};
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &vmm, reterr);
        if (r >= 0 && o->dest) {
                NvMigrateCheck check;

                nv_migrate_check(e.def, &d->host, o->dest, &check);
                r = nv_migrate_check_error(e.def, &check, reterr);
        }
        if (r < 0)
                return r;
        /* Kept frozen: the source is about to stop.  A failed begin thaws it and changes nothing. */
        r = nv_vmm_collect_with(vmm.b, vmm.h, /* keep= */ true, build_xml,
                                &(BeginCall) { .d = d, .o = o, .def = e.def, .vmm = &vmm, .ret_xml = ret_xml }, NULL, NULL, NULL, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, _("Migration of domain '%s' cannot begin"), e.def->name) : 0;
}
