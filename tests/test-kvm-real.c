/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ioctl path on a real /dev/kvm.  Skips (exit 77) where there is none;
 * tests/e2e runs it inside a real kernel with nested SVM.
 *  - probe: API version 12, KVM_CAP_NESTED_STATE 4224 or 8320;
 *  - an idle vCPU reads back as a bare 128-byte header;
 *  - the kernel selftest cases of the host's vendor: the kernel must give
 *    the answer the validator and the simulator give;
 *  - the quiesce rule: a vCPU stopped on an OUT has not finished it until
 *    it is re-entered with immediate_exit;
 *  - save/load of a whole vCPU into a fresh VM.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "selftest-cases.h"
#include "validate.h"

#define GUEST_MEM (64u * 1024u)
#define CODE_GPA 0x1000u

typedef struct RealVm {
        NvKvm *kvm;
        NvVcpu *vcpu;
        void *mem;
} RealVm;

static void real_vm_new(RealVm *vm) {
        *vm = (RealVm) {};
        assert_int_equal(nv_kvm_open(NULL, &vm->kvm, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(vm->kvm, NULL), 0);
        vm->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(vm->mem != MAP_FAILED);
        assert_int_equal(nv_kvm_set_memory(vm->kvm, vm->mem, GUEST_MEM, NULL), 0);
        assert_int_equal(nv_kvm_create_vcpu(vm->kvm, 0, &vm->vcpu, NULL), 0);
}

static void real_vm_free(RealVm *vm) {
        nv_vcpu_free(vm->vcpu);
        nv_kvm_free(vm->kvm);
        munmap(vm->mem, GUEST_MEM);
}

static void test_probe(void **state) {
        NvKvm *kvm = NULL;
        int cap;

        (void) state;
        assert_int_equal(nv_kvm_open(NULL, &kvm, NULL), 0);
        cap = nv_kvm_nested_state_max(kvm);
        printf("# KVM_CAP_NESTED_STATE = %d\n", cap);
        assert_true(cap == NV_SVM_MAX_SIZE || cap == NV_VMX_MAX_SIZE);
        nv_kvm_free(kvm);
}

static void test_idle_vcpu(void **state) {
        NvBlob b = {};
        RealVm vm;

        (void) state;
        real_vm_new(&vm);
        assert_int_equal(nv_vcpu_get_nested(vm.vcpu, false, &b, NULL), 0);
        assert_int_equal(b.len, 128);
        if (nv_kvm_vendor(vm.kvm) == NV_FORMAT_SVM) {
                assert_int_equal(get_le16(b.data + NV_OFF_FLAGS), NV_NESTED_GIF_SET);
                assert_int_equal(get_le64(b.data + NV_OFF_VMCB_PA), 0);
        } else
                assert_true(get_le64(b.data + NV_OFF_VMXON_PA) == UINT64_MAX);
        nv_blob_clear(&b);
        real_vm_free(&vm);
}

/* Runs one selftest case on the kernel; returns the kernel's answer. */
static int kernel_answer(const SelftestCase *c, const uint8_t *blob) {
        RealVm vm;
        int r;

        real_vm_new(&vm);
        if (!c->cpuid)
                test_clear_cpuid(vm.vcpu);
        if (c->svme)
                test_set_svme(vm.vcpu, true);
        r = nv_kvm_set_nested_state_raw(vm.vcpu, (const struct kvm_nested_state *) blob);
        real_vm_free(&vm);
        return r;
}

static void test_selftest_cases(void **state) {
        _Alignas(8) uint8_t blob[SELFTEST_SZ];
        unsigned agree = 0, ran = 0;
        RealVm probe;
        int vendor;

        (void) state;
        real_vm_new(&probe);
        vendor = nv_kvm_vendor(probe.kvm);
        real_vm_free(&probe);
        for (size_t i = 0; i < SELFTEST_N_CASES; i++) {
                const SelftestCase *c = &selftest_cases[i];
                int r;

                /* eVMCS needs Hyper-V CPUID. */
                if (c->vendor != vendor || c->evmcs)
                        continue;
                selftest_build(c, blob);
                printf("# %-8s ...\n", c->id);
                r = kernel_answer(c, c->null_ptr ? NULL : blob);
                /* The two A4 variants differ by kernel version: report which rule this kernel has. */
                if (strncmp(c->id, "A4", 2) == 0) {
                        if (!c->old_svme0_rule)
                                printf("# A4       kernel %-6s (%s rule for GIF clear with EFER.SVME clear)\n",
                                       nv_errno_name(r), r == 0 ? "late-2025" : "pre-2025");
                        continue;
                }
                printf("# %-8s kernel %-6s expected %-6s\n", c->id, nv_errno_name(r), nv_errno_name(c->expect));
                ran++;
                agree += r == c->expect;
        }
        printf("# selftest cases: kernel agrees on %u of %u\n", agree, ran);
        assert_int_equal(agree, ran);
}

/* mov al,0x42; out 0x80,al; inc bx; jmp back: real mode at CODE_GPA. */
static void load_io_loop(RealVm *vm) {
        static const uint8_t code[] = { 0xB0, 0x42, 0xE6, 0x80, 0x43, 0xEB, 0xF9 };
        struct kvm_sregs sr;
        struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };

        memcpy((uint8_t *) vm->mem + CODE_GPA, code, sizeof(code));
        assert_int_equal(nv_kvm_get_sregs(vm->vcpu, &sr, NULL), 0);
        sr.cs.base = 0;
        sr.cs.selector = 0;
        assert_int_equal(nv_kvm_set_sregs(vm->vcpu, &sr, NULL), 0);
        assert_int_equal(nv_kvm_set_regs(vm->vcpu, &regs, NULL), 0);
}

static void test_quiesce_rule(void **state) {
        struct kvm_regs regs;
        RealVm vm;

        (void) state;
        real_vm_new(&vm);
        load_io_loop(&vm);
        assert_int_equal(nv_kvm_vcpu_run(vm.vcpu, NULL), 0);
        assert_int_equal(nv_vcpu_run_area(vm.vcpu)->exit_reason, KVM_EXIT_IO);
        assert_int_equal(nv_vcpu_run_area(vm.vcpu)->io.port, 0x80);
        assert_int_equal(nv_kvm_get_regs(vm.vcpu, &regs, NULL), 0);
        printf("# RIP at the I/O exit: 0x%llx\n", (unsigned long long) regs.rip);
        assert_int_equal(regs.rip, CODE_GPA + 2); /* the OUT itself: not yet completed */
        assert_int_equal(nv_vcpu_quiesce(vm.vcpu, NULL), 0);
        assert_int_equal(nv_kvm_get_regs(vm.vcpu, &regs, NULL), 0);
        printf("# RIP after quiesce:   0x%llx\n", (unsigned long long) regs.rip);
        assert_int_equal(regs.rip, CODE_GPA + 4);
        assert_int_equal(regs.rbx & 0xffff, 0);
        real_vm_free(&vm);
}

static void test_save_load(void **state) {
        static const uint32_t msrs[] = { 0xC0000080, 0x174 };
        struct kvm_regs regs;
        NvVcpuState *st = NULL;
        RealVm a, b;

        (void) state;
        real_vm_new(&a);
        load_io_loop(&a);
        for (int i = 0; i < 3; i++)
                assert_int_equal(nv_kvm_vcpu_run(a.vcpu, NULL), 0);
        assert_int_equal(nv_vcpu_save_state(a.vcpu, msrs, 2, &st, NULL), 0);
        real_vm_new(&b);
        memcpy(b.mem, a.mem, GUEST_MEM);
        assert_int_equal(nv_vcpu_load_state(b.vcpu, st, NULL), 0);
        assert_int_equal(nv_kvm_vcpu_run(b.vcpu, NULL), 0);
        assert_int_equal(nv_kvm_get_regs(b.vcpu, &regs, NULL), 0);
        assert_int_equal(regs.rbx & 0xffff, 3); /* two INCs before the save, one after */
        nv_vcpu_state_free(st);
        real_vm_free(&a);
        real_vm_free(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_probe),          cmocka_unit_test(test_idle_vcpu),
                cmocka_unit_test(test_selftest_cases), cmocka_unit_test(test_quiesce_rule),
                cmocka_unit_test(test_save_load),
        };

        /* The console is the only channel out of the test VM: never hold output back. */
        setvbuf(stdout, NULL, _IONBF, 0);
        if (access("/dev/kvm", R_OK | W_OK) != 0) {
                printf("1..0 # SKIP no usable /dev/kvm\n");
                return 77;
        }
        return cmocka_run_group_tests_name("real KVM", tests, NULL, NULL);
}
