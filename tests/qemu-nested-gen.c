/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu-nested-gen [--strip-ram] IN OUT BLOB...: the test generator of
 * qemu-gen.c as a program, for the shell tests and the fuzz corpus.  BLOB
 * is a raw struct kvm_nested_state for the next cpu section, or "-" to
 * leave that vCPU without one.  --strip-ram replaces the RAM pages by an
 * empty RAM section, for small fuzz seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "qemu-gen.h"

int main(int argc, char **argv) {
        _cleanup_free_ uint8_t *in = NULL, *out = NULL;
        NvBlob blobs[64] = {};
        size_t len, out_len;
        bool strip = argc > 1 && strcmp(argv[1], "--strip-ram") == 0;
        int r, n;

        argc -= strip;
        argv += strip;
        n = argc - 3;
        if (argc < 4 || n > 64) {
                fprintf(stderr, "usage: qemu-nested-gen IN OUT BLOB|-...\n");
                return 2;
        }
        r = nv_file_read(argv[1], 1u << 30, &in, &len, NULL);
        for (int i = 0; r >= 0 && i < n; i++)
                if (strcmp(argv[3 + i], "-") != 0)
                        r = nv_file_read(argv[3 + i], NV_NESTED_MAX_SIZE, &blobs[i].data, &blobs[i].len, NULL);
        if (r >= 0)
                r = qemu_gen_nested(in, len, blobs, (size_t) n, &out, &out_len);
        if (r >= 0 && strip) {
                _cleanup_free_ uint8_t *small = NULL;
                r = qemu_gen_strip_ram(out, out_len, &small, &len);
                if (r >= 0) {
                        free(out);
                        out = TAKE_PTR(small);
                        out_len = len;
                }
        }
        if (r >= 0)
                r = nv_file_write_atomic(argv[2], out, out_len, NULL);
        for (int i = 0; i < n; i++)
                nv_blob_clear(&blobs[i]);
        if (r < 0) {
                fprintf(stderr, "qemu-nested-gen: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
