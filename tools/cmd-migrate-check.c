/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt migrate-check DOMAIN --dest-caps FILE: can this domain's nested
 * state move to the host that wrote FILE (`nestvirt capabilities --xml`)?
 * For VMX, the nested VMX capability MSRs of the source (this host,
 * measured, or --src-caps FILE) and of FILE are compared control by
 * control.  Every reason it cannot is printed, then the domain's saved nested state
 * is judged by the verify engine with the destination's measured facts
 * (its CPUID, VMX MSRs, probed kernel rules).  Exit 1 if there is any
 * reason or a blob the destination would refuse, 3 if nothing was found
 * but rules were left unchecked (no saved state yet, facts the document
 * lacks), 0 if every check was made and passed, 2 if the check could not
 * be made.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli-file.h"
#include "driver.h"
#include "fileio.h"
#include "host-caps.h"
#include "nested-state.h"

int cli_read_dest_caps(const char *path, NvHostInfo *ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, 1u << 20, &buf, &len, reterr);
        if (r >= 0)
                r = nv_host_caps_parse((const char *) buf, len, 0, ret, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, "%s", path) : 0;
}

static void report_text(const char *name, const NvHostInfo *dst, const NvMigrateCheck *c) {
        if (c->vendor < 0 && c->n_problems == 0) {
                printf(_("%s: no nested state to carry (no nested mode here and none saved); nothing to check.\n"), name);
                return;
        }
        printf(_("%s -> destination (%s, kernel %s):\n"), name,
               dst->cpu_vendor >= 0 ? nv_format_to_string(dst->cpu_vendor) : "unknown", dst->kernel_release);
        for (size_t i = 0; i < c->n_problems; i++)
                printf("  - %s\n", c->problems[i]);
        if (c->n_problems == 0)
                printf(_("  ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE %d fits\n"), dst->nested_state_max);
        else
                printf(dngettext(GETTEXT_PACKAGE, "%s cannot migrate there: %zu problem.\n", "%s cannot migrate there: %zu problems.\n", c->n_problems), name,
                       c->n_problems);
}

/*
 * The saved state against the destination's rules, the engine of verify:
 * how many blobs it would refuse.  A domain without a readable saved state
 * leaves the blobs unchecked (a note): they are judged when migrate-begin
 * collects them, against the same document.
 */
static unsigned check_saved_state(const NvDomainDef *def, const NvHostInfo *dst, CliNotes *notes, json_object *vcpus) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvValidateContext ctx;
        bool raw;

        if (!def->meta || !def->meta->has_state) {
                cli_notes_add(notes, N_("the domain has no saved nested state: its blobs are judged when migrate-begin collects them"));
                return 0;
        }
        if (cli_load_state_file(def->meta->state.path, &s, &raw, &err) < 0) {
                cli_notes_add(notes, N_("the domain's saved nested state cannot be read: its blobs are judged when migrate-begin collects them"));
                return 0;
        }
        cli_dest_context(dst, &ctx, notes);
        if (!vcpus)
                printf(_("  saved state %s against the destination's rules:\n"), def->meta->state.path);
        return cli_verify_blobs(s, &ctx, notes, vcpus);
}

/* The VMX differences as data: what a script acts on without parsing the problem lines. */
static json_object *vmx_json(const NvMigrateCheck *c) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < c->n_vmx; i++) {
                const NvVmxCapDiff *d = &c->vmx[i];
                json_object *o = json_object_new_object();
                bool field = d->kind == NV_VMX_CAP_FEWER || d->kind == NV_VMX_CAP_DIFFERS;

                json_object_object_add(o, "kind", json_object_new_string(nv_vmx_cap_kind_id(d->kind)));
                json_object_object_add(o, "word", json_object_new_string(nv_vmx_word_id(d->word)));
                json_object_object_add(o, "bit", field ? NULL : json_object_new_int((int) d->bit));
                json_object_object_add(o, "feature", d->qemu ? json_object_new_string(d->qemu) : NULL);
                json_object_object_add(o, "intel", d->intel ? json_object_new_string(d->intel) : NULL);
                if (field) {
                        json_object_object_add(o, "source", json_object_new_uint64(d->src));
                        json_object_object_add(o, "destination", json_object_new_uint64(d->dst));
                }
                json_object_array_add(a, o);
        }
        return a;
}

static void report_json(const char *name, const NvHostInfo *dst, const NvMigrateCheck *c, json_object *vcpus, unsigned bad,
                        const CliNotes *notes) {
        json_object *o = json_object_new_object(), *d = json_object_new_object(), *p = json_object_new_array();
        json_object *nc = json_object_new_array();

        for (size_t i = 0; i < c->n_problems; i++)
                json_object_array_add(p, json_object_new_string(c->problems[i]));
        for (size_t i = 0; i < notes->n; i++)
                json_object_array_add(nc, json_object_new_string(_(notes->text[i])));
        json_object_object_add(d, "cpu_vendor", json_object_new_string(dst->cpu_vendor >= 0 ? nv_format_to_string(dst->cpu_vendor) : "unknown"));
        json_object_object_add(d, "kernel_release", json_object_new_string(dst->kernel_release));
        json_object_object_add(d, "nested_state_max", json_object_new_int(dst->nested_state_max));
        json_object_object_add(o, "domain", json_object_new_string(name));
        json_object_object_add(o, "vendor", c->vendor >= 0 ? json_object_new_string(nv_format_to_string(c->vendor)) : NULL);
        json_object_object_add(o, "destination", d);
        json_object_object_add(o, "can_migrate", json_object_new_boolean(c->n_problems == 0));
        json_object_object_add(o, "problems", p);
        json_object_object_add(o, "vmx", vmx_json(c));
        json_object_object_add(o, "vcpus", json_object_get(vcpus));
        json_object_object_add(o, "refused", json_object_new_int64(bad));
        json_object_object_add(o, "not_checked", nc);
        json_object_object_add(o, "verdict", json_object_new_string(c->n_problems ? "refused" : cli_verdict_name(bad, notes)));
        cli_print_json(o);
        json_object_put(o);
}

/* The destination's host-model CPU, from its `virsh domcapabilities` in path (untrusted: bounded parse). */
static int read_dest_domcaps(const char *path, NvCpuDef **ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, NV_XML_MAX_SIZE, &buf, &len, reterr);
        if (r >= 0)
                r = nv_cpu_def_parse_domcaps((const char *) buf, len, ret, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, "%s", path) : 0;
}

/* The CPU comparison, for a domain libvirt's hypervisor CPU APIs know (QEMU). */
static int check_cpu(NvConn *conn, const NvDomainDef *def, const char *domcaps, NvMigrateCheck *c, NvError **reterr) {
        _cleanup_free_ NvCpuDef *dest = NULL;
        _cleanup_free_ char *xml = NULL;
        int r;

        if ((r = read_dest_domcaps(domcaps, &dest, reterr)) < 0 || (r = nv_conn_get_xml(conn, def->name, false, &xml, reterr)) < 0)
                return r;
        return nv_migrate_check_cpu(conn, def, xml, dest, c, reterr);
}

/*
 * The source's facts: this host as probed now (its nested VMX MSRs
 * measured on a scratch vCPU where the kernel can, as `capabilities`
 * does), or the document another host wrote, to check a move between two
 * hosts from a third.
 */
static int source_facts(Cli *cli, const char *src_caps, NvHostInfo *ret, NvError **reterr) {
        int r;

        if (src_caps)
                return cli_read_dest_caps(src_caps, ret, reterr);
        r = cli_host_facts(cli, ret, reterr);
        if (r >= 0 && !cli->force_sim && ret->cpu_vendor == NV_FORMAT_VMX)
                nv_host_probe_target(cli_host_root(), NULL, ret);
        return r;
}

static int run_check(Cli *cli, const char *name, const char *caps, const char *src_caps, const char *domcaps, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        _cleanup_(nv_domain_def_freep) NvDomainDef *def = NULL;
        NvDomainEntry e = {};
        NvHostInfo src, dst;
        json_object *vcpus = NULL;
        CliNotes notes = {};
        NvMigrateCheck c;
        unsigned bad = 0;
        int r;

        if ((r = cli_read_dest_caps(caps, &dst, reterr)) < 0 || (r = source_facts(cli, src_caps, &src, reterr)) < 0 ||
            (r = nv_conn_open(cli->uri, NULL, NULL, &conn, reterr)) < 0 || (r = nv_conn_get_domain(conn, name, &e, reterr)) < 0)
                return r;
        def = e.def;
        nv_migrate_check(def, &src, &dst, &c);
        if (domcaps && (r = check_cpu(conn, def, domcaps, &c, reterr)) < 0)
                return r;
        for (size_t i = 0; i < c.n_unchecked; i++)
                cli_notes_add(&notes, c.unchecked[i]);
        if (cli->json) {
                vcpus = json_object_new_array();
                if (c.vendor >= 0 && c.n_problems == 0)
                        bad = check_saved_state(def, &dst, &notes, vcpus);
                report_json(name, &dst, &c, vcpus, bad, &notes);
                json_object_put(vcpus);
        } else {
                report_text(name, &dst, &c);
                if (c.vendor >= 0 && c.n_problems == 0)
                        bad = check_saved_state(def, &dst, &notes, NULL);
                for (size_t i = 0; i < notes.n; i++)
                        printf(_("note: not checked: %s\n"), _(notes.text[i]));
        }
        return c.n_problems ? CLI_EXIT_PROBLEMS : cli_verdict_exit(bad, &notes);
}

int cmd_migrate_check(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "dest-caps", required_argument, NULL, 'd' },
                { "dest-domcaps", required_argument, NULL, 'D' },
                { "src-caps", required_argument, NULL, 'S' },
                { "json", no_argument, NULL, 'j' },
                { "sim", no_argument, NULL, 's' },
                {},
        };
        const char *caps = NULL, *domcaps = NULL, *src_caps = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "hd:D:S:js", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf(_("Usage: nestvirt [-c URI] migrate-check DOMAIN --dest-caps FILE [--src-caps FILE]\n"
                                 "                              [--dest-domcaps FILE] [--json] [--sim]\n"
                                 "Check whether DOMAIN's nested state can move to the host whose\n"
                                 "'nestvirt capabilities --xml' is in FILE: same CPU vendor, nested enabled\n"
                                 "there, the state size within its KVM_CAP_NESTED_STATE, and for VMX each\n"
                                 "control or capability of the nested VMX MSRs that the source offers and\n"
                                 "the destination lacks or forces, named in Intel's terms and as vmx-*.  With\n"
                                 "the destination's 'virsh domcapabilities' (QEMU domains), every CPU feature and\n"
                                 "VMX control the domain needs that the destination's CPU lacks, as this\n"
                                 "host's libvirt expands both.  Prints every reason it cannot, then judges\n"
                                 "its saved nested state by FILE's measured rules.  Exit 0: it can go, every\n"
                                 "check made; 1: a reason it cannot, or a blob the destination would refuse;\n"
                                 "3: nothing found but rules unchecked (listed as notes); 2: it could not\n"
                                 "check.\n\n"
                                 "  -d, --dest-caps FILE     the destination's capabilities\n"
                                 "  -D, --dest-domcaps FILE  the destination's libvirt domain capabilities\n"                                 "  -S, --src-caps FILE      the source's capabilities (default: this host, measured)\n"
                                 "  -j, --json               print the verdict as JSON\n"
                                 "  -s, --sim                judge against the simulated KVM instead of this host\n"));
                        return 0;
                } else if (c == 'd')
                        caps = optarg;
                else if (c == 'D')
                        domcaps = optarg;
                else if (c == 'S')
                        src_caps = optarg;
                else if (c == 'j')
                        cli->json = true;
                else if (c == 's')
                        cli->force_sim = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        if (!caps)
                return nv_error_set(reterr, -EINVAL, _("'migrate-check' needs --dest-caps FILE (the destination's 'nestvirt capabilities --xml')."));
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'migrate-check' takes exactly one DOMAIN."));
        return run_check(cli, argv[optind], caps, src_caps, domcaps, reterr);
}
