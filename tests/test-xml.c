/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * XML documents from data files: every tests/xml2xml-in/<case>.xml is
 * parsed and formatted again and must equal tests/xml2xml-out/<case>.xml,
 * or itself when there is no -out file; every *-invalid.xml must be refused
 * with the message listed in invalid-messages.txt; every valid document
 * (input, output, formatted) must pass the RelaxNG schema, and every
 * well-formed invalid one must fail it.  NESTVIRT_TEST_REGENERATE=1
 * rewrites the -out files.
 */
#include <dirent.h>
#include <libxml/relaxng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "helpers.h"
#include "host-caps.h"
#include "nested-meta.h"
#include "xml-util.h"

static const char *tests_dir, *schemas_dir;

/* Each kind of document: file-name prefix, schema, and parse+format. */
typedef struct Kind {
        const char *prefix;
        const char *schema;
        int (*reformat)(const char *in, size_t len, char **out, NvError **reterr);
} Kind;

static char *slurp(const char *dir, const char *name, size_t *len) {
        char path[4096];
        uint8_t *buf = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (nv_file_read(path, 1u << 20, &buf, len, NULL) < 0)
                return NULL;
        buf = realloc(buf, *len + 1);
        buf[*len] = '\0';
        return (char *) buf;
}

static void quiet(void *ctx, const xmlError *e) {
        (void) ctx;
        (void) e;
}

static int reformat_caps(const char *in, size_t len, char **out, NvError **reterr) {
        NvHostInfo h;
        int r = nv_host_caps_parse(in, len, &h, reterr);

        return r < 0 ? r : nv_host_caps_format(&h, out, reterr);
}

/* Syntax only, like libvirt's xml2xml: no defaults, so the output is the input. */
static int reformat_meta(const char *in, size_t len, char **out, NvError **reterr) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = NULL;
        int r = nv_nested_meta_parse_string(in, len, &m, reterr);

        if (r >= 0)
                r = nv_nested_meta_validate(m, reterr);
        return r < 0 ? r : nv_nested_meta_format(m, /* prefix= */ true, 0, out, reterr);
}

static const Kind kinds[] = {
        { "caps-", "nestvirt-capabilities.rng", reformat_caps },
        { "meta-", "nestvirt-domain.rng", reformat_meta },
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
        char schema_path[4096];
        xmlRelaxNGParserCtxtPtr pctx;
        xmlRelaxNGPtr schema;
        xmlRelaxNGValidCtxtPtr vctx;
        xmlDocPtr d = xmlReadMemory(doc, (int) len, "doc", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        int r;

        snprintf(schema_path, sizeof(schema_path), "%s/%s", schemas_dir, k->schema);
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

static void round_trip_case(const char *name) {
        _cleanup_free_ char *in = NULL, *expect = NULL, *out = NULL;
        char outdir[4096];
        size_t len, elen;
        const Kind *k = kind_of(name);

        snprintf(outdir, sizeof(outdir), "%s/xml2xml-in", tests_dir);
        in = slurp(outdir, name, &len);
        assert_non_null(in);
        if (schema_check(k, in, len) != 0)
                fail_msg("%s does not pass %s", name, k->schema);
        assert_int_equal(k->reformat(in, len, &out, NULL), 0);
        assert_int_equal(schema_check(k, out, strlen(out)), 0);
        snprintf(outdir, sizeof(outdir), "%s/xml2xml-out", tests_dir);
        expect = slurp(outdir, name, &elen);
        if (getenv("NESTVIRT_TEST_REGENERATE") && strcmp(out, in) != 0) {
                char path[8192];
                snprintf(path, sizeof(path), "%s/%s", outdir, name);
                assert_int_equal(nv_file_write_atomic(path, out, strlen(out), NULL), 0);
                return;
        }
        if (strcmp(out, expect ? expect : in) != 0)
                print_error("%s: formatted output differs:\n%s", name, out);
        assert_string_equal(out, expect ? expect : in);
}

static void invalid_case(const char *name, const char *message) {
        _cleanup_free_ char *in = NULL;
        char dir[4096];
        NvError *err = NULL;
        char *out = (char *) 0x1234;
        const Kind *k = kind_of(name);
        size_t len;

        snprintf(dir, sizeof(dir), "%s/xml2xml-in", tests_dir);
        in = slurp(dir, name, &len);
        assert_non_null(in);
        assert_true(k->reformat(in, len, &out, &err) < 0);
        assert_ptr_equal(out, (char *) 0x1234); /* untouched on failure */
        if (!strstr(err->message, message))
                print_error("%s: got '%s'\n", name, err->message);
        assert_non_null(strstr(err->message, message));
        if (schema_check(k, in, len) == 0)
                fail_msg("%s passes %s but should not", name, k->schema);
        nv_error_free(err);
}

static void test_round_trips(void **state) {
        char dir[4096];
        unsigned n = 0;
        struct dirent *de;
        DIR *d;

        (void) state;
        snprintf(dir, sizeof(dir), "%s/xml2xml-in", tests_dir);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0 || is_invalid_case(de->d_name))
                        continue;
                round_trip_case(de->d_name);
                n++;
        }
        closedir(d);
        assert_true(n >= 3);
}

static void test_invalid(void **state) {
        _cleanup_free_ char *list = NULL;
        char dir[4096], *line, *save = NULL;
        unsigned n = 0;
        size_t len;

        (void) state;
        snprintf(dir, sizeof(dir), "%s/xml2xml-in", tests_dir);
        list = slurp(dir, "invalid-messages.txt", &len);
        assert_non_null(list);
        for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(line, '\t');
                if (line[0] == '#' || !tab)
                        continue;
                *tab = '\0';
                invalid_case(line, tab + 1);
                n++;
        }
        assert_true(n >= 5);
}

/* The formatter escapes what the parser must read back unchanged. */
static void test_escaping(void **state) {
        NvHostInfo h = { .cpu_vendor = NV_FORMAT_VMX, .nested = NV_NO, .backend = "kvm", .nested_state_max = NV_VMX_MAX_SIZE }, back;
        _cleanup_free_ char *xml = NULL;

        (void) state;
        snprintf(h.kernel_release, sizeof(h.kernel_release), "6.1 <&\"'>");
        snprintf(h.cpu_model, sizeof(h.cpu_model), "A&B \"C\"");
        assert_int_equal(nv_host_caps_format(&h, &xml, NULL), 0);
        assert_int_equal(nv_host_caps_parse(xml, strlen(xml), &back, NULL), 0);
        assert_string_equal(back.kernel_release, h.kernel_release);
        assert_string_equal(back.cpu_model, h.cpu_model);
        assert_int_equal(back.nested, NV_NO);
        assert_int_equal(back.nested_state_max, NV_VMX_MAX_SIZE);
        assert_int_equal(schema_check(&kinds[0], xml, strlen(xml)), 0);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_escaping),
        };

        if (argc < 3) {
                fprintf(stderr, "usage: test-xml TESTS-DIR SCHEMAS-DIR\n");
                return 2;
        }
        tests_dir = argv[1];
        schemas_dir = argv[2];
        return cmocka_run_group_tests_name("XML documents", tests, NULL, NULL);
}
