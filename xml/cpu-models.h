/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What libvirt said each guest CPU model carries (vmx, svm), kept for the
 * libvirt hook, which must not call libvirt.  nestvirtd and the CLI write
 * it (STATE_DIR/cpu-models.xml) after asking libvirt; the hook reads it.
 * The document names the host it was learnt on (libvirt version, kernel,
 * CPU, the kvm module's nested parameter) and, per model, the emulator
 * binary (size and mtime), so that an answer from before an upgrade is
 * recognised as stale rather than believed.  Schema:
 * data/schemas/nestvirt-cpu-models.rng.
 */
#pragma once

#include "cpu-def.h"
#include "host.h"

#define NV_CPU_MODELS_NAMESPACE "http://nestvirt.org/schemas/cpu-models/1.0"
#define NV_CPU_MODELS_MAX 256
#define NV_EMULATOR_PATH_MAX 256

typedef struct NvCpuModelsHost {
        unsigned libvirt_version; /* virGetVersion(): major * 1000000 + minor * 1000 + micro */
        char kernel_release[128];
        char cpu_model[128];
        NvTristate nested;
} NvCpuModelsHost;

typedef struct NvCpuModel {
        bool host_model;                    /* libvirt's host-model CPU (name is its model) */
        char name[NV_CPU_NAME_MAX];         /* the model; "" for a host-model CPU libvirt names no model for */
        char virt_type[16];                 /* the domain type libvirt was asked for: kvm, qemu */
        char emulator[NV_EMULATOR_PATH_MAX]; /* "" for libvirt's default */
        unsigned emulator_size, emulator_mtime;
        NvTristate has[2];                  /* vmx [NV_FORMAT_VMX], svm [NV_FORMAT_SVM] */
} NvCpuModel;

typedef struct NvCpuModels {
        NvCpuModelsHost host;
        size_t n;
        NvCpuModel models[NV_CPU_MODELS_MAX];
} NvCpuModels;

/* The parse entry (a file in the state directory: bounded all the same); *ret (freed with free()) only on success. */
int nv_cpu_models_parse(const char *buf, size_t len, NvCpuModels **ret, NvError **reterr);
int nv_cpu_models_format(const NvCpuModels *m, char **ret, NvError **reterr);

/* The entry for this model (name NULL: host-model), or NULL. */
const NvCpuModel *nv_cpu_models_find(const NvCpuModels *m, bool host_model, const char *name, const char *virt_type,
                                     const char *emulator);
/* Adds or replaces the entry with e's key; -E2BIG when full. */
int nv_cpu_models_put(NvCpuModels *m, const NvCpuModel *e);
/* The host facts a cache is valid for, from the host probe and libvirt's version. */
void nv_cpu_models_host(const NvHostInfo *h, unsigned libvirt_version, NvCpuModelsHost *ret);
