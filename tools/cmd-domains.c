/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt list and dominfo: domains with their nested mode and saved state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli-domain.h"

typedef struct DomainArgs {
        bool all;
} DomainArgs;

/* Shared options of list and dominfo; returns 0 after --help, 1 to go on. */
static int parse_opts(Cli *cli, int argc, char **argv, const char *usage, bool with_all, DomainArgs *a, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "sim", no_argument, NULL, 's' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hjas", opts, NULL)) >= 0) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                } else if (c == 'j')
                        cli->json = true;
                else if (c == 'a' && with_all)
                        a->all = true;
                else if (c == 's')
                        cli->force_sim = true;
                else
                        return nv_error_set(reterr, -EINVAL, _("Invalid option for '%s'; see 'nestvirt %s --help'."), argv[0], argv[0]);
        }
        return 1;
}

static void list_text(json_object *arr) {
        printf(" %-20s %-9s %-7s %s\n", _("Name"), _("State"), _("Nested"), _("Saved nested state"));
        printf("%s\n", "-------------------------------------------------------------------------------");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *d = json_object_array_get_idx(arr, i), *st = json_object_object_get(d, "state"),
                            *broken = json_object_object_get(d, "broken");

                printf(" %-20s %-9s %-7s %s\n", json_object_get_string(json_object_object_get(d, "name")),
                       json_object_get_boolean(json_object_object_get(d, "active")) ? _("running") : _("shut off"),
                       json_object_get_string(json_object_object_get(d, "nested")),
                       broken ? json_object_get_string(broken) : st ? json_object_get_string(json_object_object_get(st, "path")) : "-");
        }
}

int cmd_list(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        NvDomainEntry *e = NULL;
        DomainArgs a = {};
        NvHostInfo host;
        json_object *arr;
        size_t n;
        int r;

        r = parse_opts(cli, argc, argv,
                       _("Usage: nestvirt [-c URI] list [--all] [--json] [--sim]\n"
                         "List running domains (all with --all) with their effective nested mode on\n"
                         "this host and the snapshot their metadata points to.\n\n"
                         "  -a, --all   shut-off domains too\n"
                         "  -j, --json  print a JSON array\n"
                         "  -s, --sim   judge against the simulated KVM instead of this host\n"),
                       true, &a, reterr);
        if (r <= 0)
                return r;
        if (optind < argc)
                return nv_error_set(reterr, -EINVAL, _("Unexpected argument '%s'."), argv[optind]);
        if ((r = cli_host_facts(cli, &host, reterr)) < 0 || (r = nv_conn_open(cli->uri, NULL, NULL, &conn, reterr)) < 0 ||
            (r = nv_conn_list(conn, a.all, &e, &n, reterr)) < 0)
                return r;
        arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, cli_domain_json(&e[i], &host));
        if (cli->json)
                cli_print_json(arr);
        else
                list_text(arr);
        json_object_put(arr);
        nv_domain_entries_free(e, n);
        return 0;
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
}

int cmd_dominfo(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        NvDomainEntry e = {};
        DomainArgs a = {};
        NvHostInfo host;
        json_object *o;
        int r;

        r = parse_opts(cli, argc, argv,
                       _("Usage: nestvirt [-c URI] dominfo DOMAIN [--json] [--sim]\n"
                         "Show what nestvirt knows about one domain (by name or UUID): vCPUs, CPU mode\n"
                         "and vmx/svm policies, the effective nested mode and why, how its VMM is\n"
                         "reached, its policy, and its current and previous snapshots.\n"),
                       false, &a, reterr);
        if (r <= 0)
                return r;
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'dominfo' takes exactly one DOMAIN."));
        if ((r = cli_host_facts(cli, &host, reterr)) < 0 || (r = nv_conn_open(cli->uri, NULL, NULL, &conn, reterr)) < 0 ||
            (r = nv_conn_get_domain(conn, argv[optind], &e, reterr)) < 0)
                return r;
        o = cli_domain_json(&e, &host);
        if (cli->json)
                cli_print_json(o);
        else
                dominfo_text(o);
        json_object_put(o);
        nv_domain_def_free(e.def);
        return 0;
}
