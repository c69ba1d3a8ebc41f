/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host capabilities document: what `nestvirt capabilities --xml`
 * prints and what another host's migrate-check reads.  Parse and format
 * are a pair in host-caps.c, in the same field order; the schema is
 * data/schemas/nestvirt-capabilities.rng.
 */
#pragma once

#include "host.h"
#include "xml-util.h"

#define NV_CAPS_NAMESPACE "http://nestvirt.org/schemas/capabilities/1.0"

/* Formats h as a capabilities document; *ret is freed with free(). */
int nv_host_caps_format(const NvHostInfo *h, char **ret, NvError **reterr);

/*
 * The parse entry for a capabilities document (untrusted: another host
 * wrote it).  Every attribute is required and checked against its type,
 * unknown values are refused with the line, element and attribute named;
 * there are no defaults and nothing to validate beyond that, so flags
 * (NV_XML_PARSE_*) changes nothing today.  *ret only on success.
 */
int nv_host_caps_parse(const char *buf, size_t len, unsigned flags, NvHostInfo *ret, NvError **reterr);
