/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Syscall injection into another process through ptrace, the way CRIU's
 * compel does it: every thread is seized and interrupted, one stopped
 * thread is made to execute a syscall with our arguments, and every
 * register is put back before the process runs on.  docs/agentless.md
 * explains the rules this follows.
 *
 * x86-64 only.  Nothing here knows about KVM; vmm-proc.h builds on it.
 * Not part of the core library: only the "process" VMM backend and its
 * commands link it.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "error.h"
#include "macro.h"

typedef struct NvInject NvInject;

/* One seized thread. */
typedef struct NvInjectThread {
        pid_t tid;
        struct user_regs_struct regs; /* as found, restart already applied */
        bool regs_dirty;              /* regs were changed and must be written back */
        int pending_sig;              /* a signal we held back, delivered at detach */
        bool at_entry;                /* stopped at a syscall-entry stop: never injected into */
        bool gone;                    /* exited while we held it */
} NvInjectThread;

/*
 * Checks, touching nothing, that pid can be seized by this process: Yama's
 * ptrace_scope, no other tracer, the privilege to trace it, and a way past
 * a seccomp filter (PTRACE_O_SUSPEND_SECCOMP needs CAP_SYS_ADMIN).  Sets
 * *ret_suspend_seccomp when a thread has a filter.  The error names the
 * reason.
 */
int nv_inject_check(pid_t pid, bool *ret_suspend_seccomp, NvError **reterr);

/*
 * nv_inject_check(), then seizes and interrupts every thread of pid
 * (kernel worker threads in the group excepted) and waits until each is
 * stopped.  On failure every thread seized so far is let go unchanged.
 */
int nv_inject_attach(pid_t pid, NvInject **ret, NvError **reterr);

/* Restores every changed register set, detaches, redelivers held signals; accepts NULL; returns NULL. */
NvInject *nv_inject_free(NvInject *in);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvInject *, nv_inject_free);

pid_t nv_inject_pid(const NvInject *in);
size_t nv_inject_n_threads(const NvInject *in);
NvInjectThread *nv_inject_thread(NvInject *in, size_t i);
/* The thread with this tid, or NULL. */
NvInjectThread *nv_inject_find(NvInject *in, pid_t tid);

/*
 * Makes thread t execute syscall nr(args[0..5]) and returns its raw result
 * (a negative errno on failure of the syscall) in *ret_result.  t's
 * registers are restored afterwards.  Returns 0 or -errno when the
 * injection itself failed (the thread died, no syscall instruction).
 */
int nv_inject_syscall(NvInject *in, NvInjectThread *t, long nr, const long args[6], long *ret_result, NvError **reterr);

/*
 * Lets every thread run (with syscall stops) until fn says the work is done;
 * fn is called at every syscall entry and exit stop of any thread with that
 * stop's registers, and returns NV_INJECT_DONE, NV_INJECT_GO_ON,
 * NV_INJECT_HOLD (keep this thread stopped here, the others go on) or < 0
 * to fail.  All threads held and not done is a failure (-EDEADLK).  Then, and on a failure or after timeout_usec (-ETIMEDOUT),
 * every thread is stopped again and its registers read afresh.
 */
enum { NV_INJECT_GO_ON, NV_INJECT_DONE, NV_INJECT_HOLD };
typedef int (*NvInjectStopFunc)(NvInject *in, NvInjectThread *t, bool entry, const struct user_regs_struct *regs,
                                void *userdata);
int nv_inject_run_all(NvInject *in, NvInjectStopFunc fn, void *userdata, uint64_t timeout_usec, NvError **reterr);

/* A thread to inject into: stopped in a syscall where possible, never at a syscall entry. NULL if none. */
NvInjectThread *nv_inject_pick(NvInject *in);

/*
 * Between a freeze and its release the tracee's threads are ours: the
 * calling thread blocks SIGINT, SIGTERM and SIGHUP until it lets them go
 * (SIGKILL cannot be blocked; docs/agentless.md says what it leaves).
 * *old receives the mask to put back.
 */
void nv_inject_hold_signals(sigset_t *old);

/*
 * A child process that puts bytes back into the tracee if this process dies
 * (SIGKILL) before it does so itself: arm (note with armed) before changing
 * a byte whose change must not outlive us, disarm after putting it back.
 * Freeing it with nothing armed ends it.
 */
typedef struct NvInjectGuard NvInjectGuard;
int nv_inject_guard_new(pid_t tracee, NvInjectGuard **ret, NvError **reterr);
void nv_inject_guard_note(NvInjectGuard *g, uint64_t addr, uint8_t value, bool armed);
NvInjectGuard *nv_inject_guard_free(NvInjectGuard *g);

/* process_vm_readv/writev of the tracee's memory, all bytes or -EIO. */
int nv_inject_read(NvInject *in, uint64_t addr, void *buf, size_t len, NvError **reterr);
int nv_inject_write(NvInject *in, uint64_t addr, const void *buf, size_t len, NvError **reterr);
