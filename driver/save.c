/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The save flow: freeze, collect into memory, thaw; then parse and
 * validate, write durably, point the domain's XML at the new file.
 * save-all splits it after the write (NvSaveJob): its files are written
 * without fsync, made durable together, and only then referenced.  The
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

struct NvSaveJob {
        NvDriver *d;
        const NvDomainRef *ref; /* save-all: the domain as listed (its handle), the caller's */
        NvDomainEntry e;
        NvDomainLock *lock;
        NvVmm vmm;
        const char *file;
        bool staged_only; /* save-all: the file left for the caller's sync, landed by the caller */
        bool kept;        /* our kept freeze still holds: abandoning ends it */
        uint64_t token;
        char *path;       /* written, not referenced yet */
        char *dropped;    /* the reference the landing pushes out of the history */
        NvSaveResult res;
};

static void job_free(NvSaveJob *job) {
        nv_domain_entry_clear(&job->e);
        nv_domain_unlockp(&job->lock);
        nv_vmm_clear(&job->vmm);
        free(job->path);
        free(job->dropped);
        nv_save_result_clear(&job->res);
        free(job);
}

/*
 * The VMM's image: parsed and verified (once: the one parse of this save),
 * against the VMM's own vCPU count and vendor too; written (durably unless
 * staged only) and made the reference in the domain's metadata in memory,
 * with the file's one SHA-256.  libvirt does not see it yet.
 */
static int stage_image(NvSaveJob *job, const uint8_t *img, size_t len, NvError **reterr) {
        const NvVmm *vmm = &job->vmm;
        NvNestedMeta *m = job->e.def->meta;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        _cleanup_free_ char *resolved = NULL;
        int r;

        r = nv_incoming_verify(&(NvVerify) { .vendor = vmm->b->vendor(vmm->h), .vcpus = vmm->b->vcpu_count(vmm->h) }, img, len, &in,
                               reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("The VMM of domain '%s' returned state that cannot be saved"), job->e.def->name);
        if (job->file && (r = resolve_path(job->e.def, job->file, &resolved, reterr)) < 0)
                return r;
        if (m->n_previous == NV_META_MAX_PREVIOUS && !(job->dropped = strdup(m->previous[NV_META_MAX_PREVIOUS - 1].path)))
                return -ENOMEM;
        r = nv_land_image(&(NvLanding) { .path = resolved, .dir = job->d->state_dir, .domain = job->e.def->name,
                                         .staged = job->staged_only },
                          img, len, in.snap, m, &job->path, reterr);
        if (r < 0)
                return r;
        job->res.guest_mode_vcpus = in.guest_mode_vcpus;
        job->res.bytes = len;
        return 0;
}

/*
 * The reference written to libvirt, live and config if the domain has one
 * as libvirt writes it; a failure removes the file nothing references.
 */
static int land(NvSaveJob *job, NvError **reterr) {
        unsigned affect = NV_AFFECT_LIVE | NV_AFFECT_CONFIG_IF_PERSISTENT;
        int r = job->ref ? nv_conn_set_listed_meta(job->d->conn, job->ref, job->e.def->meta, affect, reterr)
                         : nv_conn_set_meta(job->d->conn, job->e.def->name, job->e.def->meta, affect, reterr);

        if (r < 0) {
                (void) unlink(job->path); /* the previous snapshot is still the domain's */
                free(job->path);
                job->path = NULL;
                return r;
        }
        prune(job->d, job->e.def, job->dropped);
        job->res.ref = job->e.def->meta->state;
        job->res.ref.path = TAKE_PTR(job->path);
        return 0;
}

/* Run on the collected image: after the thaw, or still frozen with --keep-frozen. */
static int stage_collected(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        NvSaveJob *job = userdata;
        int r = stage_image(job, img, len, reterr);

        return r < 0 || job->staged_only ? r : land(job, reterr);
}

/*
 * Collected while frozen, stored after the thaw: what the XML points at is
 * the state of the freeze's instant.  The domain by name (domain) or as
 * save-all listed it (ref); staged only for save-all.
 */
static int save_begin(NvDriver *d, const char *domain, const NvDomainRef *ref, const NvSaveOptions *o, NvSaveJob **ret,
                      NvError **reterr) {
        NvSaveJob *job = calloc(1, sizeof(*job));
        int r;

        if (!job)
                return -ENOMEM;
        *job = (NvSaveJob) { .d = d, .ref = ref, .file = o->file, .staged_only = ref != NULL };
        r = ref ? nv_driver_begin_listed(d, ref, &job->e, &job->lock, &job->vmm, reterr)
                : nv_driver_begin(d, domain, &job->e, &job->lock, &job->vmm, reterr);
        if (r >= 0) {
                nv_sweep_state_dir(d, &job->e); /* what a killed save of this domain left */
                nv_snapshot_prepare();          /* OpenSSL's first-use start-up, not on the way to the reference */
                r = nv_vmm_collect_with(job->vmm.b, job->vmm.h, o->keep_frozen, stage_collected, job, &job->res.frozen_usec,
                                        &job->res.found_frozen, &job->token, reterr);
        }
        if (r < 0) {
                job_free(job); /* nothing written is left: a failed step removed its file */
                return r;
        }
        job->kept = o->keep_frozen;
        if (o->keep_frozen || job->res.found_frozen)
                job->res.frozen_usec = 0; /* still frozen: there is no duration yet */
        /* A ptrace freeze ends with this process; a kept one was granted only because the VMM paused itself. */
        job->res.own_pause = o->keep_frozen && job->vmm.b == &nv_vmm_backend_process;
        *ret = job;
        return 0;
}

int nv_save_stage(NvDriver *d, const NvDomainRef *ref, const NvSaveOptions *o, NvSaveJob **ret, NvError **reterr) {
        return save_begin(d, NULL, ref, o, ret, reterr);
}

int nv_save_abandon(NvSaveJob *job, int r, NvError **reterr) {
        if (job->path)
                (void) unlink(job->path); /* never referenced: the previous snapshot is still the domain's */
        if (job->kept)
                r = nv_vmm_thaw_after(job->vmm.b, job->vmm.h, job->token, r, reterr);
        job_free(job);
        return r;
}

int nv_save_land(NvSaveJob *job, NvSaveResult *ret, NvError **reterr) {
        int r = land(job, reterr);

        if (r < 0)
                return nv_save_abandon(job, r, reterr);
        *ret = job->res;
        job->res = (NvSaveResult) {};
        job_free(job);
        return 0;
}

int nv_driver_save(NvDriver *d, const char *domain, const NvSaveOptions *o, NvSaveResult *ret, NvError **reterr) {
        NvSaveJob *job = NULL;
        int r = save_begin(d, domain, NULL, o, &job, reterr);

        if (r < 0)
                return r;
        *ret = job->res; /* landed in the flow, durably */
        job->res = (NvSaveResult) {};
        job_free(job);
        return 0;
}
