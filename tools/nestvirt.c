/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt: keep nested virtualization state across save, restore and
 * migration.  This file is only the dispatcher; each command lives in its
 * own cmd-*.c file.  Conventions: `error: ...` on stderr (virsh); exit 0
 * on success, 1 when a command ran and found problems (verify, migrate-check,
 * a maintenance run with failed domains), 2 when it could not do what was
 * asked (diff and grep do the same), a write error on stdout included, 3
 * when a check found nothing wrong but left rules unchecked (verify,
 * migrate-check).
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-backend.h"
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
        { "thaw", cmd_thaw, N_("Let a frozen VMM run again (after a kept freeze that was not followed through)") },
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

/* The option getopt stopped at (opterr is 0, so it said nothing itself). */
static const char *bad_option(int argc, char **argv, char buf[static 3]) {
        const char *last = optind > 0 && optind <= argc ? argv[optind - 1] : "";

        if (strncmp(last, "--", 2) == 0) /* a long option: unknown, or missing its value */
                return last;
        if (optopt > 0 && optopt < 128) { /* a short one, maybe inside a cluster (-jx) */
                buf[0] = '-', buf[1] = (char) optopt, buf[2] = '\0';
                return buf;
        }
        return last; /* one getopt knows, that this command does not take */
}

int cli_option_error(int argc, char **argv, NvError **reterr) {
        char buf[3];

        return nv_error_set(reterr, -EINVAL, _("Invalid option '%1$s' for '%2$s' (unknown, or missing its value); see 'nestvirt %2$s --help'."),
                            bad_option(argc, argv, buf), argv[0]);
}

/*
 * Output that could not be written is a failure (a full disk, a closed
 * pipe, /dev/full): flush and close stdout and say so, as coreutils'
 * close_stdout does, instead of exiting 0 with the output lost.
 */
static int close_stdout(int status) {
        int r = fflush(stdout) == 0 && !ferror(stdout) ? 0 : -errno;

        if (fclose(stdout) != 0 && r == 0)
                r = -errno;
        if (r == 0)
                return status;
        fprintf(stderr, _("error: Cannot write to standard output: %s\n"), strerror(r < 0 ? -r : EIO));
        return CLI_EXIT_ERROR;
}

/* Not root and refused: the directories are the usual reason; say which ones are in effect. */
static void permission_hint(int r) {
        if ((r != -EACCES && r != -EPERM) || geteuid() == 0)
                return;
        fprintf(stderr,
                _("hint: not running as root: snapshots go to $NESTVIRT_STATE_DIR (now %1$s) and lock files to\n"
                  "$NESTVIRT_RUNTIME_DIR (now %2$s; for a user other than root $XDG_RUNTIME_DIR/nestvirt);\n"
                  "point them at directories of yours, or run as root.\n"),
                nv_default_dir(false), cli_runtime_dir());
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
        printf(_("\nRun 'nestvirt COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success, 1 problems found (verify, migrate-check, maintenance),\n"
                 "2 an error (the command could not do what was asked), 3 nothing wrong found but\n"
                 "some rules left unchecked (verify, migrate-check).\n"));
}

static int parse_global(int argc, char **argv, Cli *cli, NvError **reterr) {
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
                default: {
                        char buf[3];

                        return nv_error_set(reterr, -EINVAL, _("Invalid option '%s' (unknown, or missing its value); see 'nestvirt --help'."),
                                            bad_option(argc, argv, buf));
                }
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
        opterr = 0; /* our own message, naming the option, instead of getopt's */
        r = parse_global(argc, argv, &cli, &err);
        if (r < 0) {
                cli_print_error(nv_error_message(err, r));
                return CLI_EXIT_ERROR;
        }
        if (r == 0)
                return close_stdout(EXIT_SUCCESS);
        if (optind >= argc) {
                cli_print_error(_("No command given. Run 'nestvirt --help' for the list."));
                return CLI_EXIT_ERROR;
        }
        cmd = optind;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(argv[cmd], commands[i].name) != 0)
                        continue;
                optind = 0; /* full getopt re-initialisation for the command's options */
                optopt = 0;
                r = commands[i].run(&cli, argc - cmd, argv + cmd, &err);
                if (r < 0) {
                        (void) fflush(stdout); /* what the command printed first, then the error */
                        cli_print_error(nv_error_message(err, r));
                        permission_hint(r);
                        return CLI_EXIT_ERROR;
                }
                /* > 0: the command ran and found problems it already reported, or left checks unmade. */
                return close_stdout(r == CLI_EXIT_UNCHECKED ? CLI_EXIT_UNCHECKED : r > 0 ? CLI_EXIT_PROBLEMS : EXIT_SUCCESS);
        }
        fprintf(stderr, _("error: Unknown command '%s'. Run 'nestvirt --help' for the list.\n"), argv[cmd]);
        return CLI_EXIT_ERROR;
}
