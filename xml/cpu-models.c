/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CPU model cache document: each element's parse and format side by side, same attribute order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu-models.h"
#include "nested-state.h"

#ifdef _LINUX_KVM_H
#error "xml/ must not include <linux/kvm.h>"
#endif

#define MAX_LIBVIRT_VERSION 999999999u

static int parse_host(xmlNodePtr root, NvCpuModelsHost *h, NvError **reterr) {
        xmlNodePtr n = nv_xml_child(root, "host");
        int r;

        if (!n)
                return nv_error_set(reterr, -EINVAL, _("element <host> is missing."));
        if ((r = nv_xml_prop_uint(n, "libvirtVersion", MAX_LIBVIRT_VERSION, NV_XML_PROP_REQUIRED, &h->libvirt_version, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "kernelRelease", h->kernel_release, sizeof(h->kernel_release), NV_XML_PROP_REQUIRED,
                                        reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "cpuModel", h->cpu_model, sizeof(h->cpu_model), NV_XML_PROP_REQUIRED, reterr)) < 0 ||
            (r = nv_xml_prop_tristate(n, "nested", NV_XML_PROP_REQUIRED, &h->nested, reterr)) < 0)
                return r;
        return 0;
}

static int format_host(xmlNodePtr root, const NvCpuModelsHost *h) {
        xmlNodePtr n;

        if (nv_xml_new_child(root, "host", &n) < 0 || nv_xml_set_prop_uint(n, "libvirtVersion", h->libvirt_version) < 0 ||
            nv_xml_set_prop(n, "kernelRelease", h->kernel_release) < 0 || nv_xml_set_prop(n, "cpuModel", h->cpu_model) < 0 ||
            nv_xml_set_prop(n, "nested", nv_xml_tristate_to_string(h->nested)) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_model(xmlNodePtr n, NvCpuModel *e, NvError **reterr) {
        int r;

        if ((r = nv_xml_prop_bool(n, "hostModel", NV_XML_PROP_REQUIRED, &e->host_model, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "name", e->name, sizeof(e->name), NV_XML_PROP_OPTIONAL, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "virtType", e->virt_type, sizeof(e->virt_type), NV_XML_PROP_REQUIRED, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "emulator", e->emulator, sizeof(e->emulator), NV_XML_PROP_OPTIONAL, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "emulatorSize", UINT32_MAX, NV_XML_PROP_OPTIONAL, &e->emulator_size, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "emulatorMtime", UINT32_MAX, NV_XML_PROP_OPTIONAL, &e->emulator_mtime, reterr)) < 0 ||
            (r = nv_xml_prop_tristate(n, "vmx", NV_XML_PROP_REQUIRED, &e->has[NV_FORMAT_VMX], reterr)) < 0 ||
            (r = nv_xml_prop_tristate(n, "svm", NV_XML_PROP_REQUIRED, &e->has[NV_FORMAT_SVM], reterr)) < 0)
                return r;
        if (!e->host_model && !e->name[0])
                return nv_error_set(reterr, -EINVAL, _("line %ld: <model hostModel='no'> needs a name."), xmlGetLineNo(n));
        return 0;
}

static int format_model(xmlNodePtr root, const NvCpuModel *e) {
        xmlNodePtr n;

        if (nv_xml_new_child(root, "model", &n) < 0 || nv_xml_set_prop(n, "hostModel", e->host_model ? "yes" : "no") < 0 ||
            nv_xml_set_prop(n, "name", e->name[0] ? e->name : NULL) < 0 || nv_xml_set_prop(n, "virtType", e->virt_type) < 0)
                return -ENOMEM;
        if (e->emulator[0] && (nv_xml_set_prop(n, "emulator", e->emulator) < 0 ||
                               nv_xml_set_prop_uint(n, "emulatorSize", e->emulator_size) < 0 ||
                               nv_xml_set_prop_uint(n, "emulatorMtime", e->emulator_mtime) < 0))
                return -ENOMEM;
        if (nv_xml_set_prop(n, "vmx", nv_xml_tristate_to_string(e->has[NV_FORMAT_VMX])) < 0 ||
            nv_xml_set_prop(n, "svm", nv_xml_tristate_to_string(e->has[NV_FORMAT_SVM])) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_models(xmlNodePtr root, void *def, NvError **reterr) {
        NvCpuModels *m = def;
        int r;

        if (!root || strcmp((const char *) root->name, "nestvirtCpuModels") != 0 || !root->ns ||
            strcmp((const char *) root->ns->href, NV_CPU_MODELS_NAMESPACE) != 0)
                return nv_error_set(reterr, -EINVAL, _("Not a nestvirt CPU model cache: the root must be <nestvirtCpuModels xmlns=\"%s\">."),
                                    NV_CPU_MODELS_NAMESPACE);
        if ((r = parse_host(root, &m->host, reterr)) < 0)
                return nv_error_wrap(reterr, r, _("CPU model cache"));
        for (xmlNodePtr c = root->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "model") != 0)
                        continue;
                if (m->n == NV_CPU_MODELS_MAX)
                        return nv_error_set(reterr, -E2BIG, _("line %ld: more than %d <model> elements."), xmlGetLineNo(c),
                                            NV_CPU_MODELS_MAX);
                if ((r = parse_model(c, &m->models[m->n], reterr)) < 0)
                        return nv_error_wrap(reterr, r, _("CPU model cache"));
                m->n++;
        }
        return 0;
}

static void *alloc_models(void) {
        return calloc(1, sizeof(NvCpuModels));
}

static const NvXmlDocParser models_parser = {
        .name = "CPU model cache",
        .alloc = alloc_models,
        .free = free,
        .parse = parse_models,
};

int nv_cpu_models_parse(const char *buf, size_t len, NvCpuModels **ret, NvError **reterr) {
        void *m;
        int r = nv_xml_parse_doc(&models_parser, buf, len, 0, &m, reterr);

        if (r >= 0)
                *ret = m;
        return r;
}

int nv_cpu_models_format(const NvCpuModels *m, char **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr root;
        int r;

        if ((r = nv_xml_new_doc("nestvirtCpuModels", NV_CPU_MODELS_NAMESPACE, NULL, &doc, reterr)) < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (format_host(root, &m->host) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++)
                if (format_model(root, &m->models[i]) < 0)
                        return -ENOMEM;
        return nv_xml_node_format(root, ret, reterr);
}

static bool same_key(const NvCpuModel *e, bool host_model, const char *name, const char *virt_type, const char *emulator) {
        return e->host_model == host_model && (host_model || strcmp(e->name, name) == 0) &&
               strcmp(e->virt_type, virt_type ?: "") == 0 && strcmp(e->emulator, emulator ?: "") == 0;
}

const NvCpuModel *nv_cpu_models_find(const NvCpuModels *m, bool host_model, const char *name, const char *virt_type,
                                     const char *emulator) {
        for (size_t i = 0; i < m->n; i++)
                if (same_key(&m->models[i], host_model, name, virt_type, emulator))
                        return &m->models[i];
        return NULL;
}

int nv_cpu_models_put(NvCpuModels *m, const NvCpuModel *e) {
        for (size_t i = 0; i < m->n; i++)
                if (same_key(&m->models[i], e->host_model, e->name, e->virt_type, e->emulator)) {
                        m->models[i] = *e;
                        return 0;
                }
        if (m->n == NV_CPU_MODELS_MAX)
                return -E2BIG;
        m->models[m->n++] = *e;
        return 0;
}

void nv_cpu_models_host(const NvHostInfo *h, unsigned libvirt_version, NvCpuModelsHost *ret) {
        *ret = (NvCpuModelsHost) { .libvirt_version = libvirt_version, .nested = h->nested };
        snprintf(ret->kernel_release, sizeof(ret->kernel_release), "%s", h->kernel_release);
        snprintf(ret->cpu_model, sizeof(ret->cpu_model), "%s", h->cpu_model);
}
