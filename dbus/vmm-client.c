/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calling a VMM's org.nestvirt.Vmm1: the driver's D-Bus VMM backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include "snapshot.h"
#include "util.h"
#include "vmm-client.h"
#include "vmm-protocol.h"

struct NvVmmHandle {
        sd_bus *bus;
        bool borrowed; /* a connection someone else keeps (nestvirtd's registered VMMs): unref, not close */
        char *dest; /* NULL on p2p */
        char *path;
        unsigned n_vcpus;
        int vendor;
        char *vm_uuid;
        int incoming; /* -1: the VMM has no Incoming property */
        uint64_t timeout;
        int staged_fd; /* stage_state's sealed memfd of staged_img, for the next set_state */
        const uint8_t *staged_img;
        size_t staged_len;
        bool no_collect, no_load; /* the VMM answered UnknownMethod to Collect / Load (an agent from before them): not asked again */
};

uint64_t nv_vmm_timeout_usec(unsigned n_vcpus) {
        const char *e = getenv("NESTVIRT_VMM_TIMEOUT_MS");
        uint64_t base_ms = 2000;

        if (e)
                (void) nv_parse_unsigned(e, 10, UINT32_MAX, &base_ms); /* not a number: the default */

        return (base_ms + 5ull * n_vcpus) * 1000ull;
}

/* The sd-bus error as an NvError; a timeout says so in words. */
static int call_failed(NvVmmHandle *h, const char *method, int r, const sd_bus_error *e, NvError **reterr) {
        if (r == -ETIMEDOUT || sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT))
                return nv_error_set(reterr, -ETIMEDOUT, _("The VMM did not answer %s within %llu ms."), method,
                                    (unsigned long long) (h->timeout / 1000));
        if (e && e->name)
                return nv_error_set(reterr, r < 0 ? r : -EIO, _("The VMM refused %s: %s (%s)"), method, e->message ?: "", e->name);
        return nv_error_set(reterr, r, _("Calling the VMM's %s failed: %s"), method, strerror(-r));
}

static int call(NvVmmHandle *h, const char *method, sd_bus_message *m, sd_bus_message **ret, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(h->bus, m, h->timeout, &e, ret);

        return r < 0 ? call_failed(h, method, r, &e, reterr) : 0;
}

/*
 * As call, for a method older VMMs do not have: 0 (nothing set) when this
 * one answers UnknownMethod, 1 when it answered.
 */
static int call_newer(NvVmmHandle *h, const char *method, sd_bus_message *m, sd_bus_message **ret, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(h->bus, m, h->timeout, &e, ret);

        if (r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD))
                return 0;
        return r < 0 ? call_failed(h, method, r, &e, reterr) : 1;
}

static int new_call(NvVmmHandle *h, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(h->bus, ret, h->dest, h->path, NV_VMM_INTERFACE, method);
}

/* D-Bus address values escape every byte outside [-0-9A-Za-z_/.*]. */
static char *address_for_socket(const char *path) {
        size_t n = strlen(path);
        char *a = malloc(strlen("unix:path=") + 3 * n + 1), *p;

        if (!a)
                return NULL;
        p = stpcpy(a, "unix:path=");
        for (const char *s = path; *s; s++)
                if (strchr("-_/.*", *s) || (*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
                        *p++ = *s;
                else
                        p += sprintf(p, "%%%02x", (unsigned char) *s);
        *p = '\0';
        return a;
}

/*
 * A VMM that accepted the connection but never answers the handshake (hung,
 * stopped) would hold sd-bus for its 25 s default: bound the handshake and
 * every later call by our own timeout, so one broken VMM costs seconds.
 */
static int wait_ready(sd_bus *bus, uint64_t timeout_usec) {
        uint64_t deadline = nv_now_usec(CLOCK_MONOTONIC) + timeout_usec, now;
        int r;

        while ((r = sd_bus_is_ready(bus)) == 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = nv_now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0)
                        return r;
        }
        return r < 0 ? r : sd_bus_set_method_call_timeout(bus, timeout_usec);
}

static int open_bus(const NvNestedMeta *meta, sd_bus **ret, NvError **reterr) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *addr = NULL;
        int r;

        if (meta->transport == NV_VMM_TRANSPORT_BUS) {
                r = meta->bus == NV_BUS_SESSION ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
                if (r >= 0)
                        r = sd_bus_set_method_call_timeout(bus, nv_vmm_timeout_usec(0));
                if (r < 0)
                        return nv_error_set(reterr, r, _("Cannot connect to the %s bus: %s"), nv_bus_type_to_string(meta->bus),
                                            strerror(-r));
                *ret = TAKE_PTR(bus);
                return 0;
        }
        if (!meta->socket)
                return nv_error_set(reterr, -EINVAL, _("The domain's metadata names no VMM socket."));
        addr = address_for_socket(meta->socket);
        if (!addr)
                return -ENOMEM;
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, addr);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = wait_ready(bus, nv_vmm_timeout_usec(0));
        if (r == -ETIMEDOUT)
                return nv_error_set(reterr, r, _("The VMM at '%s' accepted the connection but did not answer within %.1f s."),
                                    meta->socket, (double) nv_vmm_timeout_usec(0) / 1e6);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot reach the VMM at '%s': %s"), meta->socket, strerror(-r));
        *ret = TAKE_PTR(bus);
        return 0;
}

/* One entry of the GetAll dict: the four properties learn_vmm needs, the rest skipped. */
static int read_vmm_property(NvVmmHandle *h, sd_bus_message *reply, const char *key, uint32_t *n, char **vendor) {
        const char *str;
        char **dst;
        int b, r;

        if (strcmp(key, "VcpuCount") == 0)
                return sd_bus_message_read(reply, "v", "u", n);
        if (strcmp(key, "Incoming") == 0) {
                r = sd_bus_message_read(reply, "v", "b", &b);
                h->incoming = b;
                return r;
        }
        dst = strcmp(key, "Vendor") == 0 ? vendor : strcmp(key, "VmUuid") == 0 ? &h->vm_uuid : NULL;
        if (!dst)
                return sd_bus_message_skip(reply, "v");
        r = sd_bus_message_read(reply, "v", "s", &str);
        if (r < 0)
                return r;
        free(*dst);
        *dst = strdup(str);
        return *dst ? 0 : -ENOMEM;
}

/*
 * VcpuCount, Vendor, VmUuid and Incoming in one GetAll (one round trip, and
 * on a bus one sender lookup in the agent), so that timeouts and checks are
 * right from the first call.  Incoming came with a later version of the
 * protocol: a VMM without it does not say (-1).
 */
static int learn_vmm(NvVmmHandle *h, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *vendor = NULL;
        const char *key;
        uint32_t n = 0;
        int r;

        h->incoming = -1;
        r = sd_bus_call_method(h->bus, h->dest, h->path, "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
                               NV_VMM_INTERFACE);
        if (r < 0)
                return call_failed(h, "GetAll", r, &e, reterr);
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = read_vmm_property(h, reply, key, &n, &vendor);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return call_failed(h, "GetAll", r, NULL, reterr);
        if (n == 0 || n > NV_SNAPSHOT_MAX_VCPUS || !vendor || nv_format_from_string(vendor) < 0 || !h->vm_uuid)
                return nv_error_set(reterr, -EPROTO, _("The VMM reports %u vCPUs of vendor '%s'."), n, vendor ?: "");
        h->n_vcpus = n;
        h->vendor = nv_format_from_string(vendor);
        h->timeout = nv_vmm_timeout_usec(n);
        return 0;
}

static void client_disconnect(NvVmmHandle *h) {
        if (!h)
                return;
        if (h->borrowed)
                sd_bus_unref(h->bus);
        else
                sd_bus_flush_close_unref(h->bus);
        safe_close(h->staged_fd);
        free(h->dest);
        free(h->path);
        free(h->vm_uuid);
        free(h);
}

/* After the connection step (r): learn the VMM, or drop the handle on any failure. */
static int handle_ready(NvVmmHandle *h, int r, NvVmmHandle **ret, NvError **reterr) {
        if (r >= 0)
                r = learn_vmm(h, reterr);
        if (r < 0) {
                client_disconnect(h);
                return r;
        }
        *ret = h;
        return 0;
}

/*
 * The answers to OpenChannel after which the VMM is called on the bus as
 * before: an agent from before it, one at its connection bound or without
 * an event loop for it, one that refuses our socket's credentials (the
 * bus's own check of us may still pass: user namespaces), and a bus that
 * passes no fds.  Anything else is a fault to report, not to hide.
 */
static bool stay_on_bus(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_NOT_SUPPORTED,
                                      NV_VMM_ERROR_BUSY, NV_VMM_ERROR_UNSUPPORTED);
}

/*
 * On a bus: a connection of our own to the VMM (OpenChannel, one end of a
 * socket pair we make), and the handle moves to it.  Each later call is
 * then one trip, where through the bus daemon it is two each way, which
 * at a small VM costs as much as the call itself.
 */
static int open_channel(NvVmmHandle *h, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_unrefp) sd_bus *chan = NULL;
        _cleanup_close_ int mine = -EBADF, theirs = -EBADF;
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return nv_error_set(reterr, -errno, _("Cannot create a socket: %s"), strerror(errno));
        mine = pair[0], theirs = pair[1];
        r = sd_bus_call_method(h->bus, h->dest, h->path, NV_VMM_INTERFACE, "OpenChannel", &e, NULL, "ha{sv}", theirs, 0);
        if (r < 0 && stay_on_bus(&e))
                return 0;
        if (r < 0)
                return call_failed(h, "OpenChannel", r, &e, reterr);
        r = sd_bus_new(&chan);
        if (r >= 0)
                r = sd_bus_set_fd(chan, mine, mine);
        if (r >= 0) {
                TAKE_FD(mine);
                r = sd_bus_negotiate_fds(chan, 1);
        }
        if (r >= 0)
                r = sd_bus_start(chan);
        if (r >= 0)
                r = wait_ready(chan, h->timeout);
        if (r < 0)
                return nv_error_set(reterr, r, _("The VMM '%s' opened a channel but it does not work: %s"), h->dest, strerror(-r));
        sd_bus_flush_close_unref(h->bus);
        h->bus = TAKE_PTR(chan);
        free(h->dest);
        h->dest = NULL; /* peer-to-peer from here */
        return 1;
}

static int client_connect(const NvNestedMeta *meta, NvVmmHandle **ret, NvError **reterr) {
        NvVmmHandle *h = calloc(1, sizeof(*h));
        int r;

        if (!h)
                return -ENOMEM;
        h->timeout = nv_vmm_timeout_usec(0);
        h->staged_fd = -1;
        h->path = strdup(meta->object_path ?: NV_VMM_OBJECT_PATH);
        h->dest = meta->transport == NV_VMM_TRANSPORT_BUS && meta->bus_name ? strdup(meta->bus_name) : NULL;
        r = open_bus(meta, &h->bus, reterr);
        if (r >= 0 && h->dest)
                r = open_channel(h, reterr);
        return handle_ready(h, r, ret, reterr);
}

int nv_vmm_client_adopt(sd_bus *bus, NvVmmHandle **ret, NvError **reterr) {
        NvVmmHandle *h = calloc(1, sizeof(*h));
        int r;

        if (!h)
                return -ENOMEM;
        h->bus = sd_bus_ref(bus);
        h->borrowed = true;
        h->timeout = nv_vmm_timeout_usec(0);
        h->staged_fd = -1;
        h->path = strdup(NV_VMM_OBJECT_PATH);
        if (!h->path)
                return handle_ready(h, -ENOMEM, ret, reterr);
        r = sd_bus_is_open(bus) > 0 ? wait_ready(bus, h->timeout) : -ENOTCONN;
        if (r < 0)
                r = nv_error_set(reterr, r, _("The registered VMM's connection is not usable: %s"), strerror(-r));
        return handle_ready(h, r, ret, reterr);
}

static int client_freeze(NvVmmHandle *h, bool keep, uint64_t *ret_token, NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = new_call(h, "Freeze", &m);
        if (r >= 0)
                r = keep ? sd_bus_message_append(m, "a{sv}", 1, NV_VMM_OPTION_KEEP_FROZEN, "b", 1) : sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return r;
        r = call(h, "Freeze", m, &reply, reterr);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", ret_token);
        if (r < 0)
                return nv_error_set(reterr, r, _("The VMM's %s reply is malformed."), "Freeze");
        return 0;
}

static int thaw_call(NvVmmHandle *h, uint64_t token, bool force, NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(h, "Thaw", &m);
        if (r >= 0)
                r = force ? sd_bus_message_append(m, "ta{sv}", token, 1, NV_VMM_OPTION_ALL, "b", 1)
                          : sd_bus_message_append(m, "ta{sv}", token, 0);
        if (r < 0)
                return r;
        return call(h, "Thaw", m, NULL, reterr);
}

static int client_thaw(NvVmmHandle *h, uint64_t token, NvError **reterr) {
        return thaw_call(h, token, false, reterr);
}

/* Frozen asked now (it changes); FrozenSince came later in the protocol: 0 from a VMM without it. */
static int client_frozen(NvVmmHandle *h, uint64_t *ret_since_usec, NvError **reterr) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t since = 0;
        int frozen = 0, r;

        r = sd_bus_get_property_trivial(h->bus, h->dest, h->path, NV_VMM_INTERFACE, "Frozen", &e, 'b', &frozen);
        if (r < 0)
                return call_failed(h, "Get", r, &e, reterr);
        if (ret_since_usec)
                *ret_since_usec = 0;
        if (!ret_since_usec || !frozen) /* not asked, or nothing to tell: one round trip, not two */
                return frozen ? 1 : 0;
        r = sd_bus_get_property_trivial(h->bus, h->dest, h->path, NV_VMM_INTERFACE, "FrozenSince", &e, 't', &since);
        if (r < 0 && !sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_PROPERTY) && !sd_bus_error_has_name(&e, SD_BUS_ERROR_INVALID_ARGS))
                return call_failed(h, "Get", r, &e, reterr);
        *ret_since_usec = r >= 0 ? since : 0;
        return 1;
}

/*
 * The operator's thaw: a Freeze of our own for a token (a VMM that is
 * already frozen does not pause again), then Thaw with "all", which ends
 * every hold, kept ones and other callers' included.  A VMM from before
 * per-caller holds returns the one freeze's token and ends it on that Thaw.
 */
static int client_thaw_all(NvVmmHandle *h, NvError **reterr) {
        uint64_t token;
        int r;

        r = client_freeze(h, false, &token, reterr);
        if (r < 0)
                return r;
        return thaw_call(h, token, true, reterr);
}

/* What a state-bearing reply's info says; keys a VMM does not send stay 0. */
typedef struct CallInfo {
        uint64_t size, frozen_usec;
        int found_frozen;
} CallInfo;

/* One info entry we know; the rest skipped (a known key of another type fails the read). */
static int read_info_entry(sd_bus_message *reply, const char *key, CallInfo *info) {
        if (strcmp(key, "size") == 0)
                return sd_bus_message_read(reply, "v", "t", &info->size);
        if (strcmp(key, NV_VMM_INFO_FROZEN_USEC) == 0)
                return sd_bus_message_read(reply, "v", "t", &info->frozen_usec);
        if (strcmp(key, NV_VMM_INFO_FOUND_FROZEN) == 0)
                return sd_bus_message_read(reply, "v", "b", &info->found_frozen);
        return sd_bus_message_skip(reply, "v");
}

static int read_info(sd_bus_message *reply, CallInfo *ret) {
        const char *key;
        int r;

        *ret = (CallInfo) {};
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = read_info_entry(reply, key, ret);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        return r < 0 ? r : sd_bus_message_exit_container(reply);
}

/* The memfd and info of a GetNestedState or Collect reply. */
static int read_state_reply(const char *method, sd_bus_message *reply, uint8_t **ret_img, size_t *ret_len, CallInfo *info,
                            NvError **reterr) {
        _cleanup_free_ uint8_t *img = NULL;
        size_t len;
        int r, fd;

        if ((r = sd_bus_message_read(reply, "h", &fd)) < 0 || (r = read_info(reply, info)) < 0)
                return nv_error_set(reterr, r, _("The VMM's %s reply is malformed."), method);
        /* Bounded and sealed, not parsed: the caller parses it once, as hostile input, after the thaw. */
        r = nv_memfd_read_sealed(fd, NV_SNAPSHOT_MAX_SIZE, info->size, &img, &len, reterr);
        if (r < 0)
                return r;
        *ret_img = TAKE_PTR(img);
        *ret_len = len;
        return 0;
}

static int client_get_state(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        CallInfo info;
        int r;

        if ((r = new_call(h, "GetNestedState", &m)) < 0 || (r = sd_bus_message_append(m, "a{sv}", 0)) < 0)
                return r;
        r = call(h, "GetNestedState", m, &reply, reterr);
        return r < 0 ? r : read_state_reply("GetNestedState", reply, ret_img, ret_len, &info, reterr);
}

/* Collect: freeze, collect and thaw in the VMM, one round trip; 0 if the VMM has no Collect. */
static int client_collect_once(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec, bool *ret_found_frozen,
                               NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        CallInfo info;
        int r;

        if (h->no_collect)
                return 0;
        if ((r = new_call(h, "Collect", &m)) < 0 || (r = sd_bus_message_append(m, "a{sv}", 0)) < 0)
                return r;
        r = call_newer(h, "Collect", m, &reply, reterr);
        h->no_collect = r == 0;
        if (r <= 0)
                return r;
        r = read_state_reply("Collect", reply, ret_img, ret_len, &info, reterr);
        if (r < 0)
                return r;
        *ret_frozen_usec = info.frozen_usec;
        *ret_found_frozen = info.found_frozen;
        return 1;
}

/* Whether the staged memfd holds img and len (what stage_state was given for them). */
static bool staged_for(const NvVmmHandle *h, const uint8_t *img, size_t len) {
        return h->staged_fd >= 0 && h->staged_img == img && h->staged_len == len;
}

/* The memfd for a set_state to come, filled and sealed before the freeze. */
static int client_stage_state(NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr) {
        h->staged_fd = safe_close(h->staged_fd);
        h->staged_img = img;
        h->staged_len = len;
        return nv_memfd_seal_new(img, len, &h->staged_fd, reterr);
}

static int client_set_state(NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (staged_for(h, img, len))
                fd = TAKE_FD(h->staged_fd);
        else if ((r = nv_memfd_seal_new(img, len, &fd, reterr)) < 0)
                return r;
        if ((r = new_call(h, "SetNestedState", &m)) < 0 || (r = sd_bus_message_append(m, "ha{sv}", fd, 0)) < 0)
                return r;
        return call(h, "SetNestedState", m, NULL, reterr);
}

/* Load: freeze, load and thaw in the VMM, one round trip; 0 if the VMM has no Load (the staged memfd stays for set_state). */
static int client_load_once(NvVmmHandle *h, const uint8_t *img, size_t len, uint64_t *ret_frozen_usec, NvError **reterr) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        CallInfo info;
        int r;

        if (h->no_load)
                return 0;
        if (!staged_for(h, img, len) && (r = client_stage_state(h, img, len, reterr)) < 0)
                return r;
        if ((r = new_call(h, "Load", &m)) < 0 || (r = sd_bus_message_append(m, "ha{sv}", h->staged_fd, 0)) < 0)
                return r;
        r = call_newer(h, "Load", m, &reply, reterr);
        h->no_load = r == 0;
        if (r <= 0)
                return r;
        h->staged_fd = safe_close(h->staged_fd); /* sent: a later load stages its own */
        if ((r = read_info(reply, &info)) < 0)
                return nv_error_set(reterr, r, _("The VMM's %s reply is malformed."), "Load");
        *ret_frozen_usec = info.frozen_usec;
        return 1;
}

static unsigned client_vcpu_count(NvVmmHandle *h) {
        return h->n_vcpus;
}

static const char *client_vm_uuid(NvVmmHandle *h) {
        return h->vm_uuid;
}

static int client_vendor(NvVmmHandle *h) {
        return h->vendor;
}

static int client_incoming(NvVmmHandle *h) {
        return h->incoming;
}

const NvVmmBackend nv_vmm_backend_dbus = {
        .name = "dbus",
        .connect = client_connect,
        .frozen = client_frozen,
        .freeze = client_freeze,
        .thaw = client_thaw,
        .get_state = client_get_state,
        .stage_state = client_stage_state,
        .set_state = client_set_state,
        .collect_once = client_collect_once,
        .load_once = client_load_once,
        .vcpu_count = client_vcpu_count,
        .vendor = client_vendor,
        .vm_uuid = client_vm_uuid,
        .incoming = client_incoming,
        .thaw_all = client_thaw_all,
        .disconnect = client_disconnect,
};
