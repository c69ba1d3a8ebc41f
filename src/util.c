/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <unistd.h>

#include "util.h"

static int digit_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return 99;
}

int nv_parse_unsigned(const char *s, unsigned base, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        bool too_big = false;

        if (!s || !*s || base < 2 || base > 16)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                int d = digit_value(*p);

                if (d >= (int) base)
                        return -EINVAL;
                /* Keep reading after an overflow: "99999999999999999999x" is not a number at all. */
                if (v > (UINT64_MAX - (uint64_t) d) / base)
                        too_big = true;
                else
                        v = v * base + (uint64_t) d;
        }
        if (too_big || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int nv_loop_write(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

uint64_t nv_now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
