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

static int parse_host(xmlNodePtr root, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr host = need_child(root, "host", reterr);
        int r;

        if (!host)
                return -EINVAL;
        if ((r = parse_kernel(host, h, reterr)) < 0 || (r = parse_cpu(host, h, reterr)) < 0 ||
            (r = parse_kvm(host, h, reterr)) < 0 || (r = parse_nested(host, h, reterr)) < 0)
                return r;
        return 0;
}

static int format_host(xmlNodePtr root, const NvHostInfo *h) {
        xmlNodePtr host;

        if (nv_xml_new_child(root, "host", &host) < 0 || format_kernel(host, h) < 0 || format_cpu(host, h) < 0 ||
            format_kvm(host, h) < 0 || format_nested(host, h) < 0)
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

static const NvXmlDocParser caps_parser = {
        .name = "capabilities",
        .parse = parse_caps, /* no defaults: every attribute is required; no meaning beyond the types */
};

int nv_host_caps_parse(const char *buf, size_t len, unsigned flags, NvHostInfo *ret, NvError **reterr) {
        NvHostInfo h = {};
        int r;

        r = nv_xml_parse_doc(&caps_parser, buf, len, flags, &h, reterr);
        if (r >= 0)
                *ret = h;
        return r;
}
