/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt connection against libvirt's own test driver
 * (test:///ABSPATH/node.xml, a private copy per connection): listing,
 * reading domain XML, our metadata written live and config and read back,
 * the metadata-change event through libvirt's event loop, and errors.
 */
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn-private.h"
#include "conn.h"
#include "cpu-def.h"
#include "driver.h"
#include "helpers.h"
#include "nested-state.h"

static char uri[4096];

typedef struct Seen {
        char domain[64];
        char kind[16];
        unsigned n;
} Seen;

static void on_event(const char *domain, const char *kind, int detail, void *userdata) {
        Seen *s = userdata;

        snprintf(s->domain, sizeof(s->domain), "%s", domain);
        snprintf(s->kind, sizeof(s->kind), "%s", kind);
        s->n++;
}

static void test_list(void **state) {
        NvConn *c = NULL;
        NvDomainEntry *e = NULL;
        size_t n;

        assert_int_equal(nv_conn_open(uri, NULL, NULL, &c, NULL), 0);
        assert_int_equal(nv_conn_list(c, true, &e, &n, NULL), 0);
        assert_int_equal(n, 5);
        assert_string_equal(e[0].def->name, "host-model-new"); /* sorted by name */
        assert_string_equal(e[2].def->name, "plain-off");
        assert_false(e[2].active);
        nv_domain_entries_free(e, n);
        assert_int_equal(nv_conn_list(c, false, &e, &n, NULL), 0);
        assert_int_equal(n, 4);
        nv_domain_entries_free(e, n);
        nv_conn_free(c);
}

static void test_get_domain_and_meta(void **state) {
        NvDomainEntry d = {};
        NvNestedMeta *m = NULL;
        NvError *err = NULL;
        NvConn *c = NULL;

        assert_int_equal(nv_conn_open(uri, NULL, NULL, &c, NULL), 0);
        assert_int_equal(nv_conn_get_domain(c, "5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02", &d, NULL), 0);
        assert_string_equal(d.def->name, "vmx-custom");
        assert_int_equal(d.def->vcpus_current, 2);
        nv_domain_def_free(d.def);
        assert_int_equal(nv_conn_get_meta(c, "svm-passthrough", NV_AFFECT_LIVE, &m, NULL), 0);
        assert_non_null(m);
        assert_true(m->has_state);
        assert_int_equal(m->state.vcpus, 4);
        assert_int_equal(m->n_previous, 2);
        m = nv_nested_meta_free(m);
        assert_int_equal(nv_conn_get_meta(c, "host-model-new", NV_AFFECT_LIVE, &m, NULL), 0);
        assert_null(m); /* no metadata yet is not an error */
        assert_int_equal(nv_conn_get_domain(c, "no-such-vm", &d, &err), -ENOENT);
        assert_string_equal(err->message, "Domain 'no-such-vm' not found.");
        nv_error_free(err);
        nv_conn_free(c);
}

/* Write live and config, read both back, see the event, then remove. */
static void test_set_meta_and_event(void **state) {
        NvNestedMeta *m = nv_nested_meta_new(), *back = NULL;
        NvStateRef s = { .path = (char *) "/var/lib/nestvirt/host-model-new/1.nvstate",
                         .sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                         .vendor = NV_FORMAT_SVM, .vcpus = 2, .time = "2026-11-23T12:00:00Z" };
        NvDomainEntry d = {};
        Seen seen = {};
        NvConn *c = NULL;

        assert_int_equal(nv_conn_open(uri, on_event, &seen, &c, NULL), 0);
        m->socket = strdup("/run/nestvirt/host-model-new.sock");
        assert_int_equal(nv_nested_meta_push_state(m, &s), 0);
        nv_nested_meta_post_parse(m);
        assert_int_equal(nv_conn_set_meta(c, "host-model-new", m, NV_AFFECT_LIVE | NV_AFFECT_CONFIG, NULL), 0);
        for (int i = 0; i < 20 && seen.n == 0; i++)
                assert_int_equal(nv_conn_run_events(c, 50, NULL), 0);
        assert_true(seen.n >= 1);
        assert_string_equal(seen.domain, "host-model-new");
        assert_string_equal(seen.kind, "metadata");
        for (unsigned affect = NV_AFFECT_LIVE; affect <= NV_AFFECT_CONFIG; affect++) {
                assert_int_equal(nv_conn_get_meta(c, "host-model-new", affect, &back, NULL), 0);
                assert_non_null(back);
                assert_string_equal(back->state.path, s.path);
                assert_string_equal(back->socket, "/run/nestvirt/host-model-new.sock");
                back = nv_nested_meta_free(back);
        }
        /* The domain's XML carries it too, under our prefix. */
        assert_int_equal(nv_conn_get_domain(c, "host-model-new", &d, NULL), 0);
        assert_non_null(d.def->meta);
        assert_string_equal(d.def->meta->state.sha256, s.sha256);
        nv_domain_def_free(d.def);
        assert_int_equal(nv_conn_set_meta(c, "host-model-new", NULL, NV_AFFECT_LIVE | NV_AFFECT_CONFIG, NULL), 0);
        assert_int_equal(nv_conn_get_meta(c, "host-model-new", NV_AFFECT_LIVE, &back, NULL), 0);
        assert_null(back);
        nv_nested_meta_free(m);
        nv_conn_free(c);
}

/* test:///default is shared within a process: a second, raw connection pauses its domain. */
static void test_lifecycle_event(void **state) {
        Seen seen = {};
        NvConn *c = NULL;
        virConnectPtr raw;
        virDomainPtr dom;

        assert_int_equal(nv_conn_open("test:///default", on_event, &seen, &c, NULL), 0);
        raw = virConnectOpen("test:///default");
        assert_non_null(raw);
        dom = virDomainLookupByName(raw, "test");
        assert_non_null(dom);
        assert_int_equal(virDomainSuspend(dom), 0);
        for (int i = 0; i < 20 && seen.n == 0; i++)
                assert_int_equal(nv_conn_run_events(c, 50, NULL), 0);
        assert_string_equal(seen.kind, "lifecycle");
        assert_string_equal(seen.domain, "test");
        assert_int_equal(virDomainResume(dom), 0);
        virDomainFree(dom);
        virConnectClose(raw);
        nv_conn_free(c);
}

/* One domain with metadata nestvirt refuses: listed as broken with the reason, the others as always (issue 15.10). */
static void test_list_with_broken_domain(void **state) {
        static const char node[] =
                "<node>"
                "<domain type='test'><name>a-good</name><uuid>5f1c8a2e-7a31-4c55-9d0e-00000000000a</uuid>"
                "<metadata><nestvirt:nested xmlns:nestvirt='" NV_META_NAMESPACE "'>"
                "<nestvirt:vmm transport='socket' socket='/run/a.sock'/></nestvirt:nested></metadata>"
                "<memory>524288</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
                "<domain type='test'><name>b-bad</name><uuid>5f1c8a2e-7a31-4c55-9d0e-00000000000b</uuid>"
                "<metadata><nestvirt:nested xmlns:nestvirt='" NV_META_NAMESPACE "'>"
                "<nestvirt:vmm transport='carrier-pigeon'/></nestvirt:nested></metadata>"
                "<memory>524288</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
                "<domain type='test'><name>c-plain</name><uuid>5f1c8a2e-7a31-4c55-9d0e-00000000000c</uuid>"
                "<memory>524288</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
                "</node>";
        char dir[] = "/tmp/nestvirt-conn-XXXXXX", path[64], broken_uri[128];
        NvDomainEntry *e = NULL, d = {};
        NvError *err = NULL;
        NvConn *c = NULL;
        size_t n;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/node.xml", dir);
        assert_non_null(f = fopen(path, "w"));
        fputs(node, f);
        fclose(f);
        snprintf(broken_uri, sizeof(broken_uri), "test://%s", path);
        assert_int_equal(nv_conn_open(broken_uri, NULL, NULL, &c, NULL), 0);
        assert_int_equal(nv_conn_list(c, true, &e, &n, NULL), 0);
        assert_int_equal(n, 3);
        assert_null(e[0].broken);
        assert_non_null(e[0].def->meta);
        assert_string_equal(e[1].def->name, "b-bad");
        assert_string_equal(e[1].def->uuid, "5f1c8a2e-7a31-4c55-9d0e-00000000000b");
        assert_non_null(e[1].broken);
        assert_non_null(strstr(e[1].broken, "carrier-pigeon"));
        assert_true(e[1].broken_nested && nv_domain_entry_nested(&e[1]));
        assert_null(e[2].broken);
        assert_false(nv_domain_entry_nested(&e[2]));
        nv_domain_entries_free(e, n);
        /* Asked for by name, it is an error naming what is wrong. */
        assert_true(nv_conn_get_domain(c, "b-bad", &d, &err) < 0);
        assert_non_null(strstr(err->message, "carrier-pigeon"));
        nv_error_free(err);
        nv_conn_free(c);
        unlink(path);
        rmdir(dir);
}

/*
 * save-all's listing: the running domains with our element; then each as
 * a save reads it, later: its metadata as it is by then (a save that
 * landed meanwhile is in it), none if it was removed, -ESRCH if it
 * stopped.  Writing through the listed handle, config too if libvirt
 * finds the domain persistent: a transient one gets the live write alone,
 * a stopped one the refusal.
 */
static void test_list_nested_then_read(void **state) {
        NvNestedMeta *m = nv_nested_meta_new(), *back = NULL;
        NvStateRef s = { .path = (char *) "/var/lib/nestvirt/svm-passthrough/9.nvstate",
                         .sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                         .vendor = NV_FORMAT_SVM, .vcpus = 4, .time = "2026-12-01T12:00:00Z" };
        virConnectPtr raw;
        virDomainPtr dom;
        NvDomainRef *refs = NULL;
        NvDomainEntry e = {};
        NvError *err = NULL;
        NvConn *c = NULL;
        size_t n;

        assert_int_equal(nv_conn_open(uri, NULL, NULL, &c, NULL), 0);
        raw = nv_conn_virt(c);
        /* A transient running domain with our element. */
        dom = virDomainCreateXML(raw,
                                 "<domain type='test'><name>transient-nested</name><memory>1024</memory><os><type>hvm</type></os>"
                                 "<metadata><nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>"
                                 "<nestvirt:vmm transport='socket' socket='/run/t.sock'/></nestvirt:nested></metadata></domain>",
                                 0);
        assert_non_null(dom);
        virDomainFree(dom);
        assert_int_equal(nv_conn_list_nested(c, &refs, &n, NULL), 0);
        assert_int_equal(n, 3); /* sorted by name; host-model-new and nested-disabled have no element */
        assert_string_equal(refs[0].name, "svm-passthrough");
        assert_string_equal(refs[1].name, "transient-nested");
        assert_string_equal(refs[2].name, "vmx-custom");
        assert_int_equal(nv_conn_get_listed(c, &refs[1], &e, NULL), 0);
        assert_true(e.active);
        nv_domain_def_free(e.def);
        /* A save landed after the listing: read now, it is there. */
        m->socket = strdup("/run/nestvirt/svm-passthrough.sock");
        assert_int_equal(nv_nested_meta_push_state(m, &s), 0);
        nv_nested_meta_post_parse(m);
        assert_int_equal(nv_conn_set_meta(c, "svm-passthrough", m, NV_AFFECT_LIVE, NULL), 0);
        assert_int_equal(nv_conn_get_listed(c, &refs[0], &e, NULL), 0);
        assert_true(e.active);
        assert_string_equal(e.def->uuid, refs[0].uuid);
        assert_non_null(e.def->meta);
        assert_string_equal(e.def->meta->state.path, s.path);
        nv_domain_def_free(e.def);
        /* Written through the listed handle, read back by name: transient, live alone. */
        m->state.vcpus = 2;
        assert_int_equal(nv_conn_set_listed_meta(c, &refs[1], m, NV_AFFECT_LIVE | NV_AFFECT_CONFIG_IF_PERSISTENT, NULL), 0);
        assert_int_equal(nv_conn_get_meta(c, "transient-nested", NV_AFFECT_LIVE, &back, NULL), 0);
        assert_non_null(back);
        assert_int_equal(back->state.vcpus, 2);
        back = nv_nested_meta_free(back);
        /* Persistent: live and config. */
        m->state.vcpus = 3;
        assert_int_equal(nv_conn_set_listed_meta(c, &refs[0], m, NV_AFFECT_LIVE | NV_AFFECT_CONFIG_IF_PERSISTENT, NULL), 0);
        for (unsigned affect = NV_AFFECT_LIVE; affect <= NV_AFFECT_CONFIG; affect++) {
                assert_int_equal(nv_conn_get_meta(c, "svm-passthrough", affect, &back, NULL), 0);
                assert_non_null(back);
                assert_int_equal(back->state.vcpus, 3);
                back = nv_nested_meta_free(back);
        }
        /* Its element removed since: no metadata.  Stopped since: not running. */
        assert_int_equal(nv_conn_set_meta(c, "transient-nested", NULL, NV_AFFECT_LIVE, NULL), 0);
        assert_int_equal(nv_conn_get_listed(c, &refs[1], &e, NULL), 0);
        assert_null(e.def->meta);
        nv_domain_def_free(e.def);
        assert_int_equal(virDomainDestroy(refs[2].dom), 0);
        assert_int_equal(nv_conn_get_listed(c, &refs[2], &e, &err), -ESRCH);
        assert_non_null(strstr(err->message, "vmx-custom"));
        err = nv_error_free(err);
        /* Persistent and stopped: libvirt's refusal of the live write, not a config write alone. */
        assert_true(nv_conn_set_listed_meta(c, &refs[2], m, NV_AFFECT_LIVE | NV_AFFECT_CONFIG_IF_PERSISTENT, &err) < 0);
        assert_non_null(strstr(err->message, "Cannot write the nestvirt metadata"));
        nv_error_free(err);
        assert_int_equal(nv_conn_get_meta(c, "vmx-custom", NV_AFFECT_CONFIG, &back, NULL), 0);
        assert_true(!back || back->state.vcpus != 3);
        nv_nested_meta_free(back);
        nv_domain_refs_free(refs, n);
        nv_nested_meta_free(m);
        virConnectClose(raw);
        nv_conn_free(c);
}

/* Many running domains, some with our element: the listing returns exactly those, sorted by name. */
static void test_list_nested_many(void **state) {
        virConnectPtr raw;
        NvDomainRef *refs = NULL;
        NvConn *c = NULL;
        size_t n;

        assert_int_equal(nv_conn_open(uri, NULL, NULL, &c, NULL), 0);
        raw = nv_conn_virt(c);
        for (unsigned i = 0; i < 40; i++) {
                char xml[1024];
                virDomainPtr dom;

                /* Named in an order libvirt lists differently: the even ones nested. */
                snprintf(xml, sizeof(xml),
                         "<domain type='test'><name>many-%02u</name><memory>1024</memory><os><type>hvm</type></os>%s</domain>",
                         (i * 7) % 40,
                         (i * 7) % 2 ? ""
                                     : "<metadata><nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>"
                                       "<nestvirt:vmm transport='socket' socket='/run/t.sock'/></nestvirt:nested></metadata>");
                dom = virDomainCreateXML(raw, xml, 0);
                assert_non_null(dom);
                virDomainFree(dom);
        }
        assert_int_equal(nv_conn_list_nested(c, &refs, &n, NULL), 0);
        assert_int_equal(n, 2 + 20); /* svm-passthrough and vmx-custom of the node, and many-00, -02, ... -38 */
        for (size_t i = 0; i < 20; i++) {
                char want[16];

                snprintf(want, sizeof(want), "many-%02zu", 2 * i);
                assert_string_equal(refs[i].name, want);
                assert_non_null(refs[i].dom);
        }
        assert_string_equal(refs[20].name, "svm-passthrough");
        assert_string_equal(refs[21].name, "vmx-custom");
        nv_domain_refs_free(refs, n);
        nv_conn_free(c);
}

static void test_bad_uri(void **state) {
        NvError *err = NULL;
        NvConn *c = NULL;

        assert_true(nv_conn_open("test:///nonexistent/node.xml", NULL, NULL, &c, &err) < 0);
        assert_non_null(strstr(err->message, "Cannot connect to libvirt"));
        nv_error_free(err);
}

/*
 * migrate-check's CPU comparison on two expanded CPUs: each feature the
 * domain requires and the destination lacks, VMX controls named as such;
 * what the domain disables, or the destination also has, is no problem.
 * (libvirt 9.0's cpu_map has no vmx-* names, so this part cannot come from
 * a real expansion on Debian 12.)  And the test driver has no CPU APIs:
 * its domains' models stay unknown rather than judged.
 */
static void test_cpu_comparison(void **state) {
        static const char mine_xml[] = "<cpu><model>Skylake-Client</model><feature policy='require' name='vmx'/>"
                                       "<feature policy='require' name='vmx-apicv-xapic'/><feature name='avx2'/>"
                                       "<feature policy='disable' name='svm'/><feature policy='require' name='sse2'/></cpu>";
        static const char there_xml[] = "<cpu><model>Broadwell</model><feature policy='require' name='vmx'/>"
                                        "<feature policy='require' name='sse2'/><feature policy='disable' name='avx2'/></cpu>";
        _cleanup_free_ NvCpuDef *mine = NULL, *there = NULL;
        _cleanup_(nv_conn_freep) NvConn *c = NULL;
        NvDomainEntry e = {};
        NvMigrateCheck check = {};

        assert_int_equal(nv_cpu_def_parse(mine_xml, sizeof(mine_xml) - 1, &mine, NULL), 0);
        assert_int_equal(nv_cpu_def_parse(there_xml, sizeof(there_xml) - 1, &there, NULL), 0);
        nv_migrate_check_cpu_defs(mine, there, &check);
        assert_int_equal(check.n_problems, 2);
        assert_string_equal(check.problems[0], "the destination's CPU lacks the VMX control vmx-apicv-xapic");
        assert_string_equal(check.problems[1], "the destination's CPU lacks the feature avx2");

        assert_int_equal(nv_conn_open(uri, NULL, NULL, &c, NULL), 0);
        assert_int_equal(nv_conn_get_domain(c, "vmx-custom", &e, NULL), 0);
        assert_int_equal(e.def->cpu_has[NV_FORMAT_VMX], NV_UNKNOWN);
        nv_domain_def_free(e.def);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_get_domain_and_meta),
                cmocka_unit_test(test_set_meta_and_event),
                cmocka_unit_test(test_lifecycle_event),
                cmocka_unit_test(test_list_with_broken_domain),
                cmocka_unit_test(test_list_nested_then_read),
                cmocka_unit_test(test_list_nested_many),
                cmocka_unit_test(test_bad_uri),
                cmocka_unit_test(test_cpu_comparison),
        };

        if (argc < 2) {
                fprintf(stderr, "usage: test-conn ABSOLUTE-NODE.XML\n");
                return 2;
        }
        snprintf(uri, sizeof(uri), "test://%s", argv[1]);
        return cmocka_run_group_tests_name("libvirt connection (test driver)", tests, NULL, NULL);
}
