/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nested-state blob model: exactly the bytes of struct kvm_nested_state
 * as KVM returns them (128-byte header + data region, little-endian).
 * This module only decodes; it never includes <linux/kvm.h>, so that the
 * model can be used (and fuzzed) on any machine.  kvm.c asserts that the
 * constants below equal the kernel's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

NV_BEGIN_DECLS

#define NV_NESTED_HDR_SIZE 128u
#define NV_VMCS12_AREA_SIZE 4096u   /* KVM_STATE_NESTED_VMX_VMCS_SIZE */
#define NV_VMCS12_STRUCT_SIZE 998u  /* sizeof(struct vmcs12), packed */
#define NV_VMCB12_AREA_SIZE 4096u   /* KVM_STATE_NESTED_SVM_VMCB_SIZE */
#define NV_VMX_MAX_SIZE (NV_NESTED_HDR_SIZE + 2 * NV_VMCS12_AREA_SIZE) /* 8320 */
#define NV_SVM_MAX_SIZE (NV_NESTED_HDR_SIZE + NV_VMCB12_AREA_SIZE)     /* 4224 */
#define NV_NESTED_MAX_SIZE NV_VMX_MAX_SIZE
#define NV_VMCS12_REVISION 0x11E57ED0u
#define NV_GPA_INVALID UINT64_MAX

typedef enum NvFormat {
        NV_FORMAT_VMX = 0,
        NV_FORMAT_SVM = 1,
        _NV_FORMAT_MAX,
        _NV_FORMAT_INVALID = -EINVAL,
} NvFormat;

/* struct kvm_nested_state.flags */
#define NV_NESTED_GUEST_MODE 0x0001u
#define NV_NESTED_RUN_PENDING 0x0002u
#define NV_NESTED_EVMCS 0x0004u
#define NV_NESTED_MTF_PENDING 0x0008u
#define NV_NESTED_GIF_SET 0x0100u
#define NV_NESTED_FLAGS_KNOWN 0x010Fu /* the mask x86.c accepts */
/* hdr.vmx.smm.flags */
#define NV_SMM_GUEST_MODE 0x0001u
#define NV_SMM_VMXON 0x0002u
/* hdr.vmx.flags */
#define NV_VMX_PREEMPTION_TIMER_DEADLINE 0x0001u

/* Blob offsets of the header fields. */
#define NV_OFF_FLAGS 0x00
#define NV_OFF_FORMAT 0x02
#define NV_OFF_SIZE 0x04
#define NV_OFF_VMXON_PA 0x08
#define NV_OFF_VMCS12_PA 0x10
#define NV_OFF_SMM_FLAGS 0x18
#define NV_OFF_VMX_PAD 0x1A
#define NV_OFF_VMX_FLAGS 0x1C
#define NV_OFF_PREEMPT_DEADLINE 0x20
#define NV_OFF_VMCB_PA 0x08
#define NV_OFF_DATA 0x80

/* The decoded header, in host byte order. */
typedef struct NvNestedHeader {
        uint16_t flags;
        uint16_t format;
        uint32_t size;
        struct {
                uint64_t vmxon_pa;
                uint64_t vmcs12_pa;
                uint16_t smm_flags;
                uint16_t pad;
                uint32_t flags;
                uint64_t preemption_timer_deadline;
        } vmx;
        struct {
                uint64_t vmcb_pa;
        } svm;
} NvNestedHeader;

/*
 * Decodes the 128-byte header of blob (len bytes available).  Checks only
 * what is needed to decode: len >= 128.  Semantic checks are the
 * validator's.  ret is written only on success.
 * Returns 0, or -EINVAL (too short) with a message in reterr.
 */
int nv_nested_header_parse(const void *blob, size_t len, NvNestedHeader *ret, NvError **reterr);

/* Encodes h into the first 128 bytes of buf (bytes not in the model are zeroed). */
void nv_nested_header_format(const NvNestedHeader *h, void *buf);

/* "vmx" / "svm" and back; NULL / -EINVAL for unknown values. */
const char *nv_format_to_string(int format);
int nv_format_from_string(const char *s);

/*
 * Writes the static names of the known set flags ("GUEST_MODE", "GIF_SET",
 * ...) into names[0..max) and returns how many were written.  Bits outside
 * NV_NESTED_FLAGS_KNOWN have no name; callers print the raw value too.
 */
size_t nv_nested_flag_names(uint16_t flags, const char **names, size_t max);

/* Parses one flag name; -EINVAL if unknown. */
int nv_nested_flag_from_string(const char *s);

/* The largest blob KVM can return for this format (8320 / 4224), 0 if unknown. */
uint32_t nv_format_max_size(int format);

/* One raw blob: exactly the bytes of struct kvm_nested_state as KVM returned them. */
typedef struct NvBlob {
        uint8_t *data;
        size_t len;
} NvBlob;

/* Frees b->data and empties b. */
void nv_blob_clear(NvBlob *b);

/*
 * Checks that buf is a well-formed raw blob on its own: 128..8320 bytes,
 * the header's size field equal to len, a known format.  This is the
 * framing only; what KVM would accept is the validator's question.
 */
int nv_raw_blob_check(const void *buf, size_t len, NvError **reterr);

/*
 * The format field (offset 2) of a blob of len bytes, as stored (NV_FORMAT_VMX,
 * NV_FORMAT_SVM, or any other 16-bit value); -EINVAL if len cannot hold it.
 * The one reading of the field: the header parser and every caller use it.
 */
int nv_blob_format(const void *blob, size_t len);

/* Whether a framed blob's header has GUEST_MODE set (an L2 guest was running). */
bool nv_blob_guest_mode(const NvBlob *b);

static inline bool nv_nested_guest_mode(const NvNestedHeader *h) {
        return h->flags & NV_NESTED_GUEST_MODE;
}

NV_END_DECLS
