/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The save flow: freeze, collect into memory, thaw; then parse and
 * validate, write durably, point the domain's XML at the new file.  The
 * freeze holds the collect alone (what the VMM pays for, docs/performance.md);
 * the image is still the state of the freeze's instant.  The order is what
 * keeps a failure harmless: until the metadata is updated the domain still
 * references the previous snapshot, which is never touched.  With
 * --keep-frozen the VMM stays frozen for its own save, so the same steps
 * run before the flow ends, and a failure thaws it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/*
 * --file made absolute: its directory canonical, so that references
 * compare, and its last component as given.  realpath() of the whole path
 * would follow a symlink there and write to its target; a symlink is
 * refused instead (nv_file_write_atomic checks again, and its rename
 * replaces a name, never a link's target).
 */
static int resolve_path(const NvDomainDef *def, const char *file, char **ret, NvError **reterr) {
        _cleanup_free_ char *copy = strdup(file), *dir = NULL;
        const char *base;
        char *slash;
        struct stat st;

        if (!copy)
                return -ENOMEM;
        slash = strrchr(copy, '/');
        base = slash ? slash + 1 : copy;
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return nv_error_set(reterr, -EISDIR, _("Cannot use '%s': %s"), file, strerror(EISDIR));
        if (slash && slash != copy)
                *slash = '\0';
        dir = realpath(!slash ? "." : slash == copy ? "/" : copy, NULL);
        if (!dir)
                return nv_error_set(reterr, -errno, _("Cannot use '%s': %s"), file, strerror(errno));
        if (asprintf(ret, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, base) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        if (lstat(*ret, &st) == 0 && S_ISLNK(st.st_mode))
                return nv_error_set(reterr, -ELOOP, _("'%s' is a symbolic link; refusing to write through it."), file);
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

/*
 * The VMM's image: parsed and verified (once: the one parse of this save),
 * against the VMM's own vCPU count and vendor too; landed (written and
 * referenced, the file's one SHA-256); the reference written to libvirt
 * live and (if persistent) config.
 */
static int store(NvDriver *d, const NvDomainEntry *e, const NvVmm *vmm, const char *file, const uint8_t *img, size_t len,
                 NvSaveResult *res, NvError **reterr) {
        NvNestedMeta *m = e->def->meta;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        _cleanup_free_ char *resolved = NULL, *path = NULL, *dropped = NULL;
        unsigned affect = NV_AFFECT_LIVE | (e->persistent ? NV_AFFECT_CONFIG : 0);
        int r;

        r = nv_incoming_verify(&(NvVerify) { .vendor = vmm->b->vendor(vmm->h), .vcpus = vmm->b->vcpu_count(vmm->h) }, img, len, &in,
                               reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("The VMM of domain '%s' returned state that cannot be saved"), e->def->name);
        if (file && (r = resolve_path(e->def, file, &resolved, reterr)) < 0)
                return r;
        if (m->n_previous == NV_META_MAX_PREVIOUS && !(dropped = strdup(m->previous[NV_META_MAX_PREVIOUS - 1].path)))
                return -ENOMEM;
        r = nv_land_image(&(NvLanding) { .path = resolved, .dir = d->state_dir, .domain = e->def->name }, img, len, in.snap, m,
                          &path, reterr);
        if (r >= 0)
                r = nv_conn_set_meta(d->conn, e->def->name, m, affect, reterr);
        if (r < 0) {
                if (path)
                        (void) unlink(path); /* nothing references it: the previous snapshot is still the domain's */
                return r;
        }
        prune(d, e->def, dropped);
        res->guest_mode_vcpus = in.guest_mode_vcpus;
        res->ref = m->state;
        res->ref.path = TAKE_PTR(path);
        res->bytes = len;
        return 0;
}

typedef struct SaveCall {
        NvDriver *d;
        const NvDomainEntry *e;
        const NvVmm *vmm;
        const char *file;
        NvSaveResult *res;
} SaveCall;

static int store_collected(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        SaveCall *c = userdata;

        return store(c->d, c->e, c->vmm, c->file, img, len, c->res, reterr);
}

int nv_driver_save(NvDriver *d, const char *domain, const NvSaveOptions *o, NvSaveResult *ret, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        _cleanup_(nv_vmm_clear) NvVmm vmm = {};
        _cleanup_(nv_save_result_clear) NvSaveResult res = {};
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &vmm, reterr);
        if (r < 0)
                return r;
        nv_sweep_state_dir(d, &e); /* what a killed save of this domain left */
        nv_snapshot_prepare(); /* OpenSSL's first-use start-up, not on the way to the reference */
        /* Collected while frozen, stored after the thaw: what the XML points at is the state of the freeze's instant. */
        r = nv_vmm_collect_with(vmm.b, vmm.h, o->keep_frozen, store_collected,
                                &(SaveCall) { .d = d, .e = &e, .vmm = &vmm, .file = o->file, .res = &res }, &res.frozen_usec,
                                &res.found_frozen, reterr);
        if (r < 0)
                return r;
        if (o->keep_frozen || res.found_frozen)
                res.frozen_usec = 0; /* still frozen: there is no duration yet */
        /* A ptrace freeze ends with this process; a kept one was granted only because the VMM paused itself. */
        res.own_pause = o->keep_frozen && vmm.b == &nv_vmm_backend_process;
        *ret = res;
        res = (NvSaveResult) {};
        return 0;
}
