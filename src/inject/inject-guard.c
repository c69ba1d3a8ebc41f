/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A guard process for bytes we changed in a tracee and must put back.
 * SIGKILL gives the tracer no chance to clean up: the kernel detaches its
 * tracees, which run on with whatever we left in their memory.  For
 * immediate_exit in a kvm_run page that would be a vCPU whose every
 * KVM_RUN returns EINTR at once, for good (a VMM that never sets the flag
 * never clears it).  So before such a write we tell the guard, a child
 * process, what to write back; when its socket closes with something still
 * armed (we died), it writes it back and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"

#define GUARD_MAX 1024u

typedef struct GuardRecord {
        uint64_t addr;
        uint8_t value; /* what to write back at addr */
        uint8_t armed; /* 0: put back already, nothing to do */
} GuardRecord;

struct NvInjectGuard {
        pid_t pid;   /* the guard */
        int fd;
};

/* The child: only async-signal-safe calls, as after any fork of a threaded process. */
static _Noreturn void guard_main(pid_t tracee, int fd) {
        static GuardRecord recs[GUARD_MAX];
        GuardRecord rec;
        size_t n = 0, i;

        while (recv(fd, &rec, sizeof rec, 0) == (ssize_t) sizeof rec) {
                for (i = 0; i < n && recs[i].addr != rec.addr; i++)
                        ;
                if (i == n && n < GUARD_MAX)
                        n++;
                if (i < n)
                        recs[i] = rec;
        }
        for (i = 0; i < n; i++)
                if (recs[i].armed) {
                        struct iovec local = { &recs[i].value, 1 }, remote = { (void *) (uintptr_t) recs[i].addr, 1 };
                        (void) process_vm_writev(tracee, &local, 1, &remote, 1, 0);
                }
        _exit(0);
}

int nv_inject_guard_new(pid_t tracee, NvInjectGuard **ret, NvError **reterr) {
        NvInjectGuard *g = calloc(1, sizeof(*g));
        int fds[2];

        if (!g)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory."));
        /* SEQPACKET: one record a message; send() with MSG_NOSIGNAL never raises SIGPIPE. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
                free(g);
                return nv_error_set(reterr, -errno, _("Cannot start the guard process: %s"), strerror(errno));
        }
        g->pid = fork();
        if (g->pid == 0) {
                close(fds[0]);
                guard_main(tracee, fds[1]);
        }
        close(fds[1]);
        if (g->pid < 0) {
                int e = errno;
                close(fds[0]);
                free(g);
                return nv_error_set(reterr, -e, _("Cannot start the guard process: %s"), strerror(e));
        }
        g->fd = fds[0];
        *ret = g;
        return 0;
}

void nv_inject_guard_note(NvInjectGuard *g, uint64_t addr, uint8_t value, bool armed) {
        GuardRecord rec = { .addr = addr, .value = value, .armed = armed };

        if (g)
                (void) send(g->fd, &rec, sizeof rec, MSG_NOSIGNAL);
}

NvInjectGuard *nv_inject_guard_free(NvInjectGuard *g) {
        if (!g)
                return NULL;
        close(g->fd); /* everything was disarmed: the guard exits */
        (void) waitpid(g->pid, NULL, 0);
        free(g);
        return NULL;
}
