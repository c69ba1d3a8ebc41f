/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <sys/mman.h>
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

bool nv_uuid_shaped(const char *s, size_t n) {
        if (n != 36)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : digit_value(s[i]) > 15)
                        return false;
        return true;
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

#define HUGE_PAGE ((size_t) 2 << 20) /* x86's transparent huge page */

/* size bytes of new anonymous memory, aligned to a huge page when that much is asked for (*ret_size: what was mapped). */
static uint8_t *map_anon(size_t size, size_t *ret_size) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE), span, head;
        uint8_t *p;

        if (size < HUGE_PAGE / 2) {
                /* Small: a huge page would be zeroed whole for a few pages' use. */
                *ret_size = ALIGN_TO(size, page);
                p = mmap(NULL, *ret_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                return p == MAP_FAILED ? NULL : p;
        }
        *ret_size = ALIGN_TO(size, HUGE_PAGE);
        span = *ret_size + HUGE_PAGE;
        p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        /* Aligned to a huge page, so that the kernel can back it with them. */
        head = ALIGN_TO((uintptr_t) p, HUGE_PAGE) - (uintptr_t) p;
        if (head)
                (void) munmap(p, head);
        (void) munmap(p + head + *ret_size, span - head - *ret_size);
        p += head;
        (void) madvise(p, *ret_size, MADV_HUGEPAGE); /* an optimisation: refused where THP is off, and then it does not matter */
        return p;
}

int nv_warm_reserve(NvWarm *w, size_t size, size_t touch) {
        uint8_t *p;

        if (size == 0 || size > SIZE_MAX / 2)
                return -EINVAL;
        p = map_anon(size, &size);
        if (!p)
                return -errno;
        for (size_t off = 0; off < (touch < size ? touch : size); off += 4096) /* the smallest x86 page */
                ((volatile uint8_t *) p)[off] = 0;
        *w = (NvWarm) { .data = p, .size = size };
        return 0;
}

void nv_warm_release(NvWarm *w) {
        if (w->data)
                (void) munmap(w->data, w->size);
        *w = (NvWarm) { 0 };
}

uint64_t nv_now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
