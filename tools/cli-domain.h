/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the domain commands share: host facts and a domain's JSON view. */
#pragma once

#include <json-c/json.h>

#include "cli.h"
#include "conn.h"

/* This host's facts: the probe, or the simulated KVM's with --sim. */
int cli_host_facts(Cli *cli, NvHostInfo *ret, NvError **reterr);

/* Another host's facts from its `nestvirt capabilities --xml` in path. */
int cli_read_dest_caps(const char *path, NvHostInfo *ret, NvError **reterr);
/* Prints o as the commands' --json output (pretty, slashes unescaped); o stays the caller's. */
void cli_print_json(json_object *o);
/* A state reference as JSON (null for none). */
json_object *cli_state_json(const NvStateRef *s);

/* Everything known about one domain on this host, as a JSON object. */
json_object *cli_domain_json(const NvDomainEntry *e, const NvHostInfo *host);
