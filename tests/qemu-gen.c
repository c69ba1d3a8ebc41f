/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test generator for QEMU streams with nested state.  QEMU under TCG
 * (all this machine can run) never writes the cpu/nested_state subsection,
 * so the tests take a real stream QEMU wrote and write into it what QEMU
 * on KVM writes for a vCPU with nested state (target/i386/machine.c,
 * QEMU 7.2), from a raw struct kvm_nested_state:
 *
 *   - the subsection cpu/nested_state (v1), if QEMU would send one (VMXON,
 *     or SVM state beyond the header), at the end of that vCPU's cpu
 *     section, before its footer: flags, format, size (BE), then
 *     cpu/kvm_nested_state/vmx (vmxon_pa, vmcs12_pa, smm.flags; then
 *     .../vmx/vmcs12 and .../vmx/shadow_vmcs12 as the size covers them) or
 *     cpu/kvm_nested_state/svm (vmcb_pa, vmcb12), as QEMU's "needed"
 *     functions decide.  QEMU's loader finds subsections by name, so the
 *     position among the other cpu subsections does not matter to it;
 *   - hflags' HF_GUEST and hflags2's GIF as the blob's flags say, and
 *     EFER.SVME for an SVM blob, since QEMU keeps those in the cpu fields;
 *   - the same subsection in the layout description (vmdesc), whose length
 *     is rewritten.
 * The input may be a bare stream or an uncompressed libvirt save image.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "macro.h"
#include "qemu-gen.h"
#include "x86-arch.h"

typedef struct Buf {
        uint8_t *p;
        size_t len, cap;
} Buf;

static int put(Buf *b, const void *p, size_t n) {
        if (b->len + n > b->cap) {
                size_t cap = (b->len + n) * 2;
                uint8_t *q = realloc(b->p, cap);
                if (!q)
                        return -ENOMEM;
                b->p = q;
                b->cap = cap;
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
        return 0;
}

static int put_be(Buf *b, uint64_t v, unsigned width) {
        uint8_t x[8];

        for (unsigned i = 0; i < width; i++)
                x[i] = (uint8_t) (v >> (8 * (width - 1 - i)));
        return put(b, x, width);
}

static int put_subsection(Buf *b, const char *name) {
        uint8_t t = 0x05, n = (uint8_t) strlen(name);
        int r = put(b, &t, 1);

        if (r >= 0)
                r = put(b, &n, 1);
        if (r >= 0)
                r = put(b, name, n);
        return r < 0 ? r : put_be(b, 1, 4);
}

static json_object *field(const char *name, const char *type, int size, int array_len) {
        json_object *f = json_object_new_object();

        json_object_object_add(f, "name", json_object_new_string(name));
        if (array_len)
                json_object_object_add(f, "array_len", json_object_new_int(array_len));
        json_object_object_add(f, "type", json_object_new_string(type));
        json_object_object_add(f, "size", json_object_new_int(size));
        return f;
}

static json_object *desc(const char *vmsd, json_object *fields, json_object *subs) {
        json_object *d = json_object_new_object();

        json_object_object_add(d, "vmsd_name", json_object_new_string(vmsd));
        json_object_object_add(d, "version", json_object_new_int(1));
        json_object_object_add(d, "fields", fields);
        if (subs)
                json_object_object_add(d, "subsections", subs);
        return d;
}

static json_object *fields(json_object *a, json_object *b, json_object *c) {
        json_object *arr = json_object_new_array();

        json_object_array_add(arr, a);
        if (b)
                json_object_array_add(arr, b);
        if (c)
                json_object_array_add(arr, c);
        return arr;
}

/* One vCPU's subsection bytes and their description, from a raw blob. */
static int nested_subsection(const NvBlob *blob, Buf *b, json_object **ret_desc) {
        uint16_t flags = get_le16(blob->data), format = get_le16(blob->data + 2);
        uint32_t size = get_le32(blob->data + 4);
        size_t start = b->len;
        json_object *subs = json_object_new_array(), *inner;
        int r = put_subsection(b, "cpu/nested_state");

        r = r < 0 ? r : put_be(b, flags, 2);
        r = r < 0 ? r : put_be(b, format, 2);
        r = r < 0 ? r : put_be(b, size, 4);
        if (r >= 0 && format == NV_FORMAT_VMX && get_le64(blob->data + NV_OFF_VMXON_PA) != NV_GPA_INVALID) {
                json_object *vsubs = json_object_new_array();
                r = put_subsection(b, "cpu/kvm_nested_state/vmx");
                for (unsigned off = NV_OFF_VMXON_PA; r >= 0 && off <= NV_OFF_VMCS12_PA; off += 8)
                        r = put_be(b, get_le64(blob->data + off), 8);
                r = r < 0 ? r : put_be(b, get_le16(blob->data + NV_OFF_SMM_FLAGS), 2);
                if (r >= 0 && size > NV_OFF_DATA && blob->len >= NV_OFF_DATA + NV_VMCS12_AREA_SIZE) {
                        r = put_subsection(b, "cpu/kvm_nested_state/vmx/vmcs12");
                        r = r < 0 ? r : put(b, blob->data + NV_OFF_DATA, NV_VMCS12_AREA_SIZE);
                        json_object_array_add(vsubs, desc("cpu/kvm_nested_state/vmx/vmcs12",
                                                          fields(field("data.vmx[0].vmcs12", "uint8", 1, 4096), NULL, NULL), NULL));
                }
                if (r >= 0 && size > NV_OFF_DATA + NV_VMCS12_AREA_SIZE && blob->len >= NV_VMX_MAX_SIZE) {
                        r = put_subsection(b, "cpu/kvm_nested_state/vmx/shadow_vmcs12");
                        r = r < 0 ? r : put(b, blob->data + NV_OFF_DATA + NV_VMCS12_AREA_SIZE, NV_VMCS12_AREA_SIZE);
                        json_object_array_add(vsubs, desc("cpu/kvm_nested_state/vmx/shadow_vmcs12",
                                                          fields(field("data.vmx[0].shadow_vmcs12", "uint8", 1, 4096), NULL, NULL), NULL));
                }
                json_object_array_add(subs, desc("cpu/kvm_nested_state/vmx",
                                                 fields(field("hdr.vmx.vmxon_pa", "uint64", 8, 0), field("hdr.vmx.vmcs12_pa", "uint64", 8, 0),
                                                        field("hdr.vmx.smm.flags", "uint16", 2, 0)),
                                                 vsubs));
        }
        if (r >= 0 && format == NV_FORMAT_SVM && size > NV_OFF_DATA && blob->len >= NV_SVM_MAX_SIZE) {
                r = put_subsection(b, "cpu/kvm_nested_state/svm");
                r = r < 0 ? r : put_be(b, get_le64(blob->data + NV_OFF_VMCB_PA), 8);
                r = r < 0 ? r : put(b, blob->data + NV_OFF_DATA, NV_VMCB12_AREA_SIZE);
                json_object_array_add(subs, desc("cpu/kvm_nested_state/svm",
                                                 fields(field("hdr.svm.vmcb_pa", "uint64", 8, 0), field("data.svm[0].vmcb12", "uint8", 1, 4096), NULL),
                                                 NULL));
        }
        inner = json_object_new_object();
        json_object_object_add(inner, "name", json_object_new_string("env.nested_state"));
        json_object_object_add(inner, "type", json_object_new_string("struct"));
        json_object_object_add(inner, "struct", desc("cpu/kvm_nested_state",
                                                     fields(field("flags", "uint16", 2, 0), field("format", "uint16", 2, 0), field("size", "uint32", 4, 0)),
                                                     subs));
        /* The struct's size: what was written for it, i.e. all but the subsection's own header. */
        json_object_object_add(inner, "size", json_object_new_int((int) (b->len - start - 2 - strlen("cpu/nested_state") - 4)));
        *ret_desc = desc("cpu/nested_state", fields(inner, NULL, NULL), NULL);
        return r;
}

/* QEMU's nested_state_needed(): a vmx subsection (VMXON) or an svm one (data beyond the header) to send. */
static bool needed(const NvBlob *blob) {
        uint16_t format = get_le16(blob->data + 2);
        uint32_t size = get_le32(blob->data + 4);

        if (format == NV_FORMAT_VMX)
                return get_le64(blob->data + NV_OFF_VMXON_PA) != NV_GPA_INVALID;
        return format == NV_FORMAT_SVM && size > NV_OFF_DATA;
}

static void patch_be(uint8_t *p, uint64_t set, uint64_t clear, unsigned width) {
        uint64_t v = 0;

        for (unsigned i = 0; i < width; i++)
                v = v << 8 | p[i];
        v = (v & ~clear) | set;
        for (unsigned i = 0; i < width; i++)
                p[i] = (uint8_t) (v >> (8 * (width - 1 - i)));
}

/* hflags, hflags2 and EFER as QEMU on KVM would have them for this blob. */
static void patch_cpu(uint8_t *out, const NvQemuVcpu *v, const NvBlob *blob) {
        uint16_t flags = get_le16(blob->data);
        bool svm = get_le16(blob->data + 2) == NV_FORMAT_SVM;

        patch_be(out + v->off_hflags, flags & NV_NESTED_GUEST_MODE ? NV_QEMU_HF_GUEST : 0, NV_QEMU_HF_GUEST, 4);
        if (svm) {
                patch_be(out + v->off_hflags2, flags & NV_NESTED_GIF_SET ? NV_QEMU_HF2_GIF : 0, NV_QEMU_HF2_GIF, 4);
                patch_be(out + v->off_efer, X86_EFER_SVME, 0, 8);
        }
}

/* The cpu device of vCPU index in the description. */
static json_object *cpu_desc(json_object *vmdesc, uint32_t index) {
        json_object *devs = json_object_object_get(vmdesc, "devices");

        for (size_t i = 0; i < json_object_array_length(devs); i++) {
                json_object *d = json_object_array_get_idx(devs, i);
                if (strcmp(json_object_get_string(json_object_object_get(d, "name")), "cpu") == 0 &&
                    json_object_get_int64(json_object_object_get(d, "instance_id")) == (int64_t) index)
                        return d;
        }
        return NULL;
}

int qemu_gen_nested(const uint8_t *in, size_t len, const NvBlob *blobs, size_t n_blobs, uint8_t **ret, size_t *ret_len) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        json_object *vmdesc;
        const char *js;
        Buf out = {};
        size_t at = 0, desc_len;
        int r;

        r = nv_qemu_image_parse(in, len, &img, NULL);
        if (r < 0)
                return r;
        {
                json_tokener *tok = json_tokener_new();
                if (!tok)
                        return -ENOMEM;
                vmdesc = json_tokener_parse_ex(tok, (const char *) in + img->off_vmdesc + 5, (int) (len - img->off_vmdesc - 5));
                json_tokener_free(tok);
        }
        if (!vmdesc)
                return -EBADMSG;
        for (size_t i = 0; i < img->n_vcpus && r >= 0; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];
                const NvBlob *blob = i < n_blobs && blobs[i].data ? &blobs[i] : NULL;
                json_object *d, *subs, *sd = NULL;
                size_t from = out.len;

                if (!blob)
                        continue;
                r = put(&out, in + at, (size_t) v->off_section_end - at);
                if (r < 0)
                        break;
                patch_cpu(out.p + from - at, v, blob);
                at = (size_t) v->off_section_end;
                if (!needed(blob))
                        continue; /* QEMU sends no subsection: only the cpu fields tell */
                r = nested_subsection(blob, &out, &sd);
                d = cpu_desc(vmdesc, v->index);
                if (!d || !sd) {
                        json_object_put(sd);
                        r = -EBADMSG;
                        break;
                }
                if (!json_object_object_get_ex(d, "subsections", &subs)) {
                        subs = json_object_new_array();
                        json_object_object_add(d, "subsections", subs);
                }
                json_object_array_add(subs, sd);
        }
        js = json_object_to_json_string_ext(vmdesc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        desc_len = strlen(js);
        if (r >= 0)
                r = put(&out, in + at, (size_t) img->off_vmdesc + 1 - at);
        if (r >= 0)
                r = put_be(&out, desc_len, 4);
        if (r >= 0)
                r = put(&out, js, desc_len);
        json_object_put(vmdesc);
        if (r < 0) {
                free(out.p);
                return r;
        }
        *ret = out.p;
        *ret_len = out.len;
        return 0;
}

int qemu_gen_strip_ram(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        static const uint8_t ram_name[] = { 3, 'r', 'a', 'm' };
        Buf out = {};
        size_t ram;
        uint32_t id;
        int r;

        r = nv_qemu_image_parse(in, len, &img, NULL);
        if (r < 0)
                return r;
        if (img->container != NV_QEMU_CONTAINER_STREAM || len < 13 || in[8] != 0x07)
                return -EINVAL;
        ram = 13 + (size_t) (in[9] << 24 | in[10] << 16 | in[11] << 8 | in[12]);
        if (ram + 5 > img->off_devices || in[ram] != 0x01)
                return -EINVAL;
        id = (uint32_t) (in[ram + 1] << 24 | in[ram + 2] << 16 | in[ram + 3] << 8 | in[ram + 4]);
        r = put(&out, in, ram + 5);                                                    /* header, configuration, START and its id */
        r = r < 0 ? r : put(&out, ram_name, sizeof(ram_name));
        r = r < 0 ? r : put_be(&out, 0, 4);                                            /* instance */
        r = r < 0 ? r : put_be(&out, 4, 4);                                            /* version */
        r = r < 0 ? r : put_be(&out, 0x04, 8);                                         /* MEM_SIZE, no blocks */
        r = r < 0 ? r : put_be(&out, 0x10, 8);                                         /* EOS */
        r = r < 0 ? r : put(&out, (const uint8_t[]) { 0x7e }, 1);
        r = r < 0 ? r : put_be(&out, id, 4);
        r = r < 0 ? r : put(&out, in + img->off_devices, len - (size_t) img->off_devices);
        if (r < 0) {
                free(out.p);
                return r;
        }
        *ret = out.p;
        *ret_len = out.len;
        return 0;
}
