/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt migrate-check DOMAIN --dest-caps FILE: can this domain's nested
 * state move to the host that wrote FILE (`nestvirt capabilities --xml`)?
 * Every reason it cannot is printed; exit 1 if there is any.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-domain.h"
#include "fileio.h"
#include "host-caps.h"
#include "nested-state.h"

typedef struct Problems {
        unsigned n;
} Problems;

static void problem(Problems *p, const char *msg) {
        printf("  - %s\n", msg);
        p->n++;
}

/* The vendor whose state would travel: the source's mode, else the saved state's. */
static int travelling_vendor(const NvDomainDef *d, const NvHostInfo *src) {
        const char *why;
        int mode = nv_domain_def_nested_mode(d, src, &why);

        if (mode >= 0)
                return mode;
        return d->meta && d->meta->has_state ? d->meta->state.vendor : -1;
}

static void check_dest(const NvDomainDef *d, int vendor, const NvHostInfo *dst, Problems *p) {
        char msg[512];
        const char *why;

        if (dst->cpu_vendor != vendor) {
                snprintf(msg, sizeof(msg), _("the destination CPU is %s; the domain's nested state is %s"),
                         dst->cpu_vendor >= 0 ? nv_format_to_string(dst->cpu_vendor) : _("neither vmx nor svm"),
                         nv_format_to_string(vendor));
                problem(p, msg);
        }
        if (dst->nested == NV_NO)
                problem(p, _("nested virtualization is disabled on the destination (kvm module parameter nested)"));
        if (dst->nested_state_max <= 0)
                problem(p, _("KVM on the destination cannot restore nested state (KVM_CAP_NESTED_STATE is 0)"));
        else if ((uint32_t) dst->nested_state_max < nv_format_max_size(vendor)) {
                snprintf(msg, sizeof(msg), _("the state may be %u bytes per vCPU; the destination accepts %d"),
                         nv_format_max_size(vendor), dst->nested_state_max);
                problem(p, msg);
        }
        if (dst->cpu_vendor == vendor && dst->nested != NV_NO && nv_domain_def_nested_mode(d, dst, &why) < 0) {
                snprintf(msg, sizeof(msg), _("on the destination the domain would get no nested mode: %s"), why);
                problem(p, msg);
        }
}

static int read_caps(const char *path, NvHostInfo *ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, 1u << 20, &buf, &len, reterr);
        if (r >= 0)
                r = nv_host_caps_parse((const char *) buf, len, ret, reterr);
        return r < 0 ? nv_error_wrap(reterr, r, "%s", path) : 0;
}

static int run_check(Cli *cli, const char *name, const char *caps, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        NvHostInfo src, dst;
        NvDomainEntry e = {};
        Problems p = {};
        int r, vendor;

        if ((r = read_caps(caps, &dst, reterr)) < 0 || (r = cli_host_facts(cli, &src, reterr)) < 0 ||
            (r = nv_conn_open(cli->uri, NULL, NULL, &conn, reterr)) < 0 || (r = nv_conn_get_domain(conn, name, &e, reterr)) < 0)
                return r;
        vendor = travelling_vendor(e.def, &src);
        if (vendor < 0 && !(e.def->meta && e.def->meta->nested == NV_NESTED_POLICY_REQUIRED)) {
                printf(_("%s: no nested state to carry (no nested mode here and none saved); nothing to check.\n"), name);
                nv_domain_def_free(e.def);
                return 0;
        }
        printf(_("%s -> destination (%s, kernel %s):\n"), name,
               dst.cpu_vendor >= 0 ? nv_format_to_string(dst.cpu_vendor) : "?", dst.kernel_release);
        if (vendor < 0)
                problem(&p, _("the domain's policy requires nested virtualization but it has none on this host"));
        else
                check_dest(e.def, vendor, &dst, &p);
        if (p.n == 0)
                printf(_("  ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE %d fits\n"), dst.nested_state_max);
        else
                printf(_("%s cannot migrate there: %u problem(s).\n"), name, p.n);
        nv_domain_def_free(e.def);
        return p.n ? 1 : 0;
}

int cmd_migrate_check(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "dest-caps", required_argument, NULL, 'd' },
                { "sim", no_argument, NULL, 's' },
                {},
        };
        const char *caps = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "hd:s", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf(_("Usage: nestvirt [-c URI] migrate-check DOMAIN --dest-caps FILE [--sim]\n"
                                 "Check whether DOMAIN's nested state can move to the host whose\n"
                                 "'nestvirt capabilities --xml' is in FILE: same CPU vendor, nested enabled\n"
                                 "there, the state size within its KVM_CAP_NESTED_STATE.  Prints every\n"
                                 "reason it cannot and exits 1 if there is any.\n"));
                        return 0;
                } else if (c == 'd')
                        caps = optarg;
                else if (c == 's')
                        cli->force_sim = true;
                else
                        return nv_error_set(reterr, -EINVAL, _("Invalid option for 'migrate-check'; see 'nestvirt migrate-check --help'."));
        }
        if (!caps)
                return nv_error_set(reterr, -EINVAL, _("'migrate-check' needs --dest-caps FILE (the destination's 'nestvirt capabilities --xml')."));
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'migrate-check' takes exactly one DOMAIN."));
        return run_check(cli, argv[optind], caps, reterr);
}
