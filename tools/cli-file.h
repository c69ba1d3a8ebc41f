/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "snapshot.h"

/* Reads a file the file commands only read (a symlink is followed), at most a snapshot's maximum size. */
int cli_read_file(const char *path, uint8_t **ret, size_t *ret_len, NvError **reterr);

/*
 * A snapshot or a raw blob (told apart by the snapshot magic) from the
 * bytes of path.  A raw blob becomes a one-vCPU snapshot with index 0;
 * *ret_raw says which it was.  Integrity errors name the file.
 */
int cli_parse_state(const char *path, const uint8_t *buf, size_t len, NvSnapshot **ret, bool *ret_raw, NvError **reterr);

/* cli_read_file() and cli_parse_state() in one. */
int cli_load_state_file(const char *path, NvSnapshot **ret, bool *ret_raw, NvError **reterr);

/* -EEXIST naming path if something is there already, unless force (--force). */
int cli_refuse_existing(const char *path, bool force, NvError **reterr);
