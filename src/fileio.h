/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and durably writing whole files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

/*
 * Reads all of path (at most max bytes) into a new buffer.  Refuses a
 * symlink (O_NOFOLLOW), anything but a regular file, and files larger than
 * max.  Returns 0 and *ret / *ret_len.
 */
int nv_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr);

/*
 * Replaces path with data, durably: a temporary file in the same directory
 * (mode 0600), fsync, rename over path, fsync of the directory.  Until the
 * rename the previous file is untouched, and a failure removes the
 * temporary file.  Refuses if path is a symlink or not a regular file.
 */
int nv_file_write_atomic(const char *path, const void *data, size_t len, NvError **reterr);

/*
 * nv_file_write_atomic() without its two fsyncs: the file is in place
 * (the previous one replaced by the rename) but not durable until the
 * caller syncs its filesystem (nv_fs_sync_fd()).  For many files made
 * durable in one step; nothing may refer to the file before that step.
 */
int nv_file_write_staged(const char *path, const void *data, size_t len, NvError **reterr);

/*
 * syncfs() of the filesystem fd is on (the directory dir, opened before
 * the files were written, or -errno if it could not be): every file
 * written there so far, data and names, is durable.  syncfs() reports
 * a write-back error of the filesystem only to a file description opened
 * before the error (Linux 5.8 and later; earlier ones report none), and
 * only once to each.  dir names it in the error.
 */
int nv_fs_sync_fd(int fd, const char *dir, NvError **reterr);
