/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a guest CPU model carries, asked of libvirt rather than of a table
 * of our own: QEMU's models differ (EPYC, Opteron_G3 and qemu64 include
 * svm themselves; a running host-model domain's XML is a custom model with
 * no svm line).  A named model is expanded with
 * virConnectBaselineHypervisorCPU(EXPAND_FEATURES); host-model is the CPU
 * virConnectGetDomainCapabilities offers, its feature lines first, then its
 * model expanded.  Each answer is asked once per connection.
 */
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conn-private.h"
#include "nested-state.h"

struct NvCpuMemo {
        pthread_mutex_t lock;
        bool unsupported; /* the driver has no CPU APIs (the test driver): ask no more */
        NvCpuModels models;
};

NvCpuMemo *nv_cpu_memo_new(void) {
        NvCpuMemo *m = calloc(1, sizeof(NvCpuMemo));

        if (m)
                pthread_mutex_init(&m->lock, NULL);
        return m;
}

NvCpuMemo *nv_cpu_memo_free(NvCpuMemo *m) {
        if (m) {
                pthread_mutex_destroy(&m->lock);
                free(m);
        }
        return NULL;
}

void nv_cpu_memo_clear(NvCpuMemo *m) {
        pthread_mutex_lock(&m->lock);
        m->unsupported = false;
        m->models.n = 0;
        pthread_mutex_unlock(&m->lock);
}

static void conn_closep(virConnectPtr *p) {
        if (*p)
                (void) virConnectClose(*p);
}

/* The key of def's CPU in the memo and the cache, and the emulator's identity now. */
static void model_key(const NvDomainDef *def, bool host_model, const char *name, NvCpuModel *ret) {
        struct stat st;

        *ret = (NvCpuModel) { .host_model = host_model, .has = { NV_UNKNOWN, NV_UNKNOWN } };
        snprintf(ret->name, sizeof(ret->name), "%s", name ?: "");
        snprintf(ret->virt_type, sizeof(ret->virt_type), "%s", def->virt_type ?: "");
        if (def->emulator && strlen(def->emulator) < sizeof(ret->emulator)) {
                strcpy(ret->emulator, def->emulator);
                if (stat(def->emulator, &st) == 0) {
                        ret->emulator_size = (unsigned) st.st_size;
                        ret->emulator_mtime = (unsigned) st.st_mtime;
                }
        }
}

static bool no_support(void) {
        virErrorPtr e = virGetLastError();

        return e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_ARGUMENT_UNSUPPORTED);
}

static NvTristate from_policy(int policy) {
        if (policy == NV_FEATURE_REQUIRE || policy == NV_FEATURE_FORCE)
                return NV_YES;
        return policy == NV_FEATURE_DISABLE || policy == NV_FEATURE_FORBID ? NV_NO : NV_UNKNOWN;
}

/* libvirt's expansion of def's CPU with every feature listed; 0, -EOPNOTSUPP (no CPU APIs) or -EIO. */
int nv_conn_expand_cpu(virConnectPtr conn, const NvDomainDef *def, const NvCpuDef *cpu, NvCpuDef **ret, NvError **reterr) {
        _cleanup_free_ char *in = NULL, *out = NULL;
        const char *cpus[1];
        int r;

        if ((r = nv_cpu_def_format(cpu, &in, reterr)) < 0)
                return r;
        cpus[0] = in;
        out = virConnectBaselineHypervisorCPU(conn, def->emulator, def->arch ?: "x86_64", NULL, def->virt_type, cpus, 1,
                                              VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES);
        if (!out)
                return nv_error_set(reterr, no_support() ? -EOPNOTSUPP : -EIO, _("libvirt cannot expand CPU model '%s': %s"), cpu->model,
                                    virGetLastErrorMessage());
        return nv_cpu_def_parse(out, strlen(out), ret, reterr);
}

/* A named model: vmx/svm from libvirt's expansion (a feature absent there is not in the model). */
static int ask_model(virConnectPtr conn, const NvDomainDef *def, NvCpuModel *e, NvError **reterr) {
        _cleanup_free_ NvCpuDef *in = calloc(1, sizeof(NvCpuDef)), *out = NULL;
        int r;

        if (!in)
                return -ENOMEM;
        snprintf(in->model, sizeof(in->model), "%s", e->name);
        if ((r = nv_conn_expand_cpu(conn, def, in, &out, reterr)) < 0)
                return r;
        for (int v = 0; v < 2; v++)
                e->has[v] = from_policy(nv_cpu_def_policy(out, nv_format_to_string(v))) == NV_YES ? NV_YES : NV_NO;
        return 0;
}

/* This host's host-model CPU (libvirt's domain capabilities, for def's emulator and type). */
int nv_conn_host_model(virConnectPtr conn, const NvDomainDef *def, NvCpuDef **ret, NvError **reterr) {
        _cleanup_free_ char *caps = virConnectGetDomainCapabilities(conn, def->emulator, def->arch ?: "x86_64", NULL, def->virt_type, 0);

        if (!caps)
                return nv_error_set(reterr, no_support() ? -EOPNOTSUPP : -EIO, _("libvirt's domain capabilities: %s"),
                                    virGetLastErrorMessage());
        return nv_cpu_def_parse_domcaps(caps, strlen(caps), ret, reterr);
}

/* host-model: its own feature lines decide, else what its model carries (learnt as an entry of its own). */
static int ask_host_model(virConnectPtr conn, const NvDomainDef *def, NvCpuModel *e, NvCpuModel *named, NvError **reterr) {
        _cleanup_free_ NvCpuDef *hm = NULL;
        int r;

        if ((r = nv_conn_host_model(conn, def, &hm, reterr)) < 0)
                return r;
        if (hm->model[0]) {
                model_key(def, false, hm->model, named);
                if ((r = ask_model(conn, def, named, reterr)) < 0)
                        return r;
        }
        snprintf(e->name, sizeof(e->name), "%s", hm->model);
        for (int v = 0; v < 2; v++) {
                e->has[v] = from_policy(nv_cpu_def_policy(hm, nv_format_to_string(v)));
                if (e->has[v] == NV_UNKNOWN)
                        e->has[v] = hm->model[0] ? named->has[v] : NV_NO;
        }
        return 0;
}

static void learn(NvCpuMemo *m, virConnectPtr conn, const NvDomainDef *def, NvCpuModel *e) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvCpuModel named = {};
        int r;

        r = e->host_model ? ask_host_model(conn, def, e, &named, &err) : ask_model(conn, def, e, &err);
        pthread_mutex_lock(&m->lock);
        if (r == -EOPNOTSUPP) /* no CPU APIs at all (the test driver): nothing to remember, nothing for the cache */
                m->unsupported = true;
        else /* another failure is remembered as unknown: asking again on every listing would not change libvirt's mind */
                (void) nv_cpu_models_put(&m->models, e);
        if (named.name[0])
                (void) nv_cpu_models_put(&m->models, &named);
        pthread_mutex_unlock(&m->lock);
}

void nv_conn_learn_cpu(NvConn *c, NvDomainDef *def) {
        _cleanup_(conn_closep) virConnectPtr conn = NULL;
        NvCpuMemo *m = nv_conn_cpu_memo(c);
        bool host_model = def->cpu_mode == NV_CPU_MODE_HOST_MODEL;
        const NvCpuModel *known;
        bool unsupported;
        NvCpuModel e;

        if (!host_model && (def->cpu_mode != NV_CPU_MODE_CUSTOM || !def->cpu_model || strlen(def->cpu_model) >= NV_CPU_NAME_MAX))
                return; /* passthrough is the host's CPU; no model (or none libvirt names): nothing to ask about */
        model_key(def, host_model, def->cpu_model, &e);
        pthread_mutex_lock(&m->lock);
        unsupported = m->unsupported;
        known = unsupported ? NULL : nv_cpu_models_find(&m->models, host_model, e.name, e.virt_type, e.emulator);
        if (known)
                e = *known;
        pthread_mutex_unlock(&m->lock);
        if (!known && !unsupported && (conn = nv_conn_virt(c)))
                learn(m, conn, def, &e);
        def->cpu_has[0] = e.has[0];
        def->cpu_has[1] = e.has[1];
}

/* What the connection learnt so far (a copy, for the cache). */
int nv_conn_cpu_models(NvConn *c, NvCpuModels **ret) {
        NvCpuMemo *m = nv_conn_cpu_memo(c);
        NvCpuModels *copy = malloc(sizeof(NvCpuModels));

        if (!copy)
                return -ENOMEM;
        pthread_mutex_lock(&m->lock);
        *copy = m->models;
        pthread_mutex_unlock(&m->lock);
        *ret = copy;
        return 0;
}
