/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading libvirt domain XML, and the effective nested mode. */
#include <stdlib.h>
#include <string.h>

#include "domain-def.h"
#include "nested-state.h"
#include "xml-util.h"

#ifdef _LINUX_KVM_H
#error "xml/ must not include <linux/kvm.h>"
#endif

#define MAX_VCPUS 4096

NV_DEFINE_STRING_TABLE(nv_cpu_mode, "custom", "host-model", "host-passthrough", "maximum")
NV_DEFINE_STRING_TABLE(nv_feature_policy, "force", "require", "optional", "disable", "forbid")

NvDomainDef *nv_domain_def_free(NvDomainDef *d) {
        if (!d)
                return NULL;
        free(d->name);
        free(d->cpu_model);
        free(d->cpu_match);
        free(d->cpu_check);
        free(d->virt_type);
        free(d->arch);
        free(d->emulator);
        nv_nested_meta_free(d->meta);
        free(d);
        return NULL;
}

static char *node_text(xmlNodePtr n) {
        xmlChar *c = n ? xmlNodeGetContent(n) : NULL;
        char *s = c ? strdup((const char *) c) : NULL;

        xmlFree(c);
        return s;
}

/* libvirt's own values are short; anything longer is not libvirt's. */
#define MAX_VALUE_LEN 255

/* A count from 1 to max: digits only (no blanks, no sign, no wrap-around). */
static bool parse_count(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;

        if (!s || nv_parse_unsigned(s, 10, max, &v) < 0 || v < 1)
                return false;
        *ret = (unsigned) v;
        return true;
}

static int parse_vcpu(xmlNodePtr root, NvDomainDef *d, NvError **reterr) {
        _cleanup_free_ char *text = NULL, *current = NULL;
        xmlNodePtr n = nv_xml_child(root, "vcpu");
        int r;

        if (!n)
                return nv_error_set(reterr, -EINVAL, _("Domain '%s' has no <vcpu> element."), d->name);
        text = node_text(n);
        if (!parse_count(text, MAX_VCPUS, &d->vcpus))
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <vcpu>%s</vcpu> is not between 1 and %d."), d->name,
                                    text ? text : "", MAX_VCPUS);
        d->vcpus_current = d->vcpus;
        if ((r = nv_xml_prop_string(n, "current", MAX_VALUE_LEN, 0, &current, reterr)) < 0)
                return r;
        if (current && !parse_count(current, d->vcpus, &d->vcpus_current))
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <vcpu current='%s'> is not between 1 and %u."), d->name,
                                    current, d->vcpus);
        return 0;
}

/* Mode and policy are read as strings: their messages name the domain and the feature. */
static int parse_feature(xmlNodePtr f, NvDomainDef *d, NvError **reterr) {
        _cleanup_free_ char *name = NULL, *policy = NULL;
        int which, p, r;

        if ((r = nv_xml_prop_string(f, "name", MAX_VALUE_LEN, 0, &name, reterr)) < 0 ||
            (r = nv_xml_prop_string(f, "policy", MAX_VALUE_LEN, 0, &policy, reterr)) < 0)
                return r;
        which = nv_format_from_string(name);
        if (which < 0)
                return 0; /* not vmx/svm: not ours to judge */
        /* libvirt's default policy is require (since 0.8.5). */
        p = policy ? nv_feature_policy_from_string(policy) : NV_FEATURE_REQUIRE;
        if (p < 0)
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <feature name='%s' policy='%s'> has an unknown policy."),
                                    d->name, name, policy);
        d->feature[which] = p;
        return 0;
}

static int parse_cpu(xmlNodePtr root, NvDomainDef *d, NvError **reterr) {
        _cleanup_free_ char *mode = NULL;
        xmlNodePtr cpu = nv_xml_child(root, "cpu");
        int r;

        d->cpu_mode = NV_CPU_MODE_CUSTOM;
        if (!cpu)
                return 0;
        d->has_cpu = true;
        if ((r = nv_xml_prop_string(cpu, "mode", MAX_VALUE_LEN, 0, &mode, reterr)) < 0)
                return r;
        if (mode && (d->cpu_mode = nv_cpu_mode_from_string(mode)) < 0)
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <cpu mode='%s'> is not a known mode."), d->name, mode);
        if ((r = nv_xml_prop_string(cpu, "match", MAX_VALUE_LEN, 0, &d->cpu_match, reterr)) < 0 ||
            (r = nv_xml_prop_string(cpu, "check", MAX_VALUE_LEN, 0, &d->cpu_check, reterr)) < 0)
                return r;
        d->cpu_model = node_text(nv_xml_child(cpu, "model"));
        for (xmlNodePtr c = cpu->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, "feature") == 0 &&
                    (r = parse_feature(c, d, reterr)) < 0)
                        return r;
        return 0;
}

/* Our element, syntax only: its defaults and its validation are the domain's passes too. */
static int parse_metadata(xmlNodePtr root, NvDomainDef *d, NvError **reterr) {
        xmlNodePtr md = nv_xml_child(root, "metadata");
        int r;

        for (xmlNodePtr c = md ? md->children : NULL; c; c = c->next) {
                if (!nv_xml_is(c, NV_META_NAMESPACE, "nested"))
                        continue;
                d->meta = nv_nested_meta_new();
                if (!d->meta)
                        return -ENOMEM;
                r = nv_nested_meta_parse_node(c, d->meta, reterr);
                return r < 0 ? nv_error_wrap(reterr, r, _("Domain '%s'"), d->name) : 0;
        }
        return 0;
}

/*
 * The name is a path component: snapshots go to STATE_DIR/NAME/.  A '/' or
 * a name of '.' or '..' would put them outside that directory (the hook
 * takes the name from XML a migration source wrote), and control characters
 * do not survive an XML attribute, where the snapshot's path is kept.
 */
static bool name_is_path_component(const char *name) {
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                if (*p == '/' || *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int parse_identity(xmlNodePtr root, NvDomainDef *d, NvError **reterr) {
        _cleanup_free_ char *uuid = node_text(nv_xml_child(root, "uuid"));

        d->name = node_text(nv_xml_child(root, "name"));
        if (!d->name || !d->name[0] || strlen(d->name) > 255)
                return nv_error_set(reterr, -EINVAL, _("The domain XML has no usable <name>."));
        if (!name_is_path_component(d->name))
                return nv_error_set(reterr, -EINVAL,
                                    _("Domain name '%s' is refused: it must not be '.' or '..', nor contain '/' or control characters."),
                                    d->name);
        if (!uuid || !nv_uuid_shaped(uuid, strlen(uuid)))
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <uuid>%s</uuid> is not a UUID."), d->name, uuid ? uuid : "");
        strcpy(d->uuid, uuid);
        return 0;
}

static void *alloc_domain(void) {
        NvDomainDef *d = calloc(1, sizeof(NvDomainDef));

        if (d) {
                d->feature[0] = d->feature[1] = -1;
                d->cpu_has[0] = d->cpu_has[1] = NV_UNKNOWN;
        }
        return d;
}

static void free_domain(void *d) {
        nv_domain_def_free(d);
}

/* What libvirt's CPU APIs are asked with: the domain type, architecture and emulator. */
static int parse_hypervisor(xmlNodePtr root, NvDomainDef *d, NvError **reterr) {
        xmlNodePtr os = nv_xml_child(root, "os"), type = os ? nv_xml_child(os, "type") : NULL;
        xmlNodePtr devices = nv_xml_child(root, "devices");
        int r;

        if ((r = nv_xml_prop_string(root, "type", MAX_VALUE_LEN, 0, &d->virt_type, reterr)) < 0 ||
            (type && (r = nv_xml_prop_string(type, "arch", MAX_VALUE_LEN, 0, &d->arch, reterr)) < 0))
                return r;
        d->emulator = node_text(devices ? nv_xml_child(devices, "emulator") : NULL);
        if (d->emulator && strlen(d->emulator) > 4096)
                return nv_error_set(reterr, -EINVAL, _("Domain '%s': <emulator> is longer than 4096 bytes."), d->name);
        return 0;
}

static int parse_domain(xmlNodePtr root, void *def, NvError **reterr) {
        NvDomainDef *d = def;
        int r;

        if (!root || strcmp((const char *) root->name, "domain") != 0 || root->ns)
                return nv_error_set(reterr, -EINVAL, _("Not libvirt domain XML: the root element must be <domain>."));
        if ((r = parse_identity(root, d, reterr)) < 0 || (r = parse_vcpu(root, d, reterr)) < 0 ||
            (r = parse_cpu(root, d, reterr)) < 0 || (r = parse_hypervisor(root, d, reterr)) < 0 ||
            (r = parse_metadata(root, d, reterr)) < 0)
                return r;
        return 0;
}

static void post_parse_domain(void *def) {
        NvDomainDef *d = def;

        if (d->meta)
                nv_nested_meta_post_parse(d->meta);
}

static int validate_domain(const void *def, NvError **reterr) {
        const NvDomainDef *d = def;
        int r;

        if (!d->meta || (r = nv_nested_meta_validate(d->meta, reterr)) >= 0)
                return 0;
        return nv_error_wrap(reterr, r, _("Domain '%s'"), d->name);
}

static const NvXmlDocParser domain_parser = {
        .name = "domain XML",
        .alloc = alloc_domain,
        .free = free_domain,
        .parse = parse_domain,
        .post_parse = post_parse_domain,
        .validate = validate_domain,
};

int nv_domain_def_parse(const char *xml, size_t len, unsigned flags, NvDomainDef **ret, NvError **reterr) {
        void *d;
        int r = nv_xml_parse_doc(&domain_parser, xml, len, flags, &d, reterr);

        if (r >= 0)
                *ret = d;
        return r;
}

/* What the model (or libvirt's host-model CPU) carries by itself, as libvirt said: true, false, or -1 unknown. */
static int model_offers(const NvDomainDef *d, int vendor, const char **reason) {
        bool host_model = d->cpu_mode == NV_CPU_MODE_HOST_MODEL;

        if (d->cpu_has[vendor] == NV_YES) {
                *reason = host_model ? _("host-model CPU: libvirt's domain capabilities give it the feature")
                                     : _("the CPU model includes the feature, as libvirt expands it");
                return true;
        }
        if (d->cpu_has[vendor] == NV_NO) {
                *reason = host_model ? _("host-model CPU: libvirt's domain capabilities do not give it vmx/svm")
                                     : _("the CPU model does not include vmx/svm, as libvirt expands it");
                return false;
        }
        if (host_model) { /* libvirt gives host-model what KVM offers, and KVM offers nesting when it is enabled */
                *reason = _("host-model CPU on a host with nested enabled");
                return true;
        }
        *reason = d->has_cpu && d->cpu_model ? _("whether the CPU model includes vmx/svm is unknown: libvirt was not asked or could not say")
                                             : _("no CPU model in the XML: the hypervisor's default decides, and libvirt was not asked");
        return -1;
}

/* The XML's own verdict, then what libvirt said of the model: may the guest see the host vendor's feature? */
static int xml_offers(const NvDomainDef *d, int vendor, const char **reason) {
        int mine = d->feature[vendor];

        if (mine == NV_FEATURE_DISABLE || mine == NV_FEATURE_FORBID) {
                *reason = vendor == NV_FORMAT_SVM ? _("<feature name='svm'> is disabled or forbidden")
                                                  : _("<feature name='vmx'> is disabled or forbidden");
                return false;
        }
        if (d->cpu_mode == NV_CPU_MODE_HOST_PASSTHROUGH || d->cpu_mode == NV_CPU_MODE_MAXIMUM) {
                *reason = _("host-passthrough CPU on a host with nested enabled");
                return true;
        }
        if (mine == NV_FEATURE_REQUIRE || mine == NV_FEATURE_FORCE || mine == NV_FEATURE_OPTIONAL) {
                *reason = _("custom CPU model with the feature required, forced or optional, on a host with nested enabled");
                return true;
        }
        return model_offers(d, vendor, reason);
}

int nv_domain_def_nested_mode(const NvDomainDef *d, const NvHostInfo *host, const char **ret_reason) {
        int vendor = host->cpu_vendor, other, offers;

        if (vendor < 0) {
                *ret_reason = _("the host CPU has neither vmx nor svm");
                return -1;
        }
        other = vendor == NV_FORMAT_VMX ? NV_FORMAT_SVM : NV_FORMAT_VMX;
        if (d->feature[other] == NV_FEATURE_REQUIRE || d->feature[other] == NV_FEATURE_FORCE) {
                *ret_reason = vendor == NV_FORMAT_SVM ? _("the domain asks for vmx but this host is AMD (svm)")
                                                      : _("the domain asks for svm but this host is Intel (vmx)");
                return -1;
        }
        offers = xml_offers(d, vendor, ret_reason);
        if (!offers)
                return -1;
        if (host->nested == NV_NO) {
                *ret_reason = _("the kvm module's nested parameter is off on this host");
                return -1;
        }
        return offers < 0 ? NV_NESTED_MODE_UNKNOWN : vendor;
}

const char *nv_nested_mode_to_string(int mode) {
        if (mode >= 0)
                return nv_format_to_string(mode);
        return mode == NV_NESTED_MODE_UNKNOWN ? "unknown" : "none";
}

int nv_domain_xml_set_meta(const char *xml, size_t len, const NvNestedMeta *meta, char **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr root, md, next;
        xmlChar *out = NULL;
        int r, n = 0;

        r = nv_xml_read(xml, len, "domain XML", &doc, reterr);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!root || strcmp((const char *) root->name, "domain") != 0)
                return nv_error_set(reterr, -EINVAL, _("Not libvirt domain XML: the root element must be <domain>."));
        md = nv_xml_child(root, "metadata");
        if (!md && !(md = xmlNewChild(root, NULL, BAD_CAST "metadata", NULL)))
                return -ENOMEM;
        for (xmlNodePtr c = md->children; c; c = next) {
                next = c->next;
                if (nv_xml_is(c, NV_META_NAMESPACE, "nested")) {
                        xmlUnlinkNode(c);
                        xmlFreeNode(c);
                }
        }
        /* Built into the document: nothing is formatted as text and parsed again. */
        if (meta && (r = nv_nested_meta_format_node(meta, md, reterr)) < 0)
                return r;
        xmlDocDumpFormatMemory(doc, &out, &n, 0);
        if (!out)
                return -ENOMEM;
        *ret = strdup((const char *) out);
        xmlFree(out);
        return *ret ? 0 : -ENOMEM;
}
