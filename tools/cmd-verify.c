/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt verify: integrity of a snapshot (or raw blob) plus the validator
 * for every blob.  Exit 0 when the kernel would accept everything, 1 with
 * one line per problem otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-file.h"
#include "cli.h"
#include "util.h"
#include "validate.h"
#include "x86-arch.h"

typedef struct Notes {
        const char *text[32];
        size_t n;
} Notes;

static void notes_add(Notes *notes, const NvValidateResult *res) {
        for (size_t i = 0; i < res->n_unchecked; i++) {
                bool seen = false;
                for (size_t j = 0; j < notes->n; j++)
                        seen |= notes->text[j] == res->unchecked[i];
                if (!seen && notes->n < ELEMENTSOF(notes->text))
                        notes->text[notes->n++] = res->unchecked[i];
        }
}

/* Validates every blob; returns how many the kernel would refuse. */
static unsigned verify_blobs(const NvSnapshot *s, const NvValidateContext *ctx, Notes *notes) {
        unsigned bad = 0;

        for (size_t i = 0; i < s->n_vcpus; i++) {
                const NvBlob *b = &s->vcpus[i].blob;
                NvValidateResult res;

                if (nv_validate(b->data, b->len, ctx, &res) < 0) {
                        printf(_("vCPU %u: %s\n"), s->vcpus[i].index, res.message);
                        bad++;
                } else
                        printf(_("vCPU %u: ok (%zu bytes)\n"), s->vcpus[i].index, b->len);
                notes_add(notes, &res);
        }
        return bad;
}

static int parse_args(int argc, char **argv, NvValidateContext *ctx, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "maxphyaddr", required_argument, NULL, 'm' },
                { "vendor", required_argument, NULL, 'v' },
                {},
        };
        uint64_t m;
        int c;

        while ((c = getopt_long(argc, argv, "hm:v:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt verify FILE [--maxphyaddr N] [--vendor vmx|svm]\n"
                                 "Check a snapshot file or raw blob: integrity, then every blob against the\n"
                                 "kernel's KVM_SET_NESTED_STATE rules.  Exit 0 if the kernel would accept\n"
                                 "everything, 1 otherwise, with one line per problem.\n\n"
                                 "  --maxphyaddr N   the target vCPU's guest MAXPHYADDR (bits, 32 to 52)\n"
                                 "  --vendor V       the target host's vendor: vmx or svm\n"));
                        return 0;
                case 'm':
                        if (nv_parse_unsigned(optarg, 10, X86_ARCH_MAXPHYADDR, &m) < 0 || m < 32)
                                return nv_error_set(reterr, -EINVAL, _("--maxphyaddr takes a number of bits from 32 to 52, not '%s'."), optarg);
                        ctx->maxphyaddr = (unsigned) m;
                        break;
                case 'v':
                        ctx->vendor = nv_format_from_string(optarg);
                        if (ctx->vendor < 0)
                                return nv_error_set(reterr, -EINVAL, _("--vendor takes 'vmx' or 'svm', not '%s'."), optarg);
                        break;
                default:
                        return nv_error_set(reterr, -EINVAL, _("Invalid option for 'verify'; see 'nestvirt verify --help'."));
                }
        }
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'verify' takes exactly one FILE; see 'nestvirt verify --help'."));
        return 1;
}

int cmd_verify(Cli *cli, int argc, char **argv, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        _cleanup_(nv_error_freep) NvError *integrity = NULL;
        NvValidateContext ctx;
        Notes notes = {};
        unsigned bad;
        bool raw;
        int r;

        (void) cli;
        nv_validate_context_init(&ctx);
        r = parse_args(argc, argv, &ctx, reterr);
        if (r <= 0)
                return r;
        r = cli_load_state_file(argv[optind], &s, &raw, &integrity);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* A damaged file is a finding, not a failure of the command. */
                printf("%s\n", nv_error_message(integrity, r));
                return 1;
        }
        printf(_("%s: %s intact, %zu vCPU(s)\n"), argv[optind], raw ? _("raw blob") : _("snapshot"), s->n_vcpus);
        bad = verify_blobs(s, &ctx, &notes);
        for (size_t i = 0; i < notes.n; i++)
                printf(_("note: not checked: %s\n"), _(notes.text[i]));
        if (bad)
                printf(_("%u of %zu vCPU(s) would be refused by KVM_SET_NESTED_STATE.\n"), bad, s->n_vcpus);
        return bad ? 1 : 0;
}
