/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest the reference VMM runs on a real /dev/kvm with nested SVM: on
 * every vCPU an L1 hypervisor (started by the VMM directly in 64-bit long
 * mode) runs an L2 guest with VMRUN and handles its CPUID exits.
 *
 * L2 counts loop turns in its vCPU's data page and does `out 0x80` on each
 * turn: L1 does not intercept I/O, so L0 KVM exits to userspace while the
 * vCPU is in guest mode, which is where a save finds it.  Every 16th turn
 * L2 executes CPUID, which L1 intercepts and counts.
 *
 * This header is shared with guest-svm-code.S: the guest-physical layout
 * below is what both the VMM and the guest code rely on.
 */
#pragma once

/* Guest-physical layout (identity-mapped, 2 MiB pages). */
#define GS_MEM_SIZE      0x400000 /* 4 MiB of guest RAM */
#define GS_PML4_GPA      0x1000
#define GS_PDPT_GPA      0x2000
#define GS_PD_GPA        0x3000
#define GS_GDT_GPA       0x4000
#define GS_CODE_GPA      0x10000
#define GS_VCPU_GPA      0x100000 /* the first vCPU's area */
#define GS_VCPU_STRIDE   0x8000   /* each vCPU's area: 8 pages */
#define GS_MAX_VCPUS     64

/* Inside one vCPU's area. */
#define GS_VMCB          0x0000 /* L2's VMCB (vmcb12) */
#define GS_DATA          0x1000 /* counters, read by the VMM */
#define GS_HSAVE         0x2000 /* VM_HSAVE_PA page */
#define GS_L2_STACK_TOP  0x4000 /* L2's RSP: the stack page is 0x3000..0x3fff */
#define GS_L1_STACK_TOP  0x5000 /* L1's RSP: the stack page is 0x4000..0x4fff */

/* Inside the data page. */
#define GS_L2_COUNTER    0x00 /* u64: L2 loop turns */
#define GS_L1_EXITS      0x08 /* u64: CPUID exits L1 handled */
#define GS_FAIL_CODE     0x10 /* u64: the exit code L1 did not expect */

/* Ports. */
#define GS_PORT_TICK     0x80 /* L2, every turn */
#define GS_PORT_FAIL     0xf4 /* L1, on an exit it does not handle; then it halts */

/* GDT selectors (the VMM's GDT at GS_GDT_GPA). */
#define GS_SEL_CODE      0x08
#define GS_SEL_DATA      0x10
#define GS_SEL_TSS       0x18

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "kvm.h"

/* The guest code, from guest-svm-code.S; it is position-independent. */
extern const uint8_t nv_guest_svm_code[], nv_guest_svm_code_end[];

/* Writes page tables, GDT and code into mem (GS_MEM_SIZE bytes, zeroed). */
void nv_guest_svm_build(uint8_t *mem);

/* Points vCPU index at L1's entry in 64-bit mode, with its own area. */
int nv_guest_svm_boot_vcpu(NvVcpu *vcpu, unsigned index, NvError **reterr);

/* One u64 of vCPU index's data page (GS_L2_COUNTER, GS_L1_EXITS, GS_FAIL_CODE). */
uint64_t nv_guest_svm_data(const uint8_t *mem, unsigned index, unsigned offset);
#endif
