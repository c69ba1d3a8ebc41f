/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * XML documents from data files, one meson test per file (libvirt's
 * genericxml2xmltest):
 *
 *   test-xml TESTS-DIR SCHEMAS-DIR --case CASE.xml
 *        one case of tests/xml2xml-in
 *   test-xml TESTS-DIR SCHEMAS-DIR CASE.xml...
 *        the unit tests, and that the CASEs meson registered are every
 *        file of xml2xml-in and every invalid one has its message
 *
 * A case is parsed through its document's parse entry and formatted again
 * and must equal tests/xml2xml-out/<case>.xml, or itself when there is no
 * -out file; a metadata case must also come back the same through a
 * domain's XML (set, parse, format).  Every *-invalid.xml must be refused
 * with the message listed in invalid-messages.txt, by the pass listed
 * there (a validate-pass refusal parses with NV_XML_PARSE_SKIP_VALIDATE).
 * Every valid document (input, output) must pass the RelaxNG schema, and
 * every well-formed invalid one must fail it.  NESTVIRT_TEST_REGENERATE=1
 * rewrites the -out files instead of comparing with them.
 */
#include <dirent.h>
#include <libxml/relaxng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu-models.h"
#include "domain-def.h"
#include "fileio.h"
#include "helpers.h"
#include "host-caps.h"
#include "nested-meta.h"
#include "xml-util.h"

static const char *tests_dir, *schemas_dir, *the_case;
static char **registered;
static int n_registered;

/* Each kind of document: file-name prefix, schema, and parse entry + format. */
typedef struct Kind {
        const char *prefix;
        const char *schema;
        int (*reformat)(const char *in, size_t len, unsigned flags, char **out, NvError **reterr);
} Kind;

static char *path_of(const char *sub, const char *name) {
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s/%s", tests_dir, sub, name) > 0);
        return p;
}

/* The file's bytes, NUL-terminated, or NULL if it does not exist. */
static char *slurp(const char *sub, const char *name, size_t *len) {
        _cleanup_free_ char *path = path_of(sub, name);
        uint8_t *buf = NULL;

        if (nv_file_read(path, 1u << 20, &buf, len, NULL) < 0)
                return NULL;
        buf = realloc(buf, *len + 1);
        assert_non_null(buf);
        buf[*len] = '\0';
        return (char *) buf;
}

static void quiet(void *ctx, const xmlError *e) {
}

static int reformat_caps(const char *in, size_t len, unsigned flags, char **out, NvError **reterr) {
        NvHostInfo h;
        int r = nv_host_caps_parse(in, len, flags, &h, reterr);

        return r < 0 ? r : nv_host_caps_format(&h, out, reterr);
}

/* The whole entry (defaults included): what was written comes back, and only that. */
static int reformat_meta(const char *in, size_t len, unsigned flags, char **out, NvError **reterr) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = NULL;
        int r = nv_nested_meta_parse(in, len, flags, &m, reterr);

        return r < 0 ? r : nv_nested_meta_format(m, /* prefix= */ true, out, reterr);
}

static int reformat_cpu_models(const char *in, size_t len, unsigned flags, char **out, NvError **reterr) {
        _cleanup_free_ NvCpuModels *m = NULL;
        int r = nv_cpu_models_parse(in, len, &m, reterr);

        return r < 0 ? r : nv_cpu_models_format(m, out, reterr);
}

static const Kind kinds[] = {
        { "caps-", "nestvirt-capabilities.rng", reformat_caps },
        { "meta-", "nestvirt-domain.rng", reformat_meta },
        { "cpumodels-", "nestvirt-cpu-models.rng", reformat_cpu_models },
};

static const Kind *kind_of(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (strncmp(name, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
                        return &kinds[i];
        fail_msg("%s: no document kind for this file name", name);
        return NULL;
}

/* 0 if the document passes the schema. */
static int schema_check(const Kind *k, const char *doc, size_t len) {
        _cleanup_free_ char *schema_path = NULL;
        xmlRelaxNGParserCtxtPtr pctx;
        xmlRelaxNGPtr schema;
        xmlRelaxNGValidCtxtPtr vctx;
        xmlDocPtr d = xmlReadMemory(doc, (int) len, "doc", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        int r;

        assert_true(asprintf(&schema_path, "%s/%s", schemas_dir, k->schema) > 0);
        pctx = xmlRelaxNGNewParserCtxt(schema_path);
        schema = xmlRelaxNGParse(pctx);
        assert_non_null(schema);
        vctx = xmlRelaxNGNewValidCtxt(schema);
        xmlRelaxNGSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc) quiet, NULL);
        r = d ? xmlRelaxNGValidateDoc(vctx, d) : -1;
        xmlFreeDoc(d);
        xmlRelaxNGFreeValidCtxt(vctx);
        xmlRelaxNGFree(schema);
        xmlRelaxNGFreeParserCtxt(pctx);
        return r;
}

static bool is_invalid_case(const char *name) {
        size_t n = strlen(name);
        return n > 12 && strcmp(name + n - 12, "-invalid.xml") == 0;
}

/*
 * Metadata built into a domain's XML as a node (nv_domain_xml_set_meta)
 * and read back through the domain's parse entry formats as it did alone.
 */
static void check_in_domain(const char *in, size_t len, const char *expect) {
        static const char domain[] = "<domain type='kvm'><name>vm1</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid>"
                                     "<vcpu>1</vcpu><metadata><other xmlns='urn:x'/></metadata></domain>";
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = NULL;
        _cleanup_(nv_domain_def_freep) NvDomainDef *d = NULL;
        _cleanup_free_ char *xml = NULL, *again = NULL;

        assert_int_equal(nv_nested_meta_parse(in, len, 0, &m, NULL), 0);
        assert_int_equal(nv_domain_xml_set_meta(domain, sizeof(domain) - 1, m, &xml, NULL), 0);
        assert_non_null(strstr(xml, "<other xmlns=\"urn:x\"/>")); /* everything else as it was */
        assert_int_equal(nv_domain_def_parse(xml, strlen(xml), 0, &d, NULL), 0);
        assert_non_null(d->meta);
        assert_int_equal(nv_nested_meta_format(d->meta, /* prefix= */ true, &again, NULL), 0);
        assert_string_equal(again, expect);
}

static bool regenerate_env(void) {
        const char *e = getenv("NESTVIRT_TEST_REGENERATE");

        return e && strcmp(e, "1") == 0;
}

static void regenerate(const char *name, const char *in, const char *out) {
        _cleanup_free_ char *path = path_of("xml2xml-out", name);

        if (strcmp(out, in) == 0) /* the input is canonical: no -out file */
                assert_true(unlink(path) == 0 || errno == ENOENT);
        else
                assert_int_equal(nv_file_write_atomic(path, out, strlen(out), NULL), 0);
}

static void round_trip_case(const char *name) {
        _cleanup_free_ char *in = NULL, *expect = NULL, *out = NULL;
        size_t len, elen;
        const Kind *k = kind_of(name);

        in = slurp("xml2xml-in", name, &len);
        assert_non_null(in);
        if (schema_check(k, in, len) != 0)
                fail_msg("%s does not pass %s", name, k->schema);
        assert_int_equal(k->reformat(in, len, 0, &out, NULL), 0);
        assert_int_equal(schema_check(k, out, strlen(out)), 0);
        if (regenerate_env()) {
                regenerate(name, in, out);
                return;
        }
        expect = slurp("xml2xml-out", name, &elen);
        if (strcmp(out, expect ? expect : in) != 0)
                print_error("%s: formatted output differs:\n%s", name, out);
        assert_string_equal(out, expect ? expect : in);
        if (k->reformat == reformat_meta)
                check_in_domain(in, len, out);
}

/*
 * The case's line of invalid-messages.txt, "file<TAB>pass<TAB>message"
 * (a message ending in "..." is the beginning of the message: libxml2's own
 * words may change); NULL if it has none.
 */
static char *expected_failure(const char *name, char **ret_pass) {
        _cleanup_free_ char *list = NULL;
        char *line, *save = NULL;
        size_t len;

        list = slurp("xml2xml-in", "invalid-messages.txt", &len);
        assert_non_null(list);
        for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *pass = strchr(line, '\t'), *message = pass ? strchr(pass + 1, '\t') : NULL;

                if (line[0] == '#' || !message)
                        continue;
                *pass++ = '\0';
                *message++ = '\0';
                if (strcmp(line, name) != 0)
                        continue;
                assert_true(strcmp(pass, "parse") == 0 || strcmp(pass, "validate") == 0);
                *ret_pass = strdup(pass);
                return strdup(message);
        }
        return NULL;
}

static void expect_refusal(const Kind *k, const char *name, const char *in, size_t len, unsigned flags, const char *message) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        char *out = (char *) 0x1234;
        size_t mlen;

        assert_true(k->reformat(in, len, flags, &out, &err) < 0);
        assert_ptr_equal(out, (char *) 0x1234); /* untouched on failure */
        assert_non_null(err);
        mlen = strlen(message);
        if (mlen > 3 && strcmp(message + mlen - 3, "...") == 0 ? strncmp(err->message, message, mlen - 3) != 0
                                                             : strcmp(err->message, message) != 0)
                fail_msg("%s: got '%s', expected '%s'", name, err->message, message);
}

static void invalid_case(const char *name) {
        _cleanup_free_ char *in = NULL, *message = NULL, *pass = NULL, *out = NULL;
        const Kind *k = kind_of(name);
        size_t len;

        in = slurp("xml2xml-in", name, &len);
        assert_non_null(in);
        message = expected_failure(name, &pass);
        if (!message)
                fail_msg("%s has no line in invalid-messages.txt", name);
        expect_refusal(k, name, in, len, 0, message);
        /* Skipping validation skips exactly the validate pass's refusals. */
        if (strcmp(pass, "parse") == 0)
                expect_refusal(k, name, in, len, NV_XML_PARSE_SKIP_VALIDATE, message);
        else
                assert_int_equal(k->reformat(in, len, NV_XML_PARSE_SKIP_VALIDATE, &out, NULL), 0);
        if (schema_check(k, in, len) == 0)
                fail_msg("%s passes %s but should not", name, k->schema);
}

static void test_case(void **state) {
        if (is_invalid_case(the_case))
                invalid_case(the_case);
        else
                round_trip_case(the_case);
}

static bool is_registered(const char *name) {
        for (int i = 0; i < n_registered; i++)
                if (strcmp(registered[i], name) == 0)
                        return true;
        return false;
}

/* A data file meson does not run would pass unnoticed: every one is registered, every invalid one has a message. */
static void test_every_file_registered(void **state) {
        _cleanup_free_ char *dir = NULL;
        unsigned n = 0;
        struct dirent *de;
        DIR *d;

        assert_true(asprintf(&dir, "%s/xml2xml-in", tests_dir) > 0);
        assert_non_null(d = opendir(dir));
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                _cleanup_free_ char *message = NULL, *pass = NULL;

                if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0)
                        continue;
                if (!is_registered(de->d_name))
                        fail_msg("%s is not a test in tests/meson.build", de->d_name);
                message = expected_failure(de->d_name, &pass);
                assert_int_equal(message != NULL, is_invalid_case(de->d_name));
                n++;
        }
        closedir(d);
        assert_int_equal(n, n_registered);
}

/* The formatter escapes what the parser must read back unchanged. */
static void test_escaping(void **state) {
        NvHostInfo h = { .cpu_vendor = NV_FORMAT_VMX, .nested = NV_NO, .backend = "kvm", .nested_state_max = NV_VMX_MAX_SIZE }, back;
        _cleanup_free_ char *xml = NULL;

        snprintf(h.kernel_release, sizeof(h.kernel_release), "6.1 <&\"'>\t\n");
        snprintf(h.cpu_model, sizeof(h.cpu_model), "A&B \"C\" Ünïcode®");
        assert_int_equal(nv_host_caps_format(&h, &xml, NULL), 0);
        assert_non_null(strstr(xml, "Ünïcode®")); /* UTF-8 as it is, not character references */
        assert_int_equal(nv_host_caps_parse(xml, strlen(xml), 0, &back, NULL), 0);
        assert_string_equal(back.kernel_release, h.kernel_release);
        assert_string_equal(back.cpu_model, h.cpu_model);
        assert_int_equal(back.nested, NV_NO);
        assert_int_equal(back.nested_state_max, NV_VMX_MAX_SIZE);
        assert_int_equal(schema_check(&kinds[0], xml, strlen(xml)), 0);
}

/* Defaults apply, but are not written back: an element round-trips as the user wrote it. */
static void test_defaults_not_formatted(void **state) {
        static const char in[] = "<nested><vmm name=\"org.example.Vmm\"/><policy onMissing=\"continue\"/></nested>";
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = NULL;
        _cleanup_free_ char *out = NULL;

        assert_int_equal(nv_nested_meta_parse(in, sizeof(in) - 1, 0, &m, NULL), 0);
        assert_int_equal(m->transport, NV_VMM_TRANSPORT_BUS);
        assert_int_equal(m->bus, NV_BUS_SYSTEM);
        assert_string_equal(m->object_path, NV_META_DEFAULT_OBJECT_PATH);
        assert_int_equal(m->nested, NV_NESTED_POLICY_REQUIRED);
        assert_int_equal(m->on_missing, NV_ON_PROBLEM_CONTINUE);
        assert_int_equal(m->on_incompatible, NV_ON_PROBLEM_FAIL);
        assert_int_equal(nv_nested_meta_format(m, /* prefix= */ false, &out, NULL), 0);
        assert_string_equal(out, "<nested>\n  <vmm name=\"org.example.Vmm\"/>\n  <policy onMissing=\"continue\"/>\n</nested>\n");
}

/* A measured target's document becomes the validator's facts (what verify --dest-caps judges with). */
static void test_target_context(void **state) {
        _cleanup_free_ char *svm = NULL, *vmx = NULL;
        NvHostInfo h;
        NvValidateContext ctx;
        size_t len;

        svm = slurp("xml2xml-in", "caps-target-svm.xml", &len);
        assert_int_equal(nv_host_caps_parse(svm, len, 0, &h, NULL), 0);
        nv_host_validate_context(&h, &ctx);
        assert_int_equal(ctx.vendor, NV_FORMAT_SVM);
        assert_int_equal(ctx.maxphyaddr, 40);
        assert_true(ctx.have_cpuid);
        assert_true(ctx.cr4_allowed & X86_CR4_PAE);
        assert_true(ctx.efer_allowed & X86_EFER_SVME); /* CPUID 0x80000001 ECX bit 2 */
        assert_int_equal(ctx.vnmi_needs_nmi_intercept, NV_YES);
        assert_int_equal(ctx.svme0_gif0_ok, NV_NO);
        assert_int_equal(ctx.npt_enabled, NV_YES);
        assert_int_equal(ctx.in_smm, NV_UNKNOWN); /* SMM supported: whether the vCPU is in it is the vCPU's */
        assert_false(ctx.have_vmx_msrs);
        vmx = slurp("xml2xml-in", "caps-target-vmx.xml", &len);
        assert_int_equal(nv_host_caps_parse(vmx, len, 0, &h, NULL), 0);
        nv_host_validate_context(&h, &ctx);
        assert_int_equal(ctx.vendor, NV_FORMAT_VMX);
        assert_true(ctx.have_vmx_msrs);
        assert_int_equal(ctx.vmx_msrs[0], 0xda040000000004ull);
        assert_int_equal(ctx.vmx_msrs[NV_VMX_MSR_COUNT - 1], 1);
        assert_false(ctx.have_cpuid);
        assert_int_equal(ctx.evmcs_enabled, NV_NO); /* no eVMCS on that kernel: no vCPU has it enabled */
        assert_int_equal(ctx.in_smm, NV_NO);        /* no SMM on that kernel */
}

/* The entry points refuse flags they do not know, as libvirt's virCheckFlags does. */
static void test_unknown_flags(void **state) {
        static const char in[] = "<nested/>";
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvNestedMeta *m = NULL;

        assert_int_equal(nv_nested_meta_parse(in, sizeof(in) - 1, 1u << 7, &m, &err), -EINVAL);
        assert_null(m);
        assert_string_equal(err->message, "Unsupported flags 0x80 for parsing nestvirt metadata.");
}

int main(int argc, char **argv) {
        const struct CMUnitTest unit[] = {
                cmocka_unit_test(test_every_file_registered),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_defaults_not_formatted),
                cmocka_unit_test(test_unknown_flags),
                cmocka_unit_test(test_target_context),
        };
        const struct CMUnitTest one[] = {
                cmocka_unit_test(test_case),
        };

        if (argc < 3) {
                fprintf(stderr, "usage: test-xml TESTS-DIR SCHEMAS-DIR {--case CASE.xml | CASE.xml...}\n");
                return 2;
        }
        tests_dir = argv[1];
        schemas_dir = argv[2];
        if (argc == 5 && strcmp(argv[3], "--case") == 0) {
                the_case = argv[4];
                return _cmocka_run_group_tests(the_case, one, ELEMENTSOF(one), NULL, NULL);
        }
        registered = argv + 3;
        n_registered = argc - 3;
        return cmocka_run_group_tests_name("XML documents", unit, NULL, NULL);
}
