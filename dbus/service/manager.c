/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.NestedState1.Manager at /org/nestvirt/NestedState1 (with an
 * ObjectManager): this host's facts, the machines and jobs, and the
 * methods that start work.  Reads are open to everyone; every method that
 * changes something goes through polkit (see polkit.c and job.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "host-caps.h"
#include "nested-state.h"
#include "service.h"

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                        void *userdata, sd_bus_error *error) {
        const NvHostInfo *h = nv_driver_host(((NvService *) userdata)->driver);

        (void) bus;
        (void) path;
        (void) interface;
        if (strcmp(property, "Version") == 0)
                return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
        if (strcmp(property, "HostVendor") == 0)
                return sd_bus_message_append(reply, "s", h->cpu_vendor >= 0 ? nv_format_to_string(h->cpu_vendor) : "none");
        if (strcmp(property, "NestedEnabled") == 0)
                return sd_bus_message_append(reply, "b", h->nested == NV_YES);
        if (strcmp(property, "MaxStateSizePerVcpu") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t) (h->nested_state_max > 0 ? h->nested_state_max : 0));
        if (strcmp(property, "KernelRelease") == 0)
                return sd_bus_message_append(reply, "s", h->kernel_release);
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.", property);
}

static int method_list_machines(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvService *s = userdata;
        NvDomainEntry *e = NULL;
        size_t n = 0;
        int r;

        r = nv_conn_list(nv_driver_conn(s->driver), /* all= */ true, &e, &n, &err);
        if (r < 0)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_FAILED, "%s", nv_error_message(err, r));
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssbo)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (!nv_domain_entry_nested(&e[i])) /* a broken one is listed: GetMachine says what is wrong */
                        continue;
                r = nv_machine_path(e[i].def->uuid, &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(ssbo)", e[i].def->name, e[i].def->uuid, e[i].active, path);
        }
        nv_domain_entries_free(e, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_get_machine(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        NvDomainEntry e = {};
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = nv_machine_lookup(userdata, name, &e, error);
        if (r < 0)
                return r;
        r = nv_machine_path(e.def->uuid, &path);
        nv_domain_def_free(e.def);
        return r < 0 ? r : sd_bus_reply_method_return(m, "o", path);
}

static int method_list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        (void) error;
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
        NvDomainEntry e = {};
        NvMigrateCheck c;
        NvHostInfo dest;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(m, "ssu", &domain, &caps, &flags);
        if (r < 0)
                return r;
        if (flags != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%x for MigrateCheck.", flags);
        r = nv_host_caps_parse(caps, strlen(caps), &dest, &err);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "destCapabilities: %s", nv_error_message(err, r));
        r = nv_machine_lookup(s, domain, &e, error);
        if (r < 0)
                return r;
        nv_migrate_check(e.def, nv_driver_host(s->driver), &dest, &c);
        nv_domain_def_free(e.def);
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
        return uid == 0 || (s->config.vmm_gid != (gid_t) -1 && gid == s->config.vmm_gid);
}

static int check_channel(int fd, sd_bus_error *error) {
        int type = 0, domain = 0;
        socklen_t len = sizeof(int);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
            type != SOCK_STREAM || domain != AF_UNIX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "channel must be a connected unix stream socket.");
        return 0;
}

/* RegisterVmm(s uuid, h channel, a{sv} options) -> o machine */
static int method_register_vmm(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        NvService *s = userdata;
        NvDomainEntry e = {};
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
                r = nv_machine_lookup(s, uuid, &e, error);
        if (r < 0)
                return r;
        r = nv_machine_path(e.def->uuid, &path);
        if (r >= 0 && nv_registry_has(s, e.def->uuid))
                r = sd_bus_error_setf(error, NV_SERVICE_ERROR_BUSY, "A VMM is registered for domain '%s' already.", e.def->name);
        if (r >= 0) {
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the message's copy goes with the message */
                r = fd < 0 ? -errno : nv_registry_add(s, e.def->uuid, fd);
        }
        nv_domain_def_free(e.def);
        return r < 0 ? r : sd_bus_reply_method_return(m, "o", path);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HostVendor", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NestedEnabled", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MaxStateSizePerVcpu", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelRelease", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
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

int nv_manager_add(NvService *s) {
        int r = sd_bus_add_object_vtable(s->bus, &s->slots[0], NV_SERVICE_PATH, NV_MANAGER_INTERFACE, manager_vtable, s);

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
        nv_machine_results_free(s);
        sd_bus_unref(s->bus);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
