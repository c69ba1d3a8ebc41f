/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host probe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpuid.h"
#include "host.h"
#include "kvm-backend.h"
#include "kvm-probe.h"
#include "macro.h"

/* Reads the first line of root/rel into buf without the newline; false if absent. */
static bool read_line(const char *root, const char *rel, char *buf, size_t size) {
        char path[4096];
        FILE *f;
        bool ok;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "re");
        if (!f)
                return false;
        ok = fgets(buf, (int) size, f) != NULL;
        fclose(f);
        if (ok)
                buf[strcspn(buf, "\n")] = '\0';
        return ok;
}

NvTristate nv_host_parse_nested_param(const char *v) {
        if (!v)
                return NV_UNKNOWN;
        if (strcmp(v, "Y") == 0 || strcmp(v, "y") == 0 || strcmp(v, "1") == 0)
                return NV_YES;
        if (strcmp(v, "N") == 0 || strcmp(v, "n") == 0 || strcmp(v, "0") == 0)
                return NV_NO;
        return NV_UNKNOWN;
}

/* Vendor and model from proc/cpuinfo: the "flags" line says vmx or svm. */
static void probe_cpu(const char *root, NvHostInfo *h) {
        char path[4096], line[8192];
        FILE *f;

        snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *val = strchr(line, ':');

                if (!val)
                        continue;
                val += strspn(val + 1, " \t") + 1;
                val[strcspn(val, "\n")] = '\0';
                if (!h->cpu_model[0] && strncmp(line, "model name", 10) == 0)
                        snprintf(h->cpu_model, sizeof(h->cpu_model), "%s", val);
                if (h->cpu_vendor < 0 && strncmp(line, "flags", 5) == 0) {
                        char padded[sizeof(line) + 2]; /* " %s " */
                        snprintf(padded, sizeof(padded), " %s ", val);
                        if (strstr(padded, " vmx "))
                                h->cpu_vendor = NV_FORMAT_VMX;
                        else if (strstr(padded, " svm "))
                                h->cpu_vendor = NV_FORMAT_SVM;
                }
        }
        fclose(f);
}

static void probe_nested_param(const char *root, NvHostInfo *h) {
        char v[16];

        if (read_line(root, "sys/module/kvm_intel/parameters/nested", v, sizeof(v)) ||
            read_line(root, "sys/module/kvm_amd/parameters/nested", v, sizeof(v)))
                h->nested = nv_host_parse_nested_param(v);
}

static void target_init(NvHostTarget *t) {
        *t = (NvHostTarget) {
                .evmcs = NV_UNKNOWN,
                .smm = NV_UNKNOWN,
                .npt = NV_UNKNOWN,
                .svme0_gif0_ok = NV_UNKNOWN,
                .vnmi_needs_nmi_intercept = NV_UNKNOWN,
                .sregs_svme_needs_cpuid = NV_UNKNOWN,
        };
}

int nv_host_probe(const char *root, NvKvm *kvm, NvHostInfo *ret, NvError **reterr) {
        NvHostInfo h = { .cpu_vendor = -1, .nested = NV_UNKNOWN, .backend = "none" };
        char dev[4096];

        root = root ?: "/";
        target_init(&h.target);
        if (!read_line(root, "proc/sys/kernel/osrelease", h.kernel_release, sizeof(h.kernel_release)))
                h.kernel_release[0] = '\0';
        probe_cpu(root, &h);
        probe_nested_param(root, &h);
        snprintf(dev, sizeof(dev), "%s/dev/kvm", root);
        h.kvm_device = access(dev, F_OK) == 0;
        /* What the backend knows wins over the files: the simulator's host is not this machine. */
        if (kvm)
                nv_kvm_host_facts(kvm, &h);
        else if (h.kvm_device) {
                _cleanup_(nv_kvm_freep) NvKvm *own = NULL;
                int r = nv_kvm_open(dev, &own, NULL);

                if (r >= 0)
                        nv_kvm_host_facts(own, &h);
                else /* present but unusable: "absent" and "capability 0" would both be wrong */
                        h.kvm_errno = -r;
        }
        *ret = h;
        return 0;
}

void nv_host_probe_target(const char *root, NvKvm *kvm, NvHostInfo *h) {
        _cleanup_(nv_kvm_freep) NvKvm *own = NULL;
        char dev[4096], v[16];

        root = root ?: "/";
        target_init(&h->target);
        if (!kvm) {
                snprintf(dev, sizeof(dev), "%s/dev/kvm", root);
                if (nv_kvm_open(dev, &own, NULL) < 0)
                        return;
                kvm = own;
        }
        nv_kvm_probe_target(kvm, &h->target);
        /* The file is this machine's: only worth reading when this machine's kernel was measured. */
        if (h->target.measured && read_line(root, "sys/module/kvm_amd/parameters/npt", v, sizeof(v)))
                h->target.npt = nv_host_parse_nested_param(v);
}

void nv_host_validate_context(const NvHostInfo *h, NvValidateContext *ctx) {
        const NvHostTarget *t = &h->target;

        nv_validate_context_init(ctx);
        ctx->vendor = h->cpu_vendor;
        ctx->maxphyaddr = t->maxphyaddr;
        if (t->n_cpuid > 0 && t->n_cpuid <= NV_HOST_MAX_CPUID) {
                struct kvm_cpuid_entry2 e[NV_HOST_MAX_CPUID] = {};

                for (size_t i = 0; i < t->n_cpuid; i++)
                        e[i] = (struct kvm_cpuid_entry2) { .function = t->cpuid[i].function, .index = t->cpuid[i].index,
                                                           .flags = t->cpuid[i].flags, .eax = t->cpuid[i].eax, .ebx = t->cpuid[i].ebx,
                                                           .ecx = t->cpuid[i].ecx, .edx = t->cpuid[i].edx };
                ctx->have_cpuid = true;
                ctx->cr4_allowed = nv_cpuid_allowed_bits(e, (uint32_t) t->n_cpuid, false);
                ctx->efer_allowed = nv_cpuid_allowed_bits(e, (uint32_t) t->n_cpuid, true);
                if (h->nested != NV_UNKNOWN)
                        ctx->vmx_allowed = h->nested == NV_YES && nv_cpuid_has(e, (uint32_t) t->n_cpuid, X86_FEATURE_VMX) ? NV_YES : NV_NO;
        }
        ctx->have_vmx_msrs = t->have_vmx_msrs;
        memcpy(ctx->vmx_msrs, t->vmx_msrs, sizeof(ctx->vmx_msrs));
        /* Without the capability no vCPU here can have enabled eVMCS or be in SMM; with it, the vCPU decides. */
        if (t->evmcs == NV_NO)
                ctx->evmcs_enabled = NV_NO;
        if (t->smm == NV_NO)
                ctx->in_smm = NV_NO;
        ctx->npt_enabled = t->npt;
        ctx->svme0_gif0_ok = t->svme0_gif0_ok;
        ctx->vnmi_needs_nmi_intercept = t->vnmi_needs_nmi_intercept;
}
