/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The save flow: freeze, collect, validate, write durably, point the
 * domain's XML at the new file, thaw.  The order is what keeps a failure
 * harmless: until the metadata is updated the domain still references the
 * previous snapshot, which is never touched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver-private.h"
#include "fileio.h"

/* An explicit --file must not replace a snapshot the domain still references. */
static int check_not_referenced(const NvNestedMeta *m, const char *path, NvError **reterr) {
        bool hit = m->has_state && strcmp(m->state.path, path) == 0;

        for (size_t i = 0; i < m->n_previous; i++)
                hit = hit || strcmp(m->previous[i].path, path) == 0;
        if (hit)
                return nv_error_set(reterr, -EEXIST,
                                    _("'%s' is a snapshot the domain's XML references; save to another file."), path);
        return 0;
}

static int resolve_path(NvDriver *d, const NvDomainDef *def, const char *file, uint64_t now, char **ret, NvError **reterr) {
        if (!file)
                return nv_state_file_path(d->state_dir, def->name, now, ret, reterr);
        *ret = realpath(file, NULL); /* an existing file: canonical, so references compare */
        if (!*ret && errno == ENOENT) {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                if (file[0] == '/')
                        *ret = strdup(file);
                else if (cwd && asprintf(ret, "%s/%s", cwd, file) < 0)
                        *ret = NULL;
        }
        if (!*ret)
                return nv_error_set(reterr, -errno ?: -ENOMEM, _("Cannot use '%s': %s"), file, strerror(errno ?: ENOMEM));
        return check_not_referenced(def->meta, *ret, reterr);
}

/* Files that fell off the history are ours to delete only if we named them. */
static void prune(NvDriver *d, const NvDomainDef *def, const char *dropped) {
        _cleanup_free_ char *prefix = NULL;

        if (!dropped || asprintf(&prefix, "%s/%s/", d->state_dir, def->name) < 0)
                return;
        if (strncmp(dropped, prefix, strlen(prefix)) == 0 && !strchr(dropped + strlen(prefix), '/'))
                (void) unlink(dropped);
}

/* Points the domain at ref, live and (if persistent) in its config; the previous reference moves down. */
static int reference(NvDriver *d, const NvDomainEntry *e, const NvStateRef *ref, NvError **reterr) {
        NvNestedMeta *m = e->def->meta;
        _cleanup_free_ char *dropped = NULL;
        unsigned affect = NV_AFFECT_LIVE | (e->persistent ? NV_AFFECT_CONFIG : 0);
        int r;

        if (m->n_previous == NV_META_MAX_PREVIOUS && !(dropped = strdup(m->previous[NV_META_MAX_PREVIOUS - 1].path)))
                return -ENOMEM;
        r = nv_nested_meta_push_state(m, ref);
        if (r >= 0)
                r = nv_conn_set_meta(d->conn, e->def->name, m, affect, reterr);
        if (r < 0)
                return r;
        prune(d, e->def, dropped);
        return 0;
}

/* The VMM's image: parsed (checksums), validated, written, referenced. */
static int store(NvDriver *d, const NvDomainEntry *e, const char *file, const uint8_t *img, size_t len, NvSaveResult *res,
                 NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ char *path = NULL;
        uint64_t now = nv_now_usec(CLOCK_REALTIME);
        NvStateRef ref = {};
        int r;

        r = nv_snapshot_parse(img, len, &s, reterr);
        if (r >= 0)
                r = nv_driver_check_blobs(s, &res->guest_mode_vcpus, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("The VMM of domain '%s' returned state that cannot be saved"), e->def->name);
        r = resolve_path(d, e->def, file, now, &path, reterr);
        if (r >= 0)
                r = nv_file_write_atomic(path, img, len, reterr);
        if (r < 0)
                return r;
        ref = (NvStateRef) { .path = path, .vendor = s->vendor, .vcpus = (unsigned) s->n_vcpus };
        nv_snapshot_sha256_hex(img, len, ref.sha256);
        nv_state_ref_time(now, ref.time);
        r = reference(d, e, &ref, reterr);
        if (r < 0) {
                (void) unlink(path); /* nothing references it: the previous snapshot is still the domain's */
                return r;
        }
        res->ref = ref;
        res->ref.path = TAKE_PTR(path);
        res->bytes = len;
        return 0;
}

typedef struct SaveCall {
        NvDriver *d;
        const NvDomainEntry *e;
        const char *file;
        NvSaveResult *res;
} SaveCall;

static int store_frozen(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        SaveCall *c = userdata;

        return store(c->d, c->e, c->file, img, len, c->res, reterr);
}

int nv_driver_save(NvDriver *d, const char *domain, const NvSaveOptions *o, NvSaveResult *ret, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        NvSaveResult res = {};
        NvVmmHandle *h = NULL;
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &h, reterr);
        if (r < 0)
                return r;
        /* Written and referenced while frozen: what the XML points at is the state at this instant. */
        r = nv_vmm_collect_with(d->vmm, h, o->keep_frozen, store_frozen,
                                &(SaveCall) { .d = d, .e = &e, .file = o->file, .res = &res }, &res.frozen_usec, reterr);
        if (o->keep_frozen)
                res.frozen_usec = 0; /* still frozen: there is no duration yet */
        d->vmm->disconnect(h);
        if (r < 0) {
                nv_save_result_clear(&res);
                return r;
        }
        *ret = res;
        return 0;
}
