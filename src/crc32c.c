/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C: the crc32 instruction where the CPU has SSE 4.2 (three streams
 * at once: about 8 bytes a cycle), else slicing by 8 over tables built once.  Both give
 * the same value; test-util checks them against the published vectors.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;

                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
                table[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
                for (int t = 1; t < 8; t++)
                        table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/* Little-endian only where it matters: the 8-byte step reads the bytes in memory order. */
static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t len) {
        (void) pthread_once(&table_once, table_init);
        for (; len >= 8; p += 8, len -= 8) {
                uint32_t lo = c ^ (p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);

                c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
                    table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        }
        while (len--)
                c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
        return c;
}

#if defined(__x86_64__)
/*
 * The crc32 instruction has a latency of 3 cycles but takes one every
 * cycle: three independent streams over three consecutive blocks, then
 * the first two shifted over the zeros that follow them and combined
 * (CRCs are linear).  The method of Mark Adler's crc32c.c.
 */
#define SHORT 256u
#define LONG 8192u

static uint32_t shift_short[4][256], shift_long[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* GF(2): matrix times vector, and matrix squared (32 x 32 bits). */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
        uint32_t sum = 0;

        for (; vec; vec >>= 1, mat++)
                if (vec & 1)
                        sum ^= *mat;
        return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
        for (int n = 0; n < 32; n++)
                square[n] = gf2_times(mat, mat[n]);
}

/* The operator that feeds len zero bytes (a power of two) through a CRC register. */
static void zeros_op(uint32_t *even, size_t len) {
        uint32_t odd[32], row = 1;

        odd[0] = POLY; /* one zero bit */
        for (int n = 1; n < 32; n++, row <<= 1)
                odd[n] = row;
        gf2_square(even, odd); /* two bits */
        gf2_square(odd, even); /* four */
        do {
                gf2_square(even, odd); /* one byte first, then doubling */
                len >>= 1;
                if (!len)
                        return;
                gf2_square(odd, even);
                len >>= 1;
        } while (len);
        memcpy(even, odd, sizeof(odd));
}

static void zeros_table(uint32_t t[4][256], size_t len) {
        uint32_t op[32];

        zeros_op(op, len);
        for (uint32_t n = 0; n < 256; n++)
                for (int k = 0; k < 4; k++)
                        t[k][n] = gf2_times(op, n << (8 * k));
}

static void shift_init(void) {
        zeros_table(shift_short, SHORT);
        zeros_table(shift_long, LONG);
}

static uint32_t shift(uint32_t t[4][256], uint32_t c) {
        return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

static uint64_t load64(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, 8);
        return v;
}

/* Three streams over 3 * block bytes at *p; returns the combined register. */
__attribute__((target("sse4.2"))) static uint32_t three_way(uint32_t c, const uint8_t **p, size_t block, uint32_t t[4][256]) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        const uint8_t *q = *p, *end = q + block;

        for (; q < end; q += 8) {
                c0 = __builtin_ia32_crc32di(c0, load64(q));
                c1 = __builtin_ia32_crc32di(c1, load64(q + block));
                c2 = __builtin_ia32_crc32di(c2, load64(q + 2 * block));
        }
        *p += 3 * block;
        c = shift(t, (uint32_t) c0) ^ (uint32_t) c1;
        return shift(t, c) ^ (uint32_t) c2;
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t len) {
        uint64_t c64;

        (void) pthread_once(&shift_once, shift_init);
        for (; len >= 3 * LONG; len -= 3 * LONG)
                c = three_way(c, &p, LONG, shift_long);
        for (; len >= 3 * SHORT; len -= 3 * SHORT)
                c = three_way(c, &p, SHORT, shift_short);
        c64 = c;
        for (; len >= 8; p += 8, len -= 8)
                c64 = __builtin_ia32_crc32di(c64, load64(p));
        c = (uint32_t) c64;
        while (len--)
                c = __builtin_ia32_crc32qi(c, *p++);
        return c;
}
#endif

uint32_t nv_crc32c(uint32_t crc, const void *buf, size_t len) {
        uint32_t c = ~crc;

#if defined(__x86_64__)
        if (__builtin_cpu_supports("sse4.2"))
                return ~crc_sse42(c, buf, len);
#endif
        return ~crc_table(c, buf, len);
}

uint32_t nv_crc32c_portable(uint32_t crc, const void *buf, size_t len) {
        return ~crc_table(~crc, buf, len);
}
