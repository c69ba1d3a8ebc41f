/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.NestedState1.Machine: one object per domain that has our
 * metadata, at /org/nestvirt/NestedState1/machine/<encoded UUID>.  As
 * systemd's machined keeps its machines, nestvirtd keeps one NvMachine per
 * domain, keyed by UUID: filled from one listing at start, refreshed when
 * libvirt reports a lifecycle or metadata change (events.c), re-read
 * whole after a reconnect.  Every property lives in a named slot of the
 * object and sd-bus reads it by its offset (a NULL getter in the vtable),
 * so reading properties never calls libvirt.  Only a lookup of a domain
 * not in the table (defined a moment ago, or not ours) asks libvirt.  A
 * domain whose XML is refused is kept as broken: ListMachines lists it,
 * and each lookup asks libvirt again, which says what is wrong.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nested-state.h"
#include "service.h"

/* The slots sd-bus reads: 's' a char * (NULL reads as ""), 'b' an int, 'u' a uint32_t. */
struct NvMachine {
        NvService *s;
        char *path; /* object path, from the UUID */
        char *uuid; /* the key */
        char *name;
        int active;
        uint32_t vcpus;
        char *nested_mode;
        char *state_path;
        char *state_sha256;
        char *state_time;
        char *last_result;
        NvDomainDef *def; /* as libvirt last described it: what MigrateCheck checks; NULL if broken */
        char *broken;     /* its XML was refused (why): listed, but not an object, and no job runs on it */
};

int nv_machine_path(const char *uuid, char **ret) {
        return sd_bus_path_encode(NV_MACHINE_PREFIX, uuid, ret);
}

static NvMachine *machine_free(NvMachine *m) {
        if (!m)
                return NULL;
        free(m->path);
        free(m->uuid);
        free(m->name);
        free(m->nested_mode);
        free(m->state_path);
        free(m->state_sha256);
        free(m->state_time);
        free(m->last_result);
        free(m->broken);
        nv_domain_def_free(m->def);
        free(m);
        return NULL;
}

void nv_machines_free(NvService *s) {
        for (size_t i = 0; i < s->n_machines; i++)
                machine_free(s->machines[i]);
        free(s->machines);
        s->machines = NULL;
        s->n_machines = 0;
}

static int set_str(char **slot, const char *v) {
        char *copy = strdup(v ?: "");

        if (!copy)
                return -ENOMEM;
        free(*slot);
        *slot = copy;
        return 0;
}

/* The slots from e (its definition taken on success): what the property reads return until the next refresh. */
static int machine_fill(NvService *s, NvMachine *m, NvDomainEntry *e) {
        const NvDomainDef *def = e->def;
        const NvStateRef *ref = def->meta && def->meta->has_state ? &def->meta->state : NULL;
        const char *why;
        int mode = def->meta ? nv_domain_def_nested_mode(def, nv_driver_host(s->driver), &why) : -1, r;

        r = set_str(&m->name, def->name);
        if (r >= 0)
                r = e->broken ? set_str(&m->broken, e->broken) : 0;
        if (r >= 0 && !e->broken) {
                free(m->broken);
                m->broken = NULL;
        }
        if (r >= 0)
                r = set_str(&m->nested_mode, e->broken ? "broken" : nv_nested_mode_to_string(mode));
        if (r >= 0)
                r = set_str(&m->state_path, ref ? ref->path : "");
        if (r >= 0)
                r = set_str(&m->state_sha256, ref ? ref->sha256 : "");
        if (r >= 0)
                r = set_str(&m->state_time, ref ? ref->time : "");
        if (r < 0)
                return r;
        m->active = e->active;
        m->vcpus = def->vcpus;
        nv_domain_def_free(m->def);
        m->def = TAKE_PTR(e->def);
        return 0;
}

static NvMachine *machine_by_uuid(NvService *s, const char *uuid) {
        for (size_t i = 0; i < s->n_machines; i++)
                if (strcasecmp(s->machines[i]->uuid, uuid) == 0)
                        return s->machines[i];
        return NULL;
}

static NvMachine *machine_by_name(NvService *s, const char *name) {
        for (size_t i = 0; i < s->n_machines; i++)
                if (strcmp(s->machines[i]->name, name) == 0)
                        return s->machines[i];
        return NULL;
}

static void machine_remove(NvService *s, NvMachine *m) {
        for (size_t i = 0; i < s->n_machines; i++)
                if (s->machines[i] == m) {
                        (void) sd_bus_emit_object_removed(s->bus, m->path); /* while it can still be found */
                        memmove(&s->machines[i], &s->machines[i + 1], (s->n_machines - i - 1) * sizeof(NvMachine *));
                        s->n_machines--;
                        machine_free(m);
                        return;
                }
}

static int by_name(const void *a, const void *b) {
        return strcmp((*(NvMachine *const *) a)->name, (*(NvMachine *const *) b)->name);
}

/* Takes e's definition: a new machine, or the slots of the one it was. */
static int machine_update(NvService *s, NvDomainEntry *e, NvMachine **ret) {
        NvMachine *m = machine_by_uuid(s, e->def->uuid), **l;
        bool added = !m;
        int r;

        if (added) {
                l = reallocarray(s->machines, s->n_machines + 1, sizeof(NvMachine *));
                if (!l)
                        return -ENOMEM;
                s->machines = l;
                m = calloc(1, sizeof(*m));
                if (m)
                        m->s = s;
                if (!m || !(m->uuid = strdup(e->def->uuid)) || nv_machine_path(m->uuid, &m->path) < 0) {
                        machine_free(m);
                        return -ENOMEM;
                }
        }
        r = machine_fill(s, m, e);
        if (r < 0) {
                if (added)
                        machine_free(m);
                return r;
        }
        if (added)
                s->machines[s->n_machines++] = m;
        qsort(s->machines, s->n_machines, sizeof(NvMachine *), by_name); /* a rename moves it */
        if (added)
                (void) sd_bus_emit_object_added(s->bus, m->path);
        if (ret)
                *ret = m;
        return 0;
}

/* What libvirt said of CPU models, written down for the hook (which must not ask libvirt itself). */
static void machines_keep_cpu_cache(NvService *s) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        int r = nv_cpu_cache_save(nv_driver_conn(s->driver), nv_driver_state_dir(s->driver), nv_driver_host(s->driver), &err);

        if (r < 0)
                fprintf(stderr, "nestvirtd: %s\n", nv_error_message(err, r));
}

/*
 * Asks libvirt about one domain; a machine if it has our metadata.  Forgets
 * a domain that is gone or no longer ours (-ENOENT).
 */
static int machine_load(NvService *s, const char *name, NvMachine **ret, sd_bus_error *error) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvDomainEntry e = {};
        NvMachine *old = machine_by_name(s, name) ?: machine_by_uuid(s, name);
        int r;

        r = nv_conn_get_domain(nv_driver_conn(s->driver), name, &e, &err);
        if (r >= 0)
                machines_keep_cpu_cache(s);
        if (r == -ENOENT && old)
                machine_remove(s, old);
        if (r < 0 && r != -ENOENT && old)
                (void) set_str(&old->broken, nv_error_message(err, r)); /* its XML is refused now: listed as broken */
        if (r < 0) {
                (void) sd_bus_error_setf(error, r == -ENOENT ? NV_SERVICE_ERROR_NO_SUCH_MACHINE : NV_SERVICE_ERROR_FAILED, "%s",
                                         nv_error_message(err, r));
                return r;
        }
        if (!e.def->meta) {
                if ((old = machine_by_uuid(s, e.def->uuid)))
                        machine_remove(s, old);
                (void) sd_bus_error_setf(error, NV_SERVICE_ERROR_NO_SUCH_MACHINE,
                                         "Domain '%s' has no nestvirt metadata: it is not a machine nestvirt manages.", e.def->name);
                nv_domain_def_free(e.def);
                return -ENOENT;
        }
        r = machine_update(s, &e, ret);
        nv_domain_def_free(e.def);
        return r;
}

static int machine_emit(NvService *s, NvMachine *m) {
        return sd_bus_emit_properties_changed(s->bus, m->path, NV_MACHINE_INTERFACE, "Active", "VcpuCount", "NestedMode",
                                              "StatePath", "StateSha256", "StateTime", NULL);
}

int nv_machine_refresh(NvService *s, const char *name) {
        NvMachine *m = NULL;
        int r = machine_load(s, name, &m, NULL);

        return r < 0 ? r : machine_emit(s, m);
}

/* Every domain again (at start, and after libvirt came back): adds, updates, forgets. */
int nv_machines_resync(NvService *s, NvError **reterr) {
        NvDomainEntry *e = NULL;
        NvMachine *m;
        size_t n = 0;
        int r;

        r = nv_conn_list(nv_driver_conn(s->driver), /* all= */ true, &e, &n, reterr);
        if (r < 0)
                return r;
        machines_keep_cpu_cache(s);
        for (size_t i = s->n_machines; i-- > 0;) {
                bool listed = false;

                for (size_t k = 0; k < n && !listed; k++)
                        listed = nv_domain_entry_nested(&e[k]) && strcasecmp(e[k].def->uuid, s->machines[i]->uuid) == 0;
                if (!listed)
                        machine_remove(s, s->machines[i]);
        }
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (nv_domain_entry_nested(&e[i]) && (r = machine_update(s, &e[i], &m)) >= 0 && !m->broken)
                        (void) machine_emit(s, m);
        nv_domain_entries_free(e, n);
        return r;
}

/* By name, UUID or our object path: the table first, libvirt only for a domain not in it. */
int nv_machine_lookup(NvService *s, const char *name, NvMachine **ret, sd_bus_error *error) {
        _cleanup_free_ char *decoded = NULL;
        NvMachine *m;

        if (name[0] == '/' && sd_bus_path_decode(name, NV_MACHINE_PREFIX, &decoded) > 0)
                name = decoded;
        if (!*name)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "An empty domain name was given.");
        m = machine_by_name(s, name) ?: machine_by_uuid(s, name);
        if (m && !m->broken) {
                *ret = m;
                return 0;
        }
        return machine_load(s, m ? m->uuid : name, ret, error); /* a broken one: libvirt says what is wrong, or it is fixed */
}

const char *nv_machine_uuid(const NvMachine *m) {
        return m->uuid;
}

const char *nv_machine_name(const NvMachine *m) {
        return m->name;
}

const char *nv_machine_object_path(const NvMachine *m) {
        return m->path;
}

const NvDomainDef *nv_machine_def(const NvMachine *m) {
        return m->def;
}

int nv_machine_append_list(NvService *s, sd_bus_message *reply) {
        int r = sd_bus_message_open_container(reply, 'a', "(ssbo)");

        for (size_t i = 0; r >= 0 && i < s->n_machines; i++)
                r = sd_bus_message_append(reply, "(ssbo)", s->machines[i]->name, s->machines[i]->uuid, s->machines[i]->active,
                                          s->machines[i]->path);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

void nv_machine_set_result(NvService *s, const char *uuid, const char *result) {
        NvMachine *m = machine_by_uuid(s, uuid);

        if (m && set_str(&m->last_result, result) >= 0)
                (void) sd_bus_emit_properties_changed(s->bus, m->path, NV_MACHINE_INTERFACE, "LastResult", NULL);
        /* The state reference's change comes as libvirt's metadata event (events.c). */
}

/* The object at path, for sd-bus to read its slots at their offsets. */
static int machine_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        NvMachine *m;

        if (nv_machine_lookup(userdata, path, &m, NULL) < 0)
                return 0;
        *found = m;
        return 1;
}

static int machine_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        NvService *s = userdata;
        char **l = calloc(s->n_machines + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0, k = 0; i < s->n_machines; i++) {
                if (s->machines[i]->broken)
                        continue; /* listed by ListMachines, but not an object: its properties cannot be read */
                if (!(l[k++] = strdup(s->machines[i]->path))) {
                        while (k-- > 0)
                                free(l[k]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 0;
}

/* The methods get the machine, as the properties do. */
static int method_save(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return nv_job_request(((NvMachine *) userdata)->s, m, NV_JOB_SAVE, sd_bus_message_get_path(m), error);
}

static int method_restore(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return nv_job_request(((NvMachine *) userdata)->s, m, NV_JOB_RESTORE, sd_bus_message_get_path(m), error);
}

/* Properties: NULL getters, read by sd-bus at the slot's offset in the object machine_find returns. */
#define SLOT(name, sig, field, flags) SD_BUS_PROPERTY(name, sig, NULL, offsetof(NvMachine, field), flags)
static const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SLOT("Name", "s", name, SD_BUS_VTABLE_PROPERTY_CONST),
        SLOT("UUID", "s", uuid, SD_BUS_VTABLE_PROPERTY_CONST),
        SLOT("Active", "b", active, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("VcpuCount", "u", vcpus, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("NestedMode", "s", nested_mode, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("StatePath", "s", state_path, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("StateSha256", "s", state_sha256, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("StateTime", "s", state_time, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SLOT("LastResult", "s", last_result, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Save", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_save,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_ARGS("a{sv}", options, "u", flags), SD_BUS_RESULT("o", job), method_restore,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int nv_machine_add(NvService *s) {
        int r = sd_bus_add_fallback_vtable(s->bus, &s->slots[2], NV_MACHINE_PREFIX, NV_MACHINE_INTERFACE, machine_vtable,
                                           machine_find, s);

        return r < 0 ? r : sd_bus_add_node_enumerator(s->bus, &s->slots[3], NV_MACHINE_PREFIX, machine_enumerate, s);
}
