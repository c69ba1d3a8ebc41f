/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* src/util.h: the unsigned parser, the string table, loop_write and the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc32c.h"
#include "util.h"

typedef enum Colour {
        COLOUR_RED,
        COLOUR_GREEN,
        COLOUR_BLUE,
        _COLOUR_MAX,
        _COLOUR_INVALID = -EINVAL,
} Colour;

const char *colour_to_string(int v);
int colour_from_string(const char *s);
NV_DEFINE_STRING_TABLE(colour, [COLOUR_RED] = "red", [COLOUR_BLUE] = "blue") /* green: no string */

static void test_parse_unsigned(void **state) {
        static const struct {
                const char *s;
                unsigned base;
                uint64_t max;
                int r;
                uint64_t v;
        } cases[] = {
                { "0", 10, 10, 0, 0 },
                { "10", 10, 10, 0, 10 },
                { "11", 10, 10, -ERANGE, 0 },
                { "007", 10, 10, 0, 7 },
                { "18446744073709551615", 10, UINT64_MAX, 0, UINT64_MAX },
                { "18446744073709551616", 10, UINT64_MAX, -ERANGE, 0 },
                { "99999999999999999999999x", 10, UINT64_MAX, -EINVAL, 0 }, /* not a number, however long */
                { "681e", 16, UINT32_MAX, 0, 0x681e },
                { "681E", 16, UINT32_MAX, 0, 0x681e },
                { "0x681e", 16, UINT32_MAX, -EINVAL, 0 }, /* the caller strips a prefix */
                { "12a", 10, 1000, -EINVAL, 0 },
                { "", 10, 10, -EINVAL, 0 },
                { " 1", 10, 10, -EINVAL, 0 },
                { "1 ", 10, 10, -EINVAL, 0 },
                { "+1", 10, 10, -EINVAL, 0 },
                { "-1", 10, UINT64_MAX, -EINVAL, 0 }, /* strtoul would give UINT64_MAX */
                { "2", 2, 10, -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0x1234;
                int r = nv_parse_unsigned(cases[i].s, cases[i].base, cases[i].max, &v);

                if (r != cases[i].r || v != (r == 0 ? cases[i].v : 0x1234)) /* untouched on failure */
                        fail_msg("'%s' base %u: %d, %#llx", cases[i].s, cases[i].base, r, (unsigned long long) v);
        }
        assert_int_equal(nv_parse_unsigned(NULL, 10, 10, &(uint64_t) { 0 }), -EINVAL);
}

static void test_string_table(void **state) {
        assert_string_equal(colour_to_string(COLOUR_RED), "red");
        assert_string_equal(colour_to_string(COLOUR_BLUE), "blue");
        assert_null(colour_to_string(COLOUR_GREEN));
        assert_null(colour_to_string(_COLOUR_MAX));
        assert_null(colour_to_string(-1));
        assert_int_equal(colour_from_string("blue"), COLOUR_BLUE);
        assert_int_equal(colour_from_string("green"), _COLOUR_INVALID);
        assert_int_equal(colour_from_string(NULL), _COLOUR_INVALID);
}

/* A pipe takes at most its capacity per write once the reader drains slowly: the loop must finish it. */
static void test_loop_write(void **state) {
        static uint8_t out[256 * 1024], in[sizeof(out)];
        int fds[2];
        pid_t pid;
        size_t got = 0;

        for (size_t i = 0; i < sizeof(out); i++)
                out[i] = (uint8_t) (i * 7);
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(fds[0]);
                _exit(nv_loop_write(fds[1], out, sizeof(out)) == 0 ? 0 : 1);
        }
        close(fds[1]);
        while (got < sizeof(in)) {
                ssize_t n = read(fds[0], in + got, sizeof(in) - got);
                assert_true(n > 0);
                got += (size_t) n;
        }
        close(fds[0]);
        assert_memory_equal(in, out, sizeof(out));
        assert_int_equal(nv_loop_write(-1, out, 1), -EBADF);
}

/* UUIDs as libvirt writes them, and near misses. */
static void test_uuid_shaped(void **state) {
        const char *good = "7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5E31";

        assert_true(nv_uuid_shaped(good, strlen(good)));
        assert_true(nv_uuid_shaped("7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e31 and more", 36));
        assert_false(nv_uuid_shaped(good, 35));
        assert_false(nv_uuid_shaped("7b2c8a2e7a31-4c55-9d0e-1a2b3c4d5e31-", 36)); /* a dash out of place */
        assert_false(nv_uuid_shaped("7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5g31", 36));
        assert_false(nv_uuid_shaped("7b2c8a2e7a314c559d0e1a2b3c4d5e31", 32));
        assert_false(nv_uuid_shaped("", 0));
}

/* Warm memory: page-rounded when small, whole huge pages aligned to one from a megabyte on, all of it writable. */
static void test_warm(void **state) {
        NvWarm w = {};

        assert_int_equal(nv_warm_reserve(&w, 0, 0), -EINVAL);
        assert_null(w.data);
        assert_int_equal(nv_warm_reserve(&w, 10000, 10000), 0);
        assert_non_null(w.data);
        assert_true(w.size >= 10000 && w.size % 4096 == 0 && w.size < (1u << 20));
        assert_int_equal(w.data[0], 0);
        memset(w.data, 0x5a, w.size);
        nv_warm_release(&w);
        assert_null(w.data);
        assert_int_equal(w.size, 0);
        assert_int_equal(nv_warm_reserve(&w, (3u << 20) + 1, 1u << 20), 0);
        assert_int_equal(w.size, 4u << 20);
        assert_int_equal((uintptr_t) w.data % (2u << 20), 0);
        memset(w.data, 0x5a, w.size);
        nv_warm_release(&w);
        nv_warm_release(&w); /* twice: nothing left to unmap */
}

static void test_now(void **state) {
        uint64_t a = nv_now_usec(CLOCK_MONOTONIC), b;

        usleep(2000);
        b = nv_now_usec(CLOCK_MONOTONIC);
        assert_true(b >= a + 2000);
        assert_true(nv_now_usec(CLOCK_REALTIME) > 1700000000ull * 1000000u); /* after 2023 */
}

/* CRC-32C against the published check value and RFC 3720's vectors, both paths, whole and in pieces. */
static void test_crc32c(void **state) {
        static uint8_t big[100000];
        uint8_t zeros[32] = {}, ones[32], inc[32];

        memset(ones, 0xff, sizeof(ones));
        for (int i = 0; i < 32; i++)
                inc[i] = (uint8_t) i;
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t) (i * 7 + 3);
        assert_int_equal(nv_crc32c(0, "123456789", 9), 0xe3069283);
        assert_int_equal(nv_crc32c(0, zeros, 32), 0x8a9136aa);
        assert_int_equal(nv_crc32c(0, ones, 32), 0x62a8ab43);
        assert_int_equal(nv_crc32c(0, inc, 32), 0x46dd794e);
        assert_int_equal(nv_crc32c_portable(0, "123456789", 9), 0xe3069283);
        assert_int_equal(nv_crc32c_portable(0, inc, 32), 0x46dd794e);
        assert_int_equal(nv_crc32c(0, "", 0), 0);
        /* Lengths around the three-stream blocks (3 x 256, 3 x 8192), whole and cut in two, odd starts. */
        for (size_t len = 0; len <= sizeof(big); len = len < 2000 ? len + 1 : len * 3 / 2 + 1)
                assert_int_equal(nv_crc32c(0, big, len), nv_crc32c_portable(0, big, len));
        for (size_t cut = 0; cut <= sizeof(big); cut += 3037)
                assert_int_equal(nv_crc32c(nv_crc32c(0, big, cut), big + cut, sizeof(big) - cut), nv_crc32c_portable(0, big, sizeof(big)));
        assert_int_equal(nv_crc32c(0, big + 3, 24576 * 2 + 771), nv_crc32c_portable(0, big + 3, 24576 * 2 + 771));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_unsigned),
                cmocka_unit_test(test_string_table),
                cmocka_unit_test(test_loop_write),
                cmocka_unit_test(test_crc32c),
                cmocka_unit_test(test_uuid_shaped),
                cmocka_unit_test(test_warm),
                cmocka_unit_test(test_now),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
