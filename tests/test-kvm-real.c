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
 *  - capture needs the vCPU's thread stopped: while another thread is in
 *    KVM_RUN, a capture waits for it to leave;
 *  - the GET buffer: with a nested SVM guest in guest mode, a buffer below
 *    the capability gets E2BIG, the needed size, and 4224 bytes written
 *    anyway; nestvirt's own GETs always declare the capability;
 *  - save/load of a whole vCPU into a fresh VM.
 *
 * Linked with -Wl,--wrap=ioctl, so that it sees the size every
 * KVM_GET_NESTED_STATE declares, nestvirt's own included.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest-svm.h"
#include "helpers.h"
#include "real-kvm.h"
#include "selftest-cases.h"
#include "validate.h"

#define GUEST_MEM (64u * 1024u)
#define CODE_GPA 0x1000u
#define COUNTER_GPA 0x2000u

typedef struct RealVm {
        NvKvm *kvm;
        NvVcpu *vcpu;
        void *mem;
        size_t mem_size;
} RealVm;

/* The declared size of the KVM_GET_NESTED_STATE calls since the last reset. */
static struct {
        uint32_t size[16];
        unsigned n;
} gets;

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

int __wrap_ioctl(int fd, unsigned long req, ...) {
        va_list ap;
        void *arg;

        va_start(ap, req);
        arg = va_arg(ap, void *);
        va_end(ap);
        if (req == KVM_GET_NESTED_STATE && arg && gets.n < ELEMENTSOF(gets.size))
                gets.size[gets.n++] = ((const struct kvm_nested_state *) arg)->size;
        return __real_ioctl(fd, req, arg);
}

static void real_vm_new_sized(RealVm *vm, size_t mem_size) {
        *vm = (RealVm) { .mem_size = mem_size };
        assert_int_equal(nv_kvm_open(NULL, &vm->kvm, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(vm->kvm, NULL), 0);
        vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(vm->mem != MAP_FAILED);
        assert_int_equal(nv_kvm_set_memory(vm->kvm, vm->mem, mem_size, NULL), 0);
        assert_int_equal(nv_kvm_create_vcpu(vm->kvm, 0, &vm->vcpu, NULL), 0);
}

static void real_vm_new(RealVm *vm) {
        real_vm_new_sized(vm, GUEST_MEM);
}

static void real_vm_free(RealVm *vm) {
        nv_vcpu_free(vm->vcpu);
        nv_kvm_free(vm->kvm);
        munmap(vm->mem, vm->mem_size);
}

static void test_probe(void **state) {
        NvKvm *kvm = NULL;
        int cap;

        assert_int_equal(nv_kvm_open(NULL, &kvm, NULL), 0);
        cap = nv_kvm_nested_state_max(kvm);
        printf("# KVM_CAP_NESTED_STATE = %d\n", cap);
        assert_true(cap == NV_SVM_MAX_SIZE || cap == NV_VMX_MAX_SIZE);
        nv_kvm_free(kvm);
}

static void test_idle_vcpu(void **state) {
        NvBlob b = {};
        RealVm vm;

        real_vm_new(&vm);
        assert_int_equal(nv_vcpu_get_nested(vm.vcpu, false, &b, NULL), 0);
        assert_int_equal(b.len, NV_NESTED_HDR_SIZE);
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

/*
 * inc dword [COUNTER_GPA]; jmp back: real mode at CODE_GPA, forever, never
 * exiting to userspace.  IF is set although nothing is injected (there is no
 * in-kernel irqchip): Bochs, which provides VMX in the e2e VM, unmasks host
 * interrupts for a VMX guest only when the guest's IF changes, so a guest
 * entered with IF clear that never exits would hold the only CPU forever.
 */
static void load_spin_loop(RealVm *vm) {
        static const uint8_t code[] = { 0x66, 0xFF, 0x06, COUNTER_GPA & 0xff, COUNTER_GPA >> 8, 0xEB, 0xF9 };
        struct kvm_sregs sr;
        struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x202 };

        memcpy((uint8_t *) vm->mem + CODE_GPA, code, sizeof(code));
        assert_int_equal(nv_kvm_get_sregs(vm->vcpu, &sr, NULL), 0);
        sr.cs.base = 0;
        sr.cs.selector = 0;
        assert_int_equal(nv_kvm_set_sregs(vm->vcpu, &sr, NULL), 0);
        assert_int_equal(nv_kvm_set_regs(vm->vcpu, &regs, NULL), 0);
}

static uint32_t spin_counter(const RealVm *vm) {
        return __atomic_load_n((const uint32_t *) ((const uint8_t *) vm->mem + COUNTER_GPA), __ATOMIC_RELAXED);
}

typedef struct Capture {
        NvVcpu *vcpu;
        atomic_bool started, done;
        int r;
        NvBlob blob;
} Capture;

static void *run_thread(void *p) {
        NvVcpu *vcpu = p;

        return (void *) (intptr_t) nv_kvm_vcpu_run(vcpu, NULL);
}

static void *capture_thread(void *p) {
        Capture *c = p;

        atomic_store(&c->started, true);
        c->r = nv_vcpu_get_nested(c->vcpu, /* quiesce= */ true, &c->blob, NULL);
        atomic_store(&c->done, true);
        return NULL;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

static void on_kick(int sig) {
}

/*
 * A capture from another thread while the vCPU's own thread is in KVM_RUN
 * does not read the running vCPU: the kernel holds the vCPU's mutex for
 * the whole KVM_RUN, so the capture (quiesce, then GET) waits until the
 * VMM stops that thread, here with a signal.  nestvirt never has to tell
 * a running vCPU's state from a stopped one's; freezing is what lets it
 * proceed at all.
 */
static void test_capture_waits_for_run(void **state) {
        struct sigaction sa = { .sa_handler = on_kick }; /* no SA_RESTART: KVM_RUN returns EINTR */
        pthread_t runner, capturer;
        Capture c = {};
        uint32_t before;
        void *run_r;
        RealVm vm;

        assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
        real_vm_new(&vm);
        load_spin_loop(&vm);
        c.vcpu = vm.vcpu;
        assert_int_equal(pthread_create(&runner, NULL, run_thread, vm.vcpu), 0);
        for (int i = 0; i < 500 && spin_counter(&vm) == 0; i++)
                sleep_ms(10);
        assert_int_not_equal(spin_counter(&vm), 0); /* the guest runs */
        assert_int_equal(pthread_create(&capturer, NULL, capture_thread, &c), 0);
        while (!atomic_load(&c.started))
                sleep_ms(1);
        before = spin_counter(&vm);
        sleep_ms(500);
        printf("# capture waiting: %s; guest counter %u -> %u\n", atomic_load(&c.done) ? "no" : "yes", before,
               spin_counter(&vm));
        assert_false(atomic_load(&c.done));
        assert_int_not_equal(spin_counter(&vm), before); /* still in KVM_RUN, still running */
        assert_int_equal(pthread_kill(runner, SIGUSR1), 0);
        assert_int_equal(pthread_join(runner, &run_r), 0);
        assert_int_equal((intptr_t) run_r, -EINTR);
        assert_int_equal(pthread_join(capturer, NULL), 0);
        assert_int_equal(c.r, 0); /* not in guest mode: the bare header */
        assert_int_equal(c.blob.len, NV_NESTED_HDR_SIZE);
        before = spin_counter(&vm);
        sleep_ms(100);
        assert_int_equal(spin_counter(&vm), before); /* the capture's quiesce did not run the guest on */
        nv_blob_clear(&c.blob);
        real_vm_free(&vm);
}

/* The nested SVM guest of the reference VMM, run until L2 has counted `turns`; then quiesced. */
static void run_to_l2(RealVm *vm, uint64_t turns) {
        struct kvm_run *run = nv_vcpu_run_area(vm->vcpu);

        nv_guest_svm_build(vm->mem);
        assert_int_equal(nv_guest_svm_boot_vcpu(vm->vcpu, 0, NULL), 0);
        while (nv_guest_svm_data(vm->mem, 0, GS_L2_COUNTER) < turns) {
                assert_int_equal(nv_kvm_vcpu_run(vm->vcpu, NULL), 0);
                if (run->exit_reason != KVM_EXIT_IO || run->io.port != GS_PORT_TICK)
                        fail_msg("unexpected exit %u (port 0x%x, L1 fail code 0x%llx)", run->exit_reason, run->io.port,
                                 (unsigned long long) nv_guest_svm_data(vm->mem, 0, GS_FAIL_CODE));
        }
        assert_int_equal(nv_vcpu_quiesce(vm->vcpu, NULL), 0);
}

/* GET into buf, which holds more than any blob, declaring `size`. */
static int get_declaring(RealVm *vm, uint8_t *buf, size_t len, uint32_t size) {
        memset(buf, 0xAA, len);
        ((struct kvm_nested_state *) buf)->size = size;
        return nv_kvm_get_nested_state_raw(vm->vcpu, (struct kvm_nested_state *) buf);
}

/*
 * docs/kvm-nested-abi.md §2: size the GET buffer from KVM_CAP_NESTED_STATE, never smaller.
 * In guest mode a smaller size gets E2BIG with the needed size written
 * back, and on SVM a buffer of 128..4223 bytes gets 4224 bytes written
 * anyway.  nv_vcpu_get_nested() declares the capability and gets the
 * blob at the first try.
 */
static void test_get_never_below_capability(void **state) {
        _Alignas(8) uint8_t buf[NV_VMX_MAX_SIZE + 64];
        NvBlob b = {};
        RealVm vm;
        int cap;

        real_vm_new_sized(&vm, GS_MEM_SIZE);
        if (nv_kvm_vendor(vm.kvm) != NV_FORMAT_SVM) {
                real_vm_free(&vm);
                skip(); /* the guest-mode guest here is nested SVM */
        }
        cap = nv_kvm_nested_state_max(vm.kvm);
        run_to_l2(&vm, 20);
        assert_int_equal(get_declaring(&vm, buf, sizeof(buf), 200), -E2BIG);
        printf("# declared 200: E2BIG, size %u, byte 4223 %s, byte 4224 %s\n", get_le32(buf + NV_OFF_SIZE),
               buf[NV_SVM_MAX_SIZE - 1] == 0xAA ? "untouched" : "written", buf[NV_SVM_MAX_SIZE] == 0xAA ? "untouched" : "written");
        assert_int_equal(get_le32(buf + NV_OFF_SIZE), cap);
        assert_int_equal(get_le16(buf + NV_OFF_FLAGS), NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET);
        assert_int_equal(buf[NV_SVM_MAX_SIZE - 1], 0); /* the vmcb12 area is cleared to its end: past the 200 declared */
        assert_int_equal(buf[NV_SVM_MAX_SIZE], 0xAA);
        assert_int_equal(get_declaring(&vm, buf, sizeof(buf), 100), -E2BIG); /* below the header: just a size */
        assert_int_equal(get_le32(buf + NV_OFF_SIZE), NV_NESTED_HDR_SIZE);
        assert_int_equal(buf[0], 0xAA);
        assert_int_equal(buf[200], 0xAA);
        assert_int_equal(get_declaring(&vm, buf, sizeof(buf), (uint32_t) cap), 0);
        gets.n = 0;
        assert_int_equal(nv_vcpu_get_nested(vm.vcpu, true, &b, NULL), 1);
        assert_int_equal(b.len, cap);
        assert_memory_equal(b.data, buf, b.len);
        assert_int_equal(gets.n, 1); /* no retry after an E2BIG */
        assert_true(gets.size[0] >= (uint32_t) cap);
        nv_blob_clear(&b);
        real_vm_free(&vm);
}

static void test_save_load(void **state) {
        static const uint32_t msrs[] = { MSR_EFER, MSR_IA32_SYSENTER_CS };
        struct kvm_regs regs;
        NvVcpuRegsNested *st = NULL;
        RealVm a, b;

        real_vm_new(&a);
        load_io_loop(&a);
        for (int i = 0; i < 3; i++)
                assert_int_equal(nv_kvm_vcpu_run(a.vcpu, NULL), 0);
        assert_int_equal(nv_vcpu_save_regs_nested(a.vcpu, msrs, 2, &st, NULL), 0);
        real_vm_new(&b);
        memcpy(b.mem, a.mem, GUEST_MEM);
        assert_int_equal(nv_vcpu_load_regs_nested(b.vcpu, st, NULL), 0);
        assert_int_equal(nv_kvm_vcpu_run(b.vcpu, NULL), 0);
        assert_int_equal(nv_kvm_get_regs(b.vcpu, &regs, NULL), 0);
        assert_int_equal(regs.rbx & 0xffff, 3); /* two INCs before the save, one after */
        nv_vcpu_regs_nested_free(st);
        real_vm_free(&a);
        real_vm_free(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_probe),          cmocka_unit_test(test_idle_vcpu),
                cmocka_unit_test(test_selftest_cases), cmocka_unit_test(test_quiesce_rule),
                cmocka_unit_test(test_capture_waits_for_run), cmocka_unit_test(test_get_never_below_capability),
                cmocka_unit_test(test_save_load),
        };

        /* The console is the only channel out of the test VM: never hold output back. */
        setvbuf(stdout, NULL, _IONBF, 0);
        if (test_real_kvm_require(-1))
                return 77;
        return cmocka_run_group_tests_name("real KVM", tests, NULL, NULL);
}
