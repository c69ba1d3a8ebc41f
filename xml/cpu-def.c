/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Guest CPU definitions as libvirt writes them: parse and format side by side. */
#include <stdlib.h>
#include <string.h>

#include "cpu-def.h"

#ifdef _LINUX_KVM_H
#error "xml/ must not include <linux/kvm.h>"
#endif

/* libvirt's model, vendor and feature names: letters, digits and a few marks (cpu_map's names). */
static bool is_cpu_name(const char *s) {
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") == strlen(s);
}

/* An element's text into buf: bounded, and only a name libvirt could have written. */
static int parse_name_text(xmlNodePtr n, const char *what, char *buf, size_t size, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *c = n ? xmlNodeGetContent(n) : NULL;
        const char *s = c ? (const char *) c : "";

        if (strlen(s) >= size || !is_cpu_name(s))
                return nv_error_set(reterr, -EINVAL, _("line %ld: <%s>%.64s</%s> is not a CPU %s name of at most %zu characters."),
                                    n ? xmlGetLineNo(n) : 0L, what, s, what, what, size - 1);
        strcpy(buf, s);
        return 0;
}

static int parse_feature(xmlNodePtr f, NvCpuDef *d, NvError **reterr) {
        NvCpuFeature *out;
        int r, policy = NV_FEATURE_REQUIRE; /* libvirt's default for a feature line */

        if (d->n_features == NV_CPU_MAX_FEATURES)
                return nv_error_set(reterr, -E2BIG, _("line %ld: more than %d CPU <feature> lines."), xmlGetLineNo(f),
                                    NV_CPU_MAX_FEATURES);
        out = &d->features[d->n_features];
        if ((r = nv_xml_prop_string_buf(f, "name", out->name, sizeof(out->name), NV_XML_PROP_REQUIRED, reterr)) < 0 ||
            (r = nv_xml_prop_enum(f, "policy", nv_feature_policy_from_string, NV_XML_PROP_OPTIONAL, &policy, reterr)) < 0)
                return r;
        if (!is_cpu_name(out->name))
                return nv_error_set(reterr, -EINVAL, _("line %ld: <feature name='%s'> is not a CPU feature name."), xmlGetLineNo(f),
                                    out->name);
        out->policy = policy;
        d->n_features++;
        return 0;
}

/* The children of a <cpu> or of domcaps' <mode name='host-model'>: the same model, vendor and features. */
static int parse_cpu_children(xmlNodePtr cpu, NvCpuDef *d, NvError **reterr) {
        xmlNodePtr model = nv_xml_child(cpu, "model"), vendor = nv_xml_child(cpu, "vendor");
        int r;

        if ((model && (r = parse_name_text(model, "model", d->model, sizeof(d->model), reterr)) < 0) ||
            (vendor && (r = parse_name_text(vendor, "vendor", d->vendor, sizeof(d->vendor), reterr)) < 0))
                return r;
        for (xmlNodePtr c = cpu->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, "feature") == 0 &&
                    (r = parse_feature(c, d, reterr)) < 0)
                        return r;
        return 0;
}

int nv_cpu_def_parse_node(xmlNodePtr cpu, NvCpuDef **ret, NvError **reterr) {
        _cleanup_free_ NvCpuDef *d = calloc(1, sizeof(NvCpuDef));
        int r;

        if (!d)
                return -ENOMEM;
        r = parse_cpu_children(cpu, d, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static int read_doc(const char *xml, size_t len, const char *name, xmlDocPtr *doc, xmlNodePtr *root, NvError **reterr) {
        int r = nv_xml_read(xml, len, name, doc, reterr);

        if (r < 0)
                return r;
        *root = xmlDocGetRootElement(*doc);
        return *root ? 0 : nv_error_set(reterr, -EINVAL, _("The %s has no root element."), name);
}

int nv_cpu_def_parse(const char *xml, size_t len, NvCpuDef **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr root, cpu;
        int r;

        if ((r = read_doc(xml, len, "CPU definition", &doc, &root, reterr)) < 0)
                return r;
        cpu = strcmp((const char *) root->name, "cpu") == 0 ? root : nv_xml_child(root, "cpu");
        if (!cpu)
                return nv_error_set(reterr, -ENOENT, _("The XML has no <cpu> element."));
        return nv_cpu_def_parse_node(cpu, ret, reterr);
}

static xmlNodePtr host_model_mode(xmlNodePtr root) {
        xmlNodePtr cpu = nv_xml_child(root, "cpu");

        for (xmlNodePtr c = cpu ? cpu->children : NULL; c; c = c->next) {
                _cleanup_xmlfree_ xmlChar *name = NULL;

                if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "mode") != 0)
                        continue;
                name = xmlGetProp(c, BAD_CAST "name");
                if (name && strcmp((const char *) name, "host-model") == 0)
                        return c;
        }
        return NULL;
}

int nv_cpu_def_parse_domcaps(const char *xml, size_t len, NvCpuDef **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr root, mode;
        bool supported = false;
        int r;

        if ((r = read_doc(xml, len, "domain capabilities", &doc, &root, reterr)) < 0)
                return r;
        if (strcmp((const char *) root->name, "domainCapabilities") != 0)
                return nv_error_set(reterr, -EINVAL, _("Not libvirt domain capabilities: the root must be <domainCapabilities>."));
        mode = host_model_mode(root);
        if (mode && (r = nv_xml_prop_bool(mode, "supported", NV_XML_PROP_REQUIRED, &supported, reterr)) < 0)
                return r;
        if (!supported)
                return nv_error_set(reterr, -ENOENT, _("The domain capabilities offer no host-model CPU."));
        r = nv_cpu_def_parse_node(mode, ret, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, _("The host-model CPU of the domain capabilities")) : 0;
}

int nv_cpu_def_format(const NvCpuDef *d, char **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr cpu, n;
        int r;

        if ((r = nv_xml_new_doc("cpu", NULL, NULL, &doc, reterr)) < 0)
                return r;
        cpu = xmlDocGetRootElement(doc);
        if (nv_xml_set_prop(cpu, "mode", "custom") < 0 || nv_xml_set_prop(cpu, "match", "exact") < 0)
                return -ENOMEM;
        if (d->model[0] && (!(n = xmlNewTextChild(cpu, NULL, BAD_CAST "model", BAD_CAST d->model)) ||
                            nv_xml_set_prop(n, "fallback", "forbid") < 0))
                return -ENOMEM;
        if (d->vendor[0] && !xmlNewTextChild(cpu, NULL, BAD_CAST "vendor", BAD_CAST d->vendor))
                return -ENOMEM;
        for (size_t i = 0; i < d->n_features; i++)
                if (nv_xml_new_child(cpu, "feature", &n) < 0 || nv_xml_set_prop(n, "policy", nv_feature_policy_to_string(d->features[i].policy)) < 0 ||
                    nv_xml_set_prop(n, "name", d->features[i].name) < 0)
                        return -ENOMEM;
        return nv_xml_node_format(cpu, ret, reterr);
}

int nv_cpu_def_policy(const NvCpuDef *d, const char *name) {
        for (size_t i = 0; i < d->n_features; i++)
                if (strcmp(d->features[i].name, name) == 0)
                        return d->features[i].policy;
        return -1;
}
