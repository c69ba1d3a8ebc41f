/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "driver.h"
#include "host.h"
#include "kvm.h"

/* The root the host probe reads: $NESTVIRT_HOST_ROOT (tests) or "/". */
const char *cli_host_root(void);

typedef struct NvSim NvSim;

typedef struct CliKvm {
        NvKvm *kvm;
        NvSim *sim;           /* the simulator's guest model (borrowed from kvm); NULL on /dev/kvm */
        NvHostInfo host;      /* the probe of the backend kvm runs on */
        const char *fallback; /* why the simulator runs although not asked for (translated), else NULL */
} CliKvm;

/*
 * Opens /dev/kvm, or the simulated KVM when force_sim is set or this host's
 * KVM cannot save nested state (no device, not openable, or
 * KVM_CAP_NESTED_STATE 0).  vendor (NV_FORMAT_*, or -1: the host CPU's,
 * else SVM) picks the simulated vendor.  Linked into nestvirt only (tools/
 * cli-kvm.c): nestvirtd never runs the simulator.
 */
int cli_open_backend(bool force_sim, int vendor, CliKvm *ret, NvError **reterr);
void cli_kvm_close(CliKvm *k);

/*
 * Opens the driver on uri (NULL: $LIBVIRT_DEFAULT_URI or libvirt's
 * default) with this host's facts and the D-Bus VMM backend.  state_dir
 * and runtime_dir may be NULL (the environment's, else the defaults).
 */
int cli_open_driver(const char *uri, const char *state_dir, const char *runtime_dir, NvDriver **ret, NvError **reterr);
