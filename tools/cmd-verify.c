/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt verify: integrity of a snapshot (or raw blob) plus the validator
 * for every blob, with the facts of the target host given by options or by
 * its capabilities document (--dest-caps: its measured CPUID, VMX MSRs and
 * probed rules).  Exit 0 when the kernel would accept everything and every
 * rule could be checked; 3 when it would accept what could be checked but
 * some rules need facts not given; 1 when the file is damaged (said on
 * stderr, as an error) or a blob would be refused (one line per vCPU on
 * stdout, the report); 2 when the file cannot be read at all.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-domain.h"
#include "cli-file.h"
#include "cli-qemu.h"
#include "cli.h"
#include "util.h"
#include "validate.h"
#include "x86-arch.h"

void cli_notes_add(CliNotes *notes, const char *text) {
        for (size_t j = 0; j < notes->n; j++)
                if (notes->text[j] == text)
                        return;
        if (notes->n < ELEMENTSOF(notes->text))
                notes->text[notes->n++] = text;
}

/* One vCPU's verdict as JSON: accepted, or the rule, field, value and errno of the refusal. */
static json_object *verify_vcpu_json(uint32_t index, size_t len, const NvValidateResult *res) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "vcpu", json_object_new_int64(index));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) len));
        json_object_object_add(o, "accepted", json_object_new_boolean(res->error == 0));
        json_object_object_add(o, "rule", res->rule ? json_object_new_string(res->rule) : NULL);
        json_object_object_add(o, "field", res->field ? json_object_new_string(res->field) : NULL);
        json_object_object_add(o, "value", res->error ? json_object_new_uint64(res->value) : NULL);
        json_object_object_add(o, "errno", res->error ? json_object_new_string(strerrorname_np(-res->error) ?: "?") : NULL);
        json_object_object_add(o, "message", res->error ? json_object_new_string(res->message) : NULL);
        return o;
}

bool cli_verify_blob(uint32_t index, const NvBlob *b, const NvValidateContext *ctx, CliNotes *notes, json_object *vcpus) {
        NvValidateResult res;
        bool ok = nv_validate(b->data, b->len, ctx, &res) >= 0;

        for (size_t i = 0; i < res.n_unchecked; i++)
                cli_notes_add(notes, res.unchecked[i]);
        if (vcpus)
                json_object_array_add(vcpus, verify_vcpu_json(index, b->len, &res));
        else if (ok)
                printf(_("vCPU %u: ok (%zu bytes)\n"), index, b->len);
        else
                printf(_("vCPU %u: %s\n"), index, res.message);
        return ok;
}

unsigned cli_verify_blobs(const NvSnapshot *s, const NvValidateContext *ctx, CliNotes *notes, json_object *vcpus) {
        unsigned bad = 0;

        for (size_t i = 0; i < s->n_vcpus; i++)
                bad += !cli_verify_blob(s->vcpus[i].index, &s->vcpus[i].blob, ctx, notes, vcpus);
        return bad;
}

void cli_dest_context(const NvHostInfo *dst, NvValidateContext *ctx, CliNotes *notes) {
        nv_host_validate_context(dst, ctx);
        if (!dst->target.measured)
                cli_notes_add(notes, N_("the destination's document has no measured target (written by an older nestvirt, or on a host "
                                        "without a kernel KVM that saves nested state): its CPUID, VMX MSRs and kernel rules are unknown"));
}

static int parse_args(Cli *cli, int argc, char **argv, NvValidateContext *ctx, CliNotes *notes, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "maxphyaddr", required_argument, NULL, 'm' },
                { "vendor", required_argument, NULL, 'v' },
                { "dest-caps", required_argument, NULL, 'd' },
                {},
        };
        bool explicit = false, caps = false;
        NvHostInfo dst;
        uint64_t m;
        int c, r;

        while ((c = getopt_long(argc, argv, "hjm:v:d:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt verify FILE [--dest-caps FILE | --maxphyaddr N --vendor vmx|svm] [--json]\n"
                                 "Check a snapshot file or raw blob: integrity, then every blob against the\n"
                                 "kernel's KVM_SET_NESTED_STATE rules.  Exit 0 if the kernel would accept\n"
                                 "everything and every rule was checked; 3 if it would accept what could be\n"
                                 "checked but some rules need facts not given (listed as notes); 1 if the\n"
                                 "file is damaged or a blob would be refused, with one line per vCPU; 2 if\n"
                                 "the file cannot be read.  FILE may also be a QEMU migration stream or\n"
                                 "libvirt save image: QEMU's own load-time checks come first.\n\n"
                                 "  -d, --dest-caps FILE the target host's capabilities document, as its\n"
                                 "                       capabilities command writes it: vendor, MAXPHYADDR,\n"
                                 "                       CPUID, VMX MSRs and the kernel rules it probed\n"
                                 "  -m, --maxphyaddr N   the target vCPU's guest MAXPHYADDR (bits, 32 to 52)\n"
                                 "  -v, --vendor V       the target host's vendor: vmx or svm\n"
                                 "  -j, --json           print the verdict as JSON\n"));
                        return 0;
                case 'd':
                        r = cli_read_dest_caps(optarg, &dst, reterr);
                        if (r < 0)
                                return r;
                        cli_dest_context(&dst, ctx, notes);
                        caps = true;
                        break;
                case 'j':
                        cli->json = true;
                        break;
                case 'm':
                        if (nv_parse_unsigned(optarg, 10, X86_ARCH_MAXPHYADDR, &m) < 0 || m < 32)
                                return nv_error_set(reterr, -EINVAL, _("--maxphyaddr takes a number of bits from 32 to 52, not '%s'."), optarg);
                        ctx->maxphyaddr = (unsigned) m;
                        explicit = true;
                        break;
                case 'v':
                        ctx->vendor = nv_format_from_string(optarg);
                        if (ctx->vendor < 0)
                                return nv_error_set(reterr, -EINVAL, _("--vendor takes 'vmx' or 'svm', not '%s'."), optarg);
                        explicit = true;
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'verify' takes exactly one FILE; see 'nestvirt verify --help'."));
        if (caps && explicit)
                return nv_error_set(reterr, -EINVAL, _("--dest-caps gives the target's vendor and MAXPHYADDR: --vendor and --maxphyaddr go without it."));
        return 1;
}

/* The file is damaged: a finding (exit 1), reported as an error on stderr, or in the JSON. */
static int report_damaged(const Cli *cli, const char *path, const char *msg) {
        json_object *o;

        if (!cli->json) {
                cli_print_error(msg);
                return 1;
        }
        o = json_object_new_object();
        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "intact", json_object_new_boolean(false));
        json_object_object_add(o, "error", json_object_new_string(msg));
        cli_print_json(o);
        json_object_put(o);
        return 1;
}

static void report_json(const char *path, const NvSnapshot *s, bool raw, json_object *vcpus, const CliNotes *notes, unsigned bad) {
        json_object *o = json_object_new_object(), *nc = json_object_new_array();

        for (size_t i = 0; i < notes->n; i++)
                json_object_array_add(nc, json_object_new_string(_(notes->text[i])));
        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(o, "intact", json_object_new_boolean(true));
        json_object_object_add(o, "type", json_object_new_string(raw ? "raw" : "snapshot"));
        json_object_object_add(o, "vendor", json_object_new_string(nv_format_to_string(s->vendor) ?: "unknown"));
        json_object_object_add(o, "vcpu_count", json_object_new_int64((int64_t) s->n_vcpus));
        json_object_object_add(o, "refused", json_object_new_int64(bad));
        json_object_object_add(o, "vcpus", json_object_get(vcpus));
        json_object_object_add(o, "not_checked", nc);
        json_object_object_add(o, "verdict", json_object_new_string(cli_verdict_name(bad, notes)));
        cli_print_json(o);
        json_object_put(o);
}

int cmd_verify(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_(nv_error_freep) NvError *integrity = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        json_object *vcpus = NULL;
        NvValidateContext ctx;
        const char *path;
        CliNotes notes = {};
        unsigned bad;
        size_t len;
        bool raw;
        int r;

        nv_validate_context_init(&ctx);
        r = parse_args(cli, argc, argv, &ctx, &notes, reterr);
        if (r <= 0)
                return r;
        path = argv[optind];
        if (cli_is_qemu_file(path))
                return cli_verify_qemu(cli, path, &ctx, &notes, reterr);
        r = cli_read_file(path, &buf, &len, reterr); /* cannot read: the command could not run */
        if (r < 0)
                return r;
        r = cli_parse_state(path, buf, len, &s, &raw, &integrity);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return report_damaged(cli, path, nv_error_message(integrity, r));
        if (cli->json)
                vcpus = json_object_new_array();
        else
                printf(dngettext(GETTEXT_PACKAGE, "%s: %s intact, %zu vCPU\n", "%s: %s intact, %zu vCPUs\n", s->n_vcpus), path,
                       raw ? _("raw blob") : _("snapshot"), s->n_vcpus);
        bad = cli_verify_blobs(s, &ctx, &notes, vcpus);
        if (cli->json) {
                report_json(path, s, raw, vcpus, &notes, bad);
                json_object_put(vcpus);
                return cli_verdict_exit(bad, &notes);
        }
        for (size_t i = 0; i < notes.n; i++)
                printf(_("note: not checked: %s\n"), _(notes.text[i]));
        if (bad)
                printf(dngettext(GETTEXT_PACKAGE, "%u of %zu vCPU would be refused by KVM_SET_NESTED_STATE.\n",
                                "%u of %zu vCPUs would be refused by KVM_SET_NESTED_STATE.\n", s->n_vcpus),
                       bad, s->n_vcpus);
        return cli_verdict_exit(bad, &notes);
}

const char *cli_verdict_name(unsigned bad, const CliNotes *notes) {
        return bad ? "refused" : notes->n ? "accepted-unchecked" : "accepted";
}

int cli_verdict_exit(unsigned bad, const CliNotes *notes) {
        return bad ? CLI_EXIT_PROBLEMS : notes->n ? CLI_EXIT_UNCHECKED : 0;
}
