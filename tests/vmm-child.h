/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VMM in a child process for the protocol tests: a simulated VM whose
 * vCPUs run L2, the agent embedded, served on a p2p socket.  Behaviours
 * make it crash or hang inside Freeze, to test the driver side's error
 * paths against a real peer.
 */
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "sim.h"
#include "vcpu.h"
#include "x86-arch.h"

typedef enum ChildMode {
        CHILD_NORMAL,
        CHILD_CRASH_ON_FREEZE, /* SIGKILL itself inside the pause callback */
        CHILD_HANG_ON_FREEZE,  /* the pause callback takes 1.5 s */
        CHILD_PAUSE_FAILS,     /* the pause callback fails (the VMM cannot stop its vCPUs now) */
        CHILD_FRESH,           /* vCPUs restored from the VMM's own state but not in L2 yet: EFER.SVME set */
        CHILD_SHADOW,          /* as CHILD_NORMAL, VMX L2 with a shadow vmcs12: the largest (8320-byte) states */
        CHILD_NO_NESTED,       /* a kernel whose KVM_CAP_NESTED_STATE is 0 */
        CHILD_OLD_AGENT,       /* on a bus only: an agent from before Collect, Load and OpenChannel (they answer UnknownMethod) */
        CHILD_NO_CHANNEL,      /* on a bus only: an agent from before OpenChannel (it answers UnknownMethod) */
} ChildMode;

typedef struct ChildCtx {
        ChildMode mode;
        unsigned pauses, resumes;
        uint64_t paused_at_ns;
} ChildCtx;

/*
 * The VMM's own clock over its last freeze (pause to resume,
 * CLOCK_MONOTONIC ns), on a page shared with the process that spawned it:
 * the benchmark reads the freeze window as the VMM saw it.
 */
static volatile uint64_t *child_window_ns;
/*
 * On the same page: how often the VMMs paused their vCPUs, the calls an
 * old agent turned away, and the org.nestvirt.Vmm1 calls that came
 * through the bus (not on a channel).
 */
static volatile uint64_t *child_pauses, *child_unknown_calls, *child_bus_calls;

static uint64_t child_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int child_pause(void *userdata) {
        ChildCtx *c = userdata;

        if (c->mode == CHILD_CRASH_ON_FREEZE)
                raise(SIGKILL);
        if (c->mode == CHILD_HANG_ON_FREEZE)
                usleep(1500 * 1000);
        if (c->mode == CHILD_PAUSE_FAILS)
                return -EAGAIN;
        c->pauses++;
        if (child_pauses)
                (*child_pauses)++;
        c->paused_at_ns = child_now_ns();
        return 0;
}

static int child_resume(void *userdata) {
        ChildCtx *c = userdata;

        c->resumes++;
        if (child_window_ns)
                *child_window_ns = child_now_ns() - c->paused_at_ns;
        return 0;
}

/* The VmUuid of the VMMs spawned from now on (a benchmark of many domains gives each its own). */
static const char *child_vm_uuid = "5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e01";

/*
 * Counts the Vmm1 calls that come through the bus; CHILD_OLD_AGENT and
 * CHILD_NO_CHANNEL answer the methods such an agent did not have as it
 * would (filters run before the objects).
 */
static int child_bus_filter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m);
        ChildMode mode = (ChildMode) (intptr_t) userdata;
        bool unknown;

        (void) error;
        if (!sd_bus_message_is_method_call(m, "org.nestvirt.Vmm1", NULL) || !member)
                return 0;
        if (child_bus_calls)
                (*child_bus_calls)++;
        unknown = strcmp(member, "OpenChannel") == 0 ? mode == CHILD_OLD_AGENT || mode == CHILD_NO_CHANNEL
                                                     : mode == CHILD_OLD_AGENT && (strcmp(member, "Collect") == 0 || strcmp(member, "Load") == 0);
        if (!unknown)
                return 0;
        if (child_unknown_calls)
                (*child_unknown_calls)++;
        return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_UNKNOWN_METHOD, "Unknown method %s.", member) ?: 1;
}

/* Serves on path (a p2p socket), or as "bus:NAME" under NAME on the session bus. */
static int child_serve(NvAgent *agent, const char *path, ChildMode mode, sd_event *event, sd_bus **ret_bus) {
        if (strncmp(path, "bus:", 4) != 0)
                return nv_agent_listen(agent, path, event, NULL);
        if (sd_bus_open_user(ret_bus) < 0 || nv_agent_attach_bus(agent, *ret_bus, NULL) < 0 ||
            sd_bus_add_filter(*ret_bus, NULL, child_bus_filter, (void *) (intptr_t) mode) < 0 ||
            sd_bus_request_name(*ret_bus, path + 4, 0) < 0 || sd_bus_attach_event(*ret_bus, event, 0) < 0)
                return -EIO;
        return 0;
}

static int child_main(const char *path, NvFormat vendor, unsigned n, ChildMode mode, int ready_fd) {
        NvVcpu *vcpus[1024];
        ChildCtx ctx = { .mode = mode };
        NvSimConfig cfg;
        NvKvm *kvm = NULL;
        NvSim *sim = NULL;
        NvAgent *agent = NULL;
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;

        nv_sim_config_init(&cfg, vendor);
        cfg.no_nested_state = mode == CHILD_NO_NESTED;
        if (nv_sim_backend_open(&cfg, &kvm, &sim, NULL) < 0 || nv_kvm_create_vm(kvm, NULL) < 0)
                return 1;
        for (unsigned i = 0; i < n; i++) {
                if (nv_kvm_create_vcpu(kvm, i, &vcpus[i], NULL) < 0)
                        return 1;
                if (mode == CHILD_NO_NESTED)
                        continue; /* nothing nested to set up */
                if (mode == CHILD_FRESH) {
                        struct kvm_sregs sr;
                        if (nv_kvm_get_sregs(vcpus[i], &sr, NULL) < 0)
                                return 1;
                        sr.efer |= X86_EFER_SVME;
                        if (nv_kvm_set_sregs(vcpus[i], &sr, NULL) < 0)
                                return 1;
                        continue;
                }
                if (nv_sim_vcpu_enter_l2(sim, i, mode == CHILD_SHADOW) < 0)
                        return 1;
                for (unsigned k = 0; k <= i % 5; k++)
                        (void) nv_kvm_vcpu_run(vcpus[i], NULL);
        }
        NvAgentVmm vmm = { .vm_uuid = child_vm_uuid, .kvm = kvm, .vcpus = vcpus, .n_vcpus = n,
                           .pause = child_pause, .resume = child_resume, .userdata = &ctx, .allowed_uid = getuid() };
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if (sd_event_new(&event) < 0 || sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL) < 0 ||
            nv_agent_new(&vmm, &agent, NULL) < 0 || child_serve(agent, path, mode, event, &bus) < 0)
                return 1;
        (void) !write(ready_fd, "r", 1);
        close(ready_fd);
        sd_event_loop(event);
        nv_agent_free(agent);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        for (unsigned i = 0; i < n; i++)
                nv_vcpu_free(vcpus[i]);
        nv_kvm_free(kvm);
        return 0;
}

/* Forks the VMM and waits until it serves (it writes one byte on a pipe). */
static pid_t spawn_vmm(const char *path, NvFormat vendor, unsigned n, ChildMode mode) {
        int p[2];
        char c;
        pid_t pid;

        if (!child_window_ns) {
                void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                child_window_ns = page == MAP_FAILED ? NULL : page;
                child_pauses = child_window_ns ? child_window_ns + 1 : NULL;
                child_unknown_calls = child_window_ns ? child_window_ns + 2 : NULL;
                child_bus_calls = child_window_ns ? child_window_ns + 3 : NULL;
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                /* A failed assertion in the test must not leave VMMs behind. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]);
                _exit(child_main(path, vendor, n, mode, p[1]));
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
                pid = -1;
        close(p[0]);
        return pid;
}

static void stop_vmm(pid_t pid) {
        int status;

        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
}
