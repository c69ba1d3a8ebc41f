/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp-exec PROGRAM [ARG]...: runs PROGRAM under a seccomp filter that
 * kills the process on KVM_GET_NESTED_STATE or KVM_SET_NESTED_STATE, the
 * way a Firecracker-style filter treats an ioctl its VMM never makes.
 * The agentless e2e test runs the reference VMM under it (a VMM nestvirt
 * must not inject that ioctl into without suspending the filter), and
 * nestvirt under it (a tracer with a filter of its own, to which the
 * kernel refuses PTRACE_O_SUSPEND_SECCOMP even as root).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 4),
                /* args[1], the request: its low 32 bits are enough on little-endian x86-64 */
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) KVM_GET_NESTED_STATE, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) KVM_SET_NESTED_STATE, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

        if (argc < 2) {
                fprintf(stderr, "Usage: seccomp-exec PROGRAM [ARG]...\n");
                return 2;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                fprintf(stderr, "seccomp-exec: cannot install the filter: %s\n", strerror(errno));
                return 1;
        }
        execvp(argv[1], argv + 1);
        fprintf(stderr, "seccomp-exec: cannot run %s: %s\n", argv[1], strerror(errno));
        return 127;
}
