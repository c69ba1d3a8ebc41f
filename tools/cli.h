/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The nestvirt command line: shared declarations of the command files. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "macro.h"

typedef struct Cli {
        const char *uri; /* -c/--connect; NULL: $LIBVIRT_DEFAULT_URI or libvirt's default */
        bool json;
        bool force_sim;
} Cli;

/* Each command parses its own options from argv (argv[0] is the command name). */
int cmd_capabilities(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_demo(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_inspect(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_verify(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_pack(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_unpack(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_list(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_dominfo(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_migrate_check(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_save(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_restore(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_thaw(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_migrate_begin(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_maintenance(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_hook(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_collect(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_load(Cli *cli, int argc, char **argv, NvError **reterr);

/* Prints "error: MESSAGE" on stderr, virsh-style. */
void cli_print_error(const char *msg);

/* Exit statuses: a command that ran and found problems (verify,
 * migrate-check, maintenance with failed domains) returns > 0 and exits 1;
 * one that could not do what was asked (< 0) exits 2, like diff and grep.
 * A check that found nothing wrong but could not make every check it
 * knows (facts of the target it was not given) returns CLI_EXIT_UNCHECKED
 * and exits 3: a script tells "accepted" from "accepted, partly unchecked". */
#define CLI_EXIT_PROBLEMS 1
#define CLI_EXIT_ERROR 2
#define CLI_EXIT_UNCHECKED 3

/* The error for getopt's '?' (opterr is 0): names the option and the command argv[0]. */
int cli_option_error(int argc, char **argv, NvError **reterr);
