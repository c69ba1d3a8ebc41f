/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When a real-KVM test can run.  The device node says little: /dev/kvm may
 * exist on a kernel that cannot save nested state (kvm_intel/kvm_amd with
 * nested=0, a paravirtual KVM, a CPU without VMX/SVM), or of the other
 * vendor.  So the tests decide on KVM_CAP_NESTED_STATE and on the vendor it
 * implies, and skip (exit 77) naming the reason.
 */
#pragma once

#include <stdio.h>

#include "kvm.h"

/*
 * NULL when /dev/kvm can save nested state of vendor (NV_FORMAT_SVM,
 * NV_FORMAT_VMX, or -1 for either); otherwise why not, in buf.
 */
static inline const char *test_real_kvm_unusable(int vendor, char *buf, size_t size) {
        NvKvm *kvm = NULL;
        int cap, have, r;

        r = nv_kvm_open(NULL, &kvm, NULL);
        if (r < 0) {
                snprintf(buf, size, "no usable /dev/kvm (%s)", strerror(-r));
                return buf;
        }
        cap = nv_kvm_nested_state_max(kvm);
        have = nv_kvm_vendor(kvm);
        nv_kvm_free(kvm);
        if (cap <= 0) {
                snprintf(buf, size, "/dev/kvm cannot save nested state (KVM_CAP_NESTED_STATE is 0)");
                return buf;
        }
        if (vendor >= 0 && have != vendor) {
                snprintf(buf, size, "needs nested %s, this KVM has %s", vendor == NV_FORMAT_SVM ? "SVM" : "VMX",
                         have == NV_FORMAT_SVM ? "SVM" : have == NV_FORMAT_VMX ? "VMX" : "an unknown vendor");
                return buf;
        }
        return NULL;
}

/* The vendor of /dev/kvm's nested state (NV_FORMAT_SVM or NV_FORMAT_VMX), -1 if none: after test_real_kvm_require(). */
static inline int test_real_kvm_vendor(void) {
        NvKvm *kvm = NULL;
        int vendor;

        if (nv_kvm_open(NULL, &kvm, NULL) < 0)
                return -1;
        vendor = nv_kvm_vendor(kvm);
        nv_kvm_free(kvm);
        return vendor;
}

/* Prints the TAP skip line and returns 77 when the test cannot run, else 0. */
static inline int test_real_kvm_require(int vendor) {
        char buf[160];
        const char *why = test_real_kvm_unusable(vendor, buf, sizeof(buf));

        if (!why)
                return 0;
        printf("1..0 # SKIP %s\n", why);
        return 77;
}
