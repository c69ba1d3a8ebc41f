/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A multiboot kernel for QEMU (`-kernel l1.bin`) that runs the reference
 * VMM's L1 hypervisor (tests/vmm/guest-svm-code.S) on the boot vCPU: it
 * sets up what the reference VMM sets up from outside (identity-mapped page
 * tables, a GDT with its selectors, a TSS, long mode), zeroes the vCPU's
 * area and jumps to L1, which enables SVM and runs L2 forever.  The other
 * vCPUs are never started: they keep no nested state.  Loaded with the
 * multiboot "a.out kludge" (addresses in the header), since QEMU loads no
 * 64-bit ELF as a multiboot kernel.
 */
#include "guest-svm.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010000 /* bit 16: the load addresses are in this header */

        .section .text.boot, "ax"
        .code32
        .globl  _start
mb_header:
        .long   MB_MAGIC
        .long   MB_FLAGS
        .long   -(MB_MAGIC + MB_FLAGS)
        .long   mb_header       /* header_addr */
        .long   _image_start    /* load_addr */
        .long   _load_end       /* load_end_addr */
        .long   _bss_end        /* bss_end_addr */
        .long   _start          /* entry_addr */

_start:
        cli
        movl    $boot_stack_top, %esp
        /* Page tables as the reference VMM's: PML4 -> PDPT -> PD of 2 MiB pages, the first 16 MiB identity-mapped. */
        movl    $GS_PML4_GPA, %edi
        xorl    %eax, %eax
        movl    $(3 * 4096 / 4), %ecx
        rep stosl
        movl    $(GS_PDPT_GPA | 3), GS_PML4_GPA
        movl    $(GS_PD_GPA | 3), GS_PDPT_GPA
        movl    $0x83, %eax             /* present, writable, 2 MiB */
        movl    $GS_PD_GPA, %edi
        movl    $8, %ecx
1:      movl    %eax, (%edi)
        addl    $0x200000, %eax
        addl    $8, %edi
        loop    1b
        /* The TSS descriptor's base. */
        movl    $tss, %eax
        movw    %ax, gdt_tss + 2
        shrl    $16, %eax
        movb    %al, gdt_tss + 4
        movb    %ah, gdt_tss + 7
        lgdt    gdt_ptr
        movl    $GS_PML4_GPA, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $0x20, %eax             /* PAE */
        movl    %eax, %cr4
        movl    $0xc0000080, %ecx       /* EFER */
        rdmsr
        orl     $0x100, %eax            /* LME */
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000001, %eax       /* PG, PE */
        movl    %eax, %cr0
        ljmp    $GS_SEL_CODE, $long_mode

        .code64
long_mode:
        movw    $GS_SEL_DATA, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    %ax, %fs
        movw    %ax, %gs
        movw    $GS_SEL_TSS, %ax
        ltr     %ax
        /* vCPU 0's area, zeroed (its VMCB page must start clean), then L1 with RDI = the area. */
        movq    $GS_VCPU_GPA, %rdi
        xorl    %eax, %eax
        movl    $(GS_VCPU_STRIDE / 8), %ecx
        rep stosq
        movq    $GS_VCPU_GPA, %rdi
        leaq    GS_L1_STACK_TOP(%rdi), %rsp
        jmp     nv_guest_svm_code

        .section .data.boot, "aw"
        .balign 16
gdt:
        .quad   0
        .quad   0x00af9b000000ffff      /* 0x08: 64-bit code */
        .quad   0x00cf93000000ffff      /* 0x10: data */
gdt_tss:
        .quad   0x0000890000000067      /* 0x18: 64-bit TSS, base filled in above */
        .quad   0
gdt_end:
gdt_ptr:
        .word   gdt_end - gdt - 1
        .quad   gdt
        .balign 16
tss:
        .fill   104, 1, 0

        .section .bss.boot, "aw", @nobits
        .balign 16
        .fill   4096, 1, 0
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
