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
        uint64_t now = nv_now_usec(CLOCK_REALTIME);
        NvStateRef ref = { .vendor = s->vendor, .vcpus = (unsigned) s->n_vcpus };
        _cleanup_free_ char *path = NULL;
        int r;

        nv_snapshot_sha256_hex(img, len, ref.sha256);
        nv_state_ref_time(now, ref.time);
        if (!o->shared_dir && len <= max && max <= NV_META_MAX_INLINE) {
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
        r = nv_state_file_path(o->shared_dir, def->name, now, &path, reterr);
        if (r >= 0)
                r = nv_file_write_atomic(path, img, len, reterr);
        ref.path = path;
        return r < 0 ? r : nv_nested_meta_push_state(def->meta, &ref);
}

typedef struct BeginCall {
        NvDriver *d;
        const NvMigrateOptions *o;
        const NvDomainDef *def;
        char **ret_xml;
} BeginCall;

/* Collected, checked, described, and the migratable XML built around it. */
static int build_xml(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        BeginCall *c = userdata;
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ char *xml = NULL;
        int r;

        r = nv_snapshot_parse(img, len, &s, reterr);
        if (r >= 0)
                r = nv_driver_check_blobs(s, NULL, reterr);
        if (r >= 0)
                r = describe(c->o, c->def, img, len, s, reterr);
        if (r >= 0)
                r = nv_conn_get_xml(c->d->conn, c->def->name, /* migratable= */ true, &xml, reterr);
        if (r >= 0)
                r = nv_domain_xml_set_meta(xml, strlen(xml), c->def->meta, c->ret_xml, reterr);
        return r;
}

int nv_driver_migrate_begin(NvDriver *d, const char *domain, const NvMigrateOptions *o, char **ret_xml, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        NvVmmHandle *h = NULL;
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &h, reterr);
        if (r >= 0 && o->dest) {
                NvMigrateCheck check;

                nv_migrate_check(e.def, &d->host, o->dest, &check);
                r = nv_migrate_check_error(e.def, &check, reterr);
        }
        if (r < 0) {
                d->vmm->disconnect(h);
                return r;
        }
        /* Kept frozen: the source is about to stop.  A failed begin thaws it and changes nothing. */
        r = nv_vmm_collect_with(d->vmm, h, /* keep= */ true, build_xml,
                                &(BeginCall) { .d = d, .o = o, .def = e.def, .ret_xml = ret_xml }, NULL, reterr);
        d->vmm->disconnect(h);
        return r < 0 ? nv_error_wrap(reterr, r, _("Migration of domain '%s' cannot begin"), e.def->name) : 0;
}
