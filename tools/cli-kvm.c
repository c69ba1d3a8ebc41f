/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing the KVM backend of a command: /dev/kvm when it can save nested state, else the simulated KVM. */
#include <stdio.h>

#include "cli-backend.h"
#include "sim.h"

/* /dev/kvm below the probe's root if it opens and can save nested state; else why not, in *ret_why. */
static int open_dev_kvm(CliKvm *k, const char **ret_why, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        char dev[4096];
        int r;

        snprintf(dev, sizeof(dev), "%s/dev/kvm", cli_host_root());
        r = nv_kvm_open(dev, &k->kvm, &err);
        if (r == -ENOENT) {
                *ret_why = _(": no /dev/kvm on this machine");
                return 0;
        }
        if (r < 0) {
                *ret_why = _(": /dev/kvm cannot be opened");
                return 0;
        }
        if (nv_kvm_nested_state_max(k->kvm) <= 0) {
                *ret_why = _(": /dev/kvm cannot save nested state (KVM_CAP_NESTED_STATE is 0)");
                k->kvm = nv_kvm_free(k->kvm);
                return 0;
        }
        return nv_host_probe(cli_host_root(), k->kvm, &k->host, reterr);
}

int cli_open_backend(bool force_sim, int vendor, CliKvm *ret, NvError **reterr) {
        CliKvm k = {};
        const char *why = NULL;
        NvSimConfig cfg;
        int r;

        if (!force_sim) {
                r = open_dev_kvm(&k, &why, reterr);
                if (r < 0) {
                        cli_kvm_close(&k);
                        return r;
                }
                if (k.kvm) {
                        *ret = k;
                        return 0;
                }
        }
        r = nv_host_probe(cli_host_root(), NULL, &k.host, reterr);
        if (r < 0)
                return r;
        if (vendor < 0)
                vendor = k.host.cpu_vendor >= 0 ? k.host.cpu_vendor : NV_FORMAT_SVM;
        nv_sim_config_init(&cfg, vendor);
        r = nv_sim_backend_open(&cfg, &k.kvm, &k.sim, reterr);
        if (r >= 0)
                r = nv_host_probe(cli_host_root(), k.kvm, &k.host, reterr);
        if (r < 0) {
                cli_kvm_close(&k);
                return r;
        }
        k.fallback = why;
        *ret = k;
        return 0;
}

void cli_kvm_close(CliKvm *k) {
        k->kvm = nv_kvm_free(k->kvm);
        k->sim = NULL;
}
