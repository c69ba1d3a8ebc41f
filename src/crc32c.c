/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C: the crc32 instruction where the CPU has SSE 4.2 (about 8 bytes
 * every 3 cycles), else slicing by 8 over tables built once.  Both give
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
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t len) {
        uint64_t c64 = c;

        for (; len >= 8; p += 8, len -= 8) {
                uint64_t v;

                memcpy(&v, p, 8);
                c64 = __builtin_ia32_crc32di(c64, v);
        }
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
