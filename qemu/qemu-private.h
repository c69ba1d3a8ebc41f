/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside the QEMU reader: a bounded byte source over memory or a file descriptor. */
#pragma once

#include <string.h>

#include "qemu-image.h"

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#define streq(a, b) (strcmp((a), (b)) == 0)

/* The stream's section types (one byte before each section). */
enum {
        NV_QEMU_SEC_EOF = 0x00,
        NV_QEMU_SEC_START = 0x01,
        NV_QEMU_SEC_PART = 0x02,
        NV_QEMU_SEC_END = 0x03,
        NV_QEMU_SEC_FULL = 0x04,
        NV_QEMU_SEC_SUBSECTION = 0x05,
        NV_QEMU_SEC_VMDESC = 0x06,
        NV_QEMU_SEC_CONFIGURATION = 0x07,
        NV_QEMU_SEC_COMMAND = 0x08,
        NV_QEMU_SEC_FOOTER = 0x7e,
};

/*
 * The stream is read front to back once.  RAM pages are skipped (lseek on a
 * file, read and dropped from a pipe), so a guest's memory is never held.
 */
typedef struct NvQemuReader {
        int fd;              /* -1: the bytes are mem[0..mem_len) */
        const uint8_t *mem;
        size_t mem_len;
        uint64_t pos;        /* bytes of the stream consumed */
        uint64_t base;       /* the stream's offset in the file, for messages */
        bool seekable;
        uint8_t *buf;        /* fd: read-ahead */
        size_t buf_len, buf_off;
} NvQemuReader;

#define NV_QEMU_READ_AHEAD 65536u

void nv_qemu_reader_mem(NvQemuReader *r, const uint8_t *mem, size_t len, uint64_t base);
int nv_qemu_reader_fd(NvQemuReader *r, int fd, bool seekable, uint64_t base);
void nv_qemu_reader_done(NvQemuReader *r);

/* Exactly n bytes, or -EBADMSG naming where the stream ended. */
int nv_qemu_read(NvQemuReader *r, void *p, size_t n, NvError **reterr);
int nv_qemu_skip(NvQemuReader *r, uint64_t n, NvError **reterr);
/* The next byte without consuming it: 1, or 0 at the end of the input. */
int nv_qemu_peek(NvQemuReader *r, uint8_t *ret, NvError **reterr);
int nv_qemu_read_u8(NvQemuReader *r, uint8_t *ret, NvError **reterr);
int nv_qemu_read_be32(NvQemuReader *r, uint32_t *ret, NvError **reterr);
int nv_qemu_read_be64(NvQemuReader *r, uint64_t *ret, NvError **reterr);
/* A u8 length and that many bytes as a NUL-terminated string (ret has 256 bytes). */
int nv_qemu_read_str8(NvQemuReader *r, char ret[256], NvError **reterr);
/* Everything left, at most max bytes (-EFBIG beyond). */
int nv_qemu_read_rest(NvQemuReader *r, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr);

/* The stream from r's position (its magic first) into img. */
int nv_qemu_stream_parse(NvQemuReader *r, NvQemuImage *img, NvError **reterr);

/* The device sections after the RAM, with the layout description at their end: tail[0] is the first section's type byte. */
int nv_qemu_devices_parse(const uint8_t *tail, size_t len, uint64_t base, NvQemuImage *img, NvError **reterr);

/* One field of a `cpu` section, by the name of the description it is in and its own name. */
int nv_qemu_cpu_field(NvQemuVcpu *v, const char *vmsd, const char *field, const uint8_t *p, size_t n, uint64_t off,
                      NvError **reterr);
/* After the whole `cpu` section: rebuild the blob and QEMU's own load checks. */
int nv_qemu_cpu_finish(NvQemuVcpu *v, NvError **reterr);

static inline uint16_t nv_be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}
static inline uint32_t nv_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
static inline uint64_t nv_be64(const uint8_t *p) {
        return (uint64_t) nv_be32(p) << 32 | nv_be32(p + 4);
}
