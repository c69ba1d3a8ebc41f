/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The x86 architectural facts nestvirt relies on, in one place: control
 * register, EFER and RFLAGS bits, the MSRs a VMM saves, the CPUID features
 * that gate CR4/EFER bits, and the layouts of vmcb12 (AMD APM vol. 2,
 * appendix B) and vmcs12 (KVM's frozen, packed struct vmcs12) as named
 * offsets.  The field decoder, the validator, the simulator, the ioctl
 * path, the demo, the reference VMM and its guest code, and the tests all
 * take their numbers from here; docs/x86-facts.md documents the same
 * values and tests/test-x86-arch.c checks that the two agree.
 *
 * The rules (what KVM accepts) are not here: the validator and the
 * simulator state them independently, from these shared facts.
 *
 * Plain numbers only above the C section, so that the guest's assembly
 * (tests/vmm/guest-svm-code.S) can include this header too.  Not
 * installed: the names follow the kernel's, not our nv_ prefix.
 */
#pragma once

#ifdef __ASSEMBLER__
#define X86_BIT(n) (1 << (n))
#else
#define X86_BIT(n) (1ULL << (n))
#endif

/* CR0 */
#define X86_CR0_PE X86_BIT(0)  /* protection enable */
#define X86_CR0_MP X86_BIT(1)
#define X86_CR0_EM X86_BIT(2)
#define X86_CR0_TS X86_BIT(3)
#define X86_CR0_ET X86_BIT(4)  /* extension type: always 1 */
#define X86_CR0_NE X86_BIT(5)
#define X86_CR0_WP X86_BIT(16)
#define X86_CR0_AM X86_BIT(18)
#define X86_CR0_NW X86_BIT(29) /* not write-through */
#define X86_CR0_CD X86_BIT(30) /* cache disable */
#define X86_CR0_PG X86_BIT(31) /* paging */

/* CR4 */
#define X86_CR4_VME X86_BIT(0)
#define X86_CR4_PVI X86_BIT(1)
#define X86_CR4_TSD X86_BIT(2)
#define X86_CR4_DE X86_BIT(3)
#define X86_CR4_PSE X86_BIT(4)
#define X86_CR4_PAE X86_BIT(5)
#define X86_CR4_MCE X86_BIT(6)
#define X86_CR4_PGE X86_BIT(7)
#define X86_CR4_PCE X86_BIT(8)
#define X86_CR4_OSFXSR X86_BIT(9)
#define X86_CR4_OSXMMEXCPT X86_BIT(10)
#define X86_CR4_UMIP X86_BIT(11)
#define X86_CR4_LA57 X86_BIT(12)
#define X86_CR4_VMXE X86_BIT(13)
#define X86_CR4_SMXE X86_BIT(14)
#define X86_CR4_FSGSBASE X86_BIT(16)
#define X86_CR4_PCIDE X86_BIT(17)
#define X86_CR4_OSXSAVE X86_BIT(18)
#define X86_CR4_KL X86_BIT(19)
#define X86_CR4_SMEP X86_BIT(20)
#define X86_CR4_SMAP X86_BIT(21)
#define X86_CR4_PKE X86_BIT(22)
#define X86_CR4_CET X86_BIT(23)
#define X86_CR4_PKS X86_BIT(24)
#define X86_CR4_LAM_SUP X86_BIT(28)
#define X86_CR4_FRED X86_BIT(32)

/* EFER (MSR 0xc0000080) */
#define X86_EFER_SCE X86_BIT(0)       /* SYSCALL */
#define X86_EFER_LME X86_BIT(8)       /* long mode enable */
#define X86_EFER_LMA X86_BIT(10)      /* long mode active */
#define X86_EFER_NX X86_BIT(11)
#define X86_EFER_SVME X86_BIT(12)     /* SVM enable */
#define X86_EFER_LMSLE X86_BIT(13)    /* long mode segment limit enable */
#define X86_EFER_FFXSR X86_BIT(14)
#define X86_EFER_TCE X86_BIT(15)      /* translation cache extension */
#define X86_EFER_MCOMMIT X86_BIT(17)
#define X86_EFER_INTWB X86_BIT(18)
#define X86_EFER_AUTOIBRS X86_BIT(21)

/* RFLAGS */
#define X86_EFLAGS_FIXED X86_BIT(1) /* reads as 1 */
#define X86_EFLAGS_IF X86_BIT(9)
#define X86_EFLAGS_VM X86_BIT(17)   /* virtual-8086 mode */

/* MSRs */
#define MSR_IA32_FEATURE_CONTROL 0x3a /* VMX: VMXON needs it locked with VMXON allowed */
#define FEAT_CTL_LOCKED X86_BIT(0)
#define FEAT_CTL_VMX_OUTSIDE_SMX X86_BIT(2)
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_EFER 0xc0000080
#define MSR_FS_BASE 0xc0000100
#define MSR_VM_HSAVE_PA 0xc0010117 /* SVM: where VMRUN saves the host's state */

/* Paging */
#define X86_PAGE_SIZE 4096
#define X86_PAGE_MASK 0xfff
#define X86_ARCH_MAXPHYADDR 52 /* the architectural limit on physical-address bits */
#define X86_DEFAULT_MAXPHYADDR 36 /* without CPUID leaf 0x80000008 */

/*
 * KVM's CR4 and EFER bits: the ones some KVM lets an L1 set (the union
 * over kernel versions and hosts); every other bit is refused by every
 * kernel, whatever the CPUID.  CR4: KVM's CR4_RESERVED_BITS leaves
 * VME..VMXE (0-13), FSGSBASE, PCIDE, OSXSAVE (16-18), SMEP, SMAP, PKE (20-22),
 * CET (23, 6.18), LAM_SUP (28, 6.8) and FRED (32); never SMXE (14), KL (19)
 * or PKS (24).  EFER: efer_reserved_bits starts as all but SCE, LME and LMA;
 * kvm_enable_efer_bits() adds NXE, SVME and LMSLE with nested SVM, FFXSR,
 * TCE (2026) and AUTOIBRS (6.3) when the host has them; never MCOMMIT or
 * INTWB.
 */
#define KVM_CR4_BITS                                                                                                   \
        (0x3FFF | X86_CR4_FSGSBASE | X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE |   \
         X86_CR4_CET | X86_CR4_LAM_SUP | X86_CR4_FRED)
#define KVM_EFER_BITS                                                                                                  \
        (X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NX | X86_EFER_SVME | X86_EFER_LMSLE | X86_EFER_FFXSR |  \
         X86_EFER_TCE | X86_EFER_AUTOIBRS)
/* The bits KVM lets a guest set whatever its CPUID says: VME..OSXMMEXCPT; SCE and LMSLE (a host fact). */
#define KVM_CR4_CPUID_UNGATED 0x7FF
#define KVM_EFER_CPUID_UNGATED (X86_EFER_SCE | X86_EFER_LMSLE)

/*
 * vmcb12: the control area at 0, the save area at VMCB12_SAVE_AREA.  Control
 * offsets are within vmcb12; save offsets are within the save area (add
 * VMCB12_SAVE_AREA for the vmcb12 offset).  Add NV_OFF_DATA (0x80) for the
 * offset in a nested-state blob.
 */
#define VMCB_CTL_AREA_SIZE 0x400
#define VMCB12_SAVE_AREA VMCB_CTL_AREA_SIZE
#define VMCB_SAVE_AREA_COPIED 0x2E8 /* sizeof(struct vmcb_save_area) KVM copies out */
#define VMCB_OLD_SAVE_AREA_SIZE 0x298 /* the save area before the fields newer kernels added */

#define VMCB_CTL_INTERCEPT_CR 0x000
#define VMCB_CTL_INTERCEPT_DR 0x004
#define VMCB_CTL_INTERCEPT_EXCEPTIONS 0x008
#define VMCB_CTL_INTERCEPT_WORD3 0x00C /* INTR .. SHUTDOWN */
#define VMCB_CTL_INTERCEPT_WORD4 0x010 /* VMRUN, VMMCALL, ... */
#define VMCB_CTL_INTERCEPT_WORD5 0x014
#define VMCB_CTL_INTERCEPTS_SIZE 24   /* intercepts[6] */
#define VMCB_CTL_PAUSE_FILTER_THRESH 0x03C
#define VMCB_CTL_PAUSE_FILTER_COUNT 0x03E
#define VMCB_CTL_IOPM_BASE_PA 0x040
#define VMCB_CTL_MSRPM_BASE_PA 0x048
#define VMCB_CTL_TSC_OFFSET 0x050
#define VMCB_CTL_ASID 0x058
#define VMCB_CTL_TLB_CTL 0x05C
#define VMCB_CTL_INT_CTL 0x060
#define VMCB_CTL_INT_VECTOR 0x064
#define VMCB_CTL_INT_STATE 0x068
#define VMCB_CTL_EXIT_CODE 0x070
#define VMCB_CTL_EXIT_CODE_HI 0x074
#define VMCB_CTL_EXIT_INFO_1 0x078
#define VMCB_CTL_EXIT_INFO_2 0x080
#define VMCB_CTL_EXIT_INT_INFO 0x088
#define VMCB_CTL_EXIT_INT_INFO_ERR 0x08C
#define VMCB_CTL_NESTED_CTL 0x090
#define VMCB_CTL_AVIC_VAPIC_BAR 0x098
#define VMCB_CTL_GHCB_GPA 0x0A0
#define VMCB_CTL_EVENT_INJ 0x0A8
#define VMCB_CTL_EVENT_INJ_ERR 0x0AC
#define VMCB_CTL_NESTED_CR3 0x0B0
#define VMCB_CTL_VIRT_EXT 0x0B8
#define VMCB_CTL_CLEAN 0x0C0
#define VMCB_CTL_NEXT_RIP 0x0C8
#define VMCB_CTL_INSN_LEN 0x0D0

/* A save-area segment: selector, attributes, limit, base (16 bytes). */
#define VMCB_SEG_SELECTOR 0
#define VMCB_SEG_ATTRIB 2
#define VMCB_SEG_LIMIT 4
#define VMCB_SEG_BASE 8

#define VMCB_SAVE_ES 0x000
#define VMCB_SAVE_CS 0x010
#define VMCB_SAVE_SS 0x020
#define VMCB_SAVE_DS 0x030
#define VMCB_SAVE_FS 0x040
#define VMCB_SAVE_GS 0x050
#define VMCB_SAVE_GDTR 0x060
#define VMCB_SAVE_LDTR 0x070
#define VMCB_SAVE_IDTR 0x080
#define VMCB_SAVE_TR 0x090
#define VMCB_SAVE_CPL 0x0CB
#define VMCB_SAVE_EFER 0x0D0
#define VMCB_SAVE_CR4 0x148
#define VMCB_SAVE_CR3 0x150
#define VMCB_SAVE_CR0 0x158
#define VMCB_SAVE_DR7 0x160
#define VMCB_SAVE_DR6 0x168
#define VMCB_SAVE_RFLAGS 0x170
#define VMCB_SAVE_RIP 0x178
#define VMCB_SAVE_RSP 0x1D8
#define VMCB_SAVE_RAX 0x1F8
#define VMCB_SAVE_STAR 0x200
#define VMCB_SAVE_LSTAR 0x208
#define VMCB_SAVE_CSTAR 0x210
#define VMCB_SAVE_SFMASK 0x218
#define VMCB_SAVE_KERNEL_GS_BASE 0x220
#define VMCB_SAVE_SYSENTER_CS 0x228
#define VMCB_SAVE_SYSENTER_ESP 0x230
#define VMCB_SAVE_SYSENTER_EIP 0x238
#define VMCB_SAVE_CR2 0x240
#define VMCB_SAVE_G_PAT 0x268
#define VMCB_SAVE_DBGCTL 0x270

/* Bits inside vmcb12 fields. */
#define SVM_INTERCEPT_CPUID X86_BIT(18)    /* word 3 */
#define SVM_INTERCEPT_SHUTDOWN X86_BIT(31) /* word 3 */
#define SVM_INTERCEPT_NMI X86_BIT(1)      /* word 3 */
#define SVM_INT_CTL_V_NMI_ENABLE X86_BIT(26)
#define SVM_INTERCEPT_VMRUN X86_BIT(0)     /* word 4: KVM refuses a vmcb12 without it */
#define SVM_INTERCEPT_VMMCALL X86_BIT(1)   /* word 4 */
#define SVM_NESTED_CTL_NP_ENABLE X86_BIT(0)
#define SVM_SELECTOR_L X86_BIT(9)   /* segment attrib: descriptor bit 53, 64-bit code */
#define SVM_SELECTOR_DB X86_BIT(10) /* descriptor bit 54, 32-bit default size */
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_INVALID 0xffffffff /* exit_code's low half before any exit */
#define SVM_MSRPM_SIZE 8192  /* MSR permission map */
#define SVM_IOPM_SIZE 12288  /* I/O permission map */

/*
 * vmcs12: offsets within KVM's struct vmcs12, frozen by a build-time
 * assertion per field; fields added later live in former padding.  Add
 * NV_OFF_DATA for the blob offset, NV_VMCS12_AREA_SIZE more for the
 * shadow vmcs12.
 */
#define VMCS12_REVISION_ID                         0 /* u32 */
#define VMCS12_VMX_ABORT                           4 /* u32 */
#define VMCS12_LAUNCH_STATE                        8 /* u32 */
#define VMCS12_IO_BITMAP_A                        40 /* u64 */
#define VMCS12_IO_BITMAP_B                        48 /* u64 */
#define VMCS12_MSR_BITMAP                         56 /* u64 */
#define VMCS12_VM_EXIT_MSR_STORE_ADDR             64 /* u64 */
#define VMCS12_VM_EXIT_MSR_LOAD_ADDR              72 /* u64 */
#define VMCS12_VM_ENTRY_MSR_LOAD_ADDR             80 /* u64 */
#define VMCS12_TSC_OFFSET                         88 /* u64 */
#define VMCS12_VIRTUAL_APIC_PAGE_ADDR             96 /* u64 */
#define VMCS12_APIC_ACCESS_ADDR                  104 /* u64 */
#define VMCS12_POSTED_INTR_DESC_ADDR             112 /* u64 */
#define VMCS12_EPT_POINTER                       120 /* u64 */
#define VMCS12_EOI_EXIT_BITMAP0                  128 /* u64 */
#define VMCS12_EOI_EXIT_BITMAP1                  136 /* u64 */
#define VMCS12_EOI_EXIT_BITMAP2                  144 /* u64 */
#define VMCS12_EOI_EXIT_BITMAP3                  152 /* u64 */
#define VMCS12_XSS_EXIT_BITMAP                   160 /* u64 */
#define VMCS12_GUEST_PHYSICAL_ADDRESS            168 /* u64 */
#define VMCS12_VMCS_LINK_POINTER                 176 /* u64 */
#define VMCS12_GUEST_IA32_DEBUGCTL               184 /* u64 */
#define VMCS12_GUEST_IA32_PAT                    192 /* u64 */
#define VMCS12_GUEST_IA32_EFER                   200 /* u64 */
#define VMCS12_GUEST_IA32_PERF_GLOBAL_CTRL       208 /* u64 */
#define VMCS12_GUEST_PDPTR0                      216 /* u64 */
#define VMCS12_GUEST_PDPTR1                      224 /* u64 */
#define VMCS12_GUEST_PDPTR2                      232 /* u64 */
#define VMCS12_GUEST_PDPTR3                      240 /* u64 */
#define VMCS12_GUEST_BNDCFGS                     248 /* u64 */
#define VMCS12_HOST_IA32_PAT                     256 /* u64 */
#define VMCS12_HOST_IA32_EFER                    264 /* u64 */
#define VMCS12_HOST_IA32_PERF_GLOBAL_CTRL        272 /* u64 */
#define VMCS12_VMREAD_BITMAP                     280 /* u64 */
#define VMCS12_VMWRITE_BITMAP                    288 /* u64 */
#define VMCS12_VM_FUNCTION_CONTROL               296 /* u64 */
#define VMCS12_EPTP_LIST_ADDRESS                 304 /* u64 */
#define VMCS12_PML_ADDRESS                       312 /* u64 */
#define VMCS12_ENCLS_EXITING_BITMAP              320 /* u64 */
#define VMCS12_TSC_MULTIPLIER                    328 /* u64 */
#define VMCS12_CR0_GUEST_HOST_MASK               344 /* u64 */
#define VMCS12_CR4_GUEST_HOST_MASK               352 /* u64 */
#define VMCS12_CR0_READ_SHADOW                   360 /* u64 */
#define VMCS12_CR4_READ_SHADOW                   368 /* u64 */
#define VMCS12_EXIT_QUALIFICATION                408 /* u64 */
#define VMCS12_GUEST_LINEAR_ADDRESS              416 /* u64 */
#define VMCS12_GUEST_CR0                         424 /* u64 */
#define VMCS12_GUEST_CR3                         432 /* u64 */
#define VMCS12_GUEST_CR4                         440 /* u64 */
#define VMCS12_GUEST_ES_BASE                     448 /* u64 */
#define VMCS12_GUEST_CS_BASE                     456 /* u64 */
#define VMCS12_GUEST_SS_BASE                     464 /* u64 */
#define VMCS12_GUEST_DS_BASE                     472 /* u64 */
#define VMCS12_GUEST_FS_BASE                     480 /* u64 */
#define VMCS12_GUEST_GS_BASE                     488 /* u64 */
#define VMCS12_GUEST_LDTR_BASE                   496 /* u64 */
#define VMCS12_GUEST_TR_BASE                     504 /* u64 */
#define VMCS12_GUEST_GDTR_BASE                   512 /* u64 */
#define VMCS12_GUEST_IDTR_BASE                   520 /* u64 */
#define VMCS12_GUEST_DR7                         528 /* u64 */
#define VMCS12_GUEST_RSP                         536 /* u64 */
#define VMCS12_GUEST_RIP                         544 /* u64 */
#define VMCS12_GUEST_RFLAGS                      552 /* u64 */
#define VMCS12_GUEST_PENDING_DBG_EXCEPTIONS      560 /* u64 */
#define VMCS12_GUEST_SYSENTER_ESP                568 /* u64 */
#define VMCS12_GUEST_SYSENTER_EIP                576 /* u64 */
#define VMCS12_HOST_CR0                          584 /* u64 */
#define VMCS12_HOST_CR3                          592 /* u64 */
#define VMCS12_HOST_CR4                          600 /* u64 */
#define VMCS12_HOST_FS_BASE                      608 /* u64 */
#define VMCS12_HOST_GS_BASE                      616 /* u64 */
#define VMCS12_HOST_TR_BASE                      624 /* u64 */
#define VMCS12_HOST_GDTR_BASE                    632 /* u64 */
#define VMCS12_HOST_IDTR_BASE                    640 /* u64 */
#define VMCS12_HOST_IA32_SYSENTER_ESP            648 /* u64 */
#define VMCS12_HOST_IA32_SYSENTER_EIP            656 /* u64 */
#define VMCS12_HOST_RSP                          664 /* u64 */
#define VMCS12_HOST_RIP                          672 /* u64 */
#define VMCS12_HOST_S_CET                        680 /* u64 */
#define VMCS12_HOST_SSP                          688 /* u64 */
#define VMCS12_HOST_INTR_SSP_TABLE               696 /* u64 */
#define VMCS12_GUEST_S_CET                       704 /* u64 */
#define VMCS12_GUEST_SSP                         712 /* u64 */
#define VMCS12_GUEST_INTR_SSP_TABLE              720 /* u64 */
#define VMCS12_PIN_BASED_VM_EXEC_CONTROL         744 /* u32 */
#define VMCS12_CPU_BASED_VM_EXEC_CONTROL         748 /* u32 */
#define VMCS12_EXCEPTION_BITMAP                  752 /* u32 */
#define VMCS12_PAGE_FAULT_ERROR_CODE_MASK        756 /* u32 */
#define VMCS12_PAGE_FAULT_ERROR_CODE_MATCH       760 /* u32 */
#define VMCS12_CR3_TARGET_COUNT                  764 /* u32 */
#define VMCS12_VM_EXIT_CONTROLS                  768 /* u32 */
#define VMCS12_VM_EXIT_MSR_STORE_COUNT           772 /* u32 */
#define VMCS12_VM_EXIT_MSR_LOAD_COUNT            776 /* u32 */
#define VMCS12_VM_ENTRY_CONTROLS                 780 /* u32 */
#define VMCS12_VM_ENTRY_MSR_LOAD_COUNT           784 /* u32 */
#define VMCS12_VM_ENTRY_INTR_INFO_FIELD          788 /* u32 */
#define VMCS12_VM_ENTRY_EXCEPTION_ERROR_CODE     792 /* u32 */
#define VMCS12_VM_ENTRY_INSTRUCTION_LEN          796 /* u32 */
#define VMCS12_TPR_THRESHOLD                     800 /* u32 */
#define VMCS12_SECONDARY_VM_EXEC_CONTROL         804 /* u32 */
#define VMCS12_VM_INSTRUCTION_ERROR              808 /* u32 */
#define VMCS12_VM_EXIT_REASON                    812 /* u32 */
#define VMCS12_VM_EXIT_INTR_INFO                 816 /* u32 */
#define VMCS12_VM_EXIT_INTR_ERROR_CODE           820 /* u32 */
#define VMCS12_IDT_VECTORING_INFO_FIELD          824 /* u32 */
#define VMCS12_IDT_VECTORING_ERROR_CODE          828 /* u32 */
#define VMCS12_VM_EXIT_INSTRUCTION_LEN           832 /* u32 */
#define VMCS12_VMX_INSTRUCTION_INFO              836 /* u32 */
#define VMCS12_GUEST_ES_LIMIT                    840 /* u32 */
#define VMCS12_GUEST_CS_LIMIT                    844 /* u32 */
#define VMCS12_GUEST_SS_LIMIT                    848 /* u32 */
#define VMCS12_GUEST_DS_LIMIT                    852 /* u32 */
#define VMCS12_GUEST_FS_LIMIT                    856 /* u32 */
#define VMCS12_GUEST_GS_LIMIT                    860 /* u32 */
#define VMCS12_GUEST_LDTR_LIMIT                  864 /* u32 */
#define VMCS12_GUEST_TR_LIMIT                    868 /* u32 */
#define VMCS12_GUEST_GDTR_LIMIT                  872 /* u32 */
#define VMCS12_GUEST_IDTR_LIMIT                  876 /* u32 */
#define VMCS12_GUEST_ES_AR_BYTES                 880 /* u32 */
#define VMCS12_GUEST_CS_AR_BYTES                 884 /* u32 */
#define VMCS12_GUEST_SS_AR_BYTES                 888 /* u32 */
#define VMCS12_GUEST_DS_AR_BYTES                 892 /* u32 */
#define VMCS12_GUEST_FS_AR_BYTES                 896 /* u32 */
#define VMCS12_GUEST_GS_AR_BYTES                 900 /* u32 */
#define VMCS12_GUEST_LDTR_AR_BYTES               904 /* u32 */
#define VMCS12_GUEST_TR_AR_BYTES                 908 /* u32 */
#define VMCS12_GUEST_INTERRUPTIBILITY_INFO       912 /* u32 */
#define VMCS12_GUEST_ACTIVITY_STATE              916 /* u32 */
#define VMCS12_GUEST_SYSENTER_CS                 920 /* u32 */
#define VMCS12_HOST_IA32_SYSENTER_CS             924 /* u32 */
#define VMCS12_VMX_PREEMPTION_TIMER_VALUE        928 /* u32 */
#define VMCS12_VIRTUAL_PROCESSOR_ID              960 /* u16 */
#define VMCS12_POSTED_INTR_NV                    962 /* u16 */
#define VMCS12_GUEST_ES_SELECTOR                 964 /* u16 */
#define VMCS12_GUEST_CS_SELECTOR                 966 /* u16 */
#define VMCS12_GUEST_SS_SELECTOR                 968 /* u16 */
#define VMCS12_GUEST_DS_SELECTOR                 970 /* u16 */
#define VMCS12_GUEST_FS_SELECTOR                 972 /* u16 */
#define VMCS12_GUEST_GS_SELECTOR                 974 /* u16 */
#define VMCS12_GUEST_LDTR_SELECTOR               976 /* u16 */
#define VMCS12_GUEST_TR_SELECTOR                 978 /* u16 */
#define VMCS12_GUEST_INTR_STATUS                 980 /* u16 */
#define VMCS12_HOST_ES_SELECTOR                  982 /* u16 */
#define VMCS12_HOST_CS_SELECTOR                  984 /* u16 */
#define VMCS12_HOST_SS_SELECTOR                  986 /* u16 */
#define VMCS12_HOST_DS_SELECTOR                  988 /* u16 */
#define VMCS12_HOST_FS_SELECTOR                  990 /* u16 */
#define VMCS12_HOST_GS_SELECTOR                  992 /* u16 */
#define VMCS12_HOST_TR_SELECTOR                  994 /* u16 */
#define VMCS12_GUEST_PML_INDEX                   996 /* u16 */
/* The revision id and sizeof(struct vmcs12) are KVM ABI: NV_VMCS12_REVISION, NV_VMCS12_STRUCT_SIZE. */

/* Bits inside vmcs12 fields (Intel SDM vol. 3, 25.6-25.8; the kernel's vmx.h names). */
#define VMCS_SHADOW_BIT X86_BIT(31)                     /* in revision_id: a shadow VMCS */
#define PIN_BASED_EXT_INTR_MASK X86_BIT(0)
#define PIN_BASED_NMI_EXITING X86_BIT(3)
#define PIN_BASED_VIRTUAL_NMIS X86_BIT(5)
#define PIN_BASED_VMX_PREEMPTION_TIMER X86_BIT(6)
#define PIN_BASED_POSTED_INTR X86_BIT(7)
#define CPU_BASED_TPR_SHADOW X86_BIT(21)
#define CPU_BASED_NMI_WINDOW_EXITING X86_BIT(22)
#define CPU_BASED_USE_IO_BITMAPS X86_BIT(25)
#define CPU_BASED_MONITOR_TRAP_FLAG X86_BIT(27)
#define CPU_BASED_USE_MSR_BITMAPS X86_BIT(28)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS X86_BIT(31)
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES X86_BIT(0)
#define SECONDARY_EXEC_ENABLE_EPT X86_BIT(1)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE X86_BIT(4)
#define SECONDARY_EXEC_ENABLE_VPID X86_BIT(5)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST X86_BIT(7)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT X86_BIT(8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY X86_BIT(9)
#define SECONDARY_EXEC_ENABLE_VMFUNC X86_BIT(13)
#define SECONDARY_EXEC_SHADOW_VMCS X86_BIT(14)
#define SECONDARY_EXEC_ENABLE_PML X86_BIT(17)
#define SECONDARY_EXEC_MODE_BASED_EPT_EXEC X86_BIT(22)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE X86_BIT(9)
#define VM_EXIT_ACK_INTR_ON_EXIT X86_BIT(15)
#define VM_EXIT_LOAD_IA32_PAT X86_BIT(19)
#define VM_EXIT_LOAD_IA32_EFER X86_BIT(21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER X86_BIT(22)
#define VM_ENTRY_LOAD_DEBUG_CONTROLS X86_BIT(2)
#define VM_ENTRY_IA32E_MODE X86_BIT(9)
#define VM_ENTRY_LOAD_IA32_PAT X86_BIT(14)
#define VM_ENTRY_LOAD_IA32_EFER X86_BIT(15)
#define VMCS12_LAUNCHED 1                               /* launch_state after VMLAUNCH */

/* The nested VMX capability MSRs KVM reports for a vCPU, IA32_VMX_BASIC .. IA32_VMX_VMFUNC. */
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491

#ifndef __ASSEMBLER__
#include <stdint.h>

/* A CPUID feature bit: leaf, subleaf, register, bit. */
typedef enum X86CpuidReg { X86_EAX, X86_EBX, X86_ECX, X86_EDX } X86CpuidReg;
typedef struct X86Feature {
        uint32_t leaf, subleaf;
        X86CpuidReg reg;
        unsigned bit;
} X86Feature;

#define X86_FEATURE_VMX ((X86Feature) { 1, 0, X86_ECX, 5 })
#define X86_FEATURE_PCID ((X86Feature) { 1, 0, X86_ECX, 17 })
#define X86_FEATURE_XSAVE ((X86Feature) { 1, 0, X86_ECX, 26 })
#define X86_FEATURE_FSGSBASE ((X86Feature) { 7, 0, X86_EBX, 0 })
#define X86_FEATURE_SMEP ((X86Feature) { 7, 0, X86_EBX, 7 })
#define X86_FEATURE_SMAP ((X86Feature) { 7, 0, X86_EBX, 20 })
#define X86_FEATURE_UMIP ((X86Feature) { 7, 0, X86_ECX, 2 })
#define X86_FEATURE_PKU ((X86Feature) { 7, 0, X86_ECX, 3 })
#define X86_FEATURE_SHSTK ((X86Feature) { 7, 0, X86_ECX, 7 })
#define X86_FEATURE_LA57 ((X86Feature) { 7, 0, X86_ECX, 16 })
#define X86_FEATURE_IBT ((X86Feature) { 7, 0, X86_EDX, 20 })
#define X86_FEATURE_FRED ((X86Feature) { 7, 1, X86_EAX, 17 })
#define X86_FEATURE_LAM ((X86Feature) { 7, 1, X86_EAX, 26 })
#define X86_FEATURE_SVM ((X86Feature) { 0x80000001, 0, X86_ECX, 2 })
#define X86_FEATURE_TCE ((X86Feature) { 0x80000001, 0, X86_ECX, 17 })
#define X86_FEATURE_NX ((X86Feature) { 0x80000001, 0, X86_EDX, 20 })
#define X86_FEATURE_FXSR_OPT ((X86Feature) { 0x80000001, 0, X86_EDX, 25 })
#define X86_FEATURE_LM ((X86Feature) { 0x80000001, 0, X86_EDX, 29 })
#define X86_FEATURE_AUTOIBRS ((X86Feature) { 0x80000021, 0, X86_EAX, 8 })
/* The feature's bit in its register. */
#define X86_FEATURE_MASK(f) (1u << (f).bit)
#define X86_CPUID_EXT_MAX_LEAF 0x80000000 /* EAX: the highest extended leaf */
#define X86_CPUID_ADDR_SIZES 0x80000008   /* EAX[7:0]: MAXPHYADDR */

/*
 * The CR4 and EFER bits KVM lets a guest set only when its CPUID has a
 * feature (__cr4_reserved_bits() and __kvm_valid_efer()): X(efer, bits,
 * feature).  A bit listed twice is allowed by either feature.
 */
#define X86_CPUID_GATES(X)                                                     \
        X(0, X86_CR4_UMIP, X86_FEATURE_UMIP)                                   \
        X(0, X86_CR4_LA57, X86_FEATURE_LA57)                                   \
        X(0, X86_CR4_VMXE, X86_FEATURE_VMX)                                    \
        X(0, X86_CR4_FSGSBASE, X86_FEATURE_FSGSBASE)                           \
        X(0, X86_CR4_PCIDE, X86_FEATURE_PCID)                                  \
        X(0, X86_CR4_OSXSAVE, X86_FEATURE_XSAVE)                               \
        X(0, X86_CR4_SMEP, X86_FEATURE_SMEP)                                   \
        X(0, X86_CR4_SMAP, X86_FEATURE_SMAP)                                   \
        X(0, X86_CR4_PKE, X86_FEATURE_PKU)                                     \
        X(0, X86_CR4_CET, X86_FEATURE_SHSTK)                                   \
        X(0, X86_CR4_CET, X86_FEATURE_IBT)                                     \
        X(0, X86_CR4_LAM_SUP, X86_FEATURE_LAM)                                 \
        X(0, X86_CR4_FRED, X86_FEATURE_FRED)                                   \
        X(1, X86_EFER_LME | X86_EFER_LMA, X86_FEATURE_LM)                      \
        X(1, X86_EFER_NX, X86_FEATURE_NX)                                      \
        X(1, X86_EFER_SVME, X86_FEATURE_SVM)                                   \
        X(1, X86_EFER_FFXSR, X86_FEATURE_FXSR_OPT)                             \
        X(1, X86_EFER_TCE, X86_FEATURE_TCE)                                    \
        X(1, X86_EFER_AUTOIBRS, X86_FEATURE_AUTOIBRS)
#endif
