/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "snapshot.h"

/*
 * Loads a snapshot file or a raw blob (told apart by the snapshot magic).
 * A raw blob becomes a one-vCPU snapshot with index 0; *ret_raw says which
 * it was.  Integrity errors name the file.
 */
int cli_load_state_file(const char *path, NvSnapshot **ret, bool *ret_raw, NvError **reterr);
