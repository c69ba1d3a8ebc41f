/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seize, inject, restore, detach.  Why it is shaped this way:
 *  - PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP: no job-control stop
 *    is visible to the process's parent;
 *  - a thread interrupted inside a blocking syscall stops with
 *    -ERESTART* in rax; its registers are saved with the restart already
 *    applied (rip back on the syscall instruction, rax the syscall number),
 *    because after an injected syscall the kernel no longer does it;
 *  - the injected syscall runs on the thread's own syscall instruction
 *    when it stopped in one: if this process dies between setting and
 *    restoring the registers, the thread resumes right after its own
 *    syscall as if that had returned, not in the middle of foreign code.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "inject-private.h"
#include "util.h"

#define ERESTARTSYS_ 512
#define ERESTARTNOINTR_ 513
#define ERESTARTNOHAND_ 514
#define ERESTART_RESTARTBLOCK_ 516
#define SYSCALL_INSN_LEN 2
#define MAX_THREADS 4096

struct NvInject {
        pid_t pid;
        unsigned long options;
        uint64_t syscall_ip; /* a syscall instruction outside any thread's own, 0 until found */
        size_t n;
        NvInjectThread *threads;
};

pid_t nv_inject_pid(const NvInject *in) {
        return in->pid;
}
size_t nv_inject_n_threads(const NvInject *in) {
        return in->n;
}
NvInjectThread *nv_inject_thread(NvInject *in, size_t i) {
        return i < in->n ? &in->threads[i] : NULL;
}
NvInjectThread *nv_inject_find(NvInject *in, pid_t tid) {
        for (size_t i = 0; i < in->n; i++)
                if (in->threads[i].tid == tid)
                        return &in->threads[i];
        return NULL;
}

/* What the kernel would do on the way out when no signal handler runs. */
static void regs_apply_restart(struct user_regs_struct *r) {
        if ((long) r->orig_rax < 0)
                return;
        switch ((long) r->rax) {
        case -ERESTARTSYS_:
        case -ERESTARTNOINTR_:
        case -ERESTARTNOHAND_:
                r->rax = r->orig_rax;
                r->rip -= SYSCALL_INSN_LEN;
                break;
        case -ERESTART_RESTARTBLOCK_:
                r->rax = SYS_restart_syscall;
                r->rip -= SYSCALL_INSN_LEN;
                break;
        }
}

static int thread_read_regs(NvInjectThread *t, struct user_regs_struct *raw) {
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, raw) < 0)
                return -errno;
        t->regs = *raw;
        regs_apply_restart(&t->regs);
        return 0;
}

/* Puts the saved registers back; orig_rax -1 so that no restart logic applies twice. */
static int thread_restore_regs(NvInjectThread *t) {
        struct user_regs_struct r = t->regs;
        if (!t->regs_dirty)
                return 0;
        r.orig_rax = (unsigned long long) -1;
        if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r) < 0)
                return -errno;
        t->regs_dirty = false;
        return 0;
}

/* A stop that is not ours to keep: hold a signal back for detach. */
static void thread_note_stop(NvInjectThread *t, int status) {
        int sig = WSTOPSIG(status);
        if (status >> 16 == 0 && sig != (SIGTRAP | 0x80) && !t->pending_sig)
                t->pending_sig = sig;
}

static int wait_stop(pid_t tid, int *ret_status) {
        int status = 0;
        for (;;) {
                if (waitpid(tid, &status, __WALL) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                *ret_status = status;
                return 0;
        }
}

static int seize_one(pid_t pid, pid_t tid, void *userdata) {
        NvInject *in = userdata;
        NvInjectThread *t;
        struct user_regs_struct raw;
        int status = 0, r;

        if (nv_inject_find(in, tid))
                return 0;
        if (in->n >= MAX_THREADS)
                return -E2BIG;
        if (ptrace(PTRACE_SEIZE, tid, NULL, (void *) in->options) < 0)
                return errno == ESRCH ? 0 : -errno; /* a thread that just exited */
        t = &in->threads[in->n++];
        *t = (NvInjectThread) { .tid = tid };
        if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
                return -errno;
        r = wait_stop(tid, &status);
        if (r < 0)
                return r;
        thread_note_stop(t, status);
        return thread_read_regs(t, &raw);
}

int nv_inject_attach(pid_t pid, NvInject **ret, NvError **reterr) {
        _cleanup_(nv_inject_freep) NvInject *in = NULL;
        bool suspend = false;
        size_t before;
        int r;

        r = nv_inject_check(pid, &suspend, reterr);
        if (r < 0)
                return r;
        in = calloc(1, sizeof *in);
        if (!in || !(in->threads = calloc(MAX_THREADS, sizeof *in->threads)))
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        in->pid = pid;
        in->options = PTRACE_O_TRACESYSGOOD | (suspend ? PTRACE_O_SUSPEND_SECCOMP : 0);
        /* Threads started by a thread not yet stopped appear on the next pass. */
        do {
                before = in->n;
                r = inject_for_each_task(pid, seize_one, in);
                if (r == -EPERM && suspend && in->n == 0)
                        return nv_error_set(reterr, r,
                                            _("The kernel refused PTRACE_O_SUSPEND_SECCOMP for process %d (it needs CAP_SYS_ADMIN in the initial user namespace and CONFIG_CHECKPOINT_RESTORE); its seccomp filter could kill it on an injected syscall."),
                                            (int) pid);
                if (r < 0)
                        return nv_error_set(reterr, r, _("Cannot seize the threads of process %d: %s"), (int) pid,
                                            strerror(-r));
        } while (in->n != before);
        if (in->n == 0)
                return nv_error_set(reterr, -ESRCH, _("Process %d has no thread left to seize."), (int) pid);
        *ret = TAKE_PTR(in);
        return 0;
}

NvInject *nv_inject_free(NvInject *in) {
        if (!in)
                return NULL;
        for (size_t i = 0; i < in->n; i++) {
                NvInjectThread *t = &in->threads[i];
                if (t->gone)
                        continue;
                (void) thread_restore_regs(t);
                (void) ptrace(PTRACE_DETACH, t->tid, NULL, (void *) (long) t->pending_sig);
        }
        free(in->threads);
        free(in);
        return NULL;
}

/* process_vm_readv/writev of len bytes at addr; all or -EIO. */
static int transfer(NvInject *in, bool write, uint64_t addr, void *buf, size_t len, NvError **reterr) {
        struct iovec local = { buf, len }, remote = { (void *) (uintptr_t) addr, len };
        ssize_t n = write ? process_vm_writev(in->pid, &local, 1, &remote, 1, 0)
                          : process_vm_readv(in->pid, &local, 1, &remote, 1, 0);
        if (n != (ssize_t) len)
                return nv_error_set(reterr, n < 0 ? -errno : -EIO,
                                    write ? _("Cannot write %zu bytes at 0x%" PRIx64 " in process %d: %s")
                                          : _("Cannot read %zu bytes at 0x%" PRIx64 " in process %d: %s"),
                                    len, addr, (int) in->pid, n < 0 ? strerror(errno) : _("short transfer"));
        return 0;
}

int nv_inject_read(NvInject *in, uint64_t addr, void *buf, size_t len, NvError **reterr) {
        return transfer(in, false, addr, buf, len, reterr);
}

int nv_inject_write(NvInject *in, uint64_t addr, const void *buf, size_t len, NvError **reterr) {
        return transfer(in, true, addr, (void *) buf, len, reterr);
}

static bool is_syscall_insn(NvInject *in, uint64_t ip) {
        uint8_t b[SYSCALL_INSN_LEN];
        return nv_inject_read(in, ip, b, sizeof b, NULL) >= 0 && b[0] == 0x0f && b[1] == 0x05;
}

/* A syscall instruction in the vDSO, for a thread that did not stop in a syscall. */
static int find_vdso_syscall(NvInject *in, NvError **reterr) {
        char path[64], line[512];
        _cleanup_(fclosep) FILE *f = NULL;
        uint64_t lo, hi;

        if (in->syscall_ip)
                return 0;
        snprintf(path, sizeof path, "/proc/%d/maps", (int) in->pid);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f)) {
                _cleanup_free_ uint8_t *text = NULL;
                if (!strstr(line, "[vdso]") || sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2 || hi <= lo ||
                    hi - lo > (1u << 20))
                        continue;
                text = malloc(hi - lo);
                if (!text || nv_inject_read(in, lo, text, hi - lo, NULL) < 0)
                        continue;
                for (uint64_t i = 0; i + 1 < hi - lo; i++)
                        if (text[i] == 0x0f && text[i + 1] == 0x05) {
                                in->syscall_ip = lo + i;
                                return 0;
                        }
        }
        return nv_error_set(reterr, -ENOEXEC, _("No syscall instruction found in the vDSO of process %d."), (int) in->pid);
}

/* Where t executes an injected syscall: its own syscall instruction if it stopped in one. */
static int syscall_ip_for(NvInject *in, const NvInjectThread *t, uint64_t *ret, NvError **reterr) {
        uint64_t own = (long) t->regs.orig_rax >= 0 ? t->regs.rip : 0;
        int r;

        /* After the restart, rip is on the instruction; otherwise just after it. */
        if (own && !is_syscall_insn(in, own))
                own -= SYSCALL_INSN_LEN;
        if (own && is_syscall_insn(in, own)) {
                *ret = own;
                return 0;
        }
        r = find_vdso_syscall(in, reterr);
        if (r < 0)
                return r;
        *ret = in->syscall_ip;
        return 0;
}

/* Resumes t to its next syscall stop, holding back any signal that comes first. */
static int step_to_syscall_stop(NvInjectThread *t, struct user_regs_struct *regs) {
        for (;;) {
                int status = 0, r;
                if (ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0)
                        return -errno;
                r = wait_stop(t->tid, &status);
                if (r < 0)
                        return r;
                if (WSTOPSIG(status) == (SIGTRAP | 0x80))
                        return ptrace(PTRACE_GETREGS, t->tid, NULL, regs) < 0 ? -errno : 0;
                thread_note_stop(t, status);
        }
}

int nv_inject_syscall(NvInject *in, NvInjectThread *t, long nr, const long args[6], long *ret_result, NvError **reterr) {
        struct user_regs_struct r = t->regs, got;
        uint64_t ip;
        int k;

        if (t->gone || t->at_entry)
                return nv_error_set(reterr, -EINVAL, _("Thread %d cannot take an injected syscall now."), (int) t->tid);
        k = syscall_ip_for(in, t, &ip, reterr);
        if (k < 0)
                return k;
        r.rip = ip;
        r.rax = nr;
        r.orig_rax = (unsigned long long) -1;
        r.rdi = args[0], r.rsi = args[1], r.rdx = args[2], r.r10 = args[3], r.r8 = args[4], r.r9 = args[5];
        t->regs_dirty = true;
        if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r) < 0)
                k = -errno;
        if (k >= 0)
                k = step_to_syscall_stop(t, &got); /* entry */
        if (k >= 0 && (long) got.orig_rax != nr)
                k = -EPROTO;
        if (k >= 0)
                k = step_to_syscall_stop(t, &got); /* exit */
        if (k == -ESRCH)
                return nv_error_set(reterr, k, _("Thread %d of process %d died during an injected syscall %ld."),
                                    (int) t->tid, (int) in->pid, nr);
        if (k >= 0)
                k = thread_restore_regs(t);
        if (k < 0)
                return nv_error_set(reterr, k, _("Injecting syscall %ld into thread %d of process %d failed: %s"), nr,
                                    (int) t->tid, (int) in->pid, strerror(-k));
        *ret_result = (long) got.rax;
        return 0;
}

/* Whether a syscall stop is the entry (1) or the exit (0), as the kernel says. */
static int syscall_stop_is_entry(pid_t tid) {
        struct __ptrace_syscall_info info;
        if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *) sizeof info, &info) < 0)
                return -errno;
        return info.op == PTRACE_SYSCALL_INFO_ENTRY;
}

/* Stops a running thread again; its registers are read afresh. */
static int reinterrupt(NvInjectThread *t) {
        struct user_regs_struct raw;
        int status = 0, r;

        if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0)
                return -errno;
        r = wait_stop(t->tid, &status);
        if (r < 0)
                return r;
        t->at_entry = false;
        if (WSTOPSIG(status) == (SIGTRAP | 0x80))
                t->at_entry = syscall_stop_is_entry(t->tid) > 0;
        else
                thread_note_stop(t, status);
        return thread_read_regs(t, &raw);
}

/* One stop of a running thread: NV_INJECT_GO_ON (resumed), _DONE, _HOLD (left stopped), or < 0. */
static int run_one_stop(NvInject *in, NvInjectThread *t, int status, NvInjectStopFunc fn, void *userdata) {
        struct user_regs_struct regs;
        int entry, r;

        if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
                thread_note_stop(t, status);
                return ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0 ? -errno : 0;
        }
        entry = syscall_stop_is_entry(t->tid);
        if (entry < 0)
                return entry;
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &regs) < 0)
                return -errno;
        r = fn(in, t, entry, &regs, userdata);
        if (r != NV_INJECT_GO_ON) {
                t->at_entry = entry;
                return r;
        }
        return ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0 ? -errno : 0;
}

int nv_inject_run_all(NvInject *in, NvInjectStopFunc fn, void *userdata, uint64_t timeout_usec, NvError **reterr) {
        uint64_t deadline = nv_now_usec(CLOCK_MONOTONIC) + timeout_usec;
        _cleanup_free_ bool *running = calloc(in->n ? in->n : 1, sizeof *running);
        int r = 0, k;

        if (!running)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        for (size_t i = 0; i < in->n && r >= 0; i++) {
                NvInjectThread *t = &in->threads[i];
                if (t->gone)
                        continue;
                r = thread_restore_regs(t);
                if (r >= 0 && ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0)
                        r = -errno;
                running[i] = r >= 0;
        }
        while (r == NV_INJECT_GO_ON) {
                bool any = false, alive = false;
                for (size_t i = 0; i < in->n && r == NV_INJECT_GO_ON; i++) {
                        int status = 0;
                        pid_t w;
                        if (!running[i])
                                continue;
                        w = waitpid(in->threads[i].tid, &status, __WALL | WNOHANG);
                        if (w <= 0)
                                continue;
                        any = true;
                        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                                in->threads[i].gone = true;
                                running[i] = false;
                                continue;
                        }
                        r = run_one_stop(in, &in->threads[i], status, fn, userdata);
                        if (r != NV_INJECT_GO_ON)
                                running[i] = false; /* stopped at the stop fn saw */
                        if (r == NV_INJECT_HOLD)
                                r = NV_INJECT_GO_ON;
                }
                for (size_t i = 0; i < in->n; i++)
                        alive |= running[i];
                if (r == NV_INJECT_GO_ON && !alive)
                        r = -EDEADLK;
                if (r == NV_INJECT_GO_ON && !any) {
                        if (nv_now_usec(CLOCK_MONOTONIC) > deadline)
                                r = -ETIMEDOUT;
                        else
                                nanosleep(&(struct timespec) { .tv_nsec = 100000 }, NULL);
                }
        }
        for (size_t i = 0; i < in->n; i++) {
                struct user_regs_struct raw;
                if (in->threads[i].gone)
                        continue;
                k = running[i] ? reinterrupt(&in->threads[i]) : thread_read_regs(&in->threads[i], &raw);
                if (k == -ESRCH)
                        in->threads[i].gone = true;
                else if (k < 0 && r >= 0)
                        r = k;
        }
        if (r == -ETIMEDOUT)
                return nv_error_set(reterr, r, _("Process %d did not reach the expected point within %" PRIu64 " ms."),
                                    (int) in->pid, timeout_usec / 1000);
        if (r == -EDEADLK)
                return nv_error_set(reterr, r, _("Every thread of process %d is held and the expected point was not reached."),
                                    (int) in->pid);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Running the threads of process %d"), (int) in->pid);
        return 0;
}

NvInjectThread *nv_inject_pick(NvInject *in) {
        NvInjectThread *fallback = NULL;
        for (size_t i = 0; i < in->n; i++) {
                NvInjectThread *t = &in->threads[i];
                if (t->gone || t->at_entry)
                        continue;
                if ((long) t->regs.orig_rax >= 0)
                        return t;
                if (!fallback)
                        fallback = t;
        }
        return fallback;
}

void nv_inject_hold_signals(sigset_t *old) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, old);
}
