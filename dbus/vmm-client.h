/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The D-Bus side of the driver's VMM backend: org.nestvirt.Vmm1 over a
 * peer-to-peer socket or on a bus.  Every call has an explicit timeout
 * that grows with the vCPU count: base + 5 ms per vCPU (base 2 s, or
 * $NESTVIRT_VMM_TIMEOUT_MS for tests and slow hosts).
 */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"
#include "vmm-backend.h"

extern const NvVmmBackend nv_vmm_backend_dbus;

/*
 * A handle on a p2p connection the caller keeps (started with sd_bus_start,
 * as a client): each handle holds a reference, and its disconnect drops
 * only that.  For VMMs registered with nestvirtd.
 */
int nv_vmm_client_adopt(sd_bus *bus, NvVmmHandle **ret, NvError **reterr);

/* The per-call timeout for a VMM with n vCPUs, in microseconds. */
uint64_t nv_vmm_timeout_usec(unsigned n_vcpus);
