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

static int run_check(Cli *cli, const char *name, const char *caps, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        _cleanup_(nv_domain_def_freep) NvDomainDef *def = NULL;
        NvDomainEntry e = {};
        NvHostInfo src, dst;
        NvMigrateCheck c;
        int r;

        if ((r = cli_read_dest_caps(caps, &dst, reterr)) < 0 || (r = cli_host_facts(cli, &src, reterr)) < 0 ||
            (r = nv_conn_open(cli->uri, NULL, NULL, &conn, reterr)) < 0 || (r = nv_conn_get_domain(conn, name, &e, reterr)) < 0)
                return r;
        def = e.def;
        nv_migrate_check(def, &src, &dst, &c);
        if (c.vendor < 0 && c.n_problems == 0) {
                printf(_("%s: no nested state to carry (no nested mode here and none saved); nothing to check.\n"), name);
                return 0;
        }
        printf(_("%s -> destination (%s, kernel %s):\n"), name,
               dst.cpu_vendor >= 0 ? nv_format_to_string(dst.cpu_vendor) : "?", dst.kernel_release);
        for (size_t i = 0; i < c.n_problems; i++)
                printf("  - %s\n", c.problems[i]);
        if (c.n_problems == 0)
                printf(_("  ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE %d fits\n"), dst.nested_state_max);
        else
                printf(_("%s cannot migrate there: %zu problem(s).\n"), name, c.n_problems);
        return c.n_problems ? 1 : 0;
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
