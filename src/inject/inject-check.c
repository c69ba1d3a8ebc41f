/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The refusals made before anything is touched: everything here only reads
 * /proc, so a refused process runs on exactly as it did.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject-private.h"
#include "util.h"

#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21
#define PF_KTHREAD_FLAG 0x00200000u
#define PF_USER_WORKER_FLAG 0x00004000u /* a kernel worker cloned from a user thread (6.4 and later) */
#define PF_IO_WORKER_FLAG 0x00000010u

/* The value after "key:" in a /proc status file, copied into buf. */
int inject_status_field(const char *path, const char *key, char *buf, size_t size) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char line[512];
        size_t kl = strlen(key);

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                char *v;
                if (strncmp(line, key, kl) != 0 || line[kl] != ':')
                        continue;
                v = line + kl + 1;
                v += strspn(v, " \t");
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, size, "%s", v);
                return 0;
        }
        return -ENOENT;
}

static int status_u64(const char *path, const char *key, unsigned base, uint64_t *ret) {
        char buf[128];
        int r = inject_status_field(path, key, buf, sizeof buf);
        if (r < 0)
                return r;
        return nv_parse_unsigned(buf, base, UINT64_MAX, ret);
}

static bool self_has_cap(int bit) {
        uint64_t eff = 0;
        return status_u64("/proc/self/status", "CapEff", 16, &eff) >= 0 && (eff >> bit) & 1;
}

/*
 * Kernel worker threads that KVM adds to the VMM's thread group (the NX
 * huge page recovery worker: a kthread before 6.12-ish, a user worker
 * since, which shows the KVM_RUN of the thread it was cloned from in its
 * syscall file) never run VMM code: nothing to seize or look at.
 */
bool inject_task_is_kthread(pid_t pid, pid_t tid) {
        char path[64], buf[1024], *p;
        _cleanup_(fclosep) FILE *f = NULL;
        unsigned long flags = 0;

        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                return false;
        p = strrchr(buf, ')');
        /* state ppid pgrp session tty_nr tpgid flags */
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
                return false;
        return flags & (PF_KTHREAD_FLAG | PF_USER_WORKER_FLAG | PF_IO_WORKER_FLAG);
}

/* Calls fn for every thread of pid (kernel workers skipped); stops at fn's first error. */
int inject_for_each_task(pid_t pid, int (*fn)(pid_t pid, pid_t tid, void *userdata), void *userdata) {
        char path[64];
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                uint64_t tid;
                int r;
                if (nv_parse_unsigned(de->d_name, 10, INT_MAX, &tid) < 0 || tid == 0)
                        continue;
                if (inject_task_is_kthread(pid, (pid_t) tid))
                        continue;
                r = fn(pid, (pid_t) tid, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int task_seccomp(pid_t pid, pid_t tid, void *userdata) {
        char path[64];
        uint64_t mode = 0;

        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) tid);
        if (status_u64(path, "Seccomp", 10, &mode) >= 0 && mode != 0)
                *(pid_t *) userdata = tid;
        return 0;
}

static bool is_descendant(pid_t pid) {
        pid_t self = getpid();
        for (int depth = 0; pid > 1 && depth < 4096; depth++) {
                char path[64];
                uint64_t ppid;
                snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
                if (status_u64(path, "PPid", 10, &ppid) < 0)
                        return false;
                if ((pid_t) ppid == self)
                        return true;
                pid = (pid_t) ppid;
        }
        return false;
}

static int check_yama(pid_t pid, NvError **reterr) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
        int scope = 0;

        if (!f || fscanf(f, "%d", &scope) != 1)
                return 0; /* no Yama: classic ptrace permissions */
        if (scope >= 3)
                return nv_error_set(reterr, -EPERM,
                                    _("Yama's kernel.yama.ptrace_scope is %d: this kernel allows no ptrace attach at all."),
                                    scope);
        if (scope == 2 && !self_has_cap(CAP_SYS_PTRACE_BIT))
                return nv_error_set(reterr, -EPERM,
                                    _("Yama's kernel.yama.ptrace_scope is 2: attaching needs CAP_SYS_PTRACE, which this process lacks."));
        if (scope == 1 && !self_has_cap(CAP_SYS_PTRACE_BIT) && !is_descendant(pid))
                return nv_error_set(reterr, -EPERM,
                                    _("Yama's kernel.yama.ptrace_scope is 1: process %d is not a descendant of this one and this process lacks CAP_SYS_PTRACE."),
                                    (int) pid);
        return 0;
}

/* The kernel's rule: without CAP_SYS_PTRACE, real, effective and saved ids must all be ours. */
static int check_ids(pid_t pid, const char *status, NvError **reterr) {
        const char *keys[] = { "Uid", "Gid" };
        const unsigned mine[] = { (unsigned) getuid(), (unsigned) getgid() };

        if (self_has_cap(CAP_SYS_PTRACE_BIT))
                return 0;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                char buf[128];
                unsigned ids[4];
                if (inject_status_field(status, keys[k], buf, sizeof buf) < 0 ||
                    sscanf(buf, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
                        return nv_error_set(reterr, -EIO, _("Cannot read the %s line of %s."), keys[k], status);
                for (int i = 0; i < 3; i++)
                        if (ids[i] != mine[k])
                                return nv_error_set(reterr, -EPERM,
                                                    _("Process %d runs as %s %u and this process as %u without CAP_SYS_PTRACE: not allowed to trace it."),
                                                    (int) pid, k == 0 ? "uid" : "gid", ids[i], mine[k]);
        }
        return 0;
}

int nv_inject_check(pid_t pid, bool *ret_suspend_seccomp, NvError **reterr) {
        char status[64], buf[128];
        uint64_t tracer = 0, self_seccomp = 0;
        pid_t filtered = 0;
        int r;

        if (pid <= 0 || pid == getpid())
                return nv_error_set(reterr, -EINVAL, _("Process %d cannot be traced by this process."), (int) pid);
        snprintf(status, sizeof status, "/proc/%d/status", (int) pid);
        if (inject_status_field(status, "Name", buf, sizeof buf) < 0)
                return nv_error_set(reterr, -ESRCH, _("No process %d."), (int) pid);
        r = check_yama(pid, reterr);
        if (r < 0)
                return r;
        if (status_u64(status, "TracerPid", 10, &tracer) >= 0 && tracer != 0)
                return nv_error_set(reterr, -EBUSY,
                                    _("Process %d is already traced by process %" PRIu64 " (a debugger or another tool); only one tracer can attach."),
                                    (int) pid, tracer);
        r = check_ids(pid, status, reterr);
        if (r < 0)
                return r;
        r = inject_for_each_task(pid, task_seccomp, &filtered);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot list the threads of process %d: %s"), (int) pid, strerror(-r));
        if (filtered) {
                (void) status_u64("/proc/self/status", "Seccomp", 10, &self_seccomp);
                if (!self_has_cap(CAP_SYS_ADMIN_BIT) || self_seccomp != 0)
                        return nv_error_set(reterr, -EPERM,
                                            _("Thread %d of process %d runs under a seccomp filter that could kill it on an injected syscall, and suspending the filter (PTRACE_O_SUSPEND_SECCOMP) needs CAP_SYS_ADMIN and no filter on this process."),
                                            (int) filtered, (int) pid);
        }
        if (ret_suspend_seccomp)
                *ret_suspend_seccomp = filtered != 0;
        return 0;
}
