/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libxml2 helpers and cleanup functions shared by the xml/ layer. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h" /* NV_DEFINE_STRING_TABLE */

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);

static inline void xml_freep(xmlChar **p) {
        xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xml_freep)

#define NV_XML_MAX_SIZE (4u << 20) /* no document we read is larger (domain XML may carry an inline snapshot) */

/*
 * Parses an untrusted document: bounded size, no network, no entity
 * expansion, no DTD loading.  name is used in messages.
 */
int nv_xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *ret, NvError **reterr);

/* The attribute's value, or NULL; the caller frees it with xmlFree. */
xmlChar *nv_xml_prop(xmlNodePtr node, const char *name);

/* The first child element called name, or NULL. */
xmlNodePtr nv_xml_child(xmlNodePtr node, const char *name);


/* Whether node is an element called name in namespace ns (any prefix). */
bool nv_xml_is(xmlNodePtr node, const char *ns, const char *name);

/* Appends s to f with &, <, >, " and tab, newline, carriage return escaped (for attribute values). */
void nv_xml_put_escaped(FILE *f, const char *s);
