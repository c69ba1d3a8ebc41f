/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.Vmm1, served by the agent.  Layout as in systemd's
 * timedated.c: state, helpers, property getters, methods, vtable.  Every
 * method: read -> validate -> authorize -> act -> emit -> reply.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <systemd/sd-id128.h>

#include "agent.h"
#include "snapshot.h"
#include "vcpu.h"
#include "vmm-protocol.h"

#define MAX_CONNECTIONS 16

struct NvAgent {
        NvAgentVmm vmm;
        char *vm_uuid;
        bool frozen;
        uint64_t frozen_since;  /* CLOCK_REALTIME usec when the current freeze began, 0 when not frozen */
        bool incoming;          /* resumed from a saved state, nested state not loaded yet */
        uint64_t token;
        sd_bus *freezer;        /* the connection that froze the VM: thawed if it goes away */
        bool p2p_checked;       /* connections were vetted at accept time */
        sd_bus *buses[MAX_CONNECTIONS];
        sd_bus_slot *slots[MAX_CONNECTIONS];
        sd_event_source *listener;
        int listen_fd;
        char *socket_path;
};

/* --- helpers --- */

static int nv_to_bus_error(sd_bus_error *error, const char *name, int r, const NvError *err) {
        return sd_bus_error_setf(error, name, "%s", nv_error_message(err, r));
}

static int caller_allowed(NvAgent *a, sd_bus_message *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (a->p2p_checked && !sd_bus_is_bus_client(sd_bus_message_get_bus(m)))
                return 1; /* p2p: peer credentials checked at accept, or a peer the VMM chose (serve_fd) */
        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds) < 0 || sd_bus_creds_get_euid(creds, &uid) < 0)
                return 0;
        return uid == 0 || uid == a->vmm.allowed_uid;
}

/* The authorize step of every method. */
static int authorize(NvAgent *a, sd_bus_message *m, sd_bus_error *error) {
        if (caller_allowed(a, m))
                return 0;
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only the nestvirt driver may call this VMM.");
}

static int emit_frozen(NvAgent *a) {
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->buses[i])
                        (void) sd_bus_emit_properties_changed(a->buses[i], NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Frozen",
                                                              "FrozenSince", NULL);
        return 0;
}

static int agent_thaw(NvAgent *a) {
        int r = 0;

        if (a->frozen)
                r = a->vmm.resume(a->vmm.userdata);
        a->frozen = false;
        a->frozen_since = 0;
        a->token = 0;
        a->freezer = sd_bus_unref(a->freezer);
        emit_frozen(a);
        return r;
}

/* Every vCPU's blob, as a snapshot image. */
static int collect(NvAgent *a, uint8_t **ret, size_t *ret_len, unsigned *ret_guest, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = nv_snapshot_new(nv_kvm_vendor(a->vmm.kvm));
        _cleanup_free_ NvBlob *blobs = calloc(a->vmm.n_vcpus ?: 1, sizeof(NvBlob));
        NvHostInfo host;
        int r;

        if (!s || !blobs)
                return -ENOMEM;
        r = nv_vcpus_get_nested_all(a->vmm.vcpus, a->vmm.n_vcpus, blobs, reterr);
        if (r < 0)
                return r;
        s->cap_nested_state = (uint32_t) nv_kvm_nested_state_max(a->vmm.kvm);
        /* The host facts a later restore or migration check compares against. */
        nv_snapshot_stamp(s, nv_host_probe("/", a->vmm.kvm, &host, NULL) >= 0 ? &host : NULL);
        *ret_guest = 0;
        for (size_t i = 0; i < a->vmm.n_vcpus && r >= 0; i++) {
                *ret_guest += nv_blob_guest_mode(&blobs[i]);
                r = nv_snapshot_add(s, nv_vcpu_id(a->vmm.vcpus[i]), &blobs[i], reterr);
        }
        for (size_t i = 0; i < a->vmm.n_vcpus; i++)
                nv_blob_clear(&blobs[i]);
        return r < 0 ? r : nv_snapshot_serialize(s, ret, ret_len, reterr);
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

/* A uint64_t field of NvAgent, by offset like property_get_bool. */
static int property_get_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append(reply, "t", *(uint64_t *) userdata);
}

/* --- methods --- */

/* Wall-clock time, for FrozenSince: an operator compares it with other clocks, not with our own timers. */
static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Freeze's options: only "keep-frozen" (b) is known; others are ignored, as the protocol says. */
static int read_freeze_options(sd_bus_message *m, bool *ret_keep) {
        const char *key;
        int r, keep = 0;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && strcmp(key, NV_VMM_OPTION_KEEP_FROZEN) == 0)
                        r = sd_bus_message_read(m, "v", "b", &keep);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        *ret_keep = keep;
        return r;
}

static int method_freeze(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;
        bool keep;
        int r;

        r = read_freeze_options(m, &keep);
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (a->frozen) { /* idempotent: the same freeze, the same token */
                if (keep)
                        a->freezer = sd_bus_unref(a->freezer);
                return sd_bus_reply_method_return(m, "t", a->token);
        }
        r = a->vmm.pause(a->vmm.userdata);
        if (r < 0) /* the protocol's name for "cannot freeze now", whatever the VMM's reason */
                return sd_bus_error_setf(error, NV_VMM_ERROR_BUSY, "The VMM could not pause its vCPUs: %s", strerror(-r));
        a->frozen = true;
        a->frozen_since = realtime_usec();
        a->token = new_token();
        /* Kept frozen: nobody's disconnect thaws it; a later Freeze + Thaw does. */
        a->freezer = keep ? NULL : sd_bus_ref(sd_bus_message_get_bus(m));
        emit_frozen(a);
        return sd_bus_reply_method_return(m, "t", a->token);
}

static int method_thaw(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;
        uint64_t token;
        int r;

        r = sd_bus_message_read(m, "t", &token);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{sv}");
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (!a->frozen)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "The VM is not frozen.");
        if (token != a->token)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "That is not the token of the current freeze.");
        r = agent_thaw(a);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "The VMM could not resume its vCPUs: %s", strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

static int append_info(sd_bus_message *reply, size_t size, size_t vcpus, unsigned guest, const char *sha) {
        return sd_bus_message_append(reply, "a{sv}", 5, "size", "t", (uint64_t) size, "vcpus", "u", (uint32_t) vcpus,
                                     "guest-mode-vcpus", "u", guest, "format-version", "u", NV_SNAPSHOT_VERSION, "sha256",
                                     "s", sha);
}

static int method_get_nested_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ uint8_t *img = NULL;
        _cleanup_close_ int fd = -1;
        NvAgent *a = userdata;
        unsigned guest = 0;
        char sha[65];
        size_t len;
        int r;

        r = sd_bus_message_skip(m, "a{sv}");
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (!a->frozen)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "Freeze the VM before collecting its nested state.");
        if (nv_kvm_nested_state_max(a->vmm.kvm) <= 0)
                return sd_bus_error_set(error, NV_VMM_ERROR_UNSUPPORTED, "This kernel cannot save nested state (KVM_CAP_NESTED_STATE is 0).");
        r = collect(a, &img, &len, &guest, &err);
        if (r >= 0)
                r = nv_memfd_seal_new(img, len, &fd, &err);
        if (r < 0)
                return nv_to_bus_error(error, NV_VMM_ERROR_FAILED, r, err);
        if (nv_snapshot_sha256_hex(img, len, sha) < 0)
                return -EIO;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "h", fd);
        if (r >= 0)
                r = append_info(reply, len, a->vmm.n_vcpus, guest, sha);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_set_nested_state(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ NvBlob *blobs = NULL;
        _cleanup_free_ uint8_t *img = NULL;
        NvAgent *a = userdata;
        const char *name = NV_VMM_ERROR_BAD_MEMFD;
        size_t len;
        int fd, r;

        r = sd_bus_message_read(m, "h", &fd);
        if (r >= 0)
                r = sd_bus_message_skip(m, "a{sv}");
        if (r < 0)
                return r;
        r = authorize(a, m, error);
        if (r < 0)
                return r;
        if (!a->frozen)
                return sd_bus_error_set(error, NV_VMM_ERROR_NOT_FROZEN, "Freeze the VM before loading nested state.");
        blobs = calloc(a->vmm.n_vcpus ?: 1, sizeof(NvBlob));
        if (!blobs)
                return -ENOMEM;
        r = nv_memfd_read_sealed(fd, NV_SNAPSHOT_MAX_SIZE, 0, &img, &len, &err);
        if (r >= 0)
                r = nv_snapshot_parse(img, len, &s, &err);
        if (r >= 0)
                r = match_vcpus(a, s, blobs, &name, &err);
        if (r >= 0) {
                name = NV_VMM_ERROR_INVALID_STATE;
                r = nv_vcpus_set_nested_all(a->vmm.vcpus, a->vmm.n_vcpus, blobs, &err);
        }
        if (r < 0)
                return nv_to_bus_error(error, name, r, err);
        if (a->incoming) {
                a->incoming = false; /* its nested state is in: no longer waiting for it */
                for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                        if (a->buses[i])
                                (void) sd_bus_emit_properties_changed(a->buses[i], NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Incoming", NULL);
        }
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
        SD_BUS_VTABLE_END,
};

/* --- connections --- */

static void drop_bus(NvAgent *a, size_t i) {
        if (a->buses[i] == a->freezer)
                (void) agent_thaw(a); /* the driver that froze us is gone: never leave the VM frozen */
        a->slots[i] = sd_bus_slot_unref(a->slots[i]);
        sd_bus_detach_event(a->buses[i]);
        a->buses[i] = sd_bus_close_unref(a->buses[i]);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvAgent *a = userdata;
        sd_bus *bus = sd_bus_message_get_bus(m);

        (void) error;
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->buses[i] == bus)
                        drop_bus(a, i);
        return 0;
}

static int add_bus(NvAgent *a, sd_bus *bus, NvError **reterr) {
        size_t i;
        int r;

        for (i = 0; i < MAX_CONNECTIONS && a->buses[i]; i++)
                ;
        if (i == MAX_CONNECTIONS)
                return nv_error_set(reterr, -EBUSY, _("The agent already serves %d connections."), MAX_CONNECTIONS);
        r = sd_bus_add_object_vtable(bus, &a->slots[i], NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, vmm_vtable, a);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, a);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot serve %s: %s"), NV_VMM_INTERFACE, strerror(-r));
        a->buses[i] = sd_bus_ref(bus);
        return 0;
}

int nv_agent_attach_bus(NvAgent *a, sd_bus *bus, NvError **reterr) {
        return add_bus(a, bus, reterr);
}

/* A server bus on connected socket c (taken), served from event. */
static int serve_connection(NvAgent *a, int c, sd_event *event) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        sd_id128_t id;
        int r;

        if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_fd(bus, c, c)) < 0) {
                safe_close(c);
                return r;
        }
        if ((r = sd_id128_randomize(&id)) < 0 || (r = sd_bus_set_server(bus, 1, id)) < 0 || (r = sd_bus_negotiate_fds(bus, 1)) < 0)
                return r;
        /* ANONYMOUS as well as EXTERNAL: on a socket pair the peer credentials are the VMM's own, not the caller's. */
        if ((r = sd_bus_set_anonymous(bus, 1)) < 0)
                return r;
        r = add_bus(a, bus, NULL);
        if (r >= 0 && ((r = sd_bus_attach_event(bus, event, 0)) < 0 || (r = sd_bus_start(bus)) < 0)) {
                for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                        if (a->buses[i] == bus)
                                drop_bus(a, i);
        }
        return r;
}

/* A new p2p connection: who is it, and if allowed, a server bus on it. */
static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_close_ int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        NvAgent *a = userdata;
        struct ucred cred;
        socklen_t len = sizeof(cred);

        (void) revents;
        if (c < 0)
                return 0;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != 0 && cred.uid != a->vmm.allowed_uid))
                return 0; /* closed unheard: only the driver may talk to the VMM */
        (void) serve_connection(a, TAKE_FD(c), sd_event_source_get_event(s));
        return 0;
}

int nv_agent_serve_fd(NvAgent *a, int fd, sd_event *event, NvError **reterr) {
        int r = serve_connection(a, fd, event);

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
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 8) < 0)
                return nv_error_set(reterr, -errno, _("Cannot listen on '%s': %s"), path, strerror(errno));
        r = sd_event_add_io(event, &a->listener, fd, EPOLLIN, on_accept, a);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot watch '%s': %s"), path, strerror(-r));
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
        *ret = a;
        return 0;
}

NvAgent *nv_agent_free(NvAgent *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
                if (a->buses[i])
                        drop_bus(a, i);
        if (a->frozen)
                (void) agent_thaw(a);
        sd_event_source_disable_unref(a->listener);
        safe_close(a->listen_fd);
        if (a->socket_path)
                (void) unlink(a->socket_path);
        free(a->socket_path);
        free(a->vm_uuid);
        free(a);
        return NULL;
}

bool nv_agent_frozen(const NvAgent *a) {
        return a->frozen;
}
