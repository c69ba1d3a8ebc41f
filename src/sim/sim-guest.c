/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated guest's own actions: an L1 hypervisor entering L2.  This is
 * what a real L1 does with VMRUN/VMLAUNCH; the simulator has no instruction
 * emulator, so the result is written into the state KVM would hold.
 */
#include <string.h>

#include "byteorder.h"
#include "sim-private.h"

#define L1_CR0 (X86_CR0_PG | X86_CR0_ET | X86_CR0_PE)
#define L1_EFER (X86_EFER_SVME | X86_EFER_LMA | X86_EFER_LME)
#define L1_CR3 0x104000ull
#define L2_RIP 0x4000ull

static void svm_enter(SimVcpu *v) {
        SimSvm *s = &v->svm;

        v->sregs.efer = L1_EFER;
        memset(s, 0, sizeof(*s));
        s->guest_mode = s->gif = true;
        s->vmcb12_gpa = 0x200000ull + 0x1000ull * v->id;
        put_le32(s->ctl + VMCB_CTL_INTERCEPT_WORD4, SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL);
        put_le64(s->ctl + VMCB_CTL_IOPM_BASE_PA, 0x110000);
        put_le64(s->ctl + VMCB_CTL_MSRPM_BASE_PA, 0x114000);
        put_le32(s->ctl + VMCB_CTL_ASID, 1 + v->id);
        put_le32(s->ctl + VMCB_CTL_EXIT_CODE, SVM_EXIT_INVALID); /* no exit yet */
        put_le64(s->save + VMCB_SAVE_EFER, L1_EFER);
        put_le64(s->save + VMCB_SAVE_CR4, X86_CR4_PAE);
        put_le64(s->save + VMCB_SAVE_CR3, L1_CR3);
        put_le64(s->save + VMCB_SAVE_CR0, L1_CR0);
        put_le64(s->save + VMCB_SAVE_RFLAGS, X86_EFLAGS_FIXED);
        put_le64(s->save + VMCB_SAVE_RIP, 0x2000 + 3); /* after the 3-byte VMRUN */
        put_le64(s->save + VMCB_SAVE_RSP, 0x8000);
}

static void vmx_enter(SimVcpu *v, bool with_shadow) {
        SimVmx *x = &v->vmx;
        uint8_t *p = x->vmcs12;

        memset(x, 0, sizeof(*x));
        x->vmxon = x->guest_mode = true;
        x->vmxon_ptr = 0x101000ull + 0x10000ull * v->id;
        x->current_vmptr = x->vmxon_ptr + 0x1000;
        put_le32(p + VMCS12_REVISION_ID, NV_VMCS12_REVISION);
        put_le32(p + VMCS12_LAUNCH_STATE, VMCS12_LAUNCHED);
        put_le64(p + VMCS12_VMCS_LINK_POINTER, NV_GPA_INVALID);
        put_le64(p + VMCS12_HOST_CR0, L1_CR0);
        put_le64(p + VMCS12_HOST_CR3, L1_CR3);
        put_le64(p + VMCS12_HOST_CR4, X86_CR4_PAE | X86_CR4_VMXE);
        put_le64(p + VMCS12_HOST_RIP, 0x2000); /* L1's exit handler */
        put_le32(p + VMCS12_VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE);
        put_le32(p + VMCS12_VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
        if (with_shadow) {
                put_le32(p + VMCS12_CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
                put_le32(p + VMCS12_SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS);
                put_le64(p + VMCS12_VMCS_LINK_POINTER, x->current_vmptr + X86_PAGE_SIZE);
                put_le32(x->shadow + VMCS12_REVISION_ID, NV_VMCS12_REVISION | VMCS_SHADOW_BIT);
        }
}

int nv_sim_vcpu_enter_l2(NvSim *sim, unsigned id, bool with_shadow) {
        SimVcpu *v = id < NV_SIM_MAX_VCPUS ? sim->vcpus[id] : NULL;

        if (!v)
                return -EINVAL;
        v->sregs.cr0 = L1_CR0;
        v->sregs.cr4 = X86_CR4_PAE;
        v->sregs.cr3 = 0x300000;
        v->regs.rip = L2_RIP;
        if (sim->cfg.vendor == NV_FORMAT_SVM) {
                svm_enter(v);
                return 0;
        }
        if (!v->cpuid_vmx || !sim->cfg.nested)
                return -EINVAL;
        vmx_enter(v, with_shadow);
        return 0;
}

uint64_t nv_sim_vcpu_counter(NvSim *sim, unsigned id) {
        return id < NV_SIM_MAX_VCPUS && sim->vcpus[id] ? sim->vcpus[id]->regs.rbx : 0;
}
