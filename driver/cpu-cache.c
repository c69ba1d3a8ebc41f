/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * STATE_DIR/cpu-models.xml: what libvirt said of CPU models, for the hook.
 * The hook runs inside libvirt's own call and must not call libvirt back,
 * so the CLI and nestvirtd write down what they learnt, and the hook reads
 * it.  An answer is believed only for the host it was learnt on (libvirt's
 * version, kernel, CPU, nested parameter) and the emulator binary as it
 * was then; anything else is "cannot tell", which never refuses a domain.
 */
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conn-private.h"
#include "driver.h"
#include "fileio.h"

#define CACHE_FILE "cpu-models.xml"
#define CACHE_MAX (1u << 20)

static unsigned libvirt_version(void) {
        unsigned long v = 0;

        /* The library's version: a local call, no connection (the hook may make it). */
        return virGetVersion(&v, NULL, NULL) == 0 ? (unsigned) v : 0;
}

static bool same_host(const NvCpuModelsHost *a, const NvCpuModelsHost *b) {
        return a->libvirt_version == b->libvirt_version && strcmp(a->kernel_release, b->kernel_release) == 0 &&
               strcmp(a->cpu_model, b->cpu_model) == 0 && a->nested == b->nested;
}

static int cache_read(const char *path, NvCpuModels **ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, CACHE_MAX, &buf, &len, reterr);
        if (r >= 0)
                r = nv_cpu_models_parse((const char *) buf, len, ret, reterr);
        return r;
}

int nv_cpu_cache_save(NvConn *c, const char *state_dir, const NvHostInfo *host, NvError **reterr) {
        _cleanup_free_ NvCpuModels *learnt = NULL, *old = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL, *before = NULL;
        int r;

        if ((r = nv_conn_cpu_models(c, &learnt)) < 0)
                return r;
        if (learnt->n == 0)
                return 0; /* libvirt was asked nothing (or has no CPU APIs): keep what the file says */
        nv_cpu_models_host(host, libvirt_version(), &learnt->host);
        if (asprintf(&path, "%s/%s", state_dir, CACHE_FILE) < 0)
                return -ENOMEM;
        /* What an earlier run learnt on this same host stays: a listing of running domains must not forget the others. */
        if (cache_read(path, &old, NULL) >= 0 && same_host(&old->host, &learnt->host))
                for (size_t i = 0; i < old->n; i++)
                        if (!nv_cpu_models_find(learnt, old->models[i].host_model, old->models[i].name, old->models[i].virt_type,
                                                old->models[i].emulator))
                                (void) nv_cpu_models_put(learnt, &old->models[i]);
        if ((r = nv_cpu_models_format(learnt, &text, reterr)) < 0)
                return r;
        if (old && nv_cpu_models_format(old, &before, NULL) >= 0 && strcmp(before, text) == 0)
                return 0; /* nothing new: no write */
        r = nv_file_write_atomic(path, text, strlen(text), reterr);
        return r < 0 ? nv_error_wrap(reterr, r, _("Cannot write the CPU model cache %s"), path) : 1;
}

/* The emulator is the one libvirt was asked about: same size and mtime (no emulator: libvirt's default). */
static bool same_emulator(const NvCpuModel *e) {
        struct stat st;

        if (!e->emulator[0])
                return true;
        return stat(e->emulator, &st) == 0 && (unsigned) st.st_size == e->emulator_size && (unsigned) st.st_mtime == e->emulator_mtime;
}

int nv_cpu_cache_apply(const char *state_dir, const NvHostInfo *host, NvDomainDef *def, const char **ret_why) {
        _cleanup_free_ NvCpuModels *m = NULL;
        _cleanup_free_ char *path = NULL;
        bool host_model = def->cpu_mode == NV_CPU_MODE_HOST_MODEL;
        const NvCpuModel *e;
        NvCpuModelsHost now;

        if (!host_model && (def->cpu_mode != NV_CPU_MODE_CUSTOM || !def->cpu_model))
                return 0; /* nothing a model decides */
        if (asprintf(&path, "%s/%s", state_dir, CACHE_FILE) < 0)
                return -ENOMEM;
        if (cache_read(path, &m, NULL) < 0) {
                *ret_why = _("there is no readable CPU model cache (run 'nestvirt list' or nestvirtd once)");
                return 0;
        }
        nv_cpu_models_host(host, libvirt_version(), &now);
        if (!same_host(&m->host, &now)) {
                *ret_why = _("the CPU model cache was written for another libvirt version, kernel or nested setting");
                return 0;
        }
        e = nv_cpu_models_find(m, host_model, def->cpu_model, def->virt_type ?: "", def->emulator ?: "");
        if (!e) {
                *ret_why = _("the CPU model cache has no answer for this model");
                return 0;
        }
        if (!same_emulator(e)) {
                *ret_why = _("the emulator changed since the CPU model cache was written");
                return 0;
        }
        def->cpu_has[0] = e->has[0];
        def->cpu_has[1] = e->has[1];
        return 1;
}
