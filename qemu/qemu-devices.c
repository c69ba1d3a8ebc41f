/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device sections of a QEMU stream, read with the layout description
 * QEMU appends to it (the "vmdesc" JSON: every section's fields with their
 * sizes, and the subsections it sent).  Device state is not
 * self-describing, so the description is what lets the reader step over
 * every device it does not care about and find the `cpu` fields by name
 * instead of by a hard-coded offset.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "qemu-private.h"

#define WALK_MAX_DEPTH 16u
#define ARRAY_MAX (1u << 20)
#define JSON_MAX_DEPTH 64

typedef struct Walk {
        NvQemuReader r;
        NvQemuVcpu *vcpu; /* the `cpu` section being read; NULL for any other device */
} Walk;

static uint64_t where(const Walk *w) {
        return w->r.base + w->r.pos;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* An integer member, or def if absent; -1 if present but not a non-negative integer. */
static int64_t jint(json_object *o, const char *key, int64_t def) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return def;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return -1;
        return json_object_get_int64(v);
}

static json_object *jarray(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

static int bad_desc(const Walk *w, const char *what, NvError **reterr) {
        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's layout description is malformed at %s (stream offset 0x%llx)."), what,
                            (unsigned long long) where(w));
}

static int walk_struct(Walk *w, json_object *desc, unsigned depth, NvError **reterr);

/* One plain field: size bytes per element, handed to the `cpu` collector when inside a cpu section. */
static int walk_plain(Walk *w, const char *vmsd, const char *name, json_object *f, int64_t count, NvError **reterr) {
        int64_t size = jint(f, "size", -1);
        uint64_t left = w->r.mem_len - w->r.pos;
        int k;

        if (size < 0)
                return bad_desc(w, name, reterr);
        if ((uint64_t) size > left || (size > 0 && (uint64_t) count > left / (uint64_t) size))
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's field '%s' (%lld × %lld bytes) runs past its end at offset 0x%llx."),
                                    name, (long long) count, (long long) size, (unsigned long long) where(w));
        if (w->vcpu) {
                k = nv_qemu_cpu_field(w->vcpu, vmsd, name, w->r.mem + w->r.pos, (size_t) (size * count), where(w), reterr);
                if (k < 0)
                        return k;
        }
        return nv_qemu_skip(&w->r, (uint64_t) (size * count), reterr);
}

static int walk_fields(Walk *w, json_object *desc, const char *vmsd, unsigned depth, NvError **reterr) {
        json_object *fields = jarray(desc, "fields");
        size_t n = fields ? json_object_array_length(fields) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(fields, i), *sub;
                const char *name = jstr(f, "name"), *type = jstr(f, "type");
                int64_t count = jint(f, "array_len", 1);
                int k = 0;

                if (!name || count < 0 || count > ARRAY_MAX)
                        return bad_desc(w, vmsd, reterr);
                if (type && streq(type, "struct")) {
                        if (!json_object_object_get_ex(f, "struct", &sub) || !json_object_is_type(sub, json_type_object))
                                return bad_desc(w, name, reterr);
                        for (int64_t e = 0; e < count && k >= 0; e++)
                                k = walk_struct(w, sub, depth + 1, reterr);
                } else
                        k = walk_plain(w, vmsd, name, f, count, reterr);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int walk_subsections(Walk *w, json_object *desc, unsigned depth, NvError **reterr) {
        json_object *subs = jarray(desc, "subsections");
        size_t n = subs ? json_object_array_length(subs) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(subs, i);
                const char *want = jstr(s, "vmsd_name");
                char name[256];
                uint32_t version;
                uint8_t t;
                int k;

                if (!want)
                        return bad_desc(w, "subsections", reterr);
                if ((k = nv_qemu_read_u8(&w->r, &t, reterr)) < 0)
                        return k;
                if (t != NV_QEMU_SEC_SUBSECTION)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream lacks its subsection '%s' at offset 0x%llx."), want,
                                            (unsigned long long) (where(w) - 1));
                if ((k = nv_qemu_read_str8(&w->r, name, reterr)) < 0 || (k = nv_qemu_read_be32(&w->r, &version, reterr)) < 0)
                        return k;
                if (!streq(name, want))
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has subsection '%s' where its description says '%s' (offset 0x%llx)."),
                                            name, want, (unsigned long long) where(w));
                if ((k = walk_struct(w, s, depth + 1, reterr)) < 0)
                        return k;
        }
        return 0;
}

static int walk_struct(Walk *w, json_object *desc, unsigned depth, NvError **reterr) {
        const char *vmsd = jstr(desc, "vmsd_name") ?: "";
        int k;

        if (depth > WALK_MAX_DEPTH)
                return bad_desc(w, vmsd, reterr);
        k = walk_fields(w, desc, vmsd, depth, reterr);
        if (k < 0)
                return k;
        return walk_subsections(w, desc, depth, reterr);
}

/*
 * Where the layout description starts: QEMU writes the end marker (0x00),
 * 0x06, a BE u32 length and the JSON text, which has no NUL byte.  So the
 * last NUL of the tail is the end marker or a byte of the length, and the
 * type byte is at most 4 bytes before it or right after it.
 */
static bool vmdesc_at(const uint8_t *tail, size_t len, size_t *ret_j) {
        const uint8_t *nul = memrchr(tail, '\0', len);
        size_t n = nul ? (size_t) (nul - tail) : 0;

        for (size_t p = n >= 4 ? n - 4 : 0; nul && p <= n + 1 && p + 6 <= len; p++)
                if (tail[p] == NV_QEMU_SEC_VMDESC && nv_be32(tail + p + 1) == len - p - 5 && tail[p + 5] == '{') {
                        *ret_j = p + 5;
                        return true;
                }
        return false;
}

/* The layout description at the end of the tail: 0x06, BE u32 length, JSON, nothing after. */
static int find_vmdesc(const uint8_t *tail, size_t len, uint64_t base, size_t *ret_off, json_object **ret, NvError **reterr) {
        const uint8_t *brace;
        json_tokener *tok;
        json_object *o;
        size_t j;

        if (!vmdesc_at(tail, len, &j))
                return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream has no layout description (vmdesc) at its end, after offset 0x%llx; "
                                                           "without it the device state cannot be read."),
                                    (unsigned long long) base);
        brace = tail + j;
        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, (const char *) brace, (int) (len - j));
        if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len - j ||
            !json_object_is_type(o, json_type_object) || !jarray(o, "devices")) {
                json_tokener_free(tok);
                json_object_put(o);
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's layout description at offset 0x%llx is not valid JSON with a device list."),
                                    (unsigned long long) (base + j));
        }
        json_tokener_free(tok);
        *ret_off = j - 5;
        *ret = o;
        return 0;
}

/* The description of section (name, instance), looked for from *next on (they are in stream order). */
static json_object *find_device(json_object *devices, size_t *next, const char *name, uint32_t instance) {
        size_t n = json_object_array_length(devices);

        for (size_t i = 0; i < n; i++) {
                size_t at = (*next + i) % n;
                json_object *d = json_object_array_get_idx(devices, at);
                const char *dn = jstr(d, "name");

                if (dn && streq(dn, name) && jint(d, "instance_id", -1) == (int64_t) instance) {
                        *next = at + 1;
                        return d;
                }
        }
        return NULL;
}

static int add_vcpu(NvQemuImage *img, uint32_t instance, NvQemuVcpu **ret, NvError **reterr) {
        NvQemuVcpu *n;

        if (img->n_vcpus >= NV_QEMU_MAX_VCPUS)
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has more than %u cpu sections."), NV_QEMU_MAX_VCPUS);
        for (size_t i = 0; i < img->n_vcpus; i++)
                if (img->vcpus[i].index == instance)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has two cpu sections for vCPU %u."), instance);
        n = realloc(img->vcpus, (img->n_vcpus + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        img->vcpus = n;
        *ret = &n[img->n_vcpus++];
        **ret = (NvQemuVcpu) { .index = instance };
        return 0;
}

/* One full device section, its type byte already read. */
static int device_section(Walk *w, json_object *devices, size_t *next, NvQemuImage *img, NvError **reterr) {
        uint32_t id, instance, version;
        json_object *desc;
        char name[256];
        uint8_t t;
        int k;

        if ((k = nv_qemu_read_be32(&w->r, &id, reterr)) < 0 || (k = nv_qemu_read_str8(&w->r, name, reterr)) < 0 ||
            (k = nv_qemu_read_be32(&w->r, &instance, reterr)) < 0 || (k = nv_qemu_read_be32(&w->r, &version, reterr)) < 0)
                return k;
        desc = find_device(devices, next, name, instance);
        if (!desc)
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's section '%s' instance %u (offset 0x%llx) is not in its layout description."),
                                    name, instance, (unsigned long long) where(w));
        w->vcpu = NULL;
        if (streq(name, "cpu") && (k = add_vcpu(img, instance, &w->vcpu, reterr)) < 0)
                return k;
        if ((k = walk_struct(w, desc, 0, reterr)) < 0)
                return nv_error_wrap(reterr, k, _("section '%s' instance %u"), name, instance);
        if (w->vcpu) {
                w->vcpu->off_section_end = where(w);
                if ((k = nv_qemu_cpu_finish(w->vcpu, reterr)) < 0)
                        return k;
        }
        w->vcpu = NULL;
        img->n_sections++;
        if (nv_qemu_peek(&w->r, &t, reterr) == 1 && t == NV_QEMU_SEC_FOOTER) {
                uint32_t fid;
                (void) nv_qemu_read_u8(&w->r, &t, reterr);
                if ((k = nv_qemu_read_be32(&w->r, &fid, reterr)) < 0)
                        return k;
                if (fid != id)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's section footer names section %u after section %u (offset 0x%llx)."),
                                            fid, id, (unsigned long long) where(w));
        }
        return 0;
}

int nv_qemu_devices_parse(const uint8_t *tail, size_t len, uint64_t base, NvQemuImage *img, NvError **reterr) {
        json_object *vmdesc = NULL, *devices;
        size_t vmdesc_off = 0, next = 0;
        Walk w = {};
        int k;

        k = find_vmdesc(tail, len, base, &vmdesc_off, &vmdesc, reterr);
        if (k < 0)
                return k;
        devices = jarray(vmdesc, "devices");
        img->off_vmdesc = base + vmdesc_off;
        if (jint(vmdesc, "page_size", img->page_size) != (int64_t) img->page_size) {
                json_object_put(vmdesc);
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's layout description gives another page size than its configuration."));
        }
        nv_qemu_reader_mem(&w.r, tail, vmdesc_off, base);
        for (;;) {
                uint8_t t;

                if ((k = nv_qemu_read_u8(&w.r, &t, reterr)) < 0)
                        break;
                if (t == NV_QEMU_SEC_EOF) {
                        if (w.r.pos != vmdesc_off)
                                k = nv_error_set(reterr, -EBADMSG, _("The QEMU stream has %zu bytes between its end marker (offset 0x%llx) and its layout description."),
                                                 vmdesc_off - (size_t) w.r.pos, (unsigned long long) where(&w));
                        break;
                }
                if (t != NV_QEMU_SEC_FULL) {
                        k = nv_error_set(reterr, -EBADMSG, _("The QEMU stream has section type 0x%02x among its device sections (offset 0x%llx)."), t,
                                         (unsigned long long) (where(&w) - 1));
                        break;
                }
                if ((k = device_section(&w, devices, &next, img, reterr)) < 0)
                        break;
        }
        json_object_put(vmdesc);
        return k < 0 ? k : 0;
}
