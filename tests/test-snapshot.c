/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot files: round trip, durable replacement, and the corpus of
 * crafted bad files in tests/data/snapshots/ with the message expected for
 * each (expected.txt).  NESTVIRT_TEST_REGENERATE=1 rewrites the corpus from
 * the mutations below.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "fileio.h"
#include "helpers.h"
#include "snapshot.h"

static const char *data_dir;

/* A snapshot of a 3-vCPU SVM VM: vCPUs 0 and 2 in L2, vCPU 1 idle. */
static NvSnapshot *make_snapshot(void) {
        NvSnapshot *s = nv_snapshot_new(NV_FORMAT_SVM);
        NvBlob b = {};
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 3);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 0, false), 0);
        assert_int_equal(nv_sim_vcpu_enter_l2(vm.sim, 2, false), 0);
        for (unsigned i = 0; i < 3; i++) {
                assert_true(nv_vcpu_get_nested(vm.vcpus[i], true, &b, NULL) >= 0);
                assert_int_equal(nv_snapshot_add(s, i, &b, NULL), 0);
                nv_blob_clear(&b);
        }
        s->cap_nested_state = NV_SVM_MAX_SIZE;
        s->host_cpu_vendor = NV_FORMAT_SVM;
        s->created_usec = 1700000000000000ull;
        snprintf(s->kernel_release, sizeof(s->kernel_release), "6.1.0-28-cloud-amd64");
        snprintf(s->cpu_model, sizeof(s->cpu_model), "AMD EPYC 7B13 64-Core Processor");
        test_vm_free(&vm);
        return s;
}

static void test_round_trip(void **state) {
        NvSnapshot *a = make_snapshot(), *b = NULL;
        uint8_t *buf = NULL, *buf2 = NULL;
        size_t len, len2;

        assert_int_equal(nv_snapshot_serialize(a, &buf, &len, NULL), 0);
        assert_int_equal(nv_snapshot_parse(buf, len, &b, NULL), 0);
        assert_int_equal(b->n_vcpus, 3);
        assert_int_equal(b->vcpus[1].blob.len, NV_NESTED_HDR_SIZE);
        assert_int_equal(b->vcpus[2].blob.len, NV_SVM_MAX_SIZE);
        assert_memory_equal(a->vcpus[2].blob.data, b->vcpus[2].blob.data, NV_SVM_MAX_SIZE);
        assert_string_equal(b->kernel_release, "6.1.0-28-cloud-amd64");
        assert_int_equal(b->created_usec, 1700000000000000ull);
        assert_int_equal(nv_snapshot_serialize(b, &buf2, &len2, NULL), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        nv_snapshot_free(a);
        nv_snapshot_free(b);
}

/*
 * The backend that saved a snapshot travels in the header (offset 60, once
 * reserved): the simulator's host facts say "simulated", and a file written
 * before the field existed reads as unrecorded.
 */
static void test_backend_marked(void **state) {
        NvSnapshot *s = make_snapshot(), *back = NULL;
        char path[4096];
        NvHostInfo h;
        uint8_t *buf = NULL;
        size_t len;
        TestVm vm;

        test_vm_new_vendor(&vm, NV_FORMAT_SVM, 1);
        assert_int_equal(nv_host_probe("/nonexistent", vm.kvm, &h, NULL), 0);
        test_vm_free(&vm);
        nv_snapshot_stamp(s, &h);
        assert_int_equal(s->backend, NV_SNAPSHOT_BACKEND_SIMULATED);
        assert_string_equal(s->kernel_release, "simulated");
        assert_int_equal(nv_snapshot_serialize(s, &buf, &len, NULL), 0);
        assert_int_equal(get_le32(buf + 60), NV_SNAPSHOT_BACKEND_SIMULATED);
        assert_int_equal(nv_snapshot_parse(buf, len, &back, NULL), 0);
        assert_string_equal(nv_snapshot_backend_to_string(back->backend), "simulated");
        back = nv_snapshot_free(back);
        free(buf);
        h.backend = "kvm";
        nv_snapshot_stamp(s, &h);
        assert_string_equal(nv_snapshot_backend_to_string(s->backend), "kvm");
        nv_snapshot_free(s);
        snprintf(path, sizeof(path), "%s/good.nvstate", data_dir);
        assert_int_equal(nv_snapshot_read(path, &back, NULL), 0);
        assert_int_equal(back->backend, NV_SNAPSHOT_BACKEND_UNRECORDED);
        assert_null(nv_snapshot_backend_to_string(back->backend));
        nv_snapshot_free(back);
}

static void test_add_refuses(void **state) {
        NvSnapshot *s = make_snapshot();
        NvError *err = NULL;
        NvBlob copy = s->vcpus[0].blob;

        assert_int_equal(nv_snapshot_add(s, 1, &copy, &err), -EINVAL); /* not ascending */
        assert_non_null(strstr(err->message, "ascending"));
        err = nv_error_free(err);
        copy.len = 200; /* header says 4224 */
        assert_int_equal(nv_snapshot_add(s, 9, &copy, &err), -EINVAL);
        assert_non_null(strstr(err->message, "says 4224 bytes"));
        nv_error_free(err);
        nv_snapshot_free(s);
}

static void test_write_durable(void **state) {
        char dir[] = "/tmp/nestvirt-test-XXXXXX", path[256], link[256];
        NvSnapshot *s = make_snapshot(), *back = NULL, empty = { .vendor = NV_FORMAT_SVM };
        NvError *err = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/vm.nvstate", dir);
        assert_int_equal(nv_snapshot_write(path, s, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* A failed write (nothing to write) leaves the previous file as it was. */
        assert_true(nv_snapshot_write(path, &empty, &err) < 0);
        err = nv_error_free(err);
        assert_int_equal(nv_snapshot_read(path, &back, NULL), 0);
        assert_int_equal(back->n_vcpus, 3);
        back = nv_snapshot_free(back);
        /* Symlinks are refused for reading and for replacing. */
        snprintf(link, sizeof(link), "%s/link.nvstate", dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(nv_snapshot_read(link, &back, &err), -ELOOP);
        assert_non_null(strstr(err->message, "symbolic link"));
        err = nv_error_free(err);
        assert_int_equal(nv_snapshot_write(link, s, &err), -EEXIST);
        err = nv_error_free(err);
        assert_int_equal(unlink(link), 0);
        /* So is a FIFO, at once: the hook reads paths that come with a domain's XML. */
        snprintf(link, sizeof(link), "%s/fifo.nvstate", dir);
        assert_int_equal(mkfifo(link, 0600), 0);
        assert_int_equal(nv_snapshot_read(link, &back, &err), -EINVAL);
        assert_non_null(strstr(err->message, "not a regular file"));
        err = nv_error_free(err);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
        nv_snapshot_free(s);
}

/* The crafted bad files: a mutation of the good image and the message it must give. */
typedef struct BadFile {
        const char *name;
        size_t off;    /* where to write */
        int width;     /* 0: truncate to off bytes; 1, 2, 4, 8: write value; -1: flip bit 0 of the byte */
        uint64_t value;
        const char *expect;
} BadFile;

#define ENTRY(i, field) (192 + 48 * (i) + (field))
static const BadFile bad_files[] = {
        { "truncated.nvstate", 100, 0, 0, "Snapshot is truncated: 100 bytes" },
        { "bad-magic.nvstate", 0, 1, 'X', "bad magic at offset 0" },
        { "version-9.nvstate", 8, 4, 9, "version 9 (offset 8) is not supported" },
        { "cut-short.nvstate", 4000, 0, 0, "but it has 4000: it was truncated or appended to" },
        { "header-size.nvstate", 12, 4, 5, "Header size 5 (offset 12) is out of bounds" },
        { "flags.nvstate", 16, 4, 1, "Unknown snapshot flags 0x1 at offset 16" },
        { "vendor-7.nvstate", 20, 2, 7, "Unknown vendor 7 at offset 20" },
        { "vcpu-count-0.nvstate", 24, 4, 0, "vCPU count 0 (offset 24)" },
        { "vcpu-count-huge.nvstate", 24, 4, 100000, "vCPU count 100000 (offset 24)" },
        { "table-out-of-bounds.nvstate", 48, 8, 1ull << 40, "The entry table (offset 1099511627776, 3 entries) lies outside" },
        { "entry-size.nvstate", ENTRY(1, 4), 4, 9000, "Entry 1 (vCPU 1): blob size 9000 is not between 128 and 8320" },
        { "entry-offset.nvstate", ENTRY(2, 8), 8, 1ull << 62, "Entry 2 (vCPU 2): blob bytes" },
        { "entry-overlap.nvstate", ENTRY(1, 8), 8, 336, "Entry 1 (vCPU 1): blob at offset 336 overlaps the previous one" },
        { "index-order.nvstate", ENTRY(1, 0), 4, 0, "vCPU 0 comes after vCPU 0" },
        { "blob-bitflip.nvstate", 5000, -1, 0, "Checksum mismatch for vCPU 2 (bytes 4688..8912)" },
        { "vendor-mismatch.nvstate", 20, 2, 0, "vCPU 0 holds svm state but the snapshot is vmx" },
        { "header-tamper.nvstate", 64, 1, 'X', "File checksum mismatch (bytes 0..8912)" },
};

static void mutate(const BadFile *f, uint8_t *img, size_t *len) {
        switch (f->width) {
        case 0:
                *len = f->off;
                break;
        case -1:
                img[f->off] ^= 1;
                break;
        case 1:
                img[f->off] = (uint8_t) f->value;
                break;
        case 2:
                put_le16(img + f->off, (uint16_t) f->value);
                break;
        case 4:
                put_le32(img + f->off, (uint32_t) f->value);
                break;
        default:
                put_le64(img + f->off, f->value);
                break;
        }
}

static void write_file(const char *name, const uint8_t *buf, size_t len) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", data_dir, name);
        assert_int_equal(nv_file_write_atomic(path, buf, len, NULL), 0);
}

/* Rewrites the corpus and expected.txt (NESTVIRT_TEST_REGENERATE=1). */
static void regenerate(void) {
        NvSnapshot *s = make_snapshot();
        uint8_t *good, *img;
        size_t len, n;
        char path[4096];
        FILE *f;

        assert_int_equal(nv_snapshot_serialize(s, &good, &len, NULL), 0);
        write_file("good.nvstate", good, len);
        snprintf(path, sizeof(path), "%s/expected.txt", data_dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "# file<TAB>the message the reader must give (generated by test-snapshot)\n");
        for (size_t i = 0; i < ELEMENTSOF(bad_files); i++) {
                img = malloc(len);
                memcpy(img, good, len);
                n = len;
                mutate(&bad_files[i], img, &n);
                write_file(bad_files[i].name, img, n);
                fprintf(f, "%s\t%s\n", bad_files[i].name, bad_files[i].expect);
                free(img);
        }
        fclose(f);
        free(good);
        nv_snapshot_free(s);
}

static void test_bad_corpus(void **state) {
        char path[4096], line[1024];
        unsigned checked = 0;
        FILE *f;

        if (getenv("NESTVIRT_TEST_REGENERATE"))
                regenerate();
        snprintf(path, sizeof(path), "%s/expected.txt", data_dir);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t'), file[4096];
                NvSnapshot *s = NULL;
                NvError *err = NULL;

                if (line[0] == '#' || !tab)
                        continue;
                *tab = '\0';
                tab[1 + strcspn(tab + 1, "\n")] = '\0';
                snprintf(file, sizeof(file), "%s/%s", data_dir, line);
                assert_true(nv_snapshot_read(file, &s, &err) < 0);
                if (!strstr(err->message, tab + 1))
                        print_error("%s: got '%s', want '%s'\n", line, err->message, tab + 1);
                assert_non_null(strstr(err->message, tab + 1));
                nv_error_free(err);
                checked++;
        }
        fclose(f);
        assert_int_equal(checked, ELEMENTSOF(bad_files));
        snprintf(path, sizeof(path), "%s/good.nvstate", data_dir);
        {
                NvSnapshot *s = NULL;
                assert_int_equal(nv_snapshot_read(path, &s, NULL), 0);
                nv_snapshot_free(s);
        }
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_backend_marked),
                cmocka_unit_test(test_add_refuses),
                cmocka_unit_test(test_write_durable),
                cmocka_unit_test(test_bad_corpus),
        };

        data_dir = argc > 1 ? argv[1] : "tests/data/snapshots";
        return cmocka_run_group_tests_name("snapshot files", tests, NULL, NULL);
}
