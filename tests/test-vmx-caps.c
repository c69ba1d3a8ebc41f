/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nested VMX comparison of migrate-check on MSR values: which MSR a
 * host's controls come from, the two directions, the gating of secondary
 * controls, VM functions and EPT/VPID capabilities, the numeric fields;
 * and the name table of src/vmx-features.h against docs/vmx-controls.md.
 * The base values are those KVM 6.1's nested VMX reported on a Skylake-X
 * vCPU (tests/data/caps-vmx-a.xml holds the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileio.h"
#include "vmx-caps.h"
#include "x86-arch.h"

static const char *doc_path;

static const uint64_t base[NV_VMX_MSR_COUNT] = {
        0xd8100011e57ed0, 0x7f00000016, 0xf7f9fffe0401e172, 0x7fffff00036dff, 0xf3ff000011ff, 0x60000165,
        0x80000021, 0xffffffff, 0x2000, 0x3767ff, 0x2e, 0x2037bff00000000,
        0xf0106334041, 0x7f00000016, 0xf7f9fffe04006172, 0x7fffff00036dfb, 0xf3ff000011fb, 0x1,
};

#define M(m, index) (m)[(index) - NV_VMX_MSR_FIRST]

typedef struct Want {
        NvVmxCapKind kind;
        VmxWord word;
        unsigned bit;
        const char *qemu;
} Want;

static void expect(const uint64_t *src, const uint64_t *dst, const Want *want, size_t n_want) {
        NvVmxCapDiff d[64];
        size_t n = nv_vmx_caps_compare(src, dst, d, 64);

        for (size_t i = 0; i < n && i < n_want; i++) {
                if (d[i].kind != want[i].kind || d[i].word != want[i].word || d[i].bit != want[i].bit ||
                    (d[i].qemu == NULL) != (want[i].qemu == NULL) || (d[i].qemu && strcmp(d[i].qemu, want[i].qemu) != 0))
                        fail_msg("difference %zu: kind %d word %d bit %u %s, want kind %d word %d bit %u %s", i, d[i].kind, d[i].word,
                                 d[i].bit, d[i].qemu ? d[i].qemu : "-", want[i].kind, want[i].word, want[i].bit,
                                 want[i].qemu ? want[i].qemu : "-");
        }
        assert_int_equal(n, n_want);
}

static void test_same_host(void **state) {
        assert_int_equal(nv_vmx_caps_compare(base, base, NULL, 0), 0);
}

/* Each direction of a control word, and a capability bit. */
static void test_lacks_and_forces(void **state) {
        uint64_t dst[NV_VMX_MSR_COUNT];
        static const Want want[] = {
                { NV_VMX_CAP_REQUIRES, VMX_WORD_PIN, 3, "vmx-nmi-exit" },
                { NV_VMX_CAP_LACKS, VMX_WORD_PROC2, 7, "vmx-unrestricted-guest" },
                { NV_VMX_CAP_LACKS, VMX_WORD_EPT_VPID, 21, "vmx-eptad" },
        };

        memcpy(dst, base, sizeof(dst));
        M(dst, MSR_IA32_VMX_TRUE_PINBASED_CTLS) |= PIN_BASED_NMI_EXITING;
        M(dst, MSR_IA32_VMX_PROCBASED_CTLS2) &= ~(SECONDARY_EXEC_UNRESTRICTED_GUEST << 32);
        M(dst, MSR_IA32_VMX_EPT_VPID_CAP) &= ~X86_BIT(21);
        expect(base, dst, want, ELEMENTSOF(want));
        /* The other way round nothing is missing: the source forces NMI exiting, which the destination allows. */
        expect(dst, base, NULL, 0);
}

/* Without IA32_VMX_BASIC bit 55 a host's controls are its legacy MSRs, with their default1 bits forced. */
static void test_legacy_msrs(void **state) {
        uint64_t dst[NV_VMX_MSR_COUNT];
        static const Want want[] = {
                { NV_VMX_CAP_REQUIRES, VMX_WORD_PROC, 15, "vmx-cr3-load-noexit" },
                { NV_VMX_CAP_REQUIRES, VMX_WORD_PROC, 16, "vmx-cr3-store-noexit" },
                { NV_VMX_CAP_REQUIRES, VMX_WORD_EXIT, 2, "vmx-exit-nosave-debugctl" },
                { NV_VMX_CAP_REQUIRES, VMX_WORD_ENTRY, 2, "vmx-entry-noload-debugctl" },
                { NV_VMX_CAP_LACKS, VMX_WORD_BASIC, 55, "vmx-true-ctls" },
        };

        memcpy(dst, base, sizeof(dst));
        M(dst, MSR_IA32_VMX_BASIC) &= ~X86_BIT(55);
        expect(base, dst, want, ELEMENTSOF(want));
        /* The TRUE_ MSRs of such a host are not read at all. */
        M(dst, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) = 0;
        expect(base, dst, want, ELEMENTSOF(want));
}

/* No secondary controls: each secondary control, VM function and EPT/VPID capability goes with them. */
static void test_gated_words(void **state) {
        uint64_t dst[NV_VMX_MSR_COUNT];
        NvVmxCapDiff d[64];
        size_t n;

        memcpy(dst, base, sizeof(dst));
        M(dst, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) &= ~(CPU_BASED_ACTIVATE_SECONDARY_CONTROLS << 32);
        n = nv_vmx_caps_compare(base, dst, d, 64);
        assert_int_equal(n, 1 + 17 + 1 + 9 + 5); /* the control, 17 secondary, EPTP switching, 9 EPT, 5 VPID */
        assert_string_equal(d[0].qemu, "vmx-secondary-ctls");
        assert_string_equal(d[2].qemu, "vmx-ept");
        assert_string_equal(d[18].qemu, "vmx-eptp-switching");
        assert_string_equal(d[n - 1].qemu, "vmx-invvpid-single-context-noglobals");
        /* At most max are written, all are counted. */
        assert_int_equal(nv_vmx_caps_compare(base, dst, d, 2), n);
}

static void test_fields_and_unknown_bits(void **state) {
        uint64_t src[NV_VMX_MSR_COUNT], dst[NV_VMX_MSR_COUNT];
        NvVmxCapDiff d[8];

        memcpy(src, base, sizeof(src));
        memcpy(dst, base, sizeof(dst));
        M(src, MSR_IA32_VMX_MISC) |= 4u << 16;                   /* four CR3-target values, the destination none */
        M(dst, MSR_IA32_VMX_MISC) = (M(dst, MSR_IA32_VMX_MISC) & ~0x1fULL) | 7; /* another timer rate */
        M(src, MSR_IA32_VMX_PROCBASED_CTLS2) |= X86_BIT(32 + 29); /* a secondary control the table does not know */
        assert_int_equal(nv_vmx_caps_compare(src, dst, d, 8), 3);
        assert_int_equal(d[0].kind, NV_VMX_CAP_LACKS);
        assert_int_equal(d[0].word, VMX_WORD_PROC2);
        assert_int_equal(d[0].bit, 29);
        assert_null(d[0].intel);
        assert_null(d[0].qemu);
        assert_int_equal(d[1].kind, NV_VMX_CAP_DIFFERS);
        assert_int_equal(d[1].src, 5);
        assert_int_equal(d[1].dst, 7);
        assert_non_null(strstr(d[1].intel, "preemption timer"));
        assert_int_equal(d[2].kind, NV_VMX_CAP_FEWER);
        assert_int_equal(d[2].src, 4);
        assert_int_equal(d[2].dst, 0);
}


/* "| word | bit | Intel | `vmx-...` or — |": the row's index in table, or a failure. */
static size_t check_row(char *line) {
        char *cell[4], *save = NULL, *c = strtok_r(line + 1, "|", &save);
        unsigned word, bit;

        for (size_t i = 0; i < 4; i++, c = strtok_r(NULL, "|", &save)) {
                if (!c)
                        fail_msg("a row of docs/vmx-controls.md has fewer than four cells");
                while (*c == ' ')
                        c++;
                for (char *e = c + strlen(c); e > c && e[-1] == ' ';)
                        *--e = '\0';
                cell[i] = c;
        }
        for (word = 0; word < VMX_WORD_COUNT && strcmp(nv_vmx_word_id(word), cell[0]) != 0; word++)
                ;
        bit = (unsigned) strtoul(cell[1], NULL, 10);
        for (size_t i = 0; i < nv_vmx_n_features; i++) {
                if (nv_vmx_features[i].word != word || nv_vmx_features[i].bit != bit)
                        continue;
                if (strcmp(nv_vmx_features[i].intel, cell[2]) != 0)
                        fail_msg("%s bit %u: the header says \"%s\", the document \"%s\"", cell[0], bit, nv_vmx_features[i].intel, cell[2]);
                if (nv_vmx_features[i].qemu ? strlen(cell[3]) != strlen(nv_vmx_features[i].qemu) + 2 || strncmp(cell[3] + 1, nv_vmx_features[i].qemu, strlen(nv_vmx_features[i].qemu)) != 0
                                  : strcmp(cell[3], "—") != 0)
                        fail_msg("%s bit %u: the header's QEMU name is %s, the document's %s", cell[0], bit,
                                 nv_vmx_features[i].qemu ? nv_vmx_features[i].qemu : "none", cell[3]);
                return i;
        }
        fail_msg("docs/vmx-controls.md names %s bit %u, which src/vmx-features.h does not have", cell[0], bit);
        return 0;
}

static void test_table_matches_document(void **state) {
        bool *seen = calloc(nv_vmx_n_features, sizeof(bool));
        uint8_t *buf = NULL;
        char *text, *line, *save = NULL;
        size_t len, rows = 0, i;

        assert_int_equal(nv_file_read(doc_path, 1u << 20, &buf, &len, NULL), 0);
        text = strndup((const char *) buf, len);
        assert_non_null(text);
        free(buf);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] != '|' || strncmp(line, "| word", 6) == 0 || strncmp(line, "|---", 4) == 0)
                        continue;
                i = check_row(line);
                if (seen[i])
                        fail_msg("docs/vmx-controls.md has row %zu twice", i);
                seen[i] = true;
                rows++;
        }
        assert_int_equal(rows, nv_vmx_n_features);
        free(seen);
        free(text);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_host),
                cmocka_unit_test(test_lacks_and_forces),
                cmocka_unit_test(test_legacy_msrs),
                cmocka_unit_test(test_gated_words),
                cmocka_unit_test(test_fields_and_unknown_bits),
                cmocka_unit_test(test_table_matches_document),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: %s DOCS/VMX-CONTROLS.MD\n", argv[0]);
                return 2;
        }
        doc_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
