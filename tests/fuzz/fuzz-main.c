/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzz target over files and directories, for builds without
 * libFuzzer: the seed corpus and every crash reproducer become plain
 * regression tests.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        uint8_t *buf = NULL;
        size_t len;

        if (nv_file_read(path, 64u << 20, &buf, &len, NULL) < 0) {
                fprintf(stderr, "cannot read %s\n", path);
                return -1;
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 1;
}

static int run_path(const char *path) {
        struct stat st;
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (stat(path, &st) < 0)
                return -1;
        if (!S_ISDIR(st.st_mode))
                return run_file(path);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char sub[4096];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                n += run_file(sub) > 0;
        }
        closedir(d);
        return n;
}

int main(int argc, char **argv) {
        int total = 0;

        for (int i = 1; i < argc; i++) {
                int n = run_path(argv[i]);
                if (n < 0) {
                        fprintf(stderr, "cannot read %s\n", argv[i]);
                        return EXIT_FAILURE;
                }
                total += n;
        }
        printf("%d inputs ran\n", total);
        return total > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
