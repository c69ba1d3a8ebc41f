/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt-testvmm: the reference VMM.  It runs a VM whose vCPUs run an L2
 * guest, embeds the nestvirt agent exactly as a third-party VMM would (for
 * the nested part only), and saves and restores its own vCPU state (regs,
 * sregs, events, MSRs; on real KVM also guest memory) to its own file.
 *
 * On a real /dev/kvm with nested state every vCPU runs a real L1 hypervisor
 * of the host's vendor and its L2 guest: SVM (guest-svm.h) on kvm_amd, VMX
 * (guest-vmx.h) on kvm_intel.  Without one, with --sim, or when --vendor
 * names the other vendor, it runs on the simulated KVM, whose guest model
 * stands for L2.  It says on stderr which one runs; --kvm refuses to fall
 * back.
 *
 *   SIGUSR1  save own state to --own-state FILE (vCPUs quiesced first)
 *   SIGUSR2  print "counters: N N ..." (each vCPU's L2 progress); on real
 *            KVM also "l1-exits: N N ..." (the CPUID exits each L1 handled);
 *            with --tick-exits then "tick-exits: N N ..." (the OUT exits of
 *            L2's turns this process ran: after a restore, exactly the
 *            turns since the save, unless the save left the OUT a vCPU
 *            stopped on to be repeated)
 *   SIGTERM  exit
 *
 * With --restore it starts paused, as an incoming VMM must: the vCPUs run
 * only after the driver has loaded their nested state and thawed them.
 *
 * --no-agent: no nestvirt code runs at all (a VMM nestvirt reaches only
 * through ptrace); SIGHUP pauses the vCPUs and SIGCONT resumes them, the
 * way an unmodified VMM's own pause/resume API would.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "fileio.h"
#include "guest-svm.h"
#include "guest-vmx.h"
#include "sim.h"
#include "util.h"
#include "vcpu.h"
#include "x86-arch.h"

#define MAX_VCPUS NV_SIM_MAX_VCPUS /* as KVM allows; the real guest has room for GS_MAX_VCPUS */
#define TICK_USEC 5000
#define OPT_SHADOW_VMCS 0x100 /* a long option only */
#define RUN_BUDGET 4096 /* KVM_RUNs per tick over all vCPUs (at least one each): 1024 vCPUs must not starve the loop */
#define RUN_BATCH 64 /* KVM_RUNs per vCPU and tick: the event loop must keep answering */
#define OWN_MSRS 5
/* The own state's first 8 bytes, by where the guest ran; real KVM's are followed by guest memory. */
#define OWN_MAGIC_SIM "NVTVMM01"
static const char *const own_magic_kvm[] = { [NV_FORMAT_SVM] = "NVTVMM02", [NV_FORMAT_VMX] = "NVTVMM03" };
/*
 * EFER, SYSENTER, and the MSR the vendor's L1 set for its hypervisor: SVM's
 * VM_HSAVE_PA, which its next VMRUN needs; VMX's IA32_FEATURE_CONTROL,
 * locked with VMXON allowed.  Each vendor's KVM refuses the other's.
 */
static const uint32_t own_msrs[][OWN_MSRS] = {
        [NV_FORMAT_SVM] = { MSR_EFER, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_VM_HSAVE_PA },
        [NV_FORMAT_VMX] = { MSR_EFER, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_FEATURE_CONTROL },
};
_Static_assert(GS_PORT_TICK == NV_SIM_IO_PORT, "L2's tick is the simulated guest's OUT");

typedef enum Backend {
        BACKEND_AUTO,
        BACKEND_SIM,
        BACKEND_KVM,
} Backend;

typedef struct Vmm {
        NvKvm *kvm;
        NvVcpu *vcpus[MAX_VCPUS];
        bool stopped[MAX_VCPUS]; /* met an exit it cannot go on from */
        unsigned n;
        bool paused;
        int vendor;   /* the guest's: the real KVM's, or the simulator's */
        uint64_t tick_exits[MAX_VCPUS]; /* L2's OUT exits this process ran */
        bool print_ticks;                /* --tick-exits */
        uint8_t *mem; /* guest RAM, GS_MEM_SIZE bytes; NULL on the simulated KVM */
        NvSim *sim;   /* the simulated KVM's guest model, which stands for L1 and L2; NULL on real KVM */
        const char *own_state;
        sd_event_source *tick;
        sd_bus *bus; /* --register: the system bus nestvirtd is on */
        uint64_t idle_timeout_usec; /* --idle-timeout: the agent's; 0 its default */
        bool shadow_vmcs; /* --shadow-vmcs: simulated VMX L1 shadows its VMCS (8320-byte states) */
} Vmm;

typedef struct OwnVcpu {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_vcpu_events events;
        struct kvm_msr_entry msrs[OWN_MSRS];
} OwnVcpu;

static int vmm_pause(void *userdata) {
        ((Vmm *) userdata)->paused = true; /* single-threaded: no vCPU is in KVM_RUN now */
        return 0;
}

static int vmm_resume(void *userdata) {
        ((Vmm *) userdata)->paused = false;
        return 0;
}

static const char *exit_reason_name(uint32_t reason) {
        switch (reason) {
        case KVM_EXIT_IO: return "IO";
        case KVM_EXIT_HLT: return "HLT";
        case KVM_EXIT_MMIO: return "MMIO";
        case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
        case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
        case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
        default: return "?";
        }
}

/* The one number that says most about an exit: the port, the entry failure, the suberror. */
static unsigned long long exit_detail(const struct kvm_run *run) {
        switch (run->exit_reason) {
        case KVM_EXIT_IO: return run->io.port;
        case KVM_EXIT_MMIO: return run->mmio.phys_addr;
        case KVM_EXIT_FAIL_ENTRY: return run->fail_entry.hardware_entry_failure_reason;
        case KVM_EXIT_INTERNAL_ERROR: return run->internal.suberror;
        default: return 0;
        }
}

/* Says on stderr why vCPU i cannot go on. */
static void report_exit(Vmm *v, unsigned i, int r, NvError *err) {
        struct kvm_run *run = nv_vcpu_run_area(v->vcpus[i]);
        struct kvm_regs regs = {};

        (void) nv_kvm_get_regs(v->vcpus[i], &regs, NULL);
        if (r < 0)
                fprintf(stderr, "nestvirt-testvmm: vCPU %u: %s\n", i, nv_error_message(err, r));
        else if (v->mem && run->exit_reason == KVM_EXIT_IO && run->io.port == GS_PORT_FAIL)
                fprintf(stderr, v->vendor == NV_FORMAT_SVM
                                        ? "nestvirt-testvmm: vCPU %u: L1 got SVM exit code 0x%llx from L2, which it does not handle\n"
                                        : "nestvirt-testvmm: vCPU %u: L1 failed with code 0x%llx (a VMX exit reason it does not "
                                          "handle, or 0x1000 + a VM-instruction error)\n",
                        i, (unsigned long long) nv_guest_svm_data(v->mem, i, GS_FAIL_CODE));
        else
                fprintf(stderr, "nestvirt-testvmm: vCPU %u: unexpected exit reason %u (%s, detail 0x%llx) at RIP 0x%llx\n", i,
                        run->exit_reason, exit_reason_name(run->exit_reason), exit_detail(run), (unsigned long long) regs.rip);
        fprintf(stderr, "nestvirt-testvmm: vCPU %u stopped\n", i);
}

/* Runs vCPU i until it leaves the guest's normal path or batch runs are done. */
static void run_vcpu(Vmm *v, unsigned i, unsigned batch) {
        struct kvm_run *run = nv_vcpu_run_area(v->vcpus[i]);

        for (unsigned k = 0; k < batch && !v->stopped[i]; k++) {
                _cleanup_(nv_error_freep) NvError *err = NULL;
                int r = nv_kvm_vcpu_run(v->vcpus[i], &err);

                if (r == -EINTR)
                        return; /* a signal: the next tick goes on */
                if (r >= 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == GS_PORT_TICK) {
                        v->tick_exits[i]++; /* L2's tick (NV_SIM_IO_PORT on the simulator) */
                        continue;
                }
                report_exit(v, i, r, err);
                v->stopped[i] = true;
        }
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Vmm *v = userdata;
        unsigned batch = RUN_BUDGET / v->n;

        batch = batch < 1 ? 1 : batch > RUN_BATCH ? RUN_BATCH : batch;
        for (unsigned i = 0; i < v->n && !v->paused; i++)
                run_vcpu(v, i, batch);
        /* A time source fires once: re-arm it for the next tick. */
        if (sd_event_source_set_time_relative(s, TICK_USEC) < 0)
                return 0;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static const char *own_magic(const Vmm *v) {
        return v->mem ? own_magic_kvm[v->vendor] : OWN_MAGIC_SIM;
}

/* The VMM's own state: everything but the nested part, which the agent carries. */
static size_t own_size(const Vmm *v) {
        return 8 + v->n * sizeof(OwnVcpu) + (v->mem ? GS_MEM_SIZE : 0);
}

static int save_own(Vmm *v, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = calloc(1, own_size(v));
        bool was_paused = v->paused;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        memcpy(buf, own_magic(v), 8);
        v->paused = true;
        for (unsigned i = 0; i < v->n && r >= 0; i++) {
                NvVcpuRegsNested *st = NULL;
                OwnVcpu *o = (OwnVcpu *) (buf + 8) + i;

                r = nv_vcpu_save_regs_nested(v->vcpus[i], own_msrs[v->vendor], OWN_MSRS, &st, reterr);
                if (r < 0)
                        break;
                *o = (OwnVcpu) { .regs = st->regs, .sregs = st->sregs, .events = st->events };
                memcpy(o->msrs, st->msrs->entries, sizeof(o->msrs));
                nv_vcpu_regs_nested_free(st);
        }
        /* The vCPUs are quiesced and nothing runs them: the memory is consistent with them. */
        if (v->mem)
                memcpy(buf + 8 + v->n * sizeof(OwnVcpu), v->mem, GS_MEM_SIZE);
        v->paused = was_paused;
        return r < 0 ? r : nv_file_write_atomic(v->own_state, buf, own_size(v), reterr);
}

static int restore_own(Vmm *v, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(v->own_state, 8 + MAX_VCPUS * sizeof(OwnVcpu) + GS_MEM_SIZE, &buf, &len, reterr);
        if (r < 0)
                return r;
        if (len != own_size(v) || memcmp(buf, own_magic(v), 8) != 0)
                return nv_error_set(reterr, -EINVAL, "%s is not this VMM's state for %u vCPUs on the %s KVM (%s).", v->own_state,
                                    v->n, nv_kvm_backend_name(v->kvm), nv_format_to_string(v->vendor));
        /* Memory before registers: nothing runs until the nested state is back anyway. */
        if (v->mem)
                memcpy(v->mem, buf + 8 + v->n * sizeof(OwnVcpu), GS_MEM_SIZE);
        for (unsigned i = 0; i < v->n && r >= 0; i++) {
                const OwnVcpu *o = (const OwnVcpu *) (buf + 8) + i;
                _cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(o->msrs));
                NvVcpuRegsNested st = { .regs = o->regs, .sregs = o->sregs, .events = o->events, .msrs = m };

                if (!m)
                        return -ENOMEM;
                m->nmsrs = OWN_MSRS;
                memcpy(m->entries, o->msrs, sizeof(o->msrs));
                st.msrs = m;
                r = nv_vcpu_load_regs_nested(v->vcpus[i], &st, reterr);
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
                printf(" %llu", (unsigned long long) (v->mem ? nv_guest_svm_data(v->mem, i, GS_L2_COUNTER)
                                                             : nv_sim_vcpu_counter(v->sim, i)));
        printf("\n");
        if (v->mem) {
                printf("l1-exits:");
                for (unsigned i = 0; i < v->n; i++)
                        printf(" %llu", (unsigned long long) nv_guest_svm_data(v->mem, i, GS_L1_EXITS));
                printf("\n");
        }
        if (v->print_ticks) {
                printf("tick-exits:");
                for (unsigned i = 0; i < v->n; i++)
                        printf(" %llu", (unsigned long long) v->tick_exits[i]);
                printf("\n");
        }
        fflush(stdout);
        return 0;
}

/* A fresh boot.  Simulated: L1 on every vCPU enters L2 at once; real: L1 starts and does it. */
static int boot(Vmm *v, NvError **reterr) {
        int r;

        if (v->mem) {
                (v->vendor == NV_FORMAT_SVM ? nv_guest_svm_build : nv_guest_vmx_build)(v->mem);
                for (unsigned i = 0; i < v->n; i++) {
                        r = (v->vendor == NV_FORMAT_SVM ? nv_guest_svm_boot_vcpu : nv_guest_vmx_boot_vcpu)(v->vcpus[i], i, reterr);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        for (unsigned i = 0; i < v->n; i++)
                if (nv_sim_vcpu_enter_l2(v->sim, i, v->shadow_vmcs) < 0)
                        return nv_error_set(reterr, -EIO, "L1 on vCPU %u could not enter L2.", i);
        return 0;
}

/* Opens /dev/kvm if it can save nested state of vendor (-1: of either); -EOPNOTSUPP and why not if it cannot. */
static int open_real_kvm(Vmm *v, int vendor, NvError **reterr) {
        int r, have;

        r = nv_kvm_open(NULL, &v->kvm, reterr);
        if (r < 0)
                return r;
        have = nv_kvm_vendor(v->kvm);
        if (have < 0)
                r = nv_error_set(reterr, -EOPNOTSUPP, "/dev/kvm cannot save nested state (KVM_CAP_NESTED_STATE %d).",
                                 nv_kvm_nested_state_max(v->kvm));
        else if (vendor >= 0 && have != vendor)
                r = nv_error_set(reterr, -EOPNOTSUPP, "/dev/kvm has nested %s, not the %s asked for.", nv_format_to_string(have),
                                 nv_format_to_string(vendor));
        if (r < 0) {
                v->kvm = nv_kvm_free(v->kvm);
                return r;
        }
        v->vendor = have;
        return 0;
}

/* Real KVM if it may and if it has nested state of vendor (-1: either); else the simulator of vendor (-1: SVM). */
static int open_kvm(Vmm *v, Backend backend, int vendor, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvSimConfig cfg;
        int r = -ENOENT;

        if (backend != BACKEND_SIM) {
                r = open_real_kvm(v, vendor, &err);
                if (r < 0 && backend == BACKEND_KVM)
                        return nv_error_wrap(reterr, r, "--kvm given but there is no real KVM to run on: %s", nv_error_message(err, r));
        }
        if (r >= 0) {
                fprintf(stderr, "nestvirt-testvmm: running on real KVM (/dev/kvm, %s): an L1 hypervisor runs L2 on %u vCPUs\n",
                        nv_format_to_string(v->vendor), v->n);
                return 0;
        }
        v->vendor = vendor >= 0 ? vendor : NV_FORMAT_SVM;
        if (backend == BACKEND_AUTO)
                fprintf(stderr, "nestvirt-testvmm: no real KVM (%s)\n", nv_error_message(err, r));
        fprintf(stderr, "nestvirt-testvmm: running on the simulated KVM (%s)\n", nv_format_to_string(v->vendor));
        nv_sim_config_init(&cfg, v->vendor);
        return nv_sim_backend_open(&cfg, &v->kvm, &v->sim, reterr);
}

static int setup_vm(Vmm *v, Backend backend, int vendor, bool restore, NvError **reterr) {
        int r;

        r = open_kvm(v, backend, vendor, reterr);
        if (r >= 0)
                r = nv_kvm_create_vm(v->kvm, reterr);
        if (r >= 0 && !v->sim) {
                v->mem = mmap(NULL, GS_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (v->mem == MAP_FAILED) {
                        v->mem = NULL;
                        return nv_error_set(reterr, -errno, "Cannot map guest memory: %s", strerror(errno));
                }
                r = nv_kvm_set_memory(v->kvm, v->mem, GS_MEM_SIZE, reterr);
        }
        for (unsigned i = 0; r >= 0 && i < v->n; i++)
                r = nv_kvm_create_vcpu(v->kvm, i, &v->vcpus[i], reterr);
        if (r < 0)
                return r;
        return restore ? restore_own(v, reterr) : boot(v, reterr);
}

/*
 * --register: instead of listening, hand nestvirtd (on the system bus) one
 * end of a socket pair with RegisterVmm and serve the agent on the other.
 */
static int register_with_nestvirtd(Vmm *v, NvAgent *agent, const char *uuid, sd_event *event, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int fds[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                return nv_error_set(reterr, -errno, "socketpair: %s", strerror(errno));
        r = nv_agent_serve_fd(agent, fds[0], event, reterr);
        if (r >= 0 && (r = sd_bus_open_system(&v->bus)) >= 0)
                r = sd_bus_call_method(v->bus, "org.nestvirt.NestedState1", "/org/nestvirt/NestedState1",
                                       "org.nestvirt.NestedState1.Manager", "RegisterVmm", &e, NULL, "sha{sv}", uuid, fds[1], 0);
        close(fds[1]); /* nestvirtd has its own copy now */
        if (r < 0)
                return nv_error_set(reterr, r, "RegisterVmm: %s", e.message ?: strerror(-r));
        return sd_bus_attach_event(v->bus, event, 0);
}

static int on_pause_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return si->ssi_signo == SIGHUP ? vmm_pause(userdata) : vmm_resume(userdata);
}

static int run(Vmm *v, const char *socket, const char *uuid, bool no_agent, NvError **reterr) {
        _cleanup_(nv_agent_freep) NvAgent *agent = NULL;
        sd_event *event = NULL;
        sigset_t ss;
        int r;

        NvAgentVmm desc = { .vm_uuid = uuid, .kvm = v->kvm, .vcpus = v->vcpus, .n_vcpus = v->n, .pause = vmm_pause,
                            .resume = vmm_resume, .userdata = v, .allowed_uid = getuid(), .idle_timeout_usec = v->idle_timeout_usec,
                            .incoming = v->paused /* --restore: resumed from its own state */ };
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGUSR1);
        sigaddset(&ss, SIGUSR2);
        if (no_agent) {
                sigaddset(&ss, SIGHUP);
                sigaddset(&ss, SIGCONT);
        }
        sigprocmask(SIG_BLOCK, &ss, NULL);
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &v->tick, CLOCK_MONOTONIC, TICK_USEC, /* accuracy= */ 1, on_tick, v);
        if (r < 0 || sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL) < 0 ||
            sd_event_add_signal(event, NULL, SIGUSR1, on_usr1, v) < 0 || sd_event_add_signal(event, NULL, SIGUSR2, on_usr2, v) < 0)
                return nv_error_set(reterr, -EIO, "Cannot set up the event loop.");
        if (no_agent && (sd_event_add_signal(event, NULL, SIGHUP, on_pause_signal, v) < 0 ||
                         sd_event_add_signal(event, NULL, SIGCONT, on_pause_signal, v) < 0))
                return nv_error_set(reterr, -EIO, "Cannot set up the event loop.");
        r = no_agent ? 0 : nv_agent_new(&desc, &agent, reterr);
        if (r >= 0 && !no_agent)
                r = socket ? nv_agent_listen(agent, socket, event, reterr) : register_with_nestvirtd(v, agent, uuid, event, reterr);
        if (r < 0)
                return r;
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(event);
        sd_event_source_unref(v->tick);
        v->bus = sd_bus_flush_close_unref(v->bus);
        sd_event_unref(event);
        return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },       { "socket", required_argument, NULL, 's' },
                { "vcpus", required_argument, NULL, 'n' }, { "vendor", required_argument, NULL, 'v' },
                { "own-state", required_argument, NULL, 'o' }, { "restore", no_argument, NULL, 'r' },
                { "uuid", required_argument, NULL, 'u' },  { "sim", no_argument, NULL, 'S' },
                { "kvm", no_argument, NULL, 'K' },         { "register", no_argument, NULL, 'R' },
                { "idle-timeout", required_argument, NULL, 'I' },
                { "shadow-vmcs", no_argument, NULL, OPT_SHADOW_VMCS },
                { "no-agent", no_argument, NULL, 'A' },
                { "tick-exits", no_argument, NULL, 'T' },
                {},
        };
        _cleanup_(nv_error_freep) NvError *err = NULL;
        const char *socket = NULL, *uuid = "00000000-0000-0000-0000-000000000000";
        Vmm v = { .n = 2, .own_state = "testvmm.state" };
        int c, r, vendor = -1; /* -1: the real KVM's, else SVM */
        uint64_t u;
        Backend backend = BACKEND_AUTO;
        bool restore = false, reg = false, no_agent = false, bad_vendor = false;

        while ((c = getopt_long(argc, argv, "hs:n:v:o:ru:SKRI:AT", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("Usage: nestvirt-testvmm --socket PATH|--register [--vcpus N] [--sim|--kvm] [--vendor svm|vmx]\n"
                               "                        [--own-state FILE] [--restore] [--uuid UUID] [--idle-timeout MS]\n"
                               "                        [--tick-exits]\n"
                               "       nestvirt-testvmm --no-agent ...: no nestvirt code runs; SIGHUP pauses, SIGCONT resumes\n"
                               "--vcpus: up to 1024 simulated, 64 on real KVM.  --shadow-vmcs: the simulated VMX L1\n"
                               "shadows its VMCS, so each vCPU's nested state is 8320 bytes.\n"
                               "--register hands nestvirtd (system bus) a socket pair end instead of listening.\n"
                               "Runs an SVM or VMX L1 hypervisor on real KVM when /dev/kvm has nested state (of\n"
                               "--vendor, if given), else the simulated KVM of --vendor (default svm)\n"
                               "(--sim: always simulated, --kvm: real or fail).\n");
                        return 0;
                case 's': socket = optarg; break;
                case 'n': v.n = nv_parse_unsigned(optarg, 10, UINT_MAX, &u) < 0 ? 0 : (unsigned) u; break;
                case 'v':
                        vendor = nv_format_from_string(optarg);
                        bad_vendor = vendor < 0;
                        break;
                case 'o': v.own_state = optarg; break;
                case 'r': restore = true; break;
                case 'u': uuid = optarg; break;
                case 'S': backend = BACKEND_SIM; break;
                case OPT_SHADOW_VMCS: v.shadow_vmcs = true; break;
                case 'K': backend = BACKEND_KVM; break;
                case 'R': reg = true; break;
                case 'A': no_agent = true; break;
                case 'T': v.print_ticks = true; break;
                case 'I': v.idle_timeout_usec = strtoull(optarg, NULL, 10) * 1000u; break;
                default: return 1;
                }
        }
        if ((no_agent ? socket || reg : !socket == !reg) || v.n < 1 || v.n > MAX_VCPUS || bad_vendor) {
                fprintf(stderr, "error: one of --socket, --register and --no-agent is required, --vcpus is 1 to %d, --vendor is vmx or svm\n", MAX_VCPUS);
                return 1;
        }
        /* Restoring, the vCPUs wait for their nested state: only the driver's Thaw starts them. */
        v.paused = restore;
        r = setup_vm(&v, backend, vendor, restore, &err);
        if (r >= 0)
                r = run(&v, socket, uuid, no_agent, &err);
        if (r < 0)
                fprintf(stderr, "error: %s\n", nv_error_message(err, r));
        for (unsigned i = 0; i < v.n; i++)
                nv_vcpu_free(v.vcpus[i]);
        nv_kvm_free(v.kvm);
        if (v.mem)
                munmap(v.mem, GS_MEM_SIZE);
        return r < 0 ? 1 : 0;
}
