/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel as referee for the VMX validator.  Four base states are built
 * without an L1 VMX guest, from the target vCPU's own nested VMX capability
 * MSRs: VMXON only (128 bytes), VMXON with a current vmcs12 (4224), guest
 * mode (4224) and guest mode with a shadow VMCS (8320).  Each is mutated by
 * name and by seeded random single-bit flips, and every mutant goes to
 * KVM_SET_NESTED_STATE on a fresh vCPU and to the validator, which gets the
 * context that vCPU yields (nv_vcpu_validate_context(): vendor, SMM, EFER,
 * CPUID, MAXPHYADDR, the VMX MSRs) plus the one fact it cannot read (the
 * enlightened VMCS capability, which nobody enabled).  The validator must
 * give the kernel's verdict: accept, refuse with the kernel's errno, or -
 * for a guest CR3 the kernel cannot load - NV_ERR_LEFT_GUEST_MODE where the
 * kernel returns 2.  Any disagreement fails the test, both directions.
 *
 * The validator also judges every case a second time with what `verify
 * --dest-caps` has: this host's capabilities document (formatted and
 * parsed back: CPUID, MAXPHYADDR, the VMX capability MSRs, eVMCS/SMM) plus
 * the target vCPU's own registers, which no document carries; it must
 * agree with the kernel just the same.
 *
 *   test-kvm-referee-vmx [SEED]    skips (77) without nested VMX
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "byteorder.h"
#include "driver-private.h"
#include "guest-vmx.h"
#include "helpers.h"
#include "host-caps.h"
#include "real-kvm.h"
#include "validate.h"

#define MEM_SIZE (1u << 20)
#define VMXON_PA 0x10000ull
#define VMCS12_PA 0x11000ull
#define SHADOW_PA 0x12000ull /* the shadow VMCS, which vmcs_link_pointer points at */
#define VMCS(off) (NV_OFF_DATA + (off))
#define SHADOW(off) (NV_OFF_DATA + NV_VMCS12_AREA_SIZE + (off))
#define N_FLIPS 50 /* per base state */
#define VCPUS_PER_VM 200
#define AT_LIMIT UINT64_MAX - 1 /* a MUT_SET value: 1 << the target's MAXPHYADDR */

enum { BASE_VMXON, BASE_VMCS12, BASE_GUEST, BASE_SHADOW, N_BASES };
static const char *const base_names[N_BASES] = { "vmxon", "vmcs12", "guest", "shadow" };

typedef enum MutOp { MUT_SET, MUT_OR, MUT_CLEAR } MutOp;

typedef struct Change {
        unsigned off, width; /* blob offset; 1, 2, 4 or 8 bytes little endian; width 0: none */
        MutOp op;
        uint64_t val;
} Change;

typedef struct Mutation {
        int base;
        const char *name;
        Change ch[3];
} Mutation;

typedef struct Tally {
        unsigned cases, agree, kernel_accepts, kernel_two, doc_agree;
} Tally;

typedef struct Referee {
        uint8_t *mem;
        size_t mem_size;
        const NvVcpuRegsNested *prereq; /* loaded into every fresh vCPU (its nested state left out), or NULL */
        NvKvm *kvm;
        unsigned vcpus; /* created in kvm so far */
        NvValidateContext ctx;
        NvValidateContext doc_ctx; /* verify --dest-caps: the host's document and ctx's vCPU registers */
        _Alignas(8) uint8_t base[N_BASES][NV_VMX_MAX_SIZE];
        size_t base_len[N_BASES];
} Referee;

static unsigned seed = 1;

static const Mutation named[] = {
        { BASE_VMXON, "unchanged", {} },
        { BASE_VMXON, "vmxon_pa |= 1", { { NV_OFF_VMXON_PA, 8, MUT_OR, 1 } } },
        { BASE_VMXON, "vmxon_pa = 1 << MAXPHYADDR", { { NV_OFF_VMXON_PA, 8, MUT_SET, AT_LIMIT } } },
        { BASE_VMXON, "vmxon_pa = -1 (leave VMX)", { { NV_OFF_VMXON_PA, 8, MUT_SET, UINT64_MAX } } },
        { BASE_VMXON, "vmxon_pa = -1, flags = EVMCS", { { NV_OFF_VMXON_PA, 8, MUT_SET, UINT64_MAX }, { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_EVMCS } } },
        { BASE_VMXON, "vmxon_pa = -1, smm.flags = VMXON", { { NV_OFF_VMXON_PA, 8, MUT_SET, UINT64_MAX }, { NV_OFF_SMM_FLAGS, 2, MUT_SET, NV_SMM_VMXON } } },
        { BASE_VMXON, "vmcs12_pa set, size 128", { { NV_OFF_VMCS12_PA, 8, MUT_SET, VMCS12_PA } } },
        { BASE_VMXON, "flags = GUEST_MODE, size 128", { { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_GUEST_MODE } } },
        { BASE_VMXON, "flags = RUN_PENDING", { { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_RUN_PENDING } } },
        { BASE_VMXON, "flags = GIF_SET", { { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_GIF_SET } } },
        { BASE_VMXON, "smm.flags = SMM_VMXON (not in SMM)", { { NV_OFF_SMM_FLAGS, 2, MUT_SET, NV_SMM_VMXON } } },
        { BASE_VMXON, "hdr.vmx.flags = 2", { { NV_OFF_VMX_FLAGS, 4, MUT_SET, 2 } } },
        { BASE_VMXON, "size = 127", { { NV_OFF_SIZE, 4, MUT_SET, 127 } } },
        { BASE_VMXON, "format = 1 (SVM)", { { NV_OFF_FORMAT, 2, MUT_SET, 1 } } },
        { BASE_VMCS12, "unchanged", {} },
        { BASE_VMCS12, "vmcs12_pa = vmxon_pa", { { NV_OFF_VMCS12_PA, 8, MUT_SET, VMXON_PA } } },
        { BASE_VMCS12, "vmcs12_pa |= 0x800", { { NV_OFF_VMCS12_PA, 8, MUT_OR, 0x800 } } },
        { BASE_VMCS12, "vmcs12_pa = 1 << MAXPHYADDR", { { NV_OFF_VMCS12_PA, 8, MUT_SET, AT_LIMIT } } },
        { BASE_VMCS12, "vmcs12_pa = -1", { { NV_OFF_VMCS12_PA, 8, MUT_SET, UINT64_MAX } } },
        { BASE_VMCS12, "size = 1125", { { NV_OFF_SIZE, 4, MUT_SET, 1125 } } },
        { BASE_VMCS12, "size = 1126", { { NV_OFF_SIZE, 4, MUT_SET, 1126 } } },
        { BASE_VMCS12, "revision = 0x12345678", { { VMCS(VMCS12_REVISION_ID), 4, MUT_SET, 0x12345678 } } },
        { BASE_VMCS12, "revision |= bit 31", { { VMCS(VMCS12_REVISION_ID), 4, MUT_OR, VMCS_SHADOW_BIT } } },
        { BASE_VMCS12, "guest_cr3 = 1 << 52 (not checked outside L2)", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, 1ull << 52 } } },
        { BASE_VMCS12, "pin = 0 (not checked outside L2)", { { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 4, MUT_SET, 0 } } },
        { BASE_VMCS12, "flags = EVMCS", { { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_EVMCS } } },
        { BASE_VMCS12, "flags = MTF_PENDING", { { NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_MTF_PENDING } } },
        { BASE_GUEST, "unchanged", {} },
        { BASE_GUEST, "guest_cr3 = 1 << MAXPHYADDR", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, AT_LIMIT } } },
        { BASE_GUEST, "guest_cr3 = 1 << 52", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, 1ull << 52 } } },
        { BASE_GUEST, "guest_cr3 = -1", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, UINT64_MAX } } },
        { BASE_GUEST, "guest_cr3 |= 0xfff", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_OR, 0xfff } } },
        { BASE_GUEST, "host_cr3 = 1 << MAXPHYADDR", { { VMCS(VMCS12_HOST_CR3), 8, MUT_SET, AT_LIMIT } } },
        { BASE_GUEST, "flags |= RUN_PENDING", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_RUN_PENDING } } },
        { BASE_GUEST, "flags |= MTF_PENDING", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_MTF_PENDING } } },
        { BASE_GUEST, "flags |= GIF_SET", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_GIF_SET } } },
        { BASE_GUEST, "flags |= EVMCS", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_EVMCS } } },
        { BASE_GUEST, "flags |= 0x10", { { NV_OFF_FLAGS, 2, MUT_OR, 0x10 } } },
        { BASE_GUEST, "smm.flags = SMM_GUEST_MODE|SMM_VMXON", { { NV_OFF_SMM_FLAGS, 2, MUT_SET, 3 } } },
        { BASE_GUEST, "hdr.vmx.flags = PREEMPTION_TIMER_DEADLINE", { { NV_OFF_VMX_FLAGS, 4, MUT_SET, 1 } } },
        { BASE_GUEST, "pin |= bit 30 (not allowed)", { { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 4, MUT_OR, 1u << 30 } } },
        { BASE_GUEST, "pin = 0 (lacks fixed-1 bits)", { { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 4, MUT_SET, 0 } } },
        { BASE_GUEST, "pin |= virtual NMIs (no NMI exiting)", { { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 4, MUT_OR, PIN_BASED_VIRTUAL_NMIS } } },
        { BASE_GUEST, "cpu |= I/O bitmaps at 0", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_USE_IO_BITMAPS } } },
        { BASE_GUEST, "cpu |= I/O bitmaps, io_bitmap_a |= 8", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_USE_IO_BITMAPS }, { VMCS(VMCS12_IO_BITMAP_A), 8, MUT_SET, 0x3008 } } },
        { BASE_GUEST, "cpu |= MSR bitmaps, beyond MAXPHYADDR", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_USE_MSR_BITMAPS }, { VMCS(VMCS12_MSR_BITMAP), 8, MUT_SET, AT_LIMIT } } },
        { BASE_GUEST, "cpu |= secondary, VPID 0", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS }, { VMCS(VMCS12_SECONDARY_VM_EXEC_CONTROL), 4, MUT_SET, SECONDARY_EXEC_ENABLE_VPID }, { VMCS(VMCS12_VIRTUAL_PROCESSOR_ID), 2, MUT_SET, 0 } } },
        { BASE_GUEST, "cpu |= secondary, VPID 1", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS }, { VMCS(VMCS12_SECONDARY_VM_EXEC_CONTROL), 4, MUT_SET, SECONDARY_EXEC_ENABLE_VPID } } },
        { BASE_GUEST, "cpu |= secondary, unrestricted, no EPT", { { VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL), 4, MUT_OR, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS }, { VMCS(VMCS12_SECONDARY_VM_EXEC_CONTROL), 4, MUT_SET, SECONDARY_EXEC_UNRESTRICTED_GUEST } } },
        { BASE_GUEST, "cr3_target_count = 5", { { VMCS(VMCS12_CR3_TARGET_COUNT), 4, MUT_SET, 5 } } },
        { BASE_GUEST, "exit |= host address-space size", { { VMCS(VMCS12_VM_EXIT_CONTROLS), 4, MUT_OR, VM_EXIT_HOST_ADDR_SPACE_SIZE } } },
        { BASE_GUEST, "entry |= IA-32e mode guest", { { VMCS(VMCS12_VM_ENTRY_CONTROLS), 4, MUT_OR, VM_ENTRY_IA32E_MODE } } },
        { BASE_GUEST, "entry = 0 (lacks fixed-1 bits)", { { VMCS(VMCS12_VM_ENTRY_CONTROLS), 4, MUT_SET, 0 } } },
        { BASE_GUEST, "entry: inject #GP with error code", { { VMCS(VMCS12_VM_ENTRY_INTR_INFO_FIELD), 4, MUT_SET, 0x80000b0d } } },
        { BASE_GUEST, "entry: inject #GP without error code", { { VMCS(VMCS12_VM_ENTRY_INTR_INFO_FIELD), 4, MUT_SET, 0x8000030d } } },
        { BASE_GUEST, "entry: inject type 1 (reserved)", { { VMCS(VMCS12_VM_ENTRY_INTR_INFO_FIELD), 4, MUT_SET, 0x80000120 } } },
        { BASE_GUEST, "RUN_PENDING, load EFER, EFER 0", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_RUN_PENDING }, { VMCS(VMCS12_VM_ENTRY_CONTROLS), 4, MUT_OR, VM_ENTRY_LOAD_IA32_EFER } } },
        { BASE_GUEST, "load EFER, EFER.LMA, no RUN_PENDING", { { VMCS(VMCS12_VM_ENTRY_CONTROLS), 4, MUT_OR, VM_ENTRY_LOAD_IA32_EFER }, { VMCS(VMCS12_GUEST_IA32_EFER), 8, MUT_SET, X86_EFER_LMA } } },
        { BASE_GUEST, "host_cr0 &= ~PE", { { VMCS(VMCS12_HOST_CR0), 8, MUT_CLEAR, X86_CR0_PE } } },
        { BASE_GUEST, "host_cr4 &= ~VMXE", { { VMCS(VMCS12_HOST_CR4), 8, MUT_CLEAR, X86_CR4_VMXE } } },
        { BASE_GUEST, "host_cr4 |= PCIDE", { { VMCS(VMCS12_HOST_CR4), 8, MUT_OR, X86_CR4_PCIDE } } },
        { BASE_GUEST, "host_cs = 0", { { VMCS(VMCS12_HOST_CS_SELECTOR), 2, MUT_SET, 0 } } },
        { BASE_GUEST, "host_ss |= RPL 3", { { VMCS(VMCS12_HOST_SS_SELECTOR), 2, MUT_OR, 3 } } },
        { BASE_GUEST, "host_tr = 0", { { VMCS(VMCS12_HOST_TR_SELECTOR), 2, MUT_SET, 0 } } },
        { BASE_GUEST, "host_rip = 1 << 32", { { VMCS(VMCS12_HOST_RIP), 8, MUT_SET, 1ull << 32 } } },
        { BASE_GUEST, "host_fs_base non-canonical", { { VMCS(VMCS12_HOST_FS_BASE), 8, MUT_SET, 1ull << 47 } } },
        { BASE_GUEST, "guest_cr0 &= ~PG", { { VMCS(VMCS12_GUEST_CR0), 8, MUT_CLEAR, X86_CR0_PG } } },
        { BASE_GUEST, "guest_cr4 &= ~VMXE", { { VMCS(VMCS12_GUEST_CR4), 8, MUT_CLEAR, X86_CR4_VMXE } } },
        { BASE_GUEST, "guest_cr4 |= bit 25 (reserved)", { { VMCS(VMCS12_GUEST_CR4), 8, MUT_OR, CPU_BASED_USE_IO_BITMAPS } } },
        { BASE_GUEST, "guest_rflags = -1 (not checked)", { { VMCS(VMCS12_GUEST_RFLAGS), 8, MUT_SET, UINT64_MAX } } },
        { BASE_GUEST, "activity = HLT", { { VMCS(VMCS12_GUEST_ACTIVITY_STATE), 4, MUT_SET, 1 } } },
        { BASE_GUEST, "activity = shutdown", { { VMCS(VMCS12_GUEST_ACTIVITY_STATE), 4, MUT_SET, 2 } } },
        { BASE_GUEST, "vmcs_link_pointer = 0x7008", { { VMCS(VMCS12_VMCS_LINK_POINTER), 8, MUT_SET, 0x7008 } } },
        { BASE_SHADOW, "unchanged", {} },
        { BASE_SHADOW, "size = 5222", { { NV_OFF_SIZE, 4, MUT_SET, 5222 } } },
        { BASE_SHADOW, "size = 5221", { { NV_OFF_SIZE, 4, MUT_SET, 5221 } } },
        { BASE_SHADOW, "size = 4224", { { NV_OFF_SIZE, 4, MUT_SET, 4224 } } },
        { BASE_SHADOW, "shadow revision without shadow bit", { { SHADOW(VMCS12_REVISION_ID), 4, MUT_CLEAR, VMCS_SHADOW_BIT } } },
        { BASE_SHADOW, "shadow revision = 0", { { SHADOW(VMCS12_REVISION_ID), 4, MUT_SET, 0 } } },
        { BASE_SHADOW, "vmread_bitmap |= 0x10", { { VMCS(VMCS12_VMREAD_BITMAP), 8, MUT_OR, 0x10 } } },
        { BASE_SHADOW, "vmwrite_bitmap = 1 << MAXPHYADDR", { { VMCS(VMCS12_VMWRITE_BITMAP), 8, MUT_SET, AT_LIMIT } } },
        { BASE_SHADOW, "guest_cr3 = 1 << MAXPHYADDR", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, AT_LIMIT } } },
        { BASE_SHADOW, "flags = 0 (VMXON, vmcs12, not in L2)", { { NV_OFF_FLAGS, 2, MUT_SET, 0 } } },
};

static void apply(uint8_t *b, const Change *ch, unsigned maxphyaddr) {
        uint64_t v = 0, val = ch->val == AT_LIMIT ? 1ull << maxphyaddr : ch->val;

        if (!ch->width)
                return;
        memcpy(&v, b + ch->off, ch->width); /* little endian host */
        v = ch->op == MUT_SET ? val : ch->op == MUT_OR ? v | val : v & ~val;
        memcpy(b + ch->off, &v, ch->width);
}

/* A fresh vCPU in the referee's VM (a new VM every VCPUS_PER_VM vCPUs). */
static NvVcpu *fresh_vcpu(Referee *r) {
        NvVcpu *vcpu = NULL;

        if (!r->kvm || r->vcpus == VCPUS_PER_VM) {
                nv_kvm_free(r->kvm);
                r->kvm = NULL;
                assert_int_equal(nv_kvm_open(NULL, &r->kvm, NULL), 0);
                assert_int_equal(nv_kvm_create_vm(r->kvm, NULL), 0);
                assert_int_equal(nv_kvm_set_memory(r->kvm, r->mem, r->mem_size, NULL), 0);
                r->vcpus = 0;
        }
        assert_int_equal(nv_kvm_create_vcpu(r->kvm, r->vcpus++, &vcpu, NULL), 0);
        if (r->prereq) {
                NvVcpuRegsNested regs_only = *r->prereq;

                regs_only.nested = (NvBlob) {};
                assert_int_equal(nv_vcpu_load_regs_nested(vcpu, &regs_only, NULL), 0);
        }
        return vcpu;
}

static uint64_t ctx_msr(const Referee *r, unsigned msr) {
        return r->ctx.vmx_msrs[msr - NV_VMX_MSR_FIRST];
}

/*
 * A vmcs12 VM entry accepts on a fresh vCPU (EFER.LMA clear, so a 32-bit
 * host): every control at its fixed-1 bits, CR0 and CR4 at the fixed-1
 * bits of the IA32_VMX_CR*_FIXED0 MSRs, flat host selectors.
 */
static void build_vmcs12(const Referee *r, uint8_t *v) {
        put_le32(v + VMCS12_REVISION_ID, NV_VMCS12_REVISION);
        put_le32(v + VMCS12_LAUNCH_STATE, VMCS12_LAUNCHED);
        put_le64(v + VMCS12_VMCS_LINK_POINTER, UINT64_MAX);
        put_le32(v + VMCS12_PIN_BASED_VM_EXEC_CONTROL, (uint32_t) ctx_msr(r, MSR_IA32_VMX_TRUE_PINBASED_CTLS));
        put_le32(v + VMCS12_CPU_BASED_VM_EXEC_CONTROL, (uint32_t) ctx_msr(r, MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
        put_le32(v + VMCS12_VM_EXIT_CONTROLS, (uint32_t) ctx_msr(r, MSR_IA32_VMX_TRUE_EXIT_CTLS));
        put_le32(v + VMCS12_VM_ENTRY_CONTROLS, (uint32_t) ctx_msr(r, MSR_IA32_VMX_TRUE_ENTRY_CTLS));
        put_le16(v + VMCS12_VIRTUAL_PROCESSOR_ID, 1); /* for the VPID mutations; unused otherwise */
        put_le64(v + VMCS12_HOST_CR0, ctx_msr(r, MSR_IA32_VMX_CR0_FIXED0));
        put_le64(v + VMCS12_HOST_CR3, 0x20000);
        put_le64(v + VMCS12_HOST_CR4, ctx_msr(r, MSR_IA32_VMX_CR4_FIXED0));
        put_le64(v + VMCS12_HOST_RIP, 0x1000);
        for (unsigned off = VMCS12_HOST_ES_SELECTOR; off <= VMCS12_HOST_TR_SELECTOR; off += 2) /* ES, CS, SS, DS, FS, GS, TR */
                put_le16(v + off, off == VMCS12_HOST_CS_SELECTOR ? 0x08 : off == VMCS12_HOST_TR_SELECTOR ? 0x18 : 0x10);
        put_le64(v + VMCS12_GUEST_CR0, ctx_msr(r, MSR_IA32_VMX_CR0_FIXED0));
        put_le64(v + VMCS12_GUEST_CR3, 0x30000);
        put_le64(v + VMCS12_GUEST_CR4, ctx_msr(r, MSR_IA32_VMX_CR4_FIXED0));
        put_le64(v + VMCS12_GUEST_RFLAGS, 0x202);
}

static void build_header(uint8_t *b, uint16_t flags, uint32_t size, uint64_t vmcs12_pa) {
        put_le16(b + NV_OFF_FLAGS, flags);
        put_le16(b + NV_OFF_FORMAT, NV_FORMAT_VMX);
        put_le32(b + NV_OFF_SIZE, size);
        put_le64(b + NV_OFF_VMXON_PA, VMXON_PA);
        put_le64(b + NV_OFF_VMCS12_PA, vmcs12_pa);
}

static void build_bases(Referee *r) {
        uint8_t *s = r->base[BASE_SHADOW];

        build_header(r->base[BASE_VMXON], 0, NV_NESTED_HDR_SIZE, NV_GPA_INVALID);
        build_header(r->base[BASE_VMCS12], 0, NV_SVM_MAX_SIZE, VMCS12_PA);
        build_vmcs12(r, r->base[BASE_VMCS12] + NV_OFF_DATA);
        memcpy(r->base[BASE_GUEST], r->base[BASE_VMCS12], NV_SVM_MAX_SIZE);
        put_le16(r->base[BASE_GUEST] + NV_OFF_FLAGS, NV_NESTED_GUEST_MODE);
        /* VMCS shadowing: the shadow vmcs12 in the blob, its page in guest memory, bitmaps. */
        memcpy(s, r->base[BASE_GUEST], NV_SVM_MAX_SIZE);
        put_le32(s + NV_OFF_SIZE, NV_VMX_MAX_SIZE);
        put_le32(s + VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL),
                 get_le32(s + VMCS(VMCS12_CPU_BASED_VM_EXEC_CONTROL)) | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
        put_le32(s + VMCS(VMCS12_SECONDARY_VM_EXEC_CONTROL), SECONDARY_EXEC_SHADOW_VMCS);
        put_le64(s + VMCS(VMCS12_VMREAD_BITMAP), 0x13000);
        put_le64(s + VMCS(VMCS12_VMWRITE_BITMAP), 0x14000);
        put_le64(s + VMCS(VMCS12_VMCS_LINK_POINTER), SHADOW_PA);
        put_le32(s + SHADOW(0), NV_VMCS12_REVISION | VMCS_SHADOW_BIT);
        put_le32(r->mem + SHADOW_PA, NV_VMCS12_REVISION | VMCS_SHADOW_BIT);
        r->base_len[BASE_VMXON] = NV_NESTED_HDR_SIZE;
        r->base_len[BASE_VMCS12] = r->base_len[BASE_GUEST] = NV_SVM_MAX_SIZE;
        r->base_len[BASE_SHADOW] = NV_VMX_MAX_SIZE;
}

/* The kernel's answer, with a positive return (L2 dropped) as nestvirt reports it. */
static int kernel_answer(Referee *r, const uint8_t *blob, int *raw) {
        NvVcpu *vcpu = fresh_vcpu(r);

        *raw = nv_kvm_set_nested_state_raw(vcpu, (const struct kvm_nested_state *) blob);
        nv_vcpu_free(vcpu);
        return *raw > 0 ? NV_ERR_LEFT_GUEST_MODE : *raw;
}

/* One case: kernel and validator on the same bytes.  Prints it if verbose or they disagree. */
static void referee(Referee *r, const char *name, const uint8_t *blob, bool verbose, Tally *t) {
        NvValidateResult vr, dr;
        int raw, k, v, d;
        bool same;

        k = kernel_answer(r, blob, &raw);
        v = nv_validate(blob, NV_VMX_MAX_SIZE, &r->ctx, &vr);
        same = k == v;
        d = nv_validate(blob, NV_VMX_MAX_SIZE, &r->doc_ctx, &dr);
        t->doc_agree += d == k;
        t->cases++;
        t->agree += same;
        t->kernel_accepts += k == 0;
        t->kernel_two += raw > 0;
        if (verbose || !same)
                printf("# %-46s %-7s %-9s %-5s %s\n", name,
                       raw > 0 ? "ret 2" : k == 0 ? "accept" : nv_errno_name(k),
                       v == NV_ERR_LEFT_GUEST_MODE ? "ret 2" : v == 0 ? "accept" : nv_errno_name(v), vr.rule ?: "",
                       same ? "" : "DISAGREE");
        if (!same)
                printf("#   validator: %s\n", v ? vr.message : "(accepted)");
        if (d != k)
                printf("#   DISAGREE with the host's document: %s\n", d ? dr.message : "(accepted)");
}

/*
 * doc_ctx: this host's capabilities document, formatted and parsed back
 * as verify --dest-caps reads it, then the vCPU's own facts from vcpu_ctx
 * (the registers the VMM restores with the state, and eVMCS, which a VMM
 * enables per vCPU).  Prints where the document's MSRs differ from the vCPU's.
 */
static void document_context(const NvValidateContext *vcpu_ctx, NvValidateContext *doc_ctx) {
        static NvHostInfo parsed;
        static bool have;
        NvHostInfo h = {};
        char *xml = NULL;

        if (!have) {
                assert_int_equal(nv_host_probe(NULL, NULL, &h, NULL), 0);
                nv_host_probe_target(NULL, NULL, &h);
                assert_true(h.target.measured);
                assert_int_equal(nv_host_caps_format(&h, &xml, NULL), 0);
                assert_int_equal(nv_host_caps_parse(xml, strlen(xml), 0, &parsed, NULL), 0);
                free(xml);
                assert_true(parsed.target.have_vmx_msrs);
                have = true;
        }
        nv_host_validate_context(&parsed, doc_ctx);
        for (unsigned i = 0; i < NV_VMX_MSR_COUNT; i++)
                if (doc_ctx->vmx_msrs[i] != vcpu_ctx->vmx_msrs[i])
                        printf("# document: MSR 0x%x = 0x%llx, the vCPU has 0x%llx\n", NV_VMX_MSR_FIRST + i,
                               (unsigned long long) doc_ctx->vmx_msrs[i], (unsigned long long) vcpu_ctx->vmx_msrs[i]);
        doc_ctx->in_smm = vcpu_ctx->in_smm;
        doc_ctx->have_cr0 = vcpu_ctx->have_cr0;
        doc_ctx->cr0 = vcpu_ctx->cr0;
        doc_ctx->lma = vcpu_ctx->lma;
        doc_ctx->svme = vcpu_ctx->svme;
        doc_ctx->evmcs_enabled = vcpu_ctx->evmcs_enabled;
}

static void test_bases_accepted(void **state) {
        Referee *r = *state;
        int raw;

        for (int b = 0; b < N_BASES; b++) {
                int k = kernel_answer(r, r->base[b], &raw);

                printf("# base %-7s %4zu bytes: kernel %s\n", base_names[b], r->base_len[b], nv_errno_name(k));
                assert_int_equal(k, 0);
        }
}

static void test_named_mutations(void **state) {
        _Alignas(8) uint8_t blob[NV_VMX_MAX_SIZE];
        Referee *r = *state;
        Tally t = {};
        char name[96];

        printf("# %-46s %-7s %-9s %s\n", "mutation", "kernel", "validator", "rule");
        for (size_t i = 0; i < ELEMENTSOF(named); i++) {
                memcpy(blob, r->base[named[i].base], sizeof(blob));
                for (size_t j = 0; j < ELEMENTSOF(named[i].ch); j++)
                        apply(blob, &named[i].ch[j], r->ctx.maxphyaddr);
                snprintf(name, sizeof(name), "%s: %s", base_names[named[i].base], named[i].name);
                referee(r, name, blob, true, &t);
        }
        printf("# named mutations: %u cases, kernel accepted %u, returned 2 %u, validator agrees on %u; with the host's document: agrees on %u\n",
               t.cases, t.kernel_accepts, t.kernel_two, t.agree, t.doc_agree);
        assert_int_equal(t.agree, t.cases);
        assert_int_equal(t.doc_agree, t.cases);
}

/* xorshift32: the same flips for the same seed on every machine. */
static uint32_t next_rand(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

/* The bytes KVM checks: header fields, then the vmcs12 fields V19 and V20 look at, the shadow's revision. */
static const struct {
        unsigned off, len;
} checked[] = {
        { 0, NV_OFF_PREEMPT_DEADLINE + 8 },      /* the header fields */
        { VMCS(VMCS12_IO_BITMAP_A), 24 },       /* I/O and MSR bitmaps */
        { VMCS(VMCS12_VMCS_LINK_POINTER), 8 },
        { VMCS(VMCS12_GUEST_IA32_PAT), 16 },    /* and EFER */
        { VMCS(VMCS12_HOST_IA32_PAT), 16 },     /* and EFER */
        { VMCS(VMCS12_VMREAD_BITMAP), 16 },     /* and the VMWRITE bitmap */
        { VMCS(VMCS12_GUEST_CR0), 24 },         /* CR0, CR3, CR4 */
        { VMCS(VMCS12_HOST_CR0), 96 },          /* host state up to RIP */
        { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 64 }, /* controls, counts, event injection */
        { VMCS(VMCS12_GUEST_ACTIVITY_STATE), 4 },
        { VMCS(VMCS12_VIRTUAL_PROCESSOR_ID), 2 },
        { VMCS(VMCS12_HOST_ES_SELECTOR), 14 },
        { SHADOW(VMCS12_REVISION_ID), 4 },
};

/* The n-th checked byte that lies inside a blob of len bytes (wrapping). */
static unsigned checked_byte(uint32_t n, size_t len) {
        unsigned total = 0;

        for (size_t i = 0; i < ELEMENTSOF(checked); i++)
                total += checked[i].off < len ? checked[i].len : 0;
        n %= total;
        for (size_t i = 0;; i++) {
                if (checked[i].off >= len)
                        continue;
                if (n < checked[i].len)
                        return checked[i].off + n;
                n -= checked[i].len;
        }
}

static void test_random_flips(void **state) {
        _Alignas(8) uint8_t blob[NV_VMX_MAX_SIZE];
        Referee *r = *state;
        uint32_t s = seed ?: 1;
        Tally t = {};
        char name[64];

        for (int b = 0; b < N_BASES; b++)
                for (unsigned i = 0; i < N_FLIPS; i++) {
                        /* Two thirds in the bytes KVM checks; a third anywhere in the base. */
                        uint32_t x = next_rand(&s);
                        unsigned off = i % 3 ? checked_byte(x, r->base_len[b]) : (unsigned) (x % r->base_len[b]);
                        unsigned bit = (x >> 16) % 8;

                        memcpy(blob, r->base[b], sizeof(blob));
                        blob[off] ^= (uint8_t) (1u << bit);
                        snprintf(name, sizeof(name), "%s: flip [0x%04x] bit %u", base_names[b], off, bit);
                        referee(r, name, blob, false, &t);
                }
        printf("# random flips (seed %u): %u cases, kernel accepted %u, returned 2 %u, validator agrees on %u; with the host's document: agrees on %u\n",
               seed, t.cases, t.kernel_accepts, t.kernel_two, t.agree, t.doc_agree);
        assert_int_equal(t.agree, t.cases);
        assert_int_equal(t.doc_agree, t.cases);
}

/*
 * The +2 case through nestvirt's own SET: with the target's context the
 * validator refuses it first (V20); with MAXPHYADDR unknown it lets it
 * through, the kernel returns 2, and nv_vcpu_set_nested() reports L2 lost
 * instead of success.  Either way GET shows the vCPU is not in L2.
 */
static void test_set_returns_two(void **state) {
        _Alignas(8) uint8_t blob[NV_VMX_MAX_SIZE];
        Referee *r = *state;
        NvValidateContext blind = r->ctx;
        NvBlob b = { .data = blob, .len = NV_SVM_MAX_SIZE }, after = {};
        NvError *err = NULL;
        NvVcpu *vcpu;
        int raw;

        memcpy(blob, r->base[BASE_GUEST], sizeof(blob));
        put_le64(blob + VMCS(VMCS12_GUEST_CR3), 1ull << (r->ctx.maxphyaddr + 4));
        vcpu = fresh_vcpu(r);
        raw = nv_kvm_set_nested_state_raw(vcpu, (const struct kvm_nested_state *) blob);
        assert_int_equal(nv_vcpu_get_nested(vcpu, false, &after, NULL), 0);
        printf("# raw KVM_SET_NESTED_STATE: returned %d; GET after: %zu bytes, flags 0x%x (not in L2)\n", raw, after.len,
               get_le16(after.data + NV_OFF_FLAGS));
        assert_int_equal(raw, 2);
        nv_blob_clear(&after);
        nv_vcpu_free(vcpu);
        vcpu = fresh_vcpu(r);
        assert_int_equal(nv_vcpu_set_nested(vcpu, &b, NULL, &err), NV_ERR_LEFT_GUEST_MODE);
        printf("# nv_vcpu_set_nested, target context: %s\n", err->message);
        nv_error_free(err);
        err = NULL;
        blind.maxphyaddr = 0;
        assert_int_equal(nv_vcpu_set_nested(vcpu, &b, &blind, &err), NV_ERR_LEFT_GUEST_MODE);
        printf("# nv_vcpu_set_nested, MAXPHYADDR unknown: %s\n", err->message);
        assert_non_null(strstr(err->message, "returned 2"));
        assert_int_equal(nv_vcpu_get_nested(vcpu, false, &after, NULL), 0);
        nv_blob_clear(&after);
        nv_error_free(err);
        nv_vcpu_free(vcpu);
}

/* ---- the driver's incoming check: every blob on a scratch vCPU before any VMM is touched ---- */

/*
 * The driver's one incoming verification (restore, the hook) on a snapshot
 * of n blobs, blob `bad` (or none: n) changed by ch; the rule in `off`
 * disabled in the validator (or none: NULL).  Returns its result, the
 * message in *msg (or NULL), and whether the kernel was asked.
 */
static int incoming(const uint8_t *const *blobs, const size_t *lens, size_t n, size_t bad, const Change *ch, unsigned maxphyaddr,
                    const char *off, char **msg, bool *kernel_asked) {
        _Alignas(8) uint8_t blob[NV_VMX_MAX_SIZE];
        NvSnapshot *s = nv_snapshot_new(NV_FORMAT_VMX);
        NvIncoming in = {};
        NvError *err = NULL;
        uint8_t *img = NULL;
        size_t len;
        int r;

        for (size_t i = 0; i < n; i++) {
                memcpy(blob, blobs[i], lens[i]);
                if (i == bad)
                        apply(blob, ch, maxphyaddr);
                assert_int_equal(nv_snapshot_add(s, (uint32_t) i, &(NvBlob) { blob, lens[i] }, NULL), 0);
        }
        assert_int_equal(nv_snapshot_serialize(s, &img, &len, NULL), 0);
        nv_snapshot_free(s);
        if (off)
                setenv("NESTVIRT_TEST_DISABLE_RULE", off, 1);
        r = nv_incoming_verify(&(NvVerify) { .vendor = NV_FORMAT_VMX, .kernel_check = true }, img, len, &in, &err);
        unsetenv("NESTVIRT_TEST_DISABLE_RULE");
        *kernel_asked = r == 0 ? in.kernel_unchecked == NULL : err && strstr(err->message, "validator gap");
        *msg = r < 0 && err ? strdup(err->message) : NULL;
        printf("# incoming, %zu vCPUs%s%s: %s%s%s\n", n, off ? ", validator without " : "", off ?: "", r == 0 ? "accepted" : *msg,
               r == 0 && in.kernel_unchecked ? "; not checked: " : "", r == 0 && in.kernel_unchecked ? in.kernel_unchecked : "");
        nv_incoming_clear(&in);
        nv_error_free(err);
        free(img);
        return r;
}

/* Expects the state refused: by the validator's rule `rule` when on, by the kernel on a scratch vCPU as a gap when off. */
static void expect_gap(const uint8_t *const *blobs, const size_t *lens, size_t n, size_t bad, const Change *ch, unsigned maxphyaddr,
                       const char *rule, int kernel_errno) {
        char *msg, want[64];
        bool asked;

        assert_int_equal(incoming(blobs, lens, n, bad, ch, maxphyaddr, NULL, &msg, &asked), kernel_errno);
        snprintf(want, sizeof(want), "vCPU %zu: Rule %s", bad, rule);
        assert_non_null(strstr(msg, want));
        free(msg);
        assert_int_equal(incoming(blobs, lens, n, bad, ch, maxphyaddr, rule, &msg, &asked), kernel_errno);
        snprintf(want, sizeof(want), "vCPU %zu: validator gap", bad);
        assert_non_null(strstr(msg, want));
        assert_true(asked);
        assert_non_null(strstr(msg, kernel_errno == NV_ERR_LEFT_GUEST_MODE ? "returned 2" : "failed with EINVAL"));
        free(msg);
}

/*
 * Every base state lands on a scratch vCPU (the shadow one with its link
 * page backed); and with rule V20 disabled, a guest CR3 the kernel cannot
 * load is still refused, by the kernel, before any VMM.
 */
static void test_scratch_bases(void **state) {
        static const Change cr3 = { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, AT_LIMIT };
        Referee *r = *state;
        const uint8_t *blobs[N_BASES];
        char *msg;
        bool asked;

        for (int b = 0; b < N_BASES; b++) {
                blobs[b] = r->base[b];
                assert_int_equal(incoming(&blobs[b], &r->base_len[b], 1, 1, NULL, 0, NULL, &msg, &asked), 0);
                assert_true(asked);
        }
        assert_int_equal(incoming(blobs, r->base_len, N_BASES, N_BASES, NULL, 0, NULL, &msg, &asked), 0);
        assert_true(asked);
        expect_gap(&blobs[BASE_GUEST], &r->base_len[BASE_GUEST], 1, 0, &cr3, r->ctx.maxphyaddr, "V20", NV_ERR_LEFT_GUEST_MODE);
}

/*
 * The real states (guest mode, 8320 bytes with the shadow vmcs12, both
 * vCPUs in one scratch VM) land; with rule V19 disabled, pin-based
 * controls the vCPU's MSRs forbid are still refused, by the kernel.
 */
static void scratch_check_real(NvVcpuRegsNested *const *st, size_t n, unsigned maxphyaddr) {
        static const Change pin = { VMCS(VMCS12_PIN_BASED_VM_EXEC_CONTROL), 4, MUT_OR, 1u << 30 };
        const uint8_t *blobs[8];
        size_t lens[8];
        char *msg;
        bool asked;

        assert_true(n <= ELEMENTSOF(blobs));
        for (size_t i = 0; i < n; i++) {
                blobs[i] = st[i]->nested.data;
                lens[i] = st[i]->nested.len;
        }
        assert_int_equal(incoming(blobs, lens, n, n, NULL, 0, NULL, &msg, &asked), 0);
        assert_true(asked);
        expect_gap(blobs, lens, n, n - 1, &pin, maxphyaddr, "V19", -EINVAL);
}

/* ---- real guest-mode states: the reference VMM's nested VMX guest ---- */

#define REAL_VCPUS 2
#define REAL_TURNS 40 /* L2 turns before the save: two CPUID exits handled by L1 */

static const uint32_t real_msrs[] = { MSR_EFER, MSR_IA32_FEATURE_CONTROL };

/* Runs vCPU index until its L2 has counted to turns; every exit must be L2's OUT. */
static void run_l2(const uint8_t *mem, NvVcpu *vcpu, unsigned index, uint64_t turns) {
        struct kvm_run *run = nv_vcpu_run_area(vcpu);

        while (nv_guest_svm_data(mem, index, GS_L2_COUNTER) < turns) {
                assert_int_equal(nv_kvm_vcpu_run(vcpu, NULL), 0);
                if (run->exit_reason != KVM_EXIT_IO || run->io.port != GS_PORT_TICK)
                        fail_msg("vCPU %u: exit %u (port 0x%x), L1 fail code 0x%llx", index, run->exit_reason, run->io.port,
                                 (unsigned long long) nv_guest_svm_data(mem, index, GS_FAIL_CODE));
        }
}

static void real_vm(uint8_t *mem, NvKvm **kvm, NvVcpu **vcpus) {
        assert_int_equal(nv_kvm_open(NULL, kvm, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(*kvm, NULL), 0);
        assert_int_equal(nv_kvm_set_memory(*kvm, mem, GS_MEM_SIZE, NULL), 0);
        for (unsigned i = 0; i < REAL_VCPUS; i++)
                assert_int_equal(nv_kvm_create_vcpu(*kvm, i, &vcpus[i], NULL), 0);
}

static void real_vm_free(NvKvm *kvm, NvVcpu **vcpus) {
        for (unsigned i = 0; i < REAL_VCPUS; i++)
                nv_vcpu_free(vcpus[i]);
        nv_kvm_free(kvm);
}

/*
 * L1 runs L2 on two vCPUs until each L2 counted REAL_TURNS; the VMM saves
 * both vCPUs and guest memory, the VM goes away, a new VM loads it all,
 * and L2 goes on counting in guest mode.  The save's quiesce completed
 * the OUT each vCPU stopped on: the first exit after the restore is the
 * next turn's, so the counter moves by exactly one.
 */
static void save_restore_real(uint8_t *mem, NvVcpuRegsNested **st) {
        uint64_t at_save[REAL_VCPUS];
        NvVcpu *vcpus[REAL_VCPUS];
        uint8_t *mem2;
        NvBlob b = {};
        NvKvm *kvm;

        real_vm(mem, &kvm, vcpus);
        nv_guest_vmx_build(mem);
        for (unsigned i = 0; i < REAL_VCPUS; i++) {
                assert_int_equal(nv_guest_vmx_boot_vcpu(vcpus[i], i, NULL), 0);
                run_l2(mem, vcpus[i], i, REAL_TURNS);
                assert_int_equal(nv_vcpu_save_regs_nested(vcpus[i], real_msrs, ELEMENTSOF(real_msrs), &st[i], NULL), 0);
                at_save[i] = nv_guest_svm_data(mem, i, GS_L2_COUNTER);
                printf("# vCPU %u saved: L2 counter %llu, L1 exits %llu; blob %zu bytes, flags 0x%x, vmxon_pa 0x%llx, "
                       "vmcs12_pa 0x%llx\n", i, (unsigned long long) at_save[i],
                       (unsigned long long) nv_guest_svm_data(mem, i, GS_L1_EXITS), st[i]->nested.len,
                       get_le16(st[i]->nested.data + NV_OFF_FLAGS), (unsigned long long) get_le64(st[i]->nested.data + NV_OFF_VMXON_PA),
                       (unsigned long long) get_le64(st[i]->nested.data + NV_OFF_VMCS12_PA));
                assert_int_equal(st[i]->nested.len, NV_VMX_MAX_SIZE); /* guest mode with the shadow vmcs12 */
                assert_true(get_le16(st[i]->nested.data + NV_OFF_FLAGS) & NV_NESTED_GUEST_MODE);
        }
        mem2 = mmap(NULL, GS_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(mem2 != MAP_FAILED);
        memcpy(mem2, mem, GS_MEM_SIZE); /* the VMM's own save: guest memory */
        real_vm_free(kvm, vcpus);
        real_vm(mem2, &kvm, vcpus);
        for (unsigned i = 0; i < REAL_VCPUS; i++) {
                assert_int_equal(nv_vcpu_load_regs_nested(vcpus[i], st[i], NULL), 0);
                run_l2(mem2, vcpus[i], i, at_save[i] + 1);
                assert_int_equal(nv_guest_svm_data(mem2, i, GS_L2_COUNTER), at_save[i] + 1); /* the OUT was not repeated */
                run_l2(mem2, vcpus[i], i, at_save[i] + 20);
                assert_int_equal(nv_vcpu_get_nested(vcpus[i], true, &b, NULL), 1); /* still in guest mode */
                printf("# vCPU %u restored: L2 counter %llu at save, %llu now, L1 exits %llu, blob %zu bytes, in guest mode\n", i,
                       (unsigned long long) at_save[i], (unsigned long long) nv_guest_svm_data(mem2, i, GS_L2_COUNTER),
                       (unsigned long long) nv_guest_svm_data(mem2, i, GS_L1_EXITS), b.len);
                nv_blob_clear(&b);
        }
        real_vm_free(kvm, vcpus);
        munmap(mem2, GS_MEM_SIZE);
}

/* Named mutations of the real blob, judged with a fresh vCPU that has L1's registers. */
static const Mutation real_named[] = {
        { 0, "unchanged", {} },
        { 0, "flags |= RUN_PENDING", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_RUN_PENDING } } },
        { 0, "flags = 0 (VMXON, vmcs12, not in L2)", { { NV_OFF_FLAGS, 2, MUT_SET, 0 } } },
        { 0, "flags |= EVMCS", { { NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_EVMCS } } },
        { 0, "smm.flags = SMM_VMXON", { { NV_OFF_SMM_FLAGS, 2, MUT_SET, NV_SMM_VMXON } } },
        { 0, "size = 4224 (shadow vmcs12 cut off)", { { NV_OFF_SIZE, 4, MUT_SET, NV_SVM_MAX_SIZE } } },
        { 0, "shadow revision without shadow bit", { { SHADOW(VMCS12_REVISION_ID), 4, MUT_CLEAR, VMCS_SHADOW_BIT } } },
        { 0, "guest_cr3 = 1 << MAXPHYADDR", { { VMCS(VMCS12_GUEST_CR3), 8, MUT_SET, AT_LIMIT } } },
        { 0, "host_cr3 = 1 << MAXPHYADDR", { { VMCS(VMCS12_HOST_CR3), 8, MUT_SET, AT_LIMIT } } },
        { 0, "exit &= ~host address-space size", { { VMCS(VMCS12_VM_EXIT_CONTROLS), 4, MUT_CLEAR, VM_EXIT_HOST_ADDR_SPACE_SIZE } } },
        { 0, "entry &= ~IA-32e mode guest", { { VMCS(VMCS12_VM_ENTRY_CONTROLS), 4, MUT_CLEAR, VM_ENTRY_IA32E_MODE } } },
        { 0, "vmcs_link_pointer |= 8", { { VMCS(VMCS12_VMCS_LINK_POINTER), 8, MUT_OR, 8 } } },
        { 0, "vmread_bitmap = 1 << MAXPHYADDR", { { VMCS(VMCS12_VMREAD_BITMAP), 8, MUT_SET, AT_LIMIT } } },
        { 0, "host_cr4 &= ~PAE", { { VMCS(VMCS12_HOST_CR4), 8, MUT_CLEAR, X86_CR4_PAE } } },
        { 0, "guest_cr0 &= ~NE", { { VMCS(VMCS12_GUEST_CR0), 8, MUT_CLEAR, X86_CR0_NE } } },
};

static void referee_real(uint8_t *mem, const NvVcpuRegsNested *st) {
        _Alignas(8) uint8_t blob[NV_VMX_MAX_SIZE];
        Referee r = { .mem = mem, .mem_size = GS_MEM_SIZE, .prereq = st };
        uint32_t s = seed ?: 1;
        Tally named_t = {}, flips_t = {};
        NvVcpu *probe = fresh_vcpu(&r);
        char name[96];

        assert_int_equal(nv_vcpu_validate_context(probe, &r.ctx, NULL), 0);
        nv_vcpu_free(probe);
        r.ctx.evmcs_enabled = NV_NO;
        document_context(&r.ctx, &r.doc_ctx);
        printf("# real state: EFER.LMA %d, VMX MSRs %s\n", r.ctx.lma, r.ctx.have_vmx_msrs ? "read" : "unknown");
        for (size_t i = 0; i < ELEMENTSOF(real_named); i++) {
                memcpy(blob, st->nested.data, sizeof(blob));
                for (size_t j = 0; j < ELEMENTSOF(real_named[i].ch); j++)
                        apply(blob, &real_named[i].ch[j], r.ctx.maxphyaddr);
                snprintf(name, sizeof(name), "real: %s", real_named[i].name);
                referee(&r, name, blob, true, &named_t);
        }
        for (unsigned i = 0; i < N_FLIPS; i++) {
                uint32_t x = next_rand(&s);
                unsigned off = i % 3 ? checked_byte(x, NV_VMX_MAX_SIZE) : (unsigned) (x % NV_VMX_MAX_SIZE);

                memcpy(blob, st->nested.data, sizeof(blob));
                blob[off] ^= (uint8_t) (1u << ((x >> 16) % 8));
                snprintf(name, sizeof(name), "real: flip [0x%04x] bit %u", off, (x >> 16) % 8);
                referee(&r, name, blob, false, &flips_t);
        }
        nv_kvm_free(r.kvm);
        printf("# real state, named: %u cases, kernel accepted %u, returned 2 %u, validator agrees on %u; with the host's document: agrees on %u\n",
               named_t.cases, named_t.kernel_accepts, named_t.kernel_two, named_t.agree, named_t.doc_agree);
        printf("# real state, random flips (seed %u): %u cases, kernel accepted %u, returned 2 %u, validator agrees on %u; with the host's document: "
               "agrees on %u\n", seed, flips_t.cases, flips_t.kernel_accepts, flips_t.kernel_two, flips_t.agree, flips_t.doc_agree);
        assert_int_equal(named_t.agree, named_t.cases);
        assert_int_equal(flips_t.agree, flips_t.cases);
        assert_int_equal(named_t.doc_agree, named_t.cases);
        assert_int_equal(flips_t.doc_agree, flips_t.cases);
}

static void test_real_guest_mode(void **state) {
        NvVcpuRegsNested *st[REAL_VCPUS] = {};
        uint8_t *mem = mmap(NULL, GS_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        assert_true(mem != MAP_FAILED);
        save_restore_real(mem, st);
        referee_real(mem, st[0]);
        scratch_check_real(st, REAL_VCPUS, ((Referee *) *state)->ctx.maxphyaddr);
        for (unsigned i = 0; i < REAL_VCPUS; i++)
                nv_vcpu_regs_nested_free(st[i]);
        munmap(mem, GS_MEM_SIZE);
}

static int setup(void **state) {
        Referee *r = calloc(1, sizeof(*r));
        NvVcpu *probe;

        if (!r)
                return -1;
        r->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r->mem == MAP_FAILED)
                return -1;
        r->mem_size = MEM_SIZE;
        probe = fresh_vcpu(r);
        if (nv_vcpu_validate_context(probe, &r->ctx, NULL) < 0 || !r->ctx.have_vmx_msrs)
                return -1;
        nv_vcpu_free(probe);
        r->ctx.evmcs_enabled = NV_NO; /* nobody enabled KVM_CAP_HYPERV_ENLIGHTENED_VMCS */
        document_context(&r->ctx, &r->doc_ctx);
        printf("# context: maxphyaddr %u, EFER.LMA %d, CR4 may set 0x%llx, EFER may set 0x%llx\n", r->ctx.maxphyaddr,
               r->ctx.lma, (unsigned long long) r->ctx.cr4_allowed, (unsigned long long) r->ctx.efer_allowed);
        for (unsigned i = 0; i < NV_VMX_MSR_COUNT; i++)
                printf("# MSR 0x%x = 0x%llx\n", NV_VMX_MSR_FIRST + i, (unsigned long long) r->ctx.vmx_msrs[i]);
        build_bases(r);
        *state = r;
        return 0;
}

static int teardown(void **state) {
        Referee *r = *state;

        nv_kvm_free(r->kvm);
        munmap(r->mem, MEM_SIZE);
        free(r);
        return 0;
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bases_accepted),
                cmocka_unit_test(test_named_mutations),
                cmocka_unit_test(test_set_returns_two),
                cmocka_unit_test(test_random_flips),
                cmocka_unit_test(test_scratch_bases),
                cmocka_unit_test(test_real_guest_mode),
        };

        /* The console is the only channel out of the test VM: never hold output back. */
        setvbuf(stdout, NULL, _IONBF, 0);
        if (argc > 1)
                seed = (unsigned) strtoul(argv[1], NULL, 0);
        if (test_real_kvm_require(NV_FORMAT_VMX))
                return 77;
        return cmocka_run_group_tests_name("kernel as referee (VMX)", tests, setup, teardown);
}
