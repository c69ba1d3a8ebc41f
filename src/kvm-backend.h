/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a KVM backend implements: an ops table, one contract per entry,
 * chosen when the handle is opened.  kvm.c is the front end every caller
 * uses (handles, named ioctl wrappers, error messages); kvm-dev.c is the
 * backend on the kernel's /dev/kvm, and the simulated KVM (src/sim/, a
 * library of its own that only tests and the demo link) is the other.
 * Nothing outside the two backends asks which one runs; output may show
 * the backend's name.  Not installed.
 *
 * "data" is the backend's own state, handed over to nv_kvm_new().  Calls
 * return >= 0 or -errno exactly as the kernel would answer.
 */
#pragma once

#include "host.h"
#include "kvm.h"

typedef struct NvKvmBackend {
        /* "kvm" or "simulated", for output that must say which one ran. */
        const char *name;
        /* Frees data and whatever the backend opened (not a VM fd it adopted); accepts NULL. */
        void (*free)(void *data);
        /* KVM_CHECK_EXTENSION on the VM when there is one, else on the system fd: the value, 0 if absent. */
        int (*check_extension)(void *data, long cap);
        /* A system ioctl other than KVM_CREATE_VM (KVM_GET_SUPPORTED_CPUID). */
        int (*system_ioctl)(void *data, unsigned long req, void *arg);
        /* Creates the handle's one VM and keeps it; names the failed ioctl in *reterr. */
        int (*create_vm)(void *data, NvError **reterr);
        /* Backs guest-physical gpa..gpa+size with mem (page aligned) as memory slot `slot`; a backend without guest memory accepts it as a no-op. */
        int (*set_memory)(void *data, uint32_t slot, uint64_t gpa, void *mem, size_t size, NvError **reterr);
        /* KVM_CREATE_VCPU id: the vCPU's fd (-1 if the backend has none) and its kvm_run area. */
        int (*create_vcpu)(void *data, unsigned id, int *ret_fd, struct kvm_run **ret_run, NvError **reterr);
        /* Releases what create_vcpu returned. */
        void (*destroy_vcpu)(void *data, int fd, struct kvm_run *run);
        /* Checks a vCPU a VMM created; may fill *run (NULL when the VMM has none) with the backend's own. */
        int (*adopt_vcpu)(void *data, int fd, unsigned id, struct kvm_run **run, NvError **reterr);
        /* An ioctl on the vCPU with this fd and id. */
        int (*vcpu_ioctl)(void *data, int fd, unsigned id, unsigned long req, void *arg);
        /*
         * The host facts the backend knows (KVM_CAP_NESTED_STATE, its name,
         * and whatever it models rather than reads from the machine): written
         * over what nv_host_probe() read from the files below its root.
         */
        void (*host_facts)(void *data, NvHostInfo *h);
        /*
         * A new handle on the same kernel with no VM yet, for scratch VMs
         * whose verdicts are the kernel's own.  NULL on a backend whose
         * verdicts would not be (the simulator judges with the validator).
         */
        int (*scratch)(void *data, NvKvm **ret, NvError **reterr);
} NvKvmBackend;

/*
 * A handle on backend ops with its state data, which the handle takes over
 * (also on failure).  has_vm: data already holds the VM (one a VMM owns).
 */
int nv_kvm_new(const NvKvmBackend *ops, void *data, bool has_vm, NvKvm **ret, NvError **reterr);

/* Fills h's backend facts from kvm's backend (see host_facts). */
void nv_kvm_host_facts(NvKvm *kvm, NvHostInfo *h);
