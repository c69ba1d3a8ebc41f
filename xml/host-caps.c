/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capabilities document: each element's parse and format side by side, same attribute order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-caps.h"
#include "nested-state.h"
#include "xml-util.h"

/* The layer rule, enforced: documents never depend on the ioctl layer. */
#ifdef _LINUX_KVM_H
#error "xml/ must not include <linux/kvm.h>"
#endif

#define MAX_API_VERSION 1000
#define MAX_NESTED_STATE (1u << 20)

/* The vendor's names, indexed by NV_FORMAT_* (vmx, svm), then "unknown" for -1. */
NV_DEFINE_PRIVATE_STRING_TABLE(vendor, "vmx", "svm", "unknown")
NV_DEFINE_PRIVATE_STRING_TABLE(backend, "kvm", "simulated", "none")
#define VENDOR_UNKNOWN 2
_Static_assert(NV_FORMAT_VMX == 0 && NV_FORMAT_SVM == 1, "vendor_table's order");

static xmlNodePtr need_child(xmlNodePtr parent, const char *name, NvError **reterr) {
        xmlNodePtr c = nv_xml_child(parent, name);

        if (!c)
                nv_error_set(reterr, -EINVAL, _("element <%s> is missing."), name);
        return c;
}

static int parse_kernel(xmlNodePtr host, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr n = need_child(host, "kernel", reterr);

        if (!n)
                return -EINVAL;
        return nv_xml_prop_string_buf(n, "release", h->kernel_release, sizeof(h->kernel_release), NV_XML_PROP_REQUIRED, reterr);
}

static int format_kernel(xmlNodePtr host, const NvHostInfo *h) {
        xmlNodePtr n;

        return nv_xml_new_child(host, "kernel", &n) < 0 ? -ENOMEM : nv_xml_set_prop(n, "release", h->kernel_release);
}

static int parse_cpu(xmlNodePtr host, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr n = need_child(host, "cpu", reterr);
        int r, v = 0;

        if (!n)
                return -EINVAL;
        if ((r = nv_xml_prop_enum(n, "vendor", vendor_from_string, NV_XML_PROP_REQUIRED, &v, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "model", h->cpu_model, sizeof(h->cpu_model), NV_XML_PROP_REQUIRED, reterr)) < 0)
                return r;
        h->cpu_vendor = v == VENDOR_UNKNOWN ? -1 : v;
        return 0;
}

static int format_cpu(xmlNodePtr host, const NvHostInfo *h) {
        xmlNodePtr n;

        if (nv_xml_new_child(host, "cpu", &n) < 0 ||
            nv_xml_set_prop(n, "vendor", vendor_to_string(h->cpu_vendor < 0 ? VENDOR_UNKNOWN : h->cpu_vendor)) < 0 ||
            nv_xml_set_prop(n, "model", h->cpu_model) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_kvm(xmlNodePtr host, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr n = need_child(host, "kvm", reterr);
        unsigned api = 0, max = 0;
        int r, backend = 0;

        if (!n)
                return -EINVAL;
        if ((r = nv_xml_prop_bool(n, "device", NV_XML_PROP_REQUIRED, &h->kvm_device, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "apiVersion", MAX_API_VERSION, NV_XML_PROP_REQUIRED, &api, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "nestedStateMax", MAX_NESTED_STATE, NV_XML_PROP_REQUIRED, &max, reterr)) < 0 ||
            (r = nv_xml_prop_enum(n, "backend", backend_from_string, NV_XML_PROP_REQUIRED, &backend, reterr)) < 0)
                return r;
        h->api_version = (int) api;
        h->nested_state_max = (int) max;
        h->backend = backend_to_string(backend);
        return 0;
}

static int format_kvm(xmlNodePtr host, const NvHostInfo *h) {
        xmlNodePtr n;

        if (nv_xml_new_child(host, "kvm", &n) < 0 ||
            nv_xml_set_prop(n, "device", nv_xml_tristate_to_string(h->kvm_device ? NV_YES : NV_NO)) < 0 ||
            nv_xml_set_prop_uint(n, "apiVersion", (unsigned) h->api_version) < 0 ||
            nv_xml_set_prop_uint(n, "nestedStateMax", (unsigned) h->nested_state_max) < 0 ||
            nv_xml_set_prop(n, "backend", h->backend) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_nested(xmlNodePtr host, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr n = need_child(host, "nested", reterr);

        return n ? nv_xml_prop_tristate(n, "enabled", NV_XML_PROP_REQUIRED, &h->nested, reterr) : -EINVAL;
}

static int format_nested(xmlNodePtr host, const NvHostInfo *h) {
        xmlNodePtr n;

        return nv_xml_new_child(host, "nested", &n) < 0 ? -ENOMEM : nv_xml_set_prop(n, "enabled", nv_xml_tristate_to_string(h->nested));
}

/* The tristate facts of <target>, by attribute name. */
#define TARGET_FACTS(X)                                                     \
        X("evmcs", evmcs)                                                   \
        X("smm", smm)                                                       \
        X("npt", npt)                                                       \
        X("svme0Gif0Accepted", svme0_gif0_ok)                               \
        X("vnmiNeedsNmiIntercept", vnmi_needs_nmi_intercept)               \
        X("sregsSvmeNeedsCpuid", sregs_svme_needs_cpuid)

static int parse_leaf(xmlNodePtr n, NvCpuidLeaf *l, NvError **reterr) {
        uint64_t v[7];
        static const char *const names[7] = { "function", "index", "flags", "eax", "ebx", "ecx", "edx" };
        int r;

        for (size_t i = 0; i < 7; i++) {
                if ((r = nv_xml_prop_hex64(n, names[i], NV_XML_PROP_REQUIRED, &v[i], reterr)) < 0)
                        return r;
                if (v[i] > UINT32_MAX)
                        return nv_error_set(reterr, -EINVAL, _("line %ld: <leaf %s> is wider than 32 bits."), xmlGetLineNo(n), names[i]);
        }
        *l = (NvCpuidLeaf) { (uint32_t) v[0], (uint32_t) v[1], (uint32_t) v[2], (uint32_t) v[3], (uint32_t) v[4], (uint32_t) v[5], (uint32_t) v[6] };
        return 0;
}

/* <cpuid>: at most NV_HOST_MAX_CPUID leaves. */
static int parse_cpuid(xmlNodePtr cpuid, NvHostTarget *t, NvError **reterr) {
        int r;

        for (xmlNodePtr c = cpuid ? cpuid->children : NULL; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "leaf") != 0)
                        continue;
                if (t->n_cpuid == NV_HOST_MAX_CPUID)
                        return nv_error_set(reterr, -E2BIG, _("line %ld: <cpuid> has more than %d leaves."), xmlGetLineNo(c), NV_HOST_MAX_CPUID);
                if ((r = parse_leaf(c, &t->cpuid[t->n_cpuid], reterr)) < 0)
                        return r;
                t->n_cpuid++;
        }
        return 0;
}

/* <vmxMsrs>: every one of IA32_VMX_BASIC .. IA32_VMX_VMFUNC once, or none. */
static int parse_vmx_msrs(xmlNodePtr msrs, NvHostTarget *t, NvError **reterr) {
        bool seen[NV_VMX_MSR_COUNT] = {};
        unsigned n = 0;
        uint64_t idx;
        int r;

        for (xmlNodePtr c = msrs ? msrs->children : NULL; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "msr") != 0)
                        continue;
                if ((r = nv_xml_prop_hex64(c, "index", NV_XML_PROP_REQUIRED, &idx, reterr)) < 0)
                        return r;
                if (idx < NV_VMX_MSR_FIRST || idx >= NV_VMX_MSR_FIRST + NV_VMX_MSR_COUNT || seen[idx - NV_VMX_MSR_FIRST])
                        return nv_error_set(reterr, -EINVAL, _("line %ld: <msr index='0x%llx'> is not a nested VMX capability MSR, or repeats one."),
                                            xmlGetLineNo(c), (unsigned long long) idx);
                if ((r = nv_xml_prop_hex64(c, "value", NV_XML_PROP_REQUIRED, &t->vmx_msrs[idx - NV_VMX_MSR_FIRST], reterr)) < 0)
                        return r;
                seen[idx - NV_VMX_MSR_FIRST] = true;
                n++;
        }
        if (n != 0 && n != NV_VMX_MSR_COUNT)
                return nv_error_set(reterr, -EINVAL, _("<vmxMsrs> has %u of the %u nested VMX capability MSRs."), n, NV_VMX_MSR_COUNT);
        t->have_vmx_msrs = n == NV_VMX_MSR_COUNT;
        return 0;
}

/* <target>: optional (documents from before it say nothing: every fact unknown). */
static int parse_target(xmlNodePtr host, NvHostTarget *t, NvError **reterr) {
        xmlNodePtr n = nv_xml_child(host, "target");
        unsigned maxphy = 0;
        int r;

        *t = (NvHostTarget) { .evmcs = NV_UNKNOWN, .smm = NV_UNKNOWN, .npt = NV_UNKNOWN, .svme0_gif0_ok = NV_UNKNOWN,
                              .vnmi_needs_nmi_intercept = NV_UNKNOWN, .sregs_svme_needs_cpuid = NV_UNKNOWN };
        if (!n)
                return 0;
        if ((r = nv_xml_prop_bool(n, "measured", NV_XML_PROP_REQUIRED, &t->measured, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "maxphyaddr", 52, NV_XML_PROP_REQUIRED, &maxphy, reterr)) < 0)
                return r;
        t->maxphyaddr = maxphy;
#define X(name, field)                                                                                     \
        if ((r = nv_xml_prop_tristate(n, name, NV_XML_PROP_REQUIRED, &t->field, reterr)) < 0)             \
                return r;
        TARGET_FACTS(X)
#undef X
        if ((r = parse_cpuid(nv_xml_child(n, "cpuid"), t, reterr)) < 0)
                return r;
        return parse_vmx_msrs(nv_xml_child(n, "vmxMsrs"), t, reterr);
}

static int format_target(xmlNodePtr host, const NvHostTarget *t) {
        xmlNodePtr n, list = NULL, c;

        if (!t->measured) /* nothing measured: absent, as from a host before the element existed */
                return 0;
        if (nv_xml_new_child(host, "target", &n) < 0 || nv_xml_set_prop(n, "measured", t->measured ? "yes" : "no") < 0 ||
            nv_xml_set_prop_uint(n, "maxphyaddr", t->maxphyaddr) < 0)
                return -ENOMEM;
#define X(name, field)                                                              \
        if (nv_xml_set_prop(n, name, nv_xml_tristate_to_string(t->field)) < 0)      \
                return -ENOMEM;
        TARGET_FACTS(X)
#undef X
        if (t->n_cpuid && nv_xml_new_child(n, "cpuid", &list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_cpuid; i++) {
                const NvCpuidLeaf *l = &t->cpuid[i];

                if (nv_xml_new_child(list, "leaf", &c) < 0 || nv_xml_set_prop_hex64(c, "function", l->function) < 0 ||
                    nv_xml_set_prop_hex64(c, "index", l->index) < 0 || nv_xml_set_prop_hex64(c, "flags", l->flags) < 0 ||
                    nv_xml_set_prop_hex64(c, "eax", l->eax) < 0 || nv_xml_set_prop_hex64(c, "ebx", l->ebx) < 0 ||
                    nv_xml_set_prop_hex64(c, "ecx", l->ecx) < 0 || nv_xml_set_prop_hex64(c, "edx", l->edx) < 0)
                        return -ENOMEM;
        }
        if (t->have_vmx_msrs && nv_xml_new_child(n, "vmxMsrs", &list) < 0)
                return -ENOMEM;
        for (unsigned i = 0; t->have_vmx_msrs && i < NV_VMX_MSR_COUNT; i++)
                if (nv_xml_new_child(list, "msr", &c) < 0 || nv_xml_set_prop_hex64(c, "index", NV_VMX_MSR_FIRST + i) < 0 ||
                    nv_xml_set_prop_hex64(c, "value", t->vmx_msrs[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int parse_host(xmlNodePtr root, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr host = need_child(root, "host", reterr);
        int r;

        if (!host)
                return -EINVAL;
        if ((r = parse_kernel(host, h, reterr)) < 0 || (r = parse_cpu(host, h, reterr)) < 0 ||
            (r = parse_kvm(host, h, reterr)) < 0 || (r = parse_nested(host, h, reterr)) < 0 ||
            (r = parse_target(host, &h->target, reterr)) < 0)
                return r;
        return 0;
}

static int format_host(xmlNodePtr root, const NvHostInfo *h) {
        xmlNodePtr host;

        if (nv_xml_new_child(root, "host", &host) < 0 || format_kernel(host, h) < 0 || format_cpu(host, h) < 0 ||
            format_kvm(host, h) < 0 || format_nested(host, h) < 0 || format_target(host, &h->target) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_caps(xmlNodePtr root, void *h, NvError **reterr) {
        int r;

        if (!root || strcmp((const char *) root->name, "nestvirtCapabilities") != 0 || !root->ns ||
            strcmp((const char *) root->ns->href, NV_CAPS_NAMESPACE) != 0)
                return nv_error_set(reterr, -EINVAL, _("Not a nestvirt capabilities document: the root must be <nestvirtCapabilities xmlns=\"%s\">."),
                                    NV_CAPS_NAMESPACE);
        r = parse_host(root, h, reterr);
        /* Another host wrote it: the message says which document is wrong. */
        return r < 0 ? nv_error_wrap(reterr, r, _("Capabilities")) : 0;
}

int nv_host_caps_format(const NvHostInfo *h, char **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        int r;

        r = nv_xml_new_doc("nestvirtCapabilities", NV_CAPS_NAMESPACE, NULL, &doc, reterr);
        if (r < 0)
                return r;
        if (format_host(xmlDocGetRootElement(doc), h) < 0)
                return nv_error_set(reterr, -ENOMEM, _("Cannot format the capabilities document."));
        return nv_xml_node_format(xmlDocGetRootElement(doc), ret, reterr);
}

static void *alloc_caps(void) {
        return calloc(1, sizeof(NvHostInfo));
}

static const NvXmlDocParser caps_parser = {
        .name = "capabilities",
        .alloc = alloc_caps,
        .free = free,
        .parse = parse_caps, /* no defaults: every attribute is required; no meaning beyond the types */
};

int nv_host_caps_parse(const char *buf, size_t len, unsigned flags, NvHostInfo *ret, NvError **reterr) {
        _cleanup_free_ void *h = NULL;
        int r = nv_xml_parse_doc(&caps_parser, buf, len, flags, &h, reterr);

        if (r >= 0)
                *ret = *(NvHostInfo *) h;
        return r;
}
