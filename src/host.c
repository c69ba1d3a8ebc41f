/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host probe. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "kvm-backend.h"
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

int nv_host_probe(const char *root, NvKvm *kvm, NvHostInfo *ret, NvError **reterr) {
        NvHostInfo h = { .cpu_vendor = -1, .nested = NV_UNKNOWN, .backend = "none" };
        char dev[4096];

        root = root ?: "/";
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
