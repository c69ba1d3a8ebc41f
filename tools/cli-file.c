/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading what the file commands take: a snapshot or a raw blob. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli-file.h"
#include "fileio.h"

int cli_read_file(const char *path, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        _cleanup_free_ char *real = NULL;

        /*
         * Only reading: a symlink is as good as its target (the write paths
         * keep refusing them).  nv_file_read() refuses links, so give it the
         * resolved name; a dangling link is left to it to report.
         */
        real = realpath(path, NULL);
        return nv_file_read(real ?: path, NV_SNAPSHOT_MAX_SIZE, ret, ret_len, reterr);
}

int cli_parse_state(const char *path, const uint8_t *buf, size_t len, NvSnapshot **ret, bool *ret_raw, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        NvBlob blob;
        int r;

        if (nv_snapshot_is_snapshot(buf, len)) {
                r = nv_snapshot_parse(buf, len, &s, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, "%s", path);
                *ret_raw = false;
                *ret = TAKE_PTR(s);
                return 0;
        }
        r = nv_raw_blob_check(buf, len, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("%s is neither a snapshot nor a raw blob"), path);
        s = nv_snapshot_new(nv_blob_format(buf, len));
        if (!s)
                return -ENOMEM;
        blob = (NvBlob) { .data = (uint8_t *) buf, .len = len };
        r = nv_snapshot_add(s, 0, &blob, reterr);
        if (r < 0)
                return r;
        *ret_raw = true;
        *ret = TAKE_PTR(s);
        return 0;
}

int cli_load_state_file(const char *path, NvSnapshot **ret, bool *ret_raw, NvError **reterr) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        int r;

        r = cli_read_file(path, &buf, &len, reterr);
        if (r < 0)
                return r;
        return cli_parse_state(path, buf, len, ret, ret_raw, reterr);
}

int cli_refuse_existing(const char *path, bool force, NvError **reterr) {
        struct stat st;

        if (force || lstat(path, &st) < 0)
                return 0;
        return nv_error_set(reterr, -EEXIST, _("'%s' exists; give --force to replace it."), path);
}
