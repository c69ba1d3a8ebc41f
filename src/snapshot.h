/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot data files: every vCPU's raw nested-state blob of one VM, with
 * the host facts a later restore or migration check needs.  The on-disk
 * format is specified in docs/snapshot-format.md; reader and writer are
 * in snapshot.c, side by side.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"
#include "nested-state.h"

NV_BEGIN_DECLS

#define NV_SNAPSHOT_MAGIC "NVNESTED"
/* The version written; every version from NV_SNAPSHOT_VERSION_OLDEST on is read. */
#define NV_SNAPSHOT_VERSION 2u
#define NV_SNAPSHOT_VERSION_OLDEST 1u
#define NV_SNAPSHOT_MAX_VCPUS 4096u
/* Bounds a file of either version (version 1's entries and trailer are the larger). */
#define NV_SNAPSHOT_MAX_SIZE                                                                           \
        (256u + NV_SNAPSHOT_MAX_VCPUS * (48u + NV_NESTED_MAX_SIZE + 8u) + 32u)

/* The KVM backend that saved the blobs, so that state from the simulator is never taken for a real host's. */
typedef enum NvSnapshotBackend {
        NV_SNAPSHOT_BACKEND_UNRECORDED = 0, /* files written before the field existed */
        NV_SNAPSHOT_BACKEND_KVM = 1,        /* the kernel's /dev/kvm */
        NV_SNAPSHOT_BACKEND_SIMULATED = 2,  /* the simulated KVM of the tests and the demo */
} NvSnapshotBackend;

typedef struct NvSnapshotVcpu {
        uint32_t index; /* vCPU id */
        NvBlob blob;
        bool borrowed;  /* blob.data points into an image (the snapshot's or the caller's): not freed with it */
} NvSnapshotVcpu;

typedef struct NvSnapshot {
        int vendor;                /* NV_FORMAT_*: the format of every blob */
        int host_cpu_vendor;       /* NV_FORMAT_* of the saving host's CPU, -1 unknown */
        uint32_t cap_nested_state; /* KVM_CAP_NESTED_STATE on the saving host */
        uint32_t backend;          /* NvSnapshotBackend; a later writer's value unknown here is kept as read */
        uint64_t created_usec;     /* CLOCK_REALTIME, microseconds */
        char kernel_release[64];   /* NUL-terminated */
        char cpu_model[64];        /* NUL-terminated */
        uint32_t version;          /* the format version of the file read; NV_SNAPSHOT_VERSION for a new snapshot */
        size_t n_vcpus;
        NvSnapshotVcpu *vcpus;     /* ascending index */
        size_t n_alloc;            /* room in vcpus */
        uint8_t *image;            /* the image borrowed blobs point into, when the snapshot owns it */
} NvSnapshot;

/* A new, empty snapshot for blobs of the given format. */
NvSnapshot *nv_snapshot_new(int vendor);
NvSnapshot *nv_snapshot_free(NvSnapshot *s);
NV_DEFINE_FREEP(NvSnapshot *, nv_snapshot_free)

/*
 * Adds a copy of blob as vCPU index.  Checks the blob's framing
 * (nv_raw_blob_check), its format against the snapshot's, and that the
 * index is new and larger than every index so far.
 */
int nv_snapshot_add(NvSnapshot *s, uint32_t index, const NvBlob *blob, NvError **reterr);

/*
 * Parses a snapshot file image of any version read.  Every length and
 * offset is bounded before use; refusals name what is wrong and where
 * (offset, vCPU, byte range).  Returns 0 and a new snapshot in *ret whose
 * blobs point into a copy of buf it keeps (one copy, whatever the count).
 */
int nv_snapshot_parse(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr);

/* The same without the copy: the blobs point into buf, which must outlive *ret and not change. */
int nv_snapshot_parse_view(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr);

/* Serializes s into a new buffer, in format NV_SNAPSHOT_VERSION. */
int nv_snapshot_serialize(const NvSnapshot *s, uint8_t **ret, size_t *ret_len, NvError **reterr);

/*
 * Building an image in place, blob by blob, in a buffer the caller owns
 * (the agent's memfd mapping: KVM writes each blob where the file has it,
 * and nothing is copied after).  init, then per blob slot (where it goes
 * and the room there) and commit (its index and length: framing, vendor
 * and order checked, CRC-32C recorded), then finish with the header facts
 * of a snapshot (its blobs, if any, are ignored).  A buffer of
 * nv_snapshot_image_max(n, largest blob) bytes always has room.
 */
typedef struct NvSnapshotBuilder {
        uint8_t *buf;
        size_t cap;
        int vendor;
        uint32_t n, done;
        uint32_t last_index;
        uint64_t off; /* where the next blob goes */
} NvSnapshotBuilder;

size_t nv_snapshot_image_max(size_t n, size_t max_blob);
int nv_snapshot_builder_init(NvSnapshotBuilder *b, int vendor, uint8_t *buf, size_t cap, size_t n, NvError **reterr);
uint8_t *nv_snapshot_builder_slot(const NvSnapshotBuilder *b, size_t *ret_room);
int nv_snapshot_builder_commit(NvSnapshotBuilder *b, uint32_t index, size_t len, NvError **reterr);
int nv_snapshot_builder_finish(NvSnapshotBuilder *b, const NvSnapshot *facts, size_t *ret_len, NvError **reterr);

/* nv_file_read() + nv_snapshot_parse_view(), the snapshot keeping the bytes read; names the file in errors. */
int nv_snapshot_read(const char *path, NvSnapshot **ret, NvError **reterr);

/* nv_snapshot_serialize() + nv_file_write_atomic(): the old file survives any failure. */
int nv_snapshot_write(const char *path, const NvSnapshot *s, NvError **reterr);

/*
 * Records the facts of the host that saves (kernel, CPU, capability, the
 * KVM backend by its name; h may be NULL when unknown) and the current
 * time, as every writer does.
 */
void nv_snapshot_stamp(NvSnapshot *s, const NvHostInfo *h);

/* "kvm" or "simulated" (the backends' names, as NvHostInfo has them); NULL if unrecorded or unknown. */
const char *nv_snapshot_backend_to_string(uint32_t backend);

/* Whether buf starts with the snapshot magic (else it may be a raw blob). */
int nv_snapshot_is_snapshot(const uint8_t *buf, size_t len);

/* The SHA-256 of a whole snapshot file image as 64 hex digits plus NUL (the domain XML's reference). */
int nv_snapshot_sha256_hex(const uint8_t *buf, size_t len, char ret[65]);

/*
 * Does what the first SHA-256 in a process would (OpenSSL loads its
 * configuration and providers, about a millisecond): called before a
 * freeze, so that no hash after it pays for that.
 */
void nv_snapshot_prepare(void);

NV_END_DECLS
