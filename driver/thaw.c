/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeing and ending a VMM's freeze: what an operator needs after a
 * `save --keep-frozen` whose shutdown was cancelled, or a `migrate-begin`
 * whose `virsh migrate` failed.  Both leave the VMM frozen on purpose, and
 * nothing else thaws it.
 */
#include <string.h>

#include "driver-private.h"

int nv_driver_vmm_status(NvDriver *d, const NvDomainDef *def, NvVmmStatus *ret, NvError **reterr) {
        _cleanup_(nv_vmm_clear) NvVmm vmm = {};
        uint64_t since = 0;
        int r;

        if (!def->meta)
                return nv_error_set(reterr, -ENOENT, _("Domain '%s' has no <nestvirt:nested> metadata naming its VMM."), def->name);
        r = nv_driver_connect_vmm(d, def, &vmm, reterr);
        if (r < 0)
                return r;
        r = vmm.b->frozen(vmm.h, &since, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Domain '%s'"), def->name);
        *ret = (NvVmmStatus) { .frozen = r > 0, .frozen_since_usec = since };
        return 0;
}

int nv_driver_thaw(NvDriver *d, const char *domain, NvVmmStatus *ret_before, NvError **reterr) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_domain_unlockp) NvDomainLock *lock = NULL;
        _cleanup_(nv_vmm_clear) NvVmm vmm = {};
        uint64_t since = 0;
        int r;

        /* The domain's lock: a save or restore under way holds its own freeze, and ends it itself. */
        r = nv_driver_begin(d, domain, &e, &lock, &vmm, reterr);
        if (r < 0)
                return r;
        r = vmm.b->frozen(vmm.h, &since, reterr);
        if (r == 0) {
                *ret_before = (NvVmmStatus) {};
                return 0;
        }
        if (r > 0)
                r = vmm.b->thaw_all(vmm.h, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Cannot thaw the VMM of domain '%s'"), e.def->name);
        *ret_before = (NvVmmStatus) { .frozen = true, .frozen_since_usec = since };
        return 0;
}
