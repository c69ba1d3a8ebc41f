/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt pack / unpack: raw blobs (one per vCPU, e.g. from another VMM)
 * into a snapshot file, and a snapshot's blobs back out as raw files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli-backend.h"
#include "cli-file.h"
#include "cli-qemu.h"
#include "cli.h"
#include "fileio.h"

/* Records the facts of the host that packs, as a save would. */
static void stamp_host(NvSnapshot *s) {
        NvHostInfo h;

        nv_snapshot_stamp(s, nv_host_probe(cli_host_root(), NULL, &h, NULL) >= 0 ? &h : NULL);
}

static int pack_files(char **files, int n, const char *out, bool force, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        int r;

        r = cli_refuse_existing(out, force, reterr);
        if (r < 0)
                return r;
        for (int i = 0; i < n; i++) {
                _cleanup_(nv_snapshot_freep) NvSnapshot *one = NULL;
                bool raw;

                r = cli_load_state_file(files[i], &one, &raw, reterr);
                if (r < 0)
                        return r;
                if (!raw)
                        return nv_error_set(reterr, -EINVAL, _("'%s' is already a snapshot; pack takes raw blobs."), files[i]);
                if (!s && !(s = nv_snapshot_new(one->vendor)))
                        return -ENOMEM;
                r = nv_snapshot_add(s, (uint32_t) i, &one->vcpus[0].blob, reterr);
                if (r < 0)
                        return nv_error_wrap(reterr, r, "%s", files[i]);
        }
        stamp_host(s);
        r = nv_snapshot_write(out, s, reterr);
        if (r >= 0)
                printf(dngettext(GETTEXT_PACKAGE, "Packed %d raw blob into %s.\n", "Packed %d raw blobs into %s.\n", (unsigned long) n), n, out);
        return r;
}

int cmd_pack(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        const char *out = NULL;
        bool force = false;
        int c;

        while ((c = getopt_long(argc, argv, "ho:f", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt pack RAW... -o FILE [--force]\n"
                                 "Put raw nested-state blobs (the bytes of struct kvm_nested_state, one file per\n"
                                 "vCPU, in vCPU order) into a snapshot file, written atomically.\n\n"
                                 "  -o, --output FILE  the snapshot file to write (mode 0600)\n"
                                 "  -f, --force        replace FILE if it exists (else refused)\n"));
                        return 0;
                case 'o':
                        out = optarg;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (!out)
                return nv_error_set(reterr, -EINVAL, _("'pack' needs -o FILE for the snapshot to write."));
        if (optind >= argc)
                return nv_error_set(reterr, -EINVAL, _("'pack' needs at least one raw blob."));
        if (argc - optind > (int) NV_SNAPSHOT_MAX_VCPUS)
                return nv_error_set(reterr, -E2BIG, _("A snapshot holds at most %u vCPUs."), NV_SNAPSHOT_MAX_VCPUS);
        return pack_files(argv + optind, argc - optind, out, force, reterr);
}

static void raw_path(const NvSnapshot *s, size_t i, const char *dir, char path[static 4096]) {
        snprintf(path, 4096, "%s/vcpu-%u.raw", dir, s->vcpus[i].index);
}

/* Writes every blob to DIR/vcpu-N.raw; refuses, before writing any, if one of them exists (unless force). */
static int unpack_to(const NvSnapshot *s, const char *dir, bool force, NvError **reterr) {
        char path[4096];
        int r;

        for (size_t i = 0; i < s->n_vcpus; i++) {
                raw_path(s, i, dir, path);
                r = cli_refuse_existing(path, force, reterr);
                if (r < 0)
                        return r;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return nv_error_set(reterr, -errno, _("Cannot create directory '%s': %s"), dir, strerror(errno));
        for (size_t i = 0; i < s->n_vcpus; i++) {
                raw_path(s, i, dir, path);
                r = nv_file_write_atomic(path, s->vcpus[i].blob.data, s->vcpus[i].blob.len, reterr);
                if (r < 0)
                        return r;
                printf("%s\n", path);
        }
        return 0;
}

/*
 * The nested state QEMU would load, per vCPU, from a QEMU stream or libvirt
 * save image; a vCPU without any is said on stderr and has no file.
 */
static int load_qemu(const char *path, NvSnapshot **ret, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = NULL;
        int r;

        r = nv_qemu_image_read(path, &img, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < img->n_vcpus; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];
                if (v->qemu_refusal)
                        fprintf(stderr, _("vCPU %u: not written: QEMU itself refuses this nested state: %s\n"), v->index, _(v->qemu_refusal));
                else if (!v->blob.data)
                        fprintf(stderr, _("vCPU %u: not written: %s\n"), v->index, _(nv_qemu_vcpu_no_nested_reason(v)));
        }
        return cli_qemu_snapshot(img, ret, reterr);
}

int cmd_unpack(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "directory", required_argument, NULL, 'd' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        const char *dir = NULL;
        bool raw, force = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hd:f", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt unpack FILE -d DIR [--force]\n"
                                 "Write each vCPU's raw nested-state blob of a snapshot, a QEMU migration stream\n"
                                 "or a libvirt save image to DIR/vcpu-N.raw.\n\n"
                                 "  -d, --directory DIR  where to write the blobs\n"
                                 "  -f, --force          replace files there (else refused if any exists)\n"));
                        return 0;
                case 'd':
                        dir = optarg;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (!dir)
                return nv_error_set(reterr, -EINVAL, _("'unpack' needs -d DIR for the raw files."));
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'unpack' takes exactly one FILE."));
        if (cli_is_qemu_file(argv[optind]))
                r = load_qemu(argv[optind], &s, reterr);
        else
                r = cli_load_state_file(argv[optind], &s, &raw, reterr);
        if (r < 0)
                return r;
        return unpack_to(s, dir, force, reterr);
}
