/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.Vmm1, served by the agent.  Layout as in systemd's
 * timedated.c: state, helpers, property getters, methods, vtable.  Every
 * method: read -> validate -> authorize -> act -> emit -> reply.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "agent.h"
#include "macro.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu.h"
#include "vmm-protocol.h"

/*
 * Connections: at most MAX_CONNECTIONS at once; a uid other than root and
 * the VMM's own holds at most MAX_PER_UID of them, so root and the owner
 * always find a slot.  When the table is full the connection silent the
 * longest (at least EVICT_MIN_IDLE_USEC) makes room; if none has been,
 * accepting pauses and callers wait in the listen backlog.  An accepted
 * connection silent for the idle timeout is closed.
 */
#define MAX_CONNECTIONS 64
#define MAX_PER_UID 32
#define LISTEN_BACKLOG SOMAXCONN
#define EVICT_MIN_IDLE_USEC (1000u * 1000u)
#define DEFAULT_IDLE_TIMEOUT_USEC (60u * 1000u * 1000u)
/* Freezes held at once (each Freeze is one, until its Thaw). */
#define MAX_HOLDS 64
/* Callers on one bus connection whose uid is remembered (when full, entries give way in turn). */
#define MAX_CALLERS 64

typedef struct Conn Conn;

/* One Freeze: the VMM stays frozen while any hold remains. */
typedef struct Hold {
        uint64_t token;
        Conn *conn;   /* whose disconnect ends it; NULL: kept (keep-frozen) */
        char *sender; /* on a bus: the caller's unique name, whose going away ends it too */
} Hold;

/*
 * A caller on a bus, by unique name, with its uid.  A bus never gives a
 * unique name to a second connection and the uid is fixed when the caller
 * authenticated, so the uid asked once holds for the name's life; the
 * entry goes when the bus says the name is gone (NameOwnerChanged).
 */
typedef struct Caller {
        char *name;
        uid_t uid;
} Caller;

struct Conn {
        NvAgent *a;
        sd_bus *bus;
        sd_bus_slot *vtable, *owner_changed;
        sd_event_source *io, *timer, *idle; /* ours: NULL for a bus the VMM attached itself */
        uid_t uid;                         /* accepted: the peer's; else (uid_t) -1 */
        bool accepted;                     /* from our listening socket: bounded, evictable, timed out */
        bool dead;                         /* disconnected while being processed: dropped after */
        uint64_t last_active;              /* CLOCK_MONOTONIC usec */
        int peer_allowed;                  /* p2p: the peer's verdict, asked once; -1 not yet */
        Caller callers[MAX_CALLERS];       /* bus: each sender's uid, asked once */
        size_t n_callers, next_evict;
};

struct NvAgent {
        NvAgentVmm vmm;
        char *vm_uuid;
        bool frozen;            /* any hold: the property Frozen */
        bool call_paused;       /* paused by a Collect or Load for the call's length (Frozen stays as it was) */
        uint64_t frozen_since;  /* FrozenSince: CLOCK_REALTIME usec of the first hold's pause, 0 when not frozen */
        bool incoming;          /* resumed from a saved state, nested state not loaded yet */
        Hold holds[MAX_HOLDS];
        size_t n_holds;
        bool p2p_checked;       /* connections were vetted at accept time */
        NvHostInfo host;        /* this host's facts for the snapshot header: probed at start, not inside a freeze */
        bool have_host;
        NvWarm work;            /* one image's room, made at the first need and kept: Collect builds in it, Load reads into it */
        NvWarm undo;            /* Load's room for the states it replaces, made and kept likewise */
        Conn *conns[MAX_CONNECTIONS];
        sd_event *event;
        sd_event_source *listener, *retry;
        int listen_fd;
        char *socket_path;
};

/* --- helpers --- */

static int nv_to_bus_error(sd_bus_error *error, const char *name, int r, const NvError *err) {
        return sd_bus_error_setf(error, name, "%s", nv_error_message(err, r));
}

static Caller *caller_find(Conn *c, const char *name) {
        for (size_t i = 0; i < c->n_callers; i++)
                if (strcmp(c->callers[i].name, name) == 0)
                        return &c->callers[i];
        return NULL;
}

static void caller_forget(Conn *c, const char *name) {
        Caller *k = caller_find(c, name);

        if (!k)
                return;
        free(k->name);
        *k = c->callers[--c->n_callers];
}

/* The bus's answer remembered for the sender's life; full: the entries give way in turn, round robin. */
static void caller_remember(Conn *c, const char *name, uid_t uid) {
        char *copy = strdup(name);
        size_t i = c->n_callers;

        if (!copy)
                return; /* asked again next time */
        if (i == MAX_CALLERS) {
                i = c->next_evict++ % MAX_CALLERS;
                free(c->callers[i].name);
        } else
                c->n_callers++;
        c->callers[i] = (Caller) { .name = copy, .uid = uid };
}

/* The uid of m's sender: asked of the bus (a round trip to the daemon) the first time only. */
static int caller_uid(Conn *c, sd_bus_message *m, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        Caller *k = sender ? caller_find(c, sender) : NULL;
        int r;

        if (k) {
                *ret = k->uid;
                return 0;
        }
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, ret);
        if (r >= 0 && sender)
                caller_remember(c, sender, *ret);
        return r;
}

static Conn *conn_of(NvAgent *a, sd_bus_message *m);

static int caller_allowed(NvAgent *a, sd_bus_message *m) {
        sd_bus *bus = sd_bus_message_get_bus(m);
        Conn *c = conn_of(a, m);
        uid_t uid;

        if (!c)
                return 0;
        if (!sd_bus_is_bus_client(bus)) {
                if (c->accepted || a->p2p_checked)
                        return 1; /* peer credentials checked at accept or OpenChannel, or a peer the VMM chose (serve_fd) */
                if (c->peer_allowed < 0 && caller_uid(c, m, &uid) >= 0) /* one peer: its credentials do not change */
                        c->peer_allowed = uid == 0 || uid == a->vmm.allowed_uid;
                return c->peer_allowed > 0;
        }
        return caller_uid(c, m, &uid) >= 0 && (uid == 0 || uid == a->vmm.allowed_uid);
}

/* The authorize step of every method. */
static int authorize(NvAgent *a, sd_bus_message *m, sd_bus_error *error) {
        if (caller_allowed(a, m))
                return 0;
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only the nestvirt driver may call this VMM.");
}

/* property and, if not NULL, also: one PropertiesChanged (on a bus each signal is a trip through the daemon). */
static void emit_changed(NvAgent *a, const char *property, const char *also) {
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->conns[i] && !a->conns[i]->dead)
                        (void) sd_bus_emit_properties_changed(a->conns[i]->bus, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, property, also,
                                                              NULL);
}

/* Ends hold i; the last one to go resumes the VMM. */
static int hold_end(NvAgent *a, size_t i) {
        free(a->holds[i].sender);
        a->holds[i] = a->holds[--a->n_holds];
        if (a->n_holds > 0 || !a->frozen)
                return 0;
        a->frozen = false;
        a->frozen_since = 0;
        emit_changed(a, "Frozen", "FrozenSince");
        return a->vmm.resume(a->vmm.userdata);
}

/* A caller on a bus is gone: the holds it made without keep-frozen end, as a p2p connection's do. */
static int holds_end_sender(NvAgent *a, const Conn *conn, const char *sender) {
        int r = 0;

        for (size_t i = a->n_holds; i-- > 0;)
                if (a->holds[i].conn == conn && a->holds[i].sender && strcmp(a->holds[i].sender, sender) == 0)
                        r = hold_end(a, i) ?: r;
        return r;
}

/* Ends the holds conn made without keep-frozen (conn NULL: every hold, kept ones too). */
static int holds_end(NvAgent *a, const Conn *conn) {
        int r = 0;

        for (size_t i = a->n_holds; i-- > 0;)
                if (!conn || a->holds[i].conn == conn)
                        r = hold_end(a, i) ?: r;
        return r;
}

/*
 * The work buffer, made and its pages written when first needed, before
 * any pause, and kept: Collect builds each image in it and Load reads
 * each one into it.  A new buffer's pages cost a trap each at their first
 * write on some machines, far more than the bytes (docs/performance.md);
 * kept, they cost one image and one set of vCPU states (the undo buffer
 * Load keeps the replaced states in): about 2 MiB at 256 SVM vCPUs.
 */
static int work_ensure(NvAgent *a, NvError **reterr) {
        size_t n = a->vmm.n_vcpus, likely = nv_format_max_size(nv_kvm_vendor(a->vmm.kvm));
        size_t room = nv_snapshot_image_max(n, nv_vcpu_nested_room(a->vmm.vcpus[0]));
        int r = 0;

        if (!a->work.data)
                r = nv_warm_reserve(&a->work, room, nv_snapshot_image_max(n, likely));
        if (r >= 0 && !a->undo.data)
                r = nv_warm_reserve(&a->undo, room = nv_vcpus_undo_size(a->vmm.vcpus, n), n * (likely + 8));
        return r < 0 ? nv_error_set(reterr, r, _("Cannot reserve %zu bytes for the nested state: %s"), room, strerror(-r)) : 0;
}

/*
 * Every vCPU's blob, as a snapshot image in the work buffer: KVM writes
 * each blob where the image has it.  This is what a freeze holds; the
 * copy into a memfd comes after (seal()).
 */
static int collect(NvAgent *a, size_t *ret_len, unsigned *ret_guest, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = nv_snapshot_new(nv_kvm_vendor(a->vmm.kvm));
        NvSnapshotBuilder b;
        int r;

        if (!s)
                return -ENOMEM;
        r = nv_snapshot_builder_init(&b, s->vendor, a->work.data, a->work.size, a->vmm.n_vcpus, reterr);
        if (r >= 0)
                r = nv_vcpus_get_nested_image(a->vmm.vcpus, a->vmm.n_vcpus, &b, ret_guest, reterr);
        if (r < 0)
                return r;
        s->cap_nested_state = (uint32_t) nv_kvm_nested_state_max(a->vmm.kvm);
        /* The host facts a later restore or migration check compares against (probed once, at start). */
        nv_snapshot_stamp(s, a->have_host ? &a->host : NULL);
        return nv_snapshot_builder_finish(&b, s, ret_len, reterr);
}

/*
 * The collected image, copied by the kernel into a new sealed memfd: one
 * pass, without the page traps a memfd written in place would take.
 */
static int seal(NvAgent *a, size_t len, int *ret_fd, NvError **reterr) {
        return nv_memfd_seal_new(a->work.data, len, ret_fd, reterr);
}

/* The blobs of snapshot s, matched to our vCPUs by id; names the mismatch. */
static int match_vcpus(NvAgent *a, const NvSnapshot *s, NvBlob *blobs, const char **ret_name, NvError **reterr) {
        if (s->vendor != nv_kvm_vendor(a->vmm.kvm)) {
                *ret_name = NV_VMM_ERROR_VENDOR_MISMATCH;
                return nv_error_set(reterr, -EINVAL, _("The state is %s but this VM's vCPUs are %s."), nv_format_to_string(s->vendor),
                                    nv_format_to_string(nv_kvm_vendor(a->vmm.kvm)) ?: "?");
        }
        *ret_name = NV_VMM_ERROR_VCPU_COUNT_MISMATCH;
        if (s->n_vcpus != a->vmm.n_vcpus)
                return nv_error_set(reterr, -EINVAL, _("The state holds %zu vCPUs but this VM has %zu."), s->n_vcpus, a->vmm.n_vcpus);
        for (size_t i = 0; i < s->n_vcpus; i++) {
                if (s->vcpus[i].index != nv_vcpu_id(a->vmm.vcpus[i]))
                        return nv_error_set(reterr, -EINVAL, _("The state's vCPU %u does not match this VM's vCPU %u."),
                                            s->vcpus[i].index, nv_vcpu_id(a->vmm.vcpus[i]));
                blobs[i] = s->vcpus[i].blob;
        }
        return 0;
}

/* A random, non-zero token naming one freeze. */
static uint64_t new_token(void) {
        sd_id128_t id = {};

        (void) sd_id128_randomize(&id);
        return id.qwords[0] | 1;
}

/* --- properties --- */

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "s", a->vm_uuid);
}

static int property_get_vendor(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "s", nv_format_to_string(nv_kvm_vendor(a->vmm.kvm)) ?: "");
}

static int property_get_vcpus(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "u", (uint32_t) a->vmm.n_vcpus);
}

static int property_get_max_size(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "u", (uint32_t) nv_kvm_nested_state_max(a->vmm.kvm));
}

/* A bool field of NvAgent: sd-bus adds the vtable entry's offset to userdata, as systemd's bus_property_get_bool. */
static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "b", *(bool *) userdata);
}

/* A uint64_t field of NvAgent, by offset as property_get_bool. */
static int property_get_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "t", *(uint64_t *) userdata);
}

/* --- methods --- */

/*
 * Reads a{sv} options of which only the boolean keys in names[] are known
 * (values[] gets them); other keys are skipped, as the protocol says.  A
 * known key with another type is InvalidArgs, naming it.
 */
static int read_bool_options(sd_bus_message *m, const char *const *names, int *values, size_t n, sd_bus_error *error) {
        const char *key, *contents;
        size_t i;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                for (i = 0; r >= 0 && i < n && strcmp(key, names[i]) != 0; i++)
                        ;
                if (r >= 0 && i < n) {
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                        if (r >= 0 && strcmp(contents, "b") != 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' must be a boolean (b), not '%s'.",
                                                         key, contents);
                        if (r >= 0)
                                r = sd_bus_message_read(m, "v", "b", &values[i]);
                } else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

static Conn *conn_of(NvAgent *a, sd_bus_message *m) {
        sd_bus *bus = sd_bus_message_get_bus(m);

        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->conns[i] && a->conns[i]->bus == bus)
                        return a->conns[i];
        return NULL;
}

/*
 * Each Freeze is a hold of its own with a token of its own: the VMM pauses
 * at the first and resumes when the last ends, so two callers never end
 * each other's freeze.  A hold ends by Thaw with its token, or when its
 * connection goes, unless it was made with keep-frozen.
 */
static int method_freeze(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        static const char *const names[] = { NV_VMM_OPTION_KEEP_FROZEN };
        NvAgent *a = userdata;
        int keep = 0, r;

        r = read_bool_options(m, names, &keep, ELEMENTSOF(names), error);
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (a->n_holds == MAX_HOLDS)
                return sd_bus_error_setf(error, NV_VMM_ERROR_BUSY, "The VMM holds %d freezes already; thaw one first.", MAX_HOLDS);
        if (!a->frozen) {
                /* A GetNestedState likely follows: its buffer made now, not frozen (a failure is the Get's to report). */
                if (nv_kvm_nested_state_max(a->vmm.kvm) > 0)
                        (void) work_ensure(a, NULL);
                r = a->vmm.pause(a->vmm.userdata);
                if (r < 0) /* the protocol's name for "cannot freeze now", whatever the VMM's reason */
                        return sd_bus_error_setf(error, NV_VMM_ERROR_BUSY, "The VMM could not pause its vCPUs: %s", strerror(-r));
                a->frozen = true;
                a->frozen_since = nv_now_usec(CLOCK_REALTIME); /* wall clock: an operator compares it with others */
                emit_changed(a, "Frozen", "FrozenSince");
        }
        a->holds[a->n_holds] = (Hold) { .token = new_token(), .conn = keep ? NULL : conn_of(a, m) };
        if (!keep && sd_bus_is_bus_client(sd_bus_message_get_bus(m)) && sd_bus_message_get_sender(m))
                a->holds[a->n_holds].sender = strdup(sd_bus_message_get_sender(m)); /* NULL: ends with the connection only */
        a->n_holds++;
        return sd_bus_reply_method_return(m, "t", a->holds[a->n_holds - 1].token);
}

static int unsupported(sd_bus_error *error) {
        return sd_bus_error_set(error, NV_VMM_ERROR_UNSUPPORTED, "This kernel cannot save nested state (KVM_CAP_NESTED_STATE is 0).");
}

static int resume_failed(sd_bus_error *error, int r) {
        return sd_bus_error_set_errnof(error, -r, "The VMM could not resume its vCPUs: %s", strerror(-r));
}

/* Thaw(token): ends that hold.  Option "all": ends every hold, kept ones too (an operator's thaw). */
static int method_thaw(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        static const char *const names[] = { NV_VMM_OPTION_ALL };
        NvAgent *a = userdata;
        uint64_t token;
        size_t i;
        int all = 0, r;

        r = sd_bus_message_read(m, "t", &token);
        if (r >= 0)
                r = read_bool_options(m, names, &all, ELEMENTSOF(names), error);
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (a->n_holds == 0)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "The VM is not frozen.");
        for (i = 0; i < a->n_holds && a->holds[i].token != token; i++)
                ;
        if (!all && i == a->n_holds)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "That token names no freeze held on this VMM.");
        r = all ? holds_end(a, NULL) : hold_end(a, i);
        if (r < 0)
                return resume_failed(error, r);
        return sd_bus_reply_method_return(m, NULL);
}

/*
 * The hold of one Collect or Load, for that call only: it pauses the vCPUs
 * only if no hold has, and ends before the reply.  It has no token and
 * changes neither Frozen nor FrozenSince: the agent answers one call at a
 * time, so nobody could have seen them change, and on a bus each
 * PropertiesChanged is one more trip through the daemon.
 */
typedef struct CallHold {
        bool paused;   /* this call paused the vCPUs (no other hold existed) */
        uint64_t start; /* CLOCK_MONOTONIC usec, just before the pause */
        uint64_t usec;  /* set by call_hold_end: from before the pause to after the resume; 0 if not paused */
} CallHold;

static int call_hold_begin(NvAgent *a, CallHold *h, sd_bus_error *error) {
        int r;

        *h = (CallHold) {};
        if (a->frozen)
                return 0; /* another hold has the VMM frozen: it stays so */
        h->start = nv_now_usec(CLOCK_MONOTONIC);
        r = a->vmm.pause(a->vmm.userdata);
        if (r < 0) /* as Freeze's */
                return sd_bus_error_setf(error, NV_VMM_ERROR_BUSY, "The VMM could not pause its vCPUs: %s", strerror(-r));
        h->paused = a->call_paused = true;
        return 0;
}

/* Resumes what call_hold_begin paused; the window, rounded up so that a pause is never 0. */
static int call_hold_end(NvAgent *a, CallHold *h) {
        int r;

        if (!h->paused)
                return 0;
        a->call_paused = false;
        r = a->vmm.resume(a->vmm.userdata);
        h->usec = nv_now_usec(CLOCK_MONOTONIC) - h->start ?: 1;
        return r;
}

/*
 * GetNestedState's info; with hold (Collect) also "frozen-usec" and
 * "found-frozen".  No "sha256" since format version 2: a hash inside the
 * freeze is what the format's CRC-32Cs avoid.
 */
static int append_info(sd_bus_message *reply, size_t size, size_t vcpus, unsigned guest, const CallHold *hold, bool found) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "size", "t", (uint64_t) size, "vcpus", "u", (uint32_t) vcpus,
                                          "guest-mode-vcpus", "u", guest, "format-version", "u", NV_SNAPSHOT_VERSION);
        if (r >= 0 && hold)
                r = sd_bus_message_append(reply, "{sv}{sv}", NV_VMM_INFO_FROZEN_USEC, "t", hold->usec, NV_VMM_INFO_FOUND_FROZEN, "b",
                                          found);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* The state and its info as m's reply. */
static int reply_state(NvAgent *a, sd_bus_message *m, int fd, size_t len, unsigned guest, const CallHold *hold, bool found) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "h", fd);
        if (r >= 0)
                r = append_info(reply, len, a->vmm.n_vcpus, guest, hold, found);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* The options of a method that knows none (skipped, as the protocol says), then authorize. */
static int read_no_options(NvAgent *a, sd_bus_message *m, sd_bus_error *error) {
        int r = sd_bus_message_skip(m, "a{sv}");

        return r < 0 ? r : authorize(a, m, error);
}

static int method_get_nested_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_close_ int fd = -1;
        NvAgent *a = userdata;
        unsigned guest = 0;
        size_t len = 0;
        int r;

        r = read_no_options(a, m, error);
        if (r < 0)
                return r;
        if (!a->frozen)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "Freeze the VM before collecting its nested state.");
        if (nv_kvm_nested_state_max(a->vmm.kvm) <= 0)
                return unsupported(error);
        r = work_ensure(a, &err); /* made at the Freeze, unless that failed */
        if (r >= 0)
                r = collect(a, &len, &guest, &err);
        if (r >= 0)
                r = seal(a, len, &fd, &err);
        if (r < 0)
                return nv_to_bus_error(error, NV_VMM_ERROR_FAILED, r, err);
        return reply_state(a, m, fd, len, guest, NULL, false);
}

/*
 * Freeze, GetNestedState and Thaw in one call: the freeze lasts only the
 * collect, and a caller through a bus pays one round trip, not three.  A
 * VMM frozen by another hold stays frozen ("found-frozen").
 */
static int method_collect(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_close_ int fd = -1;
        NvAgent *a = userdata;
        unsigned guest = 0;
        CallHold hold;
        bool found;
        size_t len = 0;
        int r, t;

        r = read_no_options(a, m, error);
        if (r < 0)
                return r;
        if (nv_kvm_nested_state_max(a->vmm.kvm) <= 0)
                return unsupported(error); /* before any pause */
        r = work_ensure(a, &err);
        if (r < 0)
                return nv_to_bus_error(error, NV_VMM_ERROR_FAILED, r, err);
        found = a->frozen;
        r = call_hold_begin(a, &hold, error);
        if (r < 0)
                return r;
        r = collect(a, &len, &guest, &err);
        t = call_hold_end(a, &hold);
        if (r >= 0)
                r = seal(a, len, &fd, &err); /* resumed: the VM runs while the image is copied */
        if (r < 0)
                return nv_to_bus_error(error, NV_VMM_ERROR_FAILED, r, err);
        if (t < 0)
                return resume_failed(error, t);
        return reply_state(a, m, fd, len, guest, &hold, found);
}

/*
 * The image in fd, copied into the work buffer (or, if it does not fit
 * there, into *ret_own): our own copy, which no sender can change while
 * it is checked and loaded, in memory whose pages are already there.
 */
static int load_read(NvAgent *a, int fd, const uint8_t **ret_img, size_t *ret_len, uint8_t **ret_own, NvError **reterr) {
        uint8_t *buf;
        size_t size = 0;
        int r;

        r = nv_memfd_check_sealed(fd, NV_SNAPSHOT_MAX_SIZE, 0, &size, reterr);
        if (r < 0)
                return r;
        if (size == 0)
                return nv_error_set(reterr, -EBADMSG, _("The state memfd is empty."));
        (void) work_ensure(a, NULL); /* made at the first need; if that failed, the image gets memory of its own */
        if (a->work.data && size <= a->work.size)
                buf = a->work.data;
        else if (!(buf = *ret_own = malloc(size))) /* larger than any image of our vCPUs: read, to be refused by name */
                return -ENOMEM;
        *ret_img = buf;
        *ret_len = size;
        return nv_memfd_pread(fd, buf, size, reterr);
}

/*
 * The image in fd, parsed and matched to our vCPUs (*ret_s and blobs
 * borrow the bytes load_read() put in the work buffer or *ret_own): every
 * check that needs no vCPU, so that Load refuses a bad image before it
 * pauses anything.
 */
static int load_prepare(NvAgent *a, int fd, uint8_t **ret_own, NvSnapshot **ret_s, NvBlob **ret_blobs, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        const char *name = NV_VMM_ERROR_BAD_MEMFD;
        const uint8_t *img = NULL;
        size_t len = 0;
        int r;

        *ret_blobs = calloc(a->vmm.n_vcpus ?: 1, sizeof(NvBlob));
        if (!*ret_blobs)
                return -ENOMEM;
        r = load_read(a, fd, &img, &len, ret_own, &err);
        if (r >= 0)
                r = nv_snapshot_parse_view(img, len, ret_s, &err);
        if (r >= 0)
                r = match_vcpus(a, *ret_s, *ret_blobs, &name, &err);
        return r < 0 ? nv_to_bus_error(error, name, r, err) : 0;
}

/* Every vCPU gets its blob (validated first against its own state: all or nothing); Incoming ends. */
static int load_blobs(NvAgent *a, const NvBlob *blobs, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        /* The undo buffer is there unless its reservation failed (then it is allocated for the call). */
        int r = nv_vcpus_set_nested_all(a->vmm.vcpus, a->vmm.n_vcpus, blobs, a->undo.data, a->undo.size, &err);

        if (r < 0)
                return nv_to_bus_error(error, NV_VMM_ERROR_INVALID_STATE, r, err);
        if (a->incoming) {
                a->incoming = false; /* its nested state is in: no longer waiting for it */
                emit_changed(a, "Incoming", NULL);
        }
        return 0;
}

static int method_set_nested_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ NvBlob *blobs = NULL;
        _cleanup_free_ uint8_t *own = NULL;
        NvAgent *a = userdata;
        int fd, r;

        r = sd_bus_message_read(m, "h", &fd);
        if (r >= 0)
                r = read_no_options(a, m, error);
        if (r < 0)
                return r;
        if (!a->frozen)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "Freeze the VM before loading nested state.");
        r = load_prepare(a, fd, &own, &s, &blobs, error);
        if (r >= 0)
                r = load_blobs(a, blobs, error);
        return r < 0 ? r : sd_bus_reply_method_return(m, NULL);
}

/*
 * Freeze, SetNestedState and Thaw in one call.  The memfd's seals and
 * size, the parse, the vendor and the vCPUs are checked before the pause,
 * so a bad image never pauses the VM; the checks against each vCPU's own
 * state need it paused, and a refusal there leaves every vCPU as it was.
 */
static int method_load(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ NvBlob *blobs = NULL;
        _cleanup_free_ uint8_t *own = NULL;
        NvAgent *a = userdata;
        CallHold hold;
        int fd, r, t;

        r = sd_bus_message_read(m, "h", &fd);
        if (r >= 0)
                r = read_no_options(a, m, error);
        if (r >= 0 && nv_kvm_nested_state_max(a->vmm.kvm) <= 0)
                r = unsupported(error);
        if (r >= 0)
                r = load_prepare(a, fd, &own, &s, &blobs, error);
        if (r >= 0)
                r = call_hold_begin(a, &hold, error);
        if (r < 0)
                return r;
        r = load_blobs(a, blobs, error);
        t = call_hold_end(a, &hold);
        if (r < 0)
                return r;
        if (t < 0)
                return resume_failed(error, t);
        return sd_bus_reply_method_return(m, "a{sv}", 1, NV_VMM_INFO_FROZEN_USEC, "t", hold.usec);
}

static int serve_connection(NvAgent *a, int fd, uid_t uid, sd_event *event);
static bool peer_vetted(NvAgent *a, int fd, const Conn *keep, uid_t *ret_uid);
static bool evict_if_full(NvAgent *a, const Conn *keep);

/* fd: a connected unix stream socket (not a listening one). */
static bool connected_stream(int fd) {
        struct sockaddr_un peer;
        socklen_t len = sizeof(peer);
        int type = 0, family = 0, listening = 1;

        return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &(socklen_t) { sizeof(int) }) == 0 && type == SOCK_STREAM &&
               getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &(socklen_t) { sizeof(int) }) == 0 && family == AF_UNIX &&
               getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &(socklen_t) { sizeof(int) }) == 0 && !listening &&
               getpeername(fd, (struct sockaddr *) &peer, &len) == 0;
}

/*
 * A caller on a bus asks for a connection of its own: one end of a unix
 * socket pair it made, served as if accepted on our socket.  Its later
 * calls then come straight to us, where through the bus each call and
 * reply passes the bus daemon twice (about the cost of the call itself).
 * The bus caller is authorized first; the socket's peer credentials (the
 * process that made the pair) are then vetted as at accept, and the
 * connection counts against the same bounds.
 */
static int method_open_channel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;
        Conn *caller = conn_of(a, m);
        sd_event *event;
        uid_t uid;
        int fd, r;

        r = sd_bus_message_read(m, "h", &fd);
        if (r < 0)
                return r;
        if (!connected_stream(fd))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The channel must be a connected unix stream socket.");
        r = read_no_options(a, m, error);
        if (r < 0)
                return r;
        /* Peer to peer already: nothing to gain, and the caller's own connection must never give way for it. */
        if (!sd_bus_is_bus_client(sd_bus_message_get_bus(m)))
                return sd_bus_error_set(error, NV_VMM_ERROR_UNSUPPORTED, "A channel is for callers on a bus; this connection is one.");
        event = a->event ?: sd_bus_get_event(sd_bus_message_get_bus(m));
        if (!event)
                return sd_bus_error_set(error, NV_VMM_ERROR_UNSUPPORTED, "This VMM serves no connections of its own.");
        if (!peer_vetted(a, fd, caller, &uid))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only the nestvirt driver's own socket may be a channel.");
        if (!evict_if_full(a, caller))
                return sd_bus_error_setf(error, NV_VMM_ERROR_BUSY, "The VMM serves %d connections already.", MAX_CONNECTIONS);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the message keeps its own */
        if (fd < 0)
                return -errno;
        r = serve_connection(a, fd, uid, event);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot serve the channel: %s", strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable vmm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("VmUuid", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Vendor", "s", property_get_vendor, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VcpuCount", "u", property_get_vcpus, 0, 0),
        SD_BUS_PROPERTY("MaxStateSizePerVcpu", "u", property_get_max_size, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Frozen", "b", property_get_bool, offsetof(NvAgent, frozen), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FrozenSince", "t", property_get_u64, offsetof(NvAgent, frozen_since), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Incoming", "b", property_get_bool, offsetof(NvAgent, incoming), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Freeze", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("t", token), method_freeze, 0),
        SD_BUS_METHOD_WITH_ARGS("Thaw", SD_BUS_ARGS("t", token, "a{sv}", options), SD_BUS_NO_RESULT, method_thaw, 0),
        SD_BUS_METHOD_WITH_ARGS("GetNestedState", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("h", state, "a{sv}", info),
                                method_get_nested_state, SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("SetNestedState", SD_BUS_ARGS("h", state, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_set_nested_state, SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Collect", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("h", state, "a{sv}", info), method_collect,
                                SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Load", SD_BUS_ARGS("h", state, "a{sv}", options), SD_BUS_RESULT("a{sv}", info), method_load,
                                SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("OpenChannel", SD_BUS_ARGS("h", socket, "a{sv}", options), SD_BUS_NO_RESULT, method_open_channel, 0),
        SD_BUS_VTABLE_END,
};

/* --- connections --- */

static uint64_t now_usec(void) {
        return nv_now_usec(CLOCK_MONOTONIC);
}

static void conn_drop(NvAgent *a, size_t i) {
        Conn *c = a->conns[i];

        a->conns[i] = NULL;
        (void) holds_end(a, c); /* a caller that froze us is gone: never leave the VM frozen for it */
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->idle);
        sd_bus_slot_unref(c->vtable);
        sd_bus_slot_unref(c->owner_changed);
        for (size_t k = 0; k < c->n_callers; k++)
                free(c->callers[k].name);
        if (!c->io)
                sd_bus_detach_event(c->bus); /* a bus the VMM attached: as before, closed with us */
        sd_bus_close_unref(c->bus);
        free(c);
        if (a->listener)
                (void) sd_event_source_set_enabled(a->listener, SD_EVENT_ON); /* a slot is free */
}

static size_t conn_index(NvAgent *a, const Conn *c) {
        size_t i;

        for (i = 0; i < MAX_CONNECTIONS && a->conns[i] != c; i++)
                ;
        return i;
}

/* The bus's wishes (events, timeout) for the next wait: sd_bus_attach_event's prepare step. */
static int conn_prepare(sd_event_source *s, void *userdata) {
        Conn *c = userdata;
        uint64_t until;
        int events;

        events = sd_bus_get_events(c->bus);
        if (events < 0)
                events = 0;
        (void) sd_event_source_set_io_events(s, (uint32_t) events);
        if (sd_bus_get_timeout(c->bus, &until) >= 0 && until != UINT64_MAX) {
                (void) sd_event_source_set_time(c->timer, until);
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        return 1;
}

/*
 * Processes until sd-bus has nothing left to do: one wakeup can bring the
 * end of the handshake and the first call in one read, and a call left in
 * the input buffer would wait for a next wakeup that never comes (libdbus
 * and GDBus clients send their first call right behind BEGIN).
 */
static int conn_process(Conn *c) {
        NvAgent *a = c->a;
        int r;

        do
                r = sd_bus_process(c->bus, NULL);
        while (r > 0 && !c->dead);
        if (r < 0 || c->dead) {
                conn_drop(a, conn_index(a, c));
                return 0;
        }
        c->last_active = now_usec();
        if (c->idle)
                (void) sd_event_source_set_time(c->idle, c->last_active + (a->vmm.idle_timeout_usec ?: DEFAULT_IDLE_TIMEOUT_USEC));
        return 0;
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s, (void) fd, (void) revents;
        return conn_process(userdata);
}

static int on_conn_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s, (void) usec;
        return conn_process(userdata);
}

/* Silent for the idle timeout: closed, ending its holds that were not kept. */
static int on_conn_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *c = userdata;

        (void) s, (void) usec;
        conn_drop(c->a, conn_index(c->a, c));
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;
        Conn *c = conn_of(a, m);

        if (c && c->io)
                c->dead = true; /* conn_process drops it once sd-bus is done with it */
        else if (c)
                conn_drop(a, conn_index(a, c));
        return 0;
}

/* On a bus: a unique name gone is a caller gone, its uid forgotten and its holds ended. */
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Conn *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':' || new_owner[0])
                return 0;
        caller_forget(c, name);
        (void) holds_end_sender(c->a, c, name);
        return 0;
}

static int conn_add(NvAgent *a, sd_bus *bus, uid_t uid, Conn **ret, NvError **reterr) {
        _cleanup_free_ Conn *c = NULL;
        size_t i;
        int r;

        for (i = 0; i < MAX_CONNECTIONS && a->conns[i]; i++)
                ;
        if (i == MAX_CONNECTIONS)
                return nv_error_set(reterr, -EBUSY, _("The agent already serves %d connections."), MAX_CONNECTIONS);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (Conn) { .a = a, .bus = bus, .uid = uid, .last_active = now_usec(), .peer_allowed = -1 };
        r = sd_bus_add_object_vtable(bus, &c->vtable, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, vmm_vtable, a);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, a);
        /* Not waited for: until it is in place a gone caller's entry only lingers (its name is never reused). */
        if (r >= 0 && sd_bus_is_bus_client(bus) > 0)
                r = sd_bus_match_signal_async(bus, &c->owner_changed, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                              "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL, c);
        if (r < 0) {
                sd_bus_slot_unref(c->owner_changed);
                sd_bus_slot_unref(c->vtable);
                return nv_error_set(reterr, r, _("Cannot serve %s: %s"), NV_VMM_INTERFACE, strerror(-r));
        }
        sd_bus_ref(bus);
        a->conns[i] = TAKE_PTR(c);
        if (ret)
                *ret = a->conns[i];
        return 0;
}

int nv_agent_attach_bus(NvAgent *a, sd_bus *bus, NvError **reterr) {
        return conn_add(a, bus, (uid_t) -1, NULL, reterr);
}

/* Our own event sources for c's bus (not sd_bus_attach_event: see conn_process). */
static int conn_watch(Conn *c, sd_event *event, bool accepted) {
        int r;

        r = sd_event_add_io(event, &c->io, sd_bus_get_fd(c->bus), 0, on_conn_io, c);
        if (r >= 0)
                r = sd_event_source_set_prepare(c->io, conn_prepare);
        if (r >= 0)
                r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, 0, 0, on_conn_timer, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        if (r >= 0 && accepted) /* a connection the VMM made itself (serve_fd) is never timed out */
                r = sd_event_add_time(event, &c->idle, CLOCK_MONOTONIC,
                                      c->last_active + (c->a->vmm.idle_timeout_usec ?: DEFAULT_IDLE_TIMEOUT_USEC), 0, on_conn_idle, c);
        c->accepted = accepted;
        return r;
}

/* A server bus on connected socket fd (taken), served from event. */
static int serve_connection(NvAgent *a, int fd, uid_t uid, sd_event *event) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        Conn *c = NULL;
        sd_id128_t id;
        int r;

        if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_fd(bus, fd, fd)) < 0) {
                safe_close(fd);
                return r;
        }
        if ((r = sd_id128_randomize(&id)) < 0 || (r = sd_bus_set_server(bus, 1, id)) < 0 || (r = sd_bus_negotiate_fds(bus, 1)) < 0)
                return r;
        /* ANONYMOUS as well as EXTERNAL: on a socket pair the peer credentials are the VMM's own, not the caller's. */
        if ((r = sd_bus_set_anonymous(bus, 1)) < 0)
                return r;
        r = conn_add(a, bus, uid, &c, NULL);
        if (r >= 0 && ((r = conn_watch(c, event, uid != (uid_t) -1)) < 0 || (r = sd_bus_start(bus)) < 0 || (r = conn_process(c)) < 0))
                conn_drop(a, conn_index(a, c));
        return r;
}

/* The accepted connection silent the longest, for uid (or any, root's last), if silent long enough to give way; never keep (a caller's own). */
static Conn *conn_evictable(NvAgent *a, uid_t uid, bool any, const Conn *keep) {
        uint64_t limit = now_usec() - EVICT_MIN_IDLE_USEC;
        Conn *best = NULL;

        for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
                Conn *c = a->conns[i];

                if (!c || c == keep || !c->accepted || c->last_active > limit || (!any && c->uid != uid))
                        continue;
                if (!best || (best->uid == 0) > (c->uid == 0) ||
                    ((best->uid == 0) == (c->uid == 0) && c->last_active < best->last_active))
                        best = c;
        }
        return best;
}

static size_t conns_of(NvAgent *a, uid_t uid, size_t *ret_total) {
        size_t n = 0, total = 0;

        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->conns[i]) {
                        total++;
                        n += a->conns[i]->uid == uid;
                }
        *ret_total = total;
        return n;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        NvAgent *a = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return sd_event_source_set_enabled(a->listener, SD_EVENT_ON);
}

/* Room for one more connection: when full, the longest-silent one other than keep gives way, if one has been silent long enough. */
static bool evict_if_full(NvAgent *a, const Conn *keep) {
        Conn *victim;
        size_t total;

        (void) conns_of(a, 0, &total);
        if (total < MAX_CONNECTIONS)
                return true;
        victim = conn_evictable(a, 0, true, keep);
        if (victim)
                conn_drop(a, conn_index(a, victim));
        return victim != NULL;
}

/* Full and none to evict: accepting waits (callers queue in the backlog). */
static bool make_room(NvAgent *a) {
        if (evict_if_full(a, NULL))
                return true;
        (void) sd_event_source_set_enabled(a->listener, SD_EVENT_OFF);
        if (a->retry) {
                (void) sd_event_source_set_time(a->retry, now_usec() + EVICT_MIN_IDLE_USEC);
                (void) sd_event_source_set_enabled(a->retry, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_add_time(a->event, &a->retry, CLOCK_MONOTONIC, now_usec() + EVICT_MIN_IDLE_USEC, 0, on_retry, a);
        return false;
}

/* A uid other than root and the VMM's own, at its bound: its own longest-silent connection gives way, or it is refused. */
static bool within_uid_bound(NvAgent *a, uid_t uid, const Conn *keep) {
        Conn *victim;
        size_t total;

        if (uid == 0 || uid == geteuid() || conns_of(a, uid, &total) < MAX_PER_UID)
                return true;
        victim = conn_evictable(a, uid, false, keep);
        if (victim)
                conn_drop(a, conn_index(a, victim));
        return victim != NULL;
}

/* fd's peer is root or the allowed uid (*ret_uid), within its share of the connections (keep never gives way for it). */
static bool peer_vetted(NvAgent *a, int fd, const Conn *keep, uid_t *ret_uid) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != 0 && cred.uid != a->vmm.allowed_uid) ||
            !within_uid_bound(a, cred.uid, keep))
                return false;
        *ret_uid = cred.uid;
        return true;
}

/* A new p2p connection: who is it, and if allowed, a server bus on it. */
static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NvAgent *a = userdata;
        uid_t uid;
        int c;

        if (!make_room(a))
                return 0;
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0)
                return 0;
        if (!peer_vetted(a, c, NULL, &uid)) {
                safe_close(c); /* closed unheard: only the driver may talk to the VMM, and within its share */
                return 0;
        }
        (void) serve_connection(a, c, uid, sd_event_source_get_event(s));
        return 0;
}

int nv_agent_serve_fd(NvAgent *a, int fd, sd_event *event, NvError **reterr) {
        int r = serve_connection(a, fd, (uid_t) -1, event);

        a->p2p_checked = true; /* the VMM chose this peer itself */
        return r < 0 ? nv_error_set(reterr, r, _("Cannot serve %s on the connection: %s"), NV_VMM_INTERFACE, strerror(-r)) : 0;
}

int nv_agent_listen(NvAgent *a, const char *path, sd_event *event, NvError **reterr) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return nv_error_set(reterr, -ENAMETOOLONG, _("Socket path '%s' is too long."), path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot create a socket: %s"), strerror(errno));
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
                return nv_error_set(reterr, -errno, _("Cannot listen on '%s': %s"), path, strerror(errno));
        r = sd_event_add_io(event, &a->listener, fd, EPOLLIN, on_accept, a);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot watch '%s': %s"), path, strerror(-r));
        a->event = sd_event_ref(event);
        a->listen_fd = TAKE_FD(fd);
        a->socket_path = strdup(path);
        a->p2p_checked = true;
        return 0;
}

/* --- life cycle --- */

int nv_agent_new(const NvAgentVmm *vmm, NvAgent **ret, NvError **reterr) {
        NvAgent *a;

        if (!vmm->kvm || !vmm->vcpus || vmm->n_vcpus == 0 || !vmm->pause || !vmm->resume)
                return nv_error_set(reterr, -EINVAL, _("The agent needs the VM, its vCPUs and pause/resume callbacks."));
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->vmm = *vmm;
        a->incoming = vmm->incoming;
        a->vm_uuid = strdup(vmm->vm_uuid ?: "");
        a->listen_fd = -1;
        a->have_host = nv_host_probe("/", vmm->kvm, &a->host, NULL) >= 0;
        *ret = a;
        return 0;
}

NvAgent *nv_agent_free(NvAgent *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->listener);
        a->listener = NULL;
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->conns[i])
                        conn_drop(a, i);
        (void) holds_end(a, NULL); /* the agent goes: the VMM runs on, kept freezes or not */
        sd_event_source_disable_unref(a->retry);
        sd_event_unref(a->event);
        safe_close(a->listen_fd);
        if (a->socket_path)
                (void) unlink(a->socket_path);
        free(a->socket_path);
        nv_warm_release(&a->work);
        nv_warm_release(&a->undo);
        free(a->vm_uuid);
        free(a);
        return NULL;
}

bool nv_agent_frozen(const NvAgent *a) {
        return a->frozen || a->call_paused;
}
