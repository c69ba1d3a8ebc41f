/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulator's per-vCPU state, shared by sim.c, sim-vmx.c and sim-svm.c. */
#pragma once

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim.h"
#include "x86-arch.h"

#define SIM_RUN_SIZE 8192u
#define SIM_IO_DATA_OFFSET 4096u
#define SIM_MAX_MSRS 64u
#define SIM_MAX_CPUID_ENTRIES 256u /* KVM_MAX_CPUID_ENTRIES */
#define SIM_HOST_CPUID_LEAVES 6u   /* what KVM_GET_SUPPORTED_CPUID returns */
#define SIM_HOST_MAXPHYADDR 48u

typedef struct SimVmx {
        bool vmxon;
        uint64_t vmxon_ptr;
        uint64_t current_vmptr;
        bool evmcs; /* enlightened VMCS in use (map pending or mapped) */
        bool guest_mode;
        bool run_pending;
        bool mtf_pending;
        bool smm_vmxon;
        bool smm_guest_mode;
        bool deadline_valid;
        uint64_t deadline;
        uint8_t vmcs12[4096];
        uint8_t shadow[4096];
} SimVmx;

typedef struct SimSvm {
        bool guest_mode;
        bool gif;
        bool run_pending;
        uint64_t vmcb12_gpa;
        uint8_t ctl[VMCB_CTL_AREA_SIZE]; /* cached vmcb12 control area */
        uint8_t save[VMCB_SAVE_AREA_COPIED]; /* vmcb01 save area: L1 state at VMRUN */
} SimSvm;

typedef struct SimVcpu {
        unsigned id;
        struct kvm_run *run; /* SIM_RUN_SIZE bytes, like the mmap of a real vCPU */
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_vcpu_events events;
        struct kvm_msr_entry msrs[SIM_MAX_MSRS];
        unsigned n_msrs;
        struct kvm_cpuid_entry2 *cpuid; /* as KVM_SET_CPUID2 gave it, cpuid_nent entries */
        uint32_t cpuid_nent;
        uint64_t cr4_guest_rsvd_bits; /* CR4 bits its CPUID's features do not allow */
        bool cpuid_vmx, cpuid_svm;
        unsigned maxphyaddr;
        bool evmcs_enabled;
        bool io_pending; /* the OUT of the last exit is not completed yet */
        SimVmx vmx;
        SimSvm svm;
} SimVcpu;

struct NvSim {
        NvSimConfig cfg;
        uint64_t cr4_reserved_bits;  /* what the host's own features allow no vCPU */
        uint64_t efer_reserved_bits;
        bool vm_created;
        SimVcpu *vcpus[NV_SIM_MAX_VCPUS];
        struct {
                unsigned long req;
                unsigned count;
        } counts[32];
};

/* page_address_valid() with the vCPU's guest MAXPHYADDR. */
static inline bool sim_gpa_legal(const SimVcpu *v, uint64_t gpa) {
        return (gpa >> v->maxphyaddr) == 0;
}
static inline bool sim_page_address_valid(const SimVcpu *v, uint64_t gpa) {
        return (gpa & X86_PAGE_MASK) == 0 && sim_gpa_legal(v, gpa);
}
static inline bool sim_in_smm(const SimVcpu *v) {
        return v->events.smi.smm;
}

/* Which CR4/EFER bits a vCPU may hold (sim-cpuid.c). */
uint64_t sim_cr4_reserved_bits(const struct kvm_cpuid_entry2 *e, uint32_t n);
uint64_t sim_efer_reserved_bits(const NvSimConfig *cfg, const struct kvm_cpuid_entry2 *host, uint32_t n);
bool sim_cr4_valid(const NvSim *sim, const SimVcpu *v, uint64_t cr4);
bool sim_efer_valid(const NvSim *sim, const SimVcpu *v, uint64_t efer);

/* Vendor callbacks; return the size (GET) or 0 (SET), or -errno. */
int sim_vmx_get_nested_state(NvSim *sim, SimVcpu *v, struct kvm_nested_state *u, uint32_t user_size);
int sim_vmx_set_nested_state(NvSim *sim, SimVcpu *v, const struct kvm_nested_state *u);
int sim_svm_get_nested_state(NvSim *sim, SimVcpu *v, struct kvm_nested_state *u, uint32_t user_size);
int sim_svm_set_nested_state(NvSim *sim, SimVcpu *v, const struct kvm_nested_state *u);
void sim_svm_leave_nested(SimVcpu *v);
