/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GET -> SET round trips on the simulated KVM, and the GET size rules:
 * empty state, VMX guest mode with and without shadow vmcs12, SVM guest
 * mode, the E2BIG size write-back and the SVM over-write quirk,
 * KVM_GET_CPUID2, and the vmcb12 and vmcs12 checks that depend on the
 * target vCPU (simulator and validator side by side), the guest CR3 that
 * makes KVM_SET_NESTED_STATE return 2 included.
 */
#include <string.h>

#include "byteorder.h"
#include "fields.h"
#include "helpers.h"

/* GET on vCPU 0 of a fresh VM, SET into vCPU 0 of another, GET again: same bytes. */
static void round_trip(TestVm *src, NvFormat vendor, size_t expect_size, uint16_t expect_flags) {
        NvBlob a = {}, b = {};
        TestVm dst;

        assert_true(nv_vcpu_get_nested(src->vcpus[0], true, &a, NULL) >= 0);
        assert_int_equal(a.len, expect_size);
        assert_int_equal(get_le16(a.data), expect_flags);
        test_vm_new_vendor(&dst, vendor, 1);
        if (vendor == NV_FORMAT_SVM && (expect_flags & NV_NESTED_GUEST_MODE)) {
                struct kvm_sregs sr;
                assert_int_equal(nv_kvm_get_sregs(src->vcpus[0], &sr, NULL), 0);
                assert_int_equal(nv_kvm_set_sregs(dst.vcpus[0], &sr, NULL), 0);
        }
        assert_int_equal(nv_vcpu_set_nested(dst.vcpus[0], &a, NULL, NULL), 0);
        assert_true(nv_vcpu_get_nested(dst.vcpus[0], true, &b, NULL) >= 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        nv_blob_clear(&a);
        nv_blob_clear(&b);
        test_vm_free(&dst);
}

static void test_empty_vmx(void **state) {
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_VMX, 1);
        round_trip(&vm, NV_FORMAT_VMX, NV_NESTED_HDR_SIZE, 0);
        test_vm_free(&vm);
}

static void test_empty_svm(void **state) {
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        round_trip(&vm, NV_FORMAT_SVM, NV_NESTED_HDR_SIZE, NV_NESTED_GIF_SET);
        test_vm_free(&vm);
}

static void test_vmx_guest_mode(void **state) {
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        round_trip(&vm, NV_FORMAT_VMX, NV_NESTED_HDR_SIZE + NV_VMCS12_AREA_SIZE, NV_NESTED_GUEST_MODE);
        test_vm_free(&vm);
}

static void test_vmx_guest_mode_shadow(void **state) {
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, true), 0);
        round_trip(&vm, NV_FORMAT_VMX, NV_VMX_MAX_SIZE, NV_NESTED_GUEST_MODE);
        test_vm_free(&vm);
}

static void test_svm_guest_mode(void **state) {
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        round_trip(&vm, NV_FORMAT_SVM, NV_SVM_MAX_SIZE, NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET);
        test_vm_free(&vm);
}

/* A buffer smaller than the state: E2BIG and the size field says how much. */
static void test_e2big_writes_size(void **state) {
        _Alignas(8) uint8_t buf[NV_NESTED_MAX_SIZE] = {};
        struct kvm_nested_state *st = (void *) buf;
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        st->size = NV_NESTED_HDR_SIZE;
        assert_int_equal(nv_kvm_get_nested_state_raw(vm.vcpus[0], st), -E2BIG);
        assert_int_equal(st->size, NV_SVM_MAX_SIZE);
        assert_int_equal(st->flags, 0); /* nothing but the size was written */
        test_vm_free(&vm);
}

/* SVM: a 128..4223-byte buffer still gets 4224 bytes written, then E2BIG. */
static void test_svm_overwrite_quirk(void **state) {
        _Alignas(8) uint8_t buf[NV_NESTED_MAX_SIZE];
        struct kvm_nested_state *st = (void *) buf;
        TestVm vm;

        memset(buf, 0xAA, sizeof(buf));
        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        st->size = 200;
        assert_int_equal(nv_kvm_get_nested_state_raw(vm.vcpus[0], st), -E2BIG);
        assert_int_equal(st->size, NV_SVM_MAX_SIZE);
        assert_int_equal(buf[4000], 0); /* written past the 200 bytes the caller declared */
        st->size = 100;                  /* below the header: nothing but the size */
        memset(buf + 8, 0xAA, 100);
        assert_int_equal(nv_kvm_get_nested_state_raw(vm.vcpus[0], st), -E2BIG);
        assert_int_equal(st->size, NV_NESTED_HDR_SIZE);
        test_vm_free(&vm);
}

/* nv_vcpu_get_nested() never hands the kernel less than the capability. */
static void test_get_sizes_from_capability(void **state) {
        NvBlob b = {};
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_get_nested(vm.vcpus[0], false, &b, NULL), 1);
        assert_int_equal(b.len, NV_SVM_MAX_SIZE);
        assert_int_equal(nv_sim_ioctl_count(vm.sim, KVM_GET_NESTED_STATE), 1); /* no E2BIG retry needed */
        nv_blob_clear(&b);
        test_vm_free(&vm);
}

/* One change to an SVM guest-mode blob and what KVM does with it. */
typedef struct SvmCase {
        const char *name;
        unsigned off, width; /* blob offset; 2 or 8 bytes */
        bool or;             /* or the value in, else store it */
        uint64_t value;
        bool np;             /* also turn on nested paging */
        int expect;
        const char *rule;
        bool bare_cpuid;     /* the target vCPU's CPUID has long mode and SVM, nothing else */
} SvmCase;

static void set_bare_cpuid(NvVcpu *v) {
        static const struct kvm_cpuid_entry2 e[] = {
                { .function = X86_CPUID_EXT_MAX_LEAF, .eax = X86_CPUID_ADDR_SIZES },
                { .function = 0x80000001, .ecx = 1u << 2, .edx = 1u << 29 }, /* SVM, LM */
                { .function = X86_CPUID_ADDR_SIZES, .eax = 48 },
        };
        _cleanup_free_ struct kvm_cpuid2 *c = test_cpuid_new(e, ELEMENTSOF(e));

        assert_int_equal(nv_kvm_set_cpuid(v, c, NULL), 0);
}

/* Blob offsets of vmcb12 control and save-area fields. */
#define CTL(f) (NV_OFF_DATA + VMCB_CTL_##f)
#define SAVE(f) (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_##f)

static void svm_case_apply(uint8_t *b, const SvmCase *c) {
        if (c->width == 2)
                put_le16(b + c->off, (uint16_t) ((c->or ? get_le16(b + c->off) : 0) | c->value));
        else
                put_le64(b + c->off, (c->or ? get_le64(b + c->off) : 0) | c->value);
        if (c->np)
                put_le64(b + CTL(NESTED_CTL), get_le64(b + CTL(NESTED_CTL)) | SVM_NESTED_CTL_NP_ENABLE);
}

/*
 * The simulator and the validator, given the context the target vCPU
 * itself yields, on the same mutated blob: both must give KVM's answer.
 */
static void svm_case_check(const NvBlob *src, const struct kvm_sregs *sr, const SvmCase *c) {
        _Alignas(8) uint8_t b[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;
        TestVm dst;
        int rs, rv;

        memcpy(b, src->data, sizeof(b));
        svm_case_apply(b, c);
        test_vm_new_vendor(&dst, NV_FORMAT_SVM, 1);
        if (c->bare_cpuid)
                set_bare_cpuid(dst.vcpus[0]);
        assert_int_equal(nv_kvm_set_sregs(dst.vcpus[0], sr, NULL), 0);
        assert_int_equal(nv_vcpu_validate_context(dst.vcpus[0], &ctx, NULL), 0);
        rv = nv_validate(b, sizeof(b), &ctx, &res);
        rs = nv_kvm_set_nested_state_raw(dst.vcpus[0], (const struct kvm_nested_state *) b);
        test_vm_free(&dst);
        if (rs != c->expect || rv != c->expect)
                fail_msg("%s: simulator %s, validator %s (%s), KVM %s", c->name, nv_errno_name(rs), nv_errno_name(rv),
                         res.message, nv_errno_name(c->expect));
        if (c->rule)
                assert_string_equal(res.rule, c->rule);
}


/* The vmcb12 checks that depend on the target vCPU, the simulator against the validator. */
static void test_svm_checks_agree(void **state) {
        static const SvmCase cases[] = {
                { "unchanged", CTL(ASID), 8, true, 0, .expect = 0 },
                { "NP on, nCR3 beyond 52 bits", CTL(NESTED_CR3), 8, false, 1ull << 52, true, -EINVAL, "S9" },
                { "NP on, nCR3 beyond MAXPHYADDR", CTL(NESTED_CR3), 8, false, 1ull << 48, true, -EINVAL, "S9" },
                { "NP on, nCR3 legal", CTL(NESTED_CR3), 8, false, 0x1000, true, 0 },
                { "NP off, nCR3 beyond 52 bits", CTL(NESTED_CR3), 8, false, 1ull << 52, false, 0 },
                { "cs.attrib |= L|D in long mode", SAVE(CS + VMCB_SEG_ATTRIB), 2, true, SVM_SELECTOR_L | SVM_SELECTOR_DB, .expect = -EINVAL, .rule = "S11" },
                { "cs.attrib |= L in long mode", SAVE(CS + VMCB_SEG_ATTRIB), 2, true, SVM_SELECTOR_L, .expect = 0 },
                { "cr4 |= SMXE (never a KVM bit)", SAVE(CR4), 8, true, X86_CR4_SMXE, .expect = -EINVAL, .rule = "S11" },
                { "efer |= INTWB (never a KVM bit)", SAVE(EFER), 8, true, X86_EFER_INTWB, .expect = -EINVAL, .rule = "S11" },
                { "efer |= LMSLE", SAVE(EFER), 8, true, X86_EFER_LMSLE, .expect = 0 },
                { "cr4 |= VMXE on SVM", SAVE(CR4), 8, true, X86_CR4_VMXE, .expect = -EINVAL, .rule = "S11" },
                { "cr4 |= PCIDE, no PCID", SAVE(CR4), 8, true, X86_CR4_PCIDE, .expect = -EINVAL, .rule = "S11" },
                { "cr4 |= SMEP", SAVE(CR4), 8, true, X86_CR4_SMEP, .expect = 0 },
                { "cr4 |= SMEP, no leaf 7", SAVE(CR4), 8, true, X86_CR4_SMEP, .expect = -EINVAL, .rule = "S11",
                  .bare_cpuid = true },
                { "efer |= NXE", SAVE(EFER), 8, true, X86_EFER_NX, .expect = 0 },
                { "efer |= NXE, no NX", SAVE(EFER), 8, true, X86_EFER_NX, .expect = -EINVAL, .rule = "S11",
                  .bare_cpuid = true },
                { "efer |= FFXSR, no FXSR_OPT", SAVE(EFER), 8, true, X86_EFER_FFXSR, .expect = -EINVAL, .rule = "S11" },
                { "unchanged, bare CPUID", CTL(ASID), 8, true, 0, .expect = 0, .bare_cpuid = true },
        };
        struct kvm_sregs sr;
        NvBlob blob = {};
        TestVm src;

        test_vm_new_vendor(&src, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(src.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_get_nested(src.vcpus[0], false, &blob, NULL), 1);
        assert_int_equal(nv_kvm_get_sregs(src.vcpus[0], &sr, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                svm_case_check(&blob, &sr, &cases[i]);
        nv_blob_clear(&blob);
        test_vm_free(&src);
}

/* Up to two vmcs12 fields (a control and the address it makes KVM use) changed, and what KVM does. */
typedef struct VmxCase {
        const char *name;
        struct {
                unsigned off; /* vmcs12 offset; 0 ends */
                unsigned width;
                uint64_t value; /* or-ed into controls (width 4), stored into addresses (width 8) */
                bool at_limit;  /* store 1 << the target vCPU's MAXPHYADDR instead */
        } set[2];
        int expect; /* the validator's answer; the simulator answers 2 for NV_ERR_LEFT_GUEST_MODE */
        const char *rule;
} VmxCase;

#define CPU_BASED VMCS12_CPU_BASED_VM_EXEC_CONTROL
#define SECONDARY VMCS12_SECONDARY_VM_EXEC_CONTROL

/* The VMX side of the above: the V19 addresses and the guest CR3 that makes the kernel return 2 (V20). */
static void test_vmx_checks_agree(void **state) {
        static const VmxCase cases[] = {
                { "unchanged", {}, 0, NULL },
                { "guest_cr3 legal", { { VMCS12_GUEST_CR3, 8, 0x5000 } }, 0, NULL },
                { "guest_cr3 = 1 << MAXPHYADDR", { { VMCS12_GUEST_CR3, 8, 0, true } }, NV_ERR_LEFT_GUEST_MODE, "V20" },
                { "guest_cr3 = 1 << 52", { { VMCS12_GUEST_CR3, 8, 1ull << 52 } }, NV_ERR_LEFT_GUEST_MODE, "V20" },
                { "host_cr3 = 1 << MAXPHYADDR", { { VMCS12_HOST_CR3, 8, 0, true } }, -EINVAL, "V19" },
                { "I/O bitmaps, io_bitmap_b unaligned", { { CPU_BASED, 4, CPU_BASED_USE_IO_BITMAPS }, { VMCS12_IO_BITMAP_B, 8, 0x2010 } }, -EINVAL, "V19" },
                { "I/O bitmaps at 0", { { CPU_BASED, 4, CPU_BASED_USE_IO_BITMAPS } }, 0, NULL },
                { "MSR bitmaps, msr_bitmap beyond MAXPHYADDR", { { CPU_BASED, 4, CPU_BASED_USE_MSR_BITMAPS }, { VMCS12_MSR_BITMAP, 8, 0, true } }, -EINVAL, "V19" },
                { "msr_bitmap beyond MAXPHYADDR, not used", { { VMCS12_MSR_BITMAP, 8, 0, true } }, 0, NULL },
                { "TPR shadow, virtual APIC page unaligned", { { CPU_BASED, 4, CPU_BASED_TPR_SHADOW }, { VMCS12_VIRTUAL_APIC_PAGE_ADDR, 8, 0x3001 } }, -EINVAL, "V19" },
                { "PML without EPT", { { CPU_BASED, 4, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS }, { SECONDARY, 4, SECONDARY_EXEC_ENABLE_PML } }, -EINVAL, "V19" },
                { "PML and EPT", { { CPU_BASED, 4, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS }, { SECONDARY, 4, SECONDARY_EXEC_ENABLE_PML | SECONDARY_EXEC_ENABLE_EPT } }, 0, NULL },
                { "APIC accesses without secondary controls", { { SECONDARY, 4, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES }, { VMCS12_APIC_ACCESS_ADDR, 8, 0x123 } }, 0, NULL },
                { "vmcs_link_pointer unaligned", { { VMCS12_VMCS_LINK_POINTER, 8, 0x7008 } }, -EINVAL, "V19" },
        };
        NvBlob src = {};
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_get_nested(vm.vcpus[0], false, &src, NULL), 1);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _Alignas(8) uint8_t b[4224];
                NvValidateContext ctx;
                NvValidateResult res;
                NvBlob after = {};
                TestVm dst;
                int rs, rv;

                assert_int_equal(src.len, sizeof(b));
                memcpy(b, src.data, sizeof(b));
                test_vm_new_vendor(&dst, NV_FORMAT_VMX, 1);
                assert_int_equal(nv_vcpu_validate_context(dst.vcpus[0], &ctx, NULL), 0);
                assert_true(ctx.maxphyaddr > 0 && ctx.maxphyaddr < 64);
                for (size_t j = 0; j < 2 && cases[i].set[j].off; j++) {
                        uint8_t *f = b + NV_OFF_DATA + cases[i].set[j].off;

                        if (cases[i].set[j].width == 4)
                                put_le32(f, get_le32(f) | (uint32_t) cases[i].set[j].value);
                        else
                                put_le64(f, cases[i].set[j].at_limit ? 1ull << ctx.maxphyaddr : cases[i].set[j].value);
                }
                rv = nv_validate(b, sizeof(b), &ctx, &res);
                rs = nv_kvm_set_nested_state_raw(dst.vcpus[0], (const struct kvm_nested_state *) b);
                if (rs != (cases[i].expect == NV_ERR_LEFT_GUEST_MODE ? 2 : cases[i].expect) || rv != cases[i].expect)
                        fail_msg("%s: simulator %d, validator %s (%s), expected %s", cases[i].name, rs, nv_errno_name(rv),
                                 res.message, nv_errno_name(cases[i].expect));
                if (cases[i].rule)
                        assert_string_equal(res.rule, cases[i].rule);
                if (rs == 2) {
                        /* Back in L1, VMXON with the vmcs12 loaded: 4224 bytes, no GUEST_MODE. */
                        assert_int_equal(nv_vcpu_get_nested(dst.vcpus[0], false, &after, NULL), 0);
                        assert_int_equal(after.len, 4224);
                        assert_int_equal(get_le16(after.data + NV_OFF_FLAGS), 0);
                        nv_blob_clear(&after);
                }
                test_vm_free(&dst);
        }
        nv_blob_clear(&src);
        test_vm_free(&vm);
}

/* KVM_GET_CPUID2 gives back what KVM_SET_CPUID2 set; too small a buffer gets E2BIG and the count. */
static void test_get_cpuid(void **state) {
        static const struct kvm_cpuid_entry2 e[] = { { .function = 0, .eax = 7 }, { .function = 7, .ebx = 0x81 } };
        _cleanup_free_ struct kvm_cpuid2 *set = test_cpuid_new(e, ELEMENTSOF(e)), *got = NULL;
        struct kvm_cpuid2 small = { .nent = 1 };
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_kvm_get_cpuid(vm.vcpus[0], &got, NULL), 0);
        assert_true(got->nent >= 4); /* the supported CPUID nv_kvm_create_vcpu() set */
        free(TAKE_PTR(got));
        assert_int_equal(nv_kvm_set_cpuid(vm.vcpus[0], set, NULL), 0);
        assert_int_equal(nv_kvm_get_cpuid(vm.vcpus[0], &got, NULL), 0);
        assert_int_equal(got->nent, 2);
        assert_memory_equal(got->entries, e, sizeof(e));
        assert_int_equal(nv_sim_ioctl(vm.sim, 0, KVM_GET_CPUID2, &small), -E2BIG);
        assert_int_equal(small.nent, 2);
        test_vm_free(&vm);
}

/* Decoding known values from a GET: the vmcb12 fields the simulated L1 wrote. */
static void test_fields_from_get(void **state) {
        const NvField *f;
        NvBlob b = {};
        uint64_t v;
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 2);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 1, false), 0);
        assert_int_equal(nv_vcpu_get_nested(vm.vcpus[1], false, &b, NULL), 1);
        f = nv_fields_lookup(NV_FORMAT_SVM, "control.asid");
        assert_non_null(f);
        assert_int_equal(nv_fields_read(b.data, b.len, f, false, &v, NULL), 0);
        assert_int_equal(v, 2);
        f = nv_fields_lookup(NV_FORMAT_SVM, "save.efer");
        assert_int_equal(nv_fields_read(b.data, b.len, f, false, &v, NULL), 0);
        assert_int_equal(v, X86_EFER_SVME | X86_EFER_LMA | X86_EFER_LME);
        assert_int_equal(get_le64(b.data + NV_OFF_VMCB_PA), 0x201000);
        nv_blob_clear(&b);
        test_vm_free(&vm);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_vmx),
                cmocka_unit_test(test_empty_svm),
                cmocka_unit_test(test_vmx_guest_mode),
                cmocka_unit_test(test_vmx_guest_mode_shadow),
                cmocka_unit_test(test_svm_guest_mode),
                cmocka_unit_test(test_e2big_writes_size),
                cmocka_unit_test(test_svm_overwrite_quirk),
                cmocka_unit_test(test_get_sizes_from_capability),
                cmocka_unit_test(test_fields_from_get),
                cmocka_unit_test(test_get_cpuid),
                cmocka_unit_test(test_svm_checks_agree),
                cmocka_unit_test(test_vmx_checks_agree),
        };
        return cmocka_run_group_tests_name("simulated KVM round trips", tests, NULL, NULL);
}
