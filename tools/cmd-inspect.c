/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt inspect: a snapshot or raw blob, readable by people (or --json). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-domain.h"
#include "cli-file.h"
#include "cli-qemu.h"
#include "cli.h"
#include "fields.h"
#include "util.h"

typedef struct InspectArgs {
        long vcpu;         /* -1: all */
        const char *field; /* NULL: the key fields */
} InspectArgs;

/* The fields to show for one blob: one named field, or every key field present. */
static json_object *blob_fields(const NvBlob *b, int format, const InspectArgs *a, NvError **reterr) {
        json_object *o = json_object_new_object();
        const NvField *t;
        size_t n;
        uint64_t v;

        if (a->field) {
                const NvField *f = nv_fields_lookup(format, a->field);
                if (!f) {
                        json_object_put(o);
                        nv_error_set(reterr, -EINVAL, _("No %s field is called '%s'."), nv_format_to_string(format), a->field);
                        return NULL;
                }
                if (nv_fields_read(b->data, b->len, f, false, &v, NULL) >= 0)
                        json_object_object_add(o, f->name, json_object_new_uint64(v));
                return o;
        }
        t = nv_fields_table(format, &n);
        for (size_t i = 0; i < n; i++)
                if (t[i].key && nv_fields_read(b->data, b->len, &t[i], false, &v, NULL) >= 0)
                        json_object_object_add(o, t[i].name, json_object_new_uint64(v));
        return o;
}

static json_object *blob_json(uint32_t index, const NvBlob *b, const InspectArgs *a, NvError **reterr) {
        json_object *o = json_object_new_object(), *flags = json_object_new_array(), *fields;
        const char *names[8];
        NvNestedHeader h;
        size_t n;

        (void) nv_nested_header_parse(b->data, b->len, &h, NULL);
        n = nv_nested_flag_names(h.flags, names, ELEMENTSOF(names));
        for (size_t i = 0; i < n; i++)
                json_object_array_add(flags, json_object_new_string(names[i]));
        json_object_object_add(o, "vcpu", json_object_new_int64(index));
        json_object_object_add(o, "format", json_object_new_string(nv_format_to_string(h.format)));
        json_object_object_add(o, "size", json_object_new_int64(h.size));
        json_object_object_add(o, "flags", flags);
        json_object_object_add(o, "flags_value", json_object_new_int(h.flags));
        json_object_object_add(o, "guest_mode", json_object_new_boolean(nv_nested_guest_mode(&h)));
        if (h.format == NV_FORMAT_SVM)
                json_object_object_add(o, "vmcb_pa", json_object_new_uint64(h.svm.vmcb_pa));
        else {
                json_object_object_add(o, "vmxon_pa", json_object_new_uint64(h.vmx.vmxon_pa));
                json_object_object_add(o, "vmcs12_pa", json_object_new_uint64(h.vmx.vmcs12_pa));
                json_object_object_add(o, "smm_flags", json_object_new_int(h.vmx.smm_flags));
        }
        fields = blob_fields(b, h.format, a, reterr);
        if (!fields) {
                json_object_put(o);
                return NULL;
        }
        json_object_object_add(o, "fields", fields);
        return o;
}

static json_object *snapshot_json(const char *path, const NvSnapshot *s, bool raw, const InspectArgs *a, NvError **reterr) {
        json_object *o = json_object_new_object(), *vcpus = json_object_new_array();
        const char *backend = nv_snapshot_backend_to_string(s->backend);
        char when[64] = "";
        time_t t = (time_t) (s->created_usec / 1000000);
        struct tm tm;

        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "type", json_object_new_string(raw ? "raw" : "snapshot"));
        if (!raw) {
                if (gmtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
                json_object_object_add(o, "version", json_object_new_int((int) s->version));
                json_object_object_add(o, "vendor", json_object_new_string(nv_format_to_string(s->vendor)));
                json_object_object_add(o, "vcpu_count", json_object_new_int64((int64_t) s->n_vcpus));
                json_object_object_add(o, "created", json_object_new_string(when));
                json_object_object_add(o, "kernel_release", json_object_new_string(s->kernel_release));
                json_object_object_add(o, "cpu_model", json_object_new_string(s->cpu_model));
                json_object_object_add(o, "host_cpu_vendor", s->host_cpu_vendor >= 0 ? json_object_new_string(nv_format_to_string(s->host_cpu_vendor)) : NULL);
                json_object_object_add(o, "cap_nested_state", json_object_new_int64(s->cap_nested_state));
                json_object_object_add(o, "backend", backend ? json_object_new_string(backend) : NULL);
        }
        for (size_t i = 0; i < s->n_vcpus; i++) {
                json_object *b;

                if (a->vcpu >= 0 && s->vcpus[i].index != (uint32_t) a->vcpu)
                        continue;
                b = blob_json(s->vcpus[i].index, &s->vcpus[i].blob, a, reterr);
                if (!b) {
                        json_object_put(vcpus);
                        json_object_put(o);
                        return NULL;
                }
                json_object_array_add(vcpus, b);
        }
        if (a->vcpu >= 0 && json_object_array_length(vcpus) == 0) {
                json_object_put(vcpus);
                json_object_put(o);
                nv_error_set(reterr, -ENOENT, _("'%s' has no vCPU %ld."), path, a->vcpu);
                return NULL;
        }
        json_object_object_add(o, "vcpus", vcpus);
        return o;
}

static void print_blob_text(json_object *b) {
        json_object *flags = json_object_object_get(b, "flags");

        printf(_("vCPU %s: %s, %s bytes, flags "), json_object_get_string(json_object_object_get(b, "vcpu")),
               json_object_get_string(json_object_object_get(b, "format")),
               json_object_get_string(json_object_object_get(b, "size")));
        for (size_t i = 0; i < json_object_array_length(flags); i++)
                printf("%s%s", i ? "|" : "", json_object_get_string(json_object_array_get_idx(flags, i)));
        printf(" (0x%x)%s\n", json_object_get_int(json_object_object_get(b, "flags_value")),
               json_object_get_boolean(json_object_object_get(b, "guest_mode")) ? _(", in guest mode (L2 running)") : "");
        json_object_object_foreach(b, key, val) {
                if (strcmp(key, "vmcb_pa") == 0 || strcmp(key, "vmxon_pa") == 0 || strcmp(key, "vmcs12_pa") == 0)
                        printf("  %-30s 0x%llx\n", key, (unsigned long long) json_object_get_uint64(val));
        }
        json_object_object_foreach(json_object_object_get(b, "fields"), name, v)
                printf("  %-30s 0x%llx\n", name, (unsigned long long) json_object_get_uint64(v));
}

static void print_text(json_object *o) {
        json_object *vcpus = json_object_object_get(o, "vcpus");
        static const char *const keys[] = { "vendor", "vcpu_count", "created", "kernel_release", "cpu_model", "cap_nested_state",
                                            "backend" };

        printf(_("File: %s (%s)\n"), json_object_get_string(json_object_object_get(o, "file")),
               json_object_get_string(json_object_object_get(o, "type")));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_object *v = json_object_object_get(o, keys[i]);
                if (v)
                        printf("  %-30s %s\n", keys[i], json_object_get_string(v));
        }
        for (size_t i = 0; i < json_object_array_length(vcpus); i++)
                print_blob_text(json_object_array_get_idx(vcpus, i));
}

/* A vCPU of a QEMU image in text: its nested state as for a snapshot, or why it has none. */
static void print_qemu_vcpu(json_object *b) {
        json_object *q = json_object_object_get(b, "qemu"), *v;

        if (json_object_object_get(b, "format"))
                print_blob_text(b);
        else if ((v = json_object_object_get(q, "refused_by_qemu")))
                printf(_("vCPU %s: QEMU itself refuses this nested state: %s (%s = 0x%llx)\n"),
                       json_object_get_string(json_object_object_get(b, "vcpu")), json_object_get_string(v),
                       json_object_get_string(json_object_object_get(q, "field")),
                       (unsigned long long) json_object_get_uint64(json_object_object_get(q, "value")));
        else
                printf(_("vCPU %s: %s\n"), json_object_get_string(json_object_object_get(b, "vcpu")),
                       json_object_get_string(json_object_object_get(q, "no_nested_state")));
        json_object_object_foreach(q, key, val) {
                if (strcmp(key, "hflags_guest") == 0 || strcmp(key, "hflags2_gif") == 0 || strcmp(key, "efer_svme") == 0 ||
                    strcmp(key, "stream_flags") == 0)
                        printf("  qemu.%-25s %s\n", key, json_object_get_string(val));
        }
}

/* inspect of a QEMU migration stream or libvirt save image: every vCPU, with or without nested state. */
static int inspect_qemu(Cli *cli, const char *path, const InspectArgs *a, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        json_object *o, *vcpus;
        int r;

        r = nv_qemu_image_read(path, &img, reterr);
        if (r < 0)
                return r;
        o = cli_qemu_image_json(path, img);
        vcpus = json_object_new_array();
        json_object_object_add(o, "vcpus", vcpus);
        for (size_t i = 0; i < img->n_vcpus; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];
                json_object *b;

                if (a->vcpu >= 0 && v->index != (uint32_t) a->vcpu)
                        continue;
                if (v->blob.data && !v->qemu_refusal) {
                        b = blob_json(v->index, &v->blob, a, reterr);
                        if (!b) {
                                json_object_put(o);
                                return (*reterr)->code;
                        }
                } else {
                        b = json_object_new_object();
                        json_object_object_add(b, "vcpu", json_object_new_int64(v->index));
                }
                json_object_object_add(b, "qemu", cli_qemu_vcpu_json(v));
                json_object_array_add(vcpus, b);
        }
        if (a->vcpu >= 0 && json_object_array_length(vcpus) == 0) {
                json_object_put(o);
                return nv_error_set(reterr, -ENOENT, _("'%s' has no vCPU %ld."), path, a->vcpu);
        }
        if (cli->json)
                cli_print_json(o);
        else {
                cli_qemu_print_image(o);
                for (size_t i = 0; i < json_object_array_length(vcpus); i++)
                        print_qemu_vcpu(json_object_array_get_idx(vcpus, i));
        }
        json_object_put(o);
        return 0;
}

int cmd_inspect(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "vcpu", required_argument, NULL, 'n' },
                { "field", required_argument, NULL, 'f' },
                {},
        };
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        InspectArgs a = { .vcpu = -1 };
        json_object *o;
        bool raw;
        uint64_t v;
        int c, r;

        while ((c = getopt_long(argc, argv, "hjn:f:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt inspect FILE [--vcpu N] [--field NAME] [--json]\n"
                                 "Show a snapshot file, a raw nested-state blob, a QEMU migration stream or a\n"
                                 "libvirt save image: per vCPU the format, size, flags, guest mode and the key\n"
                                 "vmcs12/vmcb12 fields.\n\n"
                                 "  --vcpu N       only vCPU N\n"
                                 "  --field NAME   only this field (a VMCS name such as GUEST_RIP, its encoding\n"
                                 "                 such as 0x681e, or a vmcb12 field such as control.asid)\n"
                                 "  --json         print JSON\n"));
                        return 0;
                case 'j':
                        cli->json = true;
                        break;
                case 'n':
                        if (nv_parse_unsigned(optarg, 10, INT32_MAX, &v) < 0)
                                return nv_error_set(reterr, -EINVAL, _("--vcpu takes a vCPU index, not '%s'."), optarg);
                        a.vcpu = (long) v;
                        break;
                case 'f':
                        a.field = optarg;
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'inspect' takes exactly one FILE; see 'nestvirt inspect --help'."));
        if (cli_is_qemu_file(argv[optind]))
                return inspect_qemu(cli, argv[optind], &a, reterr);
        r = cli_load_state_file(argv[optind], &s, &raw, reterr);
        if (r < 0)
                return r;
        o = snapshot_json(argv[optind], s, raw, &a, reterr);
        if (!o)
                return reterr && *reterr ? (*reterr)->code : -EINVAL;
        if (cli->json)
                cli_print_json(o);
        else
                print_text(o);
        json_object_put(o);
        return 0;
}
