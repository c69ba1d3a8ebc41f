/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Field tables for the data region of a nested-state blob: vmcs12 fields by
 * VMCS name and encoding (Intel SDM appendix B; layout from KVM's frozen,
 * packed struct vmcs12) and vmcb12 control/save fields (AMD APM layout).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

NV_BEGIN_DECLS

#define NV_FIELD_NO_ENCODING UINT32_MAX

typedef struct NvField {
        const char *name;  /* "GUEST_RIP", "control.asid", "save.efer" */
        uint32_t encoding; /* VMCS field encoding; NV_FIELD_NO_ENCODING for vmcb12 */
        uint16_t offset;   /* within vmcs12 / vmcb12 (add 0x80 for the blob offset) */
        uint8_t width;     /* bytes: 1, 2, 4 or 8 */
        bool key;          /* shown by default by `inspect` */
} NvField;

/* The whole table for a format (NV_FORMAT_VMX / NV_FORMAT_SVM); NULL if unknown. */
const NvField *nv_fields_table(int format, size_t *ret_n);

/*
 * Finds a field by name (case-insensitive) or, for VMX, by its encoding
 * written as hex ("0x681e").  Returns NULL if not found.
 */
const NvField *nv_fields_lookup(int format, const char *key);

/*
 * Reads field f from blob (len bytes) of the given format.  shadow selects
 * the shadow vmcs12 (VMX only).  Returns 0, -ENODATA if the blob has no data
 * region there (not in guest mode / no vmcs12), -EINVAL for shadow on SVM.
 */
int nv_fields_read(const void *blob, size_t len, const NvField *f, bool shadow, uint64_t *ret, NvError **reterr);

NV_END_DECLS
