/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restore flow: every check happens before the VMM is touched (file,
 * then incoming.c's: hash against the reference, integrity, vCPU count,
 * every blob, vendor, the kernel's verdict on a scratch vCPU), so a refusal
 * leaves the VMM exactly as it was.  Then freeze, load, thaw;
 * the VMM's agent validates again against the real vCPUs, all or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-private.h"
#include "fileio.h"

/* The snapshot to load: --file made absolute, else the reference; a refusal with the problem set when there is none. */
static int state_path(const NvNestedMeta *m, const char *file, char **abs, const char **ret, NvIncoming *in, NvError **reterr) {
        if (file) {
                *ret = *abs = realpath(file, NULL);
                if (*abs)
                        return 0;
                in->problem = errno == ENOENT ? NV_PROBLEM_MISSING : NV_PROBLEM_NONE;
                return nv_error_set(reterr, -errno, _("Cannot read '%s': %s"), file, strerror(errno));
        }
        if (!m->has_state) {
                in->problem = NV_PROBLEM_MISSING;
                return nv_error_set(reterr, -ENOENT, _("The domain's XML references no saved nested state."));
        }
        *ret = m->state.path;
        return 0;
}

/* Read and verified against this VMM: the hash only when the file is the one the XML references. */
static int read_state(const NvDriver *d, const NvNestedMeta *m, const NvVmm *vmm, const char *path, NvIncoming *in,
                      NvError **reterr) {
        NvVerify v = {
                .ref = m->has_state && strcmp(path, m->state.path) == 0 ? &m->state : NULL,
                .vendor = vmm->b->vendor(vmm->h),
                .vcpus = vmm->b->vcpu_count(vmm->h),
                .what = path,
                .target = &d->host,
                .kernel_check = true, /* the VMM runs here: this host's kernel judges first */
        };

        return nv_incoming_read(&v, path, in, reterr);
}

/* The policy's answer to a refusal r: 1 go on without nested state, else the refusal, saying which policy refused. */
static int apply_policy(const NvNestedMeta *m, NvProblem problem, int r, NvError **err) {
        if (nv_policy_continues(m, problem))
                return 1;
        if (nv_policy_name(problem))
                return nv_error_wrap(err, r, _("Restore refused (policy %s=fail; the VMM was not touched)"), nv_policy_name(problem));
        return nv_error_wrap(err, r, _("Restore refused (the VMM was not touched)"));
}

static int load(const NvVmm *vmm, const char *path, const NvIncoming *in, NvRestoreResult *res, NvError **reterr) {
        int r = nv_vmm_load_timed(vmm->b, vmm->h, in->img, in->len, &res->frozen_usec, reterr);

        if (r < 0)
                return r;
        res->loaded = true;
        res->vcpus = (unsigned) in->snap->n_vcpus;
        res->guest_mode_vcpus = in->guest_mode_vcpus;
        res->kernel_unchecked = in->kernel_unchecked;
        return (res->path = strdup(path)) ? 0 : -ENOMEM;
}

/* Only a VMM that resumed from a saved state waits for old nested state; a running VM's L2 would be corrupted. */
static int check_incoming(const NvVmm *vmm, const NvDomainDef *def, NvError **reterr) {
        int incoming = vmm->b->incoming(vmm->h);

        if (incoming > 0)
                return 0;
        if (incoming == 0)
                return nv_error_set(reterr, -ESTALE,
                                    _("The VMM of domain '%s' booted the VM afresh instead of resuming it, or runs it already: its "
                                      "old nested state is not loaded into a running VM (--force loads it anyway)."),
                                    def->name);
        if (vmm->b == &nv_vmm_backend_process) /* it says nothing: we watch its threads, and could not */
                return nv_error_set(reterr, -ESTALE,
                                    _("nestvirt could not tell whether the VMM of domain '%s' (a process with no nestvirt code) "
                                      "waits paused or runs its vCPUs: its old nested state is not loaded (--force loads it "
                                      "anyway)."),
                                    def->name);
        return nv_error_set(reterr, -ESTALE,
                            _("The VMM of domain '%s' does not say whether it resumed from a saved state (it has no Incoming "
                              "property): its old nested state is not loaded (--force loads it anyway)."),
                            def->name);
}

/* 0: load it; > 0: the policy says run on without it (why in *why); < 0: refused. */
static int plan(const NvDriver *d, NvDomainEntry *e, const NvVmm *vmm, const char *file, char **abs, const char **path, NvIncoming *in,
                NvError **why) {
        int r;

        r = state_path(e->def->meta, file, abs, path, in, why);
        if (r >= 0)
                r = read_state(d, e->def->meta, vmm, *path, in, why);
        return r < 0 ? apply_policy(e->def->meta, in->problem, r, why) : 0;
}

int nv_driver_restore(NvDriver *d, const char *domain, const NvRestoreOptions *o, NvRestoreResult *ret, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        _cleanup_(nv_vmm_clear) NvVmm vmm = {};
        _cleanup_(nv_error_freep) NvError *why = NULL;
        _cleanup_(nv_incoming_clear) NvIncoming in = {};
        _cleanup_(nv_restore_result_clear) NvRestoreResult res = {};
        _cleanup_free_ char *abs = NULL;
        const char *path = NULL;
        int r;

        r = nv_driver_begin(d, domain, &e, &lock, &vmm, reterr);
        if (r >= 0 && !o->force)
                r = check_incoming(&vmm, e.def, reterr);
        if (r < 0)
                return r;
        r = plan(d, &e, &vmm, o->file, &abs, &path, &in, &why);
        if (r == 0)
                r = load(&vmm, path, &in, &res, reterr);
        if (r == 0)
                nv_landed_forget(d->runtime_dir, e.def->uuid); /* what the hook landed is in use now */
        else if (r > 0) {
                res.skipped_why = strdup(nv_error_message(why, -EIO));
                r = nv_vmm_run_on(vmm.b, vmm.h, reterr); /* a restoring VMM waits paused until told to run */
        } else
                nv_error_set(reterr, r, "%s", nv_error_message(why, r));
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Domain '%s'"), e.def->name);
        *ret = res;
        res = (NvRestoreResult) {};
        return 0;
}
