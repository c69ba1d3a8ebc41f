/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A KVM VMM process with no nestvirt code in it, reached from outside:
 * its VM and vCPUs are found in /proc, and the KVM ioctls run inside it
 * through syscall injection (inject.h), because KVM answers a vCPU ioctl
 * only from the process that created the VM.
 *
 * The sequence: nv_vmm_proc_open() (reads /proc only) →
 * nv_vmm_proc_freeze() (every thread stopped, every vCPU out of KVM_RUN
 * with its last exit completed, a scratch page mapped in the VMM) →
 * collect or load → nv_vmm_proc_free() (scratch unmapped, registers and
 * immediate_exit put back, threads let go).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "macro.h"
#include "snapshot.h"

#define NV_VMM_PROC_MAX_VCPUS 1024u
#define NV_VMM_PROC_DEFAULT_TIMEOUT_USEC 500000u

typedef struct NvVmmProcVcpu {
        unsigned id;       /* from anon_inode:kvm-vcpu:ID */
        int fd;            /* the VMM's fd number */
        uint64_t run_addr; /* the VMM's kvm_run mapping, 0 if it has none */
        bool completed_exit; /* the last freeze completed a pending exit with an immediate exit */
} NvVmmProcVcpu;

typedef struct NvVmmProc NvVmmProc;

/*
 * Finds the VM fd, the vCPU fds and their kvm_run mappings of process pid
 * from /proc.  Refuses a process without a KVM VM, with more than one, or
 * without vCPUs.  Touches nothing.
 */
int nv_vmm_proc_open(pid_t pid, NvVmmProc **ret, NvError **reterr);

/*
 * Whether the VMM runs its vCPUs: 1 if a thread is inside KVM_RUN on one
 * of them (interrupted there, or blocked in it on a halted vCPU) or enters
 * KVM_RUN within window_usec; 0 if none does (a VMM paused by its own
 * means: its other threads may go on waking for timers and I/O).  Watches
 * with ptrace stops only, changing no register and injecting nothing, and
 * lets go before it returns; the refusals of inject.h apply.
 */
int nv_vmm_proc_running(NvVmmProc *p, uint64_t window_usec, NvError **reterr);

/* Unmaps the scratch page, restores and lets go of every thread; accepts NULL; returns NULL. */
NvVmmProc *nv_vmm_proc_free(NvVmmProc *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvVmmProc *, nv_vmm_proc_free);

unsigned nv_vmm_proc_n_vcpus(const NvVmmProc *p);
const NvVmmProcVcpu *nv_vmm_proc_vcpu(const NvVmmProc *p, unsigned i);
int nv_vmm_proc_vm_fd(const NvVmmProc *p);

/*
 * Seizes every thread (refusals: inject.h), brings every vCPU out of
 * KVM_RUN with any exit that awaits completion completed (a KVM_RUN
 * entered meanwhile gets immediate_exit and returns EINTR to the VMM;
 * after timeout_usec, a paused VMM's exits are completed by a KVM_RUN
 * with immediate_exit run from one of its stopped threads), and maps the
 * scratch memory.  *ret_quiesced
 * (optional): how many vCPUs needed the immediate exit.
 */
int nv_vmm_proc_freeze(NvVmmProc *p, uint64_t timeout_usec, unsigned *ret_quiesced, NvError **reterr);

/* Unmaps the scratch memory, puts registers back and lets every thread go; the vCPU list stays. */
void nv_vmm_proc_thaw(NvVmmProc *p);

/*
 * ioctl(fd, cmd, arg) inside the frozen VMM: arg_len bytes of arg are
 * copied to the scratch memory first and back afterwards.
 * nv_vmm_proc_ioctl_value() passes value itself (KVM_CHECK_EXTENSION).
 * Returns the ioctl's result or its -errno.
 */
int nv_vmm_proc_ioctl(NvVmmProc *p, int fd, unsigned long cmd, void *arg, size_t arg_len, NvError **reterr);
int nv_vmm_proc_ioctl_value(NvVmmProc *p, int fd, unsigned long cmd, long value, NvError **reterr);

/* KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE) on the VMM's VM, learnt at freeze. */
int nv_vmm_proc_nested_max(const NvVmmProc *p);

/* Every vCPU's nested state as a snapshot (needs a freeze; -EOPNOTSUPP if the kernel cannot save it). */
int nv_vmm_proc_collect(NvVmmProc *p, NvSnapshot **ret, NvError **reterr);

/*
 * Loads s into the frozen VMM: checked first (vendor, vCPU ids, every blob
 * validated against the target vCPU's state and CPUID), then set per vCPU;
 * if the kernel refuses one, the vCPUs already set get their previous
 * nested state back.
 */
int nv_vmm_proc_load(NvVmmProc *p, const NvSnapshot *s, NvError **reterr);
