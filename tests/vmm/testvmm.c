/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt-testvmm: the reference VMM.  It runs a VM whose vCPUs run an L2
 * guest, embeds the nestvirt agent exactly as a third-party VMM would (for
 * the nested part only), and saves and restores its own vCPU state (regs,
 * sregs, events, MSRs) to its own file.  This version runs on the
 * simulated KVM and says so; the L1 guest for a real /dev/kvm is not
 * written yet.
 *
 *   SIGUSR1  save own state to --own-state FILE (vCPUs quiesced first)
 *   SIGUSR2  print "counters: N N ..." (each vCPU's L2 progress)
 *   SIGTERM  exit
 *
 * With --restore it starts paused, as an incoming VMM must: the vCPUs run
 * only after the driver has loaded their nested state and thawed them.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "fileio.h"
#include "sim.h"
#include "vcpu.h"

#define MAX_VCPUS 64
#define TICK_USEC 5000
#define OWN_MAGIC "NVTVMM01"
static const uint32_t own_msrs[] = { 0xC0000080, 0x174, 0x175, 0x176 };

typedef struct Vmm {
        NvKvm *kvm;
        NvVcpu *vcpus[MAX_VCPUS];
        unsigned n;
        bool paused;
        const char *own_state;
        sd_event_source *tick;
} Vmm;

typedef struct OwnVcpu {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_vcpu_events events;
        struct kvm_msr_entry msrs[ELEMENTSOF(own_msrs)];
} OwnVcpu;

static int vmm_pause(void *userdata) {
        ((Vmm *) userdata)->paused = true; /* single-threaded: no vCPU is in KVM_RUN now */
        return 0;
}

static int vmm_resume(void *userdata) {
        ((Vmm *) userdata)->paused = false;
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Vmm *v = userdata;

        for (unsigned i = 0; i < v->n && !v->paused; i++)
                (void) nv_kvm_vcpu_run(v->vcpus[i], NULL);
        (void) usec;
        /* A time source fires once: re-arm it for the next tick. */
        if (sd_event_source_set_time_relative(s, TICK_USEC) < 0)
                return 0;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* The VMM's own state: everything but the nested part, which the agent carries. */
static int save_own(Vmm *v, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = calloc(1, 8 + v->n * sizeof(OwnVcpu));
        bool was_paused = v->paused;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        memcpy(buf, OWN_MAGIC, 8);
        v->paused = true;
        for (unsigned i = 0; i < v->n && r >= 0; i++) {
                NvVcpuState *st = NULL;
                OwnVcpu *o = (OwnVcpu *) (buf + 8) + i;

                r = nv_vcpu_save_state(v->vcpus[i], own_msrs, ELEMENTSOF(own_msrs), &st, reterr);
                if (r < 0)
                        break;
                *o = (OwnVcpu) { .regs = st->regs, .sregs = st->sregs, .events = st->events };
                memcpy(o->msrs, st->msrs->entries, sizeof(o->msrs));
                nv_vcpu_state_free(st);
        }
        v->paused = was_paused;
        return r < 0 ? r : nv_file_write_atomic(v->own_state, buf, 8 + v->n * sizeof(OwnVcpu), reterr);
}

static int restore_own(Vmm *v, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(v->own_state, 8 + MAX_VCPUS * sizeof(OwnVcpu), &buf, &len, reterr);
        if (r < 0)
                return r;
        if (len != 8 + v->n * sizeof(OwnVcpu) || memcmp(buf, OWN_MAGIC, 8) != 0)
                return nv_error_set(reterr, -EINVAL, "%s is not this VMM's state for %u vCPUs.", v->own_state, v->n);
        for (unsigned i = 0; i < v->n && r >= 0; i++) {
                const OwnVcpu *o = (const OwnVcpu *) (buf + 8) + i;
                _cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(o->msrs));
                NvVcpuState st = { .regs = o->regs, .sregs = o->sregs, .events = o->events, .msrs = m };

                if (!m)
                        return -ENOMEM;
                m->nmsrs = ELEMENTSOF(own_msrs);
                memcpy(m->entries, o->msrs, sizeof(o->msrs));
                st.msrs = m;
                r = nv_vcpu_load_state(v->vcpus[i], &st, reterr);
        }
        return r;
}

static int on_usr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        int r;

        (void) s, (void) si;
        r = save_own(userdata, &err);
        if (r < 0)
                fprintf(stderr, "nestvirt-testvmm: saving own state failed: %s\n", nv_error_message(err, r));
        else
                printf("saved own state\n");
        fflush(stdout);
        return 0;
}

static int on_usr2(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Vmm *v = userdata;

        (void) s, (void) si;
        printf("counters:");
        for (unsigned i = 0; i < v->n; i++)
                printf(" %llu", (unsigned long long) nv_sim_vcpu_counter(nv_kvm_sim(v->kvm), i));
        printf("\n");
        fflush(stdout);
        return 0;
}

/* A fresh boot: L1 on every vCPU enters its L2 guest. */
static int boot(Vmm *v, NvError **reterr) {
        for (unsigned i = 0; i < v->n; i++)
                if (nv_sim_vcpu_enter_l2(nv_kvm_sim(v->kvm), i, false) < 0)
                        return nv_error_set(reterr, -EIO, "L1 on vCPU %u could not enter L2.", i);
        return 0;
}

static int setup_vm(Vmm *v, int vendor, bool restore, NvError **reterr) {
        NvSimConfig cfg;
        int r;

        nv_sim_config_init(&cfg, vendor);
        fprintf(stderr, "nestvirt-testvmm: running on the simulated KVM (%s)\n", nv_format_to_string(vendor));
        r = nv_kvm_open_sim(nv_sim_new(&cfg), &v->kvm, reterr);
        if (r >= 0)
                r = nv_kvm_create_vm(v->kvm, reterr);
        for (unsigned i = 0; r >= 0 && i < v->n; i++)
                r = nv_kvm_create_vcpu(v->kvm, i, &v->vcpus[i], reterr);
        if (r < 0)
                return r;
        return restore ? restore_own(v, reterr) : boot(v, reterr);
}

static int run(Vmm *v, const char *socket, const char *uuid, NvError **reterr) {
        _cleanup_(nv_agent_freep) NvAgent *agent = NULL;
        sd_event *event = NULL;
        sigset_t ss;
        int r;

        NvAgentVmm desc = { .vm_uuid = uuid, .kvm = v->kvm, .vcpus = v->vcpus, .n_vcpus = v->n, .pause = vmm_pause,
                            .resume = vmm_resume, .userdata = v, .allowed_uid = getuid() };
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGUSR1);
        sigaddset(&ss, SIGUSR2);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &v->tick, CLOCK_MONOTONIC, TICK_USEC, /* accuracy= */ 1, on_tick, v);
        if (r < 0 || sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGUSR1, on_usr1, v) < 0 || sd_event_add_signal(event, NULL, SIGUSR2, on_usr2, v) < 0)
                return nv_error_set(reterr, -EIO, "Cannot set up the event loop.");
        r = nv_agent_new(&desc, &agent, reterr);
        if (r >= 0)
                r = nv_agent_listen(agent, socket, event, reterr);
        if (r < 0)
                return r;
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(event);
        sd_event_source_unref(v->tick);
        sd_event_unref(event);
        return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },       { "socket", required_argument, NULL, 's' },
                { "vcpus", required_argument, NULL, 'n' }, { "vendor", required_argument, NULL, 'v' },
                { "own-state", required_argument, NULL, 'o' }, { "restore", no_argument, NULL, 'r' },
                { "uuid", required_argument, NULL, 'u' },  {},
        };
        _cleanup_(nv_error_freep) NvError *err = NULL;
        const char *socket = NULL, *uuid = "00000000-0000-0000-0000-000000000000";
        Vmm v = { .n = 2, .own_state = "testvmm.state" };
        int c, r, vendor = NV_FORMAT_SVM;
        bool restore = false;

        while ((c = getopt_long(argc, argv, "hs:n:v:o:ru:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("Usage: nestvirt-testvmm --socket PATH [--vcpus N] [--vendor svm|vmx] [--own-state FILE] [--restore] [--uuid UUID]\n");
                        return 0;
                case 's': socket = optarg; break;
                case 'n': v.n = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'v': vendor = nv_format_from_string(optarg); break;
                case 'o': v.own_state = optarg; break;
                case 'r': restore = true; break;
                case 'u': uuid = optarg; break;
                default: return 1;
                }
        }
        if (!socket || v.n < 1 || v.n > MAX_VCPUS || vendor < 0) {
                fprintf(stderr, "error: --socket is required, --vcpus is 1 to %d, --vendor is vmx or svm\n", MAX_VCPUS);
                return 1;
        }
        /* Restoring, the vCPUs wait for their nested state: only the driver's Thaw starts them. */
        v.paused = restore;
        r = setup_vm(&v, vendor, restore, &err);
        if (r >= 0)
                r = run(&v, socket, uuid, &err);
        if (r < 0)
                fprintf(stderr, "error: %s\n", nv_error_message(err, r));
        for (unsigned i = 0; i < v.n; i++)
                nv_vcpu_free(v.vcpus[i]);
        nv_kvm_free(v.kvm);
        return r < 0 ? 1 : 0;
}
