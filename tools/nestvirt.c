/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt: keep nested virtualization state across save, restore and
 * migration.  This file is only the dispatcher; each command lives in its
 * own cmd-*.c file.  virsh conventions: `error: ...` on stderr, exit 1.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
        const char *name;
        int (*run)(Cli *cli, int argc, char **argv, NvError **reterr);
        const char *summary;
} commands[] = {
        { "capabilities", cmd_capabilities, N_("Show what this host can do for nested virtualization") },
        { "list", cmd_list, N_("List domains with their nested mode and saved state") },
        { "dominfo", cmd_dominfo, N_("Show everything nestvirt knows about one domain") },
        { "save", cmd_save, N_("Save a running domain's nested state and reference it from its XML") },
        { "restore", cmd_restore, N_("Load a domain's saved nested state into its running VMM") },
        { "migrate-check", cmd_migrate_check, N_("Check whether a domain's nested state can move to another host") },
        { "migrate-begin", cmd_migrate_begin, N_("Freeze a domain's VMM and put its nested state into the migratable XML") },
        { "maintenance", cmd_maintenance, N_("Save or restore every nested domain, for host shutdown and boot") },
        { "hook", cmd_hook, N_("The libvirt qemu hook: check and land nested state on prepare, migrate, restore") },
        { "collect", cmd_collect, N_("Take the nested state of a VMM process without nestvirt code, through ptrace") },
        { "load", cmd_load, N_("Load nested state into a paused VMM process without nestvirt code, through ptrace") },
        { "demo", cmd_demo, N_("Capture and restore nested state of a small VM, and show what happened") },
        { "inspect", cmd_inspect, N_("Show a snapshot file or raw blob") },
        { "verify", cmd_verify, N_("Check a snapshot file or raw blob against the kernel's rules") },
        { "pack", cmd_pack, N_("Put raw blobs into a snapshot file") },
        { "unpack", cmd_unpack, N_("Write a snapshot's blobs out as raw files") },
};

void cli_print_error(const char *msg) {
        fprintf(stderr, _("error: %s\n"), msg);
}

static void help(void) {
        printf(_("Usage: nestvirt [OPTION]... COMMAND [ARG]...\n"
                 "Keep nested virtualization state (KVM_GET/SET_NESTED_STATE) across save,\n"
                 "restore and migration.\n\n"
                 "Options:\n"
                 "  -c, --connect URI  libvirt URI (default: $LIBVIRT_DEFAULT_URI, else libvirt's\n"
                 "                     default; test:///default needs no daemon)\n"
                 "  -h, --help       show this help and exit\n"
                 "  -V, --version    show the version and exit\n\n"
                 "Commands:\n"));
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                printf("  %-14s %s\n", commands[i].name, _(commands[i].summary));
        printf(_("\nRun 'nestvirt COMMAND --help' for a command's options.\n"));
}

static int parse_global(int argc, char **argv, Cli *cli) {
        static const struct option opts[] = {
                { "connect", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int c;

        /* '+': stop at the command name, the rest is the command's. */
        while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        cli->uri = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("nestvirt %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        return 1;
}

int main(int argc, char **argv) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        Cli cli = {};
        int r, cmd;

        setlocale(LC_ALL, "");
        /* NESTVIRT_LOCALEDIR: the tests run the build tree's catalogs (po/ in
         * the build directory); installed, the catalogs are in LOCALEDIR. */
        bindtextdomain(GETTEXT_PACKAGE, secure_getenv("NESTVIRT_LOCALEDIR") ?: LOCALEDIR);
        textdomain(GETTEXT_PACKAGE);
        r = parse_global(argc, argv, &cli);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (optind >= argc) {
                cli_print_error(_("No command given. Run 'nestvirt --help' for the list."));
                return EXIT_FAILURE;
        }
        cmd = optind;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(argv[cmd], commands[i].name) != 0)
                        continue;
                optind = 0; /* full getopt re-initialisation for the command's options */
                r = commands[i].run(&cli, argc - cmd, argv + cmd, &err);
                if (r < 0) {
                        cli_print_error(nv_error_message(err, r));
                        return EXIT_FAILURE;
                }
                /* > 0: the command ran and found problems it already reported. */
                return r > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        fprintf(stderr, _("error: Unknown command '%s'. Run 'nestvirt --help' for the list.\n"), argv[cmd]);
        return EXIT_FAILURE;
}
