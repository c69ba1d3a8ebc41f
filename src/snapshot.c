/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot files: reader and writer side by side.  The reader trusts
 * nothing: every count, size and offset is checked against the bytes that
 * are actually there, with overflow-safe arithmetic, before it is used.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byteorder.h"
#include "fileio.h"
#include "macro.h"
#include "snapshot-format.h"
#include "snapshot.h"
#include "util.h"

#define OFF(field) offsetof(SnapshotHeader, field)
#define EOFF(field) offsetof(SnapshotEntry, field)
#define ALIGN8(x) (((x) + 7u) & ~(uint64_t) 7u)

static int sha256(const void *p, size_t len, uint8_t out[32]) {
        unsigned n = 0;

        return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -EIO;
}

int nv_snapshot_sha256_hex(const uint8_t *buf, size_t len, char ret[65]) {
        uint8_t md[32];

        if (sha256(buf, len, md) < 0)
                return -EIO;
        for (int i = 0; i < 32; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

NvSnapshot *nv_snapshot_new(int vendor) {
        NvSnapshot *s = calloc(1, sizeof(*s));

        if (s) {
                s->vendor = vendor;
                s->host_cpu_vendor = -1;
        }
        return s;
}

NvSnapshot *nv_snapshot_free(NvSnapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_vcpus; i++)
                nv_blob_clear(&s->vcpus[i].blob);
        free(s->vcpus);
        free(s);
        return NULL;
}

int nv_snapshot_add(NvSnapshot *s, uint32_t index, const NvBlob *blob, NvError **reterr) {
        NvSnapshotVcpu *v;
        int r;

        r = nv_raw_blob_check(blob->data, blob->len, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("vCPU %u"), index);
        if (nv_blob_format(blob->data, blob->len) != s->vendor)
                return nv_error_set(reterr, -EINVAL, _("vCPU %u holds %s state but the snapshot is %s."), index,
                                    nv_format_to_string(nv_blob_format(blob->data, blob->len)), nv_format_to_string(s->vendor));
        if (s->n_vcpus >= NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -E2BIG, _("A snapshot holds at most %u vCPUs."), NV_SNAPSHOT_MAX_VCPUS);
        if (s->n_vcpus > 0 && index <= s->vcpus[s->n_vcpus - 1].index)
                return nv_error_set(reterr, -EINVAL, _("vCPU %u comes after vCPU %u: indices must be unique and ascending."),
                                    index, s->vcpus[s->n_vcpus - 1].index);
        v = reallocarray(s->vcpus, s->n_vcpus + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        s->vcpus = v;
        v = &s->vcpus[s->n_vcpus];
        v->index = index;
        v->blob.data = malloc(blob->len);
        if (!v->blob.data)
                return -ENOMEM;
        memcpy(v->blob.data, blob->data, blob->len);
        v->blob.len = blob->len;
        s->n_vcpus++;
        return 0;
}

int nv_snapshot_is_snapshot(const uint8_t *buf, size_t len) {
        return len >= 8 && memcmp(buf, NV_SNAPSHOT_MAGIC, 8) == 0;
}

static void copy_string(char *dst, size_t size, const uint8_t *src, size_t srclen) {
        size_t n = strnlen((const char *) src, srclen);

        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

typedef struct Layout {
        uint64_t table_off;
        uint64_t table_end;
        uint64_t data_end; /* where the trailing checksum starts */
        uint32_t n;
} Layout;

static int parse_header_fields(const uint8_t *b, size_t len, NvSnapshot *s, uint32_t *header_size, NvError **reterr) {
        uint32_t version = get_le32(b + OFF(version)), flags = get_le32(b + OFF(flags));
        uint16_t vendor = get_le16(b + OFF(vendor)), cpu = get_le16(b + OFF(host_cpu_vendor));
        uint64_t file_size = get_le64(b + OFF(file_size));

        if (memcmp(b, NV_SNAPSHOT_MAGIC, 8) != 0)
                return nv_error_set(reterr, -EINVAL, _("Not a nestvirt snapshot: bad magic at offset 0."));
        if (version != NV_SNAPSHOT_VERSION)
                return nv_error_set(reterr, -EPROTONOSUPPORT, _("Snapshot format version %u (offset 8) is not supported; this nestvirt reads version %u."),
                                    version, NV_SNAPSHOT_VERSION);
        if (file_size != len)
                return nv_error_set(reterr, -EINVAL, _("The header says the file has %llu bytes (offset 40) but it has %zu: it was truncated or appended to."),
                                    (unsigned long long) file_size, len);
        *header_size = get_le32(b + OFF(header_size));
        if (*header_size < sizeof(SnapshotHeader) || *header_size > len - SNAPSHOT_TRAILER_SIZE)
                return nv_error_set(reterr, -EINVAL, _("Header size %u (offset 12) is out of bounds."), *header_size);
        if (flags != 0)
                return nv_error_set(reterr, -EINVAL, _("Unknown snapshot flags 0x%x at offset 16."), flags);
        if (!nv_format_to_string(vendor))
                return nv_error_set(reterr, -EINVAL, _("Unknown vendor %u at offset 20 (0 is VMX, 1 is SVM)."), vendor);
        if (cpu != 0xffff && !nv_format_to_string(cpu))
                return nv_error_set(reterr, -EINVAL, _("Unknown host CPU vendor %u at offset 22."), cpu);
        s->vendor = vendor;
        s->host_cpu_vendor = cpu == 0xffff ? -1 : cpu;
        s->cap_nested_state = get_le32(b + OFF(cap_nested_state));
        s->backend = get_le32(b + OFF(backend)); /* not checked: readers before it ignored the field */
        s->created_usec = get_le64(b + OFF(created_usec));
        copy_string(s->kernel_release, sizeof(s->kernel_release), b + OFF(kernel_release), 64);
        copy_string(s->cpu_model, sizeof(s->cpu_model), b + OFF(cpu_model), 64);
        return 0;
}

static int parse_header(const uint8_t *b, size_t len, NvSnapshot *s, Layout *l, NvError **reterr) {
        uint32_t header_size = 0;
        int r;

        if (len < sizeof(SnapshotHeader) + SNAPSHOT_TRAILER_SIZE)
                return nv_error_set(reterr, -EINVAL, _("Snapshot is truncated: %zu bytes, but the header and checksum alone take %zu."),
                                    len, sizeof(SnapshotHeader) + SNAPSHOT_TRAILER_SIZE);
        r = parse_header_fields(b, len, s, &header_size, reterr);
        if (r < 0)
                return r;
        l->n = get_le32(b + OFF(vcpu_count));
        if (l->n == 0 || l->n > NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -EINVAL, _("vCPU count %u (offset 24) is not between 1 and %u."), l->n,
                                    NV_SNAPSHOT_MAX_VCPUS);
        if (get_le32(b + OFF(entry_size)) != sizeof(SnapshotEntry))
                return nv_error_set(reterr, -EINVAL, _("Entry size %u (offset 56) is not %zu."), get_le32(b + OFF(entry_size)),
                                    sizeof(SnapshotEntry));
        l->data_end = len - SNAPSHOT_TRAILER_SIZE;
        l->table_off = get_le64(b + OFF(entry_table_offset));
        if (l->table_off < header_size || l->table_off > l->data_end ||
            (uint64_t) l->n * sizeof(SnapshotEntry) > l->data_end - l->table_off)
                return nv_error_set(reterr, -EINVAL, _("The entry table (offset %llu, %u entries) lies outside the file's %llu data bytes."),
                                    (unsigned long long) l->table_off, l->n, (unsigned long long) l->data_end);
        l->table_end = l->table_off + (uint64_t) l->n * sizeof(SnapshotEntry);
        return 0;
}

/* Entry i: bounds, order, checksum, then the blob's own framing. */
static int parse_entry(const uint8_t *b, const Layout *l, uint32_t i, uint64_t *prev_end, NvSnapshot *s, NvError **reterr) {
        const uint8_t *e = b + l->table_off + (uint64_t) i * sizeof(SnapshotEntry);
        uint32_t index = get_le32(e + EOFF(vcpu_index)), size = get_le32(e + EOFF(size));
        uint64_t off = get_le64(e + EOFF(offset));
        uint8_t md[32];
        NvBlob blob;

        if (size < NV_NESTED_HDR_SIZE || size > NV_NESTED_MAX_SIZE)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob size %u is not between %u and %u."), i, index,
                                    size, NV_NESTED_HDR_SIZE, NV_NESTED_MAX_SIZE);
        if (off < l->table_end || off > l->data_end || size > l->data_end - off)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob bytes %llu..%llu lie outside the data region %llu..%llu."),
                                    i, index, (unsigned long long) off, (unsigned long long) off + size,
                                    (unsigned long long) l->table_end, (unsigned long long) l->data_end);
        if (off < *prev_end)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob at offset %llu overlaps the previous one."), i,
                                    index, (unsigned long long) off);
        if (sha256(b + off, size, md) < 0)
                return -EIO;
        if (memcmp(md, e + EOFF(sha256), 32) != 0)
                return nv_error_set(reterr, -EBADMSG, _("Checksum mismatch for vCPU %u (bytes %llu..%llu)."), index,
                                    (unsigned long long) off, (unsigned long long) off + size);
        *prev_end = off + size;
        blob = (NvBlob) { .data = (uint8_t *) b + off, .len = size };
        return nv_snapshot_add(s, index, &blob, reterr);
}

int nv_snapshot_parse(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = nv_snapshot_new(0);
        uint64_t prev_end = 0;
        uint8_t md[32];
        Layout l = {};
        int r;

        if (!s)
                return -ENOMEM;
        r = parse_header(buf, len, s, &l, reterr);
        for (uint32_t i = 0; r >= 0 && i < l.n; i++)
                r = parse_entry(buf, &l, i, &prev_end, s, reterr);
        if (r < 0)
                return r;
        /* Last: whatever the per-vCPU checks did not cover (header, table, padding). */
        if (sha256(buf, l.data_end, md) < 0)
                return -EIO;
        if (memcmp(md, buf + l.data_end, 32) != 0)
                return nv_error_set(reterr, -EBADMSG, _("File checksum mismatch (bytes 0..%llu): the header or entry table was changed."),
                                    (unsigned long long) l.data_end);
        *ret = TAKE_PTR(s);
        return 0;
}

static void format_header(const NvSnapshot *s, uint64_t table_off, uint64_t file_size, uint8_t *b) {
        memcpy(b, NV_SNAPSHOT_MAGIC, 8);
        put_le32(b + OFF(version), NV_SNAPSHOT_VERSION);
        put_le32(b + OFF(header_size), sizeof(SnapshotHeader));
        put_le16(b + OFF(vendor), (uint16_t) s->vendor);
        put_le16(b + OFF(host_cpu_vendor), s->host_cpu_vendor < 0 ? 0xffff : (uint16_t) s->host_cpu_vendor);
        put_le32(b + OFF(vcpu_count), (uint32_t) s->n_vcpus);
        put_le32(b + OFF(cap_nested_state), s->cap_nested_state);
        put_le32(b + OFF(backend), s->backend);
        put_le64(b + OFF(created_usec), s->created_usec);
        put_le64(b + OFF(file_size), file_size);
        put_le64(b + OFF(entry_table_offset), table_off);
        put_le32(b + OFF(entry_size), sizeof(SnapshotEntry));
        /* The buffer is zeroed: copying at most 63 bytes keeps the fields NUL-padded. */
        memcpy(b + OFF(kernel_release), s->kernel_release, strnlen(s->kernel_release, 63));
        memcpy(b + OFF(cpu_model), s->cpu_model, strnlen(s->cpu_model, 63));
}

int nv_snapshot_serialize(const NvSnapshot *s, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        uint64_t table_off = sizeof(SnapshotHeader), off, size;
        _cleanup_free_ uint8_t *b = NULL;

        if (s->n_vcpus == 0)
                return nv_error_set(reterr, -EINVAL, _("A snapshot needs at least one vCPU."));
        off = ALIGN8(table_off + s->n_vcpus * sizeof(SnapshotEntry));
        for (size_t i = 0; i < s->n_vcpus; i++)
                off = ALIGN8(off + s->vcpus[i].blob.len);
        size = off + SNAPSHOT_TRAILER_SIZE;
        b = calloc(1, size);
        if (!b)
                return -ENOMEM;
        format_header(s, table_off, size, b);
        off = ALIGN8(table_off + s->n_vcpus * sizeof(SnapshotEntry));
        for (size_t i = 0; i < s->n_vcpus; i++) {
                uint8_t *e = b + table_off + i * sizeof(SnapshotEntry);
                const NvBlob *blob = &s->vcpus[i].blob;

                put_le32(e + EOFF(vcpu_index), s->vcpus[i].index);
                put_le32(e + EOFF(size), (uint32_t) blob->len);
                put_le64(e + EOFF(offset), off);
                memcpy(b + off, blob->data, blob->len);
                if (sha256(blob->data, blob->len, e + EOFF(sha256)) < 0)
                        return -EIO;
                off = ALIGN8(off + blob->len);
        }
        if (sha256(b, off, b + off) < 0)
                return -EIO;
        *ret = TAKE_PTR(b);
        *ret_len = size;
        return 0;
}

int nv_snapshot_read(const char *path, NvSnapshot **ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, NV_SNAPSHOT_MAX_SIZE, &buf, &len, reterr);
        if (r >= 0)
                r = nv_snapshot_parse(buf, len, ret, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, "%s", path);
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

/* The backends' own names (NvHostInfo.backend); 0 has none. */
NV_DEFINE_PRIVATE_STRING_TABLE(backend, [NV_SNAPSHOT_BACKEND_KVM] = "kvm", [NV_SNAPSHOT_BACKEND_SIMULATED] = "simulated");

const char *nv_snapshot_backend_to_string(uint32_t v) {
        return v <= INT32_MAX ? backend_to_string((int) v) : NULL;
}

void nv_snapshot_stamp(NvSnapshot *s, const NvHostInfo *h) {
        if (h) {
                int b = backend_from_string(h->backend); /* "none" and unknown names: not recorded */
                s->backend = b < 0 ? NV_SNAPSHOT_BACKEND_UNRECORDED : (uint32_t) b;
                copy_string(s->kernel_release, sizeof(s->kernel_release), (const uint8_t *) h->kernel_release,
                            sizeof(h->kernel_release));
                copy_string(s->cpu_model, sizeof(s->cpu_model), (const uint8_t *) h->cpu_model, sizeof(h->cpu_model));
                s->host_cpu_vendor = h->cpu_vendor;
                if (h->nested_state_max > 0)
                        s->cap_nested_state = (uint32_t) h->nested_state_max;
        }
        s->created_usec = nv_now_usec(CLOCK_REALTIME);
}
