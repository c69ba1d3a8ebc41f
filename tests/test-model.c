/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blob model, the field tables and the validator on hand-made blobs:
 * the test vectors of docs/kvm-nested-abi.md §7, messages that name rule, field, value
 * and errno, and what the validator does when it lacks context.
 *
 * Offsets and bits are named (src/x86-arch.h); test-x86-arch checks those
 * names against the published layouts in docs/x86-facts.md.
 */
#include <string.h>

#include "byteorder.h"
#include "fields.h"
#include "helpers.h"
#include "nested-state.h"
#include "validate.h"

/* Blob offsets: vmcb12 control and save-area fields, vmcs12 fields. */
#define CTL(f) (NV_OFF_DATA + VMCB_CTL_##f)
#define SAVE(f) (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_##f)
#define VMCS(f) (NV_OFF_DATA + VMCS12_##f)
#define L1_EFER (X86_EFER_SVME | X86_EFER_LMA | X86_EFER_LME)
#define L1_CR0 (X86_CR0_PG | X86_CR0_ET | X86_CR0_PE)
#define TV2_SIZE (NV_NESTED_HDR_SIZE + NV_VMCS12_AREA_SIZE) /* a vmcs12, no shadow */

/* TV3 of docs/kvm-nested-abi.md §7: SVM, L2 active, GIF set. */
static void make_tv3(uint8_t *b) {
        memset(b, 0, NV_SVM_MAX_SIZE);
        put_le16(b + NV_OFF_FLAGS, NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET);
        put_le16(b + NV_OFF_FORMAT, NV_FORMAT_SVM);
        put_le32(b + NV_OFF_SIZE, NV_SVM_MAX_SIZE);
        put_le64(b + NV_OFF_VMCB_PA, 0x103000);
        put_le32(b + CTL(INTERCEPT_WORD4), SVM_INTERCEPT_VMRUN);
        put_le32(b + CTL(ASID), 1);
        put_le64(b + SAVE(EFER), L1_EFER);
        put_le64(b + SAVE(CR4), X86_CR4_PAE);
        put_le64(b + SAVE(CR3), 0x104000);
        put_le64(b + SAVE(CR0), L1_CR0);
        put_le64(b + SAVE(RFLAGS), X86_EFLAGS_FIXED);
        put_le64(b + SAVE(RIP), 0xdead);
}

/* TV2: VMX, vmcs12 loaded, L2 active. */
static void make_tv2(uint8_t *b) {
        memset(b, 0, NV_VMX_MAX_SIZE);
        put_le16(b + NV_OFF_FLAGS, NV_NESTED_GUEST_MODE);
        put_le32(b + NV_OFF_SIZE, TV2_SIZE);
        put_le64(b + NV_OFF_VMXON_PA, 0x101000);
        put_le64(b + NV_OFF_VMCS12_PA, 0x102000);
        put_le32(b + VMCS(REVISION_ID), NV_VMCS12_REVISION);
        put_le32(b + VMCS(LAUNCH_STATE), VMCS12_LAUNCHED);
        put_le64(b + VMCS(VMCS_LINK_POINTER), NV_GPA_INVALID);
        put_le64(b + VMCS(GUEST_RIP), 0x401000);
        put_le32(b + VMCS(VM_EXIT_REASON), 0x12);
}

static void full_context(NvValidateContext *ctx, NvFormat vendor) {
        nv_validate_context_init(ctx);
        *ctx = (NvValidateContext) { .vendor = vendor, .maxphyaddr = 48, .vmx_allowed = NV_YES, .evmcs_enabled = NV_NO,
                                     .svme = NV_YES, .in_smm = NV_NO, .npt_enabled = NV_YES, .svme0_gif0_ok = NV_YES,
                                     .have_cr0 = true, .cr0 = L1_CR0, .have_cpuid = true,
                                     /* A CPUID with long mode and SVM but no VMX, NX or PCID. */
                                     .cr4_allowed = KVM_CR4_CPUID_UNGATED,
                                     .efer_allowed = KVM_EFER_CPUID_UNGATED | X86_EFER_SVME | X86_EFER_LMA | X86_EFER_LME };
}

static void test_header_parse_format(void **state) {
        _Alignas(8) uint8_t b[NV_VMX_MAX_SIZE], out[NV_NESTED_HDR_SIZE];
        NvNestedHeader h, sentinel = { .size = 0x1234 };

        make_tv2(b);
        assert_int_equal(nv_nested_header_parse(b, sizeof(b), &h, NULL), 0);
        assert_int_equal(h.size, TV2_SIZE);
        assert_int_equal(h.vmx.vmxon_pa, 0x101000);
        assert_true(nv_nested_guest_mode(&h));
        nv_nested_header_format(&h, out);
        assert_memory_equal(out, b, NV_NESTED_HDR_SIZE);
        /* Too short: error, and the out-parameter keeps its value. */
        assert_int_equal(nv_nested_header_parse(b, 127, &sentinel, NULL), -EINVAL);
        assert_int_equal(sentinel.size, 0x1234);
}

static void test_names(void **state) {
        const char *names[8];

        assert_int_equal(nv_nested_flag_names(0x0103, names, 8), 3);
        assert_string_equal(names[0], "GUEST_MODE");
        assert_string_equal(names[2], "GIF_SET");
        assert_int_equal(nv_nested_flag_from_string("MTF_PENDING"), NV_NESTED_MTF_PENDING);
        assert_int_equal(nv_nested_flag_from_string("BOGUS"), -EINVAL);
        assert_string_equal(nv_format_to_string(NV_FORMAT_SVM), "svm");
        assert_int_equal(nv_format_from_string("vmx"), NV_FORMAT_VMX);
        assert_int_equal(nv_format_from_string("arm"), -EINVAL);
        assert_null(nv_format_to_string(7));
}

static void test_fields_vmx(void **state) {
        _Alignas(8) uint8_t b[NV_VMX_MAX_SIZE];
        const NvField *f;
        uint64_t v;

        make_tv2(b);
        f = nv_fields_lookup(NV_FORMAT_VMX, "GUEST_RIP");
        assert_non_null(f);
        assert_int_equal(f->encoding, 0x681E);
        assert_ptr_equal(nv_fields_lookup(NV_FORMAT_VMX, "0x681e"), f);
        assert_ptr_equal(nv_fields_lookup(NV_FORMAT_VMX, "guest_rip"), f);
        assert_int_equal(nv_fields_read(b, sizeof(b), f, false, &v, NULL), 0);
        assert_int_equal(v, 0x401000);
        assert_int_equal(nv_fields_read(b, sizeof(b), nv_fields_lookup(NV_FORMAT_VMX, "VM_EXIT_REASON"), false, &v, NULL), 0);
        assert_int_equal(v, 0x12);
        assert_int_equal(nv_fields_read(b, sizeof(b), nv_fields_lookup(NV_FORMAT_VMX, "VMCS_LINK_POINTER"), false, &v, NULL), 0);
        assert_true(v == UINT64_MAX);
        /* No shadow vmcs12 in a 4224-byte blob. */
        assert_int_equal(nv_fields_read(b, sizeof(b), f, true, &v, NULL), -ENODATA);
        assert_null(nv_fields_lookup(NV_FORMAT_VMX, "NOT_A_FIELD"));
        assert_null(nv_fields_lookup(NV_FORMAT_VMX, "0x"));
}

/* Every vmcs12 field lies inside the 998-byte struct and no two overlap. */
static void test_field_table_consistent(void **state) {
        static const int formats[] = { NV_FORMAT_VMX, NV_FORMAT_SVM };

        for (size_t k = 0; k < 2; k++) {
                size_t n;
                const NvField *t = nv_fields_table(formats[k], &n);
                for (size_t i = 0; i < n; i++) {
                        assert_true(t[i].offset + t[i].width <= (formats[k] == NV_FORMAT_VMX ? 998u : 4096u));
                        for (size_t j = i + 1; j < n; j++)
                                assert_true(t[i].offset + t[i].width <= t[j].offset ||
                                            t[j].offset + t[j].width <= t[i].offset);
                }
        }
}

static void test_vectors_accepted(void **state) {
        _Alignas(8) uint8_t b[NV_VMX_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;

        make_tv3(b);
        full_context(&ctx, NV_FORMAT_SVM);
        assert_int_equal(nv_validate(b, NV_SVM_MAX_SIZE, &ctx, &res), 0);
        make_tv2(b);
        full_context(&ctx, NV_FORMAT_VMX);
        assert_int_equal(nv_validate(b, TV2_SIZE, &ctx, &res), 0);
        /* V19 is the kernel's: always listed as not checked. */
        assert_true(res.n_unchecked >= 1);
        assert_non_null(strstr(res.unchecked[res.n_unchecked - 1], "V19"));
}

/* Each TV3 mutation of docs/kvm-nested-abi.md §7 is refused with its rule. */
static void test_svm_mutations(void **state) {
        static const struct {
                size_t off;
                int width;
                uint64_t value;
                const char *rule, *field;
                bool np; /* also enable nested paging */
        } m[] = {
                { NV_OFF_FORMAT, 2, NV_FORMAT_VMX, "S1", "format" },
                { NV_OFF_FLAGS, 2, 0x0105, "S2", "flags" },
                { NV_OFF_VMCB_PA, 8, 0x103001, "S6", "hdr.svm.vmcb_pa" },
                { NV_OFF_VMCB_PA, 8, UINT64_MAX, "S6", "hdr.svm.vmcb_pa" },
                { NV_OFF_SIZE, 4, NV_SVM_MAX_SIZE - 1, "S7", "size" },
                { CTL(INTERCEPT_WORD4), 4, 0, "S9", "control.intercept_word4" },
                { CTL(ASID), 4, 0, "S9", "control.asid" },
                { CTL(MSRPM_BASE_PA), 8, 1ull << 48, "S9", "control.msrpm_base_pa" },
                { CTL(NESTED_CR3), 8, 1ull << 48, "S9", "control.nested_cr3", .np = true },
                { SAVE(CS) + VMCB_SEG_ATTRIB, 2, SVM_SELECTOR_L | SVM_SELECTOR_DB, "S11", "save.cs.attrib" },
                { SAVE(CR4), 8, X86_CR4_PAE | X86_CR4_SMXE, "S11", "save.cr4" }, /* no KVM lets a guest set it */
                { SAVE(CR4), 8, X86_CR4_PAE | X86_CR4_PKS, "S11", "save.cr4" },
                { SAVE(EFER), 8, L1_EFER | X86_EFER_INTWB, "S11", "save.efer" },
                { SAVE(CR4), 8, X86_CR4_PAE | X86_CR4_VMXE, "S11", "save.cr4" }, /* without VMX in CPUID */
                { SAVE(CR4), 8, X86_CR4_PAE | X86_CR4_PCIDE, "S11", "save.cr4" }, /* without PCID */
                { SAVE(EFER), 8, L1_EFER | X86_EFER_NX, "S11", "save.efer" }, /* without NX */
                { SAVE(EFER), 8, X86_EFER_LMA | X86_EFER_LME, "S11", "save.efer" }, /* no SVME */
                { SAVE(CR0), 8, X86_CR0_PG | X86_CR0_ET, "S11", "save.cr0" }, /* no PE */
                { SAVE(CR0), 8, X86_CR0_ET | X86_CR0_PE, "S11", "save.cr0" }, /* no PG */
                { SAVE(RFLAGS), 8, X86_EFLAGS_VM | X86_EFLAGS_FIXED, "S11", "save.rflags" },
                { SAVE(CR4), 8, 0, "S11", "save.cr4" }, /* no PAE in long mode */
                { SAVE(CR3), 8, 1ull << 50, "S11", "save.cr3" },
                { SAVE(DR7), 8, 1ull << 40, "S11", "save.dr7" },
        };
        _Alignas(8) uint8_t b[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;

        full_context(&ctx, NV_FORMAT_SVM);
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                make_tv3(b);
                if (m[i].width == 2)
                        put_le16(b + m[i].off, (uint16_t) m[i].value);
                else if (m[i].width == 4)
                        put_le32(b + m[i].off, (uint32_t) m[i].value);
                else
                        put_le64(b + m[i].off, m[i].value);
                if (m[i].np)
                        put_le64(b + CTL(NESTED_CTL), SVM_NESTED_CTL_NP_ENABLE);
                assert_int_equal(nv_validate(b, sizeof(b), &ctx, &res), -EINVAL);
                assert_string_equal(res.rule, m[i].rule);
                assert_string_equal(res.field, m[i].field);
                assert_non_null(strstr(res.message, "EINVAL"));
                assert_non_null(strstr(res.message, m[i].field));
        }
}

/* Near misses of the rules above: the kernel accepts them, so must the validator. */
static void test_svm_accepted_variants(void **state) {
        static const struct {
                const char *what;
                struct {
                        size_t off;
                        int width; /* 2 or 8; 0: no second write */
                        uint64_t value;
                } w[2];
        } m[] = {
                { "NP on, nCR3 just below MAXPHYADDR",
                  { { CTL(NESTED_CR3), 8, (1ull << 48) - 0x1000 }, { CTL(NESTED_CTL), 8, SVM_NESTED_CTL_NP_ENABLE } } },
                { "NP off, nCR3 beyond MAXPHYADDR", { { CTL(NESTED_CR3), 8, 1ull << 48 } } },
                { "CS.L alone in long mode", { { SAVE(CS) + VMCB_SEG_ATTRIB, 2, SVM_SELECTOR_L } } },
                { "CS.L and CS.D outside long mode",
                  { { SAVE(CS) + VMCB_SEG_ATTRIB, 2, SVM_SELECTOR_L | SVM_SELECTOR_DB }, { SAVE(EFER), 8, X86_EFER_SVME } } },
        };
        _Alignas(8) uint8_t b[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;

        full_context(&ctx, NV_FORMAT_SVM);
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                make_tv3(b);
                for (size_t j = 0; j < 2 && m[i].w[j].width; j++) {
                        if (m[i].w[j].width == 2)
                                put_le16(b + m[i].w[j].off, (uint16_t) m[i].w[j].value);
                        else
                                put_le64(b + m[i].w[j].off, m[i].w[j].value);
                }
                if (nv_validate(b, sizeof(b), &ctx, &res) != 0)
                        fail_msg("%s: %s", m[i].what, res.message);
        }
}

/* CR4/EFER bits against the vCPU's CPUID: named in the message, unchecked when the CPUID is unknown. */
static void test_cpuid_bits(void **state) {
        _Alignas(8) uint8_t b[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;

        make_tv3(b);
        put_le64(b + SAVE(CR4), X86_CR4_PAE | X86_CR4_VMXE | X86_CR4_PCIDE);
        full_context(&ctx, NV_FORMAT_SVM);
        assert_int_equal(nv_validate(b, sizeof(b), &ctx, &res), -EINVAL);
        assert_non_null(strstr(res.message, "CPUID"));
        assert_non_null(strstr(res.message, "0x22000"));
        /* The CPUID offers them: accepted. */
        ctx.cr4_allowed |= X86_CR4_VMXE | X86_CR4_PCIDE;
        assert_int_equal(nv_validate(b, sizeof(b), &ctx, &res), 0);
        /* CPUID unknown: accepted, and said so. */
        full_context(&ctx, NV_FORMAT_SVM);
        ctx.have_cpuid = false;
        assert_int_equal(nv_validate(b, sizeof(b), &ctx, &res), 0);
        assert_true(res.n_unchecked >= 1);
        assert_non_null(strstr(res.unchecked[res.n_unchecked - 1], "CPUID"));
        /* ...but a bit no KVM accepts is refused whatever the CPUID. */
        put_le64(b + SAVE(EFER), L1_EFER | X86_EFER_MCOMMIT);
        assert_int_equal(nv_validate(b, sizeof(b), &ctx, &res), -EINVAL);
        assert_string_equal(res.field, "save.efer");
        assert_non_null(strstr(res.message, "0x20000."));
}

/* A short buffer faults where the kernel's copy would. */
static void test_short_buffers_fault(void **state) {
        _Alignas(8) uint8_t b[NV_VMX_MAX_SIZE];
        NvValidateContext ctx;
        NvValidateResult res;

        make_tv3(b);
        full_context(&ctx, NV_FORMAT_SVM);
        assert_int_equal(nv_validate(b, 4000, &ctx, &res), -EFAULT);
        assert_string_equal(res.rule, "S8");
        assert_int_equal(nv_validate(b, 100, &ctx, &res), -EFAULT);
        assert_string_equal(res.rule, "G1");
        make_tv2(b);
        full_context(&ctx, NV_FORMAT_VMX);
        assert_int_equal(nv_validate(b, 1000, &ctx, &res), -EFAULT);
        assert_string_equal(res.rule, "V13");
}

/* Unknown facts never refuse good state; they are listed instead. */
static void test_unknown_context(void **state) {
        _Alignas(8) uint8_t b[NV_VMX_MAX_SIZE];
        NvValidateResult res;
        bool saw_svme = false, saw_maxphy = false;

        make_tv3(b);
        assert_int_equal(nv_validate(b, NV_SVM_MAX_SIZE, NULL, &res), 0);
        for (size_t i = 0; i < res.n_unchecked; i++) {
                saw_svme |= strstr(res.unchecked[i], "SVME") != NULL;
                saw_maxphy |= strstr(res.unchecked[i], "MAXPHYADDR") != NULL;
        }
        assert_true(saw_svme && saw_maxphy);
        /* ...but what no context could save is still refused. */
        put_le32(b + CTL(ASID), 0);
        assert_int_equal(nv_validate(b, NV_SVM_MAX_SIZE, NULL, &res), -EINVAL);
        /* V6 with SMM unknown: refused only when both branches refuse. */
        make_tv2(b);
        put_le16(b + NV_OFF_SMM_FLAGS, NV_SMM_VMXON);
        assert_int_equal(nv_validate(b, TV2_SIZE, NULL, &res), -EINVAL);
        assert_string_equal(res.rule, "V6");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_parse_format),  cmocka_unit_test(test_names),
                cmocka_unit_test(test_fields_vmx),           cmocka_unit_test(test_field_table_consistent),
                cmocka_unit_test(test_vectors_accepted),     cmocka_unit_test(test_svm_mutations),
                cmocka_unit_test(test_svm_accepted_variants), cmocka_unit_test(test_cpuid_bits),
                cmocka_unit_test(test_short_buffers_fault),  cmocka_unit_test(test_unknown_context),
        };
        return cmocka_run_group_tests_name("blob model, fields and validator", tests, NULL, NULL);
}
