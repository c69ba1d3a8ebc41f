/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capabilities document: parse and format, side by side, same field order. */
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

/*
 * One table per attribute, used by format and parse alike.  "unknown" is
 * the last entry where a value may be unknown; its index maps to -1
 * (cpu vendor) or NV_UNKNOWN (nested).
 */
static const char *const vendor_table[] = { "vmx", "svm", "unknown" };
static const char *const yesno_table[] = { "no", "yes" };
static const char *const tristate_table[] = { "no", "yes", "unknown" };
static const char *const backend_table[] = { "kvm", "simulated", "none" };
#define UNKNOWN_INDEX 2
_Static_assert(NV_FORMAT_VMX == 0 && NV_FORMAT_SVM == 1 && NV_NO == 0 && NV_YES == 1, "table order");

static int known_or_unknown(int v) {
        return v < 0 ? UNKNOWN_INDEX : v;
}

static void put_attr(FILE *f, const char *name, const char *v) {
        fprintf(f, " %s=\"", name);
        nv_xml_put_escaped(f, v);
        fputc('"', f);
}

int nv_host_caps_format(const NvHostInfo *h, char **ret, NvError **reterr) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fprintf(f, "<nestvirtCapabilities xmlns=\"%s\">\n  <host>\n    <kernel", NV_CAPS_NAMESPACE);
        put_attr(f, "release", h->kernel_release);
        fputs("/>\n    <cpu", f);
        put_attr(f, "vendor", vendor_table[known_or_unknown(h->cpu_vendor)]);
        put_attr(f, "model", h->cpu_model);
        fputs("/>\n    <kvm", f);
        put_attr(f, "device", yesno_table[h->kvm_device]);
        fprintf(f, " apiVersion=\"%d\" nestedStateMax=\"%d\"", h->api_version, h->nested_state_max);
        put_attr(f, "backend", h->backend);
        fputs("/>\n    <nested", f);
        put_attr(f, "enabled", tristate_table[known_or_unknown(h->nested)]);
        fputs("/>\n  </host>\n</nestvirtCapabilities>\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return nv_error_set(reterr, -ENOMEM, _("Cannot format the capabilities document."));
        }
        *ret = buf;
        return 0;
}

static xmlNodePtr need_child(xmlNodePtr parent, const char *name, NvError **reterr) {
        xmlNodePtr c = nv_xml_child(parent, name);

        if (!c)
                nv_error_set(reterr, -EINVAL, _("Capabilities: element <%s> is missing."), name);
        return c;
}

static int attr_string(xmlNodePtr n, const char *attr, char *dst, size_t size, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = nv_xml_prop(n, attr);

        if (!v)
                return nv_error_set(reterr, -EINVAL, _("Capabilities: <%s> lacks attribute '%s'."), n->name, attr);
        if (strlen((const char *) v) >= size)
                return nv_error_set(reterr, -EINVAL, _("Capabilities: <%s %s> is longer than %zu characters."), n->name, attr, size - 1);
        strcpy(dst, (const char *) v);
        return 0;
}

static int attr_uint(xmlNodePtr n, const char *attr, unsigned long max, int *ret, NvError **reterr) {
        char s[32], *end;
        unsigned long v;
        int r;

        r = attr_string(n, attr, s, sizeof(s), reterr);
        if (r < 0)
                return r;
        v = strtoul(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '\0' || v > max)
                return nv_error_set(reterr, -EINVAL, _("Capabilities: <%s %s='%s'> is not a number from 0 to %lu."), n->name, attr, s, max);
        *ret = (int) v;
        return 0;
}

/* Looks s up in a table of names; -EINVAL with the element and attribute named. */
static int attr_enum(xmlNodePtr n, const char *attr, const char *const *table, size_t n_table, int *ret, NvError **reterr) {
        char s[32];
        int r;

        r = attr_string(n, attr, s, sizeof(s), reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_table; i++)
                if (strcmp(s, table[i]) == 0) {
                        *ret = (int) i;
                        return 0;
                }
        return nv_error_set(reterr, -EINVAL, _("Capabilities: <%s %s='%s'> is not a known value."), n->name, attr, s);
}

static int parse_host(xmlNodePtr host, NvHostInfo *h, NvError **reterr) {
        xmlNodePtr kernel, cpu, kvm, nested;
        int r, v = 0;

        if (!(kernel = need_child(host, "kernel", reterr)) || !(cpu = need_child(host, "cpu", reterr)) ||
            !(kvm = need_child(host, "kvm", reterr)) || !(nested = need_child(host, "nested", reterr)))
                return -EINVAL;
        if ((r = attr_string(kernel, "release", h->kernel_release, sizeof(h->kernel_release), reterr)) < 0 ||
            (r = attr_enum(cpu, "vendor", vendor_table, ELEMENTSOF(vendor_table), &v, reterr)) < 0)
                return r;
        h->cpu_vendor = v == UNKNOWN_INDEX ? -1 : v;
        if ((r = attr_string(cpu, "model", h->cpu_model, sizeof(h->cpu_model), reterr)) < 0 ||
            (r = attr_enum(kvm, "device", yesno_table, ELEMENTSOF(yesno_table), &v, reterr)) < 0)
                return r;
        h->kvm_device = v == 1;
        if ((r = attr_uint(kvm, "apiVersion", 1000, &h->api_version, reterr)) < 0 ||
            (r = attr_uint(kvm, "nestedStateMax", 1u << 20, &h->nested_state_max, reterr)) < 0 ||
            (r = attr_enum(kvm, "backend", backend_table, ELEMENTSOF(backend_table), &v, reterr)) < 0)
                return r;
        h->backend = backend_table[v];
        if ((r = attr_enum(nested, "enabled", tristate_table, ELEMENTSOF(tristate_table), &v, reterr)) < 0)
                return r;
        h->nested = v == UNKNOWN_INDEX ? NV_UNKNOWN : (NvTristate) v;
        return 0;
}

int nv_host_caps_parse(const char *buf, size_t len, NvHostInfo *ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        NvHostInfo h = {};
        xmlNodePtr root, host;
        int r;

        r = nv_xml_read(buf, len, "capabilities", &doc, reterr);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!root || strcmp((const char *) root->name, "nestvirtCapabilities") != 0 || !root->ns ||
            strcmp((const char *) root->ns->href, NV_CAPS_NAMESPACE) != 0)
                return nv_error_set(reterr, -EINVAL, _("Not a nestvirt capabilities document: the root must be <nestvirtCapabilities xmlns=\"%s\">."),
                                    NV_CAPS_NAMESPACE);
        host = need_child(root, "host", reterr);
        if (!host)
                return -EINVAL;
        r = parse_host(host, &h, reterr);
        if (r < 0)
                return r;
        *ret = h;
        return 0;
}
