/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VMM's side of the nested SVM guest: memory image and L1's boot state. */
#include <string.h>

#include "guest-svm.h"
#include "x86-arch.h"

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITE    (1ull << 1)
#define PTE_LARGE    (1ull << 7)
#define PAGE_2M      0x200000ull

#define TSS_GPA      (GS_GDT_GPA + 0x800) /* an all-zero 64-bit TSS: never used, but TR must name one */
#define TSS_LIMIT    0x67

/* GDT descriptors; the VMCB attributes in guest-svm-code.S match them. */
#define DESC_CODE64  0x00af9b000000ffffull /* G, L, P, S, execute/read/accessed */
#define DESC_DATA    0x00cf93000000ffffull /* G, D/B, P, S, read/write/accessed */
#define DESC_TSS_LO  (0x00008b0000000000ull | TSS_LIMIT | ((uint64_t) TSS_GPA << 16)) /* P, busy 64-bit TSS */

void nv_guest_svm_build(uint8_t *mem) {
        uint64_t *pml4 = (uint64_t *) (mem + GS_PML4_GPA);
        uint64_t *pdpt = (uint64_t *) (mem + GS_PDPT_GPA);
        uint64_t *pd = (uint64_t *) (mem + GS_PD_GPA);
        uint64_t *gdt = (uint64_t *) (mem + GS_GDT_GPA);

        _Static_assert(TSS_GPA < 0x1000000, "the TSS descriptor holds 24 bits of base here");
        _Static_assert(GS_VCPU_GPA + GS_MAX_VCPUS * GS_VCPU_STRIDE <= GS_MEM_SIZE, "vCPU areas fit in RAM");
        /* Identity map of all of RAM with 2 MiB pages: L1 and L2 share it. */
        pml4[0] = GS_PDPT_GPA | PTE_PRESENT | PTE_WRITE;
        pdpt[0] = GS_PD_GPA | PTE_PRESENT | PTE_WRITE;
        for (uint64_t i = 0; i < GS_MEM_SIZE / PAGE_2M; i++)
                pd[i] = i * PAGE_2M | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
        gdt[GS_SEL_CODE / 8] = DESC_CODE64;
        gdt[GS_SEL_DATA / 8] = DESC_DATA;
        gdt[GS_SEL_TSS / 8] = DESC_TSS_LO; /* the high half (base 63:32) stays 0 */
        memcpy(mem + GS_CODE_GPA, nv_guest_svm_code, (size_t) (nv_guest_svm_code_end - nv_guest_svm_code));
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64) {
        return (struct kvm_segment) { .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                                      .present = 1, .s = 1, .db = !code64, .l = code64, .g = 1 };
}

/* 64-bit long mode with paging on, as if a boot loader had run. */
static void long_mode_sregs(struct kvm_sregs *sr) {
        sr->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
        sr->cr3 = GS_PML4_GPA;
        sr->cr4 = X86_CR4_PAE;
        sr->efer = X86_EFER_LME | X86_EFER_LMA; /* L1 turns on SVME itself */
        sr->cs = flat_segment(GS_SEL_CODE, 0xb, true);
        sr->ds = sr->es = sr->fs = sr->gs = sr->ss = flat_segment(GS_SEL_DATA, 0x3, false);
        sr->tr = (struct kvm_segment) { .base = TSS_GPA, .limit = TSS_LIMIT, .selector = GS_SEL_TSS, .type = 0xb, .present = 1 };
        sr->ldt = (struct kvm_segment) { .unusable = 1 };
        sr->gdt = (struct kvm_dtable) { .base = GS_GDT_GPA, .limit = 5 * 8 - 1 }; /* null, code, data, TSS (2 slots) */
        sr->idt = (struct kvm_dtable) { .base = 0, .limit = 0 }; /* any exception is a triple fault: the VMM sees it */
}

int nv_guest_svm_boot_vcpu(NvVcpu *vcpu, unsigned index, NvError **reterr) {
        uint64_t area = GS_VCPU_GPA + (uint64_t) index * GS_VCPU_STRIDE;
        struct kvm_regs regs = { .rip = GS_CODE_GPA, .rdi = area, .rsp = area + GS_L1_STACK_TOP, .rflags = X86_EFLAGS_FIXED };
        struct kvm_sregs sr;
        int r;

        if (index >= GS_MAX_VCPUS)
                return nv_error_set(reterr, -E2BIG, "The nested SVM guest has room for %d vCPUs.", GS_MAX_VCPUS);
        r = nv_kvm_get_sregs(vcpu, &sr, reterr);
        if (r < 0)
                return r;
        long_mode_sregs(&sr);
        r = nv_kvm_set_sregs(vcpu, &sr, reterr);
        return r < 0 ? r : nv_kvm_set_regs(vcpu, &regs, reterr);
}

uint64_t nv_guest_svm_data(const uint8_t *mem, unsigned index, unsigned offset) {
        uint64_t val;

        /* The guest writes these while the vCPU runs; the VMM reads them between KVM_RUNs. */
        memcpy(&val, mem + GS_VCPU_GPA + (size_t) index * GS_VCPU_STRIDE + GS_DATA + offset, sizeof(val));
        return val;
}
