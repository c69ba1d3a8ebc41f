/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated KVM: answers the same ioctls as /dev/kvm for one VM, holds
 * per-vCPU state and enforces the kernel's KVM_SET_NESTED_STATE rules with
 * the kernel's errno values, including the GET size write-back (E2BIG) and
 * its quirks.  It is written after the kernel's own functions (x86.c,
 * vmx/nested.c, svm/nested.c), independently of the validator, so that the
 * two can be checked against each other and both against the real kernel.
 *
 * Guest model: a vCPU "runs" a loop that increments RBX and then exits to
 * userspace with an OUT to port NV_SIM_IO_PORT whose instruction is only
 * completed on the next KVM_RUN, like a real PIO exit.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "macro.h"
#include "nested-state.h"

typedef struct NvSim NvSim;

#define NV_SIM_IO_PORT 0x80
#define NV_SIM_OUT_INSN_LEN 2
#define NV_SIM_MAX_VCPUS 1024

typedef struct NvSimConfig {
        NvFormat vendor;        /* which vendor module the simulated host runs */
        bool nested;            /* kvm_intel/kvm_amd nested= parameter */
        bool npt;               /* kvm_amd npt= parameter */
        bool svme0_gif0_ok;     /* behave like kernels after the late-2025 SVME=0/GIF fix */
        bool evmcs_supported;   /* KVM_CAP_HYPERV_ENLIGHTENED_VMCS offered (VMX) */
        bool vmentry_checks_fail; /* make V19 (VM-entry consistency checks) fail, for error-path tests */
        bool no_nested_state;   /* a kernel without nested state: KVM_CAP_NESTED_STATE is 0 */
} NvSimConfig;

/* The defaults of a current kernel: nested=1, npt=1, the SVME=0 fix, eVMCS on VMX. */
void nv_sim_config_init(NvSimConfig *cfg, NvFormat vendor);

/* Creates a simulator; returns NULL on allocation failure. */
NvSim *nv_sim_new(const NvSimConfig *cfg);
NvSim *nv_sim_free(NvSim *sim);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvSim *, nv_sim_free);

const NvSimConfig *nv_sim_config(const NvSim *sim);

/* Changes a knob at run time (e.g. make V19 fail from now on). */
void nv_sim_set_vmentry_checks_fail(NvSim *sim, bool fail);

/*
 * Opens a KVM handle (kvm.h) on a new simulator configured by cfg: the
 * simulated backend of src/kvm-backend.h.  The handle owns the simulator;
 * *ret_sim (optional) borrows it for the guest model below, as long as
 * the handle lives.
 */
int nv_sim_backend_open(const NvSimConfig *cfg, NvKvm **ret, NvSim **ret_sim, NvError **reterr);

/*
 * The ioctl entry point of the simulated backend.  target is -2 for the
 * system fd, -1 for the VM fd, or a vCPU id.  Returns >= 0 or -errno like
 * the kernel.
 */
int nv_sim_ioctl(NvSim *sim, int target, unsigned long req, void *arg);

/* The kvm_run area of a simulated vCPU, NULL if it does not exist. */
struct kvm_run *nv_sim_run_area(NvSim *sim, unsigned id);

/* How many vCPU ioctls of the given request reached the simulator (for tests). */
unsigned nv_sim_ioctl_count(const NvSim *sim, unsigned long req);

/*
 * Models the guest itself: L1 on vCPU id executes VMRUN (SVM) or
 * VMLAUNCH (VMX) and the vCPU is now running L2, as KVM would hold it.
 * with_shadow: the vmcs12 enables VMCS shadowing (VMX only; the blob is
 * then 8320 bytes).  L1 must have the vendor's CPUID bit (VMX) first.
 * Returns 0, -EINVAL if the vCPU cannot (no such vCPU, VMX not offered).
 */
int nv_sim_vcpu_enter_l2(NvSim *sim, unsigned id, bool with_shadow);

/* The L2 progress counter of the guest model (RBX). */
uint64_t nv_sim_vcpu_counter(NvSim *sim, unsigned id);
