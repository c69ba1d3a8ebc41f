/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the libvirt hook's standard input.  libvirtd writes the
 * domain XML there, and on a migration that XML, with the inline snapshot
 * in our metadata, was made by the source host.  The bytes go through
 * every operation that reads them (prepare, and the migrate and restore
 * filters) on a fixed AMD host with nested on.
 *
 * Beyond "no crash, no leak": a failure carries a message; a rewritten XML
 * parses again, keeps everything but the inline copy, and references a
 * landed file that the hook accepts in turn; and the hook writes nothing
 * outside its state directory.
 */
#include <assert.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain-def.h"
#include "driver.h"
#include "nested-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What nv_host_probe() reports on an AMD host with kvm_amd nested=1 (tests/data/host-amd, plus /dev/kvm). */
static const NvHostInfo host_amd = {
        .kernel_release = "6.1.0-28-cloud-amd64",
        .cpu_vendor = NV_FORMAT_SVM,
        .cpu_model = "AMD EPYC 7B13 64-Core Processor",
        .kvm_device = true,
        .api_version = 12,
        .nested = NV_YES,
        .nested_state_max = NV_SVM_MAX_SIZE,
        .backend = "kvm",
};

static const char *const operations[][4] = {
        { "guest1", "prepare", "begin", "-" },
        { "guest1", "migrate", "begin", "-" },
        { "guest1", "restore", "begin", "-" },
};

/* One private directory for the whole run: TMPDIR/nestvirt-fuzz-hook-XXXXXX/{state,run}. */
static char top[4096], state_dir[4200], runtime_dir[4200];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st, (void) type, (void) ftw;
        return remove(path);
}

static void remove_top(void) {
        (void) nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup_once(void) {
        const char *tmp = getenv("TMPDIR");

        if (top[0])
                return;
        snprintf(top, sizeof(top), "%s/nestvirt-fuzz-hook-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(top)) {
                perror("mkdtemp");
                abort();
        }
        snprintf(state_dir, sizeof(state_dir), "%s/state", top);
        snprintf(runtime_dir, sizeof(runtime_dir), "%s/run", top);
        if (mkdir(state_dir, 0700) < 0 || mkdir(runtime_dir, 0700) < 0) {
                perror("mkdir");
                abort();
        }
        atexit(remove_top);
}

/*
 * Empties the state directory, so that landed snapshots do not fill the
 * disk, and checks that the top directory still holds only state/ and run/:
 * anything else was written through a path that left the state directory.
 */
static void reset_dirs(void) {
        struct dirent *de;
        DIR *d;

        (void) nftw(state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        if (mkdir(state_dir, 0700) < 0)
                abort();
        d = opendir(top);
        if (!d)
                abort();
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "state") == 0 ||
                    strcmp(de->d_name, "run") == 0)
                        continue;
                fprintf(stderr, "the hook wrote '%s/%s', outside its state directory\n", top, de->d_name);
                abort();
        }
        closedir(d);
}

static bool same_str(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static void assert_same_ref(const NvStateRef *a, const NvStateRef *b) {
        assert(same_str(a->path, b->path) && strcmp(a->sha256, b->sha256) == 0 && a->vendor == b->vendor &&
               a->vcpus == b->vcpus && strcmp(a->time, b->time) == 0);
}

/*
 * The rewrite replaces the inline copy by a reference and keeps the rest:
 * identity, VMM and policy as they were (as written: no defaults added);
 * the history as it was, or, when a file landed, moved down by one behind
 * it with the oldest dropping off.
 */
static void check_kept(const NvDomainDef *in, const NvDomainDef *out, bool landed) {
        const NvNestedMeta *a = in->meta, *b = out->meta;
        const NvStateRef *older[1 + NV_META_MAX_PREVIOUS];
        size_t n = 0;

        assert(strcmp(in->name, out->name) == 0 && strcmp(in->uuid, out->uuid) == 0);
        assert(a->transport == b->transport && a->bus == b->bus && same_str(a->socket, b->socket) &&
               same_str(a->bus_name, b->bus_name) && same_str(a->object_path, b->object_path));
        assert(a->nested == b->nested && a->on_missing == b->on_missing && a->on_incompatible == b->on_incompatible);
        /* What the source wrote, not the defaults: the element round-trips. */
        assert(a->written.transport == b->written.transport && a->written.bus == b->written.bus &&
               same_str(a->written.object_path, b->written.object_path) && a->written.nested == b->written.nested &&
               a->written.on_missing == b->written.on_missing && a->written.on_incompatible == b->written.on_incompatible);
        if (landed) {
                assert(strcmp(b->state.sha256, a->inline_ref.sha256) == 0 && b->state.vendor == a->inline_ref.vendor &&
                       b->state.vcpus == a->inline_ref.vcpus && strcmp(b->state.time, a->inline_ref.time) == 0);
                if (a->has_state)
                        older[n++] = &a->state;
        } else {
                assert(a->has_state == b->has_state);
                if (a->has_state)
                        assert_same_ref(&a->state, &b->state);
        }
        for (size_t i = 0; i < a->n_previous; i++)
                older[n++] = &a->previous[i];
        n = n < NV_META_MAX_PREVIOUS ? n : NV_META_MAX_PREVIOUS;
        assert(b->n_previous == n);
        for (size_t i = 0; i < n; i++)
                assert_same_ref(older[i], &b->previous[i]);
}

/*
 * The filter's output: parseable, without the inline copy, otherwise the
 * input's meaning, and when it references a landed file (the policy may
 * instead have let the domain go on without state), the hook accepts that
 * reference as it stands.
 */
static void check_rewritten(const NvHookContext *ctx, const uint8_t *data, size_t size, const char *xml) {
        _cleanup_(nv_domain_def_freep) NvDomainDef *in = NULL, *out = NULL;
        _cleanup_free_ char *again = NULL;
        size_t n = strlen(state_dir);
        bool landed;
        int r;

        r = nv_domain_def_parse((const char *) data, size, 0, &in, NULL);
        assert(r == 0 && in->meta && in->meta->has_inline);
        r = nv_domain_def_parse(xml, strlen(xml), 0, &out, NULL);
        assert(r == 0);
        assert(out->meta && !out->meta->has_inline);
        landed = out->meta->has_state && strncmp(out->meta->state.path, state_dir, n) == 0 && out->meta->state.path[n] == '/';
        check_kept(in, out, landed);
        if (!landed)
                return;
        r = nv_hook_run(ctx, operations[2], xml, strlen(xml), &again, NULL);
        assert(r == 0 && !again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvHookContext ctx = { .host = &host_amd, .state_dir = state_dir, .runtime_dir = runtime_dir };

        setup_once();
        for (size_t i = 0; i < ELEMENTSOF(operations); i++) {
                _cleanup_(nv_error_freep) NvError *err = NULL;
                _cleanup_free_ char *out = NULL;
                int r;

                /* Not NUL-terminated on purpose: the hook must read no further than size. */
                r = nv_hook_run(&ctx, operations[i], (const char *) data, size, &out, &err);
                if (r < 0)
                        assert(!out && (r == -ENOMEM || (err && err->code < 0 && err->message)));
                else if (out)
                        check_rewritten(&ctx, data, size, out);
                reset_dirs();
        }
        return 0;
}
