/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The safety rules of the capture/restore path, on the simulated KVM:
 * quiesce before capture, save/load across VMs, rollback of a refused
 * restore, validation against the target vCPU's CPUID, and all-or-nothing
 * over many vCPUs.
 */
#include <string.h>

#include "byteorder.h"
#include "helpers.h"
#include "x86-arch.h"

static void run_n(NvVcpu *v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(nv_kvm_vcpu_run(v, NULL), 0);
}

/* Without quiesce the saved RIP still points at the OUT: restored, it would repeat. */
static void test_quiesce_completes_pending_io(void **state) {
        struct kvm_regs before, after;
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        run_n(vm.vcpus[0], 3);
        assert_int_equal(nv_vcpu_run_area(vm.vcpus[0])->exit_reason, KVM_EXIT_IO);
        assert_int_equal(nv_kvm_get_regs(vm.vcpus[0], &before, NULL), 0);
        assert_int_equal(nv_vcpu_quiesce(vm.vcpus[0], NULL), 0);
        assert_int_equal(nv_kvm_get_regs(vm.vcpus[0], &after, NULL), 0);
        assert_int_equal(after.rip, before.rip + NV_SIM_OUT_INSN_LEN);
        assert_int_equal(after.rbx, before.rbx); /* the guest did not run on */
        assert_int_equal(nv_vcpu_run_area(vm.vcpus[0])->immediate_exit, 0);
        test_vm_free(&vm);
}

/* Save in one VM, load in a fresh one: L2 continues where it stopped. */
static void save_load_continues(NvFormat vendor) {
        static const uint32_t msrs[] = { MSR_EFER, MSR_IA32_SYSENTER_CS, MSR_FS_BASE };
        NvVcpuRegsNested *st = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, vendor, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 0, false), 0);
        run_n(a.vcpus[0], 5);
        assert_int_equal(nv_vcpu_save_regs_nested(a.vcpus[0], msrs, 3, &st, NULL), 0);
        assert_true(st->nested.len == NV_SVM_MAX_SIZE);
        test_vm_new_vendor(&b, vendor, 1);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpus[0], st, NULL), 0);
        run_n(b.vcpus[0], 1);
        assert_int_equal(nv_sim_vcpu_counter(b.sim, 0), 6);
        {
                NvBlob again = {};
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[0], true, &again, NULL), 1);
                assert_int_equal(get_le16(again.data) & NV_NESTED_GUEST_MODE, NV_NESTED_GUEST_MODE);
                nv_blob_clear(&again);
        }
        nv_vcpu_regs_nested_free(st);
        test_vm_free(&a);
        test_vm_free(&b);
}

static void test_save_load_svm(void **state) {
        save_load_continues(NV_FORMAT_SVM);
}

static void test_save_load_vmx(void **state) {
        save_load_continues(NV_FORMAT_VMX);
}

/* A blob the validator refuses never reaches the kernel and changes nothing. */
static void test_refused_before_kernel(void **state) {
        NvVcpuRegsNested *st = NULL;
        struct kvm_regs regs;
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_save_regs_nested(a.vcpus[0], NULL, 0, &st, NULL), 0);
        put_le32(st->nested.data + NV_OFF_DATA + VMCB_CTL_ASID, 0); /* rule S9 */
        test_vm_new_vendor(&b, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpus[0], st, &err), -EINVAL);
        assert_non_null(strstr(err->message, "control.asid"));
        assert_non_null(strstr(err->message, "S9"));
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_NESTED_STATE), 0);
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_SREGS), 0);
        assert_int_equal(nv_kvm_get_regs(b.vcpus[0], &regs, NULL), 0);
        assert_int_equal(regs.rip, 0);
        nv_error_free(err);
        nv_vcpu_regs_nested_free(st);
        test_vm_free(&a);
        test_vm_free(&b);
}

#define SAVE_CR4 (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_CR4)

/* The target's CPUID decides which CR4 bits L1 may have: checked before the kernel sees the blob. */
static void test_refused_for_target_cpuid(void **state) {
        static const struct kvm_cpuid_entry2 lm_svm = { .function = 0x80000001, .ecx = 1u << 2, .edx = 1u << 29 };
        _cleanup_free_ struct kvm_cpuid2 *no_leaf7 = test_cpuid_new(&lm_svm, 1);
        NvVcpuRegsNested *st = NULL;
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_save_regs_nested(a.vcpus[0], NULL, 0, &st, NULL), 0);
        put_le64(st->nested.data + SAVE_CR4, get_le64(st->nested.data + SAVE_CR4) | X86_CR4_SMEP);
        test_vm_new_vendor(&b, NV_FORMAT_SVM, 2);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpus[0], st, NULL), 0); /* SMEP is in the supported CPUID */
        assert_int_equal(nv_kvm_set_cpuid(b.vcpus[1], no_leaf7, NULL), 0);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpus[1], st, &err), -EINVAL);
        assert_non_null(strstr(err->message, "S11"));
        assert_non_null(strstr(err->message, "CPUID"));
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_NESTED_STATE), 1); /* vCPU 0's only */
        nv_error_free(err);
        nv_vcpu_regs_nested_free(st);
        test_vm_free(&a);
        test_vm_free(&b);
}

/* KVM's view of a CPUID: leaf 7's subleaves, either of two features, the MAXPHYADDR default. */
static void test_context_from_cpuid(void **state) {
        static const struct kvm_cpuid_entry2 e[] = {
                { .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1u << 26 },
                { .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 1u << 7, .edx = 1u << 20 },
                { .function = 0x80000001, .ecx = 1u << 2, .edx = (1u << 20) | (1u << 29) },
                { .function = 0x80000000, .eax = 0x80000008 },
                { .function = 0x80000008, .eax = 43 },
        };
        _cleanup_free_ struct kvm_cpuid2 *c = test_cpuid_new(e, ELEMENTSOF(e));
        NvValidateContext ctx;

        nv_validate_context_init(&ctx);
        c->nent = 3; /* without leaves 0x80000000 and 0x80000008 */
        nv_validate_context_from_cpuid(&ctx, c);
        assert_true(ctx.have_cpuid);
        assert_int_equal(ctx.maxphyaddr, 36); /* no leaf 0x80000008 */
        /* SMEP (7.0), CET through IBT alone (7.0 EDX), LAM_SUP (7.1); not PCIDE, VMXE, FRED. */
        assert_int_equal(ctx.cr4_allowed, KVM_CR4_CPUID_UNGATED | X86_CR4_SMEP | X86_CR4_CET | X86_CR4_LAM_SUP);
        /* SCE, LMSLE, LME, LMA, NXE, SVME; not FFXSR, TCE, AUTOIBRS. */
        assert_int_equal(ctx.efer_allowed, X86_EFER_SCE | X86_EFER_LMSLE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NX |
                                                   X86_EFER_SVME);
        c->nent = ELEMENTSOF(e);
        nv_validate_context_from_cpuid(&ctx, c);
        assert_int_equal(ctx.maxphyaddr, 43);
}

/* The kernel refuses what the validator cannot see (V19): everything is put back. */
static void test_kernel_refusal_rolls_back(void **state) {
        struct kvm_sregs sr_before, sr_after;
        NvVcpuRegsNested *st = NULL;
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_save_regs_nested(a.vcpus[0], NULL, 0, &st, NULL), 0);
        test_vm_new_vendor(&b, NV_FORMAT_VMX, 1);
        run_n(b.vcpus[0], 2);
        assert_int_equal(nv_kvm_get_sregs(b.vcpus[0], &sr_before, NULL), 0);
        nv_sim_set_vmentry_checks_fail(b.sim, true);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpus[0], st, &err), -EINVAL);
        assert_non_null(strstr(err->message, "KVM_SET_NESTED_STATE"));
        assert_non_null(strstr(err->message, "put back"));
        assert_int_equal(nv_kvm_get_sregs(b.vcpus[0], &sr_after, NULL), 0);
        assert_memory_equal(&sr_before, &sr_after, sizeof(sr_after));
        assert_int_equal(nv_sim_vcpu_counter(b.sim, 0), 2);
        nv_error_free(err);
        nv_vcpu_regs_nested_free(st);
        test_vm_free(&a);
        test_vm_free(&b);
}

/*
 * A guest CR3 beyond the MAXPHYADDR: the kernel takes the state, cannot
 * re-enter L2 and returns 2, not an errno.  With the target's own context
 * the validator refuses it (rule V20); with MAXPHYADDR unknown it lets it
 * through and the ioctl path must still call the positive return a
 * failure that lost L2, not success.
 */
static void test_set_returns_two(void **state) {
        NvValidateContext ctx;
        NvBlob blob = {}, after = {};
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 0, false), 0);
        assert_int_equal(nv_vcpu_get_nested(a.vcpus[0], false, &blob, NULL), 1);
        test_vm_new_vendor(&b, NV_FORMAT_VMX, 1);
        assert_int_equal(nv_vcpu_validate_context(b.vcpus[0], &ctx, NULL), 0);
        assert_true(ctx.maxphyaddr > 0 && ctx.maxphyaddr < 52);
        put_le64(blob.data + NV_OFF_DATA + VMCS12_GUEST_CR3, 1ull << ctx.maxphyaddr);
        assert_int_equal(nv_vcpu_set_nested(b.vcpus[0], &blob, NULL, &err), NV_ERR_LEFT_GUEST_MODE);
        assert_non_null(strstr(err->message, "V20"));
        assert_non_null(strstr(err->message, "guest_cr3"));
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_NESTED_STATE), 0);
        nv_error_free(err);
        err = NULL;
        ctx.maxphyaddr = 0; /* unknown: only the architectural 52 bits are checked */
        assert_int_equal(nv_vcpu_set_nested(b.vcpus[0], &blob, &ctx, &err), NV_ERR_LEFT_GUEST_MODE);
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_NESTED_STATE), 1);
        assert_non_null(strstr(err->message, "returned 2"));
        assert_non_null(strstr(err->message, "L2 is lost"));
        assert_int_equal(nv_vcpu_get_nested(b.vcpus[0], false, &after, NULL), 0); /* back in L1 */
        nv_blob_clear(&after);
        nv_error_free(err);
        nv_blob_clear(&blob);
        test_vm_free(&a);
        test_vm_free(&b);
}

/* Collect and load 1..1024 vCPUs; one bad blob leaves every vCPU as it was. */
static void all_or_nothing(unsigned n) {
        NvBlob blobs[TEST_MAX_VCPUS] = {}, check = {};
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_SVM, n);
        test_vm_new_vendor(&b, NV_FORMAT_SVM, n);
        for (unsigned i = 0; i < n; i++) {
                assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, i, false), 0);
                test_set_svme(b.vcpus[i], true);
        }
        assert_int_equal(nv_vcpus_get_nested_all(a.vcpus, n, blobs, NULL), 0);
        put_le64(blobs[n - 1].data + NV_OFF_VMCB_PA, 0x123); /* unaligned: rule S6 */
        assert_int_equal(nv_vcpus_set_nested_all(b.vcpus, n, blobs, NULL, 0, &err), -EINVAL);
        assert_non_null(strstr(err->message, "S6"));
        assert_int_equal(nv_sim_ioctl_count(b.sim, KVM_SET_NESTED_STATE), 0);
        put_le64(blobs[n - 1].data + NV_OFF_VMCB_PA, 0x300000);
        assert_int_equal(nv_vcpus_set_nested_all(b.vcpus, n, blobs, NULL, 0, NULL), 0);
        for (unsigned i = 0; i < n; i++) {
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[i], true, &check, NULL), 1);
                nv_blob_clear(&check);
                nv_blob_clear(&blobs[i]);
        }
        nv_error_free(err);
        test_vm_free(&a);
        test_vm_free(&b);
}

static void test_all_or_nothing(void **state) {
        static const unsigned counts[] = { 1, 2, 8, 64, TEST_MAX_VCPUS };

        for (size_t i = 0; i < ELEMENTSOF(counts); i++)
                all_or_nothing(counts[i]);
}

/*
 * 1024 VMX vCPUs with shadow VMCS (8320 bytes each, 8.5 MB of state):
 * collected and loaded into a second VM, each vCPU's blob the same byte
 * for byte.
 */
static void test_vmx_1024_shadow(void **state) {
        static NvBlob blobs[TEST_MAX_VCPUS];
        const unsigned n = TEST_MAX_VCPUS;
        NvBlob check = {};
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_VMX, n);
        test_vm_new_vendor(&b, NV_FORMAT_VMX, n);
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, i, /* with_shadow= */ true), 0);
        assert_int_equal(nv_vcpus_get_nested_all(a.vcpus, n, blobs, NULL), 0);
        assert_int_equal(nv_vcpus_set_nested_all(b.vcpus, n, blobs, NULL, 0, NULL), 0);
        for (unsigned i = 0; i < n; i++) {
                assert_int_equal(blobs[i].len, NV_VMX_MAX_SIZE);
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[i], true, &check, NULL), 1);
                assert_int_equal(check.len, NV_VMX_MAX_SIZE);
                assert_memory_equal(check.data, blobs[i].data, NV_VMX_MAX_SIZE);
                nv_blob_clear(&check);
                nv_blob_clear(&blobs[i]);
        }
        test_vm_free(&a);
        test_vm_free(&b);
}

/*
 * The same from undo memory the caller keeps, as the agent passes it:
 * the kept states, large (in VMX operation with a vmcs12) and small (not
 * in VMX operation), packed one after the other, each go back to its vCPU
 * byte for byte when the kernel refuses vCPU 3.  (Back out of guest mode:
 * the simulated refusal refuses every guest-mode load, the way back's
 * too.)
 */
static void test_rollback_from_caller_undo(void **state) {
        NvBlob blobs[5] = {}, before[5] = {}, check = {};
        NvError *err = NULL;
        uint8_t *undo;
        size_t size;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_VMX, 5);
        test_vm_new_vendor(&b, NV_FORMAT_VMX, 5);
        /* b's vCPUs 0 and 1: in VMX operation with a current vmcs12, out of guest mode. */
        for (unsigned i = 0; i < 2; i++) {
                assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, i, false), 0);
                assert_int_equal(nv_vcpu_get_nested(a.vcpus[i], true, &check, NULL), 1);
                ((struct kvm_nested_state *) check.data)->flags &= (uint16_t) ~(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING);
                assert_int_equal(nv_vcpu_set_nested(b.vcpus[i], &check, NULL, NULL), 0);
                nv_blob_clear(&check);
        }
        test_vm_free(&a);
        test_vm_new_vendor(&a, NV_FORMAT_VMX, 5);
        assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, 3, false), 0); /* the only blob in guest mode: the refused one */
        assert_int_equal(nv_vcpus_get_nested_all(a.vcpus, 5, blobs, NULL), 0);
        for (unsigned i = 0; i < 5; i++) {
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[i], true, &before[i], NULL), 0);
                assert_int_equal(before[i].len, i < 2 ? 128u + 4096u : 128u);
        }
        size = nv_vcpus_undo_size(b.vcpus, 5);
        undo = malloc(size);
        assert_non_null(undo);
        memset(undo, 0xa5, size);
        nv_sim_set_vmentry_checks_fail(b.sim, true);
        assert_true(nv_vcpus_set_nested_all(b.vcpus, 5, blobs, undo, size, &err) < 0);
        assert_non_null(strstr(err->message, "vCPU 3"));
        for (unsigned i = 0; i < 5; i++) {
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[i], true, &check, NULL), 0);
                assert_int_equal(check.len, before[i].len);
                assert_memory_equal(check.data, before[i].data, check.len);
                nv_blob_clear(&check);
                nv_blob_clear(&before[i]);
                nv_blob_clear(&blobs[i]);
        }
        free(undo);
        nv_error_free(err);
        test_vm_free(&a);
        test_vm_free(&b);
}

/* The kernel refuses vCPU k after 0..k-1 were loaded: they get their old state back. */
static void test_all_or_nothing_kernel_refusal(void **state) {
        NvBlob blobs[4] = {}, check = {};
        NvError *err = NULL;
        TestVm a, b;

        test_vm_new_vendor(&a, NV_FORMAT_VMX, 4);
        test_vm_new_vendor(&b, NV_FORMAT_VMX, 4);
        for (unsigned i = 0; i < 4; i++)
                assert_int_equal(nv_sim_vcpu_enter_l2(a.sim, i, false), 0);
        assert_int_equal(nv_vcpus_get_nested_all(a.vcpus, 4, blobs, NULL), 0);
        nv_sim_set_vmentry_checks_fail(b.sim, true);
        assert_int_equal(nv_vcpus_set_nested_all(b.vcpus, 4, blobs, NULL, 0, &err), -EINVAL);
        assert_non_null(strstr(err->message, "vCPU 0"));
        for (unsigned i = 0; i < 4; i++) {
                assert_int_equal(nv_vcpu_get_nested(b.vcpus[i], true, &check, NULL), 0); /* not in guest mode */
                assert_int_equal(check.len, 128);
                nv_blob_clear(&check);
                nv_blob_clear(&blobs[i]);
        }
        nv_error_free(err);
        test_vm_free(&a);
        test_vm_free(&b);
}

/* Out-parameters are untouched on failure. */
/*
 * A kernel without nested state: saving a vCPU succeeds without it, and
 * leaves no error behind, so that a later, unrelated failure (here the
 * kernel refusing an MSR on load) is reported with its own text.
 */
static void test_recovered_error_is_cleared(void **state) {
        static const uint32_t msrs[] = { MSR_EFER, MSR_IA32_SYSENTER_CS };
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvVcpuRegsNested *st = NULL;
        NvSimConfig cfg;
        TestVm vm;

        nv_sim_config_init(&cfg, NV_FORMAT_SVM);
        cfg.no_nested_state = true;
        test_vm_new(&vm, &cfg, 1);
        assert_int_equal(nv_vcpu_save_regs_nested(vm.vcpus[0], msrs, ELEMENTSOF(msrs), &st, &err), 0);
        assert_null(err);
        assert_null(st->nested.data);
        /* More MSRs than the simulated vCPU has room for: KVM_SET_MSRS stops at the first it cannot take. */
        free(st->msrs);
        st->msrs = calloc(1, sizeof(*st->msrs) + 65 * sizeof(st->msrs->entries[0]));
        assert_non_null(st->msrs);
        st->msrs->nmsrs = 65;
        for (uint32_t i = 0; i < 65; i++)
                st->msrs->entries[i].index = 0x1000 + i;
        assert_int_equal(nv_vcpu_load_regs_nested(vm.vcpus[0], st, &err), -EINVAL);
        assert_non_null(err);
        assert_non_null(strstr(err->message, "KVM refused MSR 0x1040"));
        assert_null(strstr(err->message, "cannot save nested state"));
        nv_vcpu_regs_nested_free(st);
        test_vm_free(&vm);
}

static void test_out_param_untouched(void **state) {
        NvBlob b = { .data = (uint8_t *) 0x1234, .len = 0x1234 };
        NvSimConfig cfg;
        TestVm vm;

        nv_sim_config_init(&cfg, NV_FORMAT_SVM);
        test_vm_new(&vm, &cfg, 1);
        /* An adopted vCPU id that the simulator does not have: the GET fails. */
        {
                NvVcpu *ghost = NULL;
                assert_int_equal(nv_kvm_adopt_vcpu(vm.kvm, -1, 7, NULL, &ghost, NULL), 0);
                assert_true(nv_vcpu_get_nested(ghost, false, &b, NULL) < 0);
                nv_vcpu_free(ghost);
        }
        assert_ptr_equal(b.data, (uint8_t *) 0x1234);
        assert_int_equal(b.len, 0x1234);
        test_vm_free(&vm);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quiesce_completes_pending_io),
                cmocka_unit_test(test_save_load_svm),
                cmocka_unit_test(test_save_load_vmx),
                cmocka_unit_test(test_refused_before_kernel),
                cmocka_unit_test(test_refused_for_target_cpuid),
                cmocka_unit_test(test_context_from_cpuid),
                cmocka_unit_test(test_kernel_refusal_rolls_back),
                cmocka_unit_test(test_set_returns_two),
                cmocka_unit_test(test_all_or_nothing),
                cmocka_unit_test(test_vmx_1024_shadow),
                cmocka_unit_test(test_all_or_nothing_kernel_refusal),
                cmocka_unit_test(test_rollback_from_caller_undo),
                cmocka_unit_test(test_recovered_error_is_cleared),
                cmocka_unit_test(test_out_param_untouched),
        };
        return cmocka_run_group_tests_name("vCPU capture and restore", tests, NULL, NULL);
}
