/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot files: reader and writer side by side.  The reader trusts
 * nothing: every count, size and offset is checked against the bytes that
 * are actually there, with overflow-safe arithmetic, before it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byteorder.h"
#include "crc32c.h"
#include "fileio.h"
#include "macro.h"
#include "snapshot-format.h"
#include "snapshot-private.h"
#include "snapshot.h"
#include "util.h"

#define OFF(field) offsetof(SnapshotHeader, field)
#define EOFF(field) offsetof(SnapshotEntry, field)
#define E1OFF(field) offsetof(SnapshotEntryV1, field)

NvSnapshot *nv_snapshot_new(int vendor) {
        NvSnapshot *s = calloc(1, sizeof(*s));

        if (s) {
                s->vendor = vendor;
                s->host_cpu_vendor = -1;
                s->version = NV_SNAPSHOT_VERSION;
        }
        return s;
}

NvSnapshot *nv_snapshot_free(NvSnapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_vcpus; i++)
                if (!s->vcpus[i].borrowed)
                        nv_blob_clear(&s->vcpus[i].blob);
        free(s->vcpus);
        free(s->image);
        free(s);
        return NULL;
}

int nv_snapshot_check_next(int vendor, size_t n_before, uint32_t last_index, uint32_t index, const uint8_t *data, size_t len,
                           NvError **reterr) {
        int r;

        r = nv_raw_blob_check(data, len, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("vCPU %u"), index);
        if (nv_blob_format(data, len) != vendor)
                return nv_error_set(reterr, -EINVAL, _("vCPU %u holds %s state but the snapshot is %s."), index,
                                    nv_format_to_string(nv_blob_format(data, len)), nv_format_to_string(vendor));
        if (n_before >= NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -E2BIG, _("A snapshot holds at most %u vCPUs."), NV_SNAPSHOT_MAX_VCPUS);
        if (n_before > 0 && index <= last_index)
                return nv_error_set(reterr, -EINVAL, _("vCPU %u comes after vCPU %u: indices must be unique and ascending."),
                                    index, last_index);
        return 0;
}

static int check_blob(const NvSnapshot *s, uint32_t index, const uint8_t *data, size_t len, NvError **reterr) {
        return nv_snapshot_check_next(s->vendor, s->n_vcpus, s->n_vcpus ? s->vcpus[s->n_vcpus - 1].index : 0, index, data, len,
                                      reterr);
}

/* Room for n more vCPUs, growing geometrically. */
static int reserve(NvSnapshot *s, size_t n) {
        NvSnapshotVcpu *v;
        size_t want = s->n_vcpus + n;

        if (want <= s->n_alloc)
                return 0;
        if (want < 2 * s->n_alloc)
                want = 2 * s->n_alloc;
        v = reallocarray(s->vcpus, want, sizeof(*v));
        if (!v)
                return -ENOMEM;
        s->vcpus = v;
        s->n_alloc = want;
        return 0;
}

static int append(NvSnapshot *s, uint32_t index, uint8_t *data, size_t len, bool borrowed) {
        int r = reserve(s, 1);

        if (r < 0)
                return r;
        s->vcpus[s->n_vcpus++] = (NvSnapshotVcpu) { .index = index, .blob = { .data = data, .len = len }, .borrowed = borrowed };
        return 0;
}

int nv_snapshot_add(NvSnapshot *s, uint32_t index, const NvBlob *blob, NvError **reterr) {
        _cleanup_free_ uint8_t *copy = NULL;
        int r;

        r = check_blob(s, index, blob->data, blob->len, reterr);
        if (r < 0)
                return r;
        copy = malloc(blob->len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, blob->data, blob->len);
        r = append(s, index, copy, blob->len, false);
        if (r >= 0)
                copy = NULL;
        return r;
}

/* A blob of an image being parsed: checked as nv_snapshot_add does, not copied. */
static int add_view(NvSnapshot *s, uint32_t index, const uint8_t *data, size_t len, NvError **reterr) {
        int r = check_blob(s, index, data, len, reterr);

        return r < 0 ? r : append(s, index, (uint8_t *) data, len, true);
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
        uint32_t version;
        uint64_t table_off;
        uint64_t table_end;
        uint64_t data_end; /* where the trailer starts */
        uint32_t n;
} Layout;

static size_t trailer_size(uint32_t version) {
        return version == 1 ? SNAPSHOT_V1_TRAILER_SIZE : sizeof(SnapshotTrailer);
}

static size_t entry_size(uint32_t version) {
        return version == 1 ? sizeof(SnapshotEntryV1) : sizeof(SnapshotEntry);
}

static int parse_header_fields(const uint8_t *b, size_t len, NvSnapshot *s, uint32_t *header_size, NvError **reterr) {
        uint32_t version = get_le32(b + OFF(version)), flags = get_le32(b + OFF(flags));
        uint16_t vendor = get_le16(b + OFF(vendor)), cpu = get_le16(b + OFF(host_cpu_vendor));
        uint64_t file_size = get_le64(b + OFF(file_size));

        if (memcmp(b, NV_SNAPSHOT_MAGIC, 8) != 0)
                return nv_error_set(reterr, -EINVAL, _("Not a nestvirt snapshot: bad magic at offset 0."));
        if (version < NV_SNAPSHOT_VERSION_OLDEST || version > NV_SNAPSHOT_VERSION)
                return nv_error_set(reterr, -EPROTONOSUPPORT, _("Snapshot format version %u (offset 8) is not supported; this nestvirt reads versions %u to %u."),
                                    version, NV_SNAPSHOT_VERSION_OLDEST, NV_SNAPSHOT_VERSION);
        if (file_size != len)
                return nv_error_set(reterr, -EINVAL, _("The header says the file has %llu bytes (offset 40) but it has %zu: it was truncated or appended to."),
                                    (unsigned long long) file_size, len);
        *header_size = get_le32(b + OFF(header_size));
        if (*header_size < sizeof(SnapshotHeader) || *header_size > len - trailer_size(version))
                return nv_error_set(reterr, -EINVAL, _("Header size %u (offset 12) is out of bounds."), *header_size);
        if (flags != 0)
                return nv_error_set(reterr, -EINVAL, _("Unknown snapshot flags 0x%x at offset 16."), flags);
        if (!nv_format_to_string(vendor))
                return nv_error_set(reterr, -EINVAL, _("Unknown vendor %u at offset 20 (0 is VMX, 1 is SVM)."), vendor);
        if (cpu != 0xffff && !nv_format_to_string(cpu))
                return nv_error_set(reterr, -EINVAL, _("Unknown host CPU vendor %u at offset 22."), cpu);
        s->version = version;
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
        uint32_t version = len >= OFF(header_size) ? get_le32(b + OFF(version)) : NV_SNAPSHOT_VERSION;
        uint32_t header_size = 0;
        int r;

        if (len < sizeof(SnapshotHeader) + trailer_size(version))
                return nv_error_set(reterr, -EINVAL, _("Snapshot is truncated: %zu bytes, but the header and checksum alone take %zu."),
                                    len, sizeof(SnapshotHeader) + trailer_size(version));
        r = parse_header_fields(b, len, s, &header_size, reterr);
        if (r < 0)
                return r;
        l->version = version;
        l->n = get_le32(b + OFF(vcpu_count));
        if (l->n == 0 || l->n > NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -EINVAL, _("vCPU count %u (offset 24) is not between 1 and %u."), l->n,
                                    NV_SNAPSHOT_MAX_VCPUS);
        if (get_le32(b + OFF(entry_size)) != entry_size(version))
                return nv_error_set(reterr, -EINVAL, _("Entry size %u (offset 56) is not %zu."), get_le32(b + OFF(entry_size)),
                                    entry_size(version));
        l->data_end = len - trailer_size(version);
        l->table_off = get_le64(b + OFF(entry_table_offset));
        if (l->table_off < header_size || l->table_off > l->data_end ||
            (uint64_t) l->n * entry_size(version) > l->data_end - l->table_off)
                return nv_error_set(reterr, -EINVAL, _("The entry table (offset %llu, %u entries) lies outside the file's %llu data bytes."),
                                    (unsigned long long) l->table_off, l->n, (unsigned long long) l->data_end);
        l->table_end = l->table_off + (uint64_t) l->n * entry_size(version);
        return reserve(s, l->n);
}

/* An entry's blob lies in the data region after the table, after the previous blob. */
static int check_span(const Layout *l, uint32_t i, uint32_t index, uint32_t size, uint64_t off, uint64_t prev_end, NvError **reterr) {
        if (size < NV_NESTED_HDR_SIZE || size > NV_NESTED_MAX_SIZE)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob size %u is not between %u and %u."), i, index,
                                    size, NV_NESTED_HDR_SIZE, NV_NESTED_MAX_SIZE);
        if (off < l->table_end || off > l->data_end || size > l->data_end - off)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob bytes %llu..%llu lie outside the data region %llu..%llu."),
                                    i, index, (unsigned long long) off, (unsigned long long) off + size,
                                    (unsigned long long) l->table_end, (unsigned long long) l->data_end);
        if (off < prev_end)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob at offset %llu overlaps the previous one."), i,
                                    index, (unsigned long long) off);
        return 0;
}

/* Version 1, entry i: bounds, order, SHA-256, then the blob's own framing. */
static int parse_entry_v1(const uint8_t *b, const Layout *l, uint32_t i, uint64_t *prev_end, NvSnapshot *s, NvError **reterr) {
        const uint8_t *e = b + l->table_off + (uint64_t) i * sizeof(SnapshotEntryV1);
        uint32_t index = get_le32(e + E1OFF(vcpu_index)), size = get_le32(e + E1OFF(size));
        uint64_t off = get_le64(e + E1OFF(offset));
        uint8_t md[32];
        int r;

        r = check_span(l, i, index, size, off, *prev_end, reterr);
        if (r < 0)
                return r;
        if (nv_sha256(b + off, size, md) < 0)
                return -EIO;
        if (memcmp(md, e + E1OFF(sha256), 32) != 0)
                return nv_error_set(reterr, -EBADMSG, _("Checksum mismatch for vCPU %u (bytes %llu..%llu)."), index,
                                    (unsigned long long) off, (unsigned long long) off + size);
        *prev_end = off + size;
        return add_view(s, index, b + off, size, reterr);
}

/* The bytes from..to (alignment padding) are zero: no checksum covers them. */
static int check_padding(const uint8_t *b, uint64_t from, uint64_t to, NvError **reterr) {
        for (uint64_t p = from; p < to; p++)
                if (b[p] != 0)
                        return nv_error_set(reterr, -EBADMSG, _("Padding byte %llu is not zero."), (unsigned long long) p);
        return 0;
}

/* Version 2, entry i: bounds, the blob right after the previous one (8-aligned), CRC-32C, then its own framing. */
static int parse_entry_v2(const uint8_t *b, const Layout *l, uint32_t i, uint64_t *prev_end, NvSnapshot *s, NvError **reterr) {
        const uint8_t *e = b + l->table_off + (uint64_t) i * sizeof(SnapshotEntry);
        uint32_t index = get_le32(e + EOFF(vcpu_index)), size = get_le32(e + EOFF(size));
        uint64_t off = get_le64(e + EOFF(offset)), want = NV_SNAPSHOT_ALIGN8(*prev_end);
        int r;

        r = check_span(l, i, index, size, off, *prev_end, reterr);
        if (r < 0)
                return r;
        if (off != want)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): blob at offset %llu, but the previous part ends at %llu: blobs follow each other."),
                                    i, index, (unsigned long long) off, (unsigned long long) *prev_end);
        if (get_le32(e + EOFF(reserved)) != 0)
                return nv_error_set(reterr, -EINVAL, _("Entry %u (vCPU %u): reserved field at offset %llu is not zero."), i, index,
                                    (unsigned long long) (e - b) + EOFF(reserved));
        r = check_padding(b, *prev_end, off, reterr);
        if (r < 0)
                return r;
        if (nv_crc32c(0, b + off, size) != get_le32(e + EOFF(crc32c)))
                return nv_error_set(reterr, -EBADMSG, _("Checksum mismatch for vCPU %u (bytes %llu..%llu)."), index,
                                    (unsigned long long) off, (unsigned long long) off + size);
        *prev_end = off + size;
        return add_view(s, index, b + off, size, reterr);
}

/* Last, what the per-vCPU checks did not cover: version 1 the SHA-256 of all, version 2 the end and the header's CRC-32C. */
static int check_trailer(const uint8_t *b, const Layout *l, uint64_t prev_end, NvError **reterr) {
        uint8_t md[32];
        int r;

        if (l->version == 1) {
                if (nv_sha256(b, l->data_end, md) < 0)
                        return -EIO;
                if (memcmp(md, b + l->data_end, 32) != 0)
                        return nv_error_set(reterr, -EBADMSG, _("File checksum mismatch (bytes 0..%llu): the header or entry table was changed."),
                                            (unsigned long long) l->data_end);
                return 0;
        }
        if (l->data_end != NV_SNAPSHOT_ALIGN8(prev_end))
                return nv_error_set(reterr, -EINVAL, _("%llu bytes between the last blob (ending at %llu) and the trailer."),
                                    (unsigned long long) (l->data_end - prev_end), (unsigned long long) prev_end);
        r = check_padding(b, prev_end, l->data_end, reterr);
        if (r < 0)
                return r;
        if (get_le32(b + l->data_end + offsetof(SnapshotTrailer, reserved)) != 0)
                return nv_error_set(reterr, -EINVAL, _("The trailer's reserved field (offset %llu) is not zero."),
                                    (unsigned long long) l->data_end + offsetof(SnapshotTrailer, reserved));
        if (nv_crc32c(0, b, l->table_end) != get_le32(b + l->data_end + offsetof(SnapshotTrailer, crc32c)))
                return nv_error_set(reterr, -EBADMSG, _("Header checksum mismatch (bytes 0..%llu): the header or entry table was changed."),
                                    (unsigned long long) l->table_end);
        return 0;
}

int nv_snapshot_parse_view(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = nv_snapshot_new(0);
        uint64_t prev_end;
        Layout l = {};
        int r;

        if (!s)
                return -ENOMEM;
        r = parse_header(buf, len, s, &l, reterr);
        prev_end = l.version == 1 ? 0 : l.table_end;
        for (uint32_t i = 0; r >= 0 && i < l.n; i++)
                r = (l.version == 1 ? parse_entry_v1 : parse_entry_v2)(buf, &l, i, &prev_end, s, reterr);
        if (r >= 0)
                r = check_trailer(buf, &l, prev_end, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int nv_snapshot_parse(const uint8_t *buf, size_t len, NvSnapshot **ret, NvError **reterr) {
        _cleanup_free_ uint8_t *copy = malloc(len ?: 1);
        int r;

        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        r = nv_snapshot_parse_view(copy, len, ret, reterr);
        if (r >= 0)
                (*ret)->image = TAKE_PTR(copy);
        return r;
}

int nv_snapshot_read(const char *path, NvSnapshot **ret, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = nv_file_read(path, NV_SNAPSHOT_MAX_SIZE, &buf, &len, reterr);
        if (r >= 0)
                r = nv_snapshot_parse_view(buf, len, ret, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, "%s", path);
        (*ret)->image = TAKE_PTR(buf);
        return 0;
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
