/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restore flow: every check happens before the VMM is touched (file,
 * hash against the reference, integrity, vendor, vCPU count, every blob),
 * so a refusal leaves the VMM exactly as it was.  Then freeze, load, thaw;
 * the VMM's agent validates again against the real vCPUs, all or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-private.h"
#include "fileio.h"

/* What the restore will load, or why it cannot. */
typedef struct Plan {
        const char *path;
        char *abs;    /* --file made absolute */
        uint8_t *img;
        size_t len;
        NvSnapshot *snap;
        int problem;  /* 0, or NV_PROBLEM_*: which policy decides */
} Plan;

enum { NV_PROBLEM_MISSING = 1, NV_PROBLEM_INCOMPATIBLE };

static void plan_clear(Plan *p) {
        free(p->abs);
        free(p->img);
        nv_snapshot_free(p->snap);
}

/* The file, and its hash when it is the one the XML references. */
static int read_state(const NvNestedMeta *m, const char *file, Plan *p, NvError **reterr) {
        char sha[65];
        int r;

        p->path = file ? (p->abs = realpath(file, NULL)) : (m->has_state ? m->state.path : NULL);
        if (file && !p->path) {
                p->problem = errno == ENOENT ? NV_PROBLEM_MISSING : 0;
                return nv_error_set(reterr, -errno, _("Cannot read '%s': %s"), file, strerror(errno));
        }
        if (!p->path) {
                p->problem = NV_PROBLEM_MISSING;
                return nv_error_set(reterr, -ENOENT, _("The domain's XML references no saved nested state."));
        }
        r = nv_file_read(p->path, NV_SNAPSHOT_MAX_SIZE, &p->img, &p->len, reterr);
        if (r == -ENOENT)
                p->problem = NV_PROBLEM_MISSING;
        if (r < 0)
                return r;
        if (m->has_state && strcmp(p->path, m->state.path) == 0) {
                nv_snapshot_sha256_hex(p->img, p->len, sha);
                if (strcmp(sha, m->state.sha256) != 0)
                        return nv_error_set(reterr, -EBADMSG,
                                            _("%s has SHA-256 %s, but the domain's XML recorded %s: the file changed since it was saved."),
                                            p->path, sha, m->state.sha256);
        }
        r = nv_snapshot_parse(p->img, p->len, &p->snap, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, "%s", p->path) : 0;
}

/* Does this VMM take this snapshot?  Vendor and vCPU count; every blob by the kernel's rules. */
static int check_fit(NvDriver *d, NvVmmHandle *h, Plan *p, unsigned *ret_guest, NvError **reterr) {
        const NvSnapshot *s = p->snap;
        int r;

        p->problem = NV_PROBLEM_INCOMPATIBLE;
        if (s->vendor != d->vmm->vendor(h))
                return nv_error_set(reterr, -EXDEV, _("%s holds %s state but the VMM's vCPUs are %s."), p->path,
                                    nv_format_to_string(s->vendor), nv_format_to_string(d->vmm->vendor(h)) ?: "?");
        if (s->n_vcpus != d->vmm->vcpu_count(h))
                return nv_error_set(reterr, -EXDEV, _("%s holds %zu vCPUs but the VMM has %u."), p->path, s->n_vcpus,
                                    d->vmm->vcpu_count(h));
        p->problem = 0; /* an invalid blob is damage, not incompatibility: no policy lets it through */
        r = nv_driver_check_blobs(s, ret_guest, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, "%s", p->path) : 0;
}

/* Freeze + thaw: a restoring VMM waits paused until told to run. */
static int run_without_state(NvDriver *d, NvVmmHandle *h, NvError **reterr) {
        uint64_t token;
        int r = d->vmm->freeze(h, false, &token, reterr);

        return r < 0 ? r : nv_vmm_thaw_after(d->vmm, h, token, 0, reterr);
}

/* The policy's answer to a problem: 1 go on without nested state, else the refusal. */
static int apply_policy(const NvNestedMeta *m, int problem, int r, NvError **err) {
        int policy = problem == NV_PROBLEM_MISSING ? m->on_missing : problem == NV_PROBLEM_INCOMPATIBLE ? m->on_incompatible : -1;

        if (policy == NV_ON_PROBLEM_CONTINUE)
                return 1;
        if (problem)
                return nv_error_wrap(err, r, _("Restore refused (policy %s=fail; the VMM was not touched)"),
                                     problem == NV_PROBLEM_MISSING ? "onMissing" : "onIncompatible");
        return nv_error_wrap(err, r, _("Restore refused (the VMM was not touched)"));
}

static int load(NvDriver *d, NvVmmHandle *h, Plan *p, NvRestoreResult *res, NvError **reterr) {
        uint64_t start = nv_now_usec(CLOCK_MONOTONIC);
        int r = nv_vmm_load(d->vmm, h, p->img, p->len, reterr);

        res->frozen_usec = nv_now_usec(CLOCK_MONOTONIC) - start;
        if (r < 0)
                return r;
        res->loaded = true;
        res->vcpus = (unsigned) p->snap->n_vcpus;
        return (res->path = strdup(p->path)) ? 0 : -ENOMEM;
}

int nv_driver_restore(NvDriver *d, const char *domain, const NvRestoreOptions *o, NvRestoreResult *ret, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        _cleanup_(nv_error_freep) NvError *why = NULL;
        _cleanup_(plan_clear) Plan p = {};
        NvRestoreResult res = {};
        NvVmmHandle *h = NULL;
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &h, reterr);
        if (r >= 0 && o->incoming_only && d->vmm->incoming(h) == 0)
                r = nv_error_set(reterr, -ESTALE,
                                 _("The VMM of domain '%s' booted the VM afresh instead of resuming it: its old nested state "
                                   "is not loaded into a new VM."),
                                 e.def->name);
        if (r < 0) {
                d->vmm->disconnect(h);
                return r;
        }
        r = read_state(e.def->meta, o->file, &p, &why);
        if (r >= 0)
                r = check_fit(d, h, &p, &res.guest_mode_vcpus, &why);
        if (r < 0)
                r = apply_policy(e.def->meta, p.problem, r, &why);
        if (r == 0)
                r = load(d, h, &p, &res, reterr);
        else if (r > 0) {
                res.skipped_why = strdup(nv_error_message(why, -EIO));
                r = run_without_state(d, h, reterr);
        } else
                nv_error_set(reterr, r, "%s", nv_error_message(why, r));
        d->vmm->disconnect(h);
        if (r < 0) {
                nv_restore_result_clear(&res);
                return nv_error_wrap(reterr, r, _("Domain '%s'"), e.def->name);
        }
        *ret = res;
        return 0;
}
