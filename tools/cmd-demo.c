/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt demo: the core path end to end on one small VM.  L1 enters L2 on
 * every vCPU, L2 runs, the VM's vCPU state (nested state included) is saved
 * with the quiesce rule, the VM is destroyed, a fresh VM is loaded from the
 * saved state, and L2 must continue where it stopped.  Finally a corrupted
 * copy is refused and the vCPU is shown unchanged.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "cli-demo.h"
#include "fields.h"
#include "sim.h"
#include "util.h"
#include "vcpu.h"
#include "x86-arch.h"

#define DEMO_MAX_VCPUS 64
#define DEMO_RUNS 3

typedef struct Demo {
        CliKvm k; /* k.sim: the simulator's guest model runs L1 and L2; on /dev/kvm the vCPUs stay idle */
        NvVcpu *vcpus[DEMO_MAX_VCPUS];
        unsigned n;
} Demo;

static void demo_free(Demo *d) {
        for (unsigned i = 0; i < d->n; i++)
                d->vcpus[i] = nv_vcpu_free(d->vcpus[i]);
        cli_kvm_close(&d->k);
}

static int demo_vm(Demo *d, bool sim, int vendor, unsigned n, NvError **reterr) {
        int r;

        *d = (Demo) {};
        r = cli_open_backend(sim, vendor, &d->k, reterr);
        if (r >= 0)
                r = nv_kvm_create_vm(d->k.kvm, reterr);
        for (unsigned i = 0; r >= 0 && i < n; i++, d->n++)
                r = nv_kvm_create_vcpu(d->k.kvm, i, &d->vcpus[i], reterr);
        return r;
}

static void print_blob(unsigned id, const NvBlob *b, const struct kvm_regs *regs) {
        const char *names[8];
        NvNestedHeader h;
        size_t n;

        if (nv_nested_header_parse(b->data, b->len, &h, NULL) < 0)
                return;
        n = nv_nested_flag_names(h.flags, names, ELEMENTSOF(names));
        printf(_("  vCPU %u: %zu bytes, format %s, flags"), id, b->len, nv_format_to_string(h.format) ?: "?");
        for (size_t i = 0; i < n; i++)
                printf("%s%s", i ? "|" : " ", names[i]);
        if (n == 0)
                printf(" 0");
        printf(_(", L2 RIP 0x%llx, L2 counter %llu\n"), (unsigned long long) regs->rip, (unsigned long long) regs->rbx);
}

/* Steps 1-2: L1 enters L2, L2 runs, every vCPU is saved. */
static int demo_save(Demo *d, NvVcpuRegsNested **states, NvError **reterr) {
        static const uint32_t msrs[] = { MSR_EFER, MSR_IA32_SYSENTER_CS };
        NvSim *sim = d->k.sim;
        int r;

        for (unsigned i = 0; sim && i < d->n; i++) {
                r = nv_sim_vcpu_enter_l2(sim, i, false);
                if (r < 0)
                        return nv_error_set(reterr, r, _("L1 on vCPU %u could not enter L2."), i);
                for (unsigned k = 0; k < DEMO_RUNS + i; k++)
                        if ((r = nv_kvm_vcpu_run(d->vcpus[i], reterr)) < 0)
                                return r;
        }
        printf(sim ? _("1. L1 entered L2 on %u vCPUs; L2 ran and each vCPU stopped on a port I/O exit.\n")
                   : _("1. %u idle vCPUs created (entering L2 on real KVM needs a guest hypervisor: see tests/e2e).\n"),
               d->n);
        printf(_("2. Saved (each vCPU quiesced first, so its pending I/O completed):\n"));
        for (unsigned i = 0; i < d->n; i++) {
                r = nv_vcpu_save_regs_nested(d->vcpus[i], msrs, ELEMENTSOF(msrs), &states[i], reterr);
                if (r < 0)
                        return r;
                print_blob(i, &states[i]->nested, &states[i]->regs);
        }
        return 0;
}

/* Steps 3-4: a fresh VM takes the saved state, and L2 runs on from it. */
static int demo_restore(Demo *d, NvVcpuRegsNested **states, NvError **reterr) {
        struct kvm_regs regs;
        int r;

        for (unsigned i = 0; i < d->n; i++)
                if ((r = nv_vcpu_load_regs_nested(d->vcpus[i], states[i], reterr)) < 0)
                        return r;
        printf(_("3. A new VM was created and every vCPU restored (sregs, MSRs, events, nested state, regs).\n"));
        printf(_("4. L2 runs again:\n"));
        for (unsigned i = 0; i < d->n; i++) {
                if (d->k.sim && (r = nv_kvm_vcpu_run(d->vcpus[i], reterr)) < 0)
                        return r;
                if ((r = nv_kvm_get_regs(d->vcpus[i], &regs, reterr)) < 0)
                        return r;
                printf(_("  vCPU %u: L2 counter %llu -> %llu, RIP 0x%llx (the saved OUT was not repeated)\n"), i,
                       (unsigned long long) states[i]->regs.rbx, (unsigned long long) regs.rbx,
                       (unsigned long long) regs.rip);
                if (d->k.sim && regs.rbx != states[i]->regs.rbx + 1)
                        return nv_error_set(reterr, -EIO, _("vCPU %u did not continue where it stopped."), i);
        }
        return 0;
}

const char *cli_examples_dir(void) {
        return access(NV_EXAMPLES_BUILD_DIR "/node.xml", R_OK) == 0 ? NV_EXAMPLES_BUILD_DIR : NV_EXAMPLES_INSTALL_DIR;
}

void cli_damage_blob(NvBlob *b) {
        if (b->len >= NV_SVM_MAX_SIZE && nv_blob_format(b->data, b->len) == NV_FORMAT_SVM)
                put_le32(b->data + NV_OFF_DATA + VMCB_CTL_ASID, 0);
        else if (b->len >= NV_SVM_MAX_SIZE)
                put_le32(b->data + NV_OFF_DATA + VMCS12_REVISION_ID, 0x12345678);
        else
                put_le16(b->data + NV_OFF_FLAGS, 0x80); /* unknown flag */
}

/* Step 5: a corrupted copy is refused and vCPU 0 keeps its state. */
static int demo_refuse(Demo *d, const NvVcpuRegsNested *good, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *why = NULL;
        NvVcpuRegsNested bad = *good;
        NvBlob before = {}, after = {};
        int r;

        bad.msrs = NULL;
        bad.nested.data = malloc(good->nested.len);
        if (!bad.nested.data)
                return -ENOMEM;
        memcpy(bad.nested.data, good->nested.data, good->nested.len);
        cli_damage_blob(&bad.nested);
        r = nv_vcpu_get_nested(d->vcpus[0], true, &before, reterr);
        if (r >= 0 && nv_vcpu_load_regs_nested(d->vcpus[0], &bad, &why) >= 0)
                r = nv_error_set(reterr, -EIO, _("The corrupted state was accepted."));
        if (r >= 0)
                r = nv_vcpu_get_nested(d->vcpus[0], true, &after, reterr);
        if (r >= 0) {
                bool same = before.len == after.len && memcmp(before.data, after.data, before.len) == 0;
                printf(_("5. A corrupted copy was refused: %s\n   vCPU 0 nested state %s.\n"), nv_error_message(why, -EINVAL),
                       same ? _("unchanged") : _("CHANGED"));
                if (!same)
                        r = nv_error_set(reterr, -EIO, _("A refused restore changed vCPU 0."));
        }
        nv_blob_clear(&bad.nested);
        nv_blob_clear(&before);
        nv_blob_clear(&after);
        return r < 0 ? r : 0;
}

static int demo_run(bool sim, int vendor, unsigned n, NvError **reterr) {
        NvVcpuRegsNested *states[DEMO_MAX_VCPUS] = {};
        Demo a = {}, b = {};
        int r;

        r = demo_vm(&a, sim, vendor, n, reterr);
        if (r >= 0) {
                const NvHostInfo *host = &a.k.host;
                printf(_("nestvirt demo on %s KVM (%s, KVM_CAP_NESTED_STATE %d)%s\n"), nv_kvm_backend_name(a.k.kvm),
                       host->cpu_vendor >= 0 ? nv_format_to_string(host->cpu_vendor) : "?", host->nested_state_max,
                       a.k.fallback ?: "");
                r = demo_save(&a, states, reterr);
        }
        demo_free(&a);
        if (r >= 0)
                r = demo_vm(&b, sim, vendor, n, reterr);
        if (r >= 0)
                r = demo_restore(&b, states, reterr);
        if (r >= 0)
                r = demo_refuse(&b, states[0], reterr);
        if (r >= 0)
                printf(_("Done: nested state of %u vCPUs saved, restored and checked on %s KVM.\n"), n,
                       nv_kvm_backend_name(b.k.kvm));
        demo_free(&b);
        for (unsigned i = 0; i < n; i++)
                nv_vcpu_regs_nested_free(states[i]);
        return r;
}

int cmd_demo(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "in-process", no_argument, NULL, 'i' },
                { "domain", required_argument, NULL, 'd' },
                { "sim", no_argument, NULL, 's' },
                { "vcpus", required_argument, NULL, 'n' },
                { "vendor", required_argument, NULL, 'v' },
                {},
        };
        const char *domain = NULL; /* the host's vendor's example */
        uint64_t n = 2;
        int c, vendor = -1;
        bool in_process = false;

        while ((c = getopt_long(argc, argv, "hid:sn:v:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt [-c URI] demo [--domain NAME]\n"
                                 "       nestvirt demo --in-process [--vcpus N] [--vendor vmx|svm] [--sim]\n\n"
                                 "Save and restore a nested domain for real, showing each step: the reference\n"
                                 "VMM runs the domain (L1 enters L2 on every vCPU), 'nestvirt save' collects\n"
                                 "its nested state over D-Bus and references it from the domain's XML, the\n"
                                 "VMM is killed and restarted from its own state, 'nestvirt restore' loads\n"
                                 "the nested state back, and L2 continues.  Default URI: libvirt's test\n"
                                 "driver on %s/node.xml; without /dev/kvm the VMM\n"
                                 "runs on the simulated KVM and says so.\n\n"
                                 "  --domain NAME    the domain to use (default vmx-custom where KVM has\n"
                                 "                   nested VMX, else svm-passthrough)\n"
                                 "  --in-process     instead, the KVM path alone in this process: save a\n"
                                 "                   small VM's vCPUs, destroy it, load a fresh one\n"
                                 "  --vcpus N        (--in-process) number of vCPUs, 1 to %d (default 2)\n"
                                 "  --vendor V       (--in-process) simulated vendor: vmx or svm\n"
                                 "  --sim            (--in-process) use the simulated KVM even if /dev/kvm exists\n"),
                               cli_examples_dir(), DEMO_MAX_VCPUS);
                        return 0;
                case 'i':
                        in_process = true;
                        break;
                case 'd':
                        domain = optarg;
                        break;
                case 's':
                        cli->force_sim = true;
                        break;
                case 'n':
                        if (nv_parse_unsigned(optarg, 10, DEMO_MAX_VCPUS, &n) < 0 || n < 1)
                                return nv_error_set(reterr, -EINVAL, _("--vcpus takes a number from 1 to %d, not '%s'."),
                                                    DEMO_MAX_VCPUS, optarg);
                        break;
                case 'v':
                        vendor = nv_format_from_string(optarg);
                        if (vendor < 0)
                                return nv_error_set(reterr, -EINVAL, _("--vendor takes 'vmx' or 'svm', not '%s'."), optarg);
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (optind < argc)
                return nv_error_set(reterr, -EINVAL, _("Unexpected argument '%s'."), argv[optind]);
        if (!in_process)
                return cli_demo_flow(cli->uri, domain, reterr);
        return demo_run(cli->force_sim, vendor, (unsigned) n, reterr);
}
