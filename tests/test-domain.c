/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Domain XML: every domain of data/examples/node.xml is parsed, its
 * metadata element passes the schema and round-trips through
 * parse/format, and its effective nested mode on three kinds of host is
 * the one expected, with its reason.
 */
#include <libxml/relaxng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu-def.h"
#include "domain-def.h"
#include "fileio.h"
#include "helpers.h"
#include "nested-state.h"
#include "xml-util.h"

static const char *node_path, *schema_path, *domcaps_path;

static const NvHostInfo amd = { .cpu_vendor = NV_FORMAT_SVM, .nested = NV_YES, .nested_state_max = NV_SVM_MAX_SIZE, .backend = "kvm" };
static const NvHostInfo intel = { .cpu_vendor = NV_FORMAT_VMX, .nested = NV_YES, .nested_state_max = NV_VMX_MAX_SIZE, .backend = "kvm" };
static const NvHostInfo amd_off = { .cpu_vendor = NV_FORMAT_SVM, .nested = NV_NO, .nested_state_max = NV_SVM_MAX_SIZE, .backend = "kvm" };

static const struct {
        const char *name;
        int on_amd, on_intel, on_amd_off;
        const char *amd_reason;
        bool has_meta;
} expected[] = {
        { "svm-passthrough", NV_FORMAT_SVM, NV_FORMAT_VMX, -1, "host-passthrough CPU", true },
        { "vmx-custom", -1, NV_FORMAT_VMX, -1, "asks for vmx but this host is AMD", true },
        { "host-model-new", NV_FORMAT_SVM, NV_FORMAT_VMX, -1, "host-model CPU", false },
        { "nested-disabled", -1, -1, -1, "<feature name='svm'> is disabled", false },
        { "plain-off", NV_NESTED_MODE_UNKNOWN, NV_NESTED_MODE_UNKNOWN, -1, "no CPU model in the XML", false },
};

static void quiet(void *ctx, const xmlError *e) {
}

static void check_schema(xmlNodePtr nested) {
        xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt(schema_path);
        xmlRelaxNGPtr schema = xmlRelaxNGParse(pctx);
        xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt(schema);
        xmlDocPtr doc = xmlNewDoc((const xmlChar *) "1.0");

        xmlRelaxNGSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc) quiet, NULL);
        xmlDocSetRootElement(doc, xmlCopyNode(nested, 1));
        assert_int_equal(xmlRelaxNGValidateDoc(vctx, doc), 0);
        xmlFreeDoc(doc);
        xmlRelaxNGFreeValidCtxt(vctx);
        xmlRelaxNGFree(schema);
        xmlRelaxNGFreeParserCtxt(pctx);
}

/* Drops the whitespace between tags, so that indentation does not count. */
static char *squeeze(const char *s) {
        char *out = malloc(strlen(s) + 1), *o = out;

        for (const char *p = s; *p; p++) {
                if (*p == '>') {
                        *o++ = *p;
                        while (p[1] == ' ' || p[1] == '\n' || p[1] == '\t')
                                p++;
                        continue;
                }
                *o++ = *p;
        }
        *o = '\0';
        return out;
}

/* The element as shipped must come back from parse -> format unchanged. */
static void check_round_trip(xmlNodePtr nested) {
        xmlBufferPtr buf = xmlBufferCreate();
        NvNestedMeta *m = NULL;
        char *out = NULL, *a, *b;

        xmlNodeDump(buf, nested->doc, nested, 0, 0);
        assert_int_equal(nv_nested_meta_parse((const char *) xmlBufferContent(buf), (size_t) xmlBufferLength(buf), 0, &m, NULL), 0);
        assert_int_equal(nv_nested_meta_format(m, /* prefix= */ true, &out, NULL), 0);
        a = squeeze((const char *) xmlBufferContent(buf));
        b = squeeze(out);
        b[strcspn(b, "\n")] = '\0';
        if (strcmp(a, b) != 0)
                fail_msg("metadata does not round-trip:\n%s\n%s", a, b);
        free(a);
        free(b);
        free(out);
        nv_nested_meta_free(m);
        xmlBufferFree(buf);
}

static void check_domain(xmlNodePtr dom, size_t i) {
        xmlBufferPtr buf = xmlBufferCreate();
        NvDomainDef *d = NULL;
        NvError *err = NULL;
        const char *why;

        xmlNodeDump(buf, dom->doc, dom, 0, 0);
        if (nv_domain_def_parse((const char *) xmlBufferContent(buf), (size_t) xmlBufferLength(buf), 0, &d, &err) < 0)
                fail_msg("%s: %s", expected[i].name, err->message);
        assert_string_equal(d->name, expected[i].name);
        assert_int_equal(d->meta != NULL, expected[i].has_meta);
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), expected[i].on_amd);
        if (!strstr(why, expected[i].amd_reason))
                fail_msg("%s: reason '%s' lacks '%s'", d->name, why, expected[i].amd_reason);
        assert_int_equal(nv_domain_def_nested_mode(d, &intel, &why), expected[i].on_intel);
        assert_int_equal(nv_domain_def_nested_mode(d, &amd_off, &why), expected[i].on_amd_off);
        if (d->meta) {
                for (xmlNodePtr c = nv_xml_child(dom, "metadata")->children; c; c = c->next)
                        if (nv_xml_is(c, NV_META_NAMESPACE, "nested")) {
                                check_schema(c);
                                check_round_trip(c);
                        }
        }
        nv_domain_def_free(d);
        xmlBufferFree(buf);
}

static void test_examples(void **state) {
        uint8_t *buf = NULL;
        size_t len, i = 0;
        xmlDocPtr doc;

        assert_int_equal(nv_file_read(node_path, 1u << 20, &buf, &len, NULL), 0);
        assert_int_equal(nv_xml_read((const char *) buf, len, "node.xml", &doc, NULL), 0);
        for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "domain") != 0)
                        continue;
                assert_true(i < ELEMENTSOF(expected));
                check_domain(c, i++);
        }
        assert_int_equal(i, ELEMENTSOF(expected));
        xmlFreeDoc(doc);
        free(buf);
}

static void test_vcpu_and_cpu(void **state) {
        static const char xml[] = "<domain type='kvm'><name>a</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid>"
                                  "<vcpu current='3'>6</vcpu><cpu mode='custom' match='exact'><model>EPYC</model>"
                                  "<feature name='svm'/></cpu></domain>";
        NvDomainDef *d = NULL;
        const char *why;

        assert_int_equal(nv_domain_def_parse(xml, sizeof(xml) - 1, 0, &d, NULL), 0);
        assert_int_equal(d->vcpus, 6);
        assert_int_equal(d->vcpus_current, 3);
        assert_string_equal(d->cpu_model, "EPYC");
        assert_string_equal(d->cpu_match, "exact");
        assert_int_equal(d->feature[NV_FORMAT_SVM], NV_FEATURE_REQUIRE); /* libvirt's default policy */
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), NV_FORMAT_SVM);
        assert_non_null(strstr(why, "custom CPU model"));
        nv_domain_def_free(d);
}

/*
 * A custom model without a vmx/svm line, and host-model: what libvirt said
 * the model carries decides (QEMU's EPYC includes svm), and where nobody
 * asked libvirt the mode is unknown, never "none".
 */
static void test_model_from_libvirt(void **state) {
        static const char custom[] = "<domain type='qemu'><name>a</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid>"
                                     "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><cpu mode='custom'><model>EPYC</model></cpu>"
                                     "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>";
        static const char host_model[] = "<domain type='kvm'><name>b</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e03</uuid>"
                                         "<vcpu>1</vcpu><cpu mode='host-model'/></domain>";
        NvDomainDef *d = NULL;
        const char *why;

        assert_int_equal(nv_domain_def_parse(custom, sizeof(custom) - 1, 0, &d, NULL), 0);
        assert_string_equal(d->virt_type, "qemu");
        assert_string_equal(d->arch, "x86_64");
        assert_string_equal(d->emulator, "/usr/bin/qemu-system-x86_64");
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), NV_NESTED_MODE_UNKNOWN);
        assert_string_equal(nv_nested_mode_to_string(NV_NESTED_MODE_UNKNOWN), "unknown");
        d->cpu_has[NV_FORMAT_SVM] = NV_YES;
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), NV_FORMAT_SVM);
        assert_non_null(strstr(why, "libvirt expands it"));
        assert_int_equal(nv_domain_def_nested_mode(d, &amd_off, &why), -1);
        d->cpu_has[NV_FORMAT_SVM] = NV_NO;
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), -1);
        assert_non_null(strstr(why, "does not include"));
        d->feature[NV_FORMAT_SVM] = NV_FEATURE_REQUIRE; /* the XML's own line wins over the model */
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), NV_FORMAT_SVM);
        d->cpu_has[NV_FORMAT_SVM] = NV_YES;
        d->feature[NV_FORMAT_SVM] = NV_FEATURE_DISABLE;
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), -1);
        nv_domain_def_free(d);

        assert_int_equal(nv_domain_def_parse(host_model, sizeof(host_model) - 1, 0, &d, NULL), 0);
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), NV_FORMAT_SVM); /* not asked: KVM offers it with nested on */
        d->cpu_has[NV_FORMAT_SVM] = NV_NO;
        assert_int_equal(nv_domain_def_nested_mode(d, &amd, &why), -1);
        assert_non_null(strstr(why, "domain capabilities do not give it"));
        nv_domain_def_free(d);
}

/*
 * Guest CPUs as libvirt writes them: the host-model CPU of real domain
 * capabilities (Debian 12's libvirt 9.0 and QEMU 7.2 under TCG: EPYC), a
 * <cpu> back through format, and what another host's document may not do.
 */
static void test_cpu_defs(void **state) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ NvCpuDef *hm = NULL, *back = NULL, *d = (NvCpuDef *) 0x1234;
        _cleanup_free_ char *text = NULL, *many = NULL;
        NvError *err = NULL;
        size_t len, used = 0;

        assert_int_equal(nv_file_read(domcaps_path, 1u << 20, &buf, &len, NULL), 0);
        assert_int_equal(nv_cpu_def_parse_domcaps((const char *) buf, len, &hm, NULL), 0);
        assert_string_equal(hm->model, "EPYC");
        assert_string_equal(hm->vendor, "AMD");
        assert_int_equal(nv_cpu_def_policy(hm, "npt"), NV_FEATURE_REQUIRE);
        assert_int_equal(nv_cpu_def_policy(hm, "nrip-save"), NV_FEATURE_DISABLE);
        assert_int_equal(nv_cpu_def_policy(hm, "svm"), -1); /* EPYC has it by itself: only an expansion says so */
        assert_int_equal(nv_cpu_def_format(hm, &text, NULL), 0);
        assert_non_null(strstr(text, "<model fallback=\"forbid\">EPYC</model>"));
        assert_int_equal(nv_cpu_def_parse(text, strlen(text), &back, NULL), 0);
        assert_int_equal(back->n_features, hm->n_features);

        static const struct {
                const char *xml, *message;
        } bad[] = {
                { "<domainCapabilities><cpu><mode name='host-model' supported='no'/></cpu></domainCapabilities>",
                  "The domain capabilities offer no host-model CPU." },
                { "<capabilities/>", "Not libvirt domain capabilities: the root must be <domainCapabilities>." },
                { "<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>EPYC&lt;x</model></mode></cpu></domainCapabilities>",
                  "The host-model CPU of the domain capabilities: line 1: <model>EPYC<x</model> is not a CPU model name of at most 63 characters." },
                { "<cpu><feature policy='require' name='a b'/></cpu>", "line 1: <feature name='a b'> is not a CPU feature name." },
                { "<cpu><feature policy='maybe' name='svm'/></cpu>", "line 1: <feature policy='maybe'> is not a known value." },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = i < 3 ? nv_cpu_def_parse_domcaps(bad[i].xml, strlen(bad[i].xml), &d, &err)
                              : nv_cpu_def_parse(bad[i].xml, strlen(bad[i].xml), &d, &err);

                assert_true(r < 0);
                assert_ptr_equal(d, (NvCpuDef *) 0x1234);
                if (strcmp(err->message, bad[i].message) != 0)
                        fail_msg("case %zu: '%s'", i, err->message);
                err = nv_error_free(err);
        }
        /* Another host's document is bounded: one feature line too many is refused. */
        many = malloc(64 * 1100);
        used = (size_t) sprintf(many, "<cpu>");
        for (int i = 0; i <= NV_CPU_MAX_FEATURES; i++)
                used += (size_t) sprintf(many + used, "<feature name='f%d'/>", i);
        strcpy(many + used, "</cpu>");
        assert_int_equal(nv_cpu_def_parse(many, strlen(many), &d, &err), -E2BIG);
        assert_ptr_equal(d, (NvCpuDef *) 0x1234);
        err = nv_error_free(err);
        d = NULL;
}

static void test_invalid_domains(void **state) {
        static const struct {
                const char *xml, *message;
        } bad[] = {
                { "<domain><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu></domain>", "no usable <name>" },
                { "<domain><name>x</name><uuid>nope</uuid><vcpu>1</vcpu></domain>", "<uuid>nope</uuid> is not a UUID" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>0</vcpu></domain>", "<vcpu>0</vcpu> is not between 1 and 4096" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu current='9'>2</vcpu></domain>", "<vcpu current='9'> is not between 1 and 2" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>4294967297</vcpu></domain>", "<vcpu>4294967297</vcpu> is not between 1 and 4096" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu> 2</vcpu></domain>", "<vcpu> 2</vcpu> is not between 1 and 4096" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu current='-18446744073709551615'>2</vcpu></domain>", "<vcpu current='-18446744073709551615'> is not between 1 and 2" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu><cpu mode='weird'/></domain>", "<cpu mode='weird'> is not a known mode" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu><cpu><feature name='vmx' policy='maybe'/></cpu></domain>", "policy='maybe'> has an unknown policy" },
                { "<domain><name>x</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu><metadata><n:nested xmlns:n='" NV_META_NAMESPACE "'><n:vmm socket='rel'/></n:nested></metadata></domain>", "Domain 'x': <nestvirt:vmm socket='rel'> is not an absolute path." },
                { "<domain><name>../../etc</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu></domain>", "Domain name '../../etc' is refused" },
                { "<domain><name>..</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu></domain>", "Domain name '..' is refused" },
                { "<domain><name>a&#10;b</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu></domain>", "must not be '.' or '..', nor contain '/' or control characters" },
                { "<network/>", "the root element must be <domain>" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                NvDomainDef *d = (NvDomainDef *) 0x1234;
                NvError *err = NULL;

                assert_true(nv_domain_def_parse(bad[i].xml, strlen(bad[i].xml), 0, &d, &err) < 0);
                assert_ptr_equal(d, (NvDomainDef *) 0x1234);
                if (!strstr(err->message, bad[i].message))
                        fail_msg("case %zu: got '%s'", i, err->message);
                nv_error_free(err);
        }
}

static void test_push_state(void **state) {
        NvNestedMeta *m = nv_nested_meta_new();
        NvStateRef s = { .sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
                         .vendor = NV_FORMAT_SVM, .vcpus = 2, .time = "2026-11-23T10:00:00Z" };
        char path[32];

        for (int i = 1; i <= 5; i++) {
                snprintf(path, sizeof(path), "/s/%d.nvstate", i);
                s.path = path;
                assert_int_equal(nv_nested_meta_push_state(m, &s), 0);
        }
        assert_string_equal(m->state.path, "/s/5.nvstate");
        assert_int_equal(m->n_previous, NV_META_MAX_PREVIOUS);
        assert_string_equal(m->previous[0].path, "/s/4.nvstate");
        assert_string_equal(m->previous[2].path, "/s/2.nvstate");
        nv_nested_meta_post_parse(m);
        assert_int_equal(nv_nested_meta_validate(m, NULL), 0);
        nv_nested_meta_free(m);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_examples),
                cmocka_unit_test(test_vcpu_and_cpu),
                cmocka_unit_test(test_model_from_libvirt),
                cmocka_unit_test(test_cpu_defs),
                cmocka_unit_test(test_invalid_domains),
                cmocka_unit_test(test_push_state),
        };

        if (argc < 4) {
                fprintf(stderr, "usage: test-domain NODE.XML SCHEMA DOMCAPS.XML\n");
                return 2;
        }
        node_path = argv[1];
        schema_path = argv[2];
        domcaps_path = argv[3];
        return cmocka_run_group_tests_name("domain XML", tests, NULL, NULL);
}
