/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Machines follow libvirt: its lifecycle and metadata events (whoever made
 * the change: nestvirtd's jobs, the nestvirt CLI, virsh) become
 * PropertiesChanged on the Machine objects.  When libvirt closes the
 * connection (libvirtd restarted), the event thread opens it again, with
 * the events, and the loop reads every domain again.  libvirt's event loop runs on
 * a thread of its own; its callbacks queue domain names, and the sd-event
 * loop, woken through an eventfd, emits the signals: only the loop touches
 * the bus.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "service.h"
#include "util.h"

#define MAX_PENDING 1024 /* beyond this, events coalesce into "every machine" */
#define RECONNECT_INTERVAL_USEC (1000u * 1000u)

/* In libvirt's event thread. */
static void on_libvirt_event(const char *domain, const char *kind, int detail, void *userdata) {
        NvService *s = userdata;
        char *copy;

        if (!domain) /* the connection closed: the thread below reconnects */
                return;
        copy = strdup(domain);
        pthread_mutex_lock(&s->events_lock);
        for (size_t i = 0; copy && i < s->n_pending; i++)
                if (strcmp(s->pending[i], copy) == 0)
                        copy = (free(copy), NULL);
        if (copy && s->n_pending < MAX_PENDING)
                s->pending[s->n_pending++] = copy;
        else if (copy) {
                free(copy);
                s->pending_overflow = true;
        }
        pthread_mutex_unlock(&s->events_lock);
        (void) eventfd_write(s->events_fd, 1);
}

/*
 * libvirt closed the connection (libvirtd restarted, or stopped): open it
 * again, once a second until it works, and have the loop read every domain
 * again, since the events in between are lost.
 */
static void reconnect(NvService *s, uint64_t *next_try) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        uint64_t now = nv_now_usec(CLOCK_MONOTONIC);
        int r;

        if (now < *next_try)
                return;
        if (*next_try == 0)
                fprintf(stderr, "nestvirtd: the libvirt connection closed; reconnecting\n");
        *next_try = now + RECONNECT_INTERVAL_USEC;
        r = nv_conn_reconnect(nv_driver_conn(s->driver), &err);
        if (r < 0)
                return;
        fprintf(stderr, "nestvirtd: reconnected to libvirt\n");
        *next_try = 0;
        pthread_mutex_lock(&s->events_lock);
        s->pending_overflow = true; /* read them all again */
        pthread_mutex_unlock(&s->events_lock);
        (void) eventfd_write(s->events_fd, 1);
}

static void *events_thread(void *userdata) {
        NvService *s = userdata;
        uint64_t next_try = 0;

        while (!atomic_load(&s->events_stop)) {
                if (nv_conn_closed(nv_driver_conn(s->driver)))
                        reconnect(s, &next_try);
                (void) nv_conn_run_events(nv_driver_conn(s->driver), 250, NULL);
        }
        return NULL;
}

static void emit_changed(NvService *s, const char *domain) {
        int r = nv_machine_refresh(s, domain);

        /* Undefined, or without our metadata: no machine to speak of (and forgotten if it was one). */
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "nestvirtd: cannot follow the change of domain '%s': %s\n", domain, strerror(-r));
}

void nv_service_resync(NvService *s) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        int r = nv_machines_resync(s, &err);

        if (r < 0)
                fprintf(stderr, "nestvirtd: cannot read the domains: %s\n", nv_error_message(err, r));
}

static int on_events(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        NvService *s = userdata;
        char **names;
        size_t n;
        bool all;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        pthread_mutex_lock(&s->events_lock);
        names = s->pending;
        n = s->n_pending;
        all = s->pending_overflow;
        s->pending = calloc(MAX_PENDING, sizeof(char *));
        s->n_pending = 0;
        s->pending_overflow = false;
        pthread_mutex_unlock(&s->events_lock);
        for (size_t i = 0; i < n; i++) {
                emit_changed(s, names[i]);
                free(names[i]);
        }
        free(names);
        if (all) /* more changed than we queued: read them all again */
                nv_service_resync(s);
        return 0;
}

int nv_events_start(NvService *s, NvError **reterr) {
        int r;

        pthread_mutex_init(&s->events_lock, NULL);
        s->events_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        s->pending = calloc(MAX_PENDING, sizeof(char *));
        if (s->events_fd < 0 || !s->pending)
                return -ENOMEM;
        r = sd_event_add_io(s->event, &s->events_src, s->events_fd, EPOLLIN, on_events, s);
        if (r >= 0)
                r = nv_conn_subscribe(nv_driver_conn(s->driver), on_libvirt_event, s, reterr);
        if (r >= 0)
                r = -pthread_create(&s->events_thread, NULL, events_thread, s);
        if (r < 0)
                return nv_error_set(reterr, r, "Cannot follow libvirt's events: %s", strerror(-r));
        s->events_running = true;
        return 0;
}

void nv_events_stop(NvService *s) {
        if (s->events_running) {
                atomic_store(&s->events_stop, true);
                pthread_join(s->events_thread, NULL); /* within one event loop turn, 250 ms */
                s->events_running = false;
        }
        s->events_src = sd_event_source_disable_unref(s->events_src);
        s->events_fd = safe_close(s->events_fd);
        for (size_t i = 0; i < s->n_pending; i++)
                free(s->pending[i]);
        free(s->pending);
        s->pending = NULL;
        s->n_pending = 0;
}
