/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A polkit authority for tests, on a private bus: a real D-Bus service
 * that answers org.freedesktop.PolicyKit1.Authority.CheckAuthorization the
 * way the test programs it.  Each action's verdict (allow, deny,
 * challenge, or slow: allow after a second; deny until set) is set with the control interface
 * org.nestvirt.test.FakePolkit.SetVerdict(s action, s verdict); Calls()
 * returns every question asked, as (action, subject bus name, flags).
 *
 *   fake-polkit    serves on $DBUS_SYSTEM_BUS_ADDRESS until SIGTERM
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define MAX_ACTIONS 16
#define MAX_CALLS 256

typedef struct Verdict {
        char action[128];
        char verdict[16];
} Verdict;

typedef struct Call {
        char action[128], subject[128];
        unsigned flags;
} Call;

typedef struct Authority {
        Verdict verdicts[MAX_ACTIONS];
        unsigned n_verdicts;
        Call calls[MAX_CALLS];
        unsigned n_calls;
} Authority;

static const char *verdict_of(Authority *a, const char *action) {
        for (unsigned i = 0; i < a->n_verdicts; i++)
                if (strcmp(a->verdicts[i].action, action) == 0)
                        return a->verdicts[i].verdict;
        return "deny";
}

/* The subject (sa{sv}): its kind must be system-bus-name, with a name. */
static int read_subject(sd_bus_message *m, char *name, size_t size) {
        const char *kind, *key, *value = NULL;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'r', "sa{sv}")) < 0 || (r = sd_bus_message_read(m, "s", &kind)) < 0 ||
            (r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                if ((r = sd_bus_message_read(m, "s", &key)) < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", &value);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        if (strcmp(kind, "system-bus-name") != 0 || !value)
                return -EINVAL;
        snprintf(name, size, "%s", value);
        return 0;
}

static int reply_verdict(sd_bus_message *m, const char *v) {
        return sd_bus_reply_method_return(m, "(bba{ss})", strcmp(v, "allow") == 0 || strcmp(v, "slow") == 0,
                                          strcmp(v, "challenge") == 0, 0);
}

/* "slow": the answer comes a second later, as when someone types a password. */
static int on_slow(sd_event_source *s, uint64_t usec, void *userdata) {
        sd_bus_message *m = userdata;

        (void) reply_verdict(m, "slow");
        sd_bus_message_unref(m);
        sd_event_source_unref(s);
        return 0;
}

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Authority *a = userdata;
        char subject[128];
        const char *action, *cancel, *v;
        unsigned flags;
        int r;

        r = read_subject(m, subject, sizeof(subject));
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The subject must be a system-bus-name with a name.");
        if ((r = sd_bus_message_read(m, "s", &action)) < 0 || (r = sd_bus_message_skip(m, "a{ss}")) < 0 ||
            (r = sd_bus_message_read(m, "us", &flags, &cancel)) < 0)
                return r;
        if (a->n_calls < MAX_CALLS) {
                Call *c = &a->calls[a->n_calls++];
                snprintf(c->action, sizeof(c->action), "%s", action);
                snprintf(c->subject, sizeof(c->subject), "%s", subject);
                c->flags = flags;
        }
        v = verdict_of(a, action);
        if (strcmp(v, "slow") == 0)
                return sd_event_add_time_relative(sd_bus_get_event(sd_bus_message_get_bus(m)), NULL, CLOCK_MONOTONIC, 1000000, 0, on_slow,
                                                  sd_bus_message_ref(m)) < 0 ? -ENOMEM : 1;
        return reply_verdict(m, v);
}

static int method_set_verdict(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Authority *a = userdata;
        const char *action, *verdict;
        unsigned i;
        int r;

        r = sd_bus_message_read(m, "ss", &action, &verdict);
        if (r < 0)
                return r;
        if (strcmp(verdict, "allow") != 0 && strcmp(verdict, "deny") != 0 && strcmp(verdict, "challenge") != 0 &&
            strcmp(verdict, "slow") != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Verdicts are allow, deny, challenge and slow, not '%s'.",
                                         verdict);
        for (i = 0; i < a->n_verdicts && strcmp(a->verdicts[i].action, action) != 0; i++)
                ;
        if (i == MAX_ACTIONS)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many actions.");
        a->n_verdicts += i == a->n_verdicts;
        snprintf(a->verdicts[i].action, sizeof(a->verdicts[i].action), "%s", action);
        snprintf(a->verdicts[i].verdict, sizeof(a->verdicts[i].verdict), "%s", verdict);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_calls(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        Authority *a = userdata;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssu)");
        for (unsigned i = 0; r >= 0 && i < a->n_calls; i++)
                r = sd_bus_message_append(reply, "(ssu)", a->calls[i].action, a->calls[i].subject, a->calls[i].flags);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("SetVerdict", "ss", "", method_set_verdict, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Calls", "", "a(ssu)", method_calls, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int main(void) {
        static Authority a;
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority",
                                             authority_vtable, &a);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/nestvirt/test/FakePolkit", "org.nestvirt.test.FakePolkit",
                                             control_vtable, &a);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0) {
                printf("ready\n");
                fflush(stdout);
                r = sd_event_loop(event);
        }
        if (r < 0)
                fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
