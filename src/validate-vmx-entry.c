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

/* vmcs12 field offsets (the layout is frozen for migration). */
enum {
        IO_BITMAP_A = 40, IO_BITMAP_B = 48, MSR_BITMAP = 56, EXIT_MSR_STORE_ADDR = 64, EXIT_MSR_LOAD_ADDR = 72,
        ENTRY_MSR_LOAD_ADDR = 80, VIRTUAL_APIC = 96, APIC_ACCESS = 104, POSTED_INTR_DESC = 112, EPT_POINTER = 120,
        LINK_POINTER = 176, GUEST_PAT = 192, GUEST_EFER = 200, HOST_PAT = 256, HOST_EFER = 264,
        VMREAD_BITMAP = 280, VMWRITE_BITMAP = 288, VMFUNC_CONTROL = 296, EPTP_LIST = 304, PML_ADDRESS = 312,
        GUEST_CR0 = 424, GUEST_CR3 = 432, GUEST_CR4 = 440, GUEST_DR7 = 528,
        HOST_CR0 = 584, HOST_CR3 = 592, HOST_CR4 = 600, HOST_FS_BASE = 608, HOST_GS_BASE = 616, HOST_TR_BASE = 624,
        HOST_GDTR_BASE = 632, HOST_IDTR_BASE = 640, HOST_SYSENTER_ESP = 648, HOST_SYSENTER_EIP = 656, HOST_RIP = 672,
        PIN = 744, CPU = 748, CR3_TARGET_COUNT = 764, EXIT = 768, EXIT_MSR_STORE_COUNT = 772,
        EXIT_MSR_LOAD_COUNT = 776, ENTRY = 780, ENTRY_MSR_LOAD_COUNT = 784, ENTRY_INTR_INFO = 788,
        ENTRY_EXCEPTION_ERROR = 792, ENTRY_INSTR_LEN = 796, SECONDARY = 804, ACTIVITY_STATE = 916, VPID = 960,
        POSTED_INTR_NV = 962, HOST_ES_SEL = 982, HOST_CS_SEL = 984, HOST_SS_SEL = 986, HOST_TR_SEL = 994,
};

/* Index in NvValidateContext.vmx_msrs: the MSR's number minus IA32_VMX_BASIC. */
enum { MSR_MISC = 5, MSR_CR0_FIXED0, MSR_CR0_FIXED1, MSR_CR4_FIXED0, MSR_CR4_FIXED1, MSR_PROCBASED2 = 11,
       MSR_EPT_VPID_CAP, MSR_TRUE_PIN, MSR_TRUE_PROC, MSR_TRUE_EXIT, MSR_TRUE_ENTRY, MSR_VMFUNC };

#define PIN_EXT_INTR (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
#define PIN_POSTED_INTR (1u << 7)
#define CPU_TPR_SHADOW (1u << 21)
#define CPU_NMI_WINDOW (1u << 22)
#define CPU_IO_BITMAPS (1u << 25)
#define CPU_MTF (1u << 27)
#define CPU_MSR_BITMAPS (1u << 28)
#define CPU_SECONDARY (1u << 31)
#define SEC_APIC_ACCESS (1u << 0)
#define SEC_EPT (1u << 1)
#define SEC_X2APIC_MODE (1u << 4)
#define SEC_VPID (1u << 5)
#define SEC_UNRESTRICTED (1u << 7)
#define SEC_APIC_REG_VIRT (1u << 8)
#define SEC_VID (1u << 9)
#define SEC_VMFUNC (1u << 13)
#define SEC_SHADOW_VMCS (1u << 14)
#define SEC_PML (1u << 17)
#define SEC_MODE_BASED_EPT (1u << 22)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER (1u << 22)
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define CR0_PE 1ull
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PCIDE (1ull << 17)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

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

static uint64_t msr(const Checker *c, unsigned i) {
        return c->ctx->vmx_msrs[i];
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
        return fixed_ok(cr4, msr(c, MSR_CR4_FIXED0), msr(c, MSR_CR4_FIXED1)) && !(cr4 & CR4_ALWAYS_RESERVED) &&
               (!c->ctx->have_cpuid || !(cr4 & ~c->ctx->cr4_allowed));
}

static bool efer_ok(Checker *c, uint64_t efer) {
        return !(efer & EFER_ALWAYS_RESERVED) && (!c->ctx->have_cpuid || !(efer & ~c->ctx->efer_allowed));
}

/* nested_vmx_check_eptp(): memory type, walk length, reserved bits 7-11, A/D, MAXPHYADDR. */
static bool eptp_ok(Checker *c, uint64_t eptp) {
        uint64_t caps = msr(c, MSR_EPT_VPID_CAP);
        unsigned mt = eptp & 7, pwl = (eptp >> 3) & 7;

        if (!(mt == 0 && (caps & (1u << 8))) && !(mt == 6 && (caps & (1u << 14))))
                return false;
        if (!(pwl == 3 && (caps & (1u << 6))) && !(pwl == 4 && (caps & (1u << 7))))
                return false;
        if (!validate_gpa_legal(c, eptp) || ((eptp >> 7) & 0x1f))
                return false;
        return !(eptp & (1u << 6)) || (caps & (1u << 21));
}

/* The pages a control makes KVM use, in the kernel's order (V19, without MSRs). */
static const struct {
        bool secondary;
        uint32_t control;
        unsigned off;
        Rule rule;
} control_pages[] = {
        { false, CPU_IO_BITMAPS, IO_BITMAP_A, R_V19_IOBM },
        { false, CPU_IO_BITMAPS, IO_BITMAP_B, R_V19_IOBM },
        { false, CPU_MSR_BITMAPS, MSR_BITMAP, R_V19_MSRBM },
        { false, CPU_TPR_SHADOW, VIRTUAL_APIC, R_V19_VAPIC },
        { true, SEC_APIC_ACCESS, APIC_ACCESS, R_V19_APIC },
};

static int check_control_pages(Checker *c, const Vmcs12 *v) {
        for (size_t i = 0; i < ELEMENTSOF(control_pages); i++) {
                uint64_t a = q(v, control_pages[i].off);

                if (((control_pages[i].secondary ? v->sec : v->cpu) & control_pages[i].control) && !validate_page_address(c, a))
                        return validate_reject(c, control_pages[i].rule, a);
        }
        return 0;
}

/* nested_vmx_check_apicv_controls() and _nmi_controls(). */
static int check_apicv_nmi(Checker *c, const Vmcs12 *v) {
        bool posted = v->pin & PIN_POSTED_INTR;

        if ((v->sec & (SEC_X2APIC_MODE | SEC_APIC_REG_VIRT | SEC_VID)) || posted) {
                if (((v->sec & SEC_X2APIC_MODE) && (v->sec & SEC_APIC_ACCESS)) ||
                    ((v->sec & SEC_VID) && !(v->pin & PIN_EXT_INTR)))
                        return validate_reject(c, R_V19_APICV, v->sec);
                if (posted && (!(v->sec & SEC_VID) || !(v->exit & EXIT_ACK_INTR) ||
                               (get_le16(v->p + POSTED_INTR_NV) & 0xff00) || (q(v, POSTED_INTR_DESC) & 63) ||
                               !validate_gpa_legal(c, q(v, POSTED_INTR_DESC))))
                        return validate_reject(c, R_V19_APICV, v->pin);
                if (!(v->cpu & CPU_TPR_SHADOW))
                        return validate_reject(c, R_V19_APICV, v->cpu);
        }
        if (((v->pin & PIN_VIRTUAL_NMIS) && !(v->pin & PIN_NMI_EXITING)) ||
            ((v->cpu & CPU_NMI_WINDOW) && !(v->pin & PIN_VIRTUAL_NMIS)))
                return validate_reject(c, R_V19_NMI, v->pin);
        return 0;
}

/* The secondary controls' own requirements, in the kernel's order after the NMI controls. */
static int check_secondary(Checker *c, const Vmcs12 *v) {
        if (v->sec & SEC_PML) {
                if (!(v->sec & SEC_EPT) || !validate_page_address(c, q(v, PML_ADDRESS)))
                        return validate_reject(c, R_V19_PML, q(v, PML_ADDRESS));
        }
        if ((v->sec & (SEC_UNRESTRICTED | SEC_MODE_BASED_EPT)) && !(v->sec & SEC_EPT))
                return validate_reject(c, R_V19_NEEDS_EPT, v->sec);
        if ((v->sec & SEC_SHADOW_VMCS) &&
            (!validate_page_address(c, q(v, VMREAD_BITMAP)) || !validate_page_address(c, q(v, VMWRITE_BITMAP))))
                return validate_reject(c, R_V19_VMCSBM, q(v, VMREAD_BITMAP));
        if ((v->sec & SEC_VPID) && get_le16(v->p + VPID) == 0)
                return validate_reject(c, R_V19_VPID, 0);
        return 0;
}

/* nested_check_vm_execution_controls(). */
static int check_execution_controls(Checker *c, const Vmcs12 *v) {
        int r;

        if (!ctl_ok(v->pin, msr(c, MSR_TRUE_PIN)))
                return validate_reject(c, R_V19_PIN, v->pin);
        if (!ctl_ok(v->cpu, msr(c, MSR_TRUE_PROC)))
                return validate_reject(c, R_V19_PROC, v->cpu);
        if (!ctl_ok(v->sec, msr(c, MSR_PROCBASED2)))
                return validate_reject(c, R_V19_PROC2, v->sec);
        if (d(v, CR3_TARGET_COUNT) > ((msr(c, MSR_MISC) >> 16) & 0x1ff))
                return validate_reject(c, R_V19_CR3_TARGETS, d(v, CR3_TARGET_COUNT));
        r = check_control_pages(c, v);
        if (r >= 0)
                r = check_apicv_nmi(c, v);
        if (r >= 0)
                r = check_secondary(c, v);
        if (r < 0)
                return r;
        if (!(v->pin & PIN_PREEMPTION_TIMER) && (v->exit & EXIT_SAVE_PREEMPTION_TIMER))
                return validate_reject(c, R_V19_PREEMPT, v->exit);
        if ((v->sec & SEC_EPT) && !eptp_ok(c, q(v, EPT_POINTER)))
                return validate_reject(c, R_V19_EPTP, q(v, EPT_POINTER));
        if (v->sec & SEC_VMFUNC) {
                uint64_t f = q(v, VMFUNC_CONTROL);

                if ((f & ~msr(c, MSR_VMFUNC)) ||
                    ((f & 1) && (!(v->sec & SEC_EPT) || !validate_page_address(c, q(v, EPTP_LIST)))))
                        return validate_reject(c, R_V19_VMFUNC, f);
        }
        return 0;
}

/* nested_vmx_check_msr_switch(): count entries of 16 bytes at a 16-byte aligned legal address. */
static bool msr_switch_ok(Checker *c, const Vmcs12 *v, unsigned count_off, unsigned addr_off) {
        uint32_t n = d(v, count_off);
        uint64_t a = q(v, addr_off);

        return n == 0 || (!(a & 15) && validate_gpa_legal(c, a) && validate_gpa_legal(c, a + 16ull * n - 1));
}

/* The interruption to inject at entry (VM-entry interruption-information field). */
static bool event_injection_ok(Checker *c, const Vmcs12 *v) {
        static const uint32_t has_error_code = (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) |
                                               (1u << 14) | (1u << 17);
        uint32_t info = d(v, ENTRY_INTR_INFO), type = (info >> 8) & 7, vector = info & 0xff, len;
        bool prot = !(v->sec & SEC_UNRESTRICTED) || (q(v, GUEST_CR0) & CR0_PE);
        bool want_code = type == 3 && prot && vector < 32 && (has_error_code & (1u << vector));

        if (!(info & (1u << 31)))
                return true;
        if (type == 1 || (type == 7 && !((msr(c, MSR_TRUE_PROC) >> 32) & CPU_MTF)))
                return false;
        if ((type == 2 && vector != 2) || (type == 3 && vector > 31) || (type == 7 && vector != 0))
                return false;
        if (!!(info & (1u << 11)) != want_code || (want_code && (d(v, ENTRY_EXCEPTION_ERROR) >> 16)))
                return false;
        if (info & 0x7ffff000u)
                return false;
        len = d(v, ENTRY_INSTR_LEN);
        if (type == 4 || type == 5 || type == 6)
                return len <= 15 && (len != 0 || (msr(c, MSR_MISC) & (1u << 30)));
        return true;
}

/* nested_check_vm_exit_controls() and nested_check_vm_entry_controls(). */
static int check_exit_entry_controls(Checker *c, const Vmcs12 *v) {
        if (!ctl_ok(v->exit, msr(c, MSR_TRUE_EXIT)))
                return validate_reject(c, R_V19_EXIT, v->exit);
        if (!msr_switch_ok(c, v, EXIT_MSR_STORE_COUNT, EXIT_MSR_STORE_ADDR) ||
            !msr_switch_ok(c, v, EXIT_MSR_LOAD_COUNT, EXIT_MSR_LOAD_ADDR))
                return validate_reject(c, R_V19_MSR_SWITCH, v->exit);
        if (!ctl_ok(v->entry, msr(c, MSR_TRUE_ENTRY)))
                return validate_reject(c, R_V19_ENTRY, v->entry);
        if (!event_injection_ok(c, v))
                return validate_reject(c, R_V19_EVENT, d(v, ENTRY_INTR_INFO));
        if (!msr_switch_ok(c, v, ENTRY_MSR_LOAD_COUNT, ENTRY_MSR_LOAD_ADDR))
                return validate_reject(c, R_V19_MSR_SWITCH, v->entry);
        return 0;
}

/* nested_vmx_check_host_state(): the L1 state a VM exit would load. */
static int check_host_state(Checker *c, const Vmcs12 *v) {
        static const unsigned bases[] = { HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_TR_BASE, HOST_RIP };
        uint64_t cr4 = q(v, HOST_CR4), efer = q(v, HOST_EFER);
        bool ia32e;

        if (!fixed_ok(q(v, HOST_CR0), msr(c, MSR_CR0_FIXED0), msr(c, MSR_CR0_FIXED1)) || !cr4_ok(c, cr4))
                return validate_reject(c, R_V19_HOST_CR, !cr4_ok(c, cr4) ? cr4 : q(v, HOST_CR0));
        if (!validate_gpa_legal(c, q(v, HOST_CR3)))
                return validate_reject(c, R_V19_HOST_CR3, q(v, HOST_CR3));
        if (!canonical(q(v, HOST_SYSENTER_ESP)) || !canonical(q(v, HOST_SYSENTER_EIP)))
                return validate_reject(c, R_V19_HOST_ADDR, q(v, HOST_SYSENTER_EIP));
        if ((v->exit & EXIT_LOAD_PAT) && !pat_ok(q(v, HOST_PAT)))
                return validate_reject(c, R_V19_PAT, q(v, HOST_PAT));
        if (c->ctx->lma == NV_UNKNOWN) {
                validate_unchecked(c, N_("V19: the host address-space size is checked against the vCPU's EFER.LMA, which is unknown"));
                ia32e = v->exit & EXIT_HOST_64;
        } else
                ia32e = c->ctx->lma == NV_YES;
        if (ia32e ? !(v->exit & EXIT_HOST_64) || !(cr4 & CR4_PAE)
                  : (v->exit & EXIT_HOST_64) || (v->entry & ENTRY_IA32E) || (cr4 & CR4_PCIDE) || (q(v, HOST_RIP) >> 32))
                return validate_reject(c, R_V19_HOST_MODE, v->exit);
        for (unsigned off = HOST_ES_SEL; off <= HOST_TR_SEL; off += 2)
                if (get_le16(v->p + off) & 7)
                        return validate_reject(c, R_V19_HOST_SEL, get_le16(v->p + off));
        if (!get_le16(v->p + HOST_CS_SEL) || !get_le16(v->p + HOST_TR_SEL) || (!ia32e && !get_le16(v->p + HOST_SS_SEL)))
                return validate_reject(c, R_V19_HOST_SEL, 0);
        for (size_t i = 0; i < ELEMENTSOF(bases); i++)
                if (!canonical(q(v, bases[i])))
                        return validate_reject(c, R_V19_HOST_ADDR, q(v, bases[i]));
        if ((v->exit & EXIT_LOAD_EFER) &&
            (!efer_ok(c, efer) || ia32e != !!(efer & EFER_LMA) || ia32e != !!(efer & EFER_LME)))
                return validate_reject(c, R_V19_HOST_EFER, efer);
        return 0;
}

/* nested_vmx_check_guest_state(): what KVM checks of L2's state itself. */
static int check_guest_state(Checker *c, const Vmcs12 *v) {
        uint64_t cr0_fixed0 = msr(c, MSR_CR0_FIXED0), efer = q(v, GUEST_EFER), link = q(v, LINK_POINTER);
        uint32_t activity = d(v, ACTIVITY_STATE);
        bool ia32e = v->entry & ENTRY_IA32E;

        /* Unrestricted guest, when both the vCPU and the vmcs12 have it, lifts PE and PG. */
        if (((msr(c, MSR_PROCBASED2) >> 32) & SEC_UNRESTRICTED) && (v->sec & SEC_UNRESTRICTED))
                cr0_fixed0 &= ~(CR0_PE | CR0_PG);
        if (!fixed_ok(q(v, GUEST_CR0), cr0_fixed0, msr(c, MSR_CR0_FIXED1)))
                return validate_reject(c, R_V19_GUEST_CR, q(v, GUEST_CR0));
        if (!cr4_ok(c, q(v, GUEST_CR4)))
                return validate_reject(c, R_V19_GUEST_CR, q(v, GUEST_CR4));
        if ((v->entry & ENTRY_LOAD_DEBUG) && (q(v, GUEST_DR7) >> 32))
                return validate_reject(c, R_V19_GUEST_DR7, q(v, GUEST_DR7));
        if ((v->entry & ENTRY_LOAD_PAT) && !pat_ok(q(v, GUEST_PAT)))
                return validate_reject(c, R_V19_PAT, q(v, GUEST_PAT));
        if (link != NV_GPA_INVALID && !validate_page_address(c, link))
                return validate_reject(c, R_V19_LINK, link);
        if (link != NV_GPA_INVALID)
                validate_unchecked(c, N_("V19: the kernel reads the VMCS at vmcs_link_pointer from guest memory, which the blob does not hold"));
        /* EFER only with RUN_PENDING: then L1's VMLAUNCH has not happened yet. */
        if ((c->h.flags & NV_NESTED_RUN_PENDING) && (v->entry & (1u << 15)) &&
            (!efer_ok(c, efer) || ia32e != !!(efer & EFER_LMA) || ((q(v, GUEST_CR0) & CR0_PG) && ia32e != !!(efer & EFER_LME))))
                return validate_reject(c, R_V19_GUEST_EFER, efer);
        if (activity != 0 && activity != 1 && activity != 3)
                return validate_reject(c, R_V19_ACTIVITY, activity);
        return 0;
}

/* V19 without the capability MSRs: only the addresses, which need none. */
static int check_addresses_only(Checker *c, const Vmcs12 *v) {
        uint64_t link = q(v, LINK_POINTER);
        int r;

        validate_unchecked(c, N_("V19: VM-entry checks against the vCPU's VMX capability MSRs: the MSRs are unknown"));
        r = check_control_pages(c, v);
        if (r >= 0 && (v->sec & SEC_PML) && (!(v->sec & SEC_EPT) || !validate_page_address(c, q(v, PML_ADDRESS))))
                r = validate_reject(c, R_V19_PML, q(v, PML_ADDRESS));
        if (r >= 0 && (v->sec & SEC_SHADOW_VMCS) &&
            (!validate_page_address(c, q(v, VMREAD_BITMAP)) || !validate_page_address(c, q(v, VMWRITE_BITMAP))))
                r = validate_reject(c, R_V19_VMCSBM, q(v, VMREAD_BITMAP));
        if (r >= 0 && !validate_gpa_legal(c, q(v, HOST_CR3)))
                r = validate_reject(c, R_V19_HOST_CR3, q(v, HOST_CR3));
        if (r >= 0 && link != NV_GPA_INVALID && !validate_page_address(c, link))
                r = validate_reject(c, R_V19_LINK, link);
        return r;
}

int validate_vmx_entry(Checker *c) {
        Vmcs12 v = { .p = c->b + NV_OFF_DATA };
        int r;

        v.pin = d(&v, PIN);
        v.cpu = d(&v, CPU);
        v.sec = (v.cpu & CPU_SECONDARY) ? d(&v, SECONDARY) : 0;
        v.exit = d(&v, EXIT);
        v.entry = d(&v, ENTRY);
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
        if (!validate_gpa_legal(c, q(&v, GUEST_CR3)))
                return validate_reject(c, R_V20_CR3, q(&v, GUEST_CR3));
        return 0;
}
