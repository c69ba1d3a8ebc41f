/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libxml2 helpers and cleanup functions shared by the xml/ layer. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "error.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);

static inline void xml_freep(xmlChar **p) {
        xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xml_freep)

#define NV_XML_MAX_SIZE (1u << 20) /* no document we read is larger */

/*
 * Parses an untrusted document: bounded size, no network, no entity
 * expansion, no DTD loading.  name is used in messages.
 */
int nv_xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *ret, NvError **reterr);

/* The attribute's value, or NULL; the caller frees it with xmlFree. */
xmlChar *nv_xml_prop(xmlNodePtr node, const char *name);

/* The first child element called name, or NULL. */
xmlNodePtr nv_xml_child(xmlNodePtr node, const char *name);
