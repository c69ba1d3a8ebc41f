/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A guest CPU as libvirt writes it: a model and feature lines with their
 * policies.  Read from a domain's <cpu>, from what
 * virConnectBaselineHypervisorCPU returns, and from the host-model mode of
 * libvirt's domain capabilities (this host's, or another host's copy for
 * migrate-check: untrusted, so every count and length is bounded).
 * Written back as a <cpu> that libvirt's CPU APIs accept.
 */
#pragma once

#include "domain-def.h"
#include "xml-util.h"

#define NV_CPU_MAX_FEATURES 1024
#define NV_CPU_NAME_MAX 64

typedef struct NvCpuFeature {
        char name[NV_CPU_NAME_MAX];
        int policy; /* NvFeaturePolicy */
} NvCpuFeature;

typedef struct NvCpuDef {
        char model[NV_CPU_NAME_MAX]; /* "" if none */
        char vendor[NV_CPU_NAME_MAX];
        size_t n_features;
        NvCpuFeature features[NV_CPU_MAX_FEATURES];
} NvCpuDef;

/* Reads a <cpu> element (a domain's, or libvirt's baseline) into a new def; *ret only on success. */
int nv_cpu_def_parse_node(xmlNodePtr cpu, NvCpuDef **ret, NvError **reterr);
/* The <cpu> element of a <cpu> document (baseline's answer) or of a <domain>. */
int nv_cpu_def_parse(const char *xml, size_t len, NvCpuDef **ret, NvError **reterr);
/*
 * The host-model CPU of a domain capabilities document.  Returns 0 and
 * *ret, or -ENOENT when libvirt says host-model is not supported there.
 */
int nv_cpu_def_parse_domcaps(const char *xml, size_t len, NvCpuDef **ret, NvError **reterr);
/* def as <cpu mode='custom' match='exact'> for libvirt's CPU APIs; *ret is freed with free(). */
int nv_cpu_def_format(const NvCpuDef *def, char **ret, NvError **reterr);

/* The policy of feature name in def, or -1 if it has no line for it. */
int nv_cpu_def_policy(const NvCpuDef *def, const char *name);
