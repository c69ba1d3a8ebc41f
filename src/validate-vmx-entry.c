/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * V19 and V20 of the VMX validator: what vmx_set_nested_state() checks in a
 * guest-mode vmcs12 once the header and the vmcs12's revision passed.
 *
 * V19 are the VM-entry checks KVM makes in software on the vmcs12
 * (nested_vmx_check_controls(), _host_state() and _guest_state() in Linux
 * 6.1), in their order: controls against the vCPU's nested VMX capability
 * MSRs, the addresses the controls make KVM use, host state, guest state.
 * Those that need the MSRs are made only when the context has them.
 *
 * V20 is the guest CR3: KVM checks it only when it loads it on entering L2,
 * after it has accepted the state; when that fails, KVM_SET_NESTED_STATE
 * returns 2 (its internal VM-exit status) and the vCPU stays in L1.
 */
#include "byteorder.h"
#include "validate-private.h"

/* The VM-entry interruption-information field and IA32_VMX_MISC. */
#define VM_ENTRY_INTR_VALID X86_BIT(31)
#define VM_ENTRY_INTR_DELIVER_CODE X86_BIT(11)
#define VMX_MISC_ZERO_LEN_INS X86_BIT(30)
/* IA32_VMX_EPT_VPID_CAP and the EPT pointer. */
#define VMX_EPT_PAGE_WALK_4_BIT X86_BIT(6)
#define VMX_EPT_PAGE_WALK_5_BIT X86_BIT(7)
#define VMX_EPTP_UC_BIT X86_BIT(8)
#define VMX_EPTP_WB_BIT X86_BIT(14)
#define VMX_EPT_AD_BIT X86_BIT(21)
#define VMX_EPTP_AD_ENABLE X86_BIT(6)

typedef struct Vmcs12 {
        const uint8_t *p;
        uint32_t pin, cpu, sec, exit, entry; /* sec is 0 unless the secondary controls are activated */
} Vmcs12;

static uint64_t q(const Vmcs12 *v, unsigned off) {
        return get_le64(v->p + off);
}

static uint32_t d(const Vmcs12 *v, unsigned off) {
        return get_le32(v->p + off);
}

static uint64_t msr(const Checker *c, unsigned index) {
        return c->ctx->vmx_msrs[index - MSR_IA32_VMX_BASIC];
}

/* fixed_bits_valid() / vmx_control_verify(): every fixed-1 bit set, no bit outside the allowed ones. */
static bool fixed_ok(uint64_t val, uint64_t fixed0, uint64_t fixed1) {
        return ((val & fixed1) | fixed0) == val;
}

static bool ctl_ok(uint32_t val, uint64_t true_msr) {
        return fixed_ok(val, (uint32_t) true_msr, true_msr >> 32);
}

static bool canonical(uint64_t la) {
        return (uint64_t) ((int64_t) (la << 16) >> 16) == la;
}

/* kvm_pat_valid(): memory types 0, 1, 4-7 in each byte. */
static bool pat_ok(uint64_t pat) {
        return !(pat & 0xF8F8F8F8F8F8F8F8ull) && (pat | ((pat & 0x0202020202020202ull) << 1)) == pat;
}

static bool cr4_ok(Checker *c, uint64_t cr4) {
        return fixed_ok(cr4, msr(c, MSR_IA32_VMX_CR4_FIXED0), msr(c, MSR_IA32_VMX_CR4_FIXED1)) && !(cr4 & CR4_ALWAYS_RESERVED) &&
               (!c->ctx->have_cpuid || !(cr4 & ~c->ctx->cr4_allowed));
}

static bool efer_ok(Checker *c, uint64_t efer) {
        return !(efer & EFER_ALWAYS_RESERVED) && (!c->ctx->have_cpuid || !(efer & ~c->ctx->efer_allowed));
}

/* nested_vmx_check_eptp(): memory type, walk length, reserved bits 7-11, A/D, MAXPHYADDR. */
static bool eptp_ok(Checker *c, uint64_t eptp) {
        uint64_t caps = msr(c, MSR_IA32_VMX_EPT_VPID_CAP);
        unsigned mt = eptp & 7, pwl = (eptp >> 3) & 7;

        if (!(mt == 0 && (caps & VMX_EPTP_UC_BIT)) && !(mt == 6 && (caps & VMX_EPTP_WB_BIT)))
                return false;
        if (!(pwl == 3 && (caps & VMX_EPT_PAGE_WALK_4_BIT)) && !(pwl == 4 && (caps & VMX_EPT_PAGE_WALK_5_BIT)))
                return false;
        if (!nv_validate_gpa_legal(c, eptp) || ((eptp >> 7) & 0x1f))
                return false;
        return !(eptp & VMX_EPTP_AD_ENABLE) || (caps & VMX_EPT_AD_BIT);
}

/* The pages a control makes KVM use, in the kernel's order (V19, without MSRs). */
static const struct {
        bool secondary;
        uint32_t control;
        unsigned off;
        Rule rule;
} control_pages[] = {
        { false, CPU_BASED_USE_IO_BITMAPS, VMCS12_IO_BITMAP_A, R_V19_IOBM },
        { false, CPU_BASED_USE_IO_BITMAPS, VMCS12_IO_BITMAP_B, R_V19_IOBM },
        { false, CPU_BASED_USE_MSR_BITMAPS, VMCS12_MSR_BITMAP, R_V19_MSRBM },
        { false, CPU_BASED_TPR_SHADOW, VMCS12_VIRTUAL_APIC_PAGE_ADDR, R_V19_VAPIC },
        { true, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, VMCS12_APIC_ACCESS_ADDR, R_V19_APIC },
};

static int check_control_pages(Checker *c, const Vmcs12 *v) {
        for (size_t i = 0; i < ELEMENTSOF(control_pages); i++) {
                uint64_t a = q(v, control_pages[i].off);

                if (((control_pages[i].secondary ? v->sec : v->cpu) & control_pages[i].control) && !nv_validate_page_address(c, a))
                        return nv_validate_reject(c, control_pages[i].rule, a);
        }
        return 0;
}

/* nested_vmx_check_apicv_controls() and _nmi_controls(). */
static int check_apicv_nmi(Checker *c, const Vmcs12 *v) {
        bool posted = v->pin & PIN_BASED_POSTED_INTR;

        if ((v->sec & (SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | SECONDARY_EXEC_APIC_REGISTER_VIRT | SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)) || posted) {
                if (((v->sec & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) && (v->sec & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)) ||
                    ((v->sec & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) && !(v->pin & PIN_BASED_EXT_INTR_MASK)))
                        return nv_validate_reject(c, R_V19_APICV, v->sec);
                if (posted && (!(v->sec & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) || !(v->exit & VM_EXIT_ACK_INTR_ON_EXIT) ||
                               (get_le16(v->p + VMCS12_POSTED_INTR_NV) & 0xff00) || (q(v, VMCS12_POSTED_INTR_DESC_ADDR) & 63) ||
                               !nv_validate_gpa_legal(c, q(v, VMCS12_POSTED_INTR_DESC_ADDR))))
                        return nv_validate_reject(c, R_V19_APICV, v->pin);
                if (!(v->cpu & CPU_BASED_TPR_SHADOW))
                        return nv_validate_reject(c, R_V19_APICV, v->cpu);
        }
        if (((v->pin & PIN_BASED_VIRTUAL_NMIS) && !(v->pin & PIN_BASED_NMI_EXITING)) ||
            ((v->cpu & CPU_BASED_NMI_WINDOW_EXITING) && !(v->pin & PIN_BASED_VIRTUAL_NMIS)))
                return nv_validate_reject(c, R_V19_NMI, v->pin);
        return 0;
}

/* The secondary controls' own requirements, in the kernel's order after the NMI controls. */
static int check_secondary(Checker *c, const Vmcs12 *v) {
        if (v->sec & SECONDARY_EXEC_ENABLE_PML) {
                if (!(v->sec & SECONDARY_EXEC_ENABLE_EPT) || !nv_validate_page_address(c, q(v, VMCS12_PML_ADDRESS)))
                        return nv_validate_reject(c, R_V19_PML, q(v, VMCS12_PML_ADDRESS));
        }
        if ((v->sec & (SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_MODE_BASED_EPT_EXEC)) && !(v->sec & SECONDARY_EXEC_ENABLE_EPT))
                return nv_validate_reject(c, R_V19_NEEDS_EPT, v->sec);
        if ((v->sec & SECONDARY_EXEC_SHADOW_VMCS) &&
            (!nv_validate_page_address(c, q(v, VMCS12_VMREAD_BITMAP)) || !nv_validate_page_address(c, q(v, VMCS12_VMWRITE_BITMAP))))
                return nv_validate_reject(c, R_V19_VMCSBM, q(v, VMCS12_VMREAD_BITMAP));
        if ((v->sec & SECONDARY_EXEC_ENABLE_VPID) && get_le16(v->p + VMCS12_VIRTUAL_PROCESSOR_ID) == 0)
                return nv_validate_reject(c, R_V19_VPID, 0);
        return 0;
}

/* nested_check_vm_execution_controls(). */
static int check_execution_controls(Checker *c, const Vmcs12 *v) {
        int r;

        if (!ctl_ok(v->pin, msr(c, MSR_IA32_VMX_TRUE_PINBASED_CTLS)))
                return nv_validate_reject(c, R_V19_PIN, v->pin);
        if (!ctl_ok(v->cpu, msr(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS)))
                return nv_validate_reject(c, R_V19_PROC, v->cpu);
        if (!ctl_ok(v->sec, msr(c, MSR_IA32_VMX_PROCBASED_CTLS2)))
                return nv_validate_reject(c, R_V19_PROC2, v->sec);
        if (d(v, VMCS12_CR3_TARGET_COUNT) > ((msr(c, MSR_IA32_VMX_MISC) >> 16) & 0x1ff))
                return nv_validate_reject(c, R_V19_CR3_TARGETS, d(v, VMCS12_CR3_TARGET_COUNT));
        r = check_control_pages(c, v);
        if (r >= 0)
                r = check_apicv_nmi(c, v);
        if (r >= 0)
                r = check_secondary(c, v);
        if (r < 0)
                return r;
        if (!(v->pin & PIN_BASED_VMX_PREEMPTION_TIMER) && (v->exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
                return nv_validate_reject(c, R_V19_PREEMPT, v->exit);
        if ((v->sec & SECONDARY_EXEC_ENABLE_EPT) && !eptp_ok(c, q(v, VMCS12_EPT_POINTER)))
                return nv_validate_reject(c, R_V19_EPTP, q(v, VMCS12_EPT_POINTER));
        if (v->sec & SECONDARY_EXEC_ENABLE_VMFUNC) {
                uint64_t f = q(v, VMCS12_VM_FUNCTION_CONTROL);

                if ((f & ~msr(c, MSR_IA32_VMX_VMFUNC)) ||
                    ((f & 1) && (!(v->sec & SECONDARY_EXEC_ENABLE_EPT) || !nv_validate_page_address(c, q(v, VMCS12_EPTP_LIST_ADDRESS)))))
                        return nv_validate_reject(c, R_V19_VMFUNC, f);
        }
        return 0;
}

/* nested_vmx_check_msr_switch(): count entries of 16 bytes at a 16-byte aligned legal address. */
static bool msr_switch_ok(Checker *c, const Vmcs12 *v, unsigned count_off, unsigned addr_off) {
        uint32_t n = d(v, count_off);
        uint64_t a = q(v, addr_off);

        return n == 0 || (!(a & 15) && nv_validate_gpa_legal(c, a) && nv_validate_gpa_legal(c, a + 16ull * n - 1));
}

/* The interruption to inject at entry (VM-entry interruption-information field). */
static bool event_injection_ok(Checker *c, const Vmcs12 *v) {
        /* x86_exception_has_error_code(): #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
        static const uint32_t has_error_code = (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) |
                                               (1u << 14) | (1u << 17);
        uint32_t info = d(v, VMCS12_VM_ENTRY_INTR_INFO_FIELD), type = (info >> 8) & 7, vector = info & 0xff, len;
        bool prot = !(v->sec & SECONDARY_EXEC_UNRESTRICTED_GUEST) || (q(v, VMCS12_GUEST_CR0) & X86_CR0_PE);
        bool want_code = type == 3 && prot && vector < 32 && (has_error_code & (1u << vector));

        if (!(info & VM_ENTRY_INTR_VALID))
                return true;
        if (type == 1 || (type == 7 && !((msr(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) >> 32) & CPU_BASED_MONITOR_TRAP_FLAG)))
                return false;
        if ((type == 2 && vector != 2) || (type == 3 && vector > 31) || (type == 7 && vector != 0))
                return false;
        if (!!(info & VM_ENTRY_INTR_DELIVER_CODE) != want_code || (want_code && (d(v, VMCS12_VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16)))
                return false;
        if (info & 0x7ffff000u)
                return false;
        len = d(v, VMCS12_VM_ENTRY_INSTRUCTION_LEN);
        if (type == 4 || type == 5 || type == 6)
                return len <= 15 && (len != 0 || (msr(c, MSR_IA32_VMX_MISC) & VMX_MISC_ZERO_LEN_INS));
        return true;
}

/* nested_check_vm_exit_controls() and nested_check_vm_entry_controls(). */
static int check_exit_entry_controls(Checker *c, const Vmcs12 *v) {
        if (!ctl_ok(v->exit, msr(c, MSR_IA32_VMX_TRUE_EXIT_CTLS)))
                return nv_validate_reject(c, R_V19_EXIT, v->exit);
        if (!msr_switch_ok(c, v, VMCS12_VM_EXIT_MSR_STORE_COUNT, VMCS12_VM_EXIT_MSR_STORE_ADDR) ||
            !msr_switch_ok(c, v, VMCS12_VM_EXIT_MSR_LOAD_COUNT, VMCS12_VM_EXIT_MSR_LOAD_ADDR))
                return nv_validate_reject(c, R_V19_MSR_SWITCH, v->exit);
        if (!ctl_ok(v->entry, msr(c, MSR_IA32_VMX_TRUE_ENTRY_CTLS)))
                return nv_validate_reject(c, R_V19_ENTRY, v->entry);
        if (!event_injection_ok(c, v))
                return nv_validate_reject(c, R_V19_EVENT, d(v, VMCS12_VM_ENTRY_INTR_INFO_FIELD));
        if (!msr_switch_ok(c, v, VMCS12_VM_ENTRY_MSR_LOAD_COUNT, VMCS12_VM_ENTRY_MSR_LOAD_ADDR))
                return nv_validate_reject(c, R_V19_MSR_SWITCH, v->entry);
        return 0;
}

/* nested_vmx_check_host_state(): the L1 state a VM exit would load. */
static int check_host_state(Checker *c, const Vmcs12 *v) {
        static const unsigned bases[] = { VMCS12_HOST_FS_BASE, VMCS12_HOST_GS_BASE, VMCS12_HOST_GDTR_BASE, VMCS12_HOST_IDTR_BASE, VMCS12_HOST_TR_BASE, VMCS12_HOST_RIP };
        uint64_t cr4 = q(v, VMCS12_HOST_CR4), efer = q(v, VMCS12_HOST_IA32_EFER);
        bool ia32e;

        if (!fixed_ok(q(v, VMCS12_HOST_CR0), msr(c, MSR_IA32_VMX_CR0_FIXED0), msr(c, MSR_IA32_VMX_CR0_FIXED1)) || !cr4_ok(c, cr4))
                return nv_validate_reject(c, R_V19_HOST_CR, !cr4_ok(c, cr4) ? cr4 : q(v, VMCS12_HOST_CR0));
        if (!nv_validate_gpa_legal(c, q(v, VMCS12_HOST_CR3)))
                return nv_validate_reject(c, R_V19_HOST_CR3, q(v, VMCS12_HOST_CR3));
        if (!canonical(q(v, VMCS12_HOST_IA32_SYSENTER_ESP)) || !canonical(q(v, VMCS12_HOST_IA32_SYSENTER_EIP)))
                return nv_validate_reject(c, R_V19_HOST_ADDR, q(v, VMCS12_HOST_IA32_SYSENTER_EIP));
        if ((v->exit & VM_EXIT_LOAD_IA32_PAT) && !pat_ok(q(v, VMCS12_HOST_IA32_PAT)))
                return nv_validate_reject(c, R_V19_PAT, q(v, VMCS12_HOST_IA32_PAT));
        if (c->ctx->lma == NV_UNKNOWN) {
                nv_validate_unchecked(c, N_("V19: the host address-space size is checked against the vCPU's EFER.LMA, which is unknown"));
                ia32e = v->exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;
        } else
                ia32e = c->ctx->lma == NV_YES;
        if (ia32e ? !(v->exit & VM_EXIT_HOST_ADDR_SPACE_SIZE) || !(cr4 & X86_CR4_PAE)
                  : (v->exit & VM_EXIT_HOST_ADDR_SPACE_SIZE) || (v->entry & VM_ENTRY_IA32E_MODE) || (cr4 & X86_CR4_PCIDE) || (q(v, VMCS12_HOST_RIP) >> 32))
                return nv_validate_reject(c, R_V19_HOST_MODE, v->exit);
        for (unsigned off = VMCS12_HOST_ES_SELECTOR; off <= VMCS12_HOST_TR_SELECTOR; off += 2)
                if (get_le16(v->p + off) & 7)
                        return nv_validate_reject(c, R_V19_HOST_SEL, get_le16(v->p + off));
        if (!get_le16(v->p + VMCS12_HOST_CS_SELECTOR) || !get_le16(v->p + VMCS12_HOST_TR_SELECTOR) || (!ia32e && !get_le16(v->p + VMCS12_HOST_SS_SELECTOR)))
                return nv_validate_reject(c, R_V19_HOST_SEL, 0);
        for (size_t i = 0; i < ELEMENTSOF(bases); i++)
                if (!canonical(q(v, bases[i])))
                        return nv_validate_reject(c, R_V19_HOST_ADDR, q(v, bases[i]));
        if ((v->exit & VM_EXIT_LOAD_IA32_EFER) &&
            (!efer_ok(c, efer) || ia32e != !!(efer & X86_EFER_LMA) || ia32e != !!(efer & X86_EFER_LME)))
                return nv_validate_reject(c, R_V19_HOST_EFER, efer);
        return 0;
}

/* nested_vmx_check_guest_state(): what KVM checks of L2's state itself. */
static int check_guest_state(Checker *c, const Vmcs12 *v) {
        uint64_t cr0_fixed0 = msr(c, MSR_IA32_VMX_CR0_FIXED0), efer = q(v, VMCS12_GUEST_IA32_EFER), link = q(v, VMCS12_VMCS_LINK_POINTER);
        uint32_t activity = d(v, VMCS12_GUEST_ACTIVITY_STATE);
        bool ia32e = v->entry & VM_ENTRY_IA32E_MODE;

        /* Unrestricted guest, when both the vCPU and the vmcs12 have it, lifts PE and PG. */
        if (((msr(c, MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST) && (v->sec & SECONDARY_EXEC_UNRESTRICTED_GUEST))
                cr0_fixed0 &= ~(X86_CR0_PE | X86_CR0_PG);
        if (!fixed_ok(q(v, VMCS12_GUEST_CR0), cr0_fixed0, msr(c, MSR_IA32_VMX_CR0_FIXED1)))
                return nv_validate_reject(c, R_V19_GUEST_CR, q(v, VMCS12_GUEST_CR0));
        if (!cr4_ok(c, q(v, VMCS12_GUEST_CR4)))
                return nv_validate_reject(c, R_V19_GUEST_CR, q(v, VMCS12_GUEST_CR4));
        if ((v->entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) && (q(v, VMCS12_GUEST_DR7) >> 32))
                return nv_validate_reject(c, R_V19_GUEST_DR7, q(v, VMCS12_GUEST_DR7));
        if ((v->entry & VM_ENTRY_LOAD_IA32_PAT) && !pat_ok(q(v, VMCS12_GUEST_IA32_PAT)))
                return nv_validate_reject(c, R_V19_PAT, q(v, VMCS12_GUEST_IA32_PAT));
        if (link != NV_GPA_INVALID && !nv_validate_page_address(c, link))
                return nv_validate_reject(c, R_V19_LINK, link);
        if (link != NV_GPA_INVALID)
                nv_validate_unchecked(c, N_("V19: the kernel reads the VMCS at vmcs_link_pointer from guest memory, which the blob does not hold"));
        /* EFER only with RUN_PENDING: then L1's VMLAUNCH has not happened yet. */
        if ((c->h.flags & NV_NESTED_RUN_PENDING) && (v->entry & VM_ENTRY_LOAD_IA32_EFER) &&
            (!efer_ok(c, efer) || ia32e != !!(efer & X86_EFER_LMA) || ((q(v, VMCS12_GUEST_CR0) & X86_CR0_PG) && ia32e != !!(efer & X86_EFER_LME))))
                return nv_validate_reject(c, R_V19_GUEST_EFER, efer);
        if (activity != 0 && activity != 1 && activity != 3)
                return nv_validate_reject(c, R_V19_ACTIVITY, activity);
        return 0;
}

/* V19 without the capability MSRs: only the addresses, which need none. */
static int check_addresses_only(Checker *c, const Vmcs12 *v) {
        uint64_t link = q(v, VMCS12_VMCS_LINK_POINTER);
        int r;

        nv_validate_unchecked(c, N_("V19: VM-entry checks against the vCPU's VMX capability MSRs: the MSRs are unknown"));
        r = check_control_pages(c, v);
        if (r >= 0 && (v->sec & SECONDARY_EXEC_ENABLE_PML) && (!(v->sec & SECONDARY_EXEC_ENABLE_EPT) || !nv_validate_page_address(c, q(v, VMCS12_PML_ADDRESS))))
                r = nv_validate_reject(c, R_V19_PML, q(v, VMCS12_PML_ADDRESS));
        if (r >= 0 && (v->sec & SECONDARY_EXEC_SHADOW_VMCS) &&
            (!nv_validate_page_address(c, q(v, VMCS12_VMREAD_BITMAP)) || !nv_validate_page_address(c, q(v, VMCS12_VMWRITE_BITMAP))))
                r = nv_validate_reject(c, R_V19_VMCSBM, q(v, VMCS12_VMREAD_BITMAP));
        if (r >= 0 && !nv_validate_gpa_legal(c, q(v, VMCS12_HOST_CR3)))
                r = nv_validate_reject(c, R_V19_HOST_CR3, q(v, VMCS12_HOST_CR3));
        if (r >= 0 && link != NV_GPA_INVALID && !nv_validate_page_address(c, link))
                r = nv_validate_reject(c, R_V19_LINK, link);
        return r;
}

int nv_validate_vmx_entry(Checker *c) {
        Vmcs12 v = { .p = c->b + NV_OFF_DATA };
        int r;

        v.pin = d(&v, VMCS12_PIN_BASED_VM_EXEC_CONTROL);
        v.cpu = d(&v, VMCS12_CPU_BASED_VM_EXEC_CONTROL);
        v.sec = (v.cpu & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? d(&v, VMCS12_SECONDARY_VM_EXEC_CONTROL) : 0;
        v.exit = d(&v, VMCS12_VM_EXIT_CONTROLS);
        v.entry = d(&v, VMCS12_VM_ENTRY_CONTROLS);
        if (!c->ctx->have_vmx_msrs)
                r = check_addresses_only(c, &v);
        else {
                r = check_execution_controls(c, &v);
                if (r >= 0)
                        r = check_exit_entry_controls(c, &v);
                if (r >= 0)
                        r = check_host_state(c, &v);
                if (r >= 0)
                        r = check_guest_state(c, &v);
        }
        if (r < 0)
                return r;
        if (!nv_validate_gpa_legal(c, q(&v, VMCS12_GUEST_CR3)))
                return nv_validate_reject(c, R_V20_CR3, q(&v, VMCS12_GUEST_CR3));
        return 0;
}
