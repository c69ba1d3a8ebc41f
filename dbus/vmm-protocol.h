/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names of the VMM protocol (data/org.nestvirt.Vmm1.xml), and the memfd
 * helpers both ends use.  The memfd holds a snapshot image
 * (docs/snapshot-format.md), so what a VMM hands over can be written to
 * disk without re-encoding.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

NV_BEGIN_DECLS

#define NV_VMM_INTERFACE "org.nestvirt.Vmm1"
#define NV_VMM_OBJECT_PATH "/org/nestvirt/Vmm1"
/* Freeze option "keep-frozen" (b): this freeze outlives the caller's connection. */
#define NV_VMM_OPTION_KEEP_FROZEN "keep-frozen"
/* Thaw option "all" (b): end every freeze held, kept ones too, whatever the token. */
#define NV_VMM_OPTION_ALL "all"
/* Collect's info: how long the call kept the vCPUs paused (t, usec; 0 when it found them frozen)... */
#define NV_VMM_INFO_FROZEN_USEC "frozen-usec"
/* ...and whether another hold had them frozen (b): they stay so.  Load's info has "frozen-usec". */
#define NV_VMM_INFO_FOUND_FROZEN "found-frozen"
#define NV_VMM_ERROR_NOT_FROZEN "org.nestvirt.Vmm1.Error.NotFrozen"
#define NV_VMM_ERROR_BUSY "org.nestvirt.Vmm1.Error.Busy"
#define NV_VMM_ERROR_UNSUPPORTED "org.nestvirt.Vmm1.Error.Unsupported"
#define NV_VMM_ERROR_BAD_MEMFD "org.nestvirt.Vmm1.Error.BadMemfd"
#define NV_VMM_ERROR_VENDOR_MISMATCH "org.nestvirt.Vmm1.Error.VendorMismatch"
#define NV_VMM_ERROR_VCPU_COUNT_MISMATCH "org.nestvirt.Vmm1.Error.VcpuCountMismatch"
#define NV_VMM_ERROR_INVALID_STATE "org.nestvirt.Vmm1.Error.InvalidState"
#define NV_VMM_ERROR_FAILED "org.nestvirt.Vmm1.Error.Failed"

/* Returns a sealed (write, grow, shrink, seal) memfd holding data. */
int nv_memfd_seal_new(const void *data, size_t len, int *ret_fd, NvError **reterr);

/*
 * Reads a memfd someone else sealed: refuses an fd without the write,
 * grow and shrink seals (the sender could still change it), larger than
 * max, or whose size differs from expect (unless expect is 0).
 */
int nv_memfd_read_sealed(int fd, size_t max, uint64_t expect, uint8_t **ret, size_t *ret_len, NvError **reterr);

/* A memfd mapped: written in place by its creator, or read in place by its receiver. */
typedef struct NvMemfdMap {
        int fd;
        uint8_t *data;
        size_t size; /* mapped bytes */
} NvMemfdMap;
#define NV_MEMFD_MAP_NULL ((NvMemfdMap) { .fd = -1 })

/*
 * A new memfd of cap bytes (sparse: only what is written takes memory),
 * mapped for writing: the agent builds the snapshot image in it, KVM
 * writing each blob in place.  The first expect bytes (what is likely to
 * be written) get their pages at once.
 */
int nv_memfd_map_new(size_t cap, size_t expect, NvMemfdMap *ret, NvError **reterr);

/* Unmaps m, cuts its memfd to len bytes and seals it (write, grow, shrink, seal); *ret_fd takes the fd. */
int nv_memfd_map_seal(NvMemfdMap *m, size_t len, int *ret_fd, NvError **reterr);

/*
 * Maps a memfd someone else sealed, read-only, with the checks of
 * nv_memfd_read_sealed: the seals keep the bytes from changing or
 * shrinking under the reader, so nothing is copied.  fd stays the caller's.
 */
int nv_memfd_map_sealed(int fd, size_t max, uint64_t expect, NvMemfdMap *ret, NvError **reterr);

/* Unmaps, and closes an fd the map owns (nv_memfd_map_new's). */
void nv_memfd_map_clear(NvMemfdMap *m);

NV_END_DECLS
