/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The facts header against the documented ABI: every bit and offset in
 * src/x86-arch.h must appear in docs/x86-facts.md with the same value, and
 * every row of the document must name a fact of the header.  The document's
 * numbers are typed independently (bit numbers, vmcb12 offsets of the save
 * area, decimal vmcs12 offsets, blob offsets), so a slip in either place
 * fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileio.h"
#include "nested-state.h"
#include "x86-arch.h"

/* The layouts fit the areas KVM gives them. */
_Static_assert(VMCS12_GUEST_PML_INDEX + 2 == NV_VMCS12_STRUCT_SIZE, "guest_pml_index is the last vmcs12 field");
_Static_assert(VMCB12_SAVE_AREA + VMCB_SAVE_AREA_COPIED <= NV_VMCB12_AREA_SIZE, "the save area fits the vmcb12");
_Static_assert(VMCB_CTL_INSN_LEN < VMCB_CTL_AREA_SIZE, "the control fields fit the control area");
_Static_assert((KVM_CR4_CPUID_UNGATED & ~KVM_CR4_BITS) == 0 && (KVM_EFER_CPUID_UNGATED & ~KVM_EFER_BITS) == 0,
               "what needs no CPUID feature is still a bit KVM knows");

typedef enum Kind { BIT, VMCB_CTL, VMCB_SAVE, VMCS12 } Kind;

static const struct Fact {
        const char *name;
        Kind kind;
        uint64_t value;
} facts[] = {
        { "X86_CR0_PE", BIT, X86_CR0_PE },
        { "X86_CR0_MP", BIT, X86_CR0_MP },
        { "X86_CR0_EM", BIT, X86_CR0_EM },
        { "X86_CR0_TS", BIT, X86_CR0_TS },
        { "X86_CR0_ET", BIT, X86_CR0_ET },
        { "X86_CR0_NE", BIT, X86_CR0_NE },
        { "X86_CR0_WP", BIT, X86_CR0_WP },
        { "X86_CR0_AM", BIT, X86_CR0_AM },
        { "X86_CR0_NW", BIT, X86_CR0_NW },
        { "X86_CR0_CD", BIT, X86_CR0_CD },
        { "X86_CR0_PG", BIT, X86_CR0_PG },
        { "X86_CR4_VME", BIT, X86_CR4_VME },
        { "X86_CR4_PVI", BIT, X86_CR4_PVI },
        { "X86_CR4_TSD", BIT, X86_CR4_TSD },
        { "X86_CR4_DE", BIT, X86_CR4_DE },
        { "X86_CR4_PSE", BIT, X86_CR4_PSE },
        { "X86_CR4_PAE", BIT, X86_CR4_PAE },
        { "X86_CR4_MCE", BIT, X86_CR4_MCE },
        { "X86_CR4_PGE", BIT, X86_CR4_PGE },
        { "X86_CR4_PCE", BIT, X86_CR4_PCE },
        { "X86_CR4_OSFXSR", BIT, X86_CR4_OSFXSR },
        { "X86_CR4_OSXMMEXCPT", BIT, X86_CR4_OSXMMEXCPT },
        { "X86_CR4_UMIP", BIT, X86_CR4_UMIP },
        { "X86_CR4_LA57", BIT, X86_CR4_LA57 },
        { "X86_CR4_VMXE", BIT, X86_CR4_VMXE },
        { "X86_CR4_SMXE", BIT, X86_CR4_SMXE },
        { "X86_CR4_FSGSBASE", BIT, X86_CR4_FSGSBASE },
        { "X86_CR4_PCIDE", BIT, X86_CR4_PCIDE },
        { "X86_CR4_OSXSAVE", BIT, X86_CR4_OSXSAVE },
        { "X86_CR4_KL", BIT, X86_CR4_KL },
        { "X86_CR4_SMEP", BIT, X86_CR4_SMEP },
        { "X86_CR4_SMAP", BIT, X86_CR4_SMAP },
        { "X86_CR4_PKE", BIT, X86_CR4_PKE },
        { "X86_CR4_CET", BIT, X86_CR4_CET },
        { "X86_CR4_PKS", BIT, X86_CR4_PKS },
        { "X86_CR4_LAM_SUP", BIT, X86_CR4_LAM_SUP },
        { "X86_CR4_FRED", BIT, X86_CR4_FRED },
        { "X86_EFER_SCE", BIT, X86_EFER_SCE },
        { "X86_EFER_LME", BIT, X86_EFER_LME },
        { "X86_EFER_LMA", BIT, X86_EFER_LMA },
        { "X86_EFER_NX", BIT, X86_EFER_NX },
        { "X86_EFER_SVME", BIT, X86_EFER_SVME },
        { "X86_EFER_LMSLE", BIT, X86_EFER_LMSLE },
        { "X86_EFER_FFXSR", BIT, X86_EFER_FFXSR },
        { "X86_EFER_TCE", BIT, X86_EFER_TCE },
        { "X86_EFER_MCOMMIT", BIT, X86_EFER_MCOMMIT },
        { "X86_EFER_INTWB", BIT, X86_EFER_INTWB },
        { "X86_EFER_AUTOIBRS", BIT, X86_EFER_AUTOIBRS },
        { "X86_EFLAGS_FIXED", BIT, X86_EFLAGS_FIXED },
        { "X86_EFLAGS_IF", BIT, X86_EFLAGS_IF },
        { "X86_EFLAGS_VM", BIT, X86_EFLAGS_VM },
        { "VMCB_CTL_INTERCEPT_CR", VMCB_CTL, VMCB_CTL_INTERCEPT_CR },
        { "VMCB_CTL_INTERCEPT_DR", VMCB_CTL, VMCB_CTL_INTERCEPT_DR },
        { "VMCB_CTL_INTERCEPT_EXCEPTIONS", VMCB_CTL, VMCB_CTL_INTERCEPT_EXCEPTIONS },
        { "VMCB_CTL_INTERCEPT_WORD3", VMCB_CTL, VMCB_CTL_INTERCEPT_WORD3 },
        { "VMCB_CTL_INTERCEPT_WORD4", VMCB_CTL, VMCB_CTL_INTERCEPT_WORD4 },
        { "VMCB_CTL_INTERCEPT_WORD5", VMCB_CTL, VMCB_CTL_INTERCEPT_WORD5 },
        { "VMCB_CTL_PAUSE_FILTER_THRESH", VMCB_CTL, VMCB_CTL_PAUSE_FILTER_THRESH },
        { "VMCB_CTL_PAUSE_FILTER_COUNT", VMCB_CTL, VMCB_CTL_PAUSE_FILTER_COUNT },
        { "VMCB_CTL_IOPM_BASE_PA", VMCB_CTL, VMCB_CTL_IOPM_BASE_PA },
        { "VMCB_CTL_MSRPM_BASE_PA", VMCB_CTL, VMCB_CTL_MSRPM_BASE_PA },
        { "VMCB_CTL_TSC_OFFSET", VMCB_CTL, VMCB_CTL_TSC_OFFSET },
        { "VMCB_CTL_ASID", VMCB_CTL, VMCB_CTL_ASID },
        { "VMCB_CTL_TLB_CTL", VMCB_CTL, VMCB_CTL_TLB_CTL },
        { "VMCB_CTL_INT_CTL", VMCB_CTL, VMCB_CTL_INT_CTL },
        { "VMCB_CTL_INT_VECTOR", VMCB_CTL, VMCB_CTL_INT_VECTOR },
        { "VMCB_CTL_INT_STATE", VMCB_CTL, VMCB_CTL_INT_STATE },
        { "VMCB_CTL_EXIT_CODE", VMCB_CTL, VMCB_CTL_EXIT_CODE },
        { "VMCB_CTL_EXIT_CODE_HI", VMCB_CTL, VMCB_CTL_EXIT_CODE_HI },
        { "VMCB_CTL_EXIT_INFO_1", VMCB_CTL, VMCB_CTL_EXIT_INFO_1 },
        { "VMCB_CTL_EXIT_INFO_2", VMCB_CTL, VMCB_CTL_EXIT_INFO_2 },
        { "VMCB_CTL_EXIT_INT_INFO", VMCB_CTL, VMCB_CTL_EXIT_INT_INFO },
        { "VMCB_CTL_EXIT_INT_INFO_ERR", VMCB_CTL, VMCB_CTL_EXIT_INT_INFO_ERR },
        { "VMCB_CTL_NESTED_CTL", VMCB_CTL, VMCB_CTL_NESTED_CTL },
        { "VMCB_CTL_AVIC_VAPIC_BAR", VMCB_CTL, VMCB_CTL_AVIC_VAPIC_BAR },
        { "VMCB_CTL_GHCB_GPA", VMCB_CTL, VMCB_CTL_GHCB_GPA },
        { "VMCB_CTL_EVENT_INJ", VMCB_CTL, VMCB_CTL_EVENT_INJ },
        { "VMCB_CTL_EVENT_INJ_ERR", VMCB_CTL, VMCB_CTL_EVENT_INJ_ERR },
        { "VMCB_CTL_NESTED_CR3", VMCB_CTL, VMCB_CTL_NESTED_CR3 },
        { "VMCB_CTL_VIRT_EXT", VMCB_CTL, VMCB_CTL_VIRT_EXT },
        { "VMCB_CTL_CLEAN", VMCB_CTL, VMCB_CTL_CLEAN },
        { "VMCB_CTL_NEXT_RIP", VMCB_CTL, VMCB_CTL_NEXT_RIP },
        { "VMCB_CTL_INSN_LEN", VMCB_CTL, VMCB_CTL_INSN_LEN },
        { "VMCB_SAVE_ES", VMCB_SAVE, VMCB_SAVE_ES },
        { "VMCB_SAVE_CS", VMCB_SAVE, VMCB_SAVE_CS },
        { "VMCB_SAVE_SS", VMCB_SAVE, VMCB_SAVE_SS },
        { "VMCB_SAVE_DS", VMCB_SAVE, VMCB_SAVE_DS },
        { "VMCB_SAVE_FS", VMCB_SAVE, VMCB_SAVE_FS },
        { "VMCB_SAVE_GS", VMCB_SAVE, VMCB_SAVE_GS },
        { "VMCB_SAVE_GDTR", VMCB_SAVE, VMCB_SAVE_GDTR },
        { "VMCB_SAVE_LDTR", VMCB_SAVE, VMCB_SAVE_LDTR },
        { "VMCB_SAVE_IDTR", VMCB_SAVE, VMCB_SAVE_IDTR },
        { "VMCB_SAVE_TR", VMCB_SAVE, VMCB_SAVE_TR },
        { "VMCB_SAVE_CPL", VMCB_SAVE, VMCB_SAVE_CPL },
        { "VMCB_SAVE_EFER", VMCB_SAVE, VMCB_SAVE_EFER },
        { "VMCB_SAVE_CR4", VMCB_SAVE, VMCB_SAVE_CR4 },
        { "VMCB_SAVE_CR3", VMCB_SAVE, VMCB_SAVE_CR3 },
        { "VMCB_SAVE_CR0", VMCB_SAVE, VMCB_SAVE_CR0 },
        { "VMCB_SAVE_DR7", VMCB_SAVE, VMCB_SAVE_DR7 },
        { "VMCB_SAVE_DR6", VMCB_SAVE, VMCB_SAVE_DR6 },
        { "VMCB_SAVE_RFLAGS", VMCB_SAVE, VMCB_SAVE_RFLAGS },
        { "VMCB_SAVE_RIP", VMCB_SAVE, VMCB_SAVE_RIP },
        { "VMCB_SAVE_RSP", VMCB_SAVE, VMCB_SAVE_RSP },
        { "VMCB_SAVE_RAX", VMCB_SAVE, VMCB_SAVE_RAX },
        { "VMCB_SAVE_STAR", VMCB_SAVE, VMCB_SAVE_STAR },
        { "VMCB_SAVE_LSTAR", VMCB_SAVE, VMCB_SAVE_LSTAR },
        { "VMCB_SAVE_CSTAR", VMCB_SAVE, VMCB_SAVE_CSTAR },
        { "VMCB_SAVE_SFMASK", VMCB_SAVE, VMCB_SAVE_SFMASK },
        { "VMCB_SAVE_KERNEL_GS_BASE", VMCB_SAVE, VMCB_SAVE_KERNEL_GS_BASE },
        { "VMCB_SAVE_SYSENTER_CS", VMCB_SAVE, VMCB_SAVE_SYSENTER_CS },
        { "VMCB_SAVE_SYSENTER_ESP", VMCB_SAVE, VMCB_SAVE_SYSENTER_ESP },
        { "VMCB_SAVE_SYSENTER_EIP", VMCB_SAVE, VMCB_SAVE_SYSENTER_EIP },
        { "VMCB_SAVE_CR2", VMCB_SAVE, VMCB_SAVE_CR2 },
        { "VMCB_SAVE_G_PAT", VMCB_SAVE, VMCB_SAVE_G_PAT },
        { "VMCB_SAVE_DBGCTL", VMCB_SAVE, VMCB_SAVE_DBGCTL },
        { "VMCS12_REVISION_ID", VMCS12, VMCS12_REVISION_ID },
        { "VMCS12_VMX_ABORT", VMCS12, VMCS12_VMX_ABORT },
        { "VMCS12_LAUNCH_STATE", VMCS12, VMCS12_LAUNCH_STATE },
        { "VMCS12_IO_BITMAP_A", VMCS12, VMCS12_IO_BITMAP_A },
        { "VMCS12_IO_BITMAP_B", VMCS12, VMCS12_IO_BITMAP_B },
        { "VMCS12_MSR_BITMAP", VMCS12, VMCS12_MSR_BITMAP },
        { "VMCS12_VM_EXIT_MSR_STORE_ADDR", VMCS12, VMCS12_VM_EXIT_MSR_STORE_ADDR },
        { "VMCS12_VM_EXIT_MSR_LOAD_ADDR", VMCS12, VMCS12_VM_EXIT_MSR_LOAD_ADDR },
        { "VMCS12_VM_ENTRY_MSR_LOAD_ADDR", VMCS12, VMCS12_VM_ENTRY_MSR_LOAD_ADDR },
        { "VMCS12_TSC_OFFSET", VMCS12, VMCS12_TSC_OFFSET },
        { "VMCS12_VIRTUAL_APIC_PAGE_ADDR", VMCS12, VMCS12_VIRTUAL_APIC_PAGE_ADDR },
        { "VMCS12_APIC_ACCESS_ADDR", VMCS12, VMCS12_APIC_ACCESS_ADDR },
        { "VMCS12_POSTED_INTR_DESC_ADDR", VMCS12, VMCS12_POSTED_INTR_DESC_ADDR },
        { "VMCS12_EPT_POINTER", VMCS12, VMCS12_EPT_POINTER },
        { "VMCS12_EOI_EXIT_BITMAP0", VMCS12, VMCS12_EOI_EXIT_BITMAP0 },
        { "VMCS12_EOI_EXIT_BITMAP1", VMCS12, VMCS12_EOI_EXIT_BITMAP1 },
        { "VMCS12_EOI_EXIT_BITMAP2", VMCS12, VMCS12_EOI_EXIT_BITMAP2 },
        { "VMCS12_EOI_EXIT_BITMAP3", VMCS12, VMCS12_EOI_EXIT_BITMAP3 },
        { "VMCS12_XSS_EXIT_BITMAP", VMCS12, VMCS12_XSS_EXIT_BITMAP },
        { "VMCS12_GUEST_PHYSICAL_ADDRESS", VMCS12, VMCS12_GUEST_PHYSICAL_ADDRESS },
        { "VMCS12_VMCS_LINK_POINTER", VMCS12, VMCS12_VMCS_LINK_POINTER },
        { "VMCS12_GUEST_IA32_DEBUGCTL", VMCS12, VMCS12_GUEST_IA32_DEBUGCTL },
        { "VMCS12_GUEST_IA32_PAT", VMCS12, VMCS12_GUEST_IA32_PAT },
        { "VMCS12_GUEST_IA32_EFER", VMCS12, VMCS12_GUEST_IA32_EFER },
        { "VMCS12_GUEST_IA32_PERF_GLOBAL_CTRL", VMCS12, VMCS12_GUEST_IA32_PERF_GLOBAL_CTRL },
        { "VMCS12_GUEST_PDPTR0", VMCS12, VMCS12_GUEST_PDPTR0 },
        { "VMCS12_GUEST_PDPTR1", VMCS12, VMCS12_GUEST_PDPTR1 },
        { "VMCS12_GUEST_PDPTR2", VMCS12, VMCS12_GUEST_PDPTR2 },
        { "VMCS12_GUEST_PDPTR3", VMCS12, VMCS12_GUEST_PDPTR3 },
        { "VMCS12_GUEST_BNDCFGS", VMCS12, VMCS12_GUEST_BNDCFGS },
        { "VMCS12_HOST_IA32_PAT", VMCS12, VMCS12_HOST_IA32_PAT },
        { "VMCS12_HOST_IA32_EFER", VMCS12, VMCS12_HOST_IA32_EFER },
        { "VMCS12_HOST_IA32_PERF_GLOBAL_CTRL", VMCS12, VMCS12_HOST_IA32_PERF_GLOBAL_CTRL },
        { "VMCS12_VMREAD_BITMAP", VMCS12, VMCS12_VMREAD_BITMAP },
        { "VMCS12_VMWRITE_BITMAP", VMCS12, VMCS12_VMWRITE_BITMAP },
        { "VMCS12_VM_FUNCTION_CONTROL", VMCS12, VMCS12_VM_FUNCTION_CONTROL },
        { "VMCS12_EPTP_LIST_ADDRESS", VMCS12, VMCS12_EPTP_LIST_ADDRESS },
        { "VMCS12_PML_ADDRESS", VMCS12, VMCS12_PML_ADDRESS },
        { "VMCS12_ENCLS_EXITING_BITMAP", VMCS12, VMCS12_ENCLS_EXITING_BITMAP },
        { "VMCS12_TSC_MULTIPLIER", VMCS12, VMCS12_TSC_MULTIPLIER },
        { "VMCS12_CR0_GUEST_HOST_MASK", VMCS12, VMCS12_CR0_GUEST_HOST_MASK },
        { "VMCS12_CR4_GUEST_HOST_MASK", VMCS12, VMCS12_CR4_GUEST_HOST_MASK },
        { "VMCS12_CR0_READ_SHADOW", VMCS12, VMCS12_CR0_READ_SHADOW },
        { "VMCS12_CR4_READ_SHADOW", VMCS12, VMCS12_CR4_READ_SHADOW },
        { "VMCS12_EXIT_QUALIFICATION", VMCS12, VMCS12_EXIT_QUALIFICATION },
        { "VMCS12_GUEST_LINEAR_ADDRESS", VMCS12, VMCS12_GUEST_LINEAR_ADDRESS },
        { "VMCS12_GUEST_CR0", VMCS12, VMCS12_GUEST_CR0 },
        { "VMCS12_GUEST_CR3", VMCS12, VMCS12_GUEST_CR3 },
        { "VMCS12_GUEST_CR4", VMCS12, VMCS12_GUEST_CR4 },
        { "VMCS12_GUEST_ES_BASE", VMCS12, VMCS12_GUEST_ES_BASE },
        { "VMCS12_GUEST_CS_BASE", VMCS12, VMCS12_GUEST_CS_BASE },
        { "VMCS12_GUEST_SS_BASE", VMCS12, VMCS12_GUEST_SS_BASE },
        { "VMCS12_GUEST_DS_BASE", VMCS12, VMCS12_GUEST_DS_BASE },
        { "VMCS12_GUEST_FS_BASE", VMCS12, VMCS12_GUEST_FS_BASE },
        { "VMCS12_GUEST_GS_BASE", VMCS12, VMCS12_GUEST_GS_BASE },
        { "VMCS12_GUEST_LDTR_BASE", VMCS12, VMCS12_GUEST_LDTR_BASE },
        { "VMCS12_GUEST_TR_BASE", VMCS12, VMCS12_GUEST_TR_BASE },
        { "VMCS12_GUEST_GDTR_BASE", VMCS12, VMCS12_GUEST_GDTR_BASE },
        { "VMCS12_GUEST_IDTR_BASE", VMCS12, VMCS12_GUEST_IDTR_BASE },
        { "VMCS12_GUEST_DR7", VMCS12, VMCS12_GUEST_DR7 },
        { "VMCS12_GUEST_RSP", VMCS12, VMCS12_GUEST_RSP },
        { "VMCS12_GUEST_RIP", VMCS12, VMCS12_GUEST_RIP },
        { "VMCS12_GUEST_RFLAGS", VMCS12, VMCS12_GUEST_RFLAGS },
        { "VMCS12_GUEST_PENDING_DBG_EXCEPTIONS", VMCS12, VMCS12_GUEST_PENDING_DBG_EXCEPTIONS },
        { "VMCS12_GUEST_SYSENTER_ESP", VMCS12, VMCS12_GUEST_SYSENTER_ESP },
        { "VMCS12_GUEST_SYSENTER_EIP", VMCS12, VMCS12_GUEST_SYSENTER_EIP },
        { "VMCS12_HOST_CR0", VMCS12, VMCS12_HOST_CR0 },
        { "VMCS12_HOST_CR3", VMCS12, VMCS12_HOST_CR3 },
        { "VMCS12_HOST_CR4", VMCS12, VMCS12_HOST_CR4 },
        { "VMCS12_HOST_FS_BASE", VMCS12, VMCS12_HOST_FS_BASE },
        { "VMCS12_HOST_GS_BASE", VMCS12, VMCS12_HOST_GS_BASE },
        { "VMCS12_HOST_TR_BASE", VMCS12, VMCS12_HOST_TR_BASE },
        { "VMCS12_HOST_GDTR_BASE", VMCS12, VMCS12_HOST_GDTR_BASE },
        { "VMCS12_HOST_IDTR_BASE", VMCS12, VMCS12_HOST_IDTR_BASE },
        { "VMCS12_HOST_IA32_SYSENTER_ESP", VMCS12, VMCS12_HOST_IA32_SYSENTER_ESP },
        { "VMCS12_HOST_IA32_SYSENTER_EIP", VMCS12, VMCS12_HOST_IA32_SYSENTER_EIP },
        { "VMCS12_HOST_RSP", VMCS12, VMCS12_HOST_RSP },
        { "VMCS12_HOST_RIP", VMCS12, VMCS12_HOST_RIP },
        { "VMCS12_HOST_S_CET", VMCS12, VMCS12_HOST_S_CET },
        { "VMCS12_HOST_SSP", VMCS12, VMCS12_HOST_SSP },
        { "VMCS12_HOST_INTR_SSP_TABLE", VMCS12, VMCS12_HOST_INTR_SSP_TABLE },
        { "VMCS12_GUEST_S_CET", VMCS12, VMCS12_GUEST_S_CET },
        { "VMCS12_GUEST_SSP", VMCS12, VMCS12_GUEST_SSP },
        { "VMCS12_GUEST_INTR_SSP_TABLE", VMCS12, VMCS12_GUEST_INTR_SSP_TABLE },
        { "VMCS12_PIN_BASED_VM_EXEC_CONTROL", VMCS12, VMCS12_PIN_BASED_VM_EXEC_CONTROL },
        { "VMCS12_CPU_BASED_VM_EXEC_CONTROL", VMCS12, VMCS12_CPU_BASED_VM_EXEC_CONTROL },
        { "VMCS12_EXCEPTION_BITMAP", VMCS12, VMCS12_EXCEPTION_BITMAP },
        { "VMCS12_PAGE_FAULT_ERROR_CODE_MASK", VMCS12, VMCS12_PAGE_FAULT_ERROR_CODE_MASK },
        { "VMCS12_PAGE_FAULT_ERROR_CODE_MATCH", VMCS12, VMCS12_PAGE_FAULT_ERROR_CODE_MATCH },
        { "VMCS12_CR3_TARGET_COUNT", VMCS12, VMCS12_CR3_TARGET_COUNT },
        { "VMCS12_VM_EXIT_CONTROLS", VMCS12, VMCS12_VM_EXIT_CONTROLS },
        { "VMCS12_VM_EXIT_MSR_STORE_COUNT", VMCS12, VMCS12_VM_EXIT_MSR_STORE_COUNT },
        { "VMCS12_VM_EXIT_MSR_LOAD_COUNT", VMCS12, VMCS12_VM_EXIT_MSR_LOAD_COUNT },
        { "VMCS12_VM_ENTRY_CONTROLS", VMCS12, VMCS12_VM_ENTRY_CONTROLS },
        { "VMCS12_VM_ENTRY_MSR_LOAD_COUNT", VMCS12, VMCS12_VM_ENTRY_MSR_LOAD_COUNT },
        { "VMCS12_VM_ENTRY_INTR_INFO_FIELD", VMCS12, VMCS12_VM_ENTRY_INTR_INFO_FIELD },
        { "VMCS12_VM_ENTRY_EXCEPTION_ERROR_CODE", VMCS12, VMCS12_VM_ENTRY_EXCEPTION_ERROR_CODE },
        { "VMCS12_VM_ENTRY_INSTRUCTION_LEN", VMCS12, VMCS12_VM_ENTRY_INSTRUCTION_LEN },
        { "VMCS12_TPR_THRESHOLD", VMCS12, VMCS12_TPR_THRESHOLD },
        { "VMCS12_SECONDARY_VM_EXEC_CONTROL", VMCS12, VMCS12_SECONDARY_VM_EXEC_CONTROL },
        { "VMCS12_VM_INSTRUCTION_ERROR", VMCS12, VMCS12_VM_INSTRUCTION_ERROR },
        { "VMCS12_VM_EXIT_REASON", VMCS12, VMCS12_VM_EXIT_REASON },
        { "VMCS12_VM_EXIT_INTR_INFO", VMCS12, VMCS12_VM_EXIT_INTR_INFO },
        { "VMCS12_VM_EXIT_INTR_ERROR_CODE", VMCS12, VMCS12_VM_EXIT_INTR_ERROR_CODE },
        { "VMCS12_IDT_VECTORING_INFO_FIELD", VMCS12, VMCS12_IDT_VECTORING_INFO_FIELD },
        { "VMCS12_IDT_VECTORING_ERROR_CODE", VMCS12, VMCS12_IDT_VECTORING_ERROR_CODE },
        { "VMCS12_VM_EXIT_INSTRUCTION_LEN", VMCS12, VMCS12_VM_EXIT_INSTRUCTION_LEN },
        { "VMCS12_VMX_INSTRUCTION_INFO", VMCS12, VMCS12_VMX_INSTRUCTION_INFO },
        { "VMCS12_GUEST_ES_LIMIT", VMCS12, VMCS12_GUEST_ES_LIMIT },
        { "VMCS12_GUEST_CS_LIMIT", VMCS12, VMCS12_GUEST_CS_LIMIT },
        { "VMCS12_GUEST_SS_LIMIT", VMCS12, VMCS12_GUEST_SS_LIMIT },
        { "VMCS12_GUEST_DS_LIMIT", VMCS12, VMCS12_GUEST_DS_LIMIT },
        { "VMCS12_GUEST_FS_LIMIT", VMCS12, VMCS12_GUEST_FS_LIMIT },
        { "VMCS12_GUEST_GS_LIMIT", VMCS12, VMCS12_GUEST_GS_LIMIT },
        { "VMCS12_GUEST_LDTR_LIMIT", VMCS12, VMCS12_GUEST_LDTR_LIMIT },
        { "VMCS12_GUEST_TR_LIMIT", VMCS12, VMCS12_GUEST_TR_LIMIT },
        { "VMCS12_GUEST_GDTR_LIMIT", VMCS12, VMCS12_GUEST_GDTR_LIMIT },
        { "VMCS12_GUEST_IDTR_LIMIT", VMCS12, VMCS12_GUEST_IDTR_LIMIT },
        { "VMCS12_GUEST_ES_AR_BYTES", VMCS12, VMCS12_GUEST_ES_AR_BYTES },
        { "VMCS12_GUEST_CS_AR_BYTES", VMCS12, VMCS12_GUEST_CS_AR_BYTES },
        { "VMCS12_GUEST_SS_AR_BYTES", VMCS12, VMCS12_GUEST_SS_AR_BYTES },
        { "VMCS12_GUEST_DS_AR_BYTES", VMCS12, VMCS12_GUEST_DS_AR_BYTES },
        { "VMCS12_GUEST_FS_AR_BYTES", VMCS12, VMCS12_GUEST_FS_AR_BYTES },
        { "VMCS12_GUEST_GS_AR_BYTES", VMCS12, VMCS12_GUEST_GS_AR_BYTES },
        { "VMCS12_GUEST_LDTR_AR_BYTES", VMCS12, VMCS12_GUEST_LDTR_AR_BYTES },
        { "VMCS12_GUEST_TR_AR_BYTES", VMCS12, VMCS12_GUEST_TR_AR_BYTES },
        { "VMCS12_GUEST_INTERRUPTIBILITY_INFO", VMCS12, VMCS12_GUEST_INTERRUPTIBILITY_INFO },
        { "VMCS12_GUEST_ACTIVITY_STATE", VMCS12, VMCS12_GUEST_ACTIVITY_STATE },
        { "VMCS12_GUEST_SYSENTER_CS", VMCS12, VMCS12_GUEST_SYSENTER_CS },
        { "VMCS12_HOST_IA32_SYSENTER_CS", VMCS12, VMCS12_HOST_IA32_SYSENTER_CS },
        { "VMCS12_VMX_PREEMPTION_TIMER_VALUE", VMCS12, VMCS12_VMX_PREEMPTION_TIMER_VALUE },
        { "VMCS12_VIRTUAL_PROCESSOR_ID", VMCS12, VMCS12_VIRTUAL_PROCESSOR_ID },
        { "VMCS12_POSTED_INTR_NV", VMCS12, VMCS12_POSTED_INTR_NV },
        { "VMCS12_GUEST_ES_SELECTOR", VMCS12, VMCS12_GUEST_ES_SELECTOR },
        { "VMCS12_GUEST_CS_SELECTOR", VMCS12, VMCS12_GUEST_CS_SELECTOR },
        { "VMCS12_GUEST_SS_SELECTOR", VMCS12, VMCS12_GUEST_SS_SELECTOR },
        { "VMCS12_GUEST_DS_SELECTOR", VMCS12, VMCS12_GUEST_DS_SELECTOR },
        { "VMCS12_GUEST_FS_SELECTOR", VMCS12, VMCS12_GUEST_FS_SELECTOR },
        { "VMCS12_GUEST_GS_SELECTOR", VMCS12, VMCS12_GUEST_GS_SELECTOR },
        { "VMCS12_GUEST_LDTR_SELECTOR", VMCS12, VMCS12_GUEST_LDTR_SELECTOR },
        { "VMCS12_GUEST_TR_SELECTOR", VMCS12, VMCS12_GUEST_TR_SELECTOR },
        { "VMCS12_GUEST_INTR_STATUS", VMCS12, VMCS12_GUEST_INTR_STATUS },
        { "VMCS12_HOST_ES_SELECTOR", VMCS12, VMCS12_HOST_ES_SELECTOR },
        { "VMCS12_HOST_CS_SELECTOR", VMCS12, VMCS12_HOST_CS_SELECTOR },
        { "VMCS12_HOST_SS_SELECTOR", VMCS12, VMCS12_HOST_SS_SELECTOR },
        { "VMCS12_HOST_DS_SELECTOR", VMCS12, VMCS12_HOST_DS_SELECTOR },
        { "VMCS12_HOST_FS_SELECTOR", VMCS12, VMCS12_HOST_FS_SELECTOR },
        { "VMCS12_HOST_GS_SELECTOR", VMCS12, VMCS12_HOST_GS_SELECTOR },
        { "VMCS12_HOST_TR_SELECTOR", VMCS12, VMCS12_HOST_TR_SELECTOR },
        { "VMCS12_GUEST_PML_INDEX", VMCS12, VMCS12_GUEST_PML_INDEX },
};

static const char *facts_path;

static const struct Fact *fact_find(const char *name, size_t len) {
        for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
                if (strlen(facts[i].name) == len && strncmp(facts[i].name, name, len) == 0)
                        return &facts[i];
        return NULL;
}

/* What the document's columns must say for f: a bit number, or an offset and the blob offset. */
static void fact_expect(const struct Fact *f, uint64_t *ret_col1, uint64_t *ret_col2) {
        switch (f->kind) {
        case BIT:
                *ret_col1 = (uint64_t) __builtin_ctzll(f->value);
                assert_int_equal(f->value, 1ull << *ret_col1); /* one bit */
                *ret_col2 = UINT64_MAX;
                return;
        case VMCB_SAVE:
                *ret_col1 = VMCB12_SAVE_AREA + f->value;
                break;
        default:
                *ret_col1 = f->value;
                break;
        }
        *ret_col2 = *ret_col1 + NV_OFF_DATA;
}

/* Checks one "| `NAME` | a | b |" row; returns the fact it names. */
static const struct Fact *check_row(const char *line) {
        const char *name = line + 3, *end = strchr(name, '`'), *p;
        const struct Fact *f;
        uint64_t want1, want2, got1, got2 = UINT64_MAX;
        char *e;

        assert_non_null(end);
        f = fact_find(name, (size_t) (end - name));
        if (!f)
                fail_msg("docs/x86-facts.md names %.*s, which src/x86-arch.h does not have", (int) (end - name), name);
        fact_expect(f, &want1, &want2);
        p = strchr(end, '|') + 1;
        got1 = strtoull(p, &e, 0);
        if (f->kind != BIT)
                got2 = strtoull(strchr(e, '|') + 1, NULL, 0);
        if (got1 != want1 || got2 != want2)
                fail_msg("%s: the header says %#llx (blob %#llx), docs/x86-facts.md says %#llx (blob %#llx)", f->name,
                         (unsigned long long) want1, (unsigned long long) want2, (unsigned long long) got1,
                         (unsigned long long) got2);
        return f;
}

static void test_header_matches_document(void **state) {
        bool seen[sizeof(facts) / sizeof(facts[0])] = {};
        uint8_t *buf = NULL;
        char *text, *line, *save = NULL;
        size_t len, n_rows = 0;

        assert_int_equal(nv_file_read(facts_path, 1u << 20, &buf, &len, NULL), 0);
        text = strndup((const char *) buf, len);
        assert_non_null(text);
        free(buf);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "| `", 3) != 0)
                        continue;
                seen[check_row(line) - facts] = true;
                n_rows++;
        }
        for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
                if (!seen[i])
                        fail_msg("%s is in src/x86-arch.h but not in docs/x86-facts.md", facts[i].name);
        assert_int_equal(n_rows, sizeof(facts) / sizeof(facts[0]));
        free(text);
}

/* Every bit KVM knows is either free to set or gated by a CPUID feature, and never both. */
static void test_cpuid_gates_cover_kvm_bits(void **state) {
        uint64_t cr4 = 0, efer = 0;

#define GATE(is_efer, bits, feature) *((is_efer) ? &efer : &cr4) |= (bits);
        X86_CPUID_GATES(GATE)
#undef GATE
        assert_int_equal(cr4 & KVM_CR4_CPUID_UNGATED, 0);
        assert_int_equal(efer & KVM_EFER_CPUID_UNGATED, 0);
        assert_int_equal(cr4 | KVM_CR4_CPUID_UNGATED, KVM_CR4_BITS);
        assert_int_equal(efer | KVM_EFER_CPUID_UNGATED, KVM_EFER_BITS);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_matches_document),
                cmocka_unit_test(test_cpuid_gates_cover_kvm_bits),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s DOCS/X86-FACTS.MD\n", argv[0]);
                return 2;
        }
        facts_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
