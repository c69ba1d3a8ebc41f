/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the parse entries of the documents another party writes,
 * our metadata element (virDomainGetMetadata, a migration source's XML)
 * and the capabilities document (migrate-check's destination host), with
 * and without the validate pass; the CPU model cache the hook reads; a
 * guest CPU and the host-model CPU of libvirt's domain capabilities
 * (migrate-check's --dest-domcaps).  Seeds: tests/xml2xml-in.
 *
 * Beyond "no crash, no leak": a refusal carries a message and leaves *ret
 * alone; what a parse accepts formats, and the formatted document parses
 * again to the same thing and formats the same (with and without the
 * prefix, and built into a domain's XML), so the formatter mirrors the
 * parser and writes back only what was written.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "cpu-def.h"
#include "cpu-models.h"
#include "domain-def.h"
#include "host-caps.h"
#include "nested-meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static void refused(int r, const NvError *err, const void *untouched) {
        assert(r < 0 && !untouched);
        assert(r == -ENOMEM || (err && err->code < 0 && err->message));
}

/* What was written and what applies: the same after a trip through format and parse. */
static void assert_same_meta(const NvNestedMeta *a, const NvNestedMeta *b) {
        assert(a->written.transport == b->written.transport && a->written.bus == b->written.bus &&
               same_str(a->written.object_path, b->written.object_path) && a->written.nested == b->written.nested &&
               a->written.on_missing == b->written.on_missing && a->written.on_incompatible == b->written.on_incompatible);
        assert(a->transport == b->transport && a->bus == b->bus && same_str(a->object_path, b->object_path) &&
               a->nested == b->nested && a->on_missing == b->on_missing && a->on_incompatible == b->on_incompatible);
        assert(same_str(a->socket, b->socket) && same_str(a->bus_name, b->bus_name));
        assert(a->has_state == b->has_state && a->n_previous == b->n_previous && a->has_inline == b->has_inline);
}

/* m, formatted (prefix or not), parses back to the same and formats as canonical did. */
static void reparse_meta(const NvNestedMeta *m, bool prefix, unsigned flags, const char *canonical) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *back = NULL;
        _cleanup_free_ char *text = NULL, *again = NULL;
        int r;

        r = nv_nested_meta_format(m, prefix, &text, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0);
        r = nv_nested_meta_parse(text, strlen(text), flags, &back, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0);
        assert_same_meta(m, back);
        if (nv_nested_meta_format(back, /* prefix= */ true, &again, NULL) == 0)
                assert(strcmp(again, canonical) == 0);
}

/* Built into a domain's XML as a node, read back through the domain's parse entry. */
static void through_domain(const NvNestedMeta *m, unsigned flags, const char *canonical) {
        static const char domain[] = "<domain><name>f</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02</uuid><vcpu>1</vcpu></domain>";
        _cleanup_(nv_domain_def_freep) NvDomainDef *d = NULL;
        _cleanup_free_ char *xml = NULL, *again = NULL;

        int r;

        if (nv_domain_xml_set_meta(domain, sizeof(domain) - 1, m, &xml, NULL) < 0)
                return; /* out of memory */
        r = nv_domain_def_parse(xml, strlen(xml), flags, &d, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0 && d->meta);
        assert_same_meta(m, d->meta);
        if (nv_nested_meta_format(d->meta, /* prefix= */ true, &again, NULL) == 0)
                assert(strcmp(again, canonical) == 0);
}

static void fuzz_meta(const uint8_t *data, size_t size, unsigned flags) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *canonical = NULL;
        int r;

        r = nv_nested_meta_parse((const char *) data, size, flags, &m, &err);
        if (r < 0) {
                refused(r, err, m);
                return;
        }
        if (nv_nested_meta_format(m, /* prefix= */ true, &canonical, NULL) < 0)
                return;
        reparse_meta(m, /* prefix= */ true, flags, canonical);
        reparse_meta(m, /* prefix= */ false, flags, canonical);
        through_domain(m, flags, canonical);
}

static void assert_same_caps(const NvHostInfo *a, const NvHostInfo *b) {
        assert(strcmp(a->kernel_release, b->kernel_release) == 0 && a->cpu_vendor == b->cpu_vendor &&
               strcmp(a->cpu_model, b->cpu_model) == 0 && a->kvm_device == b->kvm_device && a->api_version == b->api_version &&
               a->nested == b->nested && a->nested_state_max == b->nested_state_max && same_str(a->backend, b->backend));
}

static void fuzz_caps(const uint8_t *data, size_t size) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *text = NULL, *again = NULL;
        NvHostInfo h = {}, back = {};
        int r;

        r = nv_host_caps_parse((const char *) data, size, 0, &h, &err);
        if (r < 0) {
                refused(r, err, h.backend);
                return;
        }
        if (nv_host_caps_format(&h, &text, NULL) < 0)
                return;
        r = nv_host_caps_parse(text, strlen(text), 0, &back, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0);
        assert_same_caps(&h, &back);
        if (nv_host_caps_format(&back, &again, NULL) == 0)
                assert(strcmp(again, text) == 0);
}

static void fuzz_cpu_models(const uint8_t *data, size_t size) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ NvCpuModels *m = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL, *again = NULL;
        int r;

        r = nv_cpu_models_parse((const char *) data, size, &m, &err);
        if (r < 0) {
                refused(r, err, m);
                return;
        }
        if (nv_cpu_models_format(m, &text, NULL) < 0)
                return;
        r = nv_cpu_models_parse(text, strlen(text), &back, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0 && back->n == m->n);
        if (nv_cpu_models_format(back, &again, NULL) == 0)
                assert(strcmp(again, text) == 0);
}

/* A CPU read either way formats as a <cpu> that reads back to the same model and features. */
static void fuzz_cpu_def(const uint8_t *data, size_t size, bool domcaps) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ NvCpuDef *d = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = domcaps ? nv_cpu_def_parse_domcaps((const char *) data, size, &d, &err) : nv_cpu_def_parse((const char *) data, size, &d, &err);
        if (r < 0) {
                refused(r, err, d);
                return;
        }
        if (nv_cpu_def_format(d, &text, NULL) < 0)
                return;
        r = nv_cpu_def_parse(text, strlen(text), &back, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0 && strcmp(back->model, d->model) == 0 && back->n_features == d->n_features);
        for (size_t i = 0; i < d->n_features; i++)
                assert(strcmp(back->features[i].name, d->features[i].name) == 0 && back->features[i].policy == d->features[i].policy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* Not NUL-terminated on purpose: the parsers must read no further than size. */
        fuzz_meta(data, size, 0);
        fuzz_meta(data, size, NV_XML_PARSE_SKIP_VALIDATE);
        fuzz_caps(data, size);
        fuzz_cpu_models(data, size);
        fuzz_cpu_def(data, size, false);
        fuzz_cpu_def(data, size, true);
        return 0;
}
