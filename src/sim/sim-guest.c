/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated guest's own actions: an L1 hypervisor entering L2.  This is
 * what a real L1 does with VMRUN/VMLAUNCH; the simulator has no instruction
 * emulator, so the result is written into the state KVM would hold.
 */
#include <string.h>

#include "byteorder.h"
#include "sim-private.h"

#define L1_CR0 0x80000011ull /* PG|ET|PE */
#define L1_CR4_PAE 0x20ull
#define L1_CR4_VMXE 0x2000ull
#define L1_EFER 0x1500ull /* SVME|LMA|LME */
#define L1_CR3 0x104000ull
#define L2_RIP 0x4000ull

static void svm_enter(SimVcpu *v) {
        SimSvm *s = &v->svm;

        v->sregs.efer = L1_EFER;
        memset(s, 0, sizeof(*s));
        s->guest_mode = s->gif = true;
        s->vmcb12_gpa = 0x200000ull + 0x1000ull * v->id;
        put_le32(s->ctl + 0x010, 0x3);         /* intercept VMRUN, VMMCALL */
        put_le64(s->ctl + 0x040, 0x110000);    /* iopm_base_pa */
        put_le64(s->ctl + 0x048, 0x114000);    /* msrpm_base_pa */
        put_le32(s->ctl + 0x058, 1 + v->id);   /* asid */
        put_le32(s->ctl + 0x070, 0xffffffffu); /* exit_code: none yet */
        put_le64(s->save + 0x0D0, L1_EFER);
        put_le64(s->save + 0x148, L1_CR4_PAE);
        put_le64(s->save + 0x150, L1_CR3);
        put_le64(s->save + 0x158, L1_CR0);
        put_le64(s->save + 0x170, 0x2);         /* rflags */
        put_le64(s->save + 0x178, 0x2000 + 3);  /* rip: after the 3-byte VMRUN */
        put_le64(s->save + 0x1D8, 0x8000);      /* rsp */
}

static void vmx_enter(SimVcpu *v, bool with_shadow) {
        SimVmx *x = &v->vmx;
        uint8_t *p = x->vmcs12;

        memset(x, 0, sizeof(*x));
        x->vmxon = x->guest_mode = true;
        x->vmxon_ptr = 0x101000ull + 0x10000ull * v->id;
        x->current_vmptr = x->vmxon_ptr + 0x1000;
        put_le32(p + 0, NV_VMCS12_REVISION);
        put_le32(p + 8, 1);                       /* launch_state: launched */
        put_le64(p + 176, UINT64_MAX);            /* vmcs_link_pointer */
        put_le64(p + 584, L1_CR0);                /* host_cr0 */
        put_le64(p + 592, L1_CR3);                /* host_cr3 */
        put_le64(p + 600, L1_CR4_PAE | L1_CR4_VMXE);
        put_le64(p + 672, 0x2000);                /* host_rip: L1's exit handler */
        put_le32(p + 768, 1u << 9);               /* exit controls: host address-space size */
        put_le32(p + 780, 1u << 9);               /* entry controls: IA-32e mode guest */
        if (with_shadow) {
                put_le32(p + 748, 1u << 31);              /* activate secondary controls */
                put_le32(p + 804, 1u << 14);              /* VMCS shadowing */
                put_le64(p + 176, x->current_vmptr + 0x1000);
                put_le32(x->shadow, NV_VMCS12_REVISION | (1u << 31));
        }
}

int nv_sim_vcpu_enter_l2(NvSim *sim, unsigned id, bool with_shadow) {
        SimVcpu *v = id < NV_SIM_MAX_VCPUS ? sim->vcpus[id] : NULL;

        if (!v)
                return -EINVAL;
        v->sregs.cr0 = L1_CR0;
        v->sregs.cr4 = L1_CR4_PAE;
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
