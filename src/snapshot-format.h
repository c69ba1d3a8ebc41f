/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-disk structures of a snapshot file (docs/snapshot-format.md).
 * Fixed-width little-endian fields, no padding, no bool; the asserts
 * below pin every size and offset.  Private to snapshot.c and its tests.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct SnapshotHeader {
        uint8_t magic[8];            /* "NVNESTED" */
        uint32_t version;            /* 2 (1: files written before version 2, still read) */
        uint32_t header_size;        /* sizeof(SnapshotHeader) when written */
        uint32_t flags;              /* 0; a reader refuses unknown flags */
        uint16_t vendor;             /* blob format: 0 VMX, 1 SVM */
        uint16_t host_cpu_vendor;    /* 0 VMX, 1 SVM, 0xffff unknown */
        uint32_t vcpu_count;         /* entries in the table, 1..4096 */
        uint32_t cap_nested_state;   /* KVM_CAP_NESTED_STATE on the saving host */
        uint64_t created_usec;       /* CLOCK_REALTIME */
        uint64_t file_size;          /* whole file, trailer included */
        uint64_t entry_table_offset; /* >= header_size */
        uint32_t entry_size;         /* sizeof(SnapshotEntry), version 1: sizeof(SnapshotEntryV1) */
        uint32_t backend;            /* NV_SNAPSHOT_BACKEND_*; 0 (was reserved) in older files */
        char kernel_release[64];     /* NUL-padded */
        char cpu_model[64];          /* NUL-padded */
} SnapshotHeader;

/* Version 2: a CRC-32C per blob; blobs follow each other, each 8-byte aligned. */
typedef struct SnapshotEntry {
        uint32_t vcpu_index;
        uint32_t size;     /* blob bytes, 128..8320, equal to the blob's own size field */
        uint64_t offset;   /* of the blob: the end of the previous one (or of the table), aligned up to 8 */
        uint32_t crc32c;   /* of the blob */
        uint32_t reserved; /* 0 */
} SnapshotEntry;

/* Version 2's last 8 bytes: what no blob's CRC covers. */
typedef struct SnapshotTrailer {
        uint32_t crc32c;   /* CRC-32C of every byte before the first blob: header and entry table */
        uint32_t reserved; /* 0 */
} SnapshotTrailer;

/* Version 1: a SHA-256 per blob and a SHA-256 of the whole file in the trailer. */
typedef struct SnapshotEntryV1 {
        uint32_t vcpu_index;
        uint32_t size;      /* blob bytes, 128..8320, equal to the blob's own size field */
        uint64_t offset;    /* of the blob, 8-aligned, after the table */
        uint8_t sha256[32]; /* of the blob */
} SnapshotEntryV1;

#define SNAPSHOT_V1_TRAILER_SIZE 32 /* SHA-256 of every byte before it */

_Static_assert(sizeof(SnapshotHeader) == 192, "snapshot header is 192 bytes");
_Static_assert(offsetof(SnapshotHeader, created_usec) == 32, "no padding before created_usec");
_Static_assert(offsetof(SnapshotHeader, kernel_release) == 64, "no padding before kernel_release");
_Static_assert(sizeof(SnapshotEntry) == 24, "snapshot entry is 24 bytes");
_Static_assert(offsetof(SnapshotEntry, crc32c) == 16, "no padding before crc32c");
_Static_assert(sizeof(SnapshotTrailer) == 8, "snapshot trailer is 8 bytes");
_Static_assert(sizeof(SnapshotEntryV1) == 48, "version 1 entry is 48 bytes");
_Static_assert(offsetof(SnapshotEntryV1, sha256) == 16, "no padding before sha256");
