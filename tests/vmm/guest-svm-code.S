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

/* vmcb12 offsets (AMD APM vol. 2, appendix B; kvm-nested-abi.md 4.2). */
#define VMCB_INTERCEPT_W3 0x00c /* INTR .. SHUTDOWN */
#define VMCB_INTERCEPT_W4 0x010 /* VMRUN, VMMCALL, ... */
#define VMCB_ASID         0x058
#define VMCB_EXIT_CODE    0x070
#define VMCB_ES           0x400
#define VMCB_CS           0x410
#define VMCB_SS           0x420
#define VMCB_DS           0x430
#define VMCB_GDTR         0x460
#define VMCB_IDTR         0x480
#define VMCB_EFER         0x4d0
#define VMCB_CR4          0x548
#define VMCB_CR3          0x550
#define VMCB_CR0          0x558
#define VMCB_DR7          0x560
#define VMCB_DR6          0x568
#define VMCB_RFLAGS       0x570
#define VMCB_RIP          0x578
#define VMCB_RSP          0x5d8
#define VMCB_G_PAT        0x668

#define INTERCEPT_CPUID    (1 << 18) /* word 3 */
#define INTERCEPT_SHUTDOWN (1 << 31) /* word 3: an L2 triple fault comes to L1 */
#define INTERCEPT_VMRUN    (1 << 0)  /* word 4: KVM refuses a VMCB without it */
#define SVM_EXIT_CPUID     0x72

#define MSR_EFER        0xc0000080
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME       (1 << 12)

/* VMCB segment attributes: descriptor bits 40-47 and 52-55, packed. */
#define ATTR_CODE64 0xa9b /* G, L, P, S, type execute/read/accessed */
#define ATTR_DATA   0xc93 /* G, D/B, P, S, type read/write/accessed */

/* A flat segment in the VMCB at off: selector, attributes, 4 GiB limit, base 0. */
.macro vmcb_segment off, sel, attr
        movw    $\sel, \off(%rdi)
        movw    $\attr, \off+2(%rdi)
        movl    $0xffffffff, \off+4(%rdi)
        movq    $0, \off+8(%rdi)
.endm

/* Copies a descriptor-table register (stored by sgdt/sidt at (%rsp)) to the VMCB at off. */
.macro vmcb_dtr off
        movzwl  (%rsp), %eax            /* limit */
        movl    %eax, \off+4(%rdi)
        movq    2(%rsp), %rax           /* base */
        movq    %rax, \off+8(%rdi)
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
        orl     $EFER_SVME, %eax
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
        movl    $(INTERCEPT_CPUID | INTERCEPT_SHUTDOWN), VMCB_INTERCEPT_W3(%rdi)
        movl    $INTERCEPT_VMRUN, VMCB_INTERCEPT_W4(%rdi)
        movl    $1, VMCB_ASID(%rdi)     /* ASID 0 is the host's */

        /* L2 state: L1's own flat long-mode segments and control registers. */
        vmcb_segment VMCB_CS, GS_SEL_CODE, ATTR_CODE64
        vmcb_segment VMCB_SS, GS_SEL_DATA, ATTR_DATA
        vmcb_segment VMCB_DS, GS_SEL_DATA, ATTR_DATA
        vmcb_segment VMCB_ES, GS_SEL_DATA, ATTR_DATA
        subq    $16, %rsp
        sgdt    (%rsp)
        vmcb_dtr VMCB_GDTR
        sidt    (%rsp)
        vmcb_dtr VMCB_IDTR
        addq    $16, %rsp
        movq    %cr0, %rax
        movq    %rax, VMCB_CR0(%rdi)
        movq    %cr3, %rax
        movq    %rax, VMCB_CR3(%rdi)    /* the same page tables */
        movq    %cr4, %rax
        movq    %rax, VMCB_CR4(%rdi)
        movl    $MSR_EFER, %ecx
        rdmsr                           /* LME|LMA|SVME: VMRUN wants SVME in L2's EFER too */
        shlq    $32, %rdx
        orq     %rdx, %rax
        movq    %rax, VMCB_EFER(%rdi)
        movl    $0xffff0ff0, %eax       /* DR6 reset value; movl keeps bits 63:32 clear */
        movq    %rax, VMCB_DR6(%rdi)
        movq    $0x400, VMCB_DR7(%rdi)
        movabsq $0x0007040600070406, %rax /* PAT reset value */
        movq    %rax, VMCB_G_PAT(%rdi)
        movq    $2, VMCB_RFLAGS(%rdi)   /* IF clear: L2 takes no interrupts */
        leaq    l2_entry(%rip), %rax
        movq    %rax, VMCB_RIP(%rdi)
        leaq    GS_L2_STACK_TOP(%rdi), %rax
        movq    %rax, VMCB_RSP(%rdi)

        movq    %rdi, %rax              /* VMRUN takes the VMCB's address in RAX */
l1_run:
        clgi                            /* no interrupt between here and L2 */
        vmrun                           /* runs L2 until an intercepted event */
        /* #VMEXIT: RAX, RSP, RIP are L1's again; the other GPRs are L2's. */
        stgi
        movq    VMCB_EXIT_CODE(%rax), %rcx
        cmpq    $SVM_EXIT_CPUID, %rcx
        jne     l1_fail
        incq    (GS_DATA - GS_VMCB + GS_L1_EXITS)(%rax)
        addq    $2, VMCB_RIP(%rax)      /* skip L2's CPUID (0f a2); its registers stay as they were */
        jmp     l1_run

/* An exit L1 does not handle: record it, tell the VMM, stop. */
l1_fail:
        movq    %rcx, (GS_DATA - GS_VMCB + GS_FAIL_CODE)(%rax)
        outb    %al, $GS_PORT_FAIL
1:      hlt
        jmp     1b

/*
 * L2.  Entered by VMRUN with RSP = the top of its stack page, which lies a
 * fixed distance above its vCPU's data page.
 */
l2_entry:
        leaq    (GS_DATA - GS_L2_STACK_TOP)(%rsp), %rbx /* this vCPU's data page */
        incq    GS_L2_COUNTER(%rbx)
        outb    %al, $GS_PORT_TICK      /* not intercepted by L1: L0 KVM exits to the VMM */
        testb   $15, GS_L2_COUNTER(%rbx)
        jnz     l2_entry
        cpuid                           /* every 16th turn: intercepted by L1 */
        jmp     l2_entry
nv_guest_svm_code_end:

        .section .note.GNU-stack, "", @progbits
