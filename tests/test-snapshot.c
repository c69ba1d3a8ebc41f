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

/* Entry i's field in a version 2 file of 3 vCPUs: table at 192, 24 bytes an entry, blobs from 264 (4224, 128, 4224 bytes). */
#define ENTRY(i, field) (192 + 24 * (i) + (field))
static const BadFile bad_files[] = {
        { "v2-truncated.nvstate", 100, 0, 0, "Snapshot is truncated: 100 bytes, but the header and checksum alone take 200" },
        { "v2-bad-magic.nvstate", 0, 1, 'X', "bad magic at offset 0" },
        { "v2-version-9.nvstate", 8, 4, 9, "version 9 (offset 8) is not supported" },
        { "v2-cut-short.nvstate", 4000, 0, 0, "but it has 4000: it was truncated or appended to" },
        { "v2-header-size.nvstate", 12, 4, 5, "Header size 5 (offset 12) is out of bounds" },
        { "v2-flags.nvstate", 16, 4, 1, "Unknown snapshot flags 0x1 at offset 16" },
        { "v2-vendor-7.nvstate", 20, 2, 7, "Unknown vendor 7 at offset 20" },
        { "v2-vcpu-count-0.nvstate", 24, 4, 0, "vCPU count 0 (offset 24)" },
        { "v2-vcpu-count-huge.nvstate", 24, 4, 100000, "vCPU count 100000 (offset 24)" },
        { "v2-entry-size-v1.nvstate", 56, 4, 48, "Entry size 48 (offset 56) is not 24" },
        { "v2-table-out-of-bounds.nvstate", 48, 8, 1ull << 40, "The entry table (offset 1099511627776, 3 entries) lies outside" },
        { "v2-blob-size.nvstate", ENTRY(1, 4), 4, 9000, "Entry 1 (vCPU 1): blob size 9000 is not between 128 and 8320" },
        { "v2-entry-offset.nvstate", ENTRY(2, 8), 8, 1ull << 62, "Entry 2 (vCPU 2): blob bytes" },
        { "v2-entry-overlap.nvstate", ENTRY(1, 8), 8, 336, "Entry 1 (vCPU 1): blob at offset 336 overlaps the previous one" },
        { "v2-entry-gap.nvstate", ENTRY(1, 8), 8, 4496, "Entry 1 (vCPU 1): blob at offset 4496, but the previous part ends at 4488" },
        { "v2-entry-reserved.nvstate", ENTRY(0, 20), 4, 1, "Entry 0 (vCPU 0): reserved field at offset 212 is not zero" },
        { "v2-index-order.nvstate", ENTRY(1, 0), 4, 0, "vCPU 0 comes after vCPU 0" },
        { "v2-blob-bitflip.nvstate", 5000, -1, 0, "Checksum mismatch for vCPU 2 (bytes 4616..8840)" },
        { "v2-vendor-mismatch.nvstate", 20, 2, 0, "vCPU 0 holds svm state but the snapshot is vmx" },
        { "v2-header-tamper.nvstate", 64, 1, 'X', "Header checksum mismatch (bytes 0..264)" },
        { "v2-table-tamper.nvstate", ENTRY(2, 16), -1, 0, "Checksum mismatch for vCPU 2" },
        { "v2-trailer-reserved.nvstate", 8844, 4, 1, "The trailer's reserved field (offset 8844) is not zero" },
        { "v2-trailer-bitflip.nvstate", 8840, -1, 0, "Header checksum mismatch (bytes 0..264)" },
};

/* The version 1 files (written by nestvirt before version 2) in expected.txt: kept as they were, no longer generated. */
#define V1_FILES 17

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

/* Rewrites the version 2 corpus and expected-v2.txt (NESTVIRT_TEST_REGENERATE=1). */
static void regenerate(void) {
        NvSnapshot *s = make_snapshot();
        uint8_t *good, *img;
        size_t len, n;
        char path[4096];
        FILE *f;

        assert_int_equal(nv_snapshot_serialize(s, &good, &len, NULL), 0);
        write_file("v2-good.nvstate", good, len);
        snprintf(path, sizeof(path), "%s/expected-v2.txt", data_dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "# version 2 files: file<TAB>the message the reader must give (generated by test-snapshot)\n");
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

/* Every file listed in expected (under data_dir) is refused with its message; returns how many. */
static unsigned check_listed(const char *expected) {
        char path[4096], line[1024];
        unsigned checked = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", data_dir, expected);
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
        return checked;
}

static void test_bad_corpus(void **state) {
        if (getenv("NESTVIRT_TEST_REGENERATE"))
                regenerate();
        assert_int_equal(check_listed("expected.txt"), V1_FILES);
        assert_int_equal(check_listed("expected-v2.txt"), ELEMENTSOF(bad_files));
}

/*
 * Old files still read: the version 1 good file (per-blob SHA-256) gives
 * the same snapshot as the version 2 file written from the same state, and
 * what it serializes to is version 2.
 */
static void test_old_version(void **state) {
        NvSnapshot *v1 = NULL, *v2 = NULL, *again = NULL;
        char path[4096];
        uint8_t *buf = NULL;
        size_t len;

        snprintf(path, sizeof(path), "%s/good.nvstate", data_dir);
        assert_int_equal(nv_snapshot_read(path, &v1, NULL), 0);
        snprintf(path, sizeof(path), "%s/v2-good.nvstate", data_dir);
        assert_int_equal(nv_snapshot_read(path, &v2, NULL), 0);
        assert_int_equal(v1->version, 1);
        assert_int_equal(v2->version, 2);
        assert_int_equal(v1->n_vcpus, 3);
        assert_int_equal(v2->n_vcpus, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(v1->vcpus[i].index, v2->vcpus[i].index);
                assert_int_equal(v1->vcpus[i].blob.len, v2->vcpus[i].blob.len);
                assert_memory_equal(v1->vcpus[i].blob.data, v2->vcpus[i].blob.data, v1->vcpus[i].blob.len);
        }
        assert_string_equal(v1->kernel_release, v2->kernel_release);
        assert_int_equal(nv_snapshot_serialize(v1, &buf, &len, NULL), 0);
        assert_int_equal(get_le32(buf + 8), 2);
        assert_int_equal(nv_snapshot_parse(buf, len, &again, NULL), 0);
        assert_int_equal(again->version, 2);
        assert_memory_equal(again->vcpus[2].blob.data, v1->vcpus[2].blob.data, v1->vcpus[2].blob.len);
        free(buf);
        nv_snapshot_free(again);
        nv_snapshot_free(v1);
        nv_snapshot_free(v2);
}

/* The in-place builder: blobs written into their slots, checked as they are committed; refusals name the vCPU. */
static void test_builder(void **state) {
        NvSnapshot *s = make_snapshot(), *back = NULL;
        size_t cap = nv_snapshot_image_max(3, NV_SVM_MAX_SIZE), room, len, len2;
        uint8_t *buf = malloc(cap), *ref = NULL;
        NvSnapshotBuilder b;
        NvError *err = NULL;

        assert_int_equal(nv_snapshot_builder_init(&b, NV_FORMAT_SVM, buf, cap, 3, NULL), 0);
        for (size_t i = 0; i < 3; i++) {
                uint8_t *slot = nv_snapshot_builder_slot(&b, &room);

                assert_true(room >= NV_SVM_MAX_SIZE);
                memcpy(slot, s->vcpus[i].blob.data, s->vcpus[i].blob.len);
                if (i == 1) { /* out of order: refused, nothing recorded */
                        assert_int_equal(nv_snapshot_builder_commit(&b, 0, s->vcpus[i].blob.len, &err), -EINVAL);
                        assert_non_null(strstr(err->message, "comes after vCPU 0"));
                        err = nv_error_free(err);
                        assert_int_equal(nv_snapshot_builder_finish(&b, s, &len, &err), -EINVAL);
                        assert_non_null(strstr(err->message, "got 1 of its 3"));
                        err = nv_error_free(err);
                }
                assert_int_equal(nv_snapshot_builder_commit(&b, s->vcpus[i].index, s->vcpus[i].blob.len, NULL), 0);
        }
        assert_int_equal(nv_snapshot_builder_finish(&b, s, &len, NULL), 0);
        /* The same bytes as serializing, and they read back. */
        assert_int_equal(nv_snapshot_serialize(s, &ref, &len2, NULL), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, ref, len);
        assert_int_equal(nv_snapshot_parse_view(buf, len, &back, NULL), 0);
        assert_ptr_equal(back->vcpus[2].blob.data, buf + 264 + 4224 + 128); /* a view: not copied */
        nv_snapshot_free(back);
        /* A blob of the wrong vendor is refused when committed. */
        assert_int_equal(nv_snapshot_builder_init(&b, NV_FORMAT_VMX, buf, cap, 3, NULL), 0);
        memcpy(nv_snapshot_builder_slot(&b, &room), s->vcpus[0].blob.data, s->vcpus[0].blob.len);
        assert_int_equal(nv_snapshot_builder_commit(&b, 0, s->vcpus[0].blob.len, &err), -EINVAL);
        assert_non_null(strstr(err->message, "holds svm state"));
        nv_error_free(err);
        free(ref);
        free(buf);
        nv_snapshot_free(s);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_backend_marked),
                cmocka_unit_test(test_add_refuses),
                cmocka_unit_test(test_write_durable),
                cmocka_unit_test(test_bad_corpus),
                cmocka_unit_test(test_old_version),
                cmocka_unit_test(test_builder),
        };

        data_dir = argc > 1 ? argv[1] : "tests/data/snapshots";
        return cmocka_run_group_tests_name("snapshot files", tests, NULL, NULL);
}
