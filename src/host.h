/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host probe: what this machine can do for nested virtualization.
 * Reads files below a root directory ("/" on a host) so that tests can
 * hand it a fake tree instead of the machine's own state.
 */
#pragma once

#include <stdbool.h>

#include "validate.h"

NV_BEGIN_DECLS

/* Declared, not included: xml/ reads NvHostInfo and must not see <linux/kvm.h>. */
typedef struct NvKvm NvKvm;

typedef struct NvHostInfo {
        char kernel_release[128];    /* proc/sys/kernel/osrelease */
        int cpu_vendor;              /* NV_FORMAT_VMX (Intel, "vmx" flag), NV_FORMAT_SVM ("svm"), or -1 */
        char cpu_model[128];         /* "model name" of the first CPU */
        bool kvm_device;             /* the KVM device exists */
        int api_version;             /* KVM_GET_API_VERSION, 0 if not opened */
        NvTristate nested;           /* kvm_intel Y/N or kvm_amd 1/0; unknown if no module */
        int nested_state_max;        /* KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE); 0 if none */
        const char *backend;         /* "kvm", "simulated" or "none" */
} NvHostInfo;

/*
 * Probes the host below root (NULL: "/").  kvm, if non-NULL, is the handle
 * whose backend's facts win over the files (the capability, the backend's
 * name, and all a simulated host models instead of this machine's);
 * otherwise root's dev/kvm is opened for the probe.  Missing files are not
 * errors: what cannot be learnt stays unknown.  Returns 0, or -ENOMEM.
 */
int nv_host_probe(const char *root, NvKvm *kvm, NvHostInfo *ret, NvError **reterr);

/* Parses a nested= module parameter: "Y"/"1" yes, "N"/"0" no, else unknown. */
NvTristate nv_host_parse_nested_param(const char *value);

NV_END_DECLS
