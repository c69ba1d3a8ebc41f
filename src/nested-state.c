/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoding and encoding of the kvm_nested_state header. */
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "macro.h"
#include "nested-state.h"
#include "util.h"

NV_DEFINE_STRING_TABLE(nv_format, [NV_FORMAT_VMX] = "vmx", [NV_FORMAT_SVM] = "svm")

static const struct {
        uint16_t bit;
        const char *name;
} flag_table[] = {
        { NV_NESTED_GUEST_MODE, "GUEST_MODE" },   { NV_NESTED_RUN_PENDING, "RUN_PENDING" },
        { NV_NESTED_EVMCS, "EVMCS" },             { NV_NESTED_MTF_PENDING, "MTF_PENDING" },
        { NV_NESTED_GIF_SET, "GIF_SET" },
};

uint32_t nv_format_max_size(int format) {
        switch (format) {
        case NV_FORMAT_VMX:
                return NV_VMX_MAX_SIZE;
        case NV_FORMAT_SVM:
                return NV_SVM_MAX_SIZE;
        default:
                return 0;
        }
}

size_t nv_nested_flag_names(uint16_t flags, const char **names, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(flag_table) && n < max; i++)
                if (flags & flag_table[i].bit)
                        names[n++] = flag_table[i].name;
        return n;
}

int nv_nested_flag_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(flag_table); i++)
                if (s && strcmp(s, flag_table[i].name) == 0)
                        return flag_table[i].bit;
        return -EINVAL;
}

int nv_nested_header_parse(const void *blob, size_t len, NvNestedHeader *ret, NvError **reterr) {
        const uint8_t *b = blob;
        NvNestedHeader h = {};

        if (!blob || len < NV_NESTED_HDR_SIZE)
                return nv_error_set(reterr, -EINVAL,
                                    _("Nested state is %zu bytes, shorter than the %u-byte kvm_nested_state header."),
                                    blob ? len : 0, NV_NESTED_HDR_SIZE);
        h.flags = get_le16(b + NV_OFF_FLAGS);
        h.format = (uint16_t) nv_blob_format(b, len);
        h.size = get_le32(b + NV_OFF_SIZE);
        /* The header is a union: decode both views, the format says which one counts. */
        h.vmx.vmxon_pa = get_le64(b + NV_OFF_VMXON_PA);
        h.vmx.vmcs12_pa = get_le64(b + NV_OFF_VMCS12_PA);
        h.vmx.smm_flags = get_le16(b + NV_OFF_SMM_FLAGS);
        h.vmx.pad = get_le16(b + NV_OFF_VMX_PAD);
        h.vmx.flags = get_le32(b + NV_OFF_VMX_FLAGS);
        h.vmx.preemption_timer_deadline = get_le64(b + NV_OFF_PREEMPT_DEADLINE);
        h.svm.vmcb_pa = get_le64(b + NV_OFF_VMCB_PA);
        *ret = h;
        return 0;
}

void nv_nested_header_format(const NvNestedHeader *h, void *buf) {
        uint8_t *b = buf;

        memset(b, 0, NV_NESTED_HDR_SIZE);
        put_le16(b + NV_OFF_FLAGS, h->flags);
        put_le16(b + NV_OFF_FORMAT, h->format);
        put_le32(b + NV_OFF_SIZE, h->size);
        if (h->format == NV_FORMAT_SVM) {
                put_le64(b + NV_OFF_VMCB_PA, h->svm.vmcb_pa);
                return;
        }
        put_le64(b + NV_OFF_VMXON_PA, h->vmx.vmxon_pa);
        put_le64(b + NV_OFF_VMCS12_PA, h->vmx.vmcs12_pa);
        put_le16(b + NV_OFF_SMM_FLAGS, h->vmx.smm_flags);
        put_le16(b + NV_OFF_VMX_PAD, h->vmx.pad);
        put_le32(b + NV_OFF_VMX_FLAGS, h->vmx.flags);
        put_le64(b + NV_OFF_PREEMPT_DEADLINE, h->vmx.preemption_timer_deadline);
}

void nv_blob_clear(NvBlob *b) {
        free(b->data);
        *b = (NvBlob) {};
}

int nv_raw_blob_check(const void *buf, size_t len, NvError **reterr) {
        NvNestedHeader h;
        int r;

        if (len > NV_NESTED_MAX_SIZE)
                return nv_error_set(reterr, -EINVAL, _("A raw nested-state blob is at most %u bytes; this one has %zu."),
                                    NV_NESTED_MAX_SIZE, len);
        r = nv_nested_header_parse(buf, len, &h, reterr);
        if (r < 0)
                return r;
        if (h.size != len)
                return nv_error_set(reterr, -EINVAL, _("The blob's header says %u bytes (offset 4) but it has %zu."), h.size, len);
        if (!nv_format_to_string(h.format))
                return nv_error_set(reterr, -EINVAL, _("Unknown nested-state format %u at offset 2 (0 is VMX, 1 is SVM)."), h.format);
        return 0;
}

int nv_blob_format(const void *blob, size_t len) {
        if (!blob || len < NV_OFF_FORMAT + sizeof(uint16_t))
                return -EINVAL;
        return get_le16((const uint8_t *) blob + NV_OFF_FORMAT);
}

bool nv_blob_guest_mode(const NvBlob *b) {
        return b->len >= NV_NESTED_HDR_SIZE && (get_le16(b->data) & NV_NESTED_GUEST_MODE);
}
