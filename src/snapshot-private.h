/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the snapshot reader (snapshot.c) and writer (snapshot-write.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NV_SNAPSHOT_ALIGN8(x) (((x) + 7u) & ~(uint64_t) 7u)

/* SHA-256 of len bytes: 0, or -EIO. */
int nv_sha256(const void *p, size_t len, uint8_t out[32]);

/*
 * What every blob of a snapshot must be, whoever adds it (the model, the
 * reader, the builder): well framed, of the snapshot's vendor, within the
 * vCPU bound, its index above the last one's (n_before blobs so far).
 */
int nv_snapshot_check_next(int vendor, size_t n_before, uint32_t last_index, uint32_t index, const uint8_t *data, size_t len,
                           NvError **reterr);
