/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host facts and the JSON view of a domain, shared by list, dominfo and capabilities. */
#include "cli-backend.h"
#include "cli-domain.h"
#include "nested-state.h"

int cli_host_facts(Cli *cli, NvHostInfo *ret, NvError **reterr) {
        CliKvm k;
        int r;

        if (!cli->force_sim)
                return nv_host_probe(cli_host_root(), NULL, ret, reterr);
        r = cli_open_backend(true, -1, &k, reterr);
        if (r < 0)
                return r;
        *ret = k.host;
        cli_kvm_close(&k);
        return 0;
}

void cli_keep_cpu_cache(NvConn *c, const NvHostInfo *host) {
        _cleanup_(nv_error_freep) NvError *err = NULL;

        (void) nv_cpu_cache_save(c, nv_default_dir(false), host, &err);
}

void cli_print_json(json_object *o) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

json_object *cli_state_json(const NvStateRef *s) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "path", json_object_new_string(s->path));
        json_object_object_add(o, "sha256", json_object_new_string(s->sha256));
        json_object_object_add(o, "vendor", json_object_new_string(nv_format_to_string(s->vendor)));
        json_object_object_add(o, "vcpus", json_object_new_int64(s->vcpus));
        json_object_object_add(o, "time", json_object_new_string(s->time));
        return o;
}

static json_object *meta_json(const NvNestedMeta *m, json_object *o) {
        json_object *vmm = json_object_new_object(), *policy = json_object_new_object(), *prev = json_object_new_array();

        json_object_object_add(vmm, "transport", json_object_new_string(nv_vmm_transport_to_string(m->transport)));
        if (m->socket)
                json_object_object_add(vmm, "socket", json_object_new_string(m->socket));
        if (m->bus_name) {
                json_object_object_add(vmm, "bus", json_object_new_string(nv_bus_type_to_string(m->bus)));
                json_object_object_add(vmm, "name", json_object_new_string(m->bus_name));
                json_object_object_add(vmm, "path", json_object_new_string(m->object_path));
        }
        if (m->pidfile)
                json_object_object_add(vmm, "pidfile", json_object_new_string(m->pidfile));
        if (m->pid)
                json_object_object_add(vmm, "pid", json_object_new_int64(m->pid));
        json_object_object_add(policy, "nested", json_object_new_string(nv_nested_policy_to_string(m->nested)));
        json_object_object_add(policy, "on_missing", json_object_new_string(nv_on_problem_to_string(m->on_missing)));
        json_object_object_add(policy, "on_incompatible", json_object_new_string(nv_on_problem_to_string(m->on_incompatible)));
        for (size_t i = 0; i < m->n_previous; i++)
                json_object_array_add(prev, cli_state_json(&m->previous[i]));
        json_object_object_add(o, "vmm", vmm);
        json_object_object_add(o, "policy", policy);
        json_object_object_add(o, "previous", prev);
        return o;
}

json_object *cli_vmm_state_json(NvDriver *d, const NvDomainEntry *e) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        json_object *o;
        NvVmmStatus st;
        char since[64];
        int r;

        if (!e->active || e->broken || !e->def->meta)
                return NULL;
        o = json_object_new_object();
        r = nv_driver_vmm_status(d, e->def, &st, &err);
        json_object_object_add(o, "reachable", json_object_new_boolean(r >= 0));
        if (r < 0) {
                json_object_object_add(o, "error", json_object_new_string(nv_error_message(err, r)));
                return o;
        }
        cli_frozen_since(st.frozen_since_usec, since);
        json_object_object_add(o, "frozen", json_object_new_boolean(st.frozen));
        json_object_object_add(o, "frozen_since", st.frozen && st.frozen_since_usec ? json_object_new_string(since) : NULL);
        return o;
}

/* A domain whose XML was refused: what libvirt says of it, and why. */
static json_object *broken_json(const NvDomainEntry *e) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(e->def->name));
        json_object_object_add(o, "uuid", json_object_new_string(e->def->uuid));
        json_object_object_add(o, "active", json_object_new_boolean(e->active));
        json_object_object_add(o, "nested", json_object_new_string("broken"));
        json_object_object_add(o, "nested_reason", json_object_new_string(e->broken));
        json_object_object_add(o, "broken", json_object_new_string(e->broken));
        return o;
}

json_object *cli_domain_json(const NvDomainEntry *e, const NvHostInfo *host) {
        const NvDomainDef *d = e->def;
        json_object *o, *features;
        const char *why;
        int mode;

        if (e->broken)
                return broken_json(e);
        o = json_object_new_object();
        features = json_object_new_object();
        mode = nv_domain_def_nested_mode(d, host, &why);
        json_object_object_add(o, "name", json_object_new_string(d->name));
        json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
        json_object_object_add(o, "active", json_object_new_boolean(e->active));
        json_object_object_add(o, "vcpus", json_object_new_int64(d->vcpus));
        json_object_object_add(o, "vcpus_current", json_object_new_int64(d->vcpus_current));
        json_object_object_add(o, "cpu_mode", json_object_new_string(nv_cpu_mode_to_string(d->cpu_mode)));
        json_object_object_add(o, "cpu_model", d->cpu_model ? json_object_new_string(d->cpu_model) : NULL);
        for (int v = 0; v < 2; v++)
                json_object_object_add(features, nv_format_to_string(v),
                                       d->feature[v] >= 0 ? json_object_new_string(nv_feature_policy_to_string(d->feature[v])) : NULL);
        json_object_object_add(o, "features", features);
        json_object_object_add(o, "nested", json_object_new_string(nv_nested_mode_to_string(mode)));
        json_object_object_add(o, "nested_reason", json_object_new_string(why));
        json_object_object_add(o, "state", d->meta && d->meta->has_state ? cli_state_json(&d->meta->state) : NULL);
        if (d->meta)
                meta_json(d->meta, o);
        return o;
}
