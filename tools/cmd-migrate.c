/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt migrate-begin (source) and nestvirt hook (the libvirt qemu.d
 * hook, destination and restore side).  See docs/migration.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli.h"
#include "driver.h"
#include "fileio.h"
#include "xml-util.h"

int cmd_migrate_begin(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "shared-dir", required_argument, NULL, 's' },
                { "inline-max", required_argument, NULL, 'm' },
                { "output", required_argument, NULL, 'o' },
                { "dest-caps", required_argument, NULL, 'd' },
                { "no-check", no_argument, NULL, 'n' },
                {},
        };
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        _cleanup_free_ char *xml = NULL;
        NvMigrateOptions mo = {};
        const char *output = NULL, *caps = NULL;
        bool no_check = false;
        NvHostInfo dest;
        uint64_t v;
        int c, r;

        while ((c = getopt_long(argc, argv, "hs:m:o:d:n", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf(_("Usage: nestvirt migrate-begin DOMAIN --dest-caps FILE|--no-check [--shared-dir DIR]\n"
                                 "                              [--inline-max BYTES] [--output FILE]\n"
                                 "Run migrate-check against the destination's 'nestvirt capabilities --xml' in\n"
                                 "FILE; if it passes, freeze the domain's VMM (it stays frozen: the source is about to stop), collect\n"
                                 "its nested state and print the domain's migratable XML with the state in the\n"
                                 "nestvirt metadata.  Give that XML to libvirt as the destination XML\n"
                                 "(virsh migrate --xml FILE); the destination's hook verifies and lands it.\n\n"
                                 "  -d, --dest-caps FILE    the destination's capabilities, checked before freezing\n"
                                 "  -n, --no-check          skip that check (the hook still verifies on arrival)\n"
                                 "  -s, --shared-dir DIR    write the snapshot to DIR (storage both hosts see) and\n"
                                 "                          reference it, instead of carrying it inline\n"
                                 "  -m, --inline-max BYTES  largest snapshot carried inline (default and maximum %u)\n"
                                 "  -o, --output FILE       write the XML to FILE instead of standard output\n"),
                               NV_META_MAX_INLINE);
                        return 0;
                } else if (c == 's')
                        mo.shared_dir = optarg;
                else if (c == 'm') {
                        if (nv_parse_unsigned(optarg, 10, NV_META_MAX_INLINE, &v) < 0 || v == 0)
                                return nv_error_set(reterr, -EINVAL, _("--inline-max takes 1 to %u bytes, not '%s'."),
                                                    NV_META_MAX_INLINE, optarg);
                        mo.inline_max = (size_t) v;
                } else if (c == 'o')
                        output = optarg;
                else if (c == 'd')
                        caps = optarg;
                else if (c == 'n')
                        no_check = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        if (optind != argc - 1)
                return nv_error_set(reterr, -EINVAL, _("'%s' takes exactly one domain name."), argv[0]);
        if (mo.shared_dir && mo.shared_dir[0] != '/')
                return nv_error_set(reterr, -EINVAL, _("--shared-dir must be an absolute path, not '%s'."), mo.shared_dir);
        if (!caps == !no_check)
                return nv_error_set(reterr, -EINVAL, _("'%s' needs either --dest-caps FILE (the destination's 'nestvirt "
                                                       "capabilities --xml') or --no-check."), argv[0]);
        if (caps && (r = cli_read_dest_caps(caps, &dest, reterr)) < 0)
                return r;
        mo.dest = caps ? &dest : NULL;
        r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr);
        if (r >= 0)
                r = nv_driver_migrate_begin(d, argv[optind], &mo, &xml, reterr);
        if (r < 0)
                return r;
        if (output)
                return nv_file_write_atomic(output, xml, strlen(xml), reterr);
        fputs(xml, stdout);
        return 0;
}

/* The domain XML libvirt writes to our stdin, bounded like every XML we read. */
static int read_stdin(char **ret, size_t *ret_len, NvError **reterr) {
        size_t cap = NV_XML_MAX_SIZE + 1, n = 0;
        _cleanup_free_ char *buf = malloc(cap);
        ssize_t k;

        if (!buf)
                return -ENOMEM;
        while (n < cap && (k = read(STDIN_FILENO, buf + n, cap - n)) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return nv_error_set(reterr, -errno, _("Cannot read the domain XML from standard input: %s"), strerror(errno));
                n += (size_t) k;
        }
        if (n == cap)
                return nv_error_set(reterr, -E2BIG, _("The domain XML on standard input is larger than %u bytes."), NV_XML_MAX_SIZE);
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static int hook(int argc, char **argv, NvError **reterr) {
        _cleanup_free_ char *xml = NULL, *out = NULL;
        NvHostInfo host;
        size_t len = 0;
        int r;

        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf(_("Usage: nestvirt hook DOMAIN OPERATION SUBOPERATION EXTRA < domain.xml\n"
                         "The libvirt qemu hook (installed in /etc/libvirt/hooks/qemu.d/).  It never calls\n"
                         "libvirt.  prepare begin: refuse a domain that requires nested virtualization this\n"
                         "host cannot give.  migrate begin, restore begin: verify the incoming nested state\n"
                         "and land inline state in a local file; the rewritten XML goes to standard output\n"
                         "(nothing: unchanged); on restore begin also QEMU's own nested state in the\n"
                         "domain's managed-save image.  release end: drop the domain's lock file.\n"));
                return 0;
        }
        if (argc != 5)
                return nv_error_set(reterr, -EINVAL, _("The hook takes 4 arguments (DOMAIN OPERATION SUBOPERATION EXTRA), not %d."),
                                    argc - 1);
        r = read_stdin(&xml, &len, reterr);
        if (r >= 0)
                r = nv_host_probe(cli_host_root(), NULL, &host, reterr);
        if (r >= 0)
                r = nv_hook_run(&(NvHookContext) { .host = &host, .state_dir = nv_default_dir(false),
                                                                    .runtime_dir = nv_default_dir(true),
                                                                    .qemu_save_dir = getenv("NESTVIRT_QEMU_SAVE_DIR") ?: NV_QEMU_SAVE_DIR },
                                                  (const char *const *) argv + 1, xml, len, &out, reterr);
        if (r >= 0 && out)
                fputs(out, stdout);
        return r;
}

int cmd_hook(Cli *cli, int argc, char **argv, NvError **reterr) {
        int r;

        r = hook(argc, argv, reterr);
        if (r >= 0)
                return r;
        /* The hook keeps its contract with libvirt (nestvirt-hook(8)): refused or failed is exit 1, not 2. */
        cli_print_error(nv_error_message(reterr ? *reterr : NULL, r));
        return CLI_EXIT_PROBLEMS;
}
