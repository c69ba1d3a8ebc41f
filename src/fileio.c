/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file I/O: bounded reads, atomic durable replacement. */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "util.h"

int nv_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t done = 0;

        /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, before the regular-file check below. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return nv_error_set(reterr, -errno, errno == ELOOP ? _("'%s' is a symbolic link; refusing to follow it.")
                                                                   : _("Cannot open '%s': %s"), path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return nv_error_set(reterr, -errno, _("Cannot stat '%s': %s"), path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return nv_error_set(reterr, -EINVAL, _("'%s' is not a regular file."), path);
        if ((uint64_t) st.st_size > max)
                return nv_error_set(reterr, -EFBIG, _("'%s' is %lld bytes, more than the %zu this file type may have."),
                                    path, (long long) st.st_size, max);
        buf = malloc(st.st_size ? (size_t) st.st_size : 1);
        if (!buf)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return nv_error_set(reterr, -errno, _("Cannot read '%s': %s"), path, strerror(errno));
                if (n == 0)
                        return nv_error_set(reterr, -EIO, _("'%s' shrank while it was read."), path);
                done += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = done;
        return 0;
}

static int fsync_dir_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -1;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

/* durable: fsync of the file before the rename and of the directory after it; else the caller's sync does that. */
static int write_atomic(const char *path, const void *data, size_t len, bool durable, NvError **reterr) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
                return nv_error_set(reterr, -EEXIST, S_ISLNK(st.st_mode) ? _("'%s' is a symbolic link; refusing to replace it.")
                                                                      : _("'%s' exists and is not a regular file."), path);
        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot create a temporary file next to '%s': %s"), path, strerror(errno));
        r = nv_loop_write(fd, data, len);
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return nv_error_set(reterr, r, _("Cannot write '%s': %s"), path, strerror(-r));
        }
        r = durable ? fsync_dir_of(path) : 0;
        if (r < 0)
                return nv_error_set(reterr, r, _("Wrote '%s' but could not make its directory entry durable: %s"), path,
                                    strerror(-r));
        return 0;
}

int nv_file_write_atomic(const char *path, const void *data, size_t len, NvError **reterr) {
        return write_atomic(path, data, len, /* durable= */ true, reterr);
}

int nv_file_write_staged(const char *path, const void *data, size_t len, NvError **reterr) {
        return write_atomic(path, data, len, /* durable= */ false, reterr);
}

int nv_fs_sync_fd(int fd, const char *dir, NvError **reterr) {
        if (fd < 0 || syncfs(fd) < 0)
                return nv_error_set(reterr, fd < 0 ? fd : -errno, _("Cannot flush the filesystem of '%s' to disk: %s"), dir,
                                    strerror(fd < 0 ? -fd : errno));
        return 0;
}
