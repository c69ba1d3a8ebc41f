/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook (qemu.d): argv is DOMAIN OPERATION SUBOP EXTRA and the
 * domain XML comes on stdin.  It never calls libvirt (the daemon is waiting
 * for it) and works from the XML and this host's facts alone.
 *
 *   prepare begin   refuse a domain that requires a nested mode this host cannot give
 *   migrate begin   XML filter: verify the incoming state; an inline snapshot is
 *   restore begin   written to this host's state directory and referenced instead;
 *                   on restore, QEMU's own nested state in the domain's managed-save
 *                   image is checked too (hook-qemu.c)
 *   release end     drop the domain's lock file, and landed state nothing loaded
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

static int hook_prepare(const NvHookContext *ctx, NvDomainDef *def, NvError **reterr) {
        const char *why = NULL, *unknown = NULL;
        int mode;

        if (!def->meta || def->meta->nested != NV_NESTED_POLICY_REQUIRED)
                return 0;
        /* What the CPU model carries: libvirt's answer, as the CLI or nestvirtd wrote it down. */
        if (nv_cpu_cache_apply(ctx->state_dir, ctx->host, def, &unknown) < 0)
                return -ENOMEM;
        mode = nv_domain_def_nested_mode(def, ctx->host, &why);
        if (mode >= 0)
                return 0;
        if (mode == NV_NESTED_MODE_UNKNOWN) { /* cannot know: never refuse, say so in libvirt's log */
                fprintf(stderr, _("nestvirt: domain '%s' starts without a check of its nested mode: %s (%s).\n"), def->name, why,
                        unknown ?: "");
                return 0;
        }
        nv_landed_remove(ctx->runtime_dir, ctx->state_dir, def); /* the migration ends here: nothing will load it */
        return nv_error_set(reterr, -EOPNOTSUPP,
                            _("Domain '%s' requires nested virtualization (<nestvirt:policy nested='required'>) but this host "
                              "cannot give it: %s."),
                            def->name, why);
}

/* Incoming state against this host: the XML's hash and vCPU count, integrity, every blob, the host's vendor. */
static NvVerify host_verify(const NvHookContext *ctx, const NvStateRef *ref, const char *what) {
        return (NvVerify) { .ref = ref, .vendor = ctx->host->cpu_vendor, .vendor_of_host = true, .what = what, .target = ctx->host,
                            .kernel_check = true };
}

/* A refusal the policy may turn into a notice in libvirt's log (the hook then succeeds); else r, wrapped. */
static int decide(const NvDomainDef *def, NvProblem problem, int r, NvError **reterr) {
        if (!nv_policy_continues(def->meta, problem))
                return r;
        fprintf(stderr, _("nestvirt: domain '%s' continues without nested state: %s\n"), def->name,
                nv_error_message(reterr ? *reterr : NULL, r));
        nv_error_clear(reterr); /* recovered: a later failure must not carry this text */
        return 0;
}

/* Inline state becomes a file here and a reference in the XML. */
static int land_inline(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        NvNestedMeta *m = def->meta;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        NvVerify v = host_verify(ctx, &m->inline_ref, NULL);
        int r;

        r = nv_base64_decode(m->inline_data, NV_META_MAX_INLINE, &in.img, &in.len, reterr);
        if (r >= 0)
                r = nv_incoming_verify(&v, in.img, in.len, &in, reterr);
        if (r >= 0)
                r = nv_land_image(&(NvLanding) { .dir = ctx->state_dir, .domain = def->name, .time = m->inline_ref.time }, in.img,
                                  in.len, in.snap, m, NULL, reterr);
        if (r >= 0) /* until a restore loads it: else release removes it */
                r = nv_landed_note(ctx->runtime_dir, def->uuid, m->state.path, reterr);
        else
                r = decide(def, in.problem, r, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Incoming nested state of domain '%s'"), def->name);
        m->has_inline = false;
        return 1; /* the XML changed */
}

/* A referenced file (shared storage, or a managed save's) must be there and intact. */
static int check_reference(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        const NvNestedMeta *m = def->meta;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        NvVerify v = host_verify(ctx, &m->state, NULL); /* the wrap below names the file */
        int r;

        r = nv_incoming_read(&v, m->state.path, &in, reterr);
        if (r < 0)
                r = decide(def, in.problem, r, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, _("Nested state of domain '%s' (%s)"), def->name, m->state.path) : 0;
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

/*
 * The lock file outlives nothing: once libvirt released the domain, remove
 * it unless someone holds it.  Nor does incoming state nothing loaded.
 */
static int hook_release(const NvHookContext *ctx, const NvDomainDef *def) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        nv_landed_remove(ctx->runtime_dir, ctx->state_dir, def);
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
        if (strcmp(argv[1], "restore") == 0 && strcmp(argv[2], "begin") == 0) {
                r = nv_hook_guard_qemu_image(ctx, def, reterr);
                if (r < 0)
                        return r;
        }
        if ((strcmp(argv[1], "migrate") == 0 || strcmp(argv[1], "restore") == 0) && strcmp(argv[2], "begin") == 0)
                return hook_filter(ctx, def, xml, len, ret_xml, reterr);
        if (strcmp(argv[1], "release") == 0 && strcmp(argv[2], "end") == 0)
                return hook_release(ctx, def);
        return 0; /* start, started, stopped, reconnect, attach: nothing to do */
}
