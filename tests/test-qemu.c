/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QEMU reader on real files: a stream QEMU 7.2 wrote with
 * `migrate "exec:cat > FILE"` and save images libvirt 9.0's QEMU driver
 * wrote (raw and gzip), all under TCG (tests/data/qemu/make-test-data.sh);
 * xz, bzip2, zstd and lzop images made from the raw one with those
 * programs; nested state written into the real stream by the test
 * generator (qemu-gen.c) from the raw blobs of the fuzz corpus; and
 * damaged copies, which must be refused with a message, never crash.
 *
 * argv: DATA (tests/data/qemu) BLOBS (tests/fuzz/corpus-blob)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "byteorder.h"
#include "fileio.h"
#include "macro.h"
#include "qemu-gen.h"
#include "qemu-image.h"
#include "x86-arch.h"

static const char *data_dir, *blob_dir;

static void load(const char *dir, const char *name, uint8_t **ret, size_t *ret_len) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(nv_file_read(path, 1u << 30, ret, ret_len, NULL), 0);
}

static void load_blob(const char *name, NvBlob *b) {
        load(blob_dir, name, &b->data, &b->len);
}

/* A temporary file holding buf; the caller unlinks path. */
static void write_tmp(const uint8_t *buf, size_t len, char path[static 64]) {
        int fd;

        snprintf(path, 64, "/tmp/nv-test-qemu-XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t) len);
        close(fd);
}

static void assert_tcg_vcpus(const NvQemuImage *img) {
        assert_string_equal(img->machine, "pc-i440fx-7.2");
        assert_int_equal(img->page_size, 4096);
        assert_true(img->n_sections > 20);
        assert_int_equal(img->n_vcpus, 2);
        for (unsigned i = 0; i < 2; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];
                assert_int_equal(v->index, i);
                assert_true(v->have_cpu_fields);
                assert_false(v->have_nested);
                assert_null(v->blob.data);
                assert_null(v->qemu_refusal);
                assert_true(v->hflags2 & NV_QEMU_HF2_GIF);
                assert_false(v->efer & X86_EFER_SVME);
                assert_non_null(strstr(nv_qemu_vcpu_no_nested_reason(v), "no L2 and no VMXON"));
        }
        assert_int_equal(nv_qemu_image_vendor(img), -1);
}

static void real_stream(void **state) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL, *mem = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        char path[4096];
        size_t len;

        snprintf(path, sizeof(path), "%s/tcg-pc-2vcpu.qemu", data_dir);
        assert_int_equal(nv_qemu_image_read(path, &img, NULL), 0);
        assert_int_equal(img->container, NV_QEMU_CONTAINER_STREAM);
        assert_tcg_vcpus(img);
        assert_true(img->off_devices > 16u << 10); /* after the RAM pages */
        load(data_dir, "tcg-pc-2vcpu.qemu", &buf, &len);
        assert_true(nv_qemu_is_image(buf, len));
        assert_int_equal(nv_qemu_image_parse(buf, len, &mem, NULL), 0);
        assert_tcg_vcpus(mem);
        assert_int_equal(mem->off_vmdesc, img->off_vmdesc);
}

static void libvirt_images(void **state) {
        static const char *const files[] = { "libvirt-raw.save", "libvirt-gzip.save" };

        for (unsigned i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL, *mem = NULL;
                _cleanup_(nv_error_freep) NvError *err = NULL;
                _cleanup_free_ uint8_t *buf = NULL;
                char path[4096];
                size_t len;

                snprintf(path, sizeof(path), "%s/%s", data_dir, files[i]);
                assert_int_equal(nv_qemu_image_read(path, &img, NULL), 0);
                assert_int_equal(img->container, NV_QEMU_CONTAINER_LIBVIRT);
                assert_int_equal(img->libvirt_version, 2);
                assert_int_equal(img->libvirt_format, i);
                assert_non_null(strstr(img->domain_xml, "<name>nv-tcg</name>"));
                assert_tcg_vcpus(img);
                load(data_dir, files[i], &buf, &len);
                /* In memory only the raw one: decompressing needs the file and the program. */
                assert_int_equal(nv_qemu_image_parse(buf, len, &mem, &err), i == 0 ? 0 : -EOPNOTSUPP);
                if (i)
                        assert_non_null(strstr(err->message, "gzip"));
        }
}

static bool have_program(const char *p) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", p);
        return system(cmd) == 0;
}

/* The raw libvirt image with its stream compressed by program and the header's format set to format. */
static void recompress(const char *program, uint32_t format, char path[static 64]) {
        _cleanup_free_ uint8_t *buf = NULL;
        char cmd[512], raw[64];
        size_t len, off;
        FILE *f;

        load(data_dir, "libvirt-raw.save", &buf, &len);
        off = NV_QEMU_LIBVIRT_HEADER_SIZE + get_le32(buf + 20);
        put_le32(buf + 28, format);
        write_tmp(buf + off, len - off, raw);
        write_tmp(buf, off, path);
        snprintf(cmd, sizeof(cmd), "%s -c < %s >> %s", program, raw, path);
        f = popen(cmd, "r");
        assert_non_null(f);
        assert_int_equal(pclose(f), 0);
        unlink(raw);
}

static void libvirt_compressed(void **state) {
        static const struct {
                const char *program;
                uint32_t format;
        } t[] = { { "bzip2", 2 }, { "xz", 3 }, { "lzop", 4 }, { "zstd", 5 } };
        unsigned ran = 0;

        for (unsigned i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
                _cleanup_(nv_error_freep) NvError *err = NULL;
                char path[64];

                if (!have_program(t[i].program)) {
                        /* The header names a program this host lacks: said, not guessed around. */
                        _cleanup_free_ uint8_t *buf = NULL;
                        size_t len;
                        load(data_dir, "libvirt-raw.save", &buf, &len);
                        put_le32(buf + 28, t[i].format);
                        write_tmp(buf, len, path);
                        assert_int_equal(nv_qemu_image_read(path, &img, &err), -ENOENT);
                        assert_non_null(strstr(err->message, "not installed"));
                        unlink(path);
                        continue;
                }
                recompress(t[i].program, t[i].format, path);
                assert_int_equal(nv_qemu_image_read(path, &img, &err), 0);
                assert_int_equal(img->libvirt_format, t[i].format);
                assert_tcg_vcpus(img);
                unlink(path);
                ran++;
        }
        assert_true(ran >= 2); /* bzip2 and xz are in every Debian install */
}

/* Cut anywhere, the reader refuses with a message; it never reads past the end. */
static void truncated(void **state) {
        static const char *const files[] = { "tcg-pc-2vcpu.qemu", "libvirt-raw.save" };

        for (unsigned f = 0; f < ELEMENTSOF(files); f++) {
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len;

                load(data_dir, files[f], &buf, &len);
                for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : cut > len - 300 ? 1 : 4093) {
                        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
                        _cleanup_(nv_error_freep) NvError *err = NULL;
                        uint8_t *copy = malloc(cut ?: 1);

                        memcpy(copy, buf, cut);
                        assert_true(nv_qemu_image_parse(copy, cut, &img, &err) < 0);
                        assert_non_null(err);
                        assert_null(img);
                        free(copy);
                }
        }
}

static void partial_and_foreign(void **state) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct {
                size_t off;
                const char *bytes;
                size_t n;
                int err;
                const char *msg;
        } t[] = {
                { 0, "LibvirtQemudPart", 16, -EBADMSG, "incomplete" },
                { 16, "\x09\0\0\0", 4, -EOPNOTSUPP, "header version 9" },
                { 20, "\0\0\0\x7f", 4, -EBADMSG, "out of range" },
                { 28, "\x07\0\0\0", 4, -EOPNOTSUPP, "compression format 7" },
        };

        load(data_dir, "libvirt-raw.save", &buf, &len);
        for (unsigned i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
                _cleanup_(nv_error_freep) NvError *err = NULL;
                _cleanup_free_ uint8_t *copy = malloc(len);

                memcpy(copy, buf, len);
                memcpy(copy + t[i].off, t[i].bytes, t[i].n);
                assert_int_equal(nv_qemu_image_parse(copy, len, &img, &err), t[i].err);
                assert_non_null(strstr(err->message, t[i].msg));
        }
}

static void no_vmdesc(void **state) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL, *cut = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        load(data_dir, "tcg-pc-2vcpu.qemu", &buf, &len);
        assert_int_equal(nv_qemu_image_parse(buf, len, &img, NULL), 0);
        assert_int_equal(nv_qemu_image_parse(buf, (size_t) img->off_vmdesc, &cut, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err->message, "vmdesc"));
}

/* The real stream with blobs[0..2) written in by the generator, parsed back. */
static NvQemuImage *generated(const NvBlob *blobs, uint8_t **ret_stream, size_t *ret_len) {
        _cleanup_free_ uint8_t *buf = NULL;
        NvQemuImage *img = NULL;
        size_t len;

        load(data_dir, "tcg-pc-2vcpu.qemu", &buf, &len);
        assert_int_equal(qemu_gen_nested(buf, len, blobs, 2, ret_stream, ret_len), 0);
        assert_int_equal(nv_qemu_image_parse(*ret_stream, *ret_len, &img, NULL), 0);
        return img;
}

/* Every raw blob of the corpus travels through QEMU's fields and comes back as the same bytes, or as no subsection when QEMU sends none. */
static void nested_round_trip(void **state) {
        static const struct {
                const char *file;
                bool subsection;
                const char *why;
        } t[] = {
                { "svm-guest-mode.raw", true, NULL },
                { "svm-idle.raw", false, "EFER.SVME on but is not running L2" },
                { "vmx-guest-mode.raw", true, NULL },
                { "vmx-guest-mode-shadow.raw", true, NULL },
                { "vmx-idle.raw", false, "no L2 and no VMXON" },
        };

        for (unsigned i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
                _cleanup_free_ uint8_t *out = NULL;
                NvBlob blobs[2] = {};
                size_t len;

                load_blob(t[i].file, &blobs[0]);
                img = generated(blobs, &out, &len);
                assert_int_equal(img->vcpus[0].have_nested, t[i].subsection);
                assert_null(img->vcpus[0].qemu_refusal);
                if (t[i].subsection) {
                        assert_int_equal(img->vcpus[0].blob.len, blobs[0].len);
                        assert_memory_equal(img->vcpus[0].blob.data, blobs[0].data, blobs[0].len);
                        assert_int_equal(nv_qemu_image_vendor(img), get_le16(blobs[0].data + 2));
                        assert_int_equal(nv_validate(img->vcpus[0].blob.data, img->vcpus[0].blob.len, NULL, &(NvValidateResult) {}), 0);
                } else
                        assert_non_null(strstr(nv_qemu_vcpu_no_nested_reason(&img->vcpus[0]), t[i].why));
                assert_false(img->vcpus[1].have_nested);
                nv_blob_clear(&blobs[0]);
        }
}

static void validate_context(void **state) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        NvBlob blobs[2] = {};
        NvValidateContext ctx;
        size_t len;

        load_blob("svm-guest-mode.raw", &blobs[0]);
        img = generated(blobs, &out, &len);
        nv_validate_context_init(&ctx);
        nv_qemu_validate_context(&img->vcpus[0], &ctx);
        assert_int_equal(ctx.svme, NV_YES);
        assert_int_equal(ctx.in_smm, NV_NO);
        assert_int_equal(ctx.lma, NV_NO); /* TCG's vCPU never left real mode */
        assert_true(ctx.have_cr0);
        assert_int_equal(ctx.cr0, img->vcpus[0].cr0);
        nv_blob_clear(&blobs[0]);
}

/* The offset of the subsection name in a generated stream; flags, format and size follow its version. */
static size_t nested_fields_at(const uint8_t *s, size_t len) {
        const uint8_t *p = memmem(s, len, "cpu/nested_state", 16);

        assert_non_null(p);
        return (size_t) (p - s) + 16 + 4;
}

/* Damage as in the field: what the kernel would refuse, and what QEMU itself refuses while loading. */
static void damaged(void **state) {
        enum { ASID0, GUEST_CLEARED, FORMAT3, SIZE8192, HFLAGS_NO_STATE };

        for (int d = ASID0; d <= HFLAGS_NO_STATE; d++) {
                _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL, *bad = NULL;
                _cleanup_free_ uint8_t *out = NULL;
                NvBlob blobs[2] = {};
                NvValidateResult res;
                size_t len, at = 0;

                load_blob("svm-guest-mode.raw", &blobs[0]);
                if (d == ASID0)
                        put_le32(blobs[0].data + NV_OFF_DATA + 0x58, 0);
                if (d == HFLAGS_NO_STATE)
                        nv_blob_clear(&blobs[0]);
                img = generated(blobs, &out, &len);
                if (d != HFLAGS_NO_STATE)
                        at = nested_fields_at(out, len);
                switch (d) {
                case ASID0:
                        assert_null(img->vcpus[0].qemu_refusal);
                        assert_int_equal(nv_validate(img->vcpus[0].blob.data, img->vcpus[0].blob.len, NULL, &res), -EINVAL);
                        assert_string_equal(res.rule, "S9");
                        assert_string_equal(res.field, "control.asid");
                        break;
                case GUEST_CLEARED:
                        out[at + 1] &= (uint8_t) ~NV_NESTED_GUEST_MODE; /* BE u16 flags: low byte second */
                        break;
                case FORMAT3:
                        out[at + 3] = 3;
                        break;
                case SIZE8192:
                        out[at + 4] = 0, out[at + 5] = 0, out[at + 6] = 0x20, out[at + 7] = 0;
                        break;
                case HFLAGS_NO_STATE:
                        out[img->vcpus[0].off_hflags + 1] |= NV_QEMU_HF_GUEST >> 16;
                        break;
                }
                if (d != ASID0) {
                        static const char *const field[] = { [GUEST_CLEARED] = "flags", [FORMAT3] = "format", [SIZE8192] = "size",
                                                             [HFLAGS_NO_STATE] = "hflags" };
                        assert_int_equal(nv_qemu_image_parse(out, len, &bad, NULL), 0);
                        assert_non_null(bad->vcpus[0].qemu_refusal);
                        assert_string_equal(bad->vcpus[0].qemu_field, field[d]);
                        assert_null(bad->vcpus[0].blob.data);
                        assert_null(bad->vcpus[1].qemu_refusal);
                }
                nv_blob_clear(&blobs[0]);
        }
}

/* A libvirt image is a header in front of the same stream: the generator works on it too. */
static void libvirt_nested(void **state) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        _cleanup_free_ uint8_t *buf = NULL, *out = NULL;
        NvBlob blobs[2] = {};
        size_t len, out_len;
        char path[64];

        load(data_dir, "libvirt-raw.save", &buf, &len);
        load_blob("vmx-guest-mode-shadow.raw", &blobs[1]);
        assert_int_equal(qemu_gen_nested(buf, len, blobs, 2, &out, &out_len), 0);
        write_tmp(out, out_len, path);
        assert_int_equal(nv_qemu_image_read(path, &img, NULL), 0);
        unlink(path);
        assert_false(img->vcpus[0].have_nested);
        assert_true(img->vcpus[1].have_vmcs12 && img->vcpus[1].have_shadow_vmcs12);
        assert_memory_equal(img->vcpus[1].blob.data, blobs[1].data, blobs[1].len);
        nv_blob_clear(&blobs[1]);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(real_stream),      cmocka_unit_test(libvirt_images), cmocka_unit_test(libvirt_compressed),
                cmocka_unit_test(truncated),        cmocka_unit_test(partial_and_foreign), cmocka_unit_test(no_vmdesc),
                cmocka_unit_test(nested_round_trip), cmocka_unit_test(validate_context), cmocka_unit_test(damaged),
                cmocka_unit_test(libvirt_nested),
        };

        if (argc != 3) {
                fprintf(stderr, "usage: test-qemu DATA-DIR BLOB-DIR\n");
                return 2;
        }
        data_dir = argv[1];
        blob_dir = argv[2];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
