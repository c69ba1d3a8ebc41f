/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading what the file commands take: a snapshot or a raw blob. */
#include <stdlib.h>

#include "cli-file.h"
#include "fileio.h"

int cli_load_state_file(const char *path, NvSnapshot **ret, bool *ret_raw, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        NvBlob blob;
        size_t len;
        int r;

        r = nv_file_read(path, NV_SNAPSHOT_MAX_SIZE, &buf, &len, reterr);
        if (r < 0)
                return r;
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
        blob = (NvBlob) { .data = buf, .len = len };
        r = nv_snapshot_add(s, 0, &blob, reterr);
        if (r < 0)
                return r;
        *ret_raw = true;
        *ret = TAKE_PTR(s);
        return 0;
}
