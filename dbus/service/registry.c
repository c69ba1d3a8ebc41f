/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMMs registered with RegisterVmm: each handed over one end of a socket
 * pair and serves org.nestvirt.Vmm1 on the other.  The D-Bus connection on
 * it is made the first time a job needs it (in the job's worker thread, so
 * the handshake never blocks the loop) and kept for the registration's
 * life; the loop only watches the socket for the VMM hanging up.  A
 * registered VMM is used instead of what the domain's metadata names.
 *
 * Each descriptor has one owner: the entry owns its copy of the channel
 * (watched, closed when the entry goes), the bus owns another copy.  If
 * the handshake fails, the bus closes its copy and the entry shuts the
 * channel down, so that the hangup removes the entry: no number is kept
 * for a descriptor that is gone.
 */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "service.h"
#include "vmm-client.h"

struct NvRegisteredVmm {
        NvRegisteredVmm *next;
        NvService *s;
        char uuid[37];
        int fd;      /* the entry's copy of the channel: watched for the hangup */
        sd_bus *bus; /* made on first use on a copy of its own; each job's handle holds a reference */
        sd_event_source *hup;
};

static void entry_free(NvRegisteredVmm *e) {
        sd_event_source_disable_unref(e->hup);
        sd_bus_unref(e->bus); /* a worker still using it holds a reference: freed after it */
        safe_close(e->fd);
        free(e);
}

static NvRegisteredVmm **entry_find(NvService *s, const char *uuid) {
        NvRegisteredVmm **p = &s->registry;

        while (*p && strcasecmp((*p)->uuid, uuid) != 0)
                p = &(*p)->next;
        return p;
}

static int on_hup(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        NvRegisteredVmm *e = userdata;
        NvService *s = e->s;

        pthread_mutex_lock(&s->registry_lock);
        *entry_find(s, e->uuid) = e->next;
        pthread_mutex_unlock(&s->registry_lock);
        fprintf(stderr, "nestvirtd: the VMM registered for %s hung up\n", e->uuid);
        entry_free(e);
        return 0;
}

bool nv_registry_has(NvService *s, const char *uuid) {
        bool r;

        pthread_mutex_lock(&s->registry_lock);
        r = *entry_find(s, uuid) != NULL;
        pthread_mutex_unlock(&s->registry_lock);
        return r;
}

int nv_registry_add(NvService *s, const char *uuid, int channel) {
        NvRegisteredVmm *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        *e = (NvRegisteredVmm) { .s = s, .fd = fcntl(channel, F_DUPFD_CLOEXEC, 3) };
        if (e->fd < 0) {
                r = -errno;
                free(e);
                return r;
        }
        snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
        r = sd_event_add_io(s->event, &e->hup, e->fd, EPOLLRDHUP, on_hup, e);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        pthread_mutex_lock(&s->registry_lock);
        e->next = s->registry;
        s->registry = e;
        pthread_mutex_unlock(&s->registry_lock);
        return 0;
}

/* A client bus on a copy of the channel (the bus's own: it closes it, on failure too). */
static int channel_bus(int channel, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int fd, r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        fd = fcntl(channel, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        if ((r = sd_bus_set_anonymous(bus, 1)) < 0 || (r = sd_bus_negotiate_fds(bus, 1)) < 0 || (r = sd_bus_start(bus)) < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* The entry's connection, made now if it is not yet: a client on our end of the pair. */
static int entry_bus(NvRegisteredVmm *e, sd_bus **ret) {
        int r;

        if (!e->bus) {
                r = channel_bus(e->fd, &e->bus);
                if (r < 0) {
                        (void) shutdown(e->fd, SHUT_RDWR); /* unusable: the hangup removes the entry */
                        return r;
                }
        }
        *ret = sd_bus_ref(e->bus);
        return 0;
}

/* NvDriverConfig.vmm_lookup, in a job's worker thread. */
int nv_registry_lookup(void *userdata, const char *uuid, NvVmmHandle **ret, NvError **reterr) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        NvService *s = userdata;
        NvRegisteredVmm *e;
        int r = 0;

        pthread_mutex_lock(&s->registry_lock);
        e = *entry_find(s, uuid);
        if (e)
                r = entry_bus(e, &bus);
        pthread_mutex_unlock(&s->registry_lock);
        if (!e)
                return 0;
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot talk to the VMM registered for %s: %s"), uuid, strerror(-r));
        r = nv_vmm_client_adopt(bus, ret, reterr);
        return r < 0 ? r : 1;
}

void nv_registry_free(NvService *s) {
        while (s->registry) {
                NvRegisteredVmm *e = s->registry;

                s->registry = e->next;
                entry_free(e);
        }
}
