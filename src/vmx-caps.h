/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Two hosts' nested VMX capability MSRs compared: what L1 may use on the
 * source that the destination does not offer (allowed-1 settings, EPT/VPID
 * capabilities, VM functions, the flags of IA32_VMX_MISC and _BASIC),
 * controls the destination forces to 1 that the source lets L1 clear
 * (allowed-0 settings), and the numeric fields.  Each difference is named
 * from the table in vmx-features.h.  Pure: no KVM, no I/O.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "validate.h" /* NV_VMX_MSR_COUNT */
#include "vmx-features.h"

NV_BEGIN_DECLS

typedef enum NvVmxCapKind {
        NV_VMX_CAP_LACKS,    /* the source lets L1 set it; the destination does not */
        NV_VMX_CAP_REQUIRES, /* the destination forces the control to 1; the source lets L1 clear it */
        NV_VMX_CAP_FEWER,    /* a count smaller on the destination */
        NV_VMX_CAP_DIFFERS,  /* a value that must be equal is not */
} NvVmxCapKind;

typedef struct NvVmxCapDiff {
        NvVmxCapKind kind;
        VmxWord word;
        unsigned bit;       /* LACKS, REQUIRES: the control's or capability's bit (see VMX_FEATURES) */
        const char *qemu;   /* its vmx-* name; NULL: QEMU and libvirt have none */
        const char *intel;  /* Intel's name (of the field, for FEWER and DIFFERS); NULL: a bit the table lacks */
        uint64_t src, dst;  /* FEWER, DIFFERS: the two values */
} NvVmxCapDiff;

/* The rows of VMX_FEATURES, in its order. */
typedef struct NvVmxFeature {
        VmxWord word;
        unsigned bit;
        const char *qemu, *intel;
} NvVmxFeature;

extern const NvVmxFeature nv_vmx_features[];
extern const size_t nv_vmx_n_features;

/*
 * Every difference that stops L1 from moving from src to dst (both the 18
 * MSRs IA32_VMX_BASIC .. IA32_VMX_VMFUNC), at most max of them into ret,
 * in VmxWord order.  Each host's controls are read from its TRUE_ MSRs
 * when its IA32_VMX_BASIC says they exist; secondary controls count only
 * where the primary ones can activate them, VM functions only with
 * "enable VM functions", EPT and VPID capabilities only with "enable EPT"
 * and "enable VPID" (what QEMU's feature dependencies do as well).
 * Returns how many differences there are (may exceed max).
 */
size_t nv_vmx_caps_compare(const uint64_t src[NV_VMX_MSR_COUNT], const uint64_t dst[NV_VMX_MSR_COUNT], NvVmxCapDiff *ret,
                           size_t max);

/* The word's short id, as --json and docs/vmx-controls.md spell it: "pin", "primary", "secondary", ... */
const char *nv_vmx_word_id(VmxWord word);
/* The kind as --json spells it: "lacks", "forces", "fewer", "differs". */
const char *nv_vmx_cap_kind_id(NvVmxCapKind kind);

/* The word's name in Intel's terms ("secondary processor-based VM-execution control"), translated. */
const char *nv_vmx_word_name(VmxWord word);

NV_END_DECLS
