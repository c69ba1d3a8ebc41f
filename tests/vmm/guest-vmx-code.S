/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nested VMX guest: an L1 hypervisor that turns VMX on, builds a VMCS
 * with VMCS shadowing, launches a 64-bit L2 and handles its CPUID exits.
 * Same memory image, vCPU areas and L2 loop as the SVM guest (guest-svm.h);
 * the VMM copies the bytes between nv_guest_vmx_code and
 * nv_guest_vmx_code_end to GX_CODE_GPA.  RIP-relative only.
 *
 * Register use.  A VM exit restores only L1's RSP and RIP (from the host
 * state); every other GPR holds L2's value, so the exit handler saves what
 * it uses and finds its vCPU area from RSP.
 */
#include "guest-svm.h"
#include "guest-vmx.h"
#include "x86-arch.h"
#include "guest-l2.inc"

/* VMCS field encodings (Intel SDM vol. 3, appendix B). */
#define F_PIN 0x4000
#define F_CPU 0x4002
#define F_EXIT 0x400c
#define F_ENTRY 0x4012
#define F_SECONDARY 0x401e
#define F_VMREAD_BITMAP 0x2026
#define F_VMWRITE_BITMAP 0x2028
#define F_LINK 0x2800
#define F_DEBUGCTL 0x2802
#define F_INSN_ERROR 0x4400
#define F_EXIT_REASON 0x4402
#define F_GUEST_ES_SEL 0x0800 /* ES, CS, SS, DS, FS, GS, LDTR, TR: +2 each */
#define F_GUEST_ES_LIMIT 0x4800 /* +2 each, then GDTR 0x4810, IDTR 0x4812 */
#define F_GUEST_ES_AR 0x4814 /* +2 each */
#define F_GUEST_ES_BASE 0x6806 /* +2 each, then GDTR 0x6816, IDTR 0x6818 */
#define F_GUEST_CR0 0x6800
#define F_GUEST_CR3 0x6802
#define F_GUEST_CR4 0x6804
#define F_GUEST_DR7 0x681a
#define F_GUEST_RSP 0x681c
#define F_GUEST_RIP 0x681e
#define F_GUEST_RFLAGS 0x6820
#define F_HOST_ES_SEL 0x0c00 /* ES, CS, SS, DS, FS, GS, TR: +2 each */
#define F_HOST_CR0 0x6c00
#define F_HOST_CR3 0x6c02
#define F_HOST_CR4 0x6c04
#define F_HOST_FS_BASE 0x6c06
#define F_HOST_GS_BASE 0x6c08
#define F_HOST_TR_BASE 0x6c0a
#define F_HOST_GDTR_BASE 0x6c0c
#define F_HOST_IDTR_BASE 0x6c0e
#define F_HOST_RSP 0x6c14
#define F_HOST_RIP 0x6c16
#define EXIT_REASON_CPUID 10
#define FEATURE_CONTROL_LOCKED_VMXON 5 /* lock, VMXON outside SMX */

#define TSS_GPA (GS_GDT_GPA + 0x800)

/* VMWRITE of an immediate; a VMfail (CF or ZF) goes to vmx_fail. */
.macro vmwi field, val
        movq    $\val, %rax
        movl    $\field, %edx
        vmwrite %rax, %rdx
        jbe     vmx_fail
.endm

/* VMWRITE of %rax. */
.macro vmwa field
        movl    $\field, %edx
        vmwrite %rax, %rdx
        jbe     vmx_fail
.endm

/* A guest segment: n is its index (ES 0 .. TR 7). */
.macro gseg n, sel, limit, ar, base
        vmwi    (F_GUEST_ES_SEL+2*\n), \sel
        vmwi    (F_GUEST_ES_LIMIT+2*\n), \limit
        vmwi    (F_GUEST_ES_AR+2*\n), \ar
        vmwi    (F_GUEST_ES_BASE+2*\n), \base
.endm

/* The must-be-1 bits of a TRUE_*_CTLS MSR, or-ed with extra, to field. */
.macro ctl field, msr, extra
        movl    $\msr, %ecx
        rdmsr
        orl     $\extra, %eax
        vmwa    \field
.endm

/* Macro arguments must not contain blanks: the values with expressions, named. */
        .set    CPU_EXTRA, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        .set    SEC_CONTROLS, SECONDARY_EXEC_SHADOW_VMCS
        .set    EXIT_EXTRA, VM_EXIT_HOST_ADDR_SPACE_SIZE
        .set    ENTRY_EXTRA, VM_ENTRY_IA32E_MODE
        .set    L2_RFLAGS, X86_EFLAGS_FIXED | X86_EFLAGS_IF
        .set    GDT_LIMIT, 5 * 8 - 1
        .set    TSS_BASE, TSS_GPA

        .section .rodata.nv_guest_vmx, "a"
        .balign 16
        .globl  nv_guest_vmx_code
        .globl  nv_guest_vmx_code_end
        .code64

nv_guest_vmx_code:
/* L1.  As the SVM guest's: long mode, RDI = this vCPU's area, RSP = its L1 stack top. */
l1_entry:
        movl    $MSR_IA32_FEATURE_CONTROL, %ecx
        rdmsr
        testl   $1, %eax
        jnz     1f
        orl     $FEATURE_CONTROL_LOCKED_VMXON, %eax
        wrmsr
1:      movq    %cr4, %rax
        orq     $X86_CR4_VMXE, %rax
        movq    %rax, %cr4
        /* The regions start with the VMCS revision; the shadow VMCS also has bit 31. */
        movl    $MSR_IA32_VMX_BASIC, %ecx
        rdmsr
        movl    %eax, GX_VMXON(%rdi)
        movl    %eax, GX_VMCS(%rdi)
        orl     $VMCS_SHADOW_BIT, %eax
        movl    %eax, GX_SHADOW(%rdi)
        leaq    GX_VMXON(%rdi), %rax
        pushq   %rax
        vmxon   (%rsp)
        popq    %rax
        jbe     vmx_fail
        leaq    GX_SHADOW(%rdi), %rax
        pushq   %rax
        vmclear (%rsp)
        popq    %rax
        jbe     vmx_fail
        leaq    GX_VMCS(%rdi), %rax
        pushq   %rax
        vmclear (%rsp)
        vmptrld (%rsp)
        popq    %rax
        jbe     vmx_fail

        /* Controls: the minimum, plus VMCS shadowing; no I/O exiting, so L2's OUT goes to L0. */
        ctl     F_PIN, MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0
        ctl     F_CPU, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, CPU_EXTRA
        vmwi    F_SECONDARY, SEC_CONTROLS
        ctl     F_EXIT, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_EXTRA
        ctl     F_ENTRY, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_EXTRA
        leaq    GX_VMREAD_BITMAP(%rdi), %rax
        vmwa    F_VMREAD_BITMAP
        leaq    GX_VMWRITE_BITMAP(%rdi), %rax
        vmwa    F_VMWRITE_BITMAP
        leaq    GX_SHADOW(%rdi), %rax
        vmwa    F_LINK
        vmwi    F_DEBUGCTL, 0

        /* Host state: L1 itself, resuming at l1_exit on its stack. */
        movq    %cr0, %rax
        vmwa    F_HOST_CR0
        movq    %cr3, %rax
        vmwa    F_HOST_CR3
        movq    %cr4, %rax
        vmwa    F_HOST_CR4
        vmwi    F_HOST_ES_SEL, GS_SEL_DATA
        vmwi    (F_HOST_ES_SEL+2), GS_SEL_CODE
        vmwi    (F_HOST_ES_SEL+4), GS_SEL_DATA
        vmwi    (F_HOST_ES_SEL+6), GS_SEL_DATA
        vmwi    (F_HOST_ES_SEL+8), GS_SEL_DATA
        vmwi    (F_HOST_ES_SEL+10), GS_SEL_DATA
        vmwi    (F_HOST_ES_SEL+12), GS_SEL_TSS
        vmwi    F_HOST_FS_BASE, 0
        vmwi    F_HOST_GS_BASE, 0
        vmwi    F_HOST_TR_BASE, TSS_BASE
        vmwi    F_HOST_GDTR_BASE, GS_GDT_GPA
        vmwi    F_HOST_IDTR_BASE, 0
        leaq    GS_L1_STACK_TOP(%rdi), %rax
        vmwa    F_HOST_RSP
        leaq    l1_exit(%rip), %rax
        vmwa    F_HOST_RIP

        /* L2 state: L1's flat long-mode segments, control registers and page tables. */
        movq    %cr0, %rax
        vmwa    F_GUEST_CR0
        movq    %cr3, %rax
        vmwa    F_GUEST_CR3
        movq    %cr4, %rax
        vmwa    F_GUEST_CR4
        gseg    0, GS_SEL_DATA, 0xffffffff, 0xc093, 0
        gseg    1, GS_SEL_CODE, 0xffffffff, 0xa09b, 0
        gseg    2, GS_SEL_DATA, 0xffffffff, 0xc093, 0
        gseg    3, GS_SEL_DATA, 0xffffffff, 0xc093, 0
        gseg    4, GS_SEL_DATA, 0xffffffff, 0xc093, 0
        gseg    5, GS_SEL_DATA, 0xffffffff, 0xc093, 0
        gseg    6, 0, 0, 0x10000, 0                     /* LDTR: unusable */
        gseg    7, GS_SEL_TSS, 0x67, 0x8b, TSS_BASE     /* TR: busy 64-bit TSS */
        vmwi    (F_GUEST_ES_LIMIT+16), GDT_LIMIT        /* GDTR limit */
        vmwi    (F_GUEST_ES_LIMIT+18), 0                /* IDTR limit */
        vmwi    (F_GUEST_ES_BASE+16), GS_GDT_GPA        /* GDTR base */
        vmwi    (F_GUEST_ES_BASE+18), 0                 /* IDTR base */
        vmwi    F_GUEST_DR7, 0x400
        /* IF set: Bochs lets host interrupts end a VMX guest's run only then (tests/e2e/README.md). */
        vmwi    F_GUEST_RFLAGS, L2_RFLAGS
        leaq    GS_L2_STACK_TOP(%rdi), %rax
        vmwa    F_GUEST_RSP
        leaq    l2_entry(%rip), %rax
        vmwa    F_GUEST_RIP
        vmlaunch
        jmp     vmx_fail

/* A VM exit: RSP = the top of this vCPU's L1 stack, the other GPRs are L2's. */
l1_exit:
        pushq   %rax
        pushq   %rdx
        pushq   %rdi
        leaq    (24 - GS_L1_STACK_TOP)(%rsp), %rdi      /* this vCPU's area */
        movl    $F_EXIT_REASON, %edx
        vmread  %rdx, %rax
        cmpq    $EXIT_REASON_CPUID, %rax
        jne     l1_fail
        incq    (GS_DATA + GS_L1_EXITS)(%rdi)
        movl    $F_GUEST_RIP, %edx
        vmread  %rdx, %rax
        addq    $2, %rax                                /* skip L2's CPUID (0f a2) */
        vmwrite %rax, %rdx
        popq    %rdi
        popq    %rdx
        popq    %rax
        vmresume
        /* Only a VMfail gets here: the area pointer is gone, find it again. */
        leaq    -GS_L1_STACK_TOP(%rsp), %rdi

/* A VMX instruction failed: record 0x1000 + its error number, tell the VMM, stop. */
vmx_fail:
        movl    $F_INSN_ERROR, %edx
        vmread  %rdx, %rax
        addq    $0x1000, %rax
        jmp     1f
/* An exit L1 does not handle: record its reason. */
l1_fail:
1:      movq    %rax, (GS_DATA + GS_FAIL_CODE)(%rdi)
        outb    %al, $GS_PORT_FAIL
2:      hlt
        jmp     2b

/* L2, entered by VMLAUNCH (guest-l2.inc). */
        nv_guest_l2_loop
nv_guest_vmx_code_end:

        .section .note.GNU-stack, "", @progbits
