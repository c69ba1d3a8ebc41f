/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated vmx_get_nested_state() / vmx_set_nested_state(), following the
 * kernel function step by step, side effects included: a SET that fails
 * after the flag checks has already left nested mode, as in the kernel.
 */
#include <string.h>

#include "byteorder.h"
#include "sim-private.h"

static bool vmx_allowed(NvSim *s, const SimVcpu *v) {
        return s->cfg.nested && v->cpuid_vmx;
}

static bool vmcs12_uses_shadow(const uint8_t *vmcs12) {
        return (get_le32(vmcs12 + VMCS12_CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
               (get_le32(vmcs12 + VMCS12_SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_SHADOW_VMCS) &&
               get_le64(vmcs12 + VMCS12_VMCS_LINK_POINTER) != NV_GPA_INVALID;
}

/* sync_vmcs02_to_vmcs12(): in guest mode the live registers are L2's. */
static void vmx_sync_vmcs12(SimVcpu *v) {
        uint8_t *p = v->vmx.vmcs12;

        put_le64(p + VMCS12_GUEST_RIP, v->regs.rip);
        put_le64(p + VMCS12_GUEST_RSP, v->regs.rsp);
        put_le64(p + VMCS12_GUEST_RFLAGS, v->regs.rflags);
        put_le64(p + VMCS12_GUEST_CR0, v->sregs.cr0);
        put_le64(p + VMCS12_GUEST_CR3, v->sregs.cr3);
        put_le64(p + VMCS12_GUEST_CR4, v->sregs.cr4);
}

/* nested_vmx_enter_non_root_mode(): L2's registers come from vmcs12. */
static void vmx_load_vmcs12_guest(SimVcpu *v) {
        const uint8_t *p = v->vmx.vmcs12;

        v->regs.rip = get_le64(p + VMCS12_GUEST_RIP);
        v->regs.rsp = get_le64(p + VMCS12_GUEST_RSP);
        v->regs.rflags = get_le64(p + VMCS12_GUEST_RFLAGS);
        v->sregs.cr0 = get_le64(p + VMCS12_GUEST_CR0);
        v->sregs.cr3 = get_le64(p + VMCS12_GUEST_CR3);
        v->sregs.cr4 = get_le64(p + VMCS12_GUEST_CR4);
}

static uint32_t vmx_state_size(NvSim *s, SimVcpu *v, struct kvm_nested_state *h) {
        const SimVmx *x = &v->vmx;
        uint32_t size = sizeof(*h);

        if (!vmx_allowed(s, v) || !(x->vmxon || x->smm_vmxon))
                return size;
        h->hdr.vmx.vmxon_pa = x->vmxon_ptr;
        h->hdr.vmx.vmcs12_pa = x->current_vmptr;
        if (x->current_vmptr != UINT64_MAX || x->evmcs) {
                size += KVM_STATE_NESTED_VMX_VMCS_SIZE;
                if (x->evmcs)
                        h->flags |= KVM_STATE_NESTED_EVMCS;
                if (x->guest_mode && vmcs12_uses_shadow(x->vmcs12))
                        size += KVM_STATE_NESTED_VMX_VMCS_SIZE;
        }
        if (x->smm_vmxon)
                h->hdr.vmx.smm.flags |= KVM_STATE_NESTED_SMM_VMXON;
        if (x->smm_guest_mode)
                h->hdr.vmx.smm.flags |= KVM_STATE_NESTED_SMM_GUEST_MODE;
        if (x->guest_mode) {
                h->flags |= KVM_STATE_NESTED_GUEST_MODE;
                if (x->run_pending)
                        h->flags |= KVM_STATE_NESTED_RUN_PENDING;
                if (x->mtf_pending)
                        h->flags |= KVM_STATE_NESTED_MTF_PENDING;
                if (x->deadline_valid) {
                        h->hdr.vmx.flags |= KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
                        h->hdr.vmx.preemption_timer_deadline = x->deadline;
                }
        }
        return size;
}

int sim_vmx_get_nested_state(NvSim *s, SimVcpu *v, struct kvm_nested_state *u, uint32_t user_size) {
        struct kvm_nested_state h = {
                .format = KVM_STATE_NESTED_FORMAT_VMX,
                .hdr.vmx = { .vmxon_pa = UINT64_MAX, .vmcs12_pa = UINT64_MAX },
        };
        uint8_t *data = (uint8_t *) u + sizeof(h);

        h.size = vmx_state_size(s, v, &h);
        if (user_size < h.size)
                return (int) h.size;
        memcpy(u, &h, sizeof(h));
        if (h.size == sizeof(h))
                return (int) h.size; /* bytes after the header are left untouched */
        if (v->vmx.guest_mode)
                vmx_sync_vmcs12(v);
        memcpy(data, v->vmx.vmcs12, KVM_STATE_NESTED_VMX_VMCS_SIZE);
        /* Kernel quirk kept on purpose: not conditioned on guest mode. */
        if (vmcs12_uses_shadow(v->vmx.vmcs12))
                memcpy(data + KVM_STATE_NESTED_VMX_VMCS_SIZE, v->vmx.shadow, KVM_STATE_NESTED_VMX_VMCS_SIZE);
        return (int) h.size;
}

static void vmx_leave_nested(SimVcpu *v) {
        v->vmx = (SimVmx) { .vmxon_ptr = UINT64_MAX, .current_vmptr = UINT64_MAX };
}

/* V1..V8: checks made before KVM touches the vCPU. */
static int vmx_set_precheck(NvSim *s, SimVcpu *v, const struct kvm_nested_state *u) {
        const struct kvm_vmx_nested_state_hdr *h = &u->hdr.vmx;

        if (u->format != KVM_STATE_NESTED_FORMAT_VMX)
                return -EINVAL;
        if (h->vmxon_pa == UINT64_MAX) {
                if (h->smm.flags)
                        return -EINVAL;
                if (h->vmcs12_pa != UINT64_MAX)
                        return -EINVAL;
                /* KVM_STATE_NESTED_EVMCS used to signal the eVMCS capability: tolerate it. */
                if (u->flags & ~KVM_STATE_NESTED_EVMCS)
                        return -EINVAL;
        } else {
                if (!vmx_allowed(s, v))
                        return -EINVAL;
                if (!sim_page_address_valid(v, h->vmxon_pa))
                        return -EINVAL;
        }
        if ((h->smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE) && (u->flags & KVM_STATE_NESTED_GUEST_MODE))
                return -EINVAL;
        if (h->smm.flags & ~(KVM_STATE_NESTED_SMM_GUEST_MODE | KVM_STATE_NESTED_SMM_VMXON))
                return -EINVAL;
        if (h->flags & ~KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)
                return -EINVAL;
        if (sim_in_smm(v) ? (u->flags & (KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING)) : h->smm.flags)
                return -EINVAL;
        if ((h->smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE) && !(h->smm.flags & KVM_STATE_NESTED_SMM_VMXON))
                return -EINVAL;
        if ((u->flags & KVM_STATE_NESTED_EVMCS) && (!vmx_allowed(s, v) || !v->evmcs_enabled))
                return -EINVAL;
        return 0;
}

/* nested_check_vm_execution_controls(): the pages a control makes KVM use. */
static const struct {
        unsigned control_off;
        uint32_t control;
        unsigned addr_off;
} vmx_control_pages[] = {
        { VMCS12_CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, VMCS12_IO_BITMAP_A },
        { VMCS12_CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS, VMCS12_IO_BITMAP_B },
        { VMCS12_CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS, VMCS12_MSR_BITMAP },
        { VMCS12_CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW, VMCS12_VIRTUAL_APIC_PAGE_ADDR },
        { VMCS12_SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, VMCS12_APIC_ACCESS_ADDR },
        { VMCS12_SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML, VMCS12_PML_ADDRESS },
        { VMCS12_SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS, VMCS12_VMREAD_BITMAP },
        { VMCS12_SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS, VMCS12_VMWRITE_BITMAP },
};

/*
 * V19, as far as the simulator models it: the knob, the pages the controls
 * use (PML also needs EPT), host CR3 and the VMCS link pointer (whose page,
 * unlike the kernel, the simulator does not read).  The simulator has no
 * VMX capability MSRs, so the checks against them are not modelled.
 */
static bool vmx_vmentry_checks_ok(NvSim *s, const SimVcpu *v) {
        const uint8_t *p = v->vmx.vmcs12;
        uint32_t cpu = get_le32(p + VMCS12_CPU_BASED_VM_EXEC_CONTROL);
        uint32_t sec = (cpu & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? get_le32(p + VMCS12_SECONDARY_VM_EXEC_CONTROL) : 0;
        uint64_t link = get_le64(p + VMCS12_VMCS_LINK_POINTER);

        if (s->cfg.vmentry_checks_fail)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(vmx_control_pages); i++) {
                uint32_t ctl = vmx_control_pages[i].control_off == VMCS12_SECONDARY_VM_EXEC_CONTROL ? sec : cpu;

                if ((ctl & vmx_control_pages[i].control) && !sim_page_address_valid(v, get_le64(p + vmx_control_pages[i].addr_off)))
                        return false;
        }
        if ((sec & SECONDARY_EXEC_ENABLE_PML) && !(sec & SECONDARY_EXEC_ENABLE_EPT))
                return false;
        if (!sim_gpa_legal(v, get_le64(p + VMCS12_HOST_CR3)))
                return false;
        return link == NV_GPA_INVALID || sim_page_address_valid(v, link);
}

/* V16..V20 for a vCPU entering guest mode. */
static int vmx_set_guest_mode(NvSim *s, SimVcpu *v, const struct kvm_nested_state *u) {
        const uint8_t *data = (const uint8_t *) u + sizeof(*u);
        SimVmx *x = &v->vmx;
        uint32_t dw0;

        x->run_pending = u->flags & KVM_STATE_NESTED_RUN_PENDING;
        x->mtf_pending = u->flags & KVM_STATE_NESTED_MTF_PENDING;
        if (vmcs12_uses_shadow(x->vmcs12)) {
                if (u->size < sizeof(*u) + KVM_STATE_NESTED_VMX_VMCS_SIZE + NV_VMCS12_STRUCT_SIZE)
                        goto error_guest_mode;
                memset(x->shadow, 0, sizeof(x->shadow));
                memcpy(x->shadow, data + KVM_STATE_NESTED_VMX_VMCS_SIZE, NV_VMCS12_STRUCT_SIZE);
                dw0 = get_le32(x->shadow + VMCS12_REVISION_ID);
                if ((dw0 & ~VMCS_SHADOW_BIT) != NV_VMCS12_REVISION || !(dw0 & VMCS_SHADOW_BIT))
                        goto error_guest_mode;
        }
        x->deadline_valid = u->hdr.vmx.flags & KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
        x->deadline = u->hdr.vmx.preemption_timer_deadline;
        if (!vmx_vmentry_checks_ok(s, v))
                goto error_guest_mode;
        /*
         * V20: prepare_vmcs02() loads the guest CR3 only now, after every
         * check passed; when it cannot, KVM goes back to vmcs01 and hands
         * its internal VM-exit status (NVMX_VMENTRY_VMEXIT) to userspace.
         */
        if (!sim_gpa_legal(v, get_le64(x->vmcs12 + VMCS12_GUEST_CR3))) {
                x->run_pending = false;
                return 2;
        }
        x->guest_mode = true;
        vmx_load_vmcs12_guest(v);
        return 0;

error_guest_mode:
        x->run_pending = false;
        return -EINVAL;
}

int sim_vmx_set_nested_state(NvSim *s, SimVcpu *v, const struct kvm_nested_state *u) {
        const uint8_t *data = (const uint8_t *) u + sizeof(*u);
        SimVmx *x = &v->vmx;
        int r;

        r = vmx_set_precheck(s, v, u);
        if (r < 0)
                return r;
        vmx_leave_nested(v);
        if (u->hdr.vmx.vmxon_pa == UINT64_MAX)
                return 0;
        x->vmxon_ptr = u->hdr.vmx.vmxon_pa;
        x->vmxon = true;
        /* Empty VMXON state is permitted if no VMCS is loaded. */
        if (u->size < sizeof(*u) + NV_VMCS12_STRUCT_SIZE)
                return (u->flags & (KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_EVMCS)) ||
                                       u->hdr.vmx.vmcs12_pa != UINT64_MAX
                               ? -EINVAL
                               : 0;
        if (u->hdr.vmx.vmcs12_pa != UINT64_MAX) {
                if (u->hdr.vmx.vmcs12_pa == u->hdr.vmx.vmxon_pa || !sim_page_address_valid(v, u->hdr.vmx.vmcs12_pa))
                        return -EINVAL;
                x->current_vmptr = u->hdr.vmx.vmcs12_pa;
        } else if (u->flags & KVM_STATE_NESTED_EVMCS)
                x->evmcs = true; /* mapped later, once the VP assist page is restored */
        else
                return -EINVAL;
        if (u->hdr.vmx.smm.flags & KVM_STATE_NESTED_SMM_VMXON) {
                x->smm_vmxon = true;
                x->vmxon = false;
                x->smm_guest_mode = u->hdr.vmx.smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE;
        }
        memset(x->vmcs12, 0, sizeof(x->vmcs12));
        memcpy(x->vmcs12, data, NV_VMCS12_STRUCT_SIZE);
        if ((get_le32(x->vmcs12 + VMCS12_REVISION_ID) & ~VMCS_SHADOW_BIT) != NV_VMCS12_REVISION)
                return -EINVAL;
        if (!(u->flags & KVM_STATE_NESTED_GUEST_MODE))
                return 0;
        return vmx_set_guest_mode(s, v, u);
}
