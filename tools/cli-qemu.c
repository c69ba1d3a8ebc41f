/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU streams and libvirt save images in the file commands: the reader is
 * qemu/; here they become JSON and text, and verify's per-vCPU verdicts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-domain.h"
#include "cli-qemu.h"
#include "x86-arch.h"

bool cli_is_qemu_file(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        uint8_t h[16];
        ssize_t n;

        if (fd < 0)
                return false;
        n = read(fd, h, sizeof(h));
        return n > 0 && nv_qemu_is_image(h, (size_t) n);
}

int cli_qemu_snapshot(const NvQemuImage *img, NvSnapshot **ret, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = nv_snapshot_new(nv_qemu_image_vendor(img));
        int r;

        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < img->n_vcpus; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];

                if (!v->blob.data || v->qemu_refusal)
                        continue;
                r = nv_snapshot_add(s, v->index, &v->blob, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("vCPU %u of the QEMU stream"), v->index);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* The <name> of libvirt's domain XML, for display only. */
static json_object *domain_name(const char *xml) {
        const char *b = xml ? strstr(xml, "<name>") : NULL, *e = b ? strstr(b, "</name>") : NULL;

        return e ? json_object_new_string_len(b + 6, (int) (e - b - 6)) : NULL;
}

json_object *cli_qemu_image_json(const char *path, const NvQemuImage *img) {
        json_object *o = json_object_new_object(), *nc = json_object_new_array();
        int vendor = nv_qemu_image_vendor(img);
        const char *notes[8];
        size_t n;

        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "type", json_object_new_string(img->container == NV_QEMU_CONTAINER_LIBVIRT ? "libvirt-save" : "qemu-stream"));
        json_object_object_add(o, "machine", json_object_new_string(img->machine));
        if (img->container == NV_QEMU_CONTAINER_LIBVIRT) {
                json_object *lv = json_object_new_object();
                json_object_object_add(lv, "domain", domain_name(img->domain_xml));
                json_object_object_add(lv, "version", json_object_new_int((int) img->libvirt_version));
                json_object_object_add(lv, "compression", json_object_new_string(nv_qemu_libvirt_format_name(img->libvirt_format)));
                json_object_object_add(lv, "was_running", json_object_new_boolean(img->libvirt_was_running != 0));
                json_object_object_add(lv, "stream_offset", json_object_new_uint64(img->stream_offset));
                json_object_object_add(o, "libvirt", lv);
        }
        json_object_object_add(o, "vendor", vendor >= 0 ? json_object_new_string(nv_format_to_string(vendor)) : NULL);
        json_object_object_add(o, "vcpu_count", json_object_new_int64((int64_t) img->n_vcpus));
        n = vendor >= 0 ? nv_qemu_not_carried(vendor, notes, ELEMENTSOF(notes)) : 0;
        for (size_t i = 0; i < n; i++)
                json_object_array_add(nc, json_object_new_string(_(notes[i])));
        json_object_object_add(o, "stream_notes", nc);
        return o;
}

json_object *cli_qemu_vcpu_json(const NvQemuVcpu *v) {
        json_object *q = json_object_new_object();
        const char *why = nv_qemu_vcpu_no_nested_reason(v);

        json_object_object_add(q, "nested_subsection", json_object_new_boolean(v->have_nested));
        if (v->have_nested) {
                json_object_object_add(q, "stream_flags", json_object_new_int(v->stream_flags));
                json_object_object_add(q, "stream_format", json_object_new_int(v->format));
                json_object_object_add(q, "stream_size", json_object_new_int64(v->size));
                if (v->off_data)
                        json_object_object_add(q, "data_offset", json_object_new_uint64(v->off_data));
        }
        if (v->have_cpu_fields) {
                json_object_object_add(q, "hflags_guest", json_object_new_boolean(v->hflags & NV_QEMU_HF_GUEST));
                json_object_object_add(q, "hflags2_gif", json_object_new_boolean(v->hflags2 & NV_QEMU_HF2_GIF));
                json_object_object_add(q, "efer_svme", json_object_new_boolean(v->efer & X86_EFER_SVME));
                json_object_object_add(q, "vm_hsave", json_object_new_uint64(v->vm_hsave));
        }
        if (why)
                json_object_object_add(q, "no_nested_state", json_object_new_string(_(why)));
        if (v->qemu_refusal) {
                json_object_object_add(q, "refused_by_qemu", json_object_new_string(_(v->qemu_refusal)));
                json_object_object_add(q, "field", json_object_new_string(v->qemu_field));
                json_object_object_add(q, "value", json_object_new_uint64(v->qemu_value));
        }
        return q;
}

void cli_qemu_print_image(json_object *o) {
        json_object *lv = json_object_object_get(o, "libvirt"), *nc = json_object_object_get(o, "stream_notes");

        printf(_("File: %s (%s)\n"), json_object_get_string(json_object_object_get(o, "file")),
               json_object_get_string(json_object_object_get(o, "type")));
        printf("  %-30s %s\n", "machine", json_object_get_string(json_object_object_get(o, "machine")));
        if (lv) {
                json_object_object_foreach(lv, key, val)
                        printf("  libvirt.%-22s %s\n", key, json_object_get_string(val));
        }
        printf("  %-30s %s\n", "vendor", json_object_get_string(json_object_object_get(o, "vendor")) ?: "-");
        printf("  %-30s %s\n", "vcpu_count", json_object_get_string(json_object_object_get(o, "vcpu_count")));
        for (size_t i = 0; i < json_object_array_length(nc); i++)
                printf(_("  QEMU's stream: %s\n"), json_object_get_string(json_object_array_get_idx(nc, i)));
}
