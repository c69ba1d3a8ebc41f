/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the domain commands share: host facts and a domain's JSON view. */
#pragma once

#include <json-c/json.h>

#include "cli.h"
#include "conn.h"
#include "driver.h"
#include "snapshot.h"

/* This host's facts: the probe, or the simulated KVM's with --sim. */
int cli_host_facts(Cli *cli, NvHostInfo *ret, NvError **reterr);

/*
 * Writes down for the hook what libvirt said of the CPU models c was asked
 * about (STATE_DIR/cpu-models.xml).  Best effort: a user who cannot write
 * the state directory still gets the listing; the hook then cannot tell,
 * and says so rather than refuse.
 */
void cli_keep_cpu_cache(NvConn *c, const NvHostInfo *host);

/* Another host's facts from its `nestvirt capabilities --xml` in path. */
int cli_read_dest_caps(const char *path, NvHostInfo *ret, NvError **reterr);

/* The checks a verdict could not make, each reason once (static, untranslated: N_()). */
typedef struct CliNotes {
        const char *text[32];
        size_t n;
} CliNotes;

void cli_notes_add(CliNotes *notes, const char *text);
/* The validator's context for a vCPU of the host dst describes, noting what its document lacks. */
void cli_dest_context(const NvHostInfo *dst, NvValidateContext *ctx, CliNotes *notes);
/*
 * The one engine of verify and migrate-check: every blob of s through the
 * validator with ctx, a line each on stdout (text) or an object each in
 * vcpus (JSON); the unchecked rules go to notes.  Returns how many the
 * kernel would refuse.
 */
unsigned cli_verify_blobs(const NvSnapshot *s, const NvValidateContext *ctx, CliNotes *notes, json_object *vcpus);
/* One blob of vCPU index the same way; false: the kernel would refuse it. */
bool cli_verify_blob(uint32_t index, const NvBlob *b, const NvValidateContext *ctx, CliNotes *notes, json_object *vcpus);
/* "accepted", "accepted-unchecked" or "refused", and its exit status (0, 3, 1). */
const char *cli_verdict_name(unsigned bad, const CliNotes *notes);
int cli_verdict_exit(unsigned bad, const CliNotes *notes);
/* Prints o as the commands' --json output (pretty, slashes unescaped); o stays the caller's. */
void cli_print_json(json_object *o);
/* A state reference as JSON (null for none). */
json_object *cli_state_json(const NvStateRef *s);

/* A FrozenSince time as UTC ISO 8601, or words saying it is not known (0). */
void cli_frozen_since(uint64_t since_usec, char ret[64]);

/*
 * What the running domain's VMM says of its freeze: {reachable, frozen,
 * frozen_since} or {reachable: false, error}; NULL for a domain that is
 * not running or has no VMM named.
 */
json_object *cli_vmm_state_json(NvDriver *d, const NvDomainEntry *e);

/* Everything known about one domain on this host, as a JSON object. */
json_object *cli_domain_json(const NvDomainEntry *e, const NvHostInfo *host);
