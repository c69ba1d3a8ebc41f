/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot data files: every vCPU's raw nested-state blob of one VM, with
 * the host facts a later restore or migration check needs.  The on-disk
 * format is specified in docs/snapshot-format.md; reader and writer are
 * in snapshot.c, side by side.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"
#include "nested-state.h"

NV_BEGIN_DECLS

#define NV_SNAPSHOT_MAGIC "NVNESTED"
#define NV_SNAPSHOT_VERSION 1u
#define NV_SNAPSHOT_MAX_VCPUS 4096u
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
} NvSnapshotVcpu;

typedef struct NvSnapshot {
        int vendor;                /* NV_FORMAT_*: the format of every blob */
        int host_cpu_vendor;       /* NV_FORMAT_* of the saving host's CPU, -1 unknown */
        uint32_t cap_nested_state; /* KVM_CAP_NESTED_STATE on the saving host */
        uint32_t backend;          /* NvSnapshotBackend; a later writer's value unknown here is kept as read */
        uint64_t created_usec;     /* CLOCK_REALTIME, microseconds */
        char kernel_release[64];   /* NUL-terminated */
        char cpu_model[64];        /* NUL-terminated */
        size_t n_vcpus;
        NvSnapshotVcpu *vcpus;     /* ascending index */
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
 * Parses a snapshot file image.  Every length and offset is bounded before
 * use; refusals name what is wrong and where (offset, vCPU, byte range).
 * Returns 0 and a new snapshot in *ret.
 */
int nv_snapshot_parse(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr);

/* Serializes s into a new buffer. */
int nv_snapshot_serialize(const NvSnapshot *s, uint8_t **ret, size_t *ret_len, NvError **reterr);

/* nv_file_read() + nv_snapshot_parse(); names the file in errors. */
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

/* The SHA-256 of a whole snapshot file image as 64 hex digits plus NUL. */
int nv_snapshot_sha256_hex(const uint8_t *buf, size_t len, char ret[65]);

NV_END_DECLS
