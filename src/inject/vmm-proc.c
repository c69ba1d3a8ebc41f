/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discovery in /proc, the freeze with its quiesce rule, and the injected KVM ioctls. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "inject-private.h"
#include "util.h"
#include "vmm-proc.h"

#define SCRATCH_MIN (3u * 4096u) /* room for KVM_GET_CPUID2 with 256 entries */

typedef struct VcpuQuiesce {
        bool set_by_us; /* immediate_exit written 1 by us, old value below */
        uint8_t old;
        bool pending;   /* its last exit may await completion */
} VcpuQuiesce;

struct NvVmmProc {
        pid_t pid;
        int vm_fd;
        unsigned n;
        NvVmmProcVcpu vcpus[NV_VMM_PROC_MAX_VCPUS];
        VcpuQuiesce q[NV_VMM_PROC_MAX_VCPUS];
        NvInject *in;
        NvInjectGuard *guard; /* while we may hold immediate_exit of some vCPU */
        uint64_t scratch; /* address in the VMM, 0 if none */
        size_t scratch_len;
        int nested_max;
};

unsigned nv_vmm_proc_n_vcpus(const NvVmmProc *p) {
        return p->n;
}
const NvVmmProcVcpu *nv_vmm_proc_vcpu(const NvVmmProc *p, unsigned i) {
        return i < p->n ? &p->vcpus[i] : NULL;
}
int nv_vmm_proc_vm_fd(const NvVmmProc *p) {
        return p->vm_fd;
}
int nv_vmm_proc_nested_max(const NvVmmProc *p) {
        return p->nested_max;
}

static NvVmmProcVcpu *vcpu_by_id(NvVmmProc *p, unsigned id) {
        for (unsigned i = 0; i < p->n; i++)
                if (p->vcpus[i].id == id)
                        return &p->vcpus[i];
        return NULL;
}

static int vcpu_index_by_fd(const NvVmmProc *p, long fd) {
        for (unsigned i = 0; i < p->n; i++)
                if (p->vcpus[i].fd == fd)
                        return (int) i;
        return -1;
}

static int add_fd(NvVmmProc *p, int fd, const char *target, unsigned *n_vms, NvError **reterr) {
        unsigned id;
        char tail;

        if (strcmp(target, "anon_inode:kvm-vm") == 0) {
                (*n_vms)++;
                p->vm_fd = fd;
                return 0;
        }
        if (sscanf(target, "anon_inode:kvm-vcpu:%u%c", &id, &tail) != 1)
                return 0;
        if (p->n >= NV_VMM_PROC_MAX_VCPUS)
                return nv_error_set(reterr, -E2BIG, _("Process %d has more than %u vCPUs."), (int) p->pid,
                                    NV_VMM_PROC_MAX_VCPUS);
        if (vcpu_by_id(p, id))
                return nv_error_set(reterr, -EOPNOTSUPP, _("Process %d holds vCPU %u twice (fd %d): more than one VM?"),
                                    (int) p->pid, id, fd);
        p->vcpus[p->n++] = (NvVmmProcVcpu) { .id = id, .fd = fd };
        return 0;
}

static int scan_fds(NvVmmProc *p, NvError **reterr) {
        char path[64];
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        unsigned n_vms = 0;

        snprintf(path, sizeof path, "/proc/%d/fd", (int) p->pid);
        d = opendir(path);
        if (!d)
                return nv_error_set(reterr, -errno, _("Cannot list the file descriptors of process %d (%s): %m"),
                                    (int) p->pid, path);
        while ((de = readdir(d))) {
                char link[128], target[128];
                uint64_t fd;
                ssize_t l;
                int r;
                if (nv_parse_unsigned(de->d_name, 10, INT_MAX, &fd) < 0)
                        continue;
                snprintf(link, sizeof link, "%s/%d", path, (int) fd);
                l = readlink(link, target, sizeof target - 1);
                if (l < 0)
                        continue; /* closed meanwhile */
                target[l] = '\0';
                r = add_fd(p, (int) fd, target, &n_vms, reterr);
                if (r < 0)
                        return r;
        }
        if (n_vms == 0)
                return nv_error_set(reterr, -ENODEV,
                                    _("Process %d holds no KVM VM (no anon_inode:kvm-vm file descriptor): it is not a KVM VMM."),
                                    (int) p->pid);
        if (n_vms > 1)
                return nv_error_set(reterr, -EOPNOTSUPP,
                                    _("Process %d holds %u KVM VMs; nestvirt reaches a VMM process with exactly one."),
                                    (int) p->pid, n_vms);
        if (p->n == 0)
                return nv_error_set(reterr, -ENODEV, _("Process %d holds a KVM VM without any vCPU."), (int) p->pid);
        return 0;
}

/* The kvm_run mappings: named anon_inode:kvm-vcpu:ID in maps, at file offset 0. */
static int scan_maps(NvVmmProc *p, NvError **reterr) {
        char path[64], line[512];
        _cleanup_(fclosep) FILE *f = NULL;

        snprintf(path, sizeof path, "/proc/%d/maps", (int) p->pid);
        f = fopen(path, "re");
        if (!f)
                return nv_error_set(reterr, -errno, _("Cannot read %s: %m"), path);
        while (fgets(line, sizeof line, f)) {
                uint64_t lo, hi, off;
                unsigned id;
                char *name = strstr(line, "anon_inode:kvm-vcpu:");
                NvVmmProcVcpu *v;
                if (!name || sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64, &lo, &hi, &off) != 3 ||
                    sscanf(name, "anon_inode:kvm-vcpu:%u", &id) != 1 || off != 0)
                        continue;
                v = vcpu_by_id(p, id);
                if (v && !v->run_addr && hi - lo >= sizeof(struct kvm_run))
                        v->run_addr = lo;
        }
        return 0;
}

static int cmp_vcpu(const void *a, const void *b) {
        const NvVmmProcVcpu *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

int nv_vmm_proc_open(pid_t pid, NvVmmProc **ret, NvError **reterr) {
        _cleanup_(nv_vmm_proc_freep) NvVmmProc *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        p->pid = pid;
        p->vm_fd = -1;
        r = scan_fds(p, reterr);
        if (r >= 0)
                r = scan_maps(p, reterr);
        if (r < 0)
                return r;
        qsort(p->vcpus, p->n, sizeof p->vcpus[0], cmp_vcpu);
        *ret = TAKE_PTR(p);
        return 0;
}

static int inject(NvVmmProc *p, long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *ret,
                  NvError **reterr) {
        const long args[6] = { a0, a1, a2, a3, a4, a5 };
        NvInjectThread *t = nv_inject_pick(p->in);
        if (!t)
                return nv_error_set(reterr, -ESRCH, _("Process %d has no thread that can run an injected syscall."),
                                    (int) p->pid);
        return nv_inject_syscall(p->in, t, nr, args, ret, reterr);
}

#define RUN_FIELD(v, field) ((v)->run_addr + offsetof(struct kvm_run, field))

/* Exits whose completion the kernel does on the next KVM_RUN entry. */
static bool exit_awaits_completion(uint32_t reason) {
        switch (reason) {
        case KVM_EXIT_IO:
        case KVM_EXIT_MMIO:
        case KVM_EXIT_HYPERCALL:
        case KVM_EXIT_X86_RDMSR:
        case KVM_EXIT_X86_WRMSR:
        case KVM_EXIT_XEN:
                return true;
        default:
                return false;
        }
}

/* immediate_exit = 1 in vCPU i's kvm_run, *ret_old what was there; the guard puts it back if we die first. */
static int exit_now_set(NvVmmProc *p, unsigned i, uint8_t *ret_old, NvError **reterr) {
        static const uint8_t one = 1;
        uint64_t addr = RUN_FIELD(&p->vcpus[i], immediate_exit);
        int r = nv_inject_read(p->in, addr, ret_old, 1, reterr);

        if (r < 0)
                return r;
        nv_inject_guard_note(p->guard, addr, *ret_old, true);
        return nv_inject_write(p->in, addr, &one, 1, reterr);
}

static int exit_now_put_back(NvVmmProc *p, unsigned i, uint8_t old) {
        uint64_t addr = RUN_FIELD(&p->vcpus[i], immediate_exit);
        int r = nv_inject_write(p->in, addr, &old, 1, NULL);

        if (r >= 0)
                nv_inject_guard_note(p->guard, addr, old, false);
        return r;
}

/*
 * While quiescing, a KVM_RUN entered for a vCPU whose exit awaits completion
 * gets immediate_exit (the kernel completes the exit, then returns EINTR);
 * a KVM_RUN for any other vCPU is held before it enters.
 */
static int quiesce_stop(NvInject *in, NvInjectThread *t, bool entry, const struct user_regs_struct *regs, void *userdata) {
        NvVmmProc *p = userdata;
        static const uint32_t intr = KVM_EXIT_INTR;
        int i, r;

        if ((long) regs->orig_rax != SYS_ioctl || regs->rsi != KVM_RUN)
                return NV_INJECT_GO_ON;
        i = vcpu_index_by_fd(p, (long) regs->rdi);
        if (i < 0)
                return NV_INJECT_GO_ON;
        if (entry && !p->q[i].pending)
                return NV_INJECT_HOLD;
        if (entry) {
                r = exit_now_set(p, (unsigned) i, &p->q[i].old, NULL);
                p->q[i].set_by_us = r >= 0;
                return r < 0 ? r : NV_INJECT_GO_ON;
        }
        if (!p->q[i].set_by_us)
                return NV_INJECT_GO_ON;
        /*
         * An immediate exit leaves exit_reason as it was; say KVM_EXIT_INTR,
         * as a signal exit does, so that the next freeze does not take the
         * completed exit for a pending one.
         */
        r = exit_now_put_back(p, (unsigned) i, p->q[i].old);
        if (r >= 0)
                r = nv_inject_write(in, RUN_FIELD(&p->vcpus[i], exit_reason), &intr, sizeof intr, NULL);
        if (r < 0)
                return r;
        p->q[i].set_by_us = p->q[i].pending = false;
        p->vcpus[i].completed_exit = true;
        for (unsigned k = 0; k < p->n; k++)
                if (p->q[k].pending)
                        return NV_INJECT_GO_ON;
        return NV_INJECT_DONE;
}

static void quiesce_undo(NvVmmProc *p) {
        for (unsigned i = 0; i < p->n; i++)
                if (p->q[i].set_by_us) {
                        (void) exit_now_put_back(p, i, p->q[i].old);
                        p->q[i].set_by_us = false;
                }
}

/*
 * The vCPUs whose exit still looks pending after the VMM had the whole
 * timeout to reach KVM_RUN: a paused VMM (it finished handling the exit
 * before it paused), or an exit an earlier immediate exit completed
 * already (exit_reason stays as it was).  Their KVM_RUN with
 * immediate_exit is run by us, from a stopped thread.
 */
static int complete_left(NvVmmProc *p, NvError **reterr) {
        static const uint32_t intr = KVM_EXIT_INTR;

        for (unsigned i = 0; i < p->n; i++) {
                NvVmmProcVcpu *v = &p->vcpus[i];
                uint8_t old = 0;
                long res = 0;
                int r;
                if (!p->q[i].pending)
                        continue;
                r = exit_now_set(p, i, &old, reterr);
                if (r >= 0)
                        r = inject(p, SYS_ioctl, v->fd, KVM_RUN, 0, 0, 0, 0, &res, reterr);
                (void) exit_now_put_back(p, i, old);
                if (r >= 0 && res != -EINTR)
                        r = nv_error_set(reterr, res < 0 ? (int) res : -EPROTO,
                                         _("KVM_RUN with immediate_exit on vCPU %u gave %ld instead of EINTR."), v->id, res);
                if (r >= 0)
                        r = nv_inject_write(p->in, RUN_FIELD(v, exit_reason), &intr, sizeof intr, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("Completing vCPU %u's pending exit"), v->id);
                p->q[i].pending = false;
                v->completed_exit = true;
        }
        return 0;
}

static int quiesce(NvVmmProc *p, uint64_t timeout_usec, unsigned *ret_n, NvError **reterr) {
        unsigned n = 0;
        int r;

        for (unsigned i = 0; i < p->n; i++) {
                uint32_t reason = 0;
                p->q[i] = (VcpuQuiesce) {};
                p->vcpus[i].completed_exit = false;
                if (!p->vcpus[i].run_addr)
                        continue;
                r = nv_inject_read(p->in, RUN_FIELD(&p->vcpus[i], exit_reason), &reason, sizeof reason, reterr);
                if (r < 0)
                        return r;
                p->q[i].pending = exit_awaits_completion(reason);
                n += p->q[i].pending;
        }
        *ret_n = n;
        if (n == 0)
                return 0;
        r = nv_inject_guard_new(p->pid, &p->guard, reterr);
        if (r < 0)
                return r;
        r = nv_inject_run_all(p->in, quiesce_stop, p, timeout_usec, NULL);
        quiesce_undo(p);
        if (r == -ETIMEDOUT)
                r = complete_left(p, reterr);
        else if (r < 0)
                r = nv_error_set(reterr, r, _("Completing the pending exits of %u vCPUs failed: %s"), n, strerror(-r));
        p->guard = nv_inject_guard_free(p->guard); /* everything put back (or, failing that, the guard writes it) */
        return r < 0 ? r : 0;
}

static bool in_kvm_run(const NvVmmProc *p, const struct user_regs_struct *regs) {
        return (long) regs->orig_rax == SYS_ioctl && regs->rsi == KVM_RUN && vcpu_index_by_fd(p, (long) regs->rdi) >= 0;
}

typedef struct Watch {
        NvVmmProc *p;
        bool seen;
} Watch;

static int watch_stop(NvInject *in, NvInjectThread *t, bool entry, const struct user_regs_struct *regs, void *userdata) {
        Watch *w = userdata;

        if (!entry || !in_kvm_run(w->p, regs))
                return NV_INJECT_GO_ON;
        w->seen = true;
        return NV_INJECT_DONE; /* stopped at the entry: the call has not begun, and runs when we let go */
}

int nv_vmm_proc_running(NvVmmProc *p, uint64_t window_usec, NvError **reterr) {
        Watch w = { .p = p };
        int r;

        if (p->in)
                return nv_error_set(reterr, -EBUSY, _("Process %d is frozen already."), (int) p->pid);
        r = nv_inject_attach(p->pid, &p->in, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nv_inject_n_threads(p->in) && !w.seen; i++)
                w.seen = in_kvm_run(p, &nv_inject_thread(p->in, i)->regs);
        r = w.seen ? 0 : nv_inject_run_all(p->in, watch_stop, &w, window_usec, NULL);
        p->in = nv_inject_free(p->in);
        if (r < 0 && r != -ETIMEDOUT)
                return nv_error_set(reterr, r, _("Watching process %d for KVM_RUN failed: %s"), (int) p->pid, strerror(-r));
        return w.seen;
}

int nv_vmm_proc_freeze(NvVmmProc *p, uint64_t timeout_usec, unsigned *ret_quiesced, NvError **reterr) {
        unsigned n = 0;
        long addr = 0;
        int r;

        if (p->in)
                return nv_error_set(reterr, -EBUSY, _("Process %d is frozen already."), (int) p->pid);
        r = nv_inject_attach(p->pid, &p->in, reterr);
        if (r >= 0)
                r = quiesce(p, timeout_usec, &n, reterr);
        if (r >= 0)
                r = p->nested_max = nv_vmm_proc_ioctl_value(p, p->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE, reterr);
        if (r < 0)
                return r;
        p->scratch_len = (size_t) p->nested_max > SCRATCH_MIN ? ((size_t) p->nested_max + 4095) & ~(size_t) 4095 : SCRATCH_MIN;
        r = inject(p, SYS_mmap, 0, (long) p->scratch_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
                   &addr, reterr);
        if (r < 0)
                return r;
        if (addr < 0 && addr > -4096)
                return nv_error_set(reterr, (int) addr, _("mmap of %zu bytes of scratch memory in process %d failed: %s"),
                                    p->scratch_len, (int) p->pid, strerror((int) -addr));
        p->scratch = (uint64_t) addr;
        if (ret_quiesced)
                *ret_quiesced = n;
        return 0;
}

void nv_vmm_proc_thaw(NvVmmProc *p) {
        long res;

        if (p->in && p->scratch)
                (void) inject(p, SYS_munmap, (long) p->scratch, (long) p->scratch_len, 0, 0, 0, 0, &res, NULL);
        p->scratch = 0;
        p->in = nv_inject_free(p->in);
}

NvVmmProc *nv_vmm_proc_free(NvVmmProc *p) {
        if (!p)
                return NULL;
        nv_vmm_proc_thaw(p);
        free(p);
        return NULL;
}

int nv_vmm_proc_ioctl_value(NvVmmProc *p, int fd, unsigned long cmd, long value, NvError **reterr) {
        long res = 0;
        int r;

        if (!p->in)
                return nv_error_set(reterr, -EINVAL, _("Process %d is not frozen."), (int) p->pid);
        r = inject(p, SYS_ioctl, fd, (long) cmd, value, 0, 0, 0, &res, reterr);
        if (r < 0)
                return r;
        if (res < 0 && res > -4096)
                return nv_error_set(reterr, (int) res, _("ioctl 0x%lx on fd %d in process %d failed: %s"), cmd, fd,
                                    (int) p->pid, strerror((int) -res));
        return (int) res;
}

int nv_vmm_proc_ioctl(NvVmmProc *p, int fd, unsigned long cmd, void *arg, size_t arg_len, NvError **reterr) {
        int r;

        if (!p->scratch || arg_len > p->scratch_len)
                return nv_error_set(reterr, -EINVAL, _("No scratch memory of %zu bytes in process %d."), arg_len,
                                    (int) p->pid);
        r = nv_inject_write(p->in, p->scratch, arg, arg_len, reterr);
        if (r < 0)
                return r;
        r = nv_vmm_proc_ioctl_value(p, fd, cmd, (long) p->scratch, reterr);
        if (r < 0)
                return r;
        return nv_inject_read(p->in, p->scratch, arg, arg_len, reterr) < 0 ? -EIO : r;
}
