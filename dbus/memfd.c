/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealed memfds: the one way nested state crosses the D-Bus boundary. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "macro.h"
#include "util.h"
#include "vmm-protocol.h"

#define SEALS_REQUIRED (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)

int nv_memfd_seal_new(const void *data, size_t len, int *ret_fd, NvError **reterr) {
        _cleanup_close_ int fd = memfd_create("nestvirt-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        int r;

        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot create a memfd: %s"), strerror(errno));
        /* write(), not a shared mapping: F_SEAL_WRITE fails while one exists. */
        r = nv_loop_write(fd, data, len);
        if (r < 0)
                return nv_error_set(reterr, r, _("Cannot fill the memfd: %s"), strerror(-r));
        if (fcntl(fd, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_SEAL) < 0)
                return nv_error_set(reterr, -errno, _("Cannot seal the memfd: %s"), strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* A memfd someone else sealed: its seals, its size within max and as announced (expect, unless 0). */
static int check_sealed(int fd, size_t max, uint64_t expect, size_t *ret_size, NvError **reterr) {
        struct stat st;
        int seals;

        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & SEALS_REQUIRED) != SEALS_REQUIRED)
                return nv_error_set(reterr, -EPERM, _("The state fd is not a sealed memfd (seals 0x%x): it could change while it is read."),
                                    seals < 0 ? 0 : seals);
        if (fstat(fd, &st) < 0)
                return nv_error_set(reterr, -errno, _("Cannot stat the state memfd: %s"), strerror(errno));
        if ((uint64_t) st.st_size > max)
                return nv_error_set(reterr, -EFBIG, _("The state memfd is %lld bytes, more than the %zu allowed."),
                                    (long long) st.st_size, max);
        if (expect && (uint64_t) st.st_size != expect)
                return nv_error_set(reterr, -EBADMSG, _("The state memfd is %lld bytes but %llu were announced."),
                                    (long long) st.st_size, (unsigned long long) expect);
        *ret_size = (size_t) st.st_size;
        return 0;
}

int nv_memfd_read_sealed(int fd, size_t max, uint64_t expect, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t done = 0, size = 0;
        int r;

        r = check_sealed(fd, max, expect, &size, reterr);
        if (r < 0)
                return r;
        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        while (done < size) {
                ssize_t n = pread(fd, buf + done, size - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return nv_error_set(reterr, n < 0 ? -errno : -EIO, _("Cannot read the state memfd."));
                done += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = done;
        return 0;
}

int nv_memfd_map_new(size_t cap, size_t expect, NvMemfdMap *ret, NvError **reterr) {
        _cleanup_close_ int fd = memfd_create("nestvirt-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        void *p;

        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot create a memfd: %s"), strerror(errno));
        if (ftruncate(fd, (off_t) cap) < 0)
                return nv_error_set(reterr, -errno, _("Cannot size the memfd: %s"), strerror(errno));
        p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return nv_error_set(reterr, -errno, _("Cannot map the memfd: %s"), strerror(errno));
        if (expect > cap)
                expect = cap;
        /* Its pages at once, not one fault each (an optimisation: older kernels refuse, and it does not matter). */
        (void) madvise(p, expect, MADV_POPULATE_WRITE);
        /*
         * And each written once: a page populated but never written still
         * costs a trap at its first write on some virtual machines (about
         * 4 us a page in a PVM guest, docs/performance.md), which is then
         * paid here, before the caller pauses anything, not in the fill.
         */
        for (size_t off = 0; off < expect; off += 4096) /* the smallest x86 page: every page written at least once */
                ((volatile uint8_t *) p)[off] = 0;
        *ret = (NvMemfdMap) { .fd = TAKE_FD(fd), .data = p, .size = cap };
        return 0;
}

int nv_memfd_map_seal(NvMemfdMap *m, size_t len, int *ret_fd, NvError **reterr) {
        /* F_SEAL_WRITE fails while a writable shared mapping exists: unmap first. */
        (void) munmap(m->data, m->size);
        m->data = NULL;
        if (ftruncate(m->fd, (off_t) len) < 0)
                return nv_error_set(reterr, -errno, _("Cannot size the memfd: %s"), strerror(errno));
        if (fcntl(m->fd, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_SEAL) < 0)
                return nv_error_set(reterr, -errno, _("Cannot seal the memfd: %s"), strerror(errno));
        *ret_fd = TAKE_FD(m->fd);
        return 0;
}

int nv_memfd_map_sealed(int fd, size_t max, uint64_t expect, NvMemfdMap *ret, NvError **reterr) {
        size_t size = 0;
        void *p;
        int r;

        r = check_sealed(fd, max, expect, &size, reterr);
        if (r < 0)
                return r;
        if (size == 0)
                return nv_error_set(reterr, -EBADMSG, _("The state memfd is empty."));
        /* Its page tables filled at once: a fault per page costs more than the bytes (docs/performance.md). */
        p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED)
                return nv_error_set(reterr, -errno, _("Cannot map the state memfd: %s"), strerror(errno));
        *ret = (NvMemfdMap) { .fd = -1, .data = p, .size = size };
        return 0;
}

void nv_memfd_map_clear(NvMemfdMap *m) {
        if (m->data)
                (void) munmap(m->data, m->size);
        safe_close(m->fd);
        *m = NV_MEMFD_MAP_NULL;
}
