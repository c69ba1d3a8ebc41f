/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's own verdict on real nested SVM: the host measured as a
 * restore target on scratch vCPUs (the probed rules must be what the
 * kernel then does with the same states), and the driver's one incoming
 * verification, which lands every blob on a scratch vCPU before any VMM is
 * touched: with a validator rule disabled (the test-only knob
 * NESTVIRT_TEST_DISABLE_RULE) the kernel still refuses, and says the
 * validator has a gap.  Prints the capabilities document between markers
 * so that a run on another kernel can be compared (tests/e2e/caps-differ.sh).
 *
 *   test-kvm-scratch    skips (77) without nested SVM on /dev/kvm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "driver-private.h"
#include "helpers.h"
#include "host-caps.h"
#include "kvm-probe.h"
#include "real-kvm.h"

static NvHostInfo host;

/* The kernel's answer to blob on a scratch vCPU of this host. */
static int kernel_verdict(const uint8_t *blob) {
        NvKvm *kvm = NULL;
        NvScratch *vms = NULL;
        NvVcpu *v = NULL;
        int verdict;

        assert_int_equal(nv_kvm_open(NULL, &kvm, NULL), 0);
        assert_int_equal(nv_scratch_new(kvm, &host.target, &vms, NULL), 0);
        assert_int_equal(nv_scratch_vcpu_for_state(vms, blob, NV_SVM_MAX_SIZE, &v, NULL), 0);
        verdict = nv_kvm_scratch_set(v, blob, NV_SVM_MAX_SIZE);
        nv_vcpu_free(v);
        nv_scratch_free(vms);
        nv_kvm_free(kvm);
        return verdict;
}

static void test_target_measured(void **state) {
        const NvHostTarget *t = &host.target;
        _cleanup_free_ char *xml = NULL;

        assert_true(t->measured);
        assert_true(t->maxphyaddr >= 32 && t->maxphyaddr <= 52);
        assert_true(t->n_cpuid > 0);
        assert_int_not_equal(t->smm, NV_UNKNOWN);
        assert_int_not_equal(t->svme0_gif0_ok, NV_UNKNOWN);
        assert_int_not_equal(t->vnmi_needs_nmi_intercept, NV_UNKNOWN);
        assert_false(t->have_vmx_msrs); /* an SVM host */
        assert_int_equal(nv_host_caps_format(&host, &xml, NULL), 0);
        printf("NESTVIRT-CAPS-BEGIN\n%sNESTVIRT-CAPS-END\n", xml);
}

/* The probed facts are what the kernel does with the states they stand for, and the validator with them agrees. */
static void test_probes_match_kernel(void **state) {
        _Alignas(8) uint8_t blob[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;
        int k;

        nv_host_validate_context(&host, &ctx);
        ctx.svme = NV_YES, ctx.in_smm = NV_NO, ctx.have_cr0 = true, ctx.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
        nv_kvm_probe_svm_blob(blob);
        assert_int_equal(kernel_verdict(blob), 0);
        assert_int_equal(nv_validate(blob, sizeof(blob), &ctx, &res), 0);
        put_le32(blob + NV_OFF_DATA + VMCB_CTL_INT_CTL, SVM_INT_CTL_V_NMI_ENABLE);
        k = kernel_verdict(blob);
        printf("# V_NMI_ENABLE without the NMI intercept: kernel %s, probe says refused: %s\n", k ? nv_errno_name(k) : "accepts",
               host.target.vnmi_needs_nmi_intercept == NV_YES ? "yes" : "no");
        assert_int_equal(k == -EINVAL, host.target.vnmi_needs_nmi_intercept == NV_YES);
        assert_int_equal(nv_validate(blob, sizeof(blob), &ctx, &res), k);
        assert_int_equal(res.n_unchecked, 0); /* every rule checked: host facts measured, vCPU facts given */
}

#define N_VCPUS 3

/* A snapshot of N_VCPUS guest-mode vCPUs, the last one's asid (rule S9) as given: the others land on the same scratch VM. */
static void snapshot_image(uint32_t asid, uint8_t **img, size_t *len) {
        _Alignas(8) uint8_t blob[NV_SVM_MAX_SIZE];
        NvSnapshot *s = nv_snapshot_new(NV_FORMAT_SVM);

        nv_kvm_probe_svm_blob(blob);
        for (uint32_t i = 0; i < N_VCPUS; i++) {
                put_le32(blob + NV_OFF_DATA + VMCB_CTL_ASID, i + 1 == N_VCPUS ? asid : 1);
                assert_int_equal(nv_snapshot_add(s, i, &(NvBlob) { blob, sizeof(blob) }, NULL), 0);
        }
        assert_int_equal(nv_snapshot_serialize(s, img, len, NULL), 0);
        nv_snapshot_free(s);
}

/* The driver's incoming verification as restore and the hook run it, before any VMM call. */
static int incoming(uint32_t asid, NvIncoming *in, NvError **err) {
        _cleanup_free_ uint8_t *img = NULL;
        size_t len;
        int r;

        snapshot_image(asid, &img, &len);
        r = nv_incoming_verify(&(NvVerify) { .vendor = NV_FORMAT_SVM, .kernel_check = true }, img, len, in, err);
        nv_incoming_clear(in);
        return r;
}

static void test_incoming_kernel_check(void **state) {
        NvIncoming in = {};
        NvError *err = NULL;

        assert_int_equal(incoming(1, &in, &err), 0);
        assert_null(in.kernel_unchecked); /* the kernel was asked and accepted */
        assert_int_equal(incoming(0, &in, &err), -EINVAL);
        printf("# validator on: %s\n", nv_error_message(err, -EINVAL));
        assert_non_null(strstr(nv_error_message(err, 0), "vCPU 2: Rule S9: control.asid"));
        err = nv_error_free(err);
        /* The validator blind to S9: the kernel on the scratch vCPU still refuses, and it is a gap. */
        setenv("NESTVIRT_TEST_DISABLE_RULE", "S9", 1);
        assert_int_equal(incoming(0, &in, &err), -EINVAL);
        unsetenv("NESTVIRT_TEST_DISABLE_RULE");
        printf("# validator without S9: %s\n", nv_error_message(err, -EINVAL));
        assert_non_null(strstr(nv_error_message(err, 0), "vCPU 2: validator gap"));
        assert_non_null(strstr(nv_error_message(err, 0), "failed with EINVAL"));
        nv_error_free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_target_measured),
                cmocka_unit_test(test_probes_match_kernel),
                cmocka_unit_test(test_incoming_kernel_check),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        if (test_real_kvm_require(NV_FORMAT_SVM))
                return 77;
        if (nv_host_probe(NULL, NULL, &host, NULL) < 0)
                return 1;
        nv_host_probe_target(NULL, NULL, &host);
        return cmocka_run_group_tests_name("kernel verdicts on scratch vCPUs (SVM)", tests, NULL, NULL);
}
