/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the driver's flow files share; not installed, not for callers. */
#pragma once

#include <sys/types.h>
#include <time.h>

#include "driver.h"
#include "snapshot.h"
#include "util.h" /* nv_now_usec() */

struct NvDriver {
        NvConn *conn;
        NvHostInfo host;
        const NvVmmBackend *vmm;
        NvVmmLookupFunc vmm_lookup;
        void *vmm_lookup_userdata;
        char *state_dir;
        char *runtime_dir;
};

/* A VMM handle with the backend that made it, so that one cleanup drops it. */
typedef struct NvVmm {
        const NvVmmBackend *b;
        NvVmmHandle *h;
} NvVmm;

static inline void nv_vmm_clear(NvVmm *v) {
        if (v->h)
                v->b->disconnect(v->h);
        v->h = NULL;
}

/* A running domain that has our metadata; else -ENOENT / -ESRCH naming it. */
int nv_driver_get_nested_domain(NvDriver *d, const char *name, NvDomainEntry *ret, NvError **reterr);
/* The backend the domain's metadata names: the process backend for transport process, else the driver's. */
const NvVmmBackend *nv_driver_backend(const NvDriver *d, const NvNestedMeta *meta);
/* The domain's VMM through that backend, refused unless its VmUuid (where the backend has one) is the domain's UUID. */
int nv_driver_connect_vmm(NvDriver *d, const NvDomainDef *def, NvVmm *ret, NvError **reterr);
/*
 * The prologue of every flow on a running domain: the domain with our
 * metadata, its lock, its VMM.  On failure the caller's cleanups release
 * what was taken (e and lock are cleanup-managed there).
 */
int nv_driver_begin(NvDriver *d, const char *domain, NvDomainEntry *e, NvDomainLock **lock, NvVmm *vmm, NvError **reterr);
int nv_driver_begin_listed(NvDriver *d, const NvDomainRef *ref, NvDomainEntry *e, NvDomainLock **lock, NvVmm *vmm,
                           NvError **reterr);
/* Every blob against the kernel's rules, with target's measured facts (NULL: none); counts the vCPUs in guest mode. */
int nv_driver_check_blobs(const NvSnapshot *s, const NvHostInfo *target, unsigned *ret_guest_mode, NvError **reterr);
/* A new snapshot file name below STATE_DIR/DOMAIN (created 0700). */
int nv_state_file_path(const char *state_dir, const char *domain, uint64_t now, char **ret, NvError **reterr);
/* now (CLOCK_REALTIME usec) as a reference's time attribute. */
void nv_state_ref_time(uint64_t now, char ret[32]);

/* Which of the domain's policies decides a problem with incoming state. */
typedef enum NvProblem {
        NV_PROBLEM_NONE,         /* damage (or nothing wrong): no policy lets it through */
        NV_PROBLEM_MISSING,      /* no state, or its file is gone: onMissing */
        NV_PROBLEM_INCOMPATIBLE, /* another vendor or vCPU count than the target's: onIncompatible */
} NvProblem;

/* What incoming state must match. */
typedef struct NvVerify {
        const NvStateRef *ref; /* the XML's reference to these bytes: hash and vCPU count; NULL: none to compare */
        int vendor;            /* the target's vendor (NV_FORMAT_*); -1: any */
        bool vendor_of_host;   /* the target is this host (the hook), not a VMM */
        unsigned vcpus;        /* the VMM's vCPU count; 0: any */
        const char *what;      /* the file, for messages; NULL: inline or collected state */
        const NvHostInfo *target; /* the host it lands on, its measured facts for the validator; NULL: unknown */
        bool kernel_check;     /* the state lands on this host: ask its kernel first, on scratch vCPUs */
} NvVerify;

typedef struct NvIncoming {
        uint8_t *img; /* owned when nv_incoming_read() read it */
        size_t len;
        NvSnapshot *snap;
        unsigned guest_mode_vcpus;
        NvProblem problem; /* set on failure */
        const char *kernel_unchecked; /* why the kernel was not asked (untranslated, N_()); NULL: it accepted every blob */
} NvIncoming;

void nv_incoming_clear(NvIncoming *in);
/*
 * Hash, parse, vCPU count, every blob by the validator, vendor, then (with
 * kernel_check) every blob by this host's kernel on a scratch vCPU set up
 * like the target vCPU, in that order; in->snap is the parsed snapshot.
 * A refusal of the kernel's that the validator did not foresee is a
 * "validator gap", with the kernel's errno.  Where this host has no kernel
 * KVM that saves nested state of the snapshot's vendor (the simulator, a
 * host without nested), in->kernel_unchecked says the kernel was not asked.
 */
int nv_incoming_verify(const NvVerify *v, const uint8_t *img, size_t len, NvIncoming *in, NvError **reterr);
/* Reads path (no symlinks) into in->img, then verifies; a file that is not there is NV_PROBLEM_MISSING. */
int nv_incoming_read(const NvVerify *v, const char *path, NvIncoming *in, NvError **reterr);
/* The domain's onMissing / onIncompatible policy: true to go on without nested state. */
bool nv_policy_continues(const NvNestedMeta *m, NvProblem problem);
/* "onMissing", "onIncompatible", or NULL for damage. */
const char *nv_policy_name(NvProblem problem);

/* Where an image lands. */
typedef struct NvLanding {
        const char *path;   /* this file; NULL: a new file below dir/domain */
        const char *dir;
        const char *domain;
        const char *time;   /* the reference's time; NULL: now */
        bool staged;        /* written without fsync (nv_file_write_staged): the caller syncs dir's filesystem before m is stored;
                               a file on another filesystem is written durably instead */
} NvLanding;

/*
 * Writes img (parsed as s) durably and makes it m's current reference, the
 * old one moving to previous.  *ret_path (optional) is the file.  On
 * failure nothing was written and m is unchanged.  With l->staged the
 * file is not durable yet, and m must not reach libvirt before it is.
 */
int nv_land_image(const NvLanding *l, const uint8_t *img, size_t len, const NvSnapshot *s, NvNestedMeta *m, char **ret_path,
                  NvError **reterr);
int nv_mkdir_p(const char *path, mode_t mode, NvError **reterr);

/*
 * A save in two halves, for save-all's batches.  Staged: frozen,
 * collected, thawed, verified, the file written without fsync; the domain
 * stays locked and, with keep_frozen, its VMM frozen by our hold.  Landed,
 * once the caller made the file durable (nv_fs_sync_fd() of the state
 * directory): the domain's XML points at it.  A job abandoned instead
 * removes its file and ends a kept hold, and the domain keeps its
 * previous snapshot.  Land and abandon consume the job.
 */
typedef struct NvSaveJob NvSaveJob;
int nv_save_stage(NvDriver *d, const NvDomainRef *ref, const NvSaveOptions *o, NvSaveJob **ret, NvError **reterr);
int nv_save_land(NvSaveJob *job, NvSaveResult *ret, NvError **reterr);
/* Returns r, with a failed thaw added to *reterr. */
int nv_save_abandon(NvSaveJob *job, int r, NvError **reterr);

/* cleanup.c: under the domain's lock, temporary files and snapshots nothing references in STATE_DIR/DOMAIN. */
void nv_sweep_state_dir(NvDriver *d, const NvDomainEntry *e);
/* The hook notes the file it landed for a domain; a restore that loads it forgets the note. */
int nv_landed_note(const char *runtime_dir, const char *uuid, const char *path, NvError **reterr);
void nv_landed_forget(const char *runtime_dir, const char *uuid);
/* A landed file nothing loaded, removed with its note (the hook's release, or its prepare refusal). */
void nv_landed_remove(const char *runtime_dir, const char *state_dir, const NvDomainDef *def);

/*
 * hook-qemu.c, on `restore begin`: QEMU's nested state in the domain's
 * managed-save image, refused if this host cannot load it (naming vCPU,
 * rule and field); no image, no nested state or an unreadable image is
 * let through (with a line in libvirt's log for the last two).
 */
int nv_hook_guard_qemu_image(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr);

static inline void nv_domain_entry_clear(NvDomainEntry *e) {
        e->def = nv_domain_def_free(e->def);
}
