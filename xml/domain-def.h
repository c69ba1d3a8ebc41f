/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parts of libvirt domain XML nestvirt reads: name, uuid, vCPU count,
 * <cpu> mode/match/check and the vmx/svm feature policies, and our element
 * in <metadata>.  Combined with the host, they give the effective nested
 * mode (vmx, svm or none) and the reason for it.
 */
#pragma once

#include "host.h"
#include "nested-meta.h"

typedef enum NvCpuMode {
        NV_CPU_MODE_CUSTOM,
        NV_CPU_MODE_HOST_MODEL,
        NV_CPU_MODE_HOST_PASSTHROUGH,
        NV_CPU_MODE_MAXIMUM,
        _NV_CPU_MODE_MAX,
        _NV_CPU_MODE_INVALID = -EINVAL,
} NvCpuMode;

typedef enum NvFeaturePolicy {
        NV_FEATURE_FORCE,
        NV_FEATURE_REQUIRE,
        NV_FEATURE_OPTIONAL,
        NV_FEATURE_DISABLE,
        NV_FEATURE_FORBID,
        _NV_FEATURE_POLICY_MAX,
        _NV_FEATURE_POLICY_INVALID = -EINVAL,
} NvFeaturePolicy;

typedef struct NvDomainDef {
        char *name;
        char uuid[37];
        unsigned vcpus;         /* <vcpu> */
        unsigned vcpus_current; /* <vcpu current=...>, else vcpus */
        bool has_cpu;           /* a <cpu> element exists */
        int cpu_mode;           /* NvCpuMode */
        char *cpu_model;        /* <cpu><model>, NULL if none */
        char *cpu_match;        /* as written, NULL if absent */
        char *cpu_check;
        int feature[2];         /* NvFeaturePolicy of vmx [NV_FORMAT_VMX] and svm [NV_FORMAT_SVM], -1 absent */
        char *virt_type;        /* <domain type=...>: kvm, qemu, test; NULL if absent */
        char *arch;             /* <os><type arch=...>, NULL if absent */
        char *emulator;         /* <devices><emulator>, NULL if absent */
        /*
         * Whether the CPU model (or libvirt's host-model CPU) includes vmx
         * [NV_FORMAT_VMX] and svm [NV_FORMAT_SVM] by itself, as libvirt
         * expands it; NV_UNKNOWN until someone asked libvirt (the parse
         * cannot know: it is not in the XML).
         */
        NvTristate cpu_has[2];
        NvNestedMeta *meta;     /* our element, NULL if the domain has none */
} NvDomainDef;

NvDomainDef *nv_domain_def_free(NvDomainDef *def);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvDomainDef *, nv_domain_def_free);

const char *nv_cpu_mode_to_string(int v);
int nv_cpu_mode_from_string(const char *s);
const char *nv_feature_policy_to_string(int v);
int nv_feature_policy_from_string(const char *s);

/*
 * The parse entry for a domain's XML as libvirt returns it.  Refuses what
 * libvirt would never produce (no name, bad uuid, vcpu out of range) with
 * the element named; our metadata element goes through its parse,
 * post_parse and (unless flags has NV_XML_PARSE_SKIP_VALIDATE) validate
 * passes.  *ret only on success.
 */
int nv_domain_def_parse(const char *xml, size_t len, unsigned flags, NvDomainDef **ret, NvError **reterr);

/* nv_domain_def_nested_mode(): the XML and what libvirt said (cpu_has) do not tell. */
#define NV_NESTED_MODE_UNKNOWN (-2)

/*
 * The nested mode the domain gets on this host: NV_FORMAT_VMX/SVM, -1 for
 * none, or NV_NESTED_MODE_UNKNOWN when it depends on what the CPU model
 * carries and def->cpu_has does not say; with a sentence saying why in
 * *ret_reason (static, translated).
 */
int nv_domain_def_nested_mode(const NvDomainDef *def, const NvHostInfo *host, const char **ret_reason);
/* A mode as list and dominfo print it: "vmx", "svm", "none" or "unknown". */
const char *nv_nested_mode_to_string(int mode);

/*
 * Returns domain XML with our metadata element replaced by meta (added if
 * absent; removed if meta is NULL), everything else as it was.  This is how
 * a migratable XML carries the nested state, and how the hook rewrites it.
 */
int nv_domain_xml_set_meta(const char *xml, size_t len, const NvNestedMeta *meta, char **ret, NvError **reterr);
