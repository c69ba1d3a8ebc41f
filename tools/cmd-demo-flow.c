/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt demo: the main job on the embedded default.  libvirt's
 * in-process test driver holds the domain (data/examples/node.xml), the
 * reference VMM runs it (on real KVM with nested state of the domain's
 * vendor, else on the simulated KVM), and the driver
 * talks to the VMM over peer-to-peer D-Bus on a socket in a temporary
 * directory.  The steps are exactly what `nestvirt save`, a VMM restart and
 * `nestvirt restore` do on a host; they run in one process because the
 * test driver's state lives only as long as its connection.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "cli-demo.h"
#include "cli-vmm-proc.h"
#include "fields.h"

#define FLOW_MAX_VCPUS 64
#define FLOW_RUN_USEC 300000
#define FLOW_WAIT_USEC (60 * 1000000ull) /* for L2 to go on: under an emulator (Bochs' VMX) a turn may take long */

typedef struct Flow {
        NvDriver *driver;
        const char *domain;
        char dir[64];
        char sock[128], own[128], uuid[37], vcpus[12];
        const char *vendor; /* the simulated VMM's: what the domain's CPU asks for */
        unsigned n;
        CliVmmProc vmm;
        uint64_t saved[FLOW_MAX_VCPUS];
        char *snapshot;
} Flow;

static void print_counters(const char *label, const uint64_t *c, unsigned n) {
        printf("   %s", label);
        for (unsigned i = 0; i < n; i++)
                printf(" %llu", (unsigned long long) c[i]);
        printf("\n");
}

/*
 * Lets the VMM run, then reads its counters until every vCPU's passed
 * than[]: 0, or -ETIMEDOUT with the first vCPU that did not in *stuck.
 */
static int wait_progress(Flow *f, const uint64_t *than, uint64_t *now, unsigned *stuck, NvError **reterr) {
        uint64_t deadline = nv_now_usec(CLOCK_MONOTONIC) + FLOW_WAIT_USEC;
        int r;

        *stuck = 0; /* set on every return; said here for the optimizer, which cannot see it through the loop */
        usleep(FLOW_RUN_USEC);
        for (;;) {
                r = cli_vmm_counters(&f->vmm, now, f->n, reterr);
                if (r < 0)
                        return r;
                for (*stuck = 0; *stuck < f->n && now[*stuck] > than[*stuck]; ++*stuck)
                        ;
                if (*stuck == f->n)
                        return 0;
                if (nv_now_usec(CLOCK_MONOTONIC) > deadline)
                        return -ETIMEDOUT;
                usleep(FLOW_RUN_USEC / 3);
        }
}

static int start_vmm(Flow *f, bool restore, NvError **reterr) {
        char *argv[] = { (char *) cli_testvmm_path(), (char *) "--socket", f->sock, (char *) "--vcpus", f->vcpus,
                         (char *) "--uuid", f->uuid, (char *) "--own-state", f->own, (char *) "--vendor", (char *) f->vendor,
                         restore ? (char *) "--restore" : NULL, NULL };

        return cli_vmm_start(argv, &f->vmm, reterr);
}

/* Points the domain's VMM socket into our temporary directory (live only: the demo's own copy). */
static int setup_domain(Flow *f, NvError **reterr) {
        NvDomainEntry e = {};
        int r;

        r = nv_conn_get_domain(nv_driver_conn(f->driver), f->domain, &e, reterr);
        if (r < 0)
                return r;
        if (!e.def->meta || e.def->vcpus_current > FLOW_MAX_VCPUS)
                r = nv_error_set(reterr, -EINVAL, _("Domain '%s' has no nestvirt metadata or too many vCPUs for the demo."),
                                 f->domain);
        if (r >= 0) {
                f->n = e.def->vcpus_current;
                snprintf(f->uuid, sizeof(f->uuid), "%s", e.def->uuid);
                snprintf(f->vcpus, sizeof(f->vcpus), "%u", f->n);
                f->vendor = e.def->feature[NV_FORMAT_VMX] == NV_FEATURE_REQUIRE || e.def->feature[NV_FORMAT_VMX] == NV_FEATURE_FORCE
                                    ? "vmx" : "svm";
                /* A bus-reached VMM (vmx-custom) becomes a socket one: its bus, name and path go. */
                e.def->meta->written.transport = NV_VMM_TRANSPORT_SOCKET;
                e.def->meta->written.bus = -1;
                free(e.def->meta->written.object_path);
                free(e.def->meta->bus_name);
                e.def->meta->written.object_path = e.def->meta->bus_name = NULL;
                free(e.def->meta->socket);
                e.def->meta->socket = strdup(f->sock);
                r = e.def->meta->socket ? nv_conn_set_meta(nv_driver_conn(f->driver), f->domain, e.def->meta, NV_AFFECT_LIVE, reterr)
                                        : -ENOMEM;
        }
        nv_domain_def_free(e.def);
        return r;
}

static int step_save(Flow *f, NvError **reterr) {
        NvSaveResult res = {};
        int r;

        printf(_("2. $ nestvirt save %s --keep-frozen\n"), f->domain);
        r = nv_driver_save(f->driver, f->domain, &(NvSaveOptions) { .keep_frozen = true }, &res, reterr);
        if (r < 0)
                return r;
        printf(dngettext(GETTEXT_PACKAGE, "   %u vCPU, %u in guest mode, %llu bytes -> %s\n", "   %u vCPUs, %u in guest mode, %llu bytes -> %s\n",
                          res.ref.vcpus), res.ref.vcpus, res.guest_mode_vcpus,
               (unsigned long long) res.bytes, res.ref.path);
        printf(_("   the domain's XML now says: <nestvirt:state path=\"%s\" sha256=\"%.16s...\" vcpus=\"%u\"/>\n"), res.ref.path,
               res.ref.sha256, res.ref.vcpus);
        f->snapshot = TAKE_PTR(res.ref.path);
        nv_save_result_clear(&res);
        return 0;
}

/* The VMM saves its own part while still frozen, then dies: the instant both halves describe. */
static int step_kill(Flow *f, NvError **reterr) {
        int r;

        kill(f->vmm.pid, SIGUSR1);
        r = cli_vmm_expect(&f->vmm, "saved own state", NULL, 0, 5000, reterr);
        if (r >= 0)
                r = cli_vmm_counters(&f->vmm, f->saved, f->n, reterr);
        if (r < 0)
                return r;
        printf(_("3. The frozen VMM saves its own state (registers, memory) to %s and is killed (SIGKILL).\n"), f->own);
        print_counters(_("L2 counters at the save:"), f->saved, f->n);
        cli_vmm_kill(&f->vmm);
        return 0;
}

static int step_restore(Flow *f, NvError **reterr) {
        NvRestoreResult res = {};
        uint64_t now[FLOW_MAX_VCPUS];
        unsigned i;
        int r;

        printf(_("4. A fresh VMM starts from its own state, paused until its nested state is back.\n"));
        r = start_vmm(f, true, reterr);
        if (r < 0)
                return r;
        printf(_("5. $ nestvirt restore %s        (reads the reference the save wrote)\n"), f->domain);
        r = nv_driver_restore(f->driver, f->domain, &(NvRestoreOptions) {}, &res, reterr);
        if (r < 0)
                return r;
        printf(dngettext(GETTEXT_PACKAGE, "   loaded %u vCPU, %u in guest mode, from %s; VMM frozen %.1f ms\n",
                          "   loaded %u vCPUs, %u in guest mode, from %s; VMM frozen %.1f ms\n", res.vcpus), res.vcpus, res.guest_mode_vcpus, res.path,
               (double) res.frozen_usec / 1000.0);
        if (res.kernel_unchecked)
                printf(_("   note: not checked: %s\n"), _(res.kernel_unchecked));
        else
                printf(_("   the kernel accepted every blob on a scratch vCPU before the VMM was touched\n"));
        nv_restore_result_clear(&res);
        r = wait_progress(f, f->saved, now, &i, reterr);
        if (r == -ETIMEDOUT)
                return nv_error_set(reterr, -EIO, _("L2 on vCPU %u did not continue: %llu at the save, %llu now."), i,
                                    (unsigned long long) f->saved[i], (unsigned long long) now[i]);
        if (r < 0)
                return r;
        print_counters(_("L2 counters now:        "), now, f->n);
        printf(_("6. L2 continued where it stopped on every vCPU.\n"));
        return 0;
}

/* A copy with intact checksums but a blob the kernel would refuse: only the validator can stop it. */
static int step_refuse(Flow *f, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *why = NULL;
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ char *bad = NULL;
        uint64_t before[FLOW_MAX_VCPUS], after[FLOW_MAX_VCPUS];
        NvRestoreResult res = {};
        unsigned i;
        int r;

        if (asprintf(&bad, "%s/damaged.nvstate", f->dir) < 0)
                return -ENOMEM;
        r = nv_snapshot_read(f->snapshot, &s, reterr);
        if (r >= 0) {
                cli_damage_blob(&s->vcpus[0].blob);
                r = nv_snapshot_write(bad, s, reterr);
        }
        if (r >= 0)
                r = cli_vmm_counters(&f->vmm, before, f->n, reterr);
        if (r < 0)
                return r;
        /* --force: the VMM runs (no longer incoming), and it is the damage that must refuse the file. */
        printf(_("7. $ nestvirt restore %s --file %s --force\n"), f->domain, bad);
        r = nv_driver_restore(f->driver, f->domain, &(NvRestoreOptions) { .file = bad, .force = true }, &res, &why);
        nv_restore_result_clear(&res);
        if (r >= 0)
                return nv_error_set(reterr, -EIO, _("The damaged snapshot was accepted."));
        printf(_("   error: %s\n"), nv_error_message(why, r));
        r = wait_progress(f, before, after, &i, reterr);
        if (r == -ETIMEDOUT)
                return nv_error_set(reterr, -EIO, _("After the refusal, L2 on vCPU %u stopped."), i);
        if (r < 0)
                return r;
        print_counters(_("the VMM was not touched; L2 runs on:"), after, f->n);
        return 0;
}

static int flow_run(Flow *f, const char *uri, NvError **reterr) {
        uint64_t c[FLOW_MAX_VCPUS], zero[FLOW_MAX_VCPUS] = {};
        _cleanup_free_ char *state = NULL, *run = NULL;
        unsigned i = 0; /* start_vmm() could fail with -ETIMEDOUT too */
        int r;

        if (asprintf(&state, "%s/state", f->dir) < 0 || asprintf(&run, "%s/run", f->dir) < 0)
                return -ENOMEM;
        r = cli_open_driver(uri, state, run, &f->driver, reterr);
        if (r >= 0)
                r = setup_domain(f, reterr);
        if (r < 0)
                return r;
        printf(_("nestvirt demo: save and restore the nested state of domain '%s' (%u vCPUs)\n"), f->domain, f->n);
        printf(_("   libvirt: %s\n   VMM:     %s, peer-to-peer D-Bus on %s\n   state:   %s\n"), uri, cli_testvmm_path(),
               f->sock, state);
        printf(_("1. The VMM starts; L1 enters L2 on every vCPU.\n"));
        r = start_vmm(f, false, reterr);
        if (r >= 0)
                r = wait_progress(f, zero, c, &i, reterr);
        if (r == -ETIMEDOUT)
                r = nv_error_set(reterr, -EIO, _("L2 did not start on vCPU %u."), i);
        if (r >= 0)
                print_counters(_("L2 counters:"), c, f->n);
        if (r >= 0)
                r = step_save(f, reterr);
        if (r >= 0)
                r = step_kill(f, reterr);
        if (r >= 0)
                r = step_restore(f, reterr);
        if (r >= 0)
                r = step_refuse(f, reterr);
        return r;
}

/* The examples' domain of the vendor whose nested state this host's KVM can save, so that the VMM runs on it for real. */
static const char *default_domain(void) {
        _cleanup_(nv_kvm_freep) NvKvm *kvm = NULL;

        if (nv_kvm_open(NULL, &kvm, NULL) >= 0 && nv_kvm_vendor(kvm) == NV_FORMAT_VMX)
                return "vmx-custom";
        return "svm-passthrough";
}

int cli_demo_flow(const char *uri, const char *domain, NvError **reterr) {
        _cleanup_free_ char *default_uri = NULL;
        Flow f = { .domain = domain ?: default_domain(), .vmm = { .out = -1 } };
        int r;

        snprintf(f.dir, sizeof(f.dir), "%s/nestvirt-demo-XXXXXX", "/tmp");
        if (!mkdtemp(f.dir))
                return nv_error_set(reterr, -errno, _("Cannot create a temporary directory: %s"), strerror(errno));
        snprintf(f.sock, sizeof(f.sock), "%s/vmm.sock", f.dir);
        snprintf(f.own, sizeof(f.own), "%s/vmm-own.state", f.dir);
        if (!uri && asprintf(&default_uri, "test://%s/node.xml", cli_examples_dir()) < 0)
                return -ENOMEM;
        r = flow_run(&f, uri ?: default_uri, reterr);
        cli_vmm_kill(&f.vmm);
        nv_driver_free(f.driver);
        if (r >= 0)
                printf(_("Done: L2 survived save, VMM kill, restart and restore; a damaged snapshot was refused.\n"
                         "(Files are left in %s for inspection: nestvirt inspect %s)\n"), f.dir, f.snapshot);
        free(f.snapshot);
        return r;
}
