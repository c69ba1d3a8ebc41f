/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirtd: serves org.nestvirt.NestedState1 on the system bus (sd-bus
 * honours DBUS_SYSTEM_BUS_ADDRESS, which is how tests use a private bus).
 * Thin: options, the driver, the bus, the loop; the API is dbus/service/.
 */
#include <getopt.h>
#include <grp.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>

#include "cli-backend.h"
#include "service.h"
#include "util.h"

typedef struct Args {
        const char *uri;
        bool session;
        NvServiceConfig config;
} Args;

static void help(void) {
        printf(_("Usage: nestvirtd [--connect URI] [--session] [--max-jobs N] [--linger SECONDS] [--vmm-group NAME]\n"
                 "Serve org.nestvirt.NestedState1, the D-Bus API for nested virtualization state,\n"
                 "on the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else the default).\n\n"
                 "  -c, --connect URI   libvirt URI (default: $LIBVIRT_DEFAULT_URI, else libvirt's)\n"
                 "      --session       use the session bus instead (for development)\n"
                 "      --max-jobs N    jobs running at once, the rest queued (default 4)\n"
                 "      --linger SECS   how long a finished job stays visible (default 60)\n"
                 "      --vmm-group NAME  besides root, members of this group may RegisterVmm\n"
                 "  -h, --help          show this help and exit\n"
                 "  -V, --version       show the version and exit\n"));
}

static int parse_uint(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;

        if (nv_parse_unsigned(s, 10, max, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* What a bad option or value was, in one line naming both. */
static int bad_option(int argc, char **argv, int c, const char *value) {
        const char *last = optind > 0 && optind <= argc ? argv[optind - 1] : "";

        if (c == 'j')
                fprintf(stderr, _("error: --max-jobs takes a number from 1 to 64, not '%s'.\n"), value);
        else if (c == 'l')
                fprintf(stderr, _("error: --linger takes a number of seconds from 1 to 86400, not '%s'.\n"), value);
        else if (c == 'g')
                fprintf(stderr, _("error: --vmm-group: there is no group '%s'.\n"), value);
        else if (strncmp(last, "--", 2) != 0 && optopt > 0 && optopt < 128)
                fprintf(stderr, _("error: Invalid option '-%c' (unknown, or missing its value); see 'nestvirtd --help'.\n"), optopt);
        else
                fprintf(stderr, _("error: Invalid option '%s' (unknown, or missing its value); see 'nestvirtd --help'.\n"), last);
        return -EINVAL;
}

/* 1: run; 0: done (help, version); < 0: bad arguments (reported). */
static int parse(int argc, char **argv, Args *a) {
        static const struct option opts[] = {
                { "connect", required_argument, NULL, 'c' }, { "session", no_argument, NULL, 's' },
                { "max-jobs", required_argument, NULL, 'j' }, { "linger", required_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
                { "vmm-group", required_argument, NULL, 'g' },
                {},
        };
        unsigned linger;
        struct group *g;
        int c;

        opterr = 0; /* bad_option() names the option; getopt's own line would come first */
        while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) >= 0) {
                if (c == 'c')
                        a->uri = optarg;
                else if (c == 's')
                        a->session = true;
                else if (c == 'j' && parse_uint(optarg, 64, &a->config.max_jobs) >= 0)
                        continue;
                else if (c == 'l' && parse_uint(optarg, 86400, &linger) >= 0)
                        a->config.linger_usec = (uint64_t) linger * 1000000u;
                else if (c == 'g' && (g = getgrnam(optarg)))
                        a->config.vmm_gid = g->gr_gid;
                else if (c == 'h' || c == 'V') {
                        c == 'h' ? help() : (void) printf("nestvirtd %s\n", PACKAGE_VERSION);
                        return 0;
                } else
                        return bad_option(argc, argv, c, optarg);
        }
        if (optind != argc) {
                fprintf(stderr, _("error: nestvirtd takes no arguments; see 'nestvirtd --help'.\n"));
                return -EINVAL;
        }
        return 1;
}

static int run(const Args *a) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        sd_event *event = NULL;
        NvService *s = NULL;
        sd_bus *bus = NULL;
        sigset_t ss;
        int r;

        r = nv_conn_events_init(&err); /* before the connection opens: the machines follow libvirt's events */
        if (r >= 0)
                r = cli_open_driver(a->uri, NULL, NULL, &d, &err);
        if (r < 0) {
                fprintf(stderr, _("error: %s\n"), nv_error_message(err, r));
                return r;
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL); /* before any worker thread exists, so they inherit it */
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = a->session ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
        if (r >= 0)
                r = nv_service_new(bus, event, d, &a->config, &s);
        if (r >= 0)
                r = sd_bus_request_name(bus, NV_SERVICE_NAME, 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0) {
                fprintf(stderr, "nestvirtd: serving %s\n", NV_SERVICE_NAME);
                r = sd_event_loop(event);
        }
        if (r < 0)
                fprintf(stderr, _("error: nestvirtd: %s\n"), strerror(-r));
        nv_service_free(s); /* waits for jobs under way */
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r;
}

int main(int argc, char **argv) {
        Args a = { .config.vmm_gid = (gid_t) -1 }; /* root only, unless --vmm-group */
        int r;

        setlocale(LC_ALL, "");
        bindtextdomain(GETTEXT_PACKAGE, secure_getenv("NESTVIRT_LOCALEDIR") ?: LOCALEDIR); /* as nestvirt does */
        textdomain(GETTEXT_PACKAGE);
        xmlInitParser(); /* before the worker threads parse domain XML */
        r = parse(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        return run(&a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
