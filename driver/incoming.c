/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * State that comes into a flow, one way for all of them: restore (against
 * the VMM), the hook (against this host, before any VMM exists), and save
 * and migration (what the VMM handed over).  The checks run in one order:
 * hash against the reference, parse (integrity), vCPU count, every blob
 * by the kernel's rules (the validator), vendor, and then every blob by the
 * kernel itself: landed on a scratch vCPU of this host's KVM set up like
 * the target vCPU, before any VMM is touched, so that every VMM backend
 * gets the kernel's verdict for free.  A problem the domain's policy may let
 * through (missing, incompatible) says so; damage never does.
 *
 * Landing is one way too: write the file durably, then make it the
 * metadata's current reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "driver-private.h"
#include "fileio.h"
#include "kvm-probe.h"
#include "vcpu.h"

void nv_incoming_clear(NvIncoming *in) {
        free(in->img);
        nv_snapshot_free(in->snap);
        *in = (NvIncoming) {};
}

/* The bytes are the ones the reference names: its hash and vCPU count. */
static int check_ref(const NvVerify *v, const uint8_t *img, size_t len, NvError **reterr) {
        char sha[65];

        nv_snapshot_sha256_hex(img, len, sha);
        if (strcasecmp(sha, v->ref->sha256) == 0)
                return 0;
        if (v->what)
                return nv_error_set(reterr, -EBADMSG,
                                    _("%s has SHA-256 %s, but the domain's XML recorded %s: the file changed since it was saved."),
                                    v->what, sha, v->ref->sha256);
        return nv_error_set(reterr, -EBADMSG, _("The snapshot's SHA-256 is %s, but the XML says %s."), sha, v->ref->sha256);
}

/* vCPU count, blobs, vendor: the parsed snapshot against what it must fit. */
static int check_fit(const NvVerify *v, const NvSnapshot *s, NvIncoming *in, NvError **reterr) {
        const char *what = v->what ?: _("The snapshot");
        int r;

        if (v->ref && s->n_vcpus != v->ref->vcpus)
                return nv_error_set(reterr, -EINVAL, _("%s holds %zu vCPUs, but the XML says %u."), what, s->n_vcpus, v->ref->vcpus);
        /* The reference is copied into the XML as it stands: it must say what the bytes are. */
        if (v->ref && v->ref->vendor >= 0 && s->vendor != v->ref->vendor)
                return nv_error_set(reterr, -EINVAL, _("%s holds %s state, but the XML says %s."), what, nv_format_to_string(s->vendor) ?: "?",
                                    nv_format_to_string(v->ref->vendor) ?: "?");
        if (v->vcpus && s->n_vcpus != v->vcpus) {
                in->problem = NV_PROBLEM_INCOMPATIBLE;
                return nv_error_set(reterr, -EXDEV, _("%s holds %zu vCPUs but the VMM has %u."), what, s->n_vcpus, v->vcpus);
        }
        r = nv_driver_check_blobs(s, v->target, &in->guest_mode_vcpus, reterr);
        if (r < 0)
                return v->what ? nv_error_wrap(reterr, r, "%s", v->what) : r;
        if (v->vendor < 0 || s->vendor == v->vendor)
                return 0;
        in->problem = NV_PROBLEM_INCOMPATIBLE;
        if (v->vendor_of_host)
                return nv_error_set(reterr, -EXDEV, _("%s holds %s state but this host's CPU is %s."), what,
                                    nv_format_to_string(s->vendor), nv_format_to_string(v->vendor));
        return nv_error_set(reterr, -EXDEV, _("%s holds %s state but the VMM's vCPUs are %s."), what, nv_format_to_string(s->vendor),
                            nv_format_to_string(v->vendor) ?: "?");
}

/*
 * One blob on a scratch vCPU: the validator with every fact that vCPU and
 * the probed rules give (it names the rule), then the kernel.  The kernel
 * refusing what the validator accepted is a gap in the validator.
 */
static int kernel_check_blob(NvScratch *vms, const NvHostTarget *t, const NvSnapshotVcpu *vb, NvError **reterr) {
        _cleanup_(nv_vcpu_freep) NvVcpu *scratch = NULL;
        NvValidateContext ctx;
        int r, verdict;

        r = nv_scratch_vcpu_for_state(vms, vb->blob.data, vb->blob.len, &scratch, reterr);
        if (r >= 0)
                r = nv_vcpu_validate_context(scratch, &ctx, reterr);
        if (r < 0)
                return r;
        if (ctx.vendor == NV_FORMAT_VMX)
                ctx.evmcs_enabled = NV_NO; /* not enabled on the scratch vCPU (eVMCS states are not landed) */
        ctx.npt_enabled = t->npt;
        ctx.svme0_gif0_ok = t->svme0_gif0_ok;
        ctx.vnmi_needs_nmi_intercept = t->vnmi_needs_nmi_intercept;
        r = nv_validate_blob(vb->blob.data, vb->blob.len, &ctx, reterr);
        if (r < 0)
                return r;
        verdict = nv_kvm_scratch_set(scratch, vb->blob.data, vb->blob.len);
        if (verdict < 0)
                return nv_error_set(reterr, verdict,
                                    _("validator gap: the validator accepted this state, but the kernel refused it on a scratch vCPU set up like the target "
                                      "(KVM_SET_NESTED_STATE failed with %s)"),
                                    nv_errno_name(verdict));
        if (verdict > 0)
                return nv_error_set(reterr, NV_ERR_LEFT_GUEST_MODE,
                                    _("validator gap: the validator accepted this state, but on a scratch vCPU set up like the target the kernel "
                                      "could not re-enter the nested guest with it (KVM_SET_NESTED_STATE returned %d)"),
                                    verdict);
        return 0;
}

/* The kernel's own verdict on every blob, or why it was not asked (in->kernel_unchecked). */
static int check_kernel(const NvVerify *v, const NvSnapshot *s, NvIncoming *in, NvError **reterr) {
        _cleanup_(nv_kvm_freep) NvKvm *kvm = NULL;
        _cleanup_(nv_scratch_freep) NvScratch *vms = NULL;
        NvHostInfo h = {};
        int r;

        in->kernel_unchecked = N_("the kernel's own verdict (a scratch vCPU): no kernel KVM here saves nested state of this vendor");
        /* This host as the flow sees it (a test's fake host tree has no KVM), and its kernel able to judge. */
        if (!v->kernel_check || (v->target && strcmp(v->target->backend, "kvm") != 0) || nv_kvm_open(NULL, &kvm, NULL) < 0 ||
            nv_kvm_vendor(kvm) != s->vendor)
                return 0;
        /* The simulator's states were never a kernel's: judging them by one tells nothing about a real restore. */
        if (s->backend == NV_SNAPSHOT_BACKEND_SIMULATED) {
                in->kernel_unchecked = N_("the kernel's own verdict (a scratch vCPU): the state was saved on the simulated KVM");
                return 0;
        }
        /* The scratch vCPU has no Hyper-V enlightenments: an eVMCS state would be refused there, not on its target. */
        for (size_t i = 0; i < s->n_vcpus; i++)
                if (s->vendor == NV_FORMAT_VMX && s->vcpus[i].blob.len >= NV_NESTED_HDR_SIZE &&
                    (get_le16(s->vcpus[i].blob.data + NV_OFF_FLAGS) & NV_NESTED_EVMCS)) {
                        in->kernel_unchecked = N_("the kernel's own verdict (a scratch vCPU): a vCPU uses the enlightened VMCS, which a scratch vCPU does not enable");
                        return 0;
                }
        nv_host_probe_target(NULL, kvm, &h);
        if (!h.target.measured)
                return 0;
        r = nv_scratch_new(kvm, &h.target, &vms, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_vcpus; i++) {
                r = kernel_check_blob(vms, &h.target, &s->vcpus[i], reterr);
                if (r < 0) {
                        r = nv_error_wrap(reterr, r, _("vCPU %u"), s->vcpus[i].index);
                        return v->what ? nv_error_wrap(reterr, r, "%s", v->what) : r;
                }
        }
        in->kernel_unchecked = NULL;
        return 0;
}

int nv_incoming_verify(const NvVerify *v, const uint8_t *img, size_t len, NvIncoming *in, NvError **reterr) {
        int r;

        in->problem = NV_PROBLEM_NONE;
        if (v->ref && (r = check_ref(v, img, len, reterr)) < 0)
                return r;
        r = nv_snapshot_parse_view(img, len, &in->snap, reterr); /* no copy: img outlives in->snap in every flow */
        if (r < 0)
                return v->what ? nv_error_wrap(reterr, r, "%s", v->what) : r;
        r = check_fit(v, in->snap, in, reterr);
        if (r < 0)
                return r;
        return check_kernel(v, in->snap, in, reterr);
}

int nv_incoming_read(const NvVerify *v, const char *path, NvIncoming *in, NvError **reterr) {
        int r = nv_file_read(path, NV_SNAPSHOT_MAX_SIZE, &in->img, &in->len, reterr);

        if (r < 0) {
                in->problem = r == -ENOENT ? NV_PROBLEM_MISSING : NV_PROBLEM_NONE;
                return r;
        }
        return nv_incoming_verify(v, in->img, in->len, in, reterr);
}

bool nv_policy_continues(const NvNestedMeta *m, NvProblem problem) {
        if (problem == NV_PROBLEM_MISSING)
                return m->on_missing == NV_ON_PROBLEM_CONTINUE;
        if (problem == NV_PROBLEM_INCOMPATIBLE)
                return m->on_incompatible == NV_ON_PROBLEM_CONTINUE;
        return false; /* damage: no policy lets it through */
}

const char *nv_policy_name(NvProblem problem) {
        return problem == NV_PROBLEM_MISSING ? "onMissing" : problem == NV_PROBLEM_INCOMPATIBLE ? "onIncompatible" : NULL;
}

/*
 * Whether the directory of path is on the filesystem of dir: a sync of
 * dir's filesystem makes a file there durable.  Not (or unknown) for a
 * domain's directory that an operator mounted or linked elsewhere.
 */
static bool same_filesystem(const char *path, const char *dir) {
        _cleanup_free_ char *parent = strdup(path);
        struct stat a, b;
        char *slash = parent ? strrchr(parent, '/') : NULL;

        if (!slash || slash == parent)
                return false;
        *slash = '\0';
        return stat(parent, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev;
}

int nv_land_image(const NvLanding *l, const uint8_t *img, size_t len, const NvSnapshot *s, NvNestedMeta *m, char **ret_path,
                  NvError **reterr) {
        _cleanup_free_ char *path = NULL;
        uint64_t now = nv_now_usec(CLOCK_REALTIME);
        NvStateRef ref = { .vendor = s->vendor, .vcpus = (unsigned) s->n_vcpus };
        int r;

        if (l->path)
                path = strdup(l->path);
        else if ((r = nv_state_file_path(l->dir, l->domain, now, &path, reterr)) < 0)
                return r;
        if (!path)
                return -ENOMEM;
        /* Staged only where the caller's sync of l->dir's filesystem will reach it; elsewhere durable now. */
        r = (l->staged && same_filesystem(path, l->dir) ? nv_file_write_staged : nv_file_write_atomic)(path, img, len, reterr);
        if (r < 0)
                return r;
        ref.path = path;
        nv_snapshot_sha256_hex(img, len, ref.sha256);
        if (l->time)
                snprintf(ref.time, sizeof(ref.time), "%s", l->time);
        else
                nv_state_ref_time(now, ref.time);
        if (nv_nested_meta_push_state(m, &ref) < 0) {
                (void) unlink(path);
                return -ENOMEM;
        }
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}
