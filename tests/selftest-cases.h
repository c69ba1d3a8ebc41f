/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel selftest nested_set_state_test as data (docs/kvm-nested-abi.md §5.1):
 * each case is a base state, the overrides the selftest applies, the facts
 * of the vCPU it runs on, and the kernel's answer.  Shared by the simulator
 * test and the real-KVM test.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "byteorder.h"
#include "nested-state.h"

#define SELFTEST_SZ (NV_NESTED_HDR_SIZE + 4096u) /* the header + getpagesize() */

typedef struct Ov {
        bool set;
        uint64_t v;
} Ov;
#define V(x) { true, (uint64_t) (x) }
#define NONE UINT64_MAX

typedef enum SelftestBase {
        BASE_GENERIC, /* set_default_state(): flags RUN_PENDING|GUEST_MODE, format 0, size 128 */
        BASE_VMX,     /* set_default_vmx_state(SZ) */
        BASE_SVM,     /* set_default_svm_state(SZ) */
} SelftestBase;

typedef struct SelftestCase {
        const char *id;
        int vendor;          /* host vendor the case runs on */
        bool cpuid;          /* VMX/SVM offered in guest CPUID */
        bool evmcs;          /* enlightened VMCS enabled on the vCPU */
        bool svme;           /* EFER.SVME set before the SET */
        bool old_svme0_rule; /* kernel before the late-2025 SVME=0/GIF fix */
        bool null_ptr;       /* pass NULL instead of the blob */
        SelftestBase base;
        Ov size, flags, format, vmxon_pa, vmcs12_pa, smm_flags, vmx_flags, vmcb_pa;
        int expect;              /* 0 or -errno */
        const char *expect_rule; /* the validator's rule id, when refused */
        bool check_get;          /* then GET and check it reads back as empty */
        uint16_t get_flags;
} SelftestCase;

static const SelftestCase selftest_cases[] = {
        /* Generic cases, VMX or SVM cleared from guest CPUID. */
        { "G1-vmx", NV_FORMAT_VMX, .null_ptr = true, .expect = -EFAULT, .expect_rule = "G1" },
        { "G2-vmx", NV_FORMAT_VMX, .base = BASE_GENERIC, .size = V(0), .expect = -EINVAL, .expect_rule = "G2" },
        { "G3-vmx", NV_FORMAT_VMX, .base = BASE_GENERIC, .flags = V(0xF), .expect = -EINVAL, .expect_rule = "V2d" },
        { "G4-vmx", NV_FORMAT_VMX, .base = BASE_GENERIC, .flags = V(2), .expect = -EINVAL, .expect_rule = "G4" },
        { "G1-svm", NV_FORMAT_SVM, .null_ptr = true, .expect = -EFAULT, .expect_rule = "G1" },
        { "G2-svm", NV_FORMAT_SVM, .base = BASE_GENERIC, .size = V(0), .expect = -EINVAL, .expect_rule = "G2" },
        { "G3-svm", NV_FORMAT_SVM, .base = BASE_GENERIC, .flags = V(0xF), .expect = -EINVAL, .expect_rule = "S1" },
        { "G4-svm", NV_FORMAT_SVM, .base = BASE_GENERIC, .flags = V(2), .expect = -EINVAL, .expect_rule = "G4" },
        /* VMX, VMX not in guest CPUID. */
        { "X1", NV_FORMAT_VMX, .base = BASE_VMX, .format = V(1), .expect = -EINVAL, .expect_rule = "V1" },
        { "X2", NV_FORMAT_VMX, .base = BASE_VMX, .expect = -EINVAL, .expect_rule = "V2d" },
        { "X3", NV_FORMAT_VMX, .base = BASE_VMX, .vmxon_pa = V(NONE), .expect = -EINVAL, .expect_rule = "V2b" },
        { "X4", NV_FORMAT_VMX, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE), .flags = V(NV_NESTED_EVMCS),
          .expect = -EINVAL, .expect_rule = "V8" },
        { "X5", NV_FORMAT_VMX, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE), .flags = V(0), .expect = 0 },
        /* VMX in guest CPUID. */
        { "X6", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE), .expect = 0 },
        { "X7a", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE),
          .flags = V(NV_NESTED_EVMCS), .expect = -EINVAL, .expect_rule = "V8" },
        { "X7b", NV_FORMAT_VMX, .cpuid = true, .evmcs = true, .base = BASE_VMX, .vmxon_pa = V(NONE),
          .vmcs12_pa = V(NONE), .flags = V(NV_NESTED_EVMCS), .expect = 0 },
        { "X8", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE),
          .smm_flags = V(1), .expect = -EINVAL, .expect_rule = "V2a" },
        { "X9", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmx_flags = V(0xFFFFFFFF), .expect = -EINVAL,
          .expect_rule = "V5" },
        { "X10", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(NONE), .expect = -EINVAL,
          .expect_rule = "V2b" },
        { "X11", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(1), .expect = -EINVAL,
          .expect_rule = "V2e" },
        { "X12", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .flags = V(3), .smm_flags = V(NV_SMM_GUEST_MODE),
          .expect = -EINVAL, .expect_rule = "V3" },
        { "X13", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .smm_flags = V(0xFFFC), .expect = -EINVAL,
          .expect_rule = "V4" },
        { "X14", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .smm_flags = V(NV_SMM_GUEST_MODE),
          .expect = -EINVAL, .expect_rule = "V6" },
        { "X15", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .size = V(128), .expect = -EINVAL,
          .expect_rule = "V11" },
        { "X16", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .size = V(128), .vmcs12_pa = V(NONE), .expect = 0 },
        { "X17", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .expect = 0 },
        { "X18", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .size = V(128), .vmcs12_pa = V(NONE),
          .vmx_flags = V(0xFFFFFFFF), .expect = -EINVAL, .expect_rule = "V5" },
        { "X19", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(0), .vmcs12_pa = V(0),
          .expect = -EINVAL, .expect_rule = "V12a" },
        { "X20", NV_FORMAT_VMX, .cpuid = true, .base = BASE_VMX, .vmxon_pa = V(NONE), .vmcs12_pa = V(NONE),
          .expect = 0, .check_get = true, .get_flags = 0 },
        /* SVM, SVM in guest CPUID. */
        { "A1", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .format = V(0), .expect = -EINVAL,
          .expect_rule = "S1" },
        { "A2", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .flags = V(NV_NESTED_EVMCS),
          .expect = -EINVAL, .expect_rule = "S2" },
        { "A3", NV_FORMAT_SVM, .cpuid = true, .base = BASE_SVM, .flags = V(NV_NESTED_GUEST_MODE), .expect = -EINVAL,
          .expect_rule = "S3" },
        { "A4", NV_FORMAT_SVM, .cpuid = true, .base = BASE_SVM, .flags = V(0), .expect = 0 },
        { "A4-old-kernel", NV_FORMAT_SVM, .cpuid = true, .old_svme0_rule = true, .base = BASE_SVM, .flags = V(0),
          .expect = -EINVAL, .expect_rule = "S3" },
        { "A5", NV_FORMAT_SVM, .cpuid = true, .base = BASE_SVM, .flags = V(NV_NESTED_GIF_SET), .expect = 0 },
        { "A6", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .vmcb_pa = V(NONE), .expect = 0 },
        { "A7", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .vmcb_pa = V(NONE),
          .flags = V(NV_NESTED_GUEST_MODE), .expect = -EINVAL, .expect_rule = "S6" },
        { "A8", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .size = V(SELFTEST_SZ / 2),
          .expect = 0 },
        { "A9", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .size = V(SELFTEST_SZ / 2),
          .flags = V(NV_NESTED_GUEST_MODE), .expect = -EINVAL, .expect_rule = "S7" },
        { "A10", NV_FORMAT_SVM, .cpuid = true, .svme = true, .base = BASE_SVM, .vmcb_pa = V(NONE),
          .flags = V(NV_NESTED_GIF_SET), .expect = 0, .check_get = true, .get_flags = NV_NESTED_GIF_SET },
};
#define SELFTEST_N_CASES (sizeof(selftest_cases) / sizeof(selftest_cases[0]))

/* Writes the case's blob (SELFTEST_SZ bytes) into buf. */
static inline void selftest_build(const SelftestCase *c, uint8_t *buf) {
        NvNestedHeader h = {};

        memset(buf, 0, SELFTEST_SZ);
        switch (c->base) {
        case BASE_GENERIC:
                h = (NvNestedHeader) { .flags = NV_NESTED_RUN_PENDING | NV_NESTED_GUEST_MODE, .size = 128 };
                break;
        case BASE_VMX:
                h = (NvNestedHeader) { .size = SELFTEST_SZ, .vmx = { .vmxon_pa = 0x1000, .vmcs12_pa = 0x2000 } };
                break;
        case BASE_SVM:
                h = (NvNestedHeader) { .format = NV_FORMAT_SVM, .size = SELFTEST_SZ, .svm = { .vmcb_pa = 0x3000 } };
                break;
        }
#define APPLY(field, ov) if (c->ov.set) field = (__typeof__(field)) c->ov.v
        APPLY(h.size, size);
        APPLY(h.flags, flags);
        APPLY(h.format, format);
        APPLY(h.vmx.vmxon_pa, vmxon_pa);
        APPLY(h.vmx.vmcs12_pa, vmcs12_pa);
        APPLY(h.vmx.smm_flags, smm_flags);
        APPLY(h.vmx.flags, vmx_flags);
        APPLY(h.svm.vmcb_pa, vmcb_pa);
#undef APPLY
        nv_nested_header_format(&h, buf);
        if (c->base == BASE_VMX)
                put_le32(buf + NV_OFF_DATA, NV_VMCS12_REVISION);
}
