/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sealed memfds: the one way nested state crosses the D-Bus boundary. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h> /* memfd_create */
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

int nv_memfd_check_sealed(int fd, size_t max, uint64_t expect, size_t *ret_size, NvError **reterr) {
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

int nv_memfd_pread(int fd, void *buf, size_t size, NvError **reterr) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = pread(fd, (uint8_t *) buf + done, size - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return nv_error_set(reterr, n < 0 ? -errno : -EIO, _("Cannot read the state memfd."));
                done += (size_t) n;
        }
        return 0;
}

int nv_memfd_read_sealed(int fd, size_t max, uint64_t expect, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0;
        int r;

        r = nv_memfd_check_sealed(fd, max, expect, &size, reterr);
        if (r < 0)
                return r;
        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        r = nv_memfd_pread(fd, buf, size, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = size;
        return 0;
}
