/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the snapshot reader (snapshot.c) and writer (snapshot-write.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define NV_SNAPSHOT_ALIGN8(x) (((x) + 7u) & ~(uint64_t) 7u)

/* SHA-256 of len bytes: 0, or -EIO. */
int nv_sha256(const void *p, size_t len, uint8_t out[32]);
