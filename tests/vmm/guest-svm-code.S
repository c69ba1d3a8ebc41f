/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest code of the reference VMM on real KVM: an L1 hypervisor and
 * its L2 guest, both 64-bit.  The VMM copies the bytes between
 * nv_guest_svm_code and nv_guest_svm_code_end to GS_CODE_GPA; the code only
 * addresses itself RIP-relative, so it runs wherever it is copied.  It is
 * data to the host (.rodata), never executed there.
 *
 * Register use.  VMRUN saves and restores only RAX, RSP, RIP, RFLAGS and the
 * segment and control registers of L1; every other GPR is shared with L2.
 * So L1 keeps nothing in registers across VMRUN except RAX (the VMCB's
 * address) and clobbers only RCX, and L2 recomputes its data pointer (RBX)
 * from RSP on every turn and never relies on RCX.
 */
#include "guest-svm.h"
#include "x86-arch.h"
#include "guest-l2.inc"

/* vmcb12 fields: control-area offsets are CTL(name), save-area offsets SAVE(name). */
#define CTL(f) VMCB_CTL_##f
#define SAVE(f) (VMCB12_SAVE_AREA+VMCB_SAVE_##f) /* no spaces: it is a macro argument */

/* VMCB segment attributes: descriptor bits 40-47 and 52-55, packed. */
#define ATTR_CODE64 0xa9b /* G, L, P, S, type execute/read/accessed */
#define ATTR_DATA   0xc93 /* G, D/B, P, S, type read/write/accessed */

/* A flat segment in the VMCB at off: selector, attributes, 4 GiB limit, base 0. */
.macro vmcb_segment off, sel, attr
        movw    $\sel, \off(%rdi)
        movw    $\attr, \off+VMCB_SEG_ATTRIB(%rdi)
        movl    $0xffffffff, \off+VMCB_SEG_LIMIT(%rdi)
        movq    $0, \off+VMCB_SEG_BASE(%rdi)
.endm

/* Copies a descriptor-table register (stored by sgdt/sidt at (%rsp)) to the VMCB at off. */
.macro vmcb_dtr off
        movzwl  (%rsp), %eax            /* limit */
        movl    %eax, \off+VMCB_SEG_LIMIT(%rdi)
        movq    2(%rsp), %rax           /* base */
        movq    %rax, \off+VMCB_SEG_BASE(%rdi)
.endm

        .section .rodata.nv_guest_svm, "a"
        .balign 16
        .globl  nv_guest_svm_code
        .globl  nv_guest_svm_code_end
        .code64

nv_guest_svm_code:
/*
 * L1.  Entered from the VMM in long mode, CPL 0, interrupts off, with
 * RDI = this vCPU's area (GS_VCPU_GPA + n * GS_VCPU_STRIDE), whose VMCB
 * page the VMM left zeroed, and RSP = the top of its L1 stack page.
 */
l1_entry:
        /* SVM on: without EFER.SVME, VMRUN raises #UD. */
        movl    $MSR_EFER, %ecx
        rdmsr                           /* EDX:EAX = EFER */
        orl     $X86_EFER_SVME, %eax
        wrmsr
        /* The host save area for L1's state across VMRUN. */
        movl    $MSR_VM_HSAVE_PA, %ecx
        leaq    GS_HSAVE(%rdi), %rax
        movq    %rax, %rdx
        shrq    $32, %rdx               /* EDX:EAX = the page's address */
        wrmsr

        /*
         * Controls.  The IOIO and MSR intercepts stay off, so L2's OUT goes
         * straight to L0 (KVM exits to its userspace in guest mode); their
         * bitmap bases stay 0, a legal GPA.  No nested paging: L2 shares
         * L1's page tables.
         */
        movl    $(SVM_INTERCEPT_CPUID | SVM_INTERCEPT_SHUTDOWN), CTL(INTERCEPT_WORD3)(%rdi)
        movl    $SVM_INTERCEPT_VMRUN, CTL(INTERCEPT_WORD4)(%rdi)
        movl    $1, CTL(ASID)(%rdi)     /* ASID 0 is the host's */

        /* L2 state: L1's own flat long-mode segments and control registers. */
        vmcb_segment SAVE(CS), GS_SEL_CODE, ATTR_CODE64
        vmcb_segment SAVE(SS), GS_SEL_DATA, ATTR_DATA
        vmcb_segment SAVE(DS), GS_SEL_DATA, ATTR_DATA
        vmcb_segment SAVE(ES), GS_SEL_DATA, ATTR_DATA
        subq    $16, %rsp
        sgdt    (%rsp)
        vmcb_dtr SAVE(GDTR)
        sidt    (%rsp)
        vmcb_dtr SAVE(IDTR)
        addq    $16, %rsp
        movq    %cr0, %rax
        movq    %rax, SAVE(CR0)(%rdi)
        movq    %cr3, %rax
        movq    %rax, SAVE(CR3)(%rdi)    /* the same page tables */
        movq    %cr4, %rax
        movq    %rax, SAVE(CR4)(%rdi)
        movl    $MSR_EFER, %ecx
        rdmsr                           /* LME|LMA|SVME: VMRUN wants SVME in L2's EFER too */
        shlq    $32, %rdx
        orq     %rdx, %rax
        movq    %rax, SAVE(EFER)(%rdi)
        movl    $0xffff0ff0, %eax       /* DR6 reset value; movl keeps bits 63:32 clear */
        movq    %rax, SAVE(DR6)(%rdi)
        movq    $0x400, SAVE(DR7)(%rdi)
        movabsq $0x0007040600070406, %rax /* PAT reset value */
        movq    %rax, SAVE(G_PAT)(%rdi)
        movq    $X86_EFLAGS_FIXED, SAVE(RFLAGS)(%rdi) /* IF clear: L2 takes no interrupts */
        leaq    l2_entry(%rip), %rax
        movq    %rax, SAVE(RIP)(%rdi)
        leaq    GS_L2_STACK_TOP(%rdi), %rax
        movq    %rax, SAVE(RSP)(%rdi)

        movq    %rdi, %rax              /* VMRUN takes the VMCB's address in RAX */
l1_run:
        clgi                            /* no interrupt between here and L2 */
        vmrun                           /* runs L2 until an intercepted event */
        /* #VMEXIT: RAX, RSP, RIP are L1's again; the other GPRs are L2's. */
        stgi
        movq    CTL(EXIT_CODE)(%rax), %rcx
        cmpq    $SVM_EXIT_CPUID, %rcx
        jne     l1_fail
        incq    (GS_DATA - GS_VMCB + GS_L1_EXITS)(%rax)
        addq    $2, SAVE(RIP)(%rax)      /* skip L2's CPUID (0f a2); its registers stay as they were */
        jmp     l1_run

/* An exit L1 does not handle: record it, tell the VMM, stop. */
l1_fail:
        movq    %rcx, (GS_DATA - GS_VMCB + GS_FAIL_CODE)(%rax)
        outb    %al, $GS_PORT_FAIL
1:      hlt
        jmp     1b

/* L2, entered by VMRUN (guest-l2.inc). */
        nv_guest_l2_loop
nv_guest_svm_code_end:

        .section .note.GNU-stack, "", @progbits
