/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.NestedState1.Machine: one object per domain that has our
 * metadata, at /org/nestvirt/NestedState1/machine/<encoded UUID>.  The
 * objects are not kept: libvirt is the source of truth, so each lookup and
 * property read asks it (a short local call), and the object tree is
 * whatever libvirt lists now.  Only each domain's last job result lives here.
 */
#include <stdlib.h>
#include <string.h>

#include "nested-state.h"
#include "service.h"

typedef struct NvMachineResult {
        char uuid[37];
        char *result;
} NvMachineResult;

int nv_machine_path(const char *uuid, char **ret) {
        return sd_bus_path_encode(NV_MACHINE_PREFIX, uuid, ret);
}

/* By name, UUID or our object path; only domains with nestvirt metadata are machines. */
int nv_machine_lookup(NvService *s, const char *name, NvDomainEntry *ret, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *decoded = NULL;
        NvDomainEntry e = {};
        int r;

        if (name[0] == '/' && sd_bus_path_decode(name, NV_MACHINE_PREFIX, &decoded) > 0)
                name = decoded;
        if (!*name)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "An empty domain name was given.");
        r = nv_conn_get_domain(nv_driver_conn(s->driver), name, &e, &err);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_NO_SUCH_MACHINE, "%s", nv_error_message(err, r));
        if (r < 0)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_FAILED, "%s", nv_error_message(err, r));
        if (!e.def->meta) {
                r = sd_bus_error_setf(error, NV_SERVICE_ERROR_NO_SUCH_MACHINE,
                                      "Domain '%s' has no nestvirt metadata: it is not a machine nestvirt manages.", e.def->name);
                nv_domain_def_free(e.def);
                return r;
        }
        *ret = e;
        return 0;
}

static int machine_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        NvService *s = userdata;
        NvDomainEntry e = {};

        (void) bus;
        (void) interface;
        (void) error;
        if (nv_machine_lookup(s, path, &e, NULL) < 0)
                return 0;
        nv_domain_def_free(e.def);
        *found = s; /* the getters look the domain up again: sd-bus would not free a per-call object */
        return 1;
}

static int machine_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        NvService *s = userdata;
        NvDomainEntry *e = NULL;
        char **l = NULL;
        size_t n = 0, k = 0;
        int r;

        (void) bus;
        (void) path;
        r = nv_conn_list(nv_driver_conn(s->driver), /* all= */ true, &e, &n, NULL);
        if (r < 0)
                return sd_bus_error_set(error, NV_SERVICE_ERROR_FAILED, "Cannot list domains.");
        l = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; l && i < n; i++)
                if (nv_domain_entry_nested(&e[i]) && nv_machine_path(e[i].def->uuid, &l[k]) >= 0)
                        k++;
        nv_domain_entries_free(e, n);
        if (!l)
                return -ENOMEM;
        *nodes = l;
        return 0;
}

static const char *last_result(NvService *s, const char *uuid) {
        for (size_t i = 0; i < s->n_results; i++)
                if (strcmp(s->results[i].uuid, uuid) == 0)
                        return s->results[i].result;
        return "";
}

void nv_machine_set_result(NvService *s, const char *uuid, const char *result) {
        _cleanup_free_ char *path = NULL;
        NvMachineResult *n;
        char *copy = strdup(result);
        size_t i;

        if (!copy)
                return;
        for (i = 0; i < s->n_results && strcmp(s->results[i].uuid, uuid) != 0; i++)
                ;
        if (i == s->n_results) {
                if (!(n = reallocarray(s->results, s->n_results + 1, sizeof(*n)))) {
                        free(copy);
                        return;
                }
                s->results = n;
                s->results[s->n_results++] = (NvMachineResult) {};
                snprintf(s->results[i].uuid, sizeof(s->results[i].uuid), "%s", uuid);
        }
        free(s->results[i].result);
        s->results[i].result = copy;
        /* The state reference's change comes as libvirt's metadata event (events.c). */
        if (nv_machine_path(uuid, &path) >= 0)
                (void) sd_bus_emit_properties_changed(s->bus, path, NV_MACHINE_INTERFACE, "LastResult", NULL);
}

void nv_machine_results_free(NvService *s) {
        for (size_t i = 0; i < s->n_results; i++)
                free(s->results[i].result);
        free(s->results);
        s->results = NULL;
        s->n_results = 0;
}

/* Every property from one fresh look at the domain. */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                        void *userdata, sd_bus_error *error) {
        _cleanup_(nv_domain_def_freep) NvDomainDef *def = NULL;
        NvService *s = userdata;
        NvDomainEntry e = {};
        const NvStateRef *ref;
        const char *why;
        int r, mode;

        (void) bus;
        (void) interface;
        r = nv_machine_lookup(s, path, &e, error);
        if (r < 0)
                return r;
        def = e.def;
        ref = def->meta->has_state ? &def->meta->state : NULL;
        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", def->name);
        if (strcmp(property, "UUID") == 0)
                return sd_bus_message_append(reply, "s", def->uuid);
        if (strcmp(property, "Active") == 0)
                return sd_bus_message_append(reply, "b", e.active);
        if (strcmp(property, "VcpuCount") == 0)
                return sd_bus_message_append(reply, "u", def->vcpus);
        if (strcmp(property, "NestedMode") == 0) {
                mode = nv_domain_def_nested_mode(def, nv_driver_host(s->driver), &why);
                return sd_bus_message_append(reply, "s", mode >= 0 ? nv_format_to_string(mode) : "none");
        }
        if (strcmp(property, "StatePath") == 0)
                return sd_bus_message_append(reply, "s", ref ? ref->path : "");
        if (strcmp(property, "StateSha256") == 0)
                return sd_bus_message_append(reply, "s", ref ? ref->sha256 : "");
        if (strcmp(property, "StateTime") == 0)
                return sd_bus_message_append(reply, "s", ref ? ref->time : "");
        if (strcmp(property, "LastResult") == 0)
                return sd_bus_message_append(reply, "s", last_result(s, def->uuid));
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.", property);
}

static int method_save(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return nv_job_request(userdata, m, NV_JOB_SAVE, sd_bus_message_get_path(m), error);
}

static int method_restore(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return nv_job_request(userdata, m, NV_JOB_RESTORE, sd_bus_message_get_path(m), error);
}

static const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Active", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VcpuCount", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NestedMode", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StatePath", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateSha256", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateTime", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastResult", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Save", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_save,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_restore,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int nv_machine_add(NvService *s) {
        int r = sd_bus_add_fallback_vtable(s->bus, &s->slots[2], NV_MACHINE_PREFIX, NV_MACHINE_INTERFACE, machine_vtable, machine_find, s);

        return r < 0 ? r : sd_bus_add_node_enumerator(s->bus, &s->slots[3], NV_MACHINE_PREFIX, machine_enumerate, s);
}
