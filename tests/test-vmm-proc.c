/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VMM process with no nestvirt code in it, reached through ptrace, on the
 * real /dev/kvm (nested state not needed for most of it): discovery and its
 * refusals, the freeze with the quiesce rule (an OUT awaiting completion is
 * completed by an immediate exit, never repeated), KVM ioctls run inside
 * the VMM, and the VMM running on unharmed.  Skips (77) without a /dev/kvm
 * that can run a VM; the nested-state parts skip when KVM_CAP_NESTED_STATE
 * is 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm.h"
#include "driver.h"
#include "vmm-backend.h"
#include "vmm-proc.h"

#define N_VCPUS 2
#define PORT 0x10
#define GUEST_MEM (64 * 1024)
#define SPIN_OFFSET 0x100

typedef enum Mode {
        MODE_OUT_SLEEP, /* OUT, then the VMM sleeps 1 ms before the next KVM_RUN */
        MODE_SPIN,      /* the guest never exits: the thread is always inside KVM_RUN */
        MODE_PAUSED,    /* after its first OUT the VMM pauses until sh->go: no KVM_RUN */
} Mode;

typedef struct Shared {
        volatile uint64_t outs[N_VCPUS], repeats[N_VCPUS], skips[N_VCPUS], eintr[N_VCPUS], failed[N_VCPUS];
        volatile uint8_t last[N_VCPUS];
        volatile int go;
} Shared;

typedef struct Vmm {
        pid_t pid;
        int to; /* closing it ends the child */
        Shared *sh;
} Vmm;

typedef struct VcpuArg {
        NvVcpu *vcpu;
        unsigned i;
        Mode mode;
        Shared *sh;
} VcpuArg;

static void *vcpu_thread(void *p) {
        VcpuArg *a = p;
        struct kvm_run *run = nv_vcpu_run_area(a->vcpu);

        for (;;) {
                int r = nv_kvm_vcpu_run(a->vcpu, NULL);
                uint8_t val;
                if (r == -EINTR) {
                        a->sh->eintr[a->i]++;
                        continue;
                }
                if (r < 0 || run->exit_reason != KVM_EXIT_IO || run->io.port != PORT) {
                        a->sh->failed[a->i]++;
                        return NULL;
                }
                val = *((uint8_t *) run + run->io.data_offset);
                if (a->sh->outs[a->i] && val == a->sh->last[a->i])
                        a->sh->repeats[a->i]++;
                else if (a->sh->outs[a->i] && val != (uint8_t) (a->sh->last[a->i] + 1))
                        a->sh->skips[a->i]++;
                a->sh->last[a->i] = val;
                a->sh->outs[a->i]++;
                if (a->mode == MODE_OUT_SLEEP)
                        usleep(1000);
                while (a->mode == MODE_PAUSED && !a->sh->go)
                        usleep(1000);
        }
}

/* Real mode at 0: out %al,$PORT; inc %al; jmp 0.  At SPIN_OFFSET: jmp . */
static void vcpu_setup(NvVcpu *v, Mode mode) {
        struct kvm_sregs sr;
        struct kvm_regs regs = { .rflags = 2, .rip = mode == MODE_SPIN ? SPIN_OFFSET : 0 };

        if (nv_kvm_get_sregs(v, &sr, NULL) < 0)
                _exit(4);
        sr.cs.base = 0;
        sr.cs.selector = 0;
        if (nv_kvm_set_sregs(v, &sr, NULL) < 0 || nv_kvm_set_regs(v, &regs, NULL) < 0)
                _exit(5);
}

static _Noreturn void vmm_main(Mode mode, int n_vms, int in, Shared *sh) {
        static const uint8_t code[] = { 0xe6, PORT, 0xfe, 0xc0, 0xeb, 0xfa };
        NvKvm *kvm[2] = {};
        uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        VcpuArg args[N_VCPUS];
        char c;

        if (mem == MAP_FAILED)
                _exit(2);
        memcpy(mem, code, sizeof code);
        mem[SPIN_OFFSET] = 0xeb;
        mem[SPIN_OFFSET + 1] = 0xfe;
        for (int k = 0; k < n_vms; k++)
                if (nv_kvm_open(NULL, &kvm[k], NULL) < 0 || nv_kvm_create_vm(kvm[k], NULL) < 0)
                        _exit(3);
        if (nv_kvm_set_memory(kvm[0], mem, GUEST_MEM, NULL) < 0)
                _exit(3);
        for (unsigned i = 0; n_vms == 1 && i < N_VCPUS; i++) {
                pthread_t th;
                args[i] = (VcpuArg) { .i = i, .mode = mode, .sh = sh };
                if (nv_kvm_create_vcpu(kvm[0], i, &args[i].vcpu, NULL) < 0)
                        _exit(4);
                vcpu_setup(args[i].vcpu, mode);
                pthread_create(&th, NULL, vcpu_thread, &args[i]);
        }
        while (read(in, &c, 1) > 0)
                ;
        _exit(0);
}

static void vmm_start(Vmm *v, Mode mode, int n_vms) {
        int p[2];

        v->sh = mmap(NULL, sizeof *v->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(v->sh != MAP_FAILED);
        assert_int_equal(pipe(p), 0);
        v->pid = fork();
        assert_true(v->pid >= 0);
        if (v->pid == 0) {
                close(p[1]);
                vmm_main(mode, n_vms, p[0], v->sh);
        }
        close(p[0]);
        v->to = p[1];
        for (int i = 0; i < 200 && n_vms == 1 && (mode == MODE_SPIN ? v->sh->outs[0] == 0 && i < 20 : v->sh->outs[N_VCPUS - 1] < 5); i++)
                usleep(5000);
}

static void vmm_stop(Vmm *v) {
        int status;
        close(v->to);
        kill(v->pid, SIGKILL);
        waitpid(v->pid, &status, 0);
        munmap(v->sh, sizeof *v->sh);
}

static void vmm_assert_healthy(const Vmm *v) {
        for (unsigned i = 0; i < N_VCPUS; i++) {
                assert_int_equal(v->sh->failed[i], 0);
                assert_int_equal(v->sh->repeats[i], 0);
                assert_int_equal(v->sh->skips[i], 0);
        }
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Lets the VMM go, keeping what was learnt; *inout_usec: from the start time to how long it was stopped. */
static NvVmmProc *release_timed(NvVmmProc *p, uint64_t *inout_usec) {
        nv_vmm_proc_thaw(p);
        *inout_usec = now_usec() - *inout_usec;
        return p;
}

static void test_not_kvm(void **state) {
        NvVmmProc *p = NULL;
        NvError *err = NULL;
        int r;

        r = nv_vmm_proc_open(getpid(), &p, &err);
        assert_int_equal(r, -ENODEV);
        assert_non_null(strstr(nv_error_message(err, r), "not a KVM VMM"));
        nv_error_free(err);
}

static void test_two_vms(void **state) {
        Vmm v = {};
        NvVmmProc *p = NULL;
        NvError *err = NULL;
        int r;

        vmm_start(&v, MODE_OUT_SLEEP, 2);
        for (int i = 0; i < 200; i++) { /* until both VMs exist */
                nv_error_clear(&err);
                r = nv_vmm_proc_open(v.pid, &p, &err);
                if (r == -EOPNOTSUPP)
                        break;
                nv_vmm_proc_free(TAKE_PTR(p));
                usleep(5000);
        }
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(nv_error_message(err, r), "holds 2 KVM VMs"));
        nv_error_free(err);
        vmm_stop(&v);
}

/* Freeze, check the vCPUs through injected ioctls, let go; n times. */
static void freeze_cycles(Mode mode, unsigned cycles) {
        NvKvm *own = NULL;
        Vmm v = {};
        uint64_t stopped = 0, before_eintr[N_VCPUS], before_outs;
        int cap;

        assert_int_equal(nv_kvm_open(NULL, &own, NULL), 0);
        cap = nv_kvm_nested_state_max(own);
        nv_kvm_free(own);
        vmm_start(&v, mode, 1);
        for (unsigned c = 0; c < cycles; c++) {
                NvVmmProc *p = NULL;
                NvError *err = NULL;
                unsigned quiesced = 99;
                uint64_t t0 = now_usec();
                int r;

                for (unsigned i = 0; i < N_VCPUS; i++)
                        before_eintr[i] = v.sh->eintr[i];
                assert_int_equal(nv_vmm_proc_open(v.pid, &p, NULL), 0);
                assert_int_equal(nv_vmm_proc_n_vcpus(p), N_VCPUS);
                r = nv_vmm_proc_freeze(p, NV_VMM_PROC_DEFAULT_TIMEOUT_USEC, &quiesced, &err);
                if (r < 0)
                        fail_msg("freeze: %s", nv_error_message(err, r));
                /* The VMM's own capability, asked inside it, is what this process sees. */
                assert_int_equal(nv_vmm_proc_nested_max(p), cap);
                for (unsigned i = 0; i < N_VCPUS; i++) {
                        const NvVmmProcVcpu *vc = nv_vmm_proc_vcpu(p, i);
                        struct kvm_regs regs;
                        assert_int_equal(vc->id, i);
                        assert_true(vc->run_addr != 0);
                        r = nv_vmm_proc_ioctl(p, vc->fd, KVM_GET_REGS, &regs, sizeof regs, &err);
                        if (r < 0)
                                fail_msg("KVM_GET_REGS: %s", nv_error_message(err, r));
                        if (mode == MODE_SPIN)
                                assert_true(regs.rip == SPIN_OFFSET);
                        else if (vc->completed_exit) {
                                /* The OUT was completed (rip past it), the inc not run: al is what it wrote. */
                                assert_int_equal(regs.rip, 2);
                                assert_int_equal(regs.rax & 0xff, v.sh->last[i]);
                        }
                }
                if (mode == MODE_OUT_SLEEP) /* mostly in usleep, with the OUT pending; rarely caught in KVM_RUN */
                        assert_true(quiesced >= 1);
                else /* never left the guest: interrupted inside KVM_RUN, nothing pending, no wait for the timeout */
                        assert_int_equal(quiesced, 0);
                p = release_timed(p, &t0);
                stopped += t0;
                /*
                 * An ordinary EINTR per vCPU and freeze: from the immediate
                 * exit, or from the interrupt of a KVM_RUN it was caught in
                 * (a second one when a thread stopped at KVM_RUN's entry was
                 * also interrupted: the interrupt's pending-signal flag
                 * outlives the detach).  Seen once the thread runs again.
                 */
                for (unsigned i = 0; mode == MODE_OUT_SLEEP && i < N_VCPUS; i++) {
                        for (int k = 0; k < 1000 && v.sh->eintr[i] == before_eintr[i]; k++)
                                usleep(100);
                        usleep(3000);
                        assert_in_range(v.sh->eintr[i], before_eintr[i] + 1, before_eintr[i] + 2);
                }
                nv_vmm_proc_free(p);
        }
        before_outs = v.sh->outs[0];
        usleep(50000);
        if (mode == MODE_OUT_SLEEP)
                assert_true(v.sh->outs[0] > before_outs); /* runs on */
        vmm_assert_healthy(&v);
        printf("# %s: %u freezes of %u vCPUs (open, freeze, %u KVM_GET_REGS, release): %.2f ms stopped on average\n",
               mode == MODE_SPIN ? "spinning guest" : "guest with pending OUT", cycles, N_VCPUS, N_VCPUS,
               stopped / 1000.0 / cycles);
        vmm_stop(&v);
}

static void test_freeze_pending_out(void **state) {
        freeze_cycles(MODE_OUT_SLEEP, 20);
}

static void test_freeze_spinning(void **state) {
        freeze_cycles(MODE_SPIN, 20);
}

/* A paused VMM never reaches KVM_RUN: its pending OUTs are completed from a stopped thread after the timeout. */
static void test_freeze_paused(void **state) {
        Vmm v = {};
        NvVmmProc *p = NULL;
        NvError *err = NULL;
        unsigned quiesced = 0;
        int r;

        vmm_start(&v, MODE_PAUSED, 1);
        for (int i = 0; i < 200 && (v.sh->outs[0] == 0 || v.sh->outs[1] == 0); i++)
                usleep(5000);
        assert_int_equal(nv_vmm_proc_open(v.pid, &p, NULL), 0);
        r = nv_vmm_proc_freeze(p, 100000, &quiesced, &err);
        if (r < 0)
                fail_msg("freeze: %s", nv_error_message(err, r));
        assert_int_equal(quiesced, N_VCPUS);
        for (unsigned i = 0; i < N_VCPUS; i++) {
                struct kvm_regs regs;
                assert_true(nv_vmm_proc_vcpu(p, i)->completed_exit);
                assert_int_equal(nv_vmm_proc_ioctl(p, nv_vmm_proc_vcpu(p, i)->fd, KVM_GET_REGS, &regs, sizeof regs, NULL), 0);
                assert_int_equal(regs.rip, 2); /* the OUT completed, not to be repeated */
        }
        nv_vmm_proc_free(p);
        v.sh->go = 1;
        usleep(50000);
        for (unsigned i = 0; i < N_VCPUS; i++) {
                assert_true(v.sh->outs[i] > 1);
                assert_int_equal(v.sh->eintr[i], 0); /* the EINTR was ours, not the VMM's */
        }
        vmm_assert_healthy(&v);
        vmm_stop(&v);
}

static void test_collect(void **state) {
        Vmm v = {};
        NvVmmProc *p = NULL;
        NvSnapshot *s = NULL;
        NvError *err = NULL;
        int r;

        vmm_start(&v, MODE_OUT_SLEEP, 1);
        assert_int_equal(nv_vmm_proc_open(v.pid, &p, NULL), 0);
        assert_int_equal(nv_vmm_proc_freeze(p, NV_VMM_PROC_DEFAULT_TIMEOUT_USEC, NULL, NULL), 0);
        r = nv_vmm_proc_collect(p, &s, &err);
        if (nv_vmm_proc_nested_max(p) == 0) {
                assert_int_equal(r, -EOPNOTSUPP);
                assert_non_null(strstr(nv_error_message(err, r), "KVM_CAP_NESTED_STATE is 0"));
                assert_null(s);
        } else {
                assert_int_equal(r, 0);
                assert_int_equal(s->n_vcpus, N_VCPUS);
                /* The same state back in: accepted, all vCPUs. */
                assert_int_equal(nv_vmm_proc_load(p, s, NULL), 0);
                nv_snapshot_free(s);
        }
        nv_error_free(err);
        nv_vmm_proc_free(p);
        usleep(20000);
        vmm_assert_healthy(&v);
        vmm_stop(&v);
}

/* Paused by its own means (no KVM_RUN for the window) or running (a vCPU inside KVM_RUN). */
static void test_running(void **state) {
        Vmm v = {};
        NvVmmProc *p = NULL;

        for (Mode mode = MODE_OUT_SLEEP; mode <= MODE_SPIN; mode++) {
                vmm_start(&v, mode, 1);
                assert_int_equal(nv_vmm_proc_open(v.pid, &p, NULL), 0);
                assert_int_equal(nv_vmm_proc_running(p, 300000, NULL), 1);
                nv_vmm_proc_free(p);
                usleep(20000);
                vmm_assert_healthy(&v); /* watched, not harmed */
                vmm_stop(&v);
        }

        vmm_start(&v, MODE_PAUSED, 1);
        for (int i = 0; i < 200 && (v.sh->outs[0] == 0 || v.sh->outs[1] == 0); i++)
                usleep(5000);
        assert_int_equal(nv_vmm_proc_open(v.pid, &p, NULL), 0);
        assert_int_equal(nv_vmm_proc_running(p, 300000, NULL), 0);
        nv_vmm_proc_free(p);
        v.sh->go = 1;
        vmm_stop(&v);
}

/* A pidfile and the metadata that names it, for the process backend. */
static NvNestedMeta *meta_for(pid_t pid, char *pidfile, size_t size) {
        NvNestedMeta *m = nv_nested_meta_new();
        FILE *f;

        snprintf(pidfile, size, "/tmp/nestvirt-test-vmm-proc-%d.pid", (int) getpid());
        f = fopen(pidfile, "we");
        assert_non_null(f);
        fprintf(f, "%d\n", (int) pid);
        fclose(f);
        m->pidfile = strdup(pidfile);
        m->written.transport = NV_VMM_TRANSPORT_PROCESS;
        nv_nested_meta_post_parse(m);
        assert_int_equal(nv_nested_meta_validate(m, NULL), 0);
        return m;
}

/* The process backend: a freeze is ours while we hold it; a kept one only for a VMM its own pause stopped. */
static void test_backend(void **state) {
        const NvVmmBackend *b = &nv_vmm_backend_process;
        char pidfile[128];
        Vmm v = {};
        NvVmmHandle *h = NULL;
        NvNestedMeta *m;
        NvError *err = NULL;
        uint64_t token = 0, since = 0;
        uint8_t *img = NULL;
        size_t len = 0;
        pid_t dead;
        int r;

        vmm_start(&v, MODE_SPIN, 1);
        m = meta_for(v.pid, pidfile, sizeof pidfile);
        assert_int_equal(b->connect(m, &h, NULL), 0);
        assert_int_equal(b->vcpu_count(h), N_VCPUS);
        assert_null(b->vm_uuid);
        assert_int_equal(b->incoming(h), 0); /* it runs */
        r = b->freeze(h, /* keep= */ true, &token, &err);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(nv_error_message(err, r), "Pause the VMM through its own API first"));
        nv_error_clear(&err);
        assert_int_equal(b->frozen(h, NULL, NULL), 0);
        assert_int_equal(b->freeze(h, false, &token, NULL), 0);
        assert_int_equal(b->frozen(h, &since, NULL), 1);
        assert_true(since > 0);
        r = b->get_state(h, &img, &len, &err);
        if (r < 0) { /* no nested state on this kernel */
                assert_int_equal(r, -EOPNOTSUPP);
                nv_error_clear(&err);
        } else {
                assert_int_equal(b->set_state(h, img, len, NULL), 0); /* the same state back: accepted */
                free(img);
        }
        assert_int_equal(b->thaw(h, token, NULL), 0);
        assert_int_equal(b->frozen(h, NULL, NULL), 0);
        assert_true(b->thaw(h, token, NULL) < 0); /* no hold left */
        b->disconnect(h);
        vmm_stop(&v);
        nv_nested_meta_free(m);

        vmm_start(&v, MODE_PAUSED, 1);
        for (int i = 0; i < 200 && (v.sh->outs[0] == 0 || v.sh->outs[1] == 0); i++)
                usleep(5000);
        m = meta_for(v.pid, pidfile, sizeof pidfile);
        assert_int_equal(b->connect(m, &h, NULL), 0);
        assert_int_equal(b->incoming(h), 1); /* paused: it takes old nested state */
        assert_int_equal(b->freeze(h, /* keep= */ true, &token, NULL), 0);
        b->disconnect(h); /* lets go: the VMM stays paused by its own means */
        v.sh->go = 1;
        usleep(50000);
        assert_true(v.sh->outs[0] > 1 && v.sh->outs[1] > 1);
        vmm_assert_healthy(&v);
        vmm_stop(&v);
        nv_nested_meta_free(m);

        /* A pidfile that names no VMM. */
        m = meta_for(getpid(), pidfile, sizeof pidfile);
        r = b->connect(m, &h, &err);
        assert_int_equal(r, -ENODEV);
        assert_non_null(strstr(nv_error_message(err, r), "not a KVM VMM"));
        nv_error_clear(&err);
        nv_nested_meta_free(m);
        /* A stale pidfile: its process is gone (a child reaped already). */
        dead = fork();
        if (dead == 0)
                _exit(0);
        assert_int_equal(waitpid(dead, NULL, 0), dead);
        m = meta_for(dead, pidfile, sizeof pidfile);
        r = b->connect(m, &h, &err);
        assert_int_equal(r, -ESRCH);
        assert_non_null(strstr(nv_error_message(err, r), "the VMM does not run"));
        nv_error_clear(&err);
        unlink(pidfile);
        r = b->connect(m, &h, &err);
        assert_true(r < 0);
        assert_non_null(strstr(nv_error_message(err, r), pidfile));
        nv_error_free(err);
        nv_nested_meta_free(m);
}

/* A test-driver node whose running domain l1 names the VMM by pid, and a driver on it. */
static NvDriver *driver_for(pid_t pid, char *dir) {
        char path[256], uri[300];
        NvDriver *d = NULL;
        NvError *err = NULL;
        FILE *f;
        int r;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/node.xml", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "<node><domain type='test'><name>l1</name><uuid>6f0e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b</uuid>"
                   "<metadata><nestvirt:nested xmlns:nestvirt='" NV_META_NAMESPACE "'>"
                   "<nestvirt:vmm transport='process' pid='%d'/></nestvirt:nested></metadata>"
                   "<memory>65536</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>\n",
                (int) pid);
        fclose(f);
        snprintf(uri, sizeof uri, "test://%s", path);
        r = nv_driver_new(&(NvDriverConfig) { .uri = uri, .state_dir = dir, .runtime_dir = dir }, &d, &err);
        if (r < 0)
                fail_msg("driver: %s", nv_error_message(err, r));
        return d;
}

/*
 * The driver picks the process backend from the metadata: save (here: the
 * state if this kernel has nested state, else its refusal), a kept freeze
 * of the running VMM refused, a restore into it refused; the VMM runs on.
 */
static void test_driver(void **state) {
        char dir[] = "/tmp/nestvirt-test-vmm-proc-XXXXXX", cmd[300];
        NvSaveResult res = {};
        NvRestoreResult rres = {};
        NvError *err = NULL;
        NvDriver *d;
        Vmm v = {};
        uint64_t before;
        int r;

        vmm_start(&v, MODE_OUT_SLEEP, 1);
        d = driver_for(v.pid, dir);
        r = nv_driver_save(d, "l1", &(NvSaveOptions) {}, &res, &err);
        if (r < 0)
                assert_non_null(strstr(nv_error_message(err, r), "KVM_CAP_NESTED_STATE is 0"));
        else
                assert_int_equal(res.ref.vcpus, N_VCPUS);
        nv_save_result_clear(&res);
        nv_error_clear(&err);
        before = v.sh->outs[0];
        r = nv_driver_save(d, "l1", &(NvSaveOptions) { .keep_frozen = true }, &res, &err);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(nv_error_message(err, r), "Pause the VMM through its own API first"));
        nv_error_clear(&err);
        r = nv_driver_restore(d, "l1", &(NvRestoreOptions) { .file = "/nonexistent" }, &rres, &err);
        assert_int_equal(r, -ESTALE);
        assert_non_null(strstr(nv_error_message(err, r), "runs it already"));
        nv_error_free(err);
        usleep(20000);
        assert_true(v.sh->outs[0] > before);
        vmm_assert_healthy(&v);
        nv_driver_free(d);
        vmm_stop(&v);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/*
 * test-vmm-proc --vmm: only the VMM (2 vCPUs, each an OUT every millisecond),
 * in this process, until stdin closes: a KVM VMM with no nestvirt code for
 * the shell tests (test-nestvirtd-process.sh).
 */
static int vmm_only(void) {
        Shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

        if (sh == MAP_FAILED)
                return 1;
        vmm_main(MODE_OUT_SLEEP, 1, STDIN_FILENO, sh);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_driver),
                cmocka_unit_test(test_running),
                cmocka_unit_test(test_backend),
                cmocka_unit_test(test_not_kvm),
                cmocka_unit_test(test_two_vms),
                cmocka_unit_test(test_freeze_pending_out),
                cmocka_unit_test(test_freeze_spinning),
                cmocka_unit_test(test_freeze_paused),
                cmocka_unit_test(test_collect),
        };
        NvKvm *kvm = NULL;
        int r = nv_kvm_open(NULL, &kvm, NULL);

        if (r >= 0)
                r = nv_kvm_create_vm(kvm, NULL);
        nv_kvm_free(kvm);
        if (r < 0) {
                printf("1..0 # SKIP no /dev/kvm that can create a VM (%s)\n", strerror(-r));
                return 77;
        }
        if (argc > 1 && strcmp(argv[1], "--vmm") == 0)
                return vmm_only();
        alarm(60); /* a vCPU left inside KVM_RUN would make an injected ioctl wait forever */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
