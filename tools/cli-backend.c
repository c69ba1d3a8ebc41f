/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backends of a command: the host probe's root; the driver with its D-Bus VMM backend (cli-kvm.c: /dev/kvm or the simulator). */
#include <stdio.h>
#include <stdlib.h>

#include "cli-backend.h"
#include "vmm-client.h"

const char *cli_host_root(void) {
        /* For tests: probe a fake tree instead of this machine. */
        return getenv("NESTVIRT_HOST_ROOT") ?: "/";
}

int cli_open_driver(const char *uri, const char *state_dir, const char *runtime_dir, NvDriver **ret, NvError **reterr) {
        NvHostInfo host;
        int r = nv_host_probe(cli_host_root(), NULL, &host, reterr);

        if (r < 0)
                return r;
        return nv_driver_new(&(NvDriverConfig) { .uri = uri, .state_dir = state_dir, .runtime_dir = runtime_dir, .host = &host,
                                                 .vmm = &nv_vmm_backend_dbus },
                             ret, reterr);
}
