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
 * A memfd someone else sealed: refuses an fd without the write, grow and
 * shrink seals (the sender could still change it), larger than max, or
 * whose size differs from expect (unless expect is 0).  *ret_size: its size.
 */
int nv_memfd_check_sealed(int fd, size_t max, uint64_t expect, size_t *ret_size, NvError **reterr);

/* Reads the first size bytes of fd into buf (size from nv_memfd_check_sealed: the seals keep it so). */
int nv_memfd_pread(int fd, void *buf, size_t size, NvError **reterr);

/* Both: the memfd's bytes in a new buffer. */
int nv_memfd_read_sealed(int fd, size_t max, uint64_t expect, uint8_t **ret, size_t *ret_len, NvError **reterr);

NV_END_DECLS
