/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nestvirt agent: what a VMM embeds to serve org.nestvirt.Vmm1.  The
 * VMM hands over its vCPUs (as libnestvirt handles over its own fds) and
 * pause/resume callbacks; the agent runs src/'s ordered, validated,
 * all-or-nothing nested-state path on them.  Depends on src/ and sd-bus
 * only.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "kvm.h"

NV_BEGIN_DECLS

typedef struct NvAgentVmm {
        const char *vm_uuid;
        NvKvm *kvm;            /* the VM (nv_kvm_adopt_vm, or the simulator) */
        NvVcpu **vcpus;        /* every vCPU, in id order */
        size_t n_vcpus;
        /* Stops every vCPU outside KVM_RUN (returns when they are), and lets them run again. */
        int (*pause)(void *userdata);
        int (*resume)(void *userdata);
        void *userdata;
        uid_t allowed_uid;     /* besides root, the only uid that may call (usually the driver's) */
        /*
         * A connection accepted on nv_agent_listen()'s socket that sends
         * nothing this long is closed (its freezes made without
         * keep-frozen end with it).  0: 60 s.
         */
        uint64_t idle_timeout_usec;
        /*
         * The VMM resumed from a saved state and waits for its nested state
         * (property Incoming): true until a SetNestedState succeeds.  A VM
         * booted afresh says false, and nestvirt's restore-all leaves it be.
         */
        bool incoming;
} NvAgentVmm;

typedef struct NvAgent NvAgent;

/* A new agent for vmm (copied; the vCPU handles stay the VMM's). */
int nv_agent_new(const NvAgentVmm *vmm, NvAgent **ret, NvError **reterr);
NvAgent *nv_agent_free(NvAgent *a);
NV_DEFINE_FREEP(NvAgent *, nv_agent_free)

/*
 * Serves peer-to-peer D-Bus on a new unix socket at path (mode 0600; a
 * stale socket is replaced) from event.  Each connection's peer
 * credentials are checked when it is accepted.
 */
int nv_agent_listen(NvAgent *a, const char *path, sd_event *event, NvError **reterr);

/*
 * Serves peer-to-peer D-Bus on fd (taken), one end of a connected socket
 * pair whose other end the VMM handed to nestvirtd (RegisterVmm): the VMM
 * chose its peer, so no credentials are checked.
 */
int nv_agent_serve_fd(NvAgent *a, int fd, sd_event *event, NvError **reterr);
/* Serves on an existing bus connection; each call's sender uid is checked. */
int nv_agent_attach_bus(NvAgent *a, sd_bus *bus, NvError **reterr);

/* Whether the VM is frozen through the agent right now (by a hold, or inside a Collect or Load). */
bool nv_agent_frozen(const NvAgent *a);

NV_END_DECLS
