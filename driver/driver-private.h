/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the driver's flow files share; not installed, not for callers. */
#pragma once

#include <sys/types.h>
#include <time.h>

#include "driver.h"
#include "snapshot.h"

struct NvDriver {
        NvConn *conn;
        NvHostInfo host;
        const NvVmmBackend *vmm;
        NvVmmLookupFunc vmm_lookup;
        void *vmm_lookup_userdata;
        char *state_dir;
        char *runtime_dir;
};

int nv_driver_save(NvDriver *d, const char *domain, const NvSaveOptions *o, NvSaveResult *ret, NvError **reterr);
int nv_driver_restore(NvDriver *d, const char *domain, const NvRestoreOptions *o, NvRestoreResult *ret, NvError **reterr);

/* A running domain that has our metadata; else -ENOENT / -ESRCH naming it. */
int nv_driver_get_nested_domain(NvDriver *d, const char *name, NvDomainEntry *ret, NvError **reterr);
/* The domain's VMM, refused unless its VmUuid is the domain's UUID. */
int nv_driver_connect_vmm(NvDriver *d, const NvDomainDef *def, NvVmmHandle **ret, NvError **reterr);
/*
 * The prologue of every flow on a running domain: the domain with our
 * metadata, its lock, its VMM.  On failure the caller's cleanups release
 * what was taken (e and lock are cleanup-managed there).
 */
int nv_driver_begin(NvDriver *d, const char *domain, NvDomainEntry *e, NvDomainLock **lock, NvVmmHandle **h, NvError **reterr);
/* Every blob against the kernel's rules; counts the vCPUs in guest mode. */
int nv_driver_check_blobs(const NvSnapshot *s, unsigned *ret_guest_mode, NvError **reterr);
/* A new snapshot file name below STATE_DIR/DOMAIN (created 0700). */
int nv_state_file_path(const char *state_dir, const char *domain, uint64_t now, char **ret, NvError **reterr);
/* now (CLOCK_REALTIME usec) as a reference's time attribute. */
void nv_state_ref_time(uint64_t now, char ret[32]);
int nv_driver_migrate_begin(NvDriver *d, const char *domain, const NvMigrateOptions *o, char **ret_xml, NvError **reterr);

int nv_driver_save_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr);
int nv_driver_restore_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr);
int nv_mkdir_p(const char *path, mode_t mode, NvError **reterr);
uint64_t nv_now_usec(clockid_t clock);

static inline void nv_domain_entry_clear(NvDomainEntry *e) {
        e->def = nv_domain_def_free(e->def);
}
