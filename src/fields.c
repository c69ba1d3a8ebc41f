/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmcs12 and vmcb12 field tables.  The vmcs12 offsets are those KVM freezes
 * with a build-time assertion per field ("for save/restore compatibility,
 * the vmcs12 field offsets must not change"); fields added later live in
 * former padding, so one table decodes blobs of every kernel version.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byteorder.h"
#include "fields.h"
#include "macro.h"
#include "nested-state.h"
#include "util.h"
#include "x86-arch.h"

/* vmcs12 fields by name; K marks the ones `inspect` shows by default. */
#define F(n, enc, w) { #n, enc, VMCS12_##n, w, false }
#define K(n, enc, w) { #n, enc, VMCS12_##n, w, true }
/* vmcb12 control (C) and save-area (S) fields. */
#define C(n, off, w, key) { "control." n, NV_FIELD_NO_ENCODING, VMCB_CTL_##off, w, key }
#define S(n, off, w, key) { "save." n, NV_FIELD_NO_ENCODING, VMCB12_SAVE_AREA + VMCB_SAVE_##off, w, key }

static const NvField vmcs12_fields[] = {
        K(REVISION_ID, NV_FIELD_NO_ENCODING, 4),
        F(VMX_ABORT, NV_FIELD_NO_ENCODING, 4),
        K(LAUNCH_STATE, NV_FIELD_NO_ENCODING, 4),
        F(IO_BITMAP_A, 0x2000, 8),
        F(IO_BITMAP_B, 0x2002, 8),
        F(MSR_BITMAP, 0x2004, 8),
        F(VM_EXIT_MSR_STORE_ADDR, 0x2006, 8),
        F(VM_EXIT_MSR_LOAD_ADDR, 0x2008, 8),
        F(VM_ENTRY_MSR_LOAD_ADDR, 0x200A, 8),
        F(TSC_OFFSET, 0x2010, 8),
        F(VIRTUAL_APIC_PAGE_ADDR, 0x2012, 8),
        F(APIC_ACCESS_ADDR, 0x2014, 8),
        F(POSTED_INTR_DESC_ADDR, 0x2016, 8),
        K(EPT_POINTER, 0x201A, 8),
        F(EOI_EXIT_BITMAP0, 0x201C, 8),
        F(EOI_EXIT_BITMAP1, 0x201E, 8),
        F(EOI_EXIT_BITMAP2, 0x2020, 8),
        F(EOI_EXIT_BITMAP3, 0x2022, 8),
        F(XSS_EXIT_BITMAP, 0x202C, 8),
        F(GUEST_PHYSICAL_ADDRESS, 0x2400, 8),
        K(VMCS_LINK_POINTER, 0x2800, 8),
        F(GUEST_IA32_DEBUGCTL, 0x2802, 8),
        F(GUEST_IA32_PAT, 0x2804, 8),
        K(GUEST_IA32_EFER, 0x2806, 8),
        F(GUEST_IA32_PERF_GLOBAL_CTRL, 0x2808, 8),
        F(GUEST_PDPTR0, 0x280A, 8),
        F(GUEST_PDPTR1, 0x280C, 8),
        F(GUEST_PDPTR2, 0x280E, 8),
        F(GUEST_PDPTR3, 0x2810, 8),
        F(GUEST_BNDCFGS, 0x2812, 8),
        F(HOST_IA32_PAT, 0x2C00, 8),
        F(HOST_IA32_EFER, 0x2C02, 8),
        F(HOST_IA32_PERF_GLOBAL_CTRL, 0x2C04, 8),
        F(VMREAD_BITMAP, 0x2026, 8),
        F(VMWRITE_BITMAP, 0x2028, 8),
        F(VM_FUNCTION_CONTROL, 0x2018, 8),
        F(EPTP_LIST_ADDRESS, 0x2024, 8),
        F(PML_ADDRESS, 0x200E, 8),
        F(ENCLS_EXITING_BITMAP, 0x202E, 8),
        F(TSC_MULTIPLIER, 0x2032, 8),
        F(CR0_GUEST_HOST_MASK, 0x6000, 8),
        F(CR4_GUEST_HOST_MASK, 0x6002, 8),
        F(CR0_READ_SHADOW, 0x6004, 8),
        F(CR4_READ_SHADOW, 0x6006, 8),
        F(EXIT_QUALIFICATION, 0x6400, 8),
        F(GUEST_LINEAR_ADDRESS, 0x640A, 8),
        K(GUEST_CR0, 0x6800, 8),
        K(GUEST_CR3, 0x6802, 8),
        K(GUEST_CR4, 0x6804, 8),
        F(GUEST_ES_BASE, 0x6806, 8),
        F(GUEST_CS_BASE, 0x6808, 8),
        F(GUEST_SS_BASE, 0x680A, 8),
        F(GUEST_DS_BASE, 0x680C, 8),
        F(GUEST_FS_BASE, 0x680E, 8),
        F(GUEST_GS_BASE, 0x6810, 8),
        F(GUEST_LDTR_BASE, 0x6812, 8),
        F(GUEST_TR_BASE, 0x6814, 8),
        F(GUEST_GDTR_BASE, 0x6816, 8),
        F(GUEST_IDTR_BASE, 0x6818, 8),
        F(GUEST_DR7, 0x681A, 8),
        K(GUEST_RSP, 0x681C, 8),
        K(GUEST_RIP, 0x681E, 8),
        K(GUEST_RFLAGS, 0x6820, 8),
        F(GUEST_PENDING_DBG_EXCEPTIONS, 0x6822, 8),
        F(GUEST_SYSENTER_ESP, 0x6824, 8),
        F(GUEST_SYSENTER_EIP, 0x6826, 8),
        F(HOST_CR0, 0x6C00, 8),
        F(HOST_CR3, 0x6C02, 8),
        F(HOST_CR4, 0x6C04, 8),
        F(HOST_FS_BASE, 0x6C06, 8),
        F(HOST_GS_BASE, 0x6C08, 8),
        F(HOST_TR_BASE, 0x6C0A, 8),
        F(HOST_GDTR_BASE, 0x6C0C, 8),
        F(HOST_IDTR_BASE, 0x6C0E, 8),
        F(HOST_IA32_SYSENTER_ESP, 0x6C10, 8),
        F(HOST_IA32_SYSENTER_EIP, 0x6C12, 8),
        F(HOST_RSP, 0x6C14, 8),
        K(HOST_RIP, 0x6C16, 8),
        F(HOST_S_CET, 0x6C18, 8),
        F(HOST_SSP, 0x6C1A, 8),
        F(HOST_INTR_SSP_TABLE, 0x6C1C, 8),
        F(GUEST_S_CET, 0x6828, 8),
        F(GUEST_SSP, 0x682A, 8),
        F(GUEST_INTR_SSP_TABLE, 0x682C, 8),
        K(PIN_BASED_VM_EXEC_CONTROL, 0x4000, 4),
        K(CPU_BASED_VM_EXEC_CONTROL, 0x4002, 4),
        F(EXCEPTION_BITMAP, 0x4004, 4),
        F(PAGE_FAULT_ERROR_CODE_MASK, 0x4006, 4),
        F(PAGE_FAULT_ERROR_CODE_MATCH, 0x4008, 4),
        F(CR3_TARGET_COUNT, 0x400A, 4),
        K(VM_EXIT_CONTROLS, 0x400C, 4),
        F(VM_EXIT_MSR_STORE_COUNT, 0x400E, 4),
        F(VM_EXIT_MSR_LOAD_COUNT, 0x4010, 4),
        K(VM_ENTRY_CONTROLS, 0x4012, 4),
        F(VM_ENTRY_MSR_LOAD_COUNT, 0x4014, 4),
        F(VM_ENTRY_INTR_INFO_FIELD, 0x4016, 4),
        F(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x4018, 4),
        F(VM_ENTRY_INSTRUCTION_LEN, 0x401A, 4),
        F(TPR_THRESHOLD, 0x401C, 4),
        K(SECONDARY_VM_EXEC_CONTROL, 0x401E, 4),
        F(VM_INSTRUCTION_ERROR, 0x4400, 4),
        K(VM_EXIT_REASON, 0x4402, 4),
        F(VM_EXIT_INTR_INFO, 0x4404, 4),
        F(VM_EXIT_INTR_ERROR_CODE, 0x4406, 4),
        F(IDT_VECTORING_INFO_FIELD, 0x4408, 4),
        F(IDT_VECTORING_ERROR_CODE, 0x440A, 4),
        F(VM_EXIT_INSTRUCTION_LEN, 0x440C, 4),
        F(VMX_INSTRUCTION_INFO, 0x440E, 4),
        F(GUEST_ES_LIMIT, 0x4800, 4),
        F(GUEST_CS_LIMIT, 0x4802, 4),
        F(GUEST_SS_LIMIT, 0x4804, 4),
        F(GUEST_DS_LIMIT, 0x4806, 4),
        F(GUEST_FS_LIMIT, 0x4808, 4),
        F(GUEST_GS_LIMIT, 0x480A, 4),
        F(GUEST_LDTR_LIMIT, 0x480C, 4),
        F(GUEST_TR_LIMIT, 0x480E, 4),
        F(GUEST_GDTR_LIMIT, 0x4810, 4),
        F(GUEST_IDTR_LIMIT, 0x4812, 4),
        F(GUEST_ES_AR_BYTES, 0x4814, 4),
        F(GUEST_CS_AR_BYTES, 0x4816, 4),
        F(GUEST_SS_AR_BYTES, 0x4818, 4),
        F(GUEST_DS_AR_BYTES, 0x481A, 4),
        F(GUEST_FS_AR_BYTES, 0x481C, 4),
        F(GUEST_GS_AR_BYTES, 0x481E, 4),
        F(GUEST_LDTR_AR_BYTES, 0x4820, 4),
        F(GUEST_TR_AR_BYTES, 0x4822, 4),
        F(GUEST_INTERRUPTIBILITY_INFO, 0x4824, 4),
        K(GUEST_ACTIVITY_STATE, 0x4826, 4),
        F(GUEST_SYSENTER_CS, 0x482A, 4),
        F(HOST_IA32_SYSENTER_CS, 0x4C00, 4),
        F(VMX_PREEMPTION_TIMER_VALUE, 0x482E, 4),
        K(VIRTUAL_PROCESSOR_ID, 0x0000, 2),
        F(POSTED_INTR_NV, 0x0002, 2),
        F(GUEST_ES_SELECTOR, 0x0800, 2),
        K(GUEST_CS_SELECTOR, 0x0802, 2),
        F(GUEST_SS_SELECTOR, 0x0804, 2),
        F(GUEST_DS_SELECTOR, 0x0806, 2),
        F(GUEST_FS_SELECTOR, 0x0808, 2),
        F(GUEST_GS_SELECTOR, 0x080A, 2),
        F(GUEST_LDTR_SELECTOR, 0x080C, 2),
        F(GUEST_TR_SELECTOR, 0x080E, 2),
        F(GUEST_INTR_STATUS, 0x0810, 2),
        F(HOST_ES_SELECTOR, 0x0C00, 2),
        F(HOST_CS_SELECTOR, 0x0C02, 2),
        F(HOST_SS_SELECTOR, 0x0C04, 2),
        F(HOST_DS_SELECTOR, 0x0C06, 2),
        F(HOST_FS_SELECTOR, 0x0C08, 2),
        F(HOST_GS_SELECTOR, 0x0C0A, 2),
        F(HOST_TR_SELECTOR, 0x0C0C, 2),
        F(GUEST_PML_INDEX, 0x0812, 2),
};

/* vmcb12: control area at 0x000, save area (L1 state at VMRUN) at 0x400. */
static const NvField vmcb12_fields[] = {
        C("intercept_cr", INTERCEPT_CR, 4, false),
        C("intercept_dr", INTERCEPT_DR, 4, false),
        C("intercept_exceptions", INTERCEPT_EXCEPTIONS, 4, false),
        C("intercept_word3", INTERCEPT_WORD3, 4, false),
        C("intercept_word4", INTERCEPT_WORD4, 4, true),
        C("intercept_word5", INTERCEPT_WORD5, 4, false),
        C("pause_filter_thresh", PAUSE_FILTER_THRESH, 2, false),
        C("pause_filter_count", PAUSE_FILTER_COUNT, 2, false),
        C("iopm_base_pa", IOPM_BASE_PA, 8, true),
        C("msrpm_base_pa", MSRPM_BASE_PA, 8, true),
        C("tsc_offset", TSC_OFFSET, 8, false),
        C("asid", ASID, 4, true),
        C("tlb_ctl", TLB_CTL, 1, false),
        C("int_ctl", INT_CTL, 4, true),
        C("int_vector", INT_VECTOR, 4, false),
        C("int_state", INT_STATE, 4, false),
        C("exit_code", EXIT_CODE, 4, true),
        C("exit_code_hi", EXIT_CODE_HI, 4, false),
        C("exit_info_1", EXIT_INFO_1, 8, false),
        C("exit_info_2", EXIT_INFO_2, 8, false),
        C("exit_int_info", EXIT_INT_INFO, 4, false),
        C("exit_int_info_err", EXIT_INT_INFO_ERR, 4, false),
        C("nested_ctl", NESTED_CTL, 8, true),
        C("avic_vapic_bar", AVIC_VAPIC_BAR, 8, false),
        C("ghcb_gpa", GHCB_GPA, 8, false),
        C("event_inj", EVENT_INJ, 4, false),
        C("event_inj_err", EVENT_INJ_ERR, 4, false),
        C("nested_cr3", NESTED_CR3, 8, true),
        C("virt_ext", VIRT_EXT, 8, false),
        C("clean", CLEAN, 4, false),
        C("next_rip", NEXT_RIP, 8, true),
        C("insn_len", INSN_LEN, 1, false),
        S("es.selector", ES + VMCB_SEG_SELECTOR, 2, false),
        S("cs.selector", CS + VMCB_SEG_SELECTOR, 2, false),
        S("cs.attrib", CS + VMCB_SEG_ATTRIB, 2, false),
        S("cs.limit", CS + VMCB_SEG_LIMIT, 4, false),
        S("cs.base", CS + VMCB_SEG_BASE, 8, false),
        S("ss.selector", SS + VMCB_SEG_SELECTOR, 2, false),
        S("ds.selector", DS + VMCB_SEG_SELECTOR, 2, false),
        S("gdtr.limit", GDTR + VMCB_SEG_LIMIT, 4, false),
        S("gdtr.base", GDTR + VMCB_SEG_BASE, 8, false),
        S("idtr.limit", IDTR + VMCB_SEG_LIMIT, 4, false),
        S("idtr.base", IDTR + VMCB_SEG_BASE, 8, false),
        S("cpl", CPL, 1, false),
        S("efer", EFER, 8, true),
        S("cr4", CR4, 8, true),
        S("cr3", CR3, 8, true),
        S("cr0", CR0, 8, true),
        S("dr7", DR7, 8, false),
        S("dr6", DR6, 8, false),
        S("rflags", RFLAGS, 8, true),
        S("rip", RIP, 8, true),
        S("rsp", RSP, 8, true),
        S("rax", RAX, 8, false),
        S("star", STAR, 8, false),
        S("lstar", LSTAR, 8, false),
        S("cstar", CSTAR, 8, false),
        S("sfmask", SFMASK, 8, false),
        S("kernel_gs_base", KERNEL_GS_BASE, 8, false),
        S("sysenter_cs", SYSENTER_CS, 8, false),
        S("sysenter_esp", SYSENTER_ESP, 8, false),
        S("sysenter_eip", SYSENTER_EIP, 8, false),
        S("cr2", CR2, 8, false),
        S("g_pat", G_PAT, 8, false),
        S("dbgctl", DBGCTL, 8, false),
};

const NvField *nv_fields_table(int format, size_t *ret_n) {
        switch (format) {
        case NV_FORMAT_VMX:
                *ret_n = ELEMENTSOF(vmcs12_fields);
                return vmcs12_fields;
        case NV_FORMAT_SVM:
                *ret_n = ELEMENTSOF(vmcb12_fields);
                return vmcb12_fields;
        default:
                *ret_n = 0;
                return NULL;
        }
}

const NvField *nv_fields_lookup(int format, const char *key) {
        const NvField *t;
        uint64_t enc = UINT64_MAX;
        size_t n;

        t = nv_fields_table(format, &n);
        if (!t || !key)
                return NULL;
        if (strncasecmp(key, "0x", 2) == 0 && nv_parse_unsigned(key + 2, 16, UINT32_MAX - 1, &enc) < 0)
                enc = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(t[i].name, key) == 0 || (t[i].encoding != NV_FIELD_NO_ENCODING && t[i].encoding == enc))
                        return &t[i];
        return NULL;
}

int nv_fields_read(const void *blob, size_t len, const NvField *f, bool shadow, uint64_t *ret, NvError **reterr) {
        NvNestedHeader h;
        size_t base = NV_OFF_DATA;
        const uint8_t *p;
        int r;

        r = nv_nested_header_parse(blob, len, &h, reterr);
        if (r < 0)
                return r;
        if (shadow && h.format != NV_FORMAT_VMX)
                return nv_error_set(reterr, -EINVAL, _("Only VMX state has a shadow vmcs12."));
        if (shadow)
                base += NV_VMCS12_AREA_SIZE;
        /* The header's size says how much of the data region KVM filled in. */
        if ((size_t) h.size > len || base + f->offset + f->width > h.size)
                return nv_error_set(reterr, -ENODATA, _("Field '%s' is not present: the state holds %u bytes."),
                                    f->name, h.size);
        p = (const uint8_t *) blob + base + f->offset;
        switch (f->width) {
        case 1:
                *ret = p[0];
                break;
        case 2:
                *ret = get_le16(p);
                break;
        case 4:
                *ret = get_le32(p);
                break;
        default:
                *ret = get_le64(p);
                break;
        }
        return 0;
}
