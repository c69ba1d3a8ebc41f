/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, the one of iSCSI,
 * ext4 and SSE 4.2's crc32 instruction): the per-blob integrity check of
 * snapshot format version 2.  It catches accidental damage, not a forger;
 * what binds a file to the domain's XML is the SHA-256 recorded there.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over len bytes; the result is final (no extra step). */
uint32_t nv_crc32c(uint32_t crc, const void *buf, size_t len);

/* The same without the crc32 instruction, whatever the CPU: for the test that both agree. */
uint32_t nv_crc32c_portable(uint32_t crc, const void *buf, size_t len);
