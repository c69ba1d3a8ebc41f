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

#define F(n, enc, off, w) { #n, enc, off, w, false }
#define K(n, enc, off, w) { #n, enc, off, w, true }
#define S(n, off, w) { n, NV_FIELD_NO_ENCODING, off, w, false }
#define SK(n, off, w) { n, NV_FIELD_NO_ENCODING, off, w, true }

static const NvField vmcs12_fields[] = {
        K(REVISION_ID, NV_FIELD_NO_ENCODING, 0, 4),
        F(VMX_ABORT, NV_FIELD_NO_ENCODING, 4, 4),
        K(LAUNCH_STATE, NV_FIELD_NO_ENCODING, 8, 4),
        F(IO_BITMAP_A, 0x2000, 40, 8),
        F(IO_BITMAP_B, 0x2002, 48, 8),
        F(MSR_BITMAP, 0x2004, 56, 8),
        F(VM_EXIT_MSR_STORE_ADDR, 0x2006, 64, 8),
        F(VM_EXIT_MSR_LOAD_ADDR, 0x2008, 72, 8),
        F(VM_ENTRY_MSR_LOAD_ADDR, 0x200A, 80, 8),
        F(TSC_OFFSET, 0x2010, 88, 8),
        F(VIRTUAL_APIC_PAGE_ADDR, 0x2012, 96, 8),
        F(APIC_ACCESS_ADDR, 0x2014, 104, 8),
        F(POSTED_INTR_DESC_ADDR, 0x2016, 112, 8),
        K(EPT_POINTER, 0x201A, 120, 8),
        F(EOI_EXIT_BITMAP0, 0x201C, 128, 8),
        F(EOI_EXIT_BITMAP1, 0x201E, 136, 8),
        F(EOI_EXIT_BITMAP2, 0x2020, 144, 8),
        F(EOI_EXIT_BITMAP3, 0x2022, 152, 8),
        F(XSS_EXIT_BITMAP, 0x202C, 160, 8),
        F(GUEST_PHYSICAL_ADDRESS, 0x2400, 168, 8),
        K(VMCS_LINK_POINTER, 0x2800, 176, 8),
        F(GUEST_IA32_DEBUGCTL, 0x2802, 184, 8),
        F(GUEST_IA32_PAT, 0x2804, 192, 8),
        K(GUEST_IA32_EFER, 0x2806, 200, 8),
        F(GUEST_IA32_PERF_GLOBAL_CTRL, 0x2808, 208, 8),
        F(GUEST_PDPTR0, 0x280A, 216, 8),
        F(GUEST_PDPTR1, 0x280C, 224, 8),
        F(GUEST_PDPTR2, 0x280E, 232, 8),
        F(GUEST_PDPTR3, 0x2810, 240, 8),
        F(GUEST_BNDCFGS, 0x2812, 248, 8),
        F(HOST_IA32_PAT, 0x2C00, 256, 8),
        F(HOST_IA32_EFER, 0x2C02, 264, 8),
        F(HOST_IA32_PERF_GLOBAL_CTRL, 0x2C04, 272, 8),
        F(VMREAD_BITMAP, 0x2026, 280, 8),
        F(VMWRITE_BITMAP, 0x2028, 288, 8),
        F(VM_FUNCTION_CONTROL, 0x2018, 296, 8),
        F(EPTP_LIST_ADDRESS, 0x2024, 304, 8),
        F(PML_ADDRESS, 0x200E, 312, 8),
        F(ENCLS_EXITING_BITMAP, 0x202E, 320, 8),
        F(TSC_MULTIPLIER, 0x2032, 328, 8),
        F(CR0_GUEST_HOST_MASK, 0x6000, 344, 8),
        F(CR4_GUEST_HOST_MASK, 0x6002, 352, 8),
        F(CR0_READ_SHADOW, 0x6004, 360, 8),
        F(CR4_READ_SHADOW, 0x6006, 368, 8),
        F(EXIT_QUALIFICATION, 0x6400, 408, 8),
        F(GUEST_LINEAR_ADDRESS, 0x640A, 416, 8),
        K(GUEST_CR0, 0x6800, 424, 8),
        K(GUEST_CR3, 0x6802, 432, 8),
        K(GUEST_CR4, 0x6804, 440, 8),
        F(GUEST_ES_BASE, 0x6806, 448, 8),
        F(GUEST_CS_BASE, 0x6808, 456, 8),
        F(GUEST_SS_BASE, 0x680A, 464, 8),
        F(GUEST_DS_BASE, 0x680C, 472, 8),
        F(GUEST_FS_BASE, 0x680E, 480, 8),
        F(GUEST_GS_BASE, 0x6810, 488, 8),
        F(GUEST_LDTR_BASE, 0x6812, 496, 8),
        F(GUEST_TR_BASE, 0x6814, 504, 8),
        F(GUEST_GDTR_BASE, 0x6816, 512, 8),
        F(GUEST_IDTR_BASE, 0x6818, 520, 8),
        F(GUEST_DR7, 0x681A, 528, 8),
        K(GUEST_RSP, 0x681C, 536, 8),
        K(GUEST_RIP, 0x681E, 544, 8),
        K(GUEST_RFLAGS, 0x6820, 552, 8),
        F(GUEST_PENDING_DBG_EXCEPTIONS, 0x6822, 560, 8),
        F(GUEST_SYSENTER_ESP, 0x6824, 568, 8),
        F(GUEST_SYSENTER_EIP, 0x6826, 576, 8),
        F(HOST_CR0, 0x6C00, 584, 8),
        F(HOST_CR3, 0x6C02, 592, 8),
        F(HOST_CR4, 0x6C04, 600, 8),
        F(HOST_FS_BASE, 0x6C06, 608, 8),
        F(HOST_GS_BASE, 0x6C08, 616, 8),
        F(HOST_TR_BASE, 0x6C0A, 624, 8),
        F(HOST_GDTR_BASE, 0x6C0C, 632, 8),
        F(HOST_IDTR_BASE, 0x6C0E, 640, 8),
        F(HOST_IA32_SYSENTER_ESP, 0x6C10, 648, 8),
        F(HOST_IA32_SYSENTER_EIP, 0x6C12, 656, 8),
        F(HOST_RSP, 0x6C14, 664, 8),
        K(HOST_RIP, 0x6C16, 672, 8),
        F(HOST_S_CET, 0x6C18, 680, 8),
        F(HOST_SSP, 0x6C1A, 688, 8),
        F(HOST_INTR_SSP_TABLE, 0x6C1C, 696, 8),
        F(GUEST_S_CET, 0x6828, 704, 8),
        F(GUEST_SSP, 0x682A, 712, 8),
        F(GUEST_INTR_SSP_TABLE, 0x682C, 720, 8),
        K(PIN_BASED_VM_EXEC_CONTROL, 0x4000, 744, 4),
        K(CPU_BASED_VM_EXEC_CONTROL, 0x4002, 748, 4),
        F(EXCEPTION_BITMAP, 0x4004, 752, 4),
        F(PAGE_FAULT_ERROR_CODE_MASK, 0x4006, 756, 4),
        F(PAGE_FAULT_ERROR_CODE_MATCH, 0x4008, 760, 4),
        F(CR3_TARGET_COUNT, 0x400A, 764, 4),
        K(VM_EXIT_CONTROLS, 0x400C, 768, 4),
        F(VM_EXIT_MSR_STORE_COUNT, 0x400E, 772, 4),
        F(VM_EXIT_MSR_LOAD_COUNT, 0x4010, 776, 4),
        K(VM_ENTRY_CONTROLS, 0x4012, 780, 4),
        F(VM_ENTRY_MSR_LOAD_COUNT, 0x4014, 784, 4),
        F(VM_ENTRY_INTR_INFO_FIELD, 0x4016, 788, 4),
        F(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x4018, 792, 4),
        F(VM_ENTRY_INSTRUCTION_LEN, 0x401A, 796, 4),
        F(TPR_THRESHOLD, 0x401C, 800, 4),
        K(SECONDARY_VM_EXEC_CONTROL, 0x401E, 804, 4),
        F(VM_INSTRUCTION_ERROR, 0x4400, 808, 4),
        K(VM_EXIT_REASON, 0x4402, 812, 4),
        F(VM_EXIT_INTR_INFO, 0x4404, 816, 4),
        F(VM_EXIT_INTR_ERROR_CODE, 0x4406, 820, 4),
        F(IDT_VECTORING_INFO_FIELD, 0x4408, 824, 4),
        F(IDT_VECTORING_ERROR_CODE, 0x440A, 828, 4),
        F(VM_EXIT_INSTRUCTION_LEN, 0x440C, 832, 4),
        F(VMX_INSTRUCTION_INFO, 0x440E, 836, 4),
        F(GUEST_ES_LIMIT, 0x4800, 840, 4),
        F(GUEST_CS_LIMIT, 0x4802, 844, 4),
        F(GUEST_SS_LIMIT, 0x4804, 848, 4),
        F(GUEST_DS_LIMIT, 0x4806, 852, 4),
        F(GUEST_FS_LIMIT, 0x4808, 856, 4),
        F(GUEST_GS_LIMIT, 0x480A, 860, 4),
        F(GUEST_LDTR_LIMIT, 0x480C, 864, 4),
        F(GUEST_TR_LIMIT, 0x480E, 868, 4),
        F(GUEST_GDTR_LIMIT, 0x4810, 872, 4),
        F(GUEST_IDTR_LIMIT, 0x4812, 876, 4),
        F(GUEST_ES_AR_BYTES, 0x4814, 880, 4),
        F(GUEST_CS_AR_BYTES, 0x4816, 884, 4),
        F(GUEST_SS_AR_BYTES, 0x4818, 888, 4),
        F(GUEST_DS_AR_BYTES, 0x481A, 892, 4),
        F(GUEST_FS_AR_BYTES, 0x481C, 896, 4),
        F(GUEST_GS_AR_BYTES, 0x481E, 900, 4),
        F(GUEST_LDTR_AR_BYTES, 0x4820, 904, 4),
        F(GUEST_TR_AR_BYTES, 0x4822, 908, 4),
        F(GUEST_INTERRUPTIBILITY_INFO, 0x4824, 912, 4),
        K(GUEST_ACTIVITY_STATE, 0x4826, 916, 4),
        F(GUEST_SYSENTER_CS, 0x482A, 920, 4),
        F(HOST_IA32_SYSENTER_CS, 0x4C00, 924, 4),
        F(VMX_PREEMPTION_TIMER_VALUE, 0x482E, 928, 4),
        K(VIRTUAL_PROCESSOR_ID, 0x0000, 960, 2),
        F(POSTED_INTR_NV, 0x0002, 962, 2),
        F(GUEST_ES_SELECTOR, 0x0800, 964, 2),
        K(GUEST_CS_SELECTOR, 0x0802, 966, 2),
        F(GUEST_SS_SELECTOR, 0x0804, 968, 2),
        F(GUEST_DS_SELECTOR, 0x0806, 970, 2),
        F(GUEST_FS_SELECTOR, 0x0808, 972, 2),
        F(GUEST_GS_SELECTOR, 0x080A, 974, 2),
        F(GUEST_LDTR_SELECTOR, 0x080C, 976, 2),
        F(GUEST_TR_SELECTOR, 0x080E, 978, 2),
        F(GUEST_INTR_STATUS, 0x0810, 980, 2),
        F(HOST_ES_SELECTOR, 0x0C00, 982, 2),
        F(HOST_CS_SELECTOR, 0x0C02, 984, 2),
        F(HOST_SS_SELECTOR, 0x0C04, 986, 2),
        F(HOST_DS_SELECTOR, 0x0C06, 988, 2),
        F(HOST_FS_SELECTOR, 0x0C08, 990, 2),
        F(HOST_GS_SELECTOR, 0x0C0A, 992, 2),
        F(HOST_TR_SELECTOR, 0x0C0C, 994, 2),
        F(GUEST_PML_INDEX, 0x0812, 996, 2),
};

/* vmcb12: control area at 0x000, save area (L1 state at VMRUN) at 0x400. */
static const NvField vmcb12_fields[] = {
        S("control.intercept_cr", 0x000, 4),
        S("control.intercept_dr", 0x004, 4),
        S("control.intercept_exceptions", 0x008, 4),
        S("control.intercept_word3", 0x00C, 4),
        SK("control.intercept_word4", 0x010, 4),
        S("control.intercept_word5", 0x014, 4),
        S("control.pause_filter_thresh", 0x03C, 2),
        S("control.pause_filter_count", 0x03E, 2),
        SK("control.iopm_base_pa", 0x040, 8),
        SK("control.msrpm_base_pa", 0x048, 8),
        S("control.tsc_offset", 0x050, 8),
        SK("control.asid", 0x058, 4),
        S("control.tlb_ctl", 0x05C, 1),
        SK("control.int_ctl", 0x060, 4),
        S("control.int_vector", 0x064, 4),
        S("control.int_state", 0x068, 4),
        SK("control.exit_code", 0x070, 4),
        S("control.exit_code_hi", 0x074, 4),
        S("control.exit_info_1", 0x078, 8),
        S("control.exit_info_2", 0x080, 8),
        S("control.exit_int_info", 0x088, 4),
        S("control.exit_int_info_err", 0x08C, 4),
        SK("control.nested_ctl", 0x090, 8),
        S("control.avic_vapic_bar", 0x098, 8),
        S("control.ghcb_gpa", 0x0A0, 8),
        S("control.event_inj", 0x0A8, 4),
        S("control.event_inj_err", 0x0AC, 4),
        SK("control.nested_cr3", 0x0B0, 8),
        S("control.virt_ext", 0x0B8, 8),
        S("control.clean", 0x0C0, 4),
        SK("control.next_rip", 0x0C8, 8),
        S("control.insn_len", 0x0D0, 1),
        S("save.es.selector", 0x400, 2),
        S("save.cs.selector", 0x410, 2),
        S("save.cs.attrib", 0x412, 2),
        S("save.cs.limit", 0x414, 4),
        S("save.cs.base", 0x418, 8),
        S("save.ss.selector", 0x420, 2),
        S("save.ds.selector", 0x430, 2),
        S("save.gdtr.limit", 0x464, 4),
        S("save.gdtr.base", 0x468, 8),
        S("save.idtr.limit", 0x484, 4),
        S("save.idtr.base", 0x488, 8),
        S("save.cpl", 0x4CB, 1),
        SK("save.efer", 0x4D0, 8),
        SK("save.cr4", 0x548, 8),
        SK("save.cr3", 0x550, 8),
        SK("save.cr0", 0x558, 8),
        S("save.dr7", 0x560, 8),
        S("save.dr6", 0x568, 8),
        SK("save.rflags", 0x570, 8),
        SK("save.rip", 0x578, 8),
        SK("save.rsp", 0x5D8, 8),
        S("save.rax", 0x5F8, 8),
        S("save.star", 0x600, 8),
        S("save.lstar", 0x608, 8),
        S("save.cstar", 0x610, 8),
        S("save.sfmask", 0x618, 8),
        S("save.kernel_gs_base", 0x620, 8),
        S("save.sysenter_cs", 0x628, 8),
        S("save.sysenter_esp", 0x630, 8),
        S("save.sysenter_eip", 0x638, 8),
        S("save.cr2", 0x640, 8),
        S("save.g_pat", 0x668, 8),
        S("save.dbgctl", 0x670, 8),
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
        unsigned long enc = ULONG_MAX;
        char *end = NULL;
        size_t n;

        t = nv_fields_table(format, &n);
        if (!t || !key)
                return NULL;
        if (strncasecmp(key, "0x", 2) == 0) {
                enc = strtoul(key + 2, &end, 16);
                if (end == key + 2 || *end != '\0')
                        enc = ULONG_MAX;
        }
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
