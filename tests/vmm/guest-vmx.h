/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest the reference VMM can run on a real /dev/kvm with nested VMX:
 * the SVM guest's memory image, vCPU areas and L2 (guest-svm.h), with an L1
 * that uses VMX.  L1 turns VMX on (IA32_FEATURE_CONTROL, CR4.VMXE, VMXON),
 * builds a VMCS whose controls are the vCPU's must-be-1 bits plus VMCS
 * shadowing (so a guest-mode state carries a shadow vmcs12: 8320 bytes),
 * and launches L2.  L2 counts, does `out 0x80` (no I/O exiting: L0 exits to
 * userspace in guest mode) and every 16th turn CPUID, which exits to L1.
 *
 * Shared with guest-vmx-code.S.
 */
#pragma once

#include "guest-svm.h"

#define GX_CODE_GPA       (GS_CODE_GPA + 0x4000) /* after the SVM guest's code */

/* Inside one vCPU's area (GS_VCPU_STRIDE bytes), besides GS_DATA and the stacks. */
#define GX_VMCS           0x0000 /* the VMCS L1 launches L2 with (vmcs12) */
#define GX_VMXON          0x2000 /* the VMXON region */
#define GX_SHADOW         0x5000 /* the shadow VMCS: vmcs_link_pointer */
#define GX_VMREAD_BITMAP  0x6000
#define GX_VMWRITE_BITMAP 0x7000

#ifndef __ASSEMBLER__
/* The guest code, from guest-vmx-code.S; position-independent. */
extern const uint8_t nv_guest_vmx_code[], nv_guest_vmx_code_end[];

/* Writes page tables, GDT and code into mem (GS_MEM_SIZE bytes, zeroed). */
void nv_guest_vmx_build(uint8_t *mem);

/* Points vCPU index at L1's entry in 64-bit mode, with its own area. */
int nv_guest_vmx_boot_vcpu(NvVcpu *vcpu, unsigned index, NvError **reterr);
#endif
