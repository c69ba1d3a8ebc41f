/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt list and dominfo: domains with their nested mode and saved state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli-backend.h"
#include "cli-domain.h"

typedef struct DomainArgs {
        bool all;
        bool names; /* list --name: one name a line, for scripts */
} DomainArgs;

/* Shared options of list and dominfo; returns 0 after --help, 1 to go on. */
static int parse_opts(Cli *cli, int argc, char **argv, const char *usage, bool with_all, DomainArgs *a, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "sim", no_argument, NULL, 's' },
                { "name", no_argument, NULL, 'q' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hjasq", opts, NULL)) >= 0) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                } else if (c == 'j')
                        cli->json = true;
                else if (c == 'a' && with_all)
                        a->all = true;
                else if (c == 'q' && with_all)
                        a->names = true;
                else if (c == 's')
                        cli->force_sim = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        return 1;
}

/* Whether the domain's VMM said it is frozen (vmm_state from cli_vmm_state_json). */
static bool vmm_frozen(json_object *d) {
        return json_object_get_boolean(json_object_object_get(json_object_object_get(d, "vmm_state"), "frozen"));
}

static void list_text(json_object *arr) {
        printf(" %-20s %-9s %-7s %s\n", _("Name"), _("State"), _("Nested"), _("Saved nested state"));
        printf("%s\n", "-------------------------------------------------------------------------------");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *d = json_object_array_get_idx(arr, i), *st = json_object_object_get(d, "state"),
                            *broken = json_object_object_get(d, "broken");

                printf(" %-20s %-9s %-7s %s\n", json_object_get_string(json_object_object_get(d, "name")),
                       vmm_frozen(d) ? _("frozen")
                       : json_object_get_boolean(json_object_object_get(d, "active")) ? _("running") : _("shut off"),
                       json_object_get_string(json_object_object_get(d, "nested")),
                       broken ? json_object_get_string(broken) : st ? json_object_get_string(json_object_object_get(st, "path")) : "-");
        }
        /* A frozen VMM is one an operator may have to thaw: say since when, and how. */
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *d = json_object_array_get_idx(arr, i);
                json_object *since = json_object_object_get(json_object_object_get(d, "vmm_state"), "frozen_since");

                if (vmm_frozen(d))
                        printf(_("%1$s: the VMM is frozen since %2$s ('nestvirt thaw %1$s' lets it run).\n"),
                               json_object_get_string(json_object_object_get(d, "name")),
                               since ? json_object_get_string(since) : _("an unknown time (the VMM does not say)"));
        }
}

/* A domain's JSON view with what its VMM says of its freeze. */
static json_object *domain_json(NvDriver *d, const NvDomainEntry *e, const NvHostInfo *host) {
        json_object *o = cli_domain_json(e, host);

        json_object_object_add(o, "vmm_state", cli_vmm_state_json(d, e));
        return o;
}

int cmd_list(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvDomainEntry *e = NULL;
        DomainArgs a = {};
        NvHostInfo host;
        json_object *arr;
        size_t n;
        int r;

        r = parse_opts(cli, argc, argv,
                       _("Usage: nestvirt [-c URI] list [--all] [--json|--name] [--sim]\n"
                         "List running domains (all with --all) with their effective nested mode on\n"
                         "this host and the snapshot their metadata points to.\n\n"
                         "  -a, --all       shut-off domains too\n"
                         "  -j, --json      print a JSON array\n"
                         "  -q, --name      print only the names, one a line (for scripts)\n"
                         "  -s, --sim       judge against the simulated KVM instead of this host\n"),
                       true, &a, reterr);
        if (r <= 0)
                return r;
        if (optind < argc)
                return nv_error_set(reterr, -EINVAL, _("Unexpected argument '%s'."), argv[optind]);
        if (a.names && cli->json)
                return nv_error_set(reterr, -EINVAL, _("--name and --json exclude each other."));
        if ((r = cli_host_facts(cli, &host, reterr)) < 0 || (r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr)) < 0 ||
            (r = nv_conn_list(nv_driver_conn(d), a.all, &e, &n, reterr)) < 0)
                return r;
        cli_keep_cpu_cache(nv_driver_conn(d), &host);
        if (a.names) { /* names alone: no VMM is asked */
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", e[i].def->name);
                nv_domain_entries_free(e, n);
                return 0;
        }
        arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, domain_json(d, &e[i], &host));
        if (cli->json)
                cli_print_json(arr);
        else
                list_text(arr);
        json_object_put(arr);
        nv_domain_entries_free(e, n);
        return 0;
}

/* The snapshots the current one replaced, newest first: one line each. */
static void dominfo_previous(json_object *prev) {
        for (size_t i = 0; prev && i < json_object_array_length(prev); i++) {
                json_object *p = json_object_array_get_idx(prev, i);

                printf("previous[%zu]%*s %s time=%s vendor=%s vcpus=%s sha256=%s\n", i, i < 10 ? 4 : 3, "",
                       json_object_get_string(json_object_object_get(p, "path")),
                       json_object_get_string(json_object_object_get(p, "time")),
                       json_object_get_string(json_object_object_get(p, "vendor")),
                       json_object_get_string(json_object_object_get(p, "vcpus")),
                       json_object_get_string(json_object_object_get(p, "sha256")));
        }
}

/* What the VMM says: frozen (since when) or running, or why it could not be asked. */
static void dominfo_vmm_state(json_object *vs) {
        json_object *since = json_object_object_get(vs, "frozen_since");

        if (!vs)
                return;
        if (!json_object_get_boolean(json_object_object_get(vs, "reachable")))
                printf("%-16s %s\n", "vmm.frozen", _("unknown: the VMM cannot be reached"));
        else if (!json_object_get_boolean(json_object_object_get(vs, "frozen")))
                printf("%-16s %s\n", "vmm.frozen", _("no"));
        else
                printf("%-16s %s %s\n", "vmm.frozen", _("yes, since"),
                       since ? json_object_get_string(since) : _("an unknown time (the VMM does not say)"));
}

static void dominfo_text(json_object *o) {
        json_object *st = json_object_object_get(o, "state"), *vmm = json_object_object_get(o, "vmm");

        json_object_object_foreach(o, key, val) {
                if (!val || json_object_is_type(val, json_type_object) || json_object_is_type(val, json_type_array))
                        continue;
                printf("%-16s %s\n", key, json_object_get_string(val));
        }
        printf("%-16s vmx=%s svm=%s\n", "features",
               json_object_get_string(json_object_object_get(json_object_object_get(o, "features"), "vmx")) ?: "-",
               json_object_get_string(json_object_object_get(json_object_object_get(o, "features"), "svm")) ?: "-");
        if (vmm) {
                json_object_object_foreach(vmm, k, v) printf("vmm.%-12s %s\n", k, json_object_get_string(v));
        }
        if (json_object_object_get(o, "policy")) {
                json_object_object_foreach(json_object_object_get(o, "policy"), k2, v2)
                        printf("policy.%-9s %s\n", k2, json_object_get_string(v2));
        }
        if (st) {
                json_object_object_foreach(st, k3, v3) printf("state.%-10s %s\n", k3, json_object_get_string(v3));
        } else
                printf("%-16s %s\n", "state", _("none saved yet"));
        dominfo_previous(json_object_object_get(o, "previous"));
        dominfo_vmm_state(json_object_object_get(o, "vmm_state"));
}

int cmd_dominfo(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvDomainEntry e = {};
        DomainArgs a = {};
        NvHostInfo host;
        json_object *o;
        int r;

        r = parse_opts(cli, argc, argv,
                       _("Usage: nestvirt [-c URI] dominfo DOMAIN [--json] [--sim]\n"
                         "Show what nestvirt knows about one domain (by name or UUID): vCPUs, CPU mode\n"
                         "and vmx/svm policies, the effective nested mode and why, how its VMM is\n"
                         "reached and whether it is frozen (since when), its policy, and its current\n"
                         "and previous snapshots.\n"),
                       false, &a, reterr);
        if (r <= 0)
                return r;
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'dominfo' takes exactly one DOMAIN."));
        if ((r = cli_host_facts(cli, &host, reterr)) < 0 || (r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr)) < 0 ||
            (r = nv_conn_get_domain(nv_driver_conn(d), argv[optind], &e, reterr)) < 0)
                return r;
        cli_keep_cpu_cache(nv_driver_conn(d), &host);
        o = domain_json(d, &e, &host);
        if (cli->json)
                cli_print_json(o);
        else
                dominfo_text(o);
        json_object_put(o);
        nv_domain_def_free(e.def);
        return 0;
}
