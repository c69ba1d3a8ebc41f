/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorization the systemd way, without GLib: root passes, everyone else
 * is asked of polkit with org.freedesktop.PolicyKit1.Authority
 * .CheckAuthorization over sd-bus, asynchronously, so one caller waiting
 * for an administrator's password never blocks the others.  The original
 * call is held until polkit answers; then the method's "act" part runs and
 * replies, or the refusal is replied.  If polkit is not on the bus, the
 * answer is no.
 */
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300u * 1000000u) /* someone may be typing a password */

typedef struct AuthQuery {
        NvService *s;
        sd_bus_message *m;
        char *action;
        NvAuthorizedFunc act;
        void *userdata;
        void (*free_userdata)(void *);
} AuthQuery;

static void query_free(void *p) {
        AuthQuery *q = p;

        if (q->free_userdata)
                q->free_userdata(q->userdata);
        sd_bus_message_unref(q->m);
        free(q->action);
        free(q);
}

/* Runs the method's act part; its failure becomes the method's error reply. */
static int run_act(NvService *s, sd_bus_message *m, NvAuthorizedFunc act, void *userdata) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = act(s, m, userdata, &error);

        if (r < 0)
                r = sd_bus_error_is_set(&error) ? sd_bus_reply_method_error(m, &error) : sd_bus_reply_method_errno(m, r, NULL);
        sd_bus_error_free(&error);
        return r;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        if (e)
                r = sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s: polkit could not be asked (%s).",
                                               q->action, e->message ?: e->name);
        else if ((r = sd_bus_message_enter_container(reply, 'r', "bba{ss}")) < 0 ||
                 (r = sd_bus_message_read(reply, "bb", &authorized, &challenge)) < 0)
                r = sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s: polkit's answer is malformed.",
                                               q->action);
        else if (authorized)
                r = run_act(q->s, q->m, q->act, q->userdata);
        else if (challenge)
                r = sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                               "Interactive authentication is required for %s.", q->action);
        else
                r = sd_bus_reply_method_errorf(q->m, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s.", q->action);
        return 0; /* the slot goes now, and query_free with it */
}

void nv_service_sender_ids(sd_bus_message *m, uid_t *ret_uid, gid_t *ret_gid) {
        sd_bus_creds *creds = NULL;
        uint64_t augmented;

        *ret_uid = (uid_t) -1;
        *ret_gid = (gid_t) -1;
        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID, &creds) < 0)
                return;
        /* Credentials read from /proc (augmented) could belong to a recycled PID: not trusted. */
        augmented = sd_bus_creds_get_augmented_mask(creds);
        if (!(augmented & SD_BUS_CREDS_EUID))
                (void) sd_bus_creds_get_euid(creds, ret_uid);
        if (!(augmented & SD_BUS_CREDS_EGID))
                (void) sd_bus_creds_get_egid(creds, ret_gid);
        sd_bus_creds_unref(creds);
}

/*
 * The sender's groups as dbus-daemon read them from its socket
 * (SO_PEERGROUPS): UnixGroupIDs of GetConnectionCredentials, which sd-bus
 * does not pass on.  1 if gid is among them.
 */
static int bus_groups_contain(sd_bus_message *m, gid_t gid) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *key;
        uint32_t g;
        int r, found = 0;

        r = sd_bus_call_method(sd_bus_message_get_bus(m), "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", NULL, &reply, "s", sd_bus_message_get_sender(m));
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0 && strcmp(key, "UnixGroupIDs") == 0) {
                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(reply, 'a', "u");
                        while (r >= 0 && (r = sd_bus_message_read(reply, "u", &g)) > 0)
                                found |= g == gid;
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        return r < 0 ? r : found;
}

bool nv_service_sender_in_group(sd_bus_message *m, gid_t gid) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        gid_t egid;

        if (sd_bus_is_bus_client(sd_bus_message_get_bus(m)))
                return bus_groups_contain(m, gid) > 0;
        /* Peer to peer: the socket's credentials, never augmented from /proc. */
        return sd_bus_query_sender_creds(m, SD_BUS_CREDS_EGID, &creds) >= 0 &&
               !(sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EGID) && sd_bus_creds_get_egid(creds, &egid) >= 0 &&
               egid == gid;
}

/* uid 0 needs no polkit, as for systemd's services. */
static bool sender_is_root(sd_bus_message *m) {
        uid_t uid;
        gid_t gid;

        nv_service_sender_ids(m, &uid, &gid);
        return uid == 0;
}

int nv_polkit_authorize(NvService *s, sd_bus_message *m, const char *action, NvAuthorizedFunc act, void *userdata,
                        void (*free_userdata)(void *), sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus_slot *slot = NULL;
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        AuthQuery *q;
        int r;

        if (sender_is_root(m)) {
                r = run_act(s, m, act, userdata);
                if (free_userdata)
                        free_userdata(userdata);
                return r;
        }
        q = calloc(1, sizeof(*q));
        if (!q || !(q->action = strdup(action))) {
                free(q);
                if (free_userdata)
                        free_userdata(userdata);
                return -ENOMEM;
        }
        *q = (AuthQuery) { .s = s, .m = sd_bus_message_ref(m), .action = q->action, .act = act, .userdata = userdata,
                           .free_userdata = free_userdata };
        r = sd_bus_message_new_method_call(s->bus, &call, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sd_bus_message_get_sender(m),
                                          action, 0, interactive ? 1u : 0u, "");
        if (r >= 0)
                r = sd_bus_call_async(s->bus, &slot, call, on_polkit_reply, q, interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
        if (r < 0) {
                query_free(q);
                return sd_bus_error_set_errnof(error, r, "Cannot ask polkit about %s: %s", action, strerror(-r));
        }
        /* The bus owns the pending query; it is freed after the answer, or when the bus goes. */
        (void) sd_bus_slot_set_destroy_callback(slot, query_free);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
        return 1; /* replied when polkit answers */
}
