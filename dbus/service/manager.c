/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.NestedState1.Manager at /org/nestvirt/NestedState1 (with an
 * ObjectManager): this host's facts, the machines and jobs, and the
 * methods that start work.  Reads are open to everyone; every method that
 * changes something goes through polkit (see polkit.c and job.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "host-caps.h"
#include "nested-state.h"
#include "service.h"

static int method_list_machines(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = nv_machine_append_list(userdata, reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_get_machine(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvMachine *machine;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = nv_machine_lookup(userdata, name, &machine, error);
        return r < 0 ? r : sd_bus_reply_method_return(m, "o", nv_machine_object_path(machine));
}

static int method_list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = nv_job_append_list(userdata, reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* Save(s domain, a{sv} options, u flags) -> o job, and Restore alike. */
static int method_domain_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvJobType type = strcmp(sd_bus_message_get_member(m), "Save") == 0 ? NV_JOB_SAVE : NV_JOB_RESTORE;
        const char *domain;
        int r;

        r = sd_bus_message_read(m, "s", &domain);
        return r < 0 ? r : nv_job_request(userdata, m, type, domain, error);
}

/* SaveAll(a{sv} options, u flags) -> o job, and RestoreAll alike. */
static int method_all_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvJobType type = strcmp(sd_bus_message_get_member(m), "SaveAll") == 0 ? NV_JOB_SAVE_ALL : NV_JOB_RESTORE_ALL;

        return nv_job_request(userdata, m, type, NULL, error);
}

/* MigrateCheck(s domain, s destCapabilities, u flags) -> (b ok, as problems): reads only, no authorization. */
static int method_migrate_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvService *s = userdata;
        const char *domain, *caps;
        NvMachine *machine;
        NvMigrateCheck c;
        NvHostInfo dest;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(m, "ssu", &domain, &caps, &flags);
        if (r < 0)
                return r;
        if (flags != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%x for MigrateCheck.", flags);
        /* Bounded before parsing: anyone may call, and parsing megabytes would hold the loop. */
        if (strnlen(caps, NV_SERVICE_CAPS_MAX_SIZE + 1) > NV_SERVICE_CAPS_MAX_SIZE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "destCapabilities is larger than %u bytes; a capabilities document is a few hundred.",
                                         NV_SERVICE_CAPS_MAX_SIZE);
        r = nv_host_caps_parse(caps, strlen(caps), 0, &dest, &err);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "destCapabilities: %s", nv_error_message(err, r));
        r = nv_machine_lookup(s, domain, &machine, error);
        if (r < 0)
                return r;
        nv_migrate_check(nv_machine_def(machine), nv_driver_host(s->driver), &dest, &c);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "b", c.n_problems == 0);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < c.n_problems; i++)
                r = sd_bus_message_append(reply, "s", c.problems[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* Root, or the configured VMM group: RegisterVmm is for VMMs, not for control planes. */
static bool may_register(NvService *s, sd_bus_message *m) {
        uid_t uid;
        gid_t gid;

        nv_service_sender_ids(m, &uid, &gid);
        return uid == 0 || (s->config.vmm_gid != (gid_t) -1 && nv_service_sender_in_group(m, s->config.vmm_gid));
}

/*
 * A channel is one end of a connected unix stream socket: a file, a
 * datagram socket, a listening socket or one never connected would be
 * taken as a VMM and fail only later, in a job.
 */
static int check_channel(int fd, sd_bus_error *error) {
        struct sockaddr_un peer;
        socklen_t len = sizeof(int), plen = sizeof(peer);
        int type = 0, domain = 0, listening = 0;

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "channel must be a connected unix stream socket.");
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || listening)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "channel is a listening socket; it must be one end of a connected pair.");
        if (getpeername(fd, (struct sockaddr *) &peer, &plen) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "channel is not connected to a peer: %s.", strerror(errno));
        return 0;
}

/* RegisterVmm(s uuid, h channel, a{sv} options) -> o machine */
static int method_register_vmm(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvService *s = userdata;
        NvMachine *machine;
        const char *uuid;
        int fd, r;

        r = sd_bus_message_read(m, "sh", &uuid, &fd);
        if (r >= 0)
                r = nv_service_read_options(m, error);
        if (r < 0)
                return r;
        if (!may_register(s, m))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root and the VMM group may register a VMM.");
        r = check_channel(fd, error);
        if (r >= 0)
                r = nv_machine_lookup(s, uuid, &machine, error);
        if (r < 0)
                return r;
        if (nv_registry_has(s, nv_machine_uuid(machine)))
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_BUSY, "A VMM is registered for domain '%s' already.",
                                         nv_machine_name(machine));
        /* The message's fd goes with the message; the registry owns its own copy. */
        r = nv_registry_add(s, nv_machine_uuid(machine), fd);
        return r < 0 ? r : sd_bus_reply_method_return(m, "o", nv_machine_object_path(machine));
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        /* Read by sd-bus at the slot's offset in NvService (NULL getters). */
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(NvService, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HostVendor", "s", NULL, offsetof(NvService, host_vendor), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NestedEnabled", "b", NULL, offsetof(NvService, nested_enabled), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MaxStateSizePerVcpu", "u", NULL, offsetof(NvService, max_state_size), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelRelease", "s", NULL, offsetof(NvService, kernel_release), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListMachines", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbo)", machines), method_list_machines,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMachine", SD_BUS_ARGS("s", domain), SD_BUS_RESULT("o", machine), method_get_machine,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(usssso)", jobs), method_list_jobs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Save", SD_BUS_ARGS("s", domain, "a{sv}", options, "u", flags), SD_BUS_RESULT("o", job),
                                method_domain_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_ARGS("s", domain, "a{sv}", options, "u", flags), SD_BUS_RESULT("o", job),
                                method_domain_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SaveAll", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_all_job,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestoreAll", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_all_job,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MigrateCheck", SD_BUS_ARGS("s", domain, "s", destCapabilities, "u", flags),
                                SD_BUS_RESULT("b", ok, "as", problems), method_migrate_check, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RegisterVmm", SD_BUS_ARGS("s", uuid, "h", channel, "a{sv}", options),
                                SD_BUS_RESULT("o", machine), method_register_vmm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("JobFinished", SD_BUS_ARGS("u", id, "o", job, "s", domain, "s", state, "s", result), 0),
        SD_BUS_VTABLE_END,
};

/* The Manager's slots: this host's facts as the driver probed them at start. */
static int manager_fill(NvService *s) {
        const NvHostInfo *h = nv_driver_host(s->driver);

        s->version = strdup(PACKAGE_VERSION);
        s->host_vendor = strdup(h->cpu_vendor >= 0 ? nv_format_to_string(h->cpu_vendor) : "unknown");
        s->kernel_release = strdup(h->kernel_release);
        s->nested_enabled = h->nested == NV_YES;
        s->max_state_size = (uint32_t) (h->nested_state_max > 0 ? h->nested_state_max : 0);
        return s->version && s->host_vendor && s->kernel_release ? 0 : -ENOMEM;
}

int nv_manager_add(NvService *s) {
        int r = manager_fill(s);

        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(s->bus, &s->slots[0], NV_SERVICE_PATH, NV_MANAGER_INTERFACE, manager_vtable, s);

        return r < 0 ? r : sd_bus_add_object_manager(s->bus, &s->slots[1], NV_SERVICE_PATH);
}

int nv_service_new(sd_bus *bus, sd_event *event, NvDriver *driver, const NvServiceConfig *config, NvService **ret) {
        NvService *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        *s = (NvService) { .bus = sd_bus_ref(bus), .event = sd_event_ref(event), .driver = driver, .config = *config,
                           .events_fd = -EBADF };
        pthread_mutex_init(&s->registry_lock, NULL);
        nv_driver_set_vmm_lookup(driver, nv_registry_lookup, s);
        if (!s->config.max_jobs)
                s->config.max_jobs = 4;
        if (!s->config.max_queued)
                s->config.max_queued = 64;
        if (!s->config.linger_usec)
                s->config.linger_usec = 60u * 1000000u;
        r = nv_manager_add(s);
        if (r >= 0)
                r = nv_machine_add(s);
        if (r >= 0)
                r = nv_job_add_vtable(s);
        if (r >= 0)
                r = nv_events_start(s, NULL);
        if (r >= 0)
                nv_service_resync(s); /* after subscribing: no change falls between the two */
        if (r < 0) {
                nv_service_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Waits for running jobs: a save under way always finishes. */
NvService *nv_service_free(NvService *s) {
        if (!s)
                return NULL;
        nv_events_stop(s);
        for (size_t i = 0; i < ELEMENTSOF(s->slots); i++)
                sd_bus_slot_unref(s->slots[i]);
        nv_jobs_free(s);
        nv_driver_set_vmm_lookup(s->driver, NULL, NULL);
        nv_registry_free(s);
        pthread_mutex_destroy(&s->registry_lock);
        nv_machines_free(s);
        free(s->version);
        free(s->host_vendor);
        free(s->kernel_release);
        sd_bus_unref(s->bus);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
