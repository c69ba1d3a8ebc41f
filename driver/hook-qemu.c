/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hook's guard for QEMU domains.  QEMU carries nested state in its own
 * stream, and on loading it QEMU 7.2 either refuses late (the domain is
 * gone from its source by then) or, when the kernel refuses the state,
 * says nothing and reboots the guest, L2 lost.  On `restore begin` the
 * managed-save image is on this host, so the hook reads it
 * (docs/qemu-state.md) and refuses, before QEMU starts, what this host
 * cannot load: QEMU's own load-time refusals, the kernel's rules with this
 * host's vendor, and a size beyond this host's KVM_CAP_NESTED_STATE.
 * An incoming migration's stream reaches QEMU only after the hook: it
 * cannot be checked here (migrate-check runs before the migration).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "driver-private.h"
#include "qemu-image.h"

/* Why this host cannot load v's state, in reterr (vCPU, rule, field, value); 0 if it can. */
static int vcpu_loadable(const NvHookContext *ctx, const NvQemuVcpu *v, NvError **reterr) {
        NvValidateContext vctx;
        NvValidateResult res;

        if (v->qemu_refusal)
                return nv_error_set(reterr, -EINVAL, _("vCPU %u: QEMU would refuse it while loading (rule qemu, %s = 0x%llx): %s"),
                                    v->index, v->qemu_field, (unsigned long long) v->qemu_value, _(v->qemu_refusal));
        if (!v->blob.data)
                return 0;
        /* Known only when this host's KVM answered: an unknown capability refuses nothing. */
        if (ctx->host->kvm_device && !ctx->host->kvm_errno && v->blob.len > (size_t) ctx->host->nested_state_max)
                return nv_error_set(reterr, -EOPNOTSUPP,
                                    _("vCPU %u: %zu bytes of nested state, but this host's KVM_CAP_NESTED_STATE is %d; QEMU would refuse it "
                                      "(rule qemu, size = 0x%zx)"),
                                    v->index, v->blob.len, ctx->host->nested_state_max, v->blob.len);
        nv_validate_context_init(&vctx);
        vctx.vendor = ctx->host->cpu_vendor;
        nv_qemu_validate_context(v, &vctx);
        if (nv_validate(v->blob.data, v->blob.len, &vctx, &res) < 0)
                return nv_error_set(reterr, res.error, _("vCPU %u: %s"), v->index, res.message);
        return 0;
}

/* The image is this domain's: its XML has the same uuid (a stale or foreign file is not judged). */
static bool same_domain(const NvQemuImage *img, const NvDomainDef *def) {
        char want[64];

        snprintf(want, sizeof(want), "<uuid>%s</uuid>", def->uuid);
        return img->domain_xml && strstr(img->domain_xml, want);
}

int nv_hook_guard_qemu_image(const NvHookContext *ctx, const NvDomainDef *def, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *path = NULL;
        unsigned nested = 0;
        int r;

        if (!ctx->qemu_save_dir)
                return 0;
        if (asprintf(&path, "%s/%s.save", ctx->qemu_save_dir, def->name) < 0)
                return -ENOMEM;
        if (access(path, F_OK) < 0)
                return 0; /* not a managed-save restore: a file given to `virsh restore` is not named to the hook */
        r = nv_qemu_image_read(path, &img, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !same_domain(img, def)) {
                fprintf(stderr, _("nestvirt: domain '%s': QEMU's nested state in %s not checked: %s\n"), def->name, path,
                        r < 0 ? nv_error_message(err, r) : _("the image holds another domain"));
                return 0;
        }
        for (size_t i = 0; i < img->n_vcpus; i++) {
                r = vcpu_loadable(ctx, &img->vcpus[i], reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, _("Domain '%s' cannot be restored here: its managed-save image %s holds nested state "
                                                          "this host cannot load"),
                                             def->name, path);
                nested += img->vcpus[i].blob.data != NULL;
        }
        if (nested == 0)
                fprintf(stderr, _("nestvirt: domain '%s': no nested state in its managed-save image %s\n"), def->name, path);
        else
                fprintf(stderr, dngettext(GETTEXT_PACKAGE, "nestvirt: domain '%s': nested state of %u vCPU in %s checked: it loads here\n",
                                          "nestvirt: domain '%s': nested state of %u vCPUs in %s checked: it loads here\n", nested),
                        def->name, nested, path);
        return 0;
}
