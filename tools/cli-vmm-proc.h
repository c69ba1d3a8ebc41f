/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A VMM child process (the reference VMM) driven through its line protocol on stdout. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "macro.h"

typedef struct CliVmmProc {
        pid_t pid;
        int out; /* read end of the child's stdout */
} CliVmmProc;

/* The reference VMM: $NESTVIRT_TESTVMM, else the build tree's, else the installed one. */
const char *cli_testvmm_path(void);

/* Starts argv[0] with argv, stdout to a pipe, stderr inherited; waits for its "ready" line. */
int cli_vmm_start(char *const *argv, CliVmmProc *ret, NvError **reterr);

/* Reads lines until one starts with prefix (copied to line), or timeout_ms passes. */
int cli_vmm_expect(CliVmmProc *p, const char *prefix, char *line, size_t size, int timeout_ms, NvError **reterr);

/* SIGUSR2, then the "counters:" line parsed into c[0..n). */
int cli_vmm_counters(CliVmmProc *p, uint64_t *c, unsigned n, NvError **reterr);

/* SIGKILL and reap; accepts a stopped process. */
void cli_vmm_kill(CliVmmProc *p);
