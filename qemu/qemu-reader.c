/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The byte source of the QEMU reader: memory, a file or a pipe, every read bounded. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "qemu-private.h"

void nv_qemu_reader_mem(NvQemuReader *r, const uint8_t *mem, size_t len, uint64_t base) {
        *r = (NvQemuReader) { .fd = -1, .mem = mem, .mem_len = len, .base = base };
}

int nv_qemu_reader_fd(NvQemuReader *r, int fd, bool seekable, uint64_t base) {
        *r = (NvQemuReader) { .fd = fd, .base = base, .seekable = seekable };
        r->buf = malloc(NV_QEMU_READ_AHEAD);
        return r->buf ? 0 : -ENOMEM;
}

void nv_qemu_reader_done(NvQemuReader *r) {
        free(r->buf);
        r->buf = NULL;
}

static int ended(const NvQemuReader *r, size_t want, NvError **reterr) {
        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream ends at offset 0x%llx, %zu more bytes were expected."),
                            (unsigned long long) (r->base + r->pos), want);
}

/* Refills the read-ahead; 0 at the end of the input. */
static ssize_t refill(NvQemuReader *r, NvError **reterr) {
        ssize_t n;

        do
                n = read(r->fd, r->buf, NV_QEMU_READ_AHEAD);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return nv_error_set(reterr, -errno, _("Cannot read the QEMU stream at offset 0x%llx: %s"),
                                    (unsigned long long) (r->base + r->pos), strerror(errno));
        r->buf_len = (size_t) n;
        r->buf_off = 0;
        return n;
}

/* n bytes from the read-ahead and the descriptor behind it, copied to out unless out is NULL (skipped). */
static int consume(NvQemuReader *r, uint8_t *out, uint64_t n, NvError **reterr) {
        while (n > 0) {
                size_t k;

                if (r->buf_off == r->buf_len) {
                        ssize_t got = refill(r, reterr);
                        if (got < 0)
                                return (int) got;
                        if (got == 0)
                                return ended(r, (size_t) MIN(n, SIZE_MAX), reterr);
                }
                k = (size_t) MIN(n, (uint64_t) (r->buf_len - r->buf_off));
                if (out) {
                        memcpy(out, r->buf + r->buf_off, k);
                        out += k;
                }
                r->buf_off += k;
                r->pos += k;
                n -= k;
        }
        return 0;
}

int nv_qemu_read(NvQemuReader *r, void *p, size_t n, NvError **reterr) {
        if (r->fd >= 0)
                return consume(r, p, n, reterr);
        if (n > r->mem_len - r->pos)
                return ended(r, n, reterr);
        memcpy(p, r->mem + r->pos, n);
        r->pos += n;
        return 0;
}

int nv_qemu_skip(NvQemuReader *r, uint64_t n, NvError **reterr) {
        if (r->fd < 0) {
                if (n > r->mem_len - r->pos)
                        return ended(r, (size_t) MIN(n, SIZE_MAX), reterr);
                r->pos += n;
                return 0;
        }
        if (r->seekable && n > r->buf_len - r->buf_off) {
                /* Past the read-ahead: seek; reading past the end shows at the next read. */
                uint64_t beyond = n - (r->buf_len - r->buf_off);
                if (beyond > INT64_MAX || lseek(r->fd, (off_t) beyond, SEEK_CUR) < 0)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream cannot skip %llu bytes at offset 0x%llx."),
                                            (unsigned long long) n, (unsigned long long) (r->base + r->pos));
                r->buf_off = r->buf_len = 0;
                r->pos += n;
                return 0;
        }
        return consume(r, NULL, n, reterr);
}

int nv_qemu_peek(NvQemuReader *r, uint8_t *ret, NvError **reterr) {
        if (r->fd < 0) {
                if (r->pos >= r->mem_len)
                        return 0;
                *ret = r->mem[r->pos];
                return 1;
        }
        if (r->buf_off == r->buf_len) {
                ssize_t got = refill(r, reterr);
                if (got <= 0)
                        return (int) got;
        }
        *ret = r->buf[r->buf_off];
        return 1;
}

int nv_qemu_read_u8(NvQemuReader *r, uint8_t *ret, NvError **reterr) {
        return nv_qemu_read(r, ret, 1, reterr);
}

int nv_qemu_read_be32(NvQemuReader *r, uint32_t *ret, NvError **reterr) {
        uint8_t b[4];
        int k = nv_qemu_read(r, b, sizeof(b), reterr);

        if (k >= 0)
                *ret = nv_be32(b);
        return k;
}

int nv_qemu_read_be64(NvQemuReader *r, uint64_t *ret, NvError **reterr) {
        uint8_t b[8];
        int k = nv_qemu_read(r, b, sizeof(b), reterr);

        if (k >= 0)
                *ret = nv_be64(b);
        return k;
}

int nv_qemu_read_str8(NvQemuReader *r, char ret[256], NvError **reterr) {
        uint8_t n;
        int k;

        k = nv_qemu_read_u8(r, &n, reterr);
        if (k < 0)
                return k;
        k = nv_qemu_read(r, ret, n, reterr);
        if (k < 0)
                return k;
        ret[n] = '\0';
        return 0;
}

int nv_qemu_read_rest(NvQemuReader *r, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t len = 0, cap = 0;

        if (r->fd < 0) {
                len = r->mem_len - (size_t) r->pos;
                if (len > max)
                        goto too_big;
                out = malloc(len ?: 1);
                if (!out)
                        return -ENOMEM;
                memcpy(out, r->mem + r->pos, len);
                r->pos += len;
                *ret = TAKE_PTR(out);
                *ret_len = len;
                return 0;
        }
        for (;;) {
                size_t k = r->buf_len - r->buf_off;

                if (k == 0) {
                        ssize_t got = refill(r, reterr);
                        if (got < 0)
                                return (int) got;
                        if (got == 0)
                                break;
                        continue;
                }
                if (k > max - len)
                        goto too_big;
                if (len + k > cap) {
                        size_t ncap = MAX(cap * 2, len + k);
                        uint8_t *n = realloc(out, MIN(ncap, max));
                        if (!n)
                                return -ENOMEM;
                        out = n;
                        cap = MIN(ncap, max);
                }
                memcpy(out + len, r->buf + r->buf_off, k);
                len += k;
                r->pos += k;
                r->buf_off = r->buf_len;
        }
        *ret = TAKE_PTR(out);
        *ret_len = len;
        return 0;
too_big:
        return nv_error_set(reterr, -EFBIG, _("The QEMU device state from offset 0x%llx is larger than %zu bytes."),
                            (unsigned long long) (r->base + r->pos), max);
}
