/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the domain commands share: host facts and a domain's JSON view. */
#pragma once

#include <json-c/json.h>

#include "cli.h"
#include "conn.h"
#include "driver.h"

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
