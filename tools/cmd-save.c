/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt save and restore: the driver's flows on one running domain. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli.h"

typedef struct SaveArgs {
        const char *domain;
        const char *file;
        bool keep_frozen;
        bool force; /* restore */
} SaveArgs;

/* Options of save (with_keep: --keep-frozen) and restore (else: --force); returns 0 after --help, 1 to go on. */
static int parse_opts(Cli *cli, int argc, char **argv, const char *usage, bool with_keep, SaveArgs *a, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "file", required_argument, NULL, 'f' },
                { "keep-frozen", no_argument, NULL, 'k' },
                { "force", no_argument, NULL, 'F' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hf:kFj", opts, NULL)) >= 0) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        return 0;
                } else if (c == 'f')
                        a->file = optarg;
                else if (c == 'k' && with_keep)
                        a->keep_frozen = true;
                else if (c == 'F' && !with_keep)
                        a->force = true;
                else if (c == 'j')
                        cli->json = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        if (optind != argc - 1)
                return nv_error_set(reterr, -EINVAL, _("'%s' takes exactly one domain name; see 'nestvirt %s --help'."), argv[0],
                                    argv[0]);
        a->domain = argv[optind];
        return 1;
}

static void save_report(const Cli *cli, const SaveArgs *a, const NvSaveResult *res) {
        json_object *o;

        if (!cli->json) {
                printf(dngettext(GETTEXT_PACKAGE, "Saved the nested state of domain '%s': %u vCPU, %u in guest mode, %s, %llu bytes\n",
                                 "Saved the nested state of domain '%s': %u vCPUs, %u in guest mode, %s, %llu bytes\n", res->ref.vcpus),
                       a->domain,
                       res->ref.vcpus, res->guest_mode_vcpus, nv_format_to_string(res->ref.vendor), (unsigned long long) res->bytes);
                printf(_("  file:   %s\n  sha256: %s\n"), res->ref.path, res->ref.sha256);
                if (res->own_pause)
                        printf(_("The VMM stays paused by its own pause (nestvirt reached it through ptrace and let it go): "
                                 "save its own state now, then stop it.\n"));
                else if (a->keep_frozen)
                        printf(_("The VMM stays frozen (--keep-frozen): save its own state now, then stop it.\n"));
                else if (res->found_frozen)
                        printf(_("The VMM was frozen already (kept by an earlier save or another client) and stays frozen.\n"));
                else
                        printf(_("The VMM was frozen for %.1f ms.\n"), (double) res->frozen_usec / 1000.0);
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "domain", json_object_new_string(a->domain));
        json_object_object_add(o, "path", json_object_new_string(res->ref.path));
        json_object_object_add(o, "sha256", json_object_new_string(res->ref.sha256));
        json_object_object_add(o, "vendor", json_object_new_string(nv_format_to_string(res->ref.vendor)));
        json_object_object_add(o, "vcpus", json_object_new_int64(res->ref.vcpus));
        json_object_object_add(o, "guest_mode_vcpus", json_object_new_int64(res->guest_mode_vcpus));
        json_object_object_add(o, "bytes", json_object_new_int64((int64_t) res->bytes));
        json_object_object_add(o, "kept_frozen", json_object_new_boolean(a->keep_frozen || res->found_frozen));
        json_object_object_add(o, "own_pause", json_object_new_boolean(res->own_pause));
        json_object_object_add(o, "frozen_usec", json_object_new_int64((int64_t) res->frozen_usec));
        cli_print_json(o);
        json_object_put(o);
}

int cmd_save(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvSaveResult res = {};
        SaveArgs a = {};
        int r;

        _cleanup_free_ char *usage = NULL;

        if (asprintf(&usage,
                     _("Usage: nestvirt save DOMAIN [--file PATH] [--keep-frozen] [--json]\n"
                       "Freeze the domain's VMM, collect every vCPU's nested state, thaw it; then\n"
                       "write that state durably (in $NESTVIRT_STATE_DIR, default %1$s, as\n"
                       "DOMAIN/TIME.nvstate) and point the domain's metadata at it (live and\n"
                       "config).  Lock files go to\n"
                       "$NESTVIRT_RUNTIME_DIR (default %2$s; not root: $XDG_RUNTIME_DIR/nestvirt).\n\n"
                       "  -f, --file PATH    write the snapshot here instead\n"
                       "  -k, --keep-frozen  leave the VMM frozen, for a VMM about to be stopped\n"
                       "  -j, --json         print the result as JSON\n"),
                     NV_DEFAULT_STATE_DIR, NV_DEFAULT_RUNTIME_DIR) < 0)
                return -ENOMEM;
        r = parse_opts(cli, argc, argv, usage, true, &a, reterr);
        if (r <= 0)
                return r;
        r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr);
        if (r >= 0)
                r = nv_driver_save(d, a.domain, &(NvSaveOptions) { .file = a.file, .keep_frozen = a.keep_frozen }, &res, reterr);
        if (r < 0)
                return r;
        save_report(cli, &a, &res);
        nv_save_result_clear(&res);
        return 0;
}

static void restore_report(const Cli *cli, const SaveArgs *a, const NvRestoreResult *res) {
        json_object *o;

        if (!cli->json) {
                if (res->loaded)
                        printf(dngettext(GETTEXT_PACKAGE, "Restored the nested state of domain '%s' from %s: %u vCPU, %u in guest mode; the VMM was frozen for %.1f ms.\n",
                                         "Restored the nested state of domain '%s' from %s: %u vCPUs, %u in guest mode; the VMM was frozen for %.1f ms.\n",
                                         res->vcpus),
                               a->domain, res->path, res->vcpus, res->guest_mode_vcpus, (double) res->frozen_usec / 1000.0);
                else
                        printf(_("Domain '%s' runs on WITHOUT nested state (its policy says continue): %s\n"), a->domain,
                               res->skipped_why);
                if (res->loaded && res->kernel_unchecked)
                        printf(_("note: not checked: %s\n"), _(res->kernel_unchecked));
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "domain", json_object_new_string(a->domain));
        json_object_object_add(o, "loaded", json_object_new_boolean(res->loaded));
        json_object_object_add(o, "path", res->path ? json_object_new_string(res->path) : NULL);
        json_object_object_add(o, "skipped_why", res->skipped_why ? json_object_new_string(res->skipped_why) : NULL);
        json_object_object_add(o, "vcpus", json_object_new_int64(res->vcpus));
        json_object_object_add(o, "guest_mode_vcpus", json_object_new_int64(res->guest_mode_vcpus));
        json_object_object_add(o, "frozen_usec", json_object_new_int64((int64_t) res->frozen_usec));
        json_object_object_add(o, "kernel_checked", json_object_new_boolean(res->loaded && !res->kernel_unchecked));
        json_object_object_add(o, "not_checked", res->kernel_unchecked ? json_object_new_string(_(res->kernel_unchecked)) : NULL);
        cli_print_json(o);
        json_object_put(o);
}

int cmd_restore(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvRestoreResult res = {};
        SaveArgs a = {};
        int r;

        r = parse_opts(cli, argc, argv,
                       _("Usage: nestvirt restore DOMAIN [--file PATH] [--force] [--json]\n"
                         "Load the nested state the domain's metadata references (or PATH) into the\n"
                         "domain's VMM, which must have resumed from a saved state, then thaw it.  The\n"
                         "file's SHA-256, integrity, vendor, vCPU count and every vCPU's blob are\n"
                         "checked first: a refusal leaves the VMM as it was.\n\n"
                         "  -f, --file PATH  load this snapshot file instead\n"
                         "  -F, --force      load even into a VMM that did not resume from a saved state\n"
                         "                   (its L2 guests are replaced by the saved ones)\n"
                         "  -j, --json       print the result as JSON\n"),
                       false, &a, reterr);
        if (r <= 0)
                return r;
        r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr);
        if (r >= 0)
                r = nv_driver_restore(d, a.domain, &(NvRestoreOptions) { .file = a.file, .force = a.force }, &res, reterr);
        if (r < 0)
                return r;
        restore_report(cli, &a, &res);
        nv_restore_result_clear(&res);
        return 0;
}
