/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The validator.  Each check is one row of the rule table, in the kernel's
 * order; the code below walks the rows in that order and stops at the first
 * failure, as the kernel does.  Messages come from the table so that every
 * refusal names the rule, the field, its value and the errno.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "fields.h"
#include "nested-state.h"
#include "validate-private.h"

static const struct {
        const char *id;
        const char *field;
        int error;
        const char *what; /* completes "FIELD = VALUE ..." */
} rules[_R_MAX] = {
        [R_G1] = { "G1", "buffer", -EFAULT, N_("is shorter than the 128-byte header the kernel copies") },
        [R_G2] = { "G2", "size", -EINVAL, N_("is smaller than the 128-byte header") },
        [R_G3] = { "G3", "flags", -EINVAL, N_("has bits outside the known set 0x010f") },
        [R_G4] = { "G4", "flags", -EINVAL, N_("has RUN_PENDING without GUEST_MODE") },
        [R_V1] = { "V1", "format", -EINVAL, N_("is not VMX (0) on a VMX host") },
        [R_V2a] = { "V2a", "hdr.vmx.smm.flags", -EINVAL, N_("is non-zero while vmxon_pa is -1") },
        [R_V2b] = { "V2b", "hdr.vmx.vmcs12_pa", -EINVAL, N_("is set while vmxon_pa is -1") },
        [R_V2c] = { "V2c", "flags", -EINVAL, N_("has bits other than EVMCS while vmxon_pa is -1") },
        [R_V2d] = { "V2d", "hdr.vmx.vmxon_pa", -EINVAL, N_("is set but the vCPU may not use VMX (not in guest CPUID or nested disabled)") },
        [R_V2e] = { "V2e", "hdr.vmx.vmxon_pa", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR") },
        [R_V3] = { "V3", "hdr.vmx.smm.flags", -EINVAL, N_("has SMM_GUEST_MODE while flags has GUEST_MODE") },
        [R_V4] = { "V4", "hdr.vmx.smm.flags", -EINVAL, N_("has bits other than SMM_GUEST_MODE and SMM_VMXON") },
        [R_V5] = { "V5", "hdr.vmx.flags", -EINVAL, N_("has bits other than PREEMPTION_TIMER_DEADLINE") },
        [R_V6] = { "V6", "hdr.vmx.smm.flags", -EINVAL, N_("does not match the vCPU's SMM state (in SMM: no GUEST_MODE/RUN_PENDING; outside SMM: smm.flags must be 0)") },
        [R_V7] = { "V7", "hdr.vmx.smm.flags", -EINVAL, N_("has SMM_GUEST_MODE without SMM_VMXON") },
        [R_V8] = { "V8", "flags", -EINVAL, N_("has EVMCS but VMX or the enlightened VMCS capability is not enabled on the vCPU") },
        [R_V11] = { "V11", "size", -EINVAL, N_("is too small to hold a vmcs12 (needs 1126 bytes) while one is in use") },
        [R_V12a] = { "V12a", "hdr.vmx.vmcs12_pa", -EINVAL, N_("equals vmxon_pa or is not a page-aligned guest-physical address below the guest MAXPHYADDR") },
        [R_V12c] = { "V12c", "hdr.vmx.vmcs12_pa", -EINVAL, N_("is -1 with a vmcs12 in the blob and no enlightened VMCS") },
        [R_V13] = { "V13", "buffer", -EFAULT, N_("ends before the 998-byte vmcs12 the kernel copies") },
        [R_V14] = { "V14", "vmcs12.revision_id", -EINVAL, N_("is not the vmcs12 revision 0x11e57ed0") },
        [R_V16] = { "V16", "size", -EINVAL, N_("is too small for the shadow vmcs12 that the vmcs12 enables (needs 5222 bytes)") },
        [R_V17] = { "V17", "buffer", -EFAULT, N_("ends before the shadow vmcs12 the kernel copies") },
        [R_V18] = { "V18", "shadow_vmcs12.revision_id", -EINVAL, N_("is not 0x11e57ed0 with the shadow bit (0x91e57ed0)") },
        [R_V19_PIN] = { "V19", "vmcs12.pin_based_vm_exec_control", -EINVAL, N_("has bits the vCPU's IA32_VMX_TRUE_PINBASED_CTLS forbids or lacks bits it requires") },
        [R_V19_PROC] = { "V19", "vmcs12.cpu_based_vm_exec_control", -EINVAL, N_("has bits the vCPU's IA32_VMX_TRUE_PROCBASED_CTLS forbids or lacks bits it requires") },
        [R_V19_PROC2] = { "V19", "vmcs12.secondary_vm_exec_control", -EINVAL, N_("has bits the vCPU's IA32_VMX_PROCBASED_CTLS2 forbids") },
        [R_V19_CR3_TARGETS] = { "V19", "vmcs12.cr3_target_count", -EINVAL, N_("is above the count the vCPU's IA32_VMX_MISC allows") },
        [R_V19_APICV] = { "V19", "vmcs12 APIC virtualization controls", -EINVAL, N_("lack a prerequisite (TPR shadow; external-interrupt exiting for virtual interrupt delivery; no APIC-access virtualization with x2APIC mode; a valid posted-interrupt setup)") },
        [R_V19_NMI] = { "V19", "vmcs12.pin_based_vm_exec_control", -EINVAL, N_("has virtual NMIs without NMI exiting, or NMI-window exiting without virtual NMIs") },
        [R_V19_NEEDS_EPT] = { "V19", "vmcs12.secondary_vm_exec_control", -EINVAL, N_("enables unrestricted guest or mode-based EPT execute control without EPT") },
        [R_V19_VPID] = { "V19", "vmcs12.virtual_processor_id", -EINVAL, N_("is 0 while VPID is enabled") },
        [R_V19_PREEMPT] = { "V19", "vmcs12.vm_exit_controls", -EINVAL, N_("saves the preemption timer, which the pin-based controls do not enable") },
        [R_V19_EPTP] = { "V19", "vmcs12.ept_pointer", -EINVAL, N_("is not an EPT pointer the vCPU supports (memory type, walk length, accessed/dirty flags, reserved bits, MAXPHYADDR)") },
        [R_V19_VMFUNC] = { "V19", "vmcs12.vm_function_control", -EINVAL, N_("enables VM functions the vCPU lacks, or EPTP switching without EPT or a valid EPTP list") },
        [R_V19_EXIT] = { "V19", "vmcs12.vm_exit_controls", -EINVAL, N_("has bits the vCPU's IA32_VMX_TRUE_EXIT_CTLS forbids or lacks bits it requires") },
        [R_V19_MSR_SWITCH] = { "V19", "vmcs12 MSR load/store area", -EINVAL, N_("is not 16-byte aligned or does not fit below the guest MAXPHYADDR") },
        [R_V19_ENTRY] = { "V19", "vmcs12.vm_entry_controls", -EINVAL, N_("has bits the vCPU's IA32_VMX_TRUE_ENTRY_CTLS forbids or lacks bits it requires") },
        [R_V19_EVENT] = { "V19", "vmcs12.vm_entry_intr_info_field", -EINVAL, N_("describes an event VM entry cannot inject (type, vector, error code, reserved bits or instruction length)") },
        [R_V19_HOST_CR] = { "V19", "vmcs12.host_cr0/cr4", -EINVAL, N_("violates the vCPU's IA32_VMX_CR0/CR4_FIXED MSRs or sets CR4 bits the vCPU may not") },
        [R_V19_HOST_ADDR] = { "V19", "vmcs12 host address", -EINVAL, N_("is not canonical") },
        [R_V19_PAT] = { "V19", "vmcs12 PAT", -EINVAL, N_("holds a memory type PAT does not allow") },
        [R_V19_HOST_MODE] = { "V19", "vmcs12.vm_exit_controls", -EINVAL, N_("does not match the vCPU's EFER.LMA in host address-space size, or the host state does not fit that mode") },
        [R_V19_HOST_SEL] = { "V19", "vmcs12 host selector", -EINVAL, N_("has RPL or TI set, or CS, TR (or SS outside 64-bit mode) is 0") },
        [R_V19_HOST_EFER] = { "V19", "vmcs12.host_ia32_efer", -EINVAL, N_("has reserved bits or LMA/LME not matching the host address-space size") },
        [R_V19_GUEST_CR] = { "V19", "vmcs12.guest_cr0/cr4", -EINVAL, N_("violates the vCPU's IA32_VMX_CR0/CR4_FIXED MSRs or sets CR4 bits the vCPU may not") },
        [R_V19_GUEST_DR7] = { "V19", "vmcs12.guest_dr7", -EINVAL, N_("has bits set above bit 31") },
        [R_V19_GUEST_EFER] = { "V19", "vmcs12.guest_ia32_efer", -EINVAL, N_("has reserved bits or LMA/LME not matching the IA-32e mode guest entry control") },
        [R_V19_ACTIVITY] = { "V19", "vmcs12.guest_activity_state", -EINVAL, N_("is not active, HLT or wait-for-SIPI") },
        [R_V19_IOBM] = { "V19", "vmcs12.io_bitmap_a/b", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR while the vmcs12 uses I/O bitmaps") },
        [R_V19_MSRBM] = { "V19", "vmcs12.msr_bitmap", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR while the vmcs12 uses MSR bitmaps") },
        [R_V19_VAPIC] = { "V19", "vmcs12.virtual_apic_page_addr", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR while the vmcs12 uses the TPR shadow") },
        [R_V19_APIC] = { "V19", "vmcs12.apic_access_addr", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR while the vmcs12 virtualizes APIC accesses") },
        [R_V19_PML] = { "V19", "vmcs12.pml_address", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR, or PML is on without EPT") },
        [R_V19_VMCSBM] = { "V19", "vmcs12.vmread/vmwrite_bitmap", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR while the vmcs12 uses VMCS shadowing") },
        [R_V19_HOST_CR3] = { "V19", "vmcs12.host_cr3", -EINVAL, N_("is at or beyond 2^MAXPHYADDR of the guest") },
        [R_V19_LINK] = { "V19", "vmcs12.vmcs_link_pointer", -EINVAL, N_("is neither -1 nor a page-aligned guest-physical address below the guest MAXPHYADDR") },
        [R_V20_CR3] = { "V20", "vmcs12.guest_cr3", NV_ERR_LEFT_GUEST_MODE, N_("is at or beyond 2^MAXPHYADDR of the guest: the kernel takes the state, cannot load this CR3 when it re-enters L2, and leaves the vCPU in L1 with L2 dropped") },
        [R_S1] = { "S1", "format", -EINVAL, N_("is not SVM (1) on an SVM host") },
        [R_S2] = { "S2", "flags", -EINVAL, N_("has bits other than GUEST_MODE, RUN_PENDING and GIF_SET") },
        [R_S3] = { "S3", "flags", -EINVAL, N_("is not allowed while the vCPU's EFER.SVME is clear") },
        [R_S4] = { "S4", "flags", -EINVAL, N_("has GUEST_MODE while the vCPU is in SMM") },
        [R_S6] = { "S6", "hdr.svm.vmcb_pa", -EINVAL, N_("is not a page-aligned guest-physical address below the guest MAXPHYADDR") },
        [R_S7] = { "S7", "size", -EINVAL, N_("is smaller than 4224 (header and vmcb12) in guest mode") },
        [R_S8] = { "S8", "buffer", -EFAULT, N_("ends before the 4096-byte vmcb12 the kernel copies") },
        [R_S9_VMRUN] = { "S9", "control.intercept_word4", -EINVAL, N_("does not intercept VMRUN (bit 0)") },
        [R_S9_ASID] = { "S9", "control.asid", -EINVAL, N_("is zero") },
        [R_S9_NP] = { "S9", "control.nested_ctl", -EINVAL, N_("enables nested paging but the host has NPT disabled") },
        [R_S9_NCR3] = { "S9", "control.nested_cr3", -EINVAL, N_("is not a guest-physical address below the guest MAXPHYADDR while nested paging is enabled") },
        [R_S9_MSRPM] = { "S9", "control.msrpm_base_pa", -EINVAL, N_("does not leave room for the 8 KiB MSR permission map below the guest MAXPHYADDR") },
        [R_S9_VNMI] = { "S9", "control.int_ctl", -EINVAL, N_("enables virtual NMIs (V_NMI_ENABLE) without intercepting NMIs, which this kernel refuses") },
        [R_S9_IOPM] = { "S9", "control.iopm_base_pa", -EINVAL, N_("does not leave room for the 12 KiB I/O permission map below the guest MAXPHYADDR") },
        [R_S10] = { "S10", "vcpu.cr0", -EINVAL, N_("has CD clear and NW set") },
        [R_S11_PG] = { "S11", "save.cr0", -EINVAL, N_("has paging (PG) clear") },
        [R_S11_PE] = { "S11", "save.cr0", -EINVAL, N_("has protection (PE) clear") },
        [R_S11_VM] = { "S11", "save.rflags", -EINVAL, N_("has the VM (virtual-8086) flag set") },
        [R_S11_SVME] = { "S11", "save.efer", -EINVAL, N_("has SVME clear") },
        [R_S11_CDNW] = { "S11", "save.cr0", -EINVAL, N_("has CD clear and NW set") },
        [R_S11_CR0HI] = { "S11", "save.cr0", -EINVAL, N_("has bits set above bit 31") },
        [R_S11_DR6] = { "S11", "save.dr6", -EINVAL, N_("has bits set above bit 31") },
        [R_S11_DR7] = { "S11", "save.dr7", -EINVAL, N_("has bits set above bit 31") },
        [R_S11_PAE] = { "S11", "save.cr4", -EINVAL, N_("lacks PAE while EFER.LME and CR0.PG are set") },
        [R_S11_CR3] = { "S11", "save.cr3", -EINVAL, N_("is not a legal guest-physical address in long mode") },
        [R_S11_CSLD] = { "S11", "save.cs.attrib", -EINVAL, N_("has both L (64-bit code) and D (32-bit default size) set while EFER.LME and CR0.PG are set") },
        [R_S11_CR4] = { "S11", "save.cr4", -EINVAL, N_("has reserved bits set") },
        [R_S11_CR4_CPUID] = { "S11", "save.cr4", -EINVAL, N_("sets bits the target vCPU's CPUID does not offer") },
        [R_S11_EFER] = { "S11", "save.efer", -EINVAL, N_("has reserved bits set") },
        [R_S11_EFER_CPUID] = { "S11", "save.efer", -EINVAL, N_("sets bits the target vCPU's CPUID does not offer") },
};

const char *nv_errno_name(int err) {
        switch (err < 0 ? -err : err) {
        case 0:
                return "0";
        case EINVAL:
                return "EINVAL";
        case EFAULT:
                return "EFAULT";
        case E2BIG:
                return "E2BIG";
        case ENOMEM:
                return "ENOMEM";
        case EINTR:
                return "EINTR";
        case ENOTTY:
                return "ENOTTY";
        default:
                return strerror(err < 0 ? -err : err);
        }
}

/*
 * Test only: NESTVIRT_TEST_DISABLE_RULE names one rule id ("S9") the
 * validator lets through, so that a test can prove the kernel's own check
 * on a scratch vCPU still refuses what the validator misjudges.  Never set
 * it in production.
 */
static bool rule_disabled(const char *id) {
        const char *off = secure_getenv("NESTVIRT_TEST_DISABLE_RULE");

        return off && strcmp(off, id) == 0;
}

int nv_validate_reject(Checker *c, Rule r, uint64_t value) {
        NvValidateResult *res = c->res;

        if (rule_disabled(rules[r].id))
                return 0;

        res->error = rules[r].error;
        res->rule = rules[r].id;
        res->field = rules[r].field;
        res->value = value;
        if (rules[r].error == NV_ERR_LEFT_GUEST_MODE)
                snprintf(res->message, sizeof(res->message), _("Rule %s: %s = 0x%llx %s; KVM_SET_NESTED_STATE would return 2 instead of an errno."),
                         rules[r].id, rules[r].field, (unsigned long long) value, _(rules[r].what));
        else
                snprintf(res->message, sizeof(res->message), _("Rule %s: %s = 0x%llx %s; KVM_SET_NESTED_STATE would fail with %s."),
                         rules[r].id, rules[r].field, (unsigned long long) value, _(rules[r].what),
                         nv_errno_name(rules[r].error));
        return res->error;
}

/* Like nv_validate_reject(), and names the bits of value that break the rule. */
int nv_validate_reject_bits(Checker *c, Rule r, uint64_t value, uint64_t bits) {
        char *msg = c->res->message;
        size_t n;
        int err;

        err = nv_validate_reject(c, r, value);
        if (err == 0) /* a rule disabled for a test */
                return 0;
        n = strlen(msg);
        snprintf(msg + n, sizeof(c->res->message) - n, _(" Offending bits: 0x%llx."), (unsigned long long) bits);
        return err;
}

void nv_validate_unchecked(Checker *c, const char *why) {
        NvValidateResult *res = c->res;

        for (size_t i = 0; i < res->n_unchecked; i++)
                if (res->unchecked[i] == why)
                        return;
        if (res->n_unchecked < NV_VALIDATE_MAX_UNCHECKED)
                res->unchecked[res->n_unchecked++] = why;
}

/* KVM's page_address_valid()/kvm_vcpu_is_legal_gpa() with a possibly unknown MAXPHYADDR. */
bool nv_validate_gpa_legal(Checker *c, uint64_t gpa) {
        unsigned bits = c->ctx->maxphyaddr;

        if (bits == 0) {
                nv_validate_unchecked(c, N_("guest-physical addresses checked against the architectural 52-bit limit only: guest MAXPHYADDR unknown"));
                bits = X86_ARCH_MAXPHYADDR;
        }
        return bits >= 64 || (gpa >> bits) == 0;
}

bool nv_validate_page_address(Checker *c, uint64_t gpa) {
        return (gpa & X86_PAGE_MASK) == 0 && nv_validate_gpa_legal(c, gpa);
}

/* Evaluates a fact the check needs; an unknown fact assumes what lets the state through. */
bool nv_validate_fact(Checker *c, NvTristate t, bool if_unknown, const char *why) {
        if (t == NV_UNKNOWN) {
                nv_validate_unchecked(c, why);
                return if_unknown;
        }
        return t == NV_YES;
}

static int check_generic(Checker *c) {
        const NvNestedHeader *h = &c->h;

        if (h->size < NV_NESTED_HDR_SIZE)
                return nv_validate_reject(c, R_G2, h->size);
        if (h->flags & ~NV_NESTED_FLAGS_KNOWN)
                return nv_validate_reject(c, R_G3, h->flags);
        if ((h->flags & NV_NESTED_RUN_PENDING) && !(h->flags & NV_NESTED_GUEST_MODE))
                return nv_validate_reject(c, R_G4, h->flags);
        return 0;
}


void nv_validate_context_init(NvValidateContext *ctx) {
        *ctx = (NvValidateContext) {
                .vendor = -1,
                .vmx_allowed = NV_UNKNOWN,
                .evmcs_enabled = NV_UNKNOWN,
                .svme = NV_UNKNOWN,
                .in_smm = NV_UNKNOWN,
                .npt_enabled = NV_UNKNOWN,
                .svme0_gif0_ok = NV_UNKNOWN,
                .vnmi_needs_nmi_intercept = NV_UNKNOWN,
                .lma = NV_UNKNOWN,
        };
}

int nv_validate(const void *blob, size_t len, const NvValidateContext *ctx, NvValidateResult *ret) {
        NvValidateContext unknown;
        Checker c = { .b = blob, .len = len, .ctx = ctx, .res = ret };
        int vendor, r;

        *ret = (NvValidateResult) {};
        if (!ctx) {
                nv_validate_context_init(&unknown);
                c.ctx = &unknown;
        }
        /* 1. x86.c copies the 128-byte header first: a short buffer faults. */
        if (!blob || len < NV_NESTED_HDR_SIZE)
                return nv_validate_reject(&c, R_G1, blob ? len : 0);
        (void) nv_nested_header_parse(blob, len, &c.h, NULL);
        /* 2. Generic flag and size checks. */
        r = check_generic(&c);
        if (r < 0)
                return r;
        /* 3. The host's vendor module decides which set_state runs. */
        vendor = c.ctx->vendor >= 0 ? c.ctx->vendor : c.h.format;
        if (c.ctx->vendor < 0)
                nv_validate_unchecked(&c, N_("host vendor unknown: checked against the blob's own format"));
        if (vendor == NV_FORMAT_SVM)
                return nv_validate_svm(&c);
        return nv_validate_vmx(&c);
}

int nv_validate_blob(const void *blob, size_t len, const NvValidateContext *ctx, NvError **reterr) {
        NvValidateResult res;
        int r;

        r = nv_validate(blob, len, ctx, &res);
        if (r < 0)
                return nv_error_set(reterr, r, "%s", res.message);
        return 0;
}
