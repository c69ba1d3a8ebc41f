/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirtd: org.nestvirt.NestedState1, the D-Bus API control planes use.
 * One file per interface, each handler in the order read, validate,
 * authorize, act, emit, reply:
 *
 *   manager.c  org.nestvirt.NestedState1.Manager  (the root object)
 *   machine.c  org.nestvirt.NestedState1.Machine  (one object per domain)
 *   job.c      org.nestvirt.NestedState1.Job      (one object per long operation)
 *   polkit.c   CheckAuthorization over sd-bus, asynchronously
 *
 * The event loop never blocks on a VMM: every save and restore runs as a
 * job on a worker thread of its own (the driver's flows are synchronous),
 * at most max_jobs at once, the rest queued; a worker reports back to the
 * loop through an eventfd.  libvirt calls made on the loop (listing and
 * reading domains) are short local calls.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "driver.h"

#define NV_SERVICE_NAME "org.nestvirt.NestedState1"
#define NV_SERVICE_PATH "/org/nestvirt/NestedState1"
#define NV_MANAGER_INTERFACE NV_SERVICE_NAME ".Manager"
#define NV_MACHINE_INTERFACE NV_SERVICE_NAME ".Machine"
#define NV_JOB_INTERFACE NV_SERVICE_NAME ".Job"
#define NV_MACHINE_PREFIX NV_SERVICE_PATH "/machine"
#define NV_JOB_PREFIX NV_SERVICE_PATH "/job"

#define NV_SERVICE_ERROR_NO_SUCH_MACHINE NV_SERVICE_NAME ".Error.NoSuchMachine"
#define NV_SERVICE_ERROR_NO_SUCH_JOB NV_SERVICE_NAME ".Error.NoSuchJob"
#define NV_SERVICE_ERROR_BUSY NV_SERVICE_NAME ".Error.Busy"
#define NV_SERVICE_ERROR_TOO_MANY_JOBS NV_SERVICE_NAME ".Error.TooManyJobs"
#define NV_SERVICE_ERROR_NOT_CANCELLABLE NV_SERVICE_NAME ".Error.NotCancellable"
#define NV_SERVICE_ERROR_FAILED NV_SERVICE_NAME ".Error.Failed"

/* MigrateCheck's destCapabilities: refused beyond this many bytes, before parsing. */
#define NV_SERVICE_CAPS_MAX_SIZE (64u * 1024u)

/* Polkit actions (data/org.nestvirt.policy). */
#define NV_ACTION_SAVE "org.nestvirt.nestedstate1.save"
#define NV_ACTION_RESTORE "org.nestvirt.nestedstate1.restore"
#define NV_ACTION_MAINTENANCE "org.nestvirt.nestedstate1.maintenance"

/* Flags of the mutating methods (u flags, last). */
#define NV_SERVICE_FLAG_KEEP_FROZEN 0x1u
#define NV_SERVICE_FLAGS_SAVE NV_SERVICE_FLAG_KEEP_FROZEN
/* Restore: load even into a VMM that did not resume from a saved state (Incoming false). */
#define NV_SERVICE_FLAG_FORCE 0x2u
#define NV_SERVICE_FLAGS_RESTORE NV_SERVICE_FLAG_FORCE

typedef enum NvJobType {
        NV_JOB_SAVE,
        NV_JOB_RESTORE,
        NV_JOB_SAVE_ALL,
        NV_JOB_RESTORE_ALL,
        _NV_JOB_TYPE_MAX,
} NvJobType;

typedef enum NvJobState {
        NV_JOB_QUEUED,
        NV_JOB_RUNNING,
        NV_JOB_COMPLETED,
        NV_JOB_FAILED,
        NV_JOB_CANCELLED,
        _NV_JOB_STATE_MAX,
} NvJobState;

typedef struct NvService NvService;
typedef struct NvJob NvJob;
typedef struct NvRegisteredVmm NvRegisteredVmm;
typedef struct NvMachine NvMachine;

typedef struct NvServiceConfig {
        unsigned max_jobs;      /* running at once; more are queued (default 4) */
        unsigned max_queued;    /* beyond this, new jobs are refused (default 64) */
        uint64_t linger_usec;   /* finished jobs stay visible this long (default 60 s) */
        gid_t vmm_gid;          /* besides root, this group may RegisterVmm; (gid_t) -1: none */
} NvServiceConfig;

struct NvService {
        sd_bus *bus;
        sd_event *event;
        NvDriver *driver;
        NvServiceConfig config;
        NvJob *jobs; /* newest first */
        unsigned next_job_id;
        unsigned n_running;
        sd_bus_slot *slots[6];       /* our vtables, enumerators and object manager */
        NvMachine **machines;        /* machine.c: one per domain with our metadata, sorted by name */
        size_t n_machines;
        /* The Manager's properties, read by offset: this host's facts, as at start. */
        char *version;
        char *host_vendor;
        int nested_enabled;
        uint32_t max_state_size;
        char *kernel_release;
        pthread_mutex_t registry_lock;   /* the registry is read by job workers */
        NvRegisteredVmm *registry;

        /* events.c: libvirt's events, queued by its thread, emitted by the loop */
        pthread_t events_thread;
        bool events_running;
        atomic_bool events_stop;
        int events_fd;
        sd_event_source *events_src;
        pthread_mutex_t events_lock;
        char **pending; /* domain names */
        size_t n_pending;
        bool pending_overflow;
};

int nv_service_new(sd_bus *bus, sd_event *event, NvDriver *driver, const NvServiceConfig *config, NvService **ret);
NvService *nv_service_free(NvService *s);

/* manager.c */
int nv_manager_add(NvService *s);

/* machine.c */
int nv_machine_add(NvService *s);
/* The object path of a domain (by UUID); free() it. */
int nv_machine_path(const char *uuid, char **ret);
/* Records a finished job's result for the domain and emits PropertiesChanged for its Machine object. */
void nv_machine_set_result(NvService *s, const char *uuid, const char *result);
/*
 * A machine by name, UUID or object path, from the table; a domain not in
 * it is asked of libvirt (and added if it has our metadata).  Else a D-Bus
 * error.  The machine stays valid until the loop runs again.
 */
int nv_machine_lookup(NvService *s, const char *name, NvMachine **ret, sd_bus_error *error);
const char *nv_machine_uuid(const NvMachine *m);
const char *nv_machine_name(const NvMachine *m);
const char *nv_machine_object_path(const NvMachine *m);
const NvDomainDef *nv_machine_def(const NvMachine *m);
/* Re-reads one domain from libvirt (after an event about it) and emits what changed; forgets it if gone. */
int nv_machine_refresh(NvService *s, const char *name);
/* Re-reads every domain (at start, after a reconnect). */
int nv_machines_resync(NvService *s, NvError **reterr);
/* ListMachines: appends (s name, s uuid, b active, o path) entries, by name. */
int nv_machine_append_list(NvService *s, sd_bus_message *reply);
void nv_machines_free(NvService *s);

/*
 * events.c: follow libvirt's lifecycle and metadata events on the driver's
 * connection (whose process must have called nv_conn_events_init() before
 * opening it) with PropertiesChanged on the machines.
 */
int nv_events_start(NvService *s, NvError **reterr);
/* nv_machines_resync(), its failure logged (the table stays as it was). */
void nv_service_resync(NvService *s);
void nv_events_stop(NvService *s);

/* registry.c: VMMs that handed over a socket pair end (RegisterVmm) */
/* Registers channel (a connected unix stream socket, checked by the caller) for uuid; keeps a copy of its own. */
int nv_registry_add(NvService *s, const char *uuid, int channel);
bool nv_registry_has(NvService *s, const char *uuid);
/* NvDriverConfig.vmm_lookup: 1 and a handle for a registered VMM, 0 if none. */
int nv_registry_lookup(void *userdata, const char *uuid, NvVmmHandle **ret, NvError **reterr);
void nv_registry_free(NvService *s);

/* job.c */
/* Reads a{sv} options, all reserved: any key is refused by name. */
int nv_service_read_options(sd_bus_message *m, sd_bus_error *error);
int nv_job_add_vtable(NvService *s);
/*
 * A mutating method's whole path: reads (a{sv} options, u flags) from m,
 * validates them and the domain (name, UUID or machine path; NULL for
 * SaveAll/RestoreAll), authorizes through polkit, queues the job and
 * replies its object path.
 */
int nv_job_request(NvService *s, sd_bus_message *m, NvJobType type, const char *domain, sd_bus_error *error);
/* The jobs, for ListJobs: appends (u id, s type, s state, s domain, o path) entries. */
int nv_job_append_list(NvService *s, sd_bus_message *reply);
void nv_jobs_free(NvService *s);

/*
 * polkit.c: decides whether the sender of m may do action.  root passes at
 * once; others are asked of polkit asynchronously (interactive if the
 * message allows it).  act(m, userdata) runs once authorized and replies
 * itself; a refusal replies the D-Bus error.  Returns < 0 only if the
 * question could not be asked (then error is set).
 */
/* The sender's effective uid and gid as the bus vouches for them; (uid_t) -1 / (gid_t) -1 if it does not. */
void nv_service_sender_ids(sd_bus_message *m, uid_t *ret_uid, gid_t *ret_gid);
/*
 * Whether the sender is a member of group gid, as the bus vouches for it:
 * on a bus, one of the groups dbus-daemon read from its socket
 * (UnixGroupIDs; the bus vouches for no effective gid, so that sd-bus
 * would fill it in from /proc, which we do not trust); peer to peer, its
 * effective gid.
 */
bool nv_service_sender_in_group(sd_bus_message *m, gid_t gid);

typedef int (*NvAuthorizedFunc)(NvService *s, sd_bus_message *m, void *userdata, sd_bus_error *error);
int nv_polkit_authorize(NvService *s, sd_bus_message *m, const char *action, NvAuthorizedFunc act, void *userdata,
                        void (*free_userdata)(void *), sd_bus_error *error);
