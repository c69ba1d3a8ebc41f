/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every case of the kernel selftest nested_set_state_test (docs/kvm-nested-abi.md §5.1),
 * run against the validator and the simulator: both must give the kernel's
 * verdict and errno.  The real kernel runs the same table in the real-KVM
 * test (test-kvm-real.c).
 */
#include <string.h>

#include "helpers.h"
#include "selftest-cases.h"
#include "validate.h"

static NvTristate tri(bool b) {
        return b ? NV_YES : NV_NO;
}

/* The context the validator gets is exactly what the test's vCPU has. */
static void case_context(const SelftestCase *c, NvValidateContext *ctx) {
        nv_validate_context_init(ctx);
        ctx->vendor = c->vendor;
        ctx->maxphyaddr = c->cpuid ? 48 : 36;
        ctx->vmx_allowed = tri(c->vendor == NV_FORMAT_VMX && c->cpuid);
        ctx->evmcs_enabled = tri(c->evmcs);
        ctx->svme = tri(c->svme);
        ctx->in_smm = NV_NO;
        ctx->npt_enabled = NV_YES;
        ctx->svme0_gif0_ok = tri(!c->old_svme0_rule);
        ctx->have_cr0 = true;
        ctx->cr0 = 0x60000010; /* reset value of the fresh vCPU */
}

static int run_on_sim(const SelftestCase *c, const uint8_t *blob, struct kvm_nested_state *after) {
        NvSimConfig cfg;
        TestVm vm;
        int r;

        nv_sim_config_init(&cfg, c->vendor);
        cfg.svme0_gif0_ok = !c->old_svme0_rule;
        test_vm_new(&vm, &cfg, 1);
        if (!c->cpuid)
                test_clear_cpuid(vm.vcpus[0]);
        if (c->evmcs) {
                uint16_t ver = 0;
                struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_ENLIGHTENED_VMCS, .args[0] = (uintptr_t) &ver };
                assert_int_equal(nv_kvm_enable_cap(vm.vcpus[0], &cap, NULL), 0);
        }
        test_set_svme(vm.vcpus[0], c->svme);
        r = nv_kvm_set_nested_state_raw(vm.vcpus[0], (const struct kvm_nested_state *) blob);
        if (after) {
                after->size = SELFTEST_SZ;
                assert_int_equal(nv_kvm_get_nested_state_raw(vm.vcpus[0], after), 0);
        }
        test_vm_free(&vm);
        return r;
}

static void test_case(void **state) {
        const SelftestCase *c = *state;
        _Alignas(8) uint8_t blob[SELFTEST_SZ + 64];
        _Alignas(8) uint8_t after[NV_NESTED_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;
        int rv, rs;

        selftest_build(c, blob);
        case_context(c, &ctx);
        rv = nv_validate(c->null_ptr ? NULL : blob, c->null_ptr ? 0 : sizeof(blob), &ctx, &res);
        if (rv != c->expect)
                print_error("%s: validator said %s (%s), kernel says %s\n", c->id, nv_errno_name(rv), res.message,
                            nv_errno_name(c->expect));
        assert_int_equal(rv, c->expect);
        if (c->expect_rule)
                assert_string_equal(res.rule, c->expect_rule);
        rs = run_on_sim(c, c->null_ptr ? NULL : blob, c->check_get ? (struct kvm_nested_state *) after : NULL);
        assert_int_equal(rs, c->expect);
        if (c->check_get) {
                const struct kvm_nested_state *g = (const void *) after;
                assert_true(g->size >= 128 && g->size <= SELFTEST_SZ);
                assert_int_equal(g->flags, c->get_flags);
                if (c->vendor == NV_FORMAT_VMX) {
                        assert_true(g->hdr.vmx.vmxon_pa == UINT64_MAX && g->hdr.vmx.vmcs12_pa == UINT64_MAX);
                } else
                        assert_true(g->hdr.svm.vmcb_pa == 0);
        }
}

int main(void) {
        struct CMUnitTest tests[SELFTEST_N_CASES];

        for (size_t i = 0; i < SELFTEST_N_CASES; i++)
                tests[i] = (struct CMUnitTest) {
                        .name = selftest_cases[i].id,
                        .test_func = test_case,
                        .initial_state = (void *) &selftest_cases[i],
                };
        return cmocka_run_group_tests_name("kernel selftest cases: validator and simulator", tests, NULL, NULL);
}
