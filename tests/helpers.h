/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the unit tests: a simulated VM with N vCPUs. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kvm.h"
#include "sim.h"
#include "vcpu.h"
#include "x86-arch.h"

#define TEST_MAX_VCPUS 1024 /* as many as KVM allows (KVM_MAX_VCPUS on x86) */

typedef struct TestVm {
        NvKvm *kvm;
        NvSim *sim; /* owned by kvm */
        NvVcpu *vcpus[TEST_MAX_VCPUS];
        unsigned n;
} TestVm;

/* A simulated VM of the given vendor with n vCPUs whose CPUID offers VMX/SVM. */
static inline void test_vm_new(TestVm *vm, const NvSimConfig *cfg, unsigned n) {
        *vm = (TestVm) { .n = n };
        assert_int_equal(nv_sim_backend_open(cfg, &vm->kvm, &vm->sim, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(vm->kvm, NULL), 0);
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(nv_kvm_create_vcpu(vm->kvm, i, &vm->vcpus[i], NULL), 0);
}

static inline void test_vm_new_vendor(TestVm *vm, NvFormat vendor, unsigned n) {
        NvSimConfig cfg;

        nv_sim_config_init(&cfg, vendor);
        test_vm_new(vm, &cfg, n);
}

static inline void test_vm_free(TestVm *vm) {
        for (unsigned i = 0; i < vm->n; i++)
                nv_vcpu_free(vm->vcpus[i]);
        nv_kvm_free(vm->kvm);
        *vm = (TestVm) {};
}

/* Sets or clears EFER.SVME through KVM_SET_SREGS, as a VMM would. */
static inline void test_set_svme(NvVcpu *v, bool on) {
        struct kvm_sregs sr;

        assert_int_equal(nv_kvm_get_sregs(v, &sr, NULL), 0);
        sr.efer = on ? (sr.efer | X86_EFER_SVME) : (sr.efer & ~X86_EFER_SVME);
        assert_int_equal(nv_kvm_set_sregs(v, &sr, NULL), 0);
}

/* A struct kvm_cpuid2 holding the n entries; free() it. */
static inline struct kvm_cpuid2 *test_cpuid_new(const struct kvm_cpuid_entry2 *e, uint32_t n) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(*e));

        assert_non_null(c);
        c->nent = n;
        memcpy(c->entries, e, n * sizeof(*e));
        return c;
}

/* Gives the vCPU a CPUID without any leaf: no VMX/SVM, default MAXPHYADDR. */
static inline void test_clear_cpuid(NvVcpu *v) {
        struct kvm_cpuid2 empty = { .nent = 0 };

        assert_int_equal(nv_kvm_set_cpuid(v, &empty, NULL), 0);
}
