/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver object, its directories, and per-domain locks. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver-private.h"

struct NvDomainLock {
        int fd;
};

const char *nv_default_dir(bool runtime) {
        const char *e = getenv(runtime ? "NESTVIRT_RUNTIME_DIR" : "NESTVIRT_STATE_DIR");

        return e && *e ? e : runtime ? NV_DEFAULT_RUNTIME_DIR : NV_DEFAULT_STATE_DIR;
}

int nv_driver_new(const NvDriverConfig *config, NvDriver **ret, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        d->vmm = config->vmm;
        if (config->host)
                d->host = *config->host;
        else
                nv_host_probe("/", NULL, &d->host, NULL);
        d->state_dir = strdup(config->state_dir ?: nv_default_dir(false));
        d->runtime_dir = strdup(config->runtime_dir ?: nv_default_dir(true));
        if (!d->state_dir || !d->runtime_dir)
                return -ENOMEM;
        if (d->state_dir[0] != '/' || d->runtime_dir[0] != '/')
                return nv_error_set(reterr, -EINVAL, _("The state and runtime directories must be absolute paths ('%s', '%s')."),
                                    d->state_dir, d->runtime_dir);
        r = nv_conn_open(config->uri, NULL, NULL, &d->conn, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

NvDriver *nv_driver_free(NvDriver *d) {
        if (!d)
                return NULL;
        nv_conn_free(d->conn);
        free(d->state_dir);
        free(d->runtime_dir);
        free(d);
        return NULL;
}

NvConn *nv_driver_conn(NvDriver *d) {
        return d->conn;
}

const char *nv_driver_state_dir(const NvDriver *d) {
        return d->state_dir;
}

void nv_driver_set_vmm_lookup(NvDriver *d, NvVmmLookupFunc lookup, void *userdata) {
        d->vmm_lookup = lookup;
        d->vmm_lookup_userdata = userdata;
}

const NvHostInfo *nv_driver_host(const NvDriver *d) {
        return &d->host;
}

int nv_mkdir_p(const char *path, mode_t mode, NvError **reterr) {
        _cleanup_free_ char *p = NULL;

        /* Usually it is there already: one call, not one per component (save-all makes several per domain). */
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return nv_error_set(reterr, -errno, _("Cannot create directory '%s': %s"), path, strerror(errno));
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                bool end = *s == '\0';

                if (*s != '/' && !end)
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return nv_error_set(reterr, -errno, _("Cannot create directory '%s': %s"), p, strerror(errno));
                if (end)
                        return 0;
                *s = '/';
        }
}

/*
 * flock(), not fcntl() locks: flock locks belong to the open file, so two
 * operations in one process (nestvirtd's jobs) exclude each other just as
 * two processes do, and the lock goes away with the process.
 */
int nv_domain_lock(NvDriver *d, const char *uuid, const char *name, NvDomainLock **ret, NvError **reterr) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        NvDomainLock *l;
        int r;

        if (asprintf(&dir, "%s/locks", d->runtime_dir) < 0 || asprintf(&path, "%s/%s.lock", dir, uuid) < 0)
                return -ENOMEM;
        r = nv_mkdir_p(dir, 0700, reterr);
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot open lock file '%s': %s"), path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return nv_error_set(reterr, -EBUSY, _("Another nestvirt operation on domain '%s' is in progress."),
                                            name);
                return nv_error_set(reterr, -errno, _("Cannot lock '%s': %s"), path, strerror(errno));
        }
        l = malloc(sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fd = TAKE_FD(fd);
        *ret = l;
        return 0;
}

NvDomainLock *nv_domain_unlock(NvDomainLock *l) {
        if (l) {
                safe_close(l->fd);
                free(l);
        }
        return NULL;
}

void nv_save_result_clear(NvSaveResult *r) {
        free(r->ref.path);
        *r = (NvSaveResult) {};
}

void nv_restore_result_clear(NvRestoreResult *r) {
        free(r->path);
        free(r->skipped_why);
        *r = (NvRestoreResult) {};
}

/* e (just read) has our metadata and runs; else e is freed. */
static int nested_and_running(NvDomainEntry *e, NvError **reterr) {
        int r = 0;

        if (!e->def->meta)
                r = nv_error_set(reterr, -ENOENT,
                                 _("Domain '%s' has no <nestvirt:nested> metadata naming its VMM (see docs/domain-xml.md)."),
                                 e->def->name);
        else if (!e->active)
                r = nv_error_set(reterr, -ESRCH, _("Domain '%s' is not running: there is no VMM to talk to."), e->def->name);
        if (r < 0) {
                nv_domain_def_free(e->def);
                e->def = NULL;
        }
        return r;
}

/* A running domain with our metadata: what every flow on a VMM needs. */
int nv_driver_get_nested_domain(NvDriver *d, const char *name, NvDomainEntry *ret, NvError **reterr) {
        NvDomainEntry e = {};
        int r;

        r = nv_conn_get_domain(d->conn, name, &e, reterr);
        if (r >= 0)
                r = nested_and_running(&e, reterr);
        if (r >= 0)
                *ret = e;
        return r;
}

const NvVmmBackend *nv_driver_backend(const NvDriver *d, const NvNestedMeta *meta) {
        return meta && meta->transport == NV_VMM_TRANSPORT_PROCESS ? &nv_vmm_backend_process : d->vmm;
}

/* Connects to the domain's VMM and makes sure it is this domain's. */
int nv_driver_connect_vmm(NvDriver *d, const NvDomainDef *def, NvVmm *ret, NvError **reterr) {
        _cleanup_(nv_vmm_clear) NvVmm vmm = { .b = nv_driver_backend(d, def->meta) };
        const char *uuid;
        int r;

        /* Only D-Bus VMMs register with nestvirtd; a process VMM is found by its pidfile or pid alone. */
        r = d->vmm_lookup && vmm.b == d->vmm ? d->vmm_lookup(d->vmm_lookup_userdata, def->uuid, &vmm.h, reterr) : 0;
        if (r == 0)
                r = vmm.b->connect(def->meta, &vmm.h, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Domain '%s'"), def->name);
        if (vmm.b->vm_uuid) {
                /* The handle owns uuid: the message is formatted before the cleanup drops it. */
                uuid = vmm.b->vm_uuid(vmm.h);
                if (!uuid || strcasecmp(uuid, def->uuid) != 0)
                        return nv_error_set(reterr, -EINVAL, _("The VMM named by domain '%s' runs VM %s, not this domain (%s)."),
                                            def->name, uuid ?: "?", def->uuid);
        }
        *ret = vmm;
        vmm.h = NULL;
        return 0;
}

/*
 * ref's lock; when it cannot be taken (another operation holds it, or the
 * locks' directory is not ours to write), a domain that is not ours to
 * handle anyway (no metadata, not running) says so instead, as it did
 * before the lock came first.  e is the caller's to clear.
 */
static int lock_or_say_why(NvDriver *d, const NvDomainRef *ref, NvDomainEntry *e, NvDomainLock **lock, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *why = NULL;
        int r = nv_domain_lock(d, ref->uuid, ref->name, lock, &why);

        if (r >= 0)
                return r;
        if (nv_conn_get_found(d->conn, ref, e, NULL) >= 0) {
                int q = nested_and_running(e, reterr);

                if (q < 0)
                        return q;
        }
        if (reterr)
                *reterr = TAKE_PTR(why);
        return r;
}

/*
 * Found, locked, then read: what the flow works from is the domain as the
 * lock holder sees it.  Read before the lock, a save that landed while we
 * waited for it would be missing from the history we write back.
 */
int nv_driver_begin(NvDriver *d, const char *domain, NvDomainEntry *e, NvDomainLock **lock, NvVmm *vmm, NvError **reterr) {
        _cleanup_(nv_domain_ref_clear) NvDomainRef ref = {};
        int r;

        r = nv_conn_find(d->conn, domain, &ref, reterr);
        if (r >= 0)
                r = lock_or_say_why(d, &ref, e, lock, reterr);
        if (r >= 0)
                r = nv_conn_get_found(d->conn, &ref, e, reterr);
        if (r >= 0)
                r = nested_and_running(e, reterr);
        if (r >= 0)
                r = nv_driver_connect_vmm(d, e->def, vmm, reterr);
        return r;
}

/* As nv_driver_begin, for a domain save-all listed: two small calls to libvirt (our element, persistence), not the whole XML. */
int nv_driver_begin_listed(NvDriver *d, const NvDomainRef *ref, NvDomainEntry *e, NvDomainLock **lock, NvVmm *vmm,
                           NvError **reterr) {
        int r;

        r = nv_domain_lock(d, ref->uuid, ref->name, lock, reterr);
        if (r >= 0)
                r = nv_conn_get_listed(d->conn, ref, e, reterr);
        if (r >= 0)
                r = nested_and_running(e, reterr);
        if (r >= 0)
                r = nv_driver_connect_vmm(d, e->def, vmm, reterr);
        return r;
}

/* Every blob of s against the kernel's rules, as far as this host's facts go. */
int nv_driver_check_blobs(const NvSnapshot *s, const NvHostInfo *target, unsigned *ret_guest_mode, NvError **reterr) {
        NvValidateContext ctx;
        unsigned guest = 0;
        int r;

        if (target)
                nv_host_validate_context(target, &ctx);
        else
                nv_validate_context_init(&ctx);
        ctx.vendor = s->vendor; /* another vendor than the target's is the caller's finding (onIncompatible), not a rule's */
        for (size_t i = 0; i < s->n_vcpus; i++) {
                const NvBlob *b = &s->vcpus[i].blob;

                r = nv_validate_blob(b->data, b->len, &ctx, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("vCPU %u"), s->vcpus[i].index);
                guest += nv_blob_guest_mode(b);
        }
        if (ret_guest_mode)
                *ret_guest_mode = guest;
        return 0;
}

/* STATE_DIR/DOMAIN/YYYYmmddTHHMMSS.uuuuuuZ.nvstate: sorts by time, never reused. */
int nv_state_file_path(const char *state_dir, const char *domain, uint64_t now, char **ret, NvError **reterr) {
        _cleanup_free_ char *dir = NULL;
        time_t t = (time_t) (now / 1000000u);
        char stamp[32];
        struct tm tm;
        int r;

        if (asprintf(&dir, "%s/%s", state_dir, domain) < 0)
                return -ENOMEM;
        r = nv_mkdir_p(dir, 0700, reterr);
        if (r < 0)
                return r;
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", gmtime_r(&t, &tm));
        return asprintf(ret, "%s/%s.%06lluZ.nvstate", dir, stamp, (unsigned long long) (now % 1000000u)) < 0 ? -ENOMEM : 0;
}

void nv_state_ref_time(uint64_t now, char ret[32]) {
        time_t t = (time_t) (now / 1000000u);
        struct tm tm;

        strftime(ret, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}
