/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The driver: the flows a host's management stack runs on nested state.
 * Callers (the CLI, nestvirtd, the hook) call the flows below; each states
 * its contract.  The one indirection is how VMMs are reached (vmm-backend.h).
 *
 * Every flow that touches a domain takes the domain's lock first (a flock
 * on RUNTIME_DIR/locks/UUID.lock), so two operations on one domain never
 * interleave, whether they come from one process or several.
 *
 * Nothing is half-written: a snapshot file is written durably before the
 * domain's XML points at it, the previous snapshot and reference stay
 * intact until then, and a refused restore leaves the VMM as it was.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "cpu-def.h"
#include "host.h"
#include "vmm-backend.h"
#include "vmx-caps.h"

typedef struct NvDriver NvDriver;

typedef struct NvDriverConfig {
        const char *uri;            /* libvirt URI; NULL: $LIBVIRT_DEFAULT_URI or libvirt's default */
        const char *state_dir;      /* NULL: $NESTVIRT_STATE_DIR, else the build's default (/var/lib/nestvirt) */
        const char *runtime_dir;    /* NULL: $NESTVIRT_RUNTIME_DIR, else the build's default (/run/nestvirt) */
        const NvHostInfo *host;     /* this host's facts */
        const NvVmmBackend *vmm;    /* how to reach VMMs (the D-Bus client) */
} NvDriverConfig;

/* Opens the libvirt connection and remembers the rest of config (copied). */
int nv_driver_new(const NvDriverConfig *config, NvDriver **ret, NvError **reterr);
NvDriver *nv_driver_free(NvDriver *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvDriver *, nv_driver_free);

NvConn *nv_driver_conn(NvDriver *d);

/*
 * VMMs that registered themselves with the caller (nestvirtd's RegisterVmm):
 * lookup returns 1 and a handle of the driver's VMM backend for the domain
 * with this UUID, or 0 to reach its VMM as the metadata says.  Called from
 * whatever thread runs a flow.
 */
typedef int (*NvVmmLookupFunc)(void *userdata, const char *uuid, NvVmmHandle **ret, NvError **reterr);
void nv_driver_set_vmm_lookup(NvDriver *d, NvVmmLookupFunc lookup, void *userdata);
/* $NESTVIRT_RUNTIME_DIR / $NESTVIRT_STATE_DIR, else the build's defaults. */
const char *nv_default_dir(bool runtime);
const char *nv_driver_state_dir(const NvDriver *d);
const NvHostInfo *nv_driver_host(const NvDriver *d);

typedef struct NvSaveOptions {
        const char *file;  /* NULL: STATE_DIR/DOMAIN/TIMESTAMP.nvstate */
        bool keep_frozen;  /* leave the VMM frozen after a successful save, even when we disconnect */
} NvSaveOptions;

typedef struct NvSaveResult {
        NvStateRef ref;            /* what the domain's XML now points at; ref.path is owned */
        unsigned guest_mode_vcpus; /* vCPUs that were running an L2 guest */
        uint64_t bytes;            /* size of the snapshot file */
        uint64_t frozen_usec;      /* how long the VMM stayed frozen (0 with keep_frozen or found_frozen) */
        bool found_frozen;         /* the VMM was frozen already (a kept freeze): left frozen */
        bool own_pause;            /* keep_frozen of a process-transport VMM: its own pause keeps it stopped, not us */
} NvSaveResult;

typedef struct NvRestoreOptions {
        const char *file;  /* NULL: the snapshot the domain's XML references */
        /*
         * Load even into a VMM that does not say it resumed from a saved
         * state (its Incoming property false or absent).  Without it such
         * a VMM is refused (-ESTALE) before anything is read: old nested
         * state loaded into a running VM corrupts its L2 guests.
         */
        bool force;
} NvRestoreOptions;

typedef struct NvRestoreResult {
        char *path;                /* the snapshot loaded, NULL if none was */
        bool loaded;               /* false: the policy let the VM run on without nested state */
        char *skipped_why;         /* why nothing was loaded (loaded == false) */
        unsigned vcpus;
        unsigned guest_mode_vcpus;
        uint64_t frozen_usec;
        /* Why the kernel's own verdict (every blob on a scratch vCPU first) was not asked, untranslated (N_()); NULL: it was, and it accepted. */
        const char *kernel_unchecked;
} NvRestoreResult;

void nv_save_result_clear(NvSaveResult *r);
void nv_restore_result_clear(NvRestoreResult *r);

#define NV_MIGRATE_MAX_PROBLEMS 64 /* one per missing CPU feature, and the host facts */

/* What stands between a domain's nested state and another host. */
typedef struct NvMigrateCheck {
        int vendor;        /* NV_FORMAT_* of the state that would travel; -1: none to carry */
        size_t n_problems; /* 0: it can go */
        char problems[NV_MIGRATE_MAX_PROBLEMS][256];
        size_t n_unchecked; /* checks that could not be made, each a static untranslated N_() string */
        const char *unchecked[4];
        size_t n_vmx;       /* the nested VMX differences among the problems, as data (--json) */
        NvVmxCapDiff vmx[NV_MIGRATE_MAX_PROBLEMS];
} NvMigrateCheck;

/*
 * From the two hosts' facts and the domain's XML alone: same vendor, nested
 * on, state size, a nested mode there; for VMX, every control or capability
 * of the source's nested VMX MSRs the destination lacks or forces (a note in
 * unchecked where either host's MSRs were not measured).
 */
void nv_migrate_check(const NvDomainDef *def, const NvHostInfo *src, const NvHostInfo *dst, NvMigrateCheck *ret);
/*
 * The CPU half, for QEMU domains on libvirt: the domain's CPU (its <cpu>;
 * host-model and host-passthrough: this host's host-model CPU) and the
 * destination's host-model CPU (from its `virsh domcapabilities`, parsed
 * with nv_cpu_def_parse_domcaps) are both expanded by this host's libvirt,
 * and each feature the domain requires that the destination lacks is a
 * problem of its own, VMX controls (vmx-*) named as such.  Another
 * comparison adds its problems to the same ret the same way.  Returns 0,
 * or -errno when libvirt could not expand a CPU (nothing was compared).
 */
int nv_migrate_check_cpu(NvConn *conn, const NvDomainDef *def, const char *domain_xml, const NvCpuDef *dest_host_model,
                         NvMigrateCheck *ret, NvError **reterr);
/* The comparison itself, of two CPUs libvirt expanded: each feature mine requires that there does not. */
void nv_migrate_check_cpu_defs(const NvCpuDef *mine, const NvCpuDef *there, NvMigrateCheck *ret);
/* 0 if c found nothing, else -EXDEV with every problem in one message naming the domain. */
int nv_migrate_check_error(const NvDomainDef *def, const NvMigrateCheck *c, NvError **reterr);

typedef struct NvMigrateOptions {
        const NvHostInfo *dest; /* the destination's facts: refuse, before freezing, what nv_migrate_check refuses */
        const char *shared_dir; /* write the snapshot here (storage both hosts see) and reference it */
        size_t inline_max;      /* else inline up to this many bytes (0: NV_META_MAX_INLINE) */
} NvMigrateOptions;

/* --- host maintenance: every nested domain at once (save-all, restore-all) --- */

typedef enum NvMaintStatus {
        NV_MAINT_NOT_BEGUN, /* the run ended before this domain's turn (out of memory, or its record could not be removed) */
        NV_MAINT_DONE,
        NV_MAINT_SKIPPED, /* nothing to do for this domain (message says why) */
        NV_MAINT_FAILED,
} NvMaintStatus;

typedef struct NvMaintItem {
        char *domain;
        char uuid[37];
        char sha256[65];         /* the snapshot saved, or recorded for restore ("" if none) */
        NvMaintStatus status;
        char *message;           /* SKIPPED, FAILED: why */
        NvSaveResult save;       /* save-all, DONE */
        NvRestoreResult restore; /* restore-all, DONE */
} NvMaintItem;

typedef struct NvMaintReport {
        NvMaintItem *items;
        size_t n, n_done, n_skipped, n_failed;
} NvMaintReport;

/*
 * Before each domain (item->status not yet set, done false) and after it
 * (done true).  With several jobs, from their threads, but never two calls
 * at once; "after" calls come in the order the domains finish.
 */
typedef void (*NvMaintProgressFunc)(size_t index, size_t total, const NvMaintItem *item, bool done, void *userdata);

typedef struct NvMaintOptions {
        bool keep_frozen;             /* save-all: leave every saved VMM frozen (the host is going down) */
        unsigned jobs;                /* domains under way at once, each in a thread of its own; 0 or 1: one after another */
        const atomic_bool *cancel;    /* optional: once true, the domains not begun yet fail as cancelled */
        /* save-all: how long a sync or record write may wait for domains about to join it; 0: 20 ms (docs/maintenance.md) */
        unsigned commit_delay_usec;
        NvMaintProgressFunc progress; /* optional */
        void *userdata;
} NvMaintOptions;

void nv_maint_report_clear(NvMaintReport *r);

/*
 * The CPU model cache (STATE_DIR/cpu-models.xml), the hook's copy of what
 * libvirt says CPU models carry.  save writes what c learnt from libvirt
 * (merged with the file's answers from this same host) atomically and
 * durably when it changed: 1 written, 0 nothing to write.
 */
int nv_cpu_cache_save(NvConn *c, const char *state_dir, const NvHostInfo *host, NvError **reterr);
/*
 * Sets def->cpu_has from the cache and returns 1; returns 0 with *ret_why
 * when the cache cannot say (none, stale, no such model, another emulator),
 * and def stays as it was: the mode then is unknown, never a refusal.
 */
int nv_cpu_cache_apply(const char *state_dir, const NvHostInfo *host, NvDomainDef *def, const char **ret_why);

/* What the libvirt hook knows: this host and its directories, never a libvirt connection. */
/* Where libvirt's QEMU driver (qemu:///system) keeps managed-save images, NAME.save; libvirt's path, not ours. */
#define NV_QEMU_SAVE_DIR "/var/lib/libvirt/qemu/save"

typedef struct NvHookContext {
        const NvHostInfo *host;
        const char *state_dir;
        const char *runtime_dir;
        const char *qemu_save_dir; /* libvirt's managed-save images (NAME.save), checked on restore; NULL: not checked */
} NvHookContext;

/*
 * Freezes the running domain's VMM, collects every vCPU's nested state,
 * validates it, writes the snapshot durably, points the domain's metadata
 * at it (live, and config for a persistent domain; the old reference moves
 * to <previous>), then thaws.  On failure the VMM is thawed and the
 * previous snapshot and reference are intact.
 */
int nv_driver_save(NvDriver *d, const char *domain, const NvSaveOptions *o, NvSaveResult *ret, NvError **reterr);
/*
 * Reads the referenced snapshot (or o->file), checks its SHA-256 against
 * the reference, its integrity, the VMM's vCPU count, every blob against
 * the kernel's rules and the VMM's vendor, and only then freezes the VMM,
 * loads and thaws.  A refusal leaves the VMM as it was; the domain's
 * onMissing / onIncompatible policy "continue" turns a missing or
 * incompatible snapshot into a thaw without nested state (reported in
 * ret).  On a migration's destination this is the last step, once the VMM
 * runs: it loads what the hook landed.
 */
int nv_driver_restore(NvDriver *d, const char *domain, const NvRestoreOptions *o, NvRestoreResult *ret, NvError **reterr);
/*
 * Source side of a migration, before libvirt's own: freezes the VMM (it
 * stays frozen; the source is about to stop), collects and validates its
 * state and returns the domain's migratable XML with the state in our
 * metadata: inline (base64, up to inline_max bytes) or, with shared_dir or
 * when larger, as a reference to a file written there.  With o->dest,
 * nv_migrate_check runs first and any problem refuses the migration before
 * the VMM is frozen.  Pass the XML as libvirt's destination XML.  On
 * failure the VMM is thawed and nothing was written.
 */
int nv_driver_migrate_begin(NvDriver *d, const char *domain, const NvMigrateOptions *o, char **ret_xml, NvError **reterr);
/*
 * Host shutdown: save every running domain that has our metadata, up to
 * o->jobs at once, going on past a failed one (each outcome is in ret).
 * The last cycle's record (STATE_DIR/maintenance.list) is removed first,
 * and each domain is added to the record durably as soon as it is saved
 * (domains saved meanwhile share one rewrite), and reported saved only
 * then: a run stopped partway (o->cancel, a signal, a crash) leaves a
 * record of exactly the domains it reported saved, for restore_all.  Returns < 0 only when no domain
 * could be tried (libvirt unreachable, the old record not removable); ret
 * is filled either way.
 */
int nv_driver_save_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr);
/*
 * Host boot: restore the domains the last save_all recorded, each only if
 * its XML still references the recorded snapshot (else it was saved anew
 * or changed, and is skipped) and its VMM resumed from a saved state (else
 * it booted afresh, and is skipped).  Failed domains stay in the record so
 * a later run can retry them; the record goes away once none is left.  No
 * record: nothing to do.
 */
int nv_driver_restore_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr);

/* --- a VMM's freeze, seen and ended (driver/thaw.c) --- */

typedef struct NvVmmStatus {
        bool frozen;
        uint64_t frozen_since_usec; /* CLOCK_REALTIME; 0: not frozen, or the VMM does not say */
} NvVmmStatus;

/* Asks the running domain's VMM whether it is frozen, and since when.  Takes no lock: it changes nothing. */
int nv_driver_vmm_status(NvDriver *d, const NvDomainDef *def, NvVmmStatus *ret, NvError **reterr);
/*
 * Ends the freeze of the domain's VMM, whoever holds it (a kept freeze
 * after save --keep-frozen or migrate-begin included), under the domain's
 * lock.  *ret_before says whether it was frozen, and since when; a VMM
 * that is not frozen is left alone (success).
 */
int nv_driver_thaw(NvDriver *d, const char *domain, NvVmmStatus *ret_before, NvError **reterr);

/*
 * Destination side of a migration and of a restore from a saved image:
 * the libvirt hook (argv = DOMAIN OP SUBOP EXTRA, xml from stdin).  prepare
 * refuses a domain this host cannot nest; migrate and restore verify the
 * incoming state before the VMM exists, land inline state in a local file
 * and return the rewritten XML in *ret_xml (NULL: unchanged); release
 * drops the lock file.  Never calls libvirt.
 */
int nv_hook_run(const NvHookContext *ctx, const char *const argv[4], const char *xml, size_t len, char **ret_xml, NvError **reterr);

/* --- shared by the flows (driver-private in spirit, public for tests) --- */

typedef struct NvDomainLock NvDomainLock;

/* Takes the domain's lock without waiting: -EBUSY names the domain if another operation holds it. */
int nv_domain_lock(NvDriver *d, const char *uuid, const char *name, NvDomainLock **ret, NvError **reterr);
NvDomainLock *nv_domain_unlock(NvDomainLock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvDomainLock *, nv_domain_unlock);
