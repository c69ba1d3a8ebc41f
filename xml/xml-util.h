/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxml2 helpers shared by the xml/ layer, in libvirt's manner: one parse
 * entry per document type running its passes in order, one family of typed
 * attribute readers, and the tree-building helpers their formatters use.
 */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>

#include "error.h"
#include "macro.h"
#include "util.h" /* NV_DEFINE_STRING_TABLE */
#include "validate.h"

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

/* The first child element called name, or NULL. */
xmlNodePtr nv_xml_child(xmlNodePtr node, const char *name);

/* Whether node is an element called name in namespace ns (any prefix). */
bool nv_xml_is(xmlNodePtr node, const char *ns, const char *name);

/*
 * One parse entry per document type (libvirt's ParseString and its parser
 * config): the document is read, then its passes run in this order.  parse
 * checks syntax only (known values, bounded lengths) and fills def;
 * post_parse fills the defaults where they apply without writing them into
 * what is formatted back; validate checks meaning.  NULL passes are skipped.
 */
typedef enum NvXmlParseFlags {
        /* Parse and post-parse only: read what a document says without judging it. */
        NV_XML_PARSE_SKIP_VALIDATE = 1 << 0,
} NvXmlParseFlags;

typedef struct NvXmlDocParser {
        const char *name; /* the document, in messages ("domain XML") */
        void *(*alloc)(void);     /* a fresh def, NULL when out of memory */
        void (*free)(void *def);
        int (*parse)(xmlNodePtr root, void *def, NvError **reterr);
        void (*post_parse)(void *def);
        int (*validate)(const void *def, NvError **reterr);
} NvXmlDocParser;

/* Runs p's passes over buf into a new def, *ret only on success. */
int nv_xml_parse_doc(const NvXmlDocParser *p, const char *buf, size_t len, unsigned flags, void **ret, NvError **reterr);

/*
 * Typed attribute readers (libvirt's virXMLProp*).  Each returns 1 when the
 * attribute was read into *ret, 0 when it is absent and optional (*ret
 * untouched), or -errno with an error naming the line, the element, the
 * attribute and (where it helps) the value.
 */
typedef enum NvXmlPropFlags {
        NV_XML_PROP_OPTIONAL = 0,
        NV_XML_PROP_REQUIRED = 1 << 0, /* absent is an error */
        NV_XML_PROP_NONZERO = 1 << 1,  /* numbers: 0 is refused */
} NvXmlPropFlags;

/* A copy of at most max bytes; *ret is freed with free(). */
int nv_xml_prop_string(xmlNodePtr node, const char *name, size_t max, unsigned flags, char **ret, NvError **reterr);
/* The same into a buffer of size bytes (at most size - 1 characters). */
int nv_xml_prop_string_buf(xmlNodePtr node, const char *name, char *buf, size_t size, unsigned flags, NvError **reterr);
/* Decimal digits only (no sign, no blanks, no wrap-around), at most max. */
int nv_xml_prop_uint(xmlNodePtr node, const char *name, unsigned max, unsigned flags, unsigned *ret, NvError **reterr);
/* "0x" and 1 to 16 hex digits: a register or MSR value. */
int nv_xml_prop_hex64(xmlNodePtr node, const char *name, unsigned flags, uint64_t *ret, NvError **reterr);
/* A value of a string table (NV_DEFINE_STRING_TABLE's _from_string). */
int nv_xml_prop_enum(xmlNodePtr node, const char *name, int (*from_string)(const char *), unsigned flags, int *ret,
                     NvError **reterr);
/* "yes" or "no". */
int nv_xml_prop_bool(xmlNodePtr node, const char *name, unsigned flags, bool *ret, NvError **reterr);
/* "yes", "no" or "unknown". */
int nv_xml_prop_tristate(xmlNodePtr node, const char *name, unsigned flags, NvTristate *ret, NvError **reterr);

/* "yes", "no", "unknown": the values nv_xml_prop_tristate() and nv_xml_prop_bool() read. */
const char *nv_xml_tristate_to_string(NvTristate t);

/*
 * Building documents with the tree API, the formatters' half: the
 * attribute writers mirror the readers and write nothing for NULL, so an
 * absent field stays absent.  They return 0, or -ENOMEM.
 */
int nv_xml_new_child(xmlNodePtr parent, const char *name, xmlNodePtr *ret);
int nv_xml_set_prop(xmlNodePtr node, const char *name, const char *value);
int nv_xml_set_prop_uint(xmlNodePtr node, const char *name, unsigned value);
int nv_xml_set_prop_hex64(xmlNodePtr node, const char *name, uint64_t value);

/* A new document (UTF-8, so that text is written as it is) with an element root in namespace href (prefix may be NULL). */
int nv_xml_new_doc(const char *root, const char *href, const char *prefix, xmlDocPtr *ret_doc, NvError **reterr);

/* node and what it holds as text, indented by two spaces a level, ending in a newline; *ret is freed with free(). */
int nv_xml_node_format(xmlNodePtr node, char **ret, NvError **reterr);
