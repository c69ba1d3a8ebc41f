/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt verify of a QEMU migration stream or libvirt save image: per
 * vCPU, QEMU's own load-time checks, then the kernel's rules on the
 * struct kvm_nested_state QEMU would pass, with the facts the stream gives
 * (EFER, SMM) added to what the options say.  Exit statuses as for a
 * snapshot: 0 all accepted with every rule checked, 3 accepted with rules
 * left unchecked, 1 damaged or refused, 2 unreadable.
 */
#include <stdio.h>
#include <string.h>

#include "cli-domain.h"
#include "cli-qemu.h"

typedef struct Verdicts {
        json_object *vcpus; /* JSON output, else NULL */
        CliNotes *notes;    /* the unchecked rules, each once: the options' and the validator's */
        unsigned bad;
} Verdicts;

static void qemu_refused(Verdicts *vd, const NvQemuVcpu *v) {
        char msg[512];

        snprintf(msg, sizeof(msg), _("QEMU itself refuses this nested state while loading, before the kernel sees it: %s (%s = 0x%llx)"),
                 _(v->qemu_refusal), v->qemu_field, (unsigned long long) v->qemu_value);
        vd->bad++;
        if (vd->vcpus) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "vcpu", json_object_new_int64(v->index));
                json_object_object_add(o, "accepted", json_object_new_boolean(false));
                json_object_object_add(o, "rule", json_object_new_string("qemu"));
                json_object_object_add(o, "field", json_object_new_string(v->qemu_field));
                json_object_object_add(o, "value", json_object_new_uint64(v->qemu_value));
                json_object_object_add(o, "message", json_object_new_string(msg));
                json_object_array_add(vd->vcpus, o);
        } else
                printf(_("vCPU %u: %s\n"), v->index, msg);
}

static void no_nested(Verdicts *vd, const NvQemuVcpu *v) {
        const char *why = _(nv_qemu_vcpu_no_nested_reason(v));

        if (vd->vcpus) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "vcpu", json_object_new_int64(v->index));
                json_object_object_add(o, "accepted", json_object_new_boolean(true));
                json_object_object_add(o, "nested", json_object_new_boolean(false));
                json_object_object_add(o, "note", json_object_new_string(why));
                json_object_array_add(vd->vcpus, o);
        } else
                printf(_("vCPU %u: %s\n"), v->index, why);
}

static void verify_vcpu(Verdicts *vd, const NvQemuVcpu *v, const NvValidateContext *base) {
        NvValidateContext ctx = *base;

        if (v->qemu_refusal)
                return qemu_refused(vd, v);
        if (!v->blob.data)
                return no_nested(vd, v);
        nv_qemu_validate_context(v, &ctx);
        vd->bad += !cli_verify_blob(v->index, &v->blob, &ctx, vd->notes, vd->vcpus);
}

/* The stream could not be read: a damaged file is a finding (exit 1); a file that cannot be opened is an error. */
static int unreadable(Cli *cli, const char *path, int r, NvError **reterr) {
        json_object *o;

        if (r != -EBADMSG && r != -EOPNOTSUPP && r != -EFBIG)
                return r;
        if (!cli->json) {
                cli_print_error(nv_error_message(*reterr, r));
                nv_error_clear(reterr);
                return 1;
        }
        o = json_object_new_object();
        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "intact", json_object_new_boolean(false));
        json_object_object_add(o, "error", json_object_new_string(nv_error_message(*reterr, r)));
        cli_print_json(o);
        json_object_put(o);
        nv_error_clear(reterr);
        return 1;
}

int cli_verify_qemu(Cli *cli, const char *path, const NvValidateContext *ctx, CliNotes *notes, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        json_object *o, *nc;
        Verdicts vd = { .notes = notes };
        int r;

        r = nv_qemu_image_read(path, &img, reterr);
        if (r < 0)
                return unreadable(cli, path, r, reterr);
        o = cli_qemu_image_json(path, img);
        if (cli->json)
                vd.vcpus = json_object_new_array();
        else
                printf(dngettext(GETTEXT_PACKAGE, "%s: %s readable, %zu vCPU\n", "%s: %s readable, %zu vCPUs\n", img->n_vcpus), path,
                       json_object_get_string(json_object_object_get(o, "type")), img->n_vcpus);
        for (size_t i = 0; i < img->n_vcpus; i++)
                verify_vcpu(&vd, &img->vcpus[i], ctx);
        nc = json_object_object_get(o, "stream_notes");
        if (cli->json) {
                json_object_object_add(o, "intact", json_object_new_boolean(true));
                json_object_object_add(o, "refused", json_object_new_int64(vd.bad));
                json_object_object_add(o, "vcpus", vd.vcpus);
                nc = json_object_new_array();
                for (size_t i = 0; i < notes->n; i++)
                        json_object_array_add(nc, json_object_new_string(_(notes->text[i])));
                json_object_object_add(o, "not_checked", nc);
                json_object_object_add(o, "verdict", json_object_new_string(cli_verdict_name(vd.bad, notes)));
                cli_print_json(o);
        } else {
                for (size_t i = 0; i < notes->n; i++)
                        printf(_("note: not checked: %s\n"), _(notes->text[i]));
                for (size_t i = 0; i < json_object_array_length(nc); i++)
                        printf(_("note: QEMU's stream: %s\n"), json_object_get_string(json_object_array_get_idx(nc, i)));
                if (vd.bad)
                        printf(dngettext(GETTEXT_PACKAGE, "%u of %zu vCPU would be refused on loading.\n",
                                        "%u of %zu vCPUs would be refused on loading.\n", img->n_vcpus),
                               vd.bad, img->n_vcpus);
        }
        json_object_put(o);
        return cli_verdict_exit(vd.bad, notes);
}
