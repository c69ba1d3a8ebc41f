/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "process" VMM backend: a VMM with no nestvirt code in it, named by
 * its pidfile or pid (<nestvirt:vmm transport="process">), reached through
 * ptrace (src/inject/).  A freeze is the ptrace freeze itself: every
 * thread seized and stopped, every vCPU out of KVM_RUN with its pending
 * exit completed.  It lasts as long as this process holds the threads,
 * and never longer: the kernel lets every tracee go when its tracer exits,
 * so no freeze of ours can outlive us.  Hence a kept freeze (save
 * --keep-frozen, migrate-begin) is granted only to a VMM that its own
 * pause stopped already (no vCPU runs, nothing to keep frozen), and is
 * refused for a running one.  docs/agentless.md says it for users.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "driver-private.h"
#include "fileio.h"
#include "inject.h"
#include "vmm-proc.h"

/* How long a VMM must enter no KVM_RUN to count as paused (restore, a kept freeze). */
#define PAUSED_WINDOW_USEC 200000u

struct NvVmmHandle {
        NvVmmProc *p;
        pid_t pid;
        int vendor;
        bool held;               /* the ptrace freeze is ours now */
        uint64_t since_usec;     /* CLOCK_REALTIME, when it began */
        uint64_t token;
        sigset_t old_mask;       /* the signal mask before the freeze */
};

/* A pidfile holds one decimal number (trailing whitespace allowed), nothing else. */
static int read_pidfile(const char *path, pid_t *ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        char text[32];
        size_t len = 0;
        uint64_t v;
        int r;

        r = nv_file_read(path, sizeof(text) - 1, &buf, &len, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("The VMM's pidfile"));
        memcpy(text, buf, len);
        text[len] = '\0';
        text[strcspn(text, " \t\r\n")] = '\0';
        if (nv_parse_unsigned(text, 10, INT32_MAX, &v) < 0 || v == 0)
                return nv_error_set(reterr, -EINVAL, _("The VMM's pidfile '%s' does not hold a process id ('%.31s')."), path, text);
        *ret = (pid_t) v;
        return 0;
}

static int proc_connect(const NvNestedMeta *meta, NvVmmHandle **ret, NvError **reterr) {
        _cleanup_free_ NvVmmHandle *h = calloc(1, sizeof(*h));
        NvHostInfo host;
        int r;

        if (!h)
                return -ENOMEM;
        h->pid = (pid_t) meta->pid;
        if (meta->pidfile && (r = read_pidfile(meta->pidfile, &h->pid, reterr)) < 0)
                return r;
        if (kill(h->pid, 0) < 0 && errno == ESRCH)
                return nv_error_set(reterr, -ESRCH, _("There is no process %d (named by %s): the VMM does not run."), (int) h->pid,
                                    meta->pidfile ?: "<nestvirt:vmm pid>");
        r = nv_vmm_proc_open(h->pid, &h->p, reterr);
        if (r < 0)
                return r;
        /* The VMM runs on this host's CPU: its vCPUs are of this vendor. */
        r = nv_host_probe(NULL, NULL, &host, reterr);
        if (r < 0) {
                nv_vmm_proc_free(h->p);
                return r;
        }
        h->vendor = host.cpu_vendor;
        *ret = TAKE_PTR(h);
        return 0;
}

/* 0 if the VMM's own pause stopped its vCPUs; else a refusal naming why. */
static int need_paused(NvVmmHandle *h, const char *what, NvError **reterr) {
        int r = nv_vmm_proc_running(h->p, PAUSED_WINDOW_USEC, reterr);

        if (r > 0)
                return nv_error_set(reterr, -EOPNOTSUPP,
                                    _("The VMM (process %d) runs, and nestvirt cannot %s: it reaches the VMM through ptrace, "
                                      "and the kernel resumes every traced thread when nestvirt exits. Pause the VMM "
                                      "through its own API first."),
                                    (int) h->pid, what);
        return r;
}

static void release(NvVmmHandle *h) {
        if (!h->held)
                return;
        nv_vmm_proc_thaw(h->p);
        h->held = false;
        pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
}

static int proc_freeze(NvVmmHandle *h, bool keep, uint64_t *ret_token, NvError **reterr) {
        int r;

        if (h->held)
                return nv_error_set(reterr, -EBUSY, _("Process %d is frozen already."), (int) h->pid);
        if (keep && (r = need_paused(h, _("keep it frozen after it exits"), reterr)) < 0)
                return r;
        nv_inject_hold_signals(&h->old_mask); /* SIGKILL aside, the VMM is always let go properly */
        h->held = true;
        r = nv_vmm_proc_freeze(h->p, NV_VMM_PROC_DEFAULT_TIMEOUT_USEC, NULL, reterr);
        if (r < 0) {
                release(h); /* every thread seized so far goes back as it was */
                return nv_error_wrap(reterr, r, _("Freezing process %d"), (int) h->pid);
        }
        h->since_usec = nv_now_usec(CLOCK_REALTIME);
        *ret_token = ++h->token;
        return 0;
}

static int proc_frozen(NvVmmHandle *h, uint64_t *ret_since_usec, NvError **reterr) {
        if (ret_since_usec)
                *ret_since_usec = h->held ? h->since_usec : 0;
        return h->held;
}

static int proc_thaw(NvVmmHandle *h, uint64_t token, NvError **reterr) {
        if (!h->held || token != h->token)
                return nv_error_set(reterr, -ENOENT, _("Process %d holds no freeze %llu of ours."), (int) h->pid,
                                    (unsigned long long) token);
        release(h);
        return 0;
}

static int proc_thaw_all(NvVmmHandle *h, NvError **reterr) {
        release(h);
        return 0;
}

static int proc_get_state(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        int r;

        if (!h->held)
                return nv_error_set(reterr, -EINVAL, _("Process %d is not frozen."), (int) h->pid);
        r = nv_vmm_proc_collect(h->p, &s, reterr);
        return r < 0 ? r : nv_snapshot_serialize(s, ret_img, ret_len, reterr);
}

static int proc_set_state(NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        int r;

        if (!h->held)
                return nv_error_set(reterr, -EINVAL, _("Process %d is not frozen."), (int) h->pid);
        r = nv_snapshot_parse(img, len, &s, reterr);
        return r < 0 ? r : nv_vmm_proc_load(h->p, s, reterr);
}

static unsigned proc_vcpu_count(NvVmmHandle *h) {
        return nv_vmm_proc_n_vcpus(h->p);
}

static int proc_vendor(NvVmmHandle *h) {
        return h->vendor;
}

/*
 * An unmodified VMM cannot say that it resumed from a saved state; what
 * can be seen is whether its vCPUs run.  One paused by its own means
 * (restored and not resumed yet) takes old nested state; a running one
 * must not.
 */
static int proc_incoming(NvVmmHandle *h) {
        int r;

        /* A VMM we may not trace: say nothing here, and let the freeze refuse it naming the reason. */
        if (nv_inject_check(h->pid, NULL, NULL) < 0)
                return 1;
        r = nv_vmm_proc_running(h->p, PAUSED_WINDOW_USEC, NULL);
        return r < 0 ? -1 : !r;
}

static void proc_disconnect(NvVmmHandle *h) {
        if (!h)
                return;
        release(h);
        nv_vmm_proc_free(h->p);
        free(h);
}

const NvVmmBackend nv_vmm_backend_process = {
        .name = "process",
        .connect = proc_connect,
        .freeze = proc_freeze,
        .frozen = proc_frozen,
        .thaw = proc_thaw,
        .get_state = proc_get_state,
        .set_state = proc_set_state,
        .vcpu_count = proc_vcpu_count,
        .vendor = proc_vendor,
        .vm_uuid = NULL, /* an unmodified VMM names no VM: the metadata's pidfile or pid is the only link */
        .incoming = proc_incoming,
        .thaw_all = proc_thaw_all,
        .disconnect = proc_disconnect,
};
