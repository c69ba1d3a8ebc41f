/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing snapshot images (version 2, docs/snapshot-format.md), in place:
 * the builder lays each blob where the file has it and records its
 * CRC-32C as it is committed, so a writer that lets KVM fill the slots
 * (the agent) copies nothing.  And the one SHA-256 a file gets, for the
 * domain XML's reference.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "crc32c.h"
#include "fileio.h"
#include "macro.h"
#include "snapshot-format.h"
#include "snapshot-private.h"
#include "snapshot.h"

#define OFF(field) offsetof(SnapshotHeader, field)
#define EOFF(field) offsetof(SnapshotEntry, field)
#define TABLE_OFF sizeof(SnapshotHeader)

/* Fetched once: EVP_sha256() would look the implementation up on every digest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int nv_sha256(const void *p, size_t len, uint8_t out[32]) {
        unsigned n = 0;

        (void) pthread_once(&sha256_once, sha256_fetch);
        if (!sha256_md)
                return -EIO;
        return EVP_Digest(p, len, out, &n, sha256_md, NULL) == 1 && n == 32 ? 0 : -EIO;
}

void nv_snapshot_prepare(void) {
        uint8_t md[32];

        (void) nv_sha256("", 0, md);
}

int nv_snapshot_sha256_hex(const uint8_t *buf, size_t len, char ret[65]) {
        static const char hex[] = "0123456789abcdef";
        uint8_t md[32];

        if (nv_sha256(buf, len, md) < 0)
                return -EIO;
        for (int i = 0; i < 32; i++) {
                ret[2 * i] = hex[md[i] >> 4];
                ret[2 * i + 1] = hex[md[i] & 15];
        }
        ret[64] = '\0';
        return 0;
}

size_t nv_snapshot_image_max(size_t n, size_t max_blob) {
        return TABLE_OFF + n * (sizeof(SnapshotEntry) + NV_SNAPSHOT_ALIGN8(max_blob)) + sizeof(SnapshotTrailer);
}

int nv_snapshot_builder_init(NvSnapshotBuilder *b, int vendor, uint8_t *buf, size_t cap, size_t n, NvError **reterr) {
        if (n == 0 || n > NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -EINVAL, _("A snapshot holds 1 to %u vCPUs, not %zu."), NV_SNAPSHOT_MAX_VCPUS, n);
        *b = (NvSnapshotBuilder) { .buf = buf, .cap = cap, .vendor = vendor, .n = (uint32_t) n,
                                   .off = TABLE_OFF + n * sizeof(SnapshotEntry) };
        if (nv_snapshot_image_max(n, NV_NESTED_HDR_SIZE) > cap)
                return nv_error_set(reterr, -ENOBUFS, _("%zu bytes cannot hold a snapshot of %zu vCPUs."), cap, n);
        return 0;
}

uint8_t *nv_snapshot_builder_slot(const NvSnapshotBuilder *b, size_t *ret_room) {
        *ret_room = b->cap - sizeof(SnapshotTrailer) - b->off;
        return b->buf + b->off;
}

int nv_snapshot_builder_commit(NvSnapshotBuilder *b, uint32_t index, size_t len, NvError **reterr) {
        uint8_t *e = b->buf + TABLE_OFF + (size_t) b->done * sizeof(SnapshotEntry), *blob = b->buf + b->off;
        size_t room;
        int r;

        (void) nv_snapshot_builder_slot(b, &room);
        if (b->done == b->n || NV_SNAPSHOT_ALIGN8(len) > room)
                return nv_error_set(reterr, -ENOBUFS, _("vCPU %u: no room for %zu more bytes in the snapshot."), index, len);
        r = nv_snapshot_check_next(b->vendor, b->done, b->last_index, index, blob, len, reterr);
        if (r < 0)
                return r;
        put_le32(e + EOFF(vcpu_index), index);
        put_le32(e + EOFF(size), (uint32_t) len);
        put_le64(e + EOFF(offset), b->off);
        put_le32(e + EOFF(crc32c), nv_crc32c(0, blob, len));
        put_le32(e + EOFF(reserved), 0);
        memset(blob + len, 0, NV_SNAPSHOT_ALIGN8(len) - len);
        b->off += NV_SNAPSHOT_ALIGN8(len);
        b->last_index = index;
        b->done++;
        return 0;
}

static void copy_padded(uint8_t *dst, const char *src) {
        /* 64-byte fields, NUL-padded: at most 63 bytes of text. */
        size_t n = strnlen(src, 63);

        memcpy(dst, src, n);
        memset(dst + n, 0, 64 - n);
}

static void format_header(const NvSnapshot *s, uint32_t n, uint64_t file_size, uint8_t *b) {
        memset(b, 0, sizeof(SnapshotHeader));
        memcpy(b, NV_SNAPSHOT_MAGIC, 8);
        put_le32(b + OFF(version), NV_SNAPSHOT_VERSION);
        put_le32(b + OFF(header_size), sizeof(SnapshotHeader));
        put_le16(b + OFF(vendor), (uint16_t) s->vendor);
        put_le16(b + OFF(host_cpu_vendor), s->host_cpu_vendor < 0 ? 0xffff : (uint16_t) s->host_cpu_vendor);
        put_le32(b + OFF(vcpu_count), n);
        put_le32(b + OFF(cap_nested_state), s->cap_nested_state);
        put_le32(b + OFF(backend), s->backend);
        put_le64(b + OFF(created_usec), s->created_usec);
        put_le64(b + OFF(file_size), file_size);
        put_le64(b + OFF(entry_table_offset), TABLE_OFF);
        put_le32(b + OFF(entry_size), sizeof(SnapshotEntry));
        copy_padded(b + OFF(kernel_release), s->kernel_release);
        copy_padded(b + OFF(cpu_model), s->cpu_model);
}

int nv_snapshot_builder_finish(NvSnapshotBuilder *b, const NvSnapshot *facts, size_t *ret_len, NvError **reterr) {
        uint64_t table_end = TABLE_OFF + (uint64_t) b->n * sizeof(SnapshotEntry);
        uint8_t *t = b->buf + b->off;

        if (b->done != b->n)
                return nv_error_set(reterr, -EINVAL, _("The snapshot got %u of its %u vCPUs."), b->done, b->n);
        if (facts->vendor != b->vendor)
                return nv_error_set(reterr, -EINVAL, _("The snapshot's blobs are %s, its header says %s."), nv_format_to_string(b->vendor),
                                    nv_format_to_string(facts->vendor));
        format_header(facts, b->n, b->off + sizeof(SnapshotTrailer), b->buf);
        put_le32(t + offsetof(SnapshotTrailer, crc32c), nv_crc32c(0, b->buf, table_end));
        put_le32(t + offsetof(SnapshotTrailer, reserved), 0);
        *ret_len = b->off + sizeof(SnapshotTrailer);
        return 0;
}

int nv_snapshot_serialize(const NvSnapshot *s, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        NvSnapshotBuilder b;
        size_t size = TABLE_OFF + s->n_vcpus * sizeof(SnapshotEntry) + sizeof(SnapshotTrailer), room;
        int r;

        if (s->n_vcpus == 0)
                return nv_error_set(reterr, -EINVAL, _("A snapshot needs at least one vCPU."));
        for (size_t i = 0; i < s->n_vcpus; i++)
                size += NV_SNAPSHOT_ALIGN8(s->vcpus[i].blob.len);
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        r = nv_snapshot_builder_init(&b, s->vendor, buf, size, s->n_vcpus, reterr);
        for (size_t i = 0; r >= 0 && i < s->n_vcpus; i++) {
                const NvBlob *blob = &s->vcpus[i].blob;

                memcpy(nv_snapshot_builder_slot(&b, &room), blob->data, blob->len); /* the size above has room for each */
                r = nv_snapshot_builder_commit(&b, s->vcpus[i].index, blob->len, reterr);
        }
        if (r >= 0)
                r = nv_snapshot_builder_finish(&b, s, ret_len, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int nv_snapshot_write(const char *path, const NvSnapshot *s, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_snapshot_serialize(s, &buf, &len, reterr);
        if (r >= 0)
                r = nv_file_write_atomic(path, buf, len, reterr);
        return r;
}
