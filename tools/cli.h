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
int cmd_migrate_begin(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_maintenance(Cli *cli, int argc, char **argv, NvError **reterr);
int cmd_hook(Cli *cli, int argc, char **argv, NvError **reterr);

/* Prints "error: MESSAGE" on stderr, virsh-style. */
void cli_print_error(const char *msg);
