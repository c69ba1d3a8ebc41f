/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt thaw DOMAIN: ends a VMM's freeze that nothing else will end, as
 * after `save --keep-frozen` when the shutdown was cancelled, or after
 * `migrate-begin` when `virsh migrate` failed.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli.h"

void cli_frozen_since(uint64_t since_usec, char ret[64]) {
        time_t t = (time_t) (since_usec / 1000000u);
        struct tm tm;

        if (since_usec == 0 || !gmtime_r(&t, &tm) || strftime(ret, 64, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(ret, 64, "%s", _("an unknown time (the VMM does not say)"));
}

static void report(const Cli *cli, const char *domain, const NvVmmStatus *before) {
        char since[64];
        json_object *o;

        cli_frozen_since(before->frozen_since_usec, since);
        if (!cli->json) {
                if (!before->frozen)
                        printf(_("The VMM of domain '%s' is not frozen; nothing to do.\n"), domain);
                else
                        printf(_("Thawed the VMM of domain '%s', frozen since %s.\n"), domain, since);
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "domain", json_object_new_string(domain));
        json_object_object_add(o, "was_frozen", json_object_new_boolean(before->frozen));
        json_object_object_add(o, "frozen_since", before->frozen && before->frozen_since_usec ? json_object_new_string(since) : NULL);
        cli_print_json(o);
        json_object_put(o);
}

int cmd_thaw(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvVmmStatus before;
        int c, r;

        while ((c = getopt_long(argc, argv, "hj", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf(_("Usage: nestvirt [-c URI] thaw DOMAIN [--json]\n"
                                 "Let the vCPUs of the domain's VMM run again, whoever froze it: the way out\n"
                                 "after 'save --keep-frozen' when the VMM was not stopped after all (a cancelled\n"
                                 "shutdown), or after 'migrate-begin' when the migration failed.  A VMM that is\n"
                                 "not frozen is left alone.  'list' and 'dominfo' show which VMMs are frozen.\n\n"
                                 "  -j, --json  print the result as JSON\n"));
                        return 0;
                } else if (c == 'j')
                        cli->json = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'thaw' takes exactly one DOMAIN; see 'nestvirt thaw --help'."));
        r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr);
        if (r >= 0)
                r = nv_driver_thaw(d, argv[optind], &before, reterr);
        if (r < 0)
                return r;
        report(cli, argv[optind], &before);
        return 0;
}
