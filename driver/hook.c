/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook (qemu.d): argv is DOMAIN OPERATION SUBOP EXTRA and the
 * domain XML comes on stdin.  It never calls libvirt (the daemon is waiting
 * for it) and works from the XML and this host's facts alone.
 *
 *   prepare begin   refuse a domain that requires a nested mode this host cannot give
 *   migrate begin   XML filter: verify the incoming state; an inline snapshot is
 *   restore begin   written to this host's state directory and referenced instead
 *   release end     drop the domain's lock file
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base64.h"
#include "driver-private.h"
#include "fileio.h"

static int hook_prepare(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        const char *why = NULL;

        if (!def->meta || def->meta->nested != NV_NESTED_POLICY_REQUIRED)
                return 0;
        if (nv_domain_def_nested_mode(def, ctx->host, &why) >= 0)
                return 0;
        return nv_error_set(reterr, -EOPNOTSUPP,
                            _("Domain '%s' requires nested virtualization (<nestvirt:policy nested='required'>) but this host "
                              "cannot give it: %s."),
                            def->name, why);
}

/* The incoming snapshot against this host: integrity, hash, rules, vendor. */
static int check_incoming(const NvHookContext *ctx, const uint8_t *img, size_t len, const NvStateRef *ref, bool *ret_incompatible,
                          NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        char sha[65];
        int r;

        *ret_incompatible = false;
        nv_snapshot_sha256_hex(img, len, sha);
        if (strcmp(sha, ref->sha256) != 0)
                return nv_error_set(reterr, -EBADMSG, _("The snapshot's SHA-256 is %s, but the XML says %s."), sha, ref->sha256);
        r = nv_snapshot_parse(img, len, &s, reterr);
        if (r >= 0 && s->n_vcpus != ref->vcpus)
                r = nv_error_set(reterr, -EINVAL, _("The snapshot holds %zu vCPUs, but the XML says %u."), s->n_vcpus, ref->vcpus);
        if (r >= 0)
                r = nv_driver_check_blobs(s, NULL, reterr);
        if (r < 0)
                return r;
        if (ctx->host->cpu_vendor >= 0 && s->vendor != ctx->host->cpu_vendor) {
                *ret_incompatible = true;
                return nv_error_set(reterr, -EXDEV, _("The snapshot holds %s state but this host's CPU is %s."),
                                    nv_format_to_string(s->vendor), nv_format_to_string(ctx->host->cpu_vendor));
        }
        return 0;
}

/* The policy said continue: the refusal becomes a notice in libvirt's log, and the hook succeeds. */
static int continue_without_state(const NvDomainDef *def, int r, NvError **reterr) {
        fprintf(stderr, _("nestvirt: domain '%s' continues without nested state: %s\n"), def->name, nv_error_message(*reterr, r));
        *reterr = nv_error_free(*reterr);
        return 0;
}

/* Inline state becomes a file here and a reference in the XML. */
static int land_inline(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        NvNestedMeta *m = def->meta;
        _cleanup_free_ uint8_t *img = NULL;
        _cleanup_free_ char *path = NULL;
        NvStateRef ref = m->inline_ref;
        bool incompatible = false; /* stays false when the base64 is refused before check_incoming() runs */
        size_t len;
        int r;

        r = nv_base64_decode(m->inline_data, NV_META_MAX_INLINE, &img, &len, reterr);
        if (r >= 0)
                r = check_incoming(ctx, img, len, &m->inline_ref, &incompatible, reterr);
        if (r < 0 && incompatible && m->on_incompatible == NV_ON_PROBLEM_CONTINUE)
                r = continue_without_state(def, r, reterr);
        else if (r >= 0) {
                r = nv_state_file_path(ctx->state_dir, def->name, nv_now_usec(CLOCK_REALTIME), &path, reterr);
                if (r >= 0)
                        r = nv_file_write_atomic(path, img, len, reterr);
                ref.path = path;
                if (r >= 0)
                        r = nv_nested_meta_push_state(m, &ref);
        }
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Incoming nested state of domain '%s'"), def->name);
        m->has_inline = false;
        return 1; /* the XML changed */
}

/* A referenced file (shared storage, or a managed save's) must be there and intact. */
static int check_reference(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        const NvNestedMeta *m = def->meta;
        _cleanup_free_ uint8_t *img = NULL;
        bool incompatible = false;
        size_t len;
        int r;

        r = nv_file_read(m->state.path, NV_SNAPSHOT_MAX_SIZE, &img, &len, reterr);
        if (r >= 0)
                r = check_incoming(ctx, img, len, &m->state, &incompatible, reterr);
        if (r >= 0)
                return 0;
        if ((r == -ENOENT && m->on_missing == NV_ON_PROBLEM_CONTINUE) || (incompatible && m->on_incompatible == NV_ON_PROBLEM_CONTINUE))
                return continue_without_state(def, r, reterr);
        return nv_error_wrap(reterr, r, _("Nested state of domain '%s' (%s)"), def->name, m->state.path);
}

static int hook_filter(const NvHookContext *ctx, const NvDomainDef *def, const char *xml, size_t len, char **ret_xml,
                       NvError **reterr) {
        int r;

        if (!def->meta)
                return 0;
        if (def->meta->has_inline) {
                r = land_inline(ctx, def, reterr);
                return r < 0 ? r : nv_domain_xml_set_meta(xml, len, def->meta, ret_xml, reterr);
        }
        return def->meta->has_state ? check_reference(ctx, def, reterr) : 0;
}

/* The lock file outlives nothing: once libvirt released the domain, remove it unless someone holds it. */
static int hook_release(const NvHookContext *ctx, const NvDomainDef *def) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&path, "%s/locks/%s.lock", ctx->runtime_dir, def->uuid) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
                (void) unlink(path);
        return 0;
}

int nv_hook_run(const NvHookContext *ctx, const char *const argv[4], const char *xml, size_t len, char **ret_xml,
                NvError **reterr) {
        _cleanup_(nv_domain_def_freep) NvDomainDef *def = NULL;
        int r;

        *ret_xml = NULL;
        r = nv_domain_def_parse(xml, len, 0, &def, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("The hook for domain '%s' (%s %s) got unusable XML"), argv[0], argv[1], argv[2]);
        if (strcmp(argv[1], "prepare") == 0 && strcmp(argv[2], "begin") == 0)
                return hook_prepare(ctx, def, reterr);
        if ((strcmp(argv[1], "migrate") == 0 || strcmp(argv[1], "restore") == 0) && strcmp(argv[2], "begin") == 0)
                return hook_filter(ctx, def, xml, len, ret_xml, reterr);
        if (strcmp(argv[1], "release") == 0 && strcmp(argv[2], "end") == 0)
                return hook_release(ctx, def);
        return 0; /* start, started, stopped, reconnect, attach: nothing to do */
}
