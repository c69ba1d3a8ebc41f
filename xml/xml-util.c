/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading untrusted XML with libxml2, and building it with the tree API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml-util.h"

int nv_xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *ret, NvError **reterr) {
        xmlDocPtr doc;
        const xmlError *e;

        if (len > NV_XML_MAX_SIZE)
                return nv_error_set(reterr, -EFBIG, _("%s is %zu bytes; XML documents are limited to %u."), name, len, NV_XML_MAX_SIZE);
        /* BIG_LINES: messages name the line, also past 65535. */
        doc = xmlReadMemory(buf, (int) len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
        if (!doc) {
                char msg[256] = "?";

                e = xmlGetLastError();
                if (e && e->message)
                        snprintf(msg, sizeof(msg), "%.*s", (int) strcspn(e->message, "\n"), e->message);
                return nv_error_set(reterr, -EINVAL, _("%s is not well-formed XML (line %d): %s"), name, e ? e->line : 0, msg);
        }
        *ret = doc;
        return 0;
}

xmlNodePtr nv_xml_child(xmlNodePtr node, const char *name) {
        for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, name) == 0)
                        return c;
        return NULL;
}

bool nv_xml_is(xmlNodePtr node, const char *ns, const char *name) {
        return node && node->type == XML_ELEMENT_NODE && strcmp((const char *) node->name, name) == 0 &&
               node->ns && node->ns->href && strcmp((const char *) node->ns->href, ns) == 0;
}

static int run_passes(const NvXmlDocParser *p, xmlNodePtr root, unsigned flags, void *def, NvError **reterr) {
        int r;

        r = p->parse(root, def, reterr);
        if (r < 0)
                return r;
        if (p->post_parse)
                p->post_parse(def);
        if (p->validate && !(flags & NV_XML_PARSE_SKIP_VALIDATE))
                return p->validate(def, reterr);
        return 0;
}

int nv_xml_parse_doc(const NvXmlDocParser *p, const char *buf, size_t len, unsigned flags, void **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        void *def;
        int r;

        if (flags & ~(unsigned) NV_XML_PARSE_SKIP_VALIDATE)
                return nv_error_set(reterr, -EINVAL, _("Unsupported flags 0x%1$x for parsing %2$s."), flags, p->name);
        r = nv_xml_read(buf, len, p->name, &doc, reterr);
        if (r < 0)
                return r;
        def = p->alloc();
        if (!def)
                return -ENOMEM;
        r = run_passes(p, xmlDocGetRootElement(doc), flags, def, reterr);
        if (r < 0) {
                p->free(def);
                return r;
        }
        *ret = def;
        return 0;
}

/* The element as the document spells it (with its prefix), for messages. */
static const char *display_name(xmlNodePtr n, char *buf, size_t size) {
        if (n->ns && n->ns->prefix)
                snprintf(buf, size, "%s:%s", (const char *) n->ns->prefix, (const char *) n->name);
        else
                snprintf(buf, size, "%s", (const char *) n->name);
        return buf;
}

/* The attribute's value, NULL when absent: an error if it is required. */
static int prop_get(xmlNodePtr n, const char *name, unsigned flags, xmlChar **ret, NvError **reterr) {
        char el[128];

        *ret = xmlGetProp(n, (const xmlChar *) name);
        if (*ret || !(flags & NV_XML_PROP_REQUIRED))
                return 0;
        return nv_error_set(reterr, -EINVAL, _("line %1$ld: <%2$s> lacks attribute '%3$s'."), xmlGetLineNo(n),
                            display_name(n, el, sizeof(el)), name);
}

/* Values are cut at 64 characters in messages (%.64s): a valid one is short, and a document may hold megabytes. */
static int prop_invalid(xmlNodePtr n, const char *name, const xmlChar *v, NvError **reterr) {
        char el[128];

        return nv_error_set(reterr, -EINVAL, _("line %1$ld: <%2$s %3$s='%4$.64s'> is not a known value."), xmlGetLineNo(n),
                            display_name(n, el, sizeof(el)), name, (const char *) v);
}

/* The attribute's value, NULL when absent, refused when longer than max. */
static int prop_bounded(xmlNodePtr n, const char *name, size_t max, unsigned flags, xmlChar **ret, NvError **reterr) {
        char el[128];
        int r;

        r = prop_get(n, name, flags, ret, reterr);
        if (r < 0 || !*ret || strlen((const char *) *ret) <= max)
                return r;
        xmlFree(*ret);
        *ret = NULL;
        return nv_error_set(reterr, -EINVAL, _("line %1$ld: <%2$s %3$s> is longer than %4$zu characters."), xmlGetLineNo(n),
                            display_name(n, el, sizeof(el)), name, max);
}

int nv_xml_prop_string_buf(xmlNodePtr n, const char *name, char *buf, size_t size, unsigned flags, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = NULL;
        int r = prop_bounded(n, name, size - 1, flags, &v, reterr);

        if (r < 0 || !v)
                return r;
        strcpy(buf, (const char *) v);
        return 1;
}

int nv_xml_prop_string(xmlNodePtr n, const char *name, size_t max, unsigned flags, char **ret, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = NULL;
        int r = prop_bounded(n, name, max, flags, &v, reterr);

        if (r < 0 || !v)
                return r;
        *ret = strdup((const char *) v);
        return *ret ? 1 : -ENOMEM;
}

int nv_xml_prop_uint(xmlNodePtr n, const char *name, unsigned max, unsigned flags, unsigned *ret, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = NULL;
        unsigned min = flags & NV_XML_PROP_NONZERO ? 1 : 0;
        uint64_t x;
        char el[128];
        int r;

        r = prop_get(n, name, flags, &v, reterr);
        if (r < 0 || !v)
                return r;
        if (nv_parse_unsigned((const char *) v, 10, max, &x) < 0 || x < min)
                return nv_error_set(reterr, -EINVAL, _("line %1$ld: <%2$s %3$s='%4$.64s'> is not a number from %5$u to %6$u."),
                                    xmlGetLineNo(n), display_name(n, el, sizeof(el)), name, (const char *) v, min, max);
        *ret = (unsigned) x;
        return 1;
}

int nv_xml_prop_hex64(xmlNodePtr n, const char *name, unsigned flags, uint64_t *ret, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = NULL;
        const char *s;
        char el[128];
        int r;

        r = prop_get(n, name, flags, &v, reterr);
        if (r < 0 || !v)
                return r;
        s = (const char *) v;
        if (strncmp(s, "0x", 2) != 0 || strlen(s) > 18 || nv_parse_unsigned(s + 2, 16, UINT64_MAX, ret) < 0)
                return nv_error_set(reterr, -EINVAL, _("line %1$ld: <%2$s %3$s='%4$.64s'> is not 0x and 1 to 16 hex digits."),
                                    xmlGetLineNo(n), display_name(n, el, sizeof(el)), name, s);
        return 1;
}

int nv_xml_prop_enum(xmlNodePtr n, const char *name, int (*from_string)(const char *), unsigned flags, int *ret,
                     NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = NULL;
        int r, e;

        r = prop_get(n, name, flags, &v, reterr);
        if (r < 0 || !v)
                return r;
        e = from_string((const char *) v);
        if (e < 0)
                return prop_invalid(n, name, v, reterr);
        *ret = e;
        return 1;
}

/* The tristate's names, indexed by NvTristate + 1. */
NV_DEFINE_PRIVATE_STRING_TABLE(tristate_index, "unknown", "no", "yes")
_Static_assert(NV_UNKNOWN == -1 && NV_NO == 0 && NV_YES == 1, "tristate_index's order");

const char *nv_xml_tristate_to_string(NvTristate t) {
        return tristate_index_to_string((int) t + 1);
}

int nv_xml_prop_tristate(xmlNodePtr n, const char *name, unsigned flags, NvTristate *ret, NvError **reterr) {
        int v, r = nv_xml_prop_enum(n, name, tristate_index_from_string, flags, &v, reterr);

        if (r > 0)
                *ret = (NvTristate) (v - 1);
        return r;
}

int nv_xml_prop_bool(xmlNodePtr n, const char *name, unsigned flags, bool *ret, NvError **reterr) {
        NvTristate t = NV_UNKNOWN;
        int r;

        r = nv_xml_prop_tristate(n, name, flags, &t, reterr);
        if (r <= 0)
                return r;
        if (t == NV_UNKNOWN) /* "unknown" is no boolean */
                return prop_invalid(n, name, (const xmlChar *) "unknown", reterr);
        *ret = t == NV_YES;
        return 1;
}

int nv_xml_new_child(xmlNodePtr parent, const char *name, xmlNodePtr *ret) {
        *ret = xmlNewChild(parent, parent->ns, (const xmlChar *) name, NULL);
        return *ret ? 0 : -ENOMEM;
}

int nv_xml_set_prop(xmlNodePtr node, const char *name, const char *value) {
        if (!value)
                return 0;
        return xmlNewProp(node, (const xmlChar *) name, (const xmlChar *) value) ? 0 : -ENOMEM;
}

int nv_xml_set_prop_uint(xmlNodePtr node, const char *name, unsigned value) {
        char s[16];

        snprintf(s, sizeof(s), "%u", value);
        return nv_xml_set_prop(node, name, s);
}

int nv_xml_set_prop_hex64(xmlNodePtr node, const char *name, uint64_t value) {
        char s[24];

        snprintf(s, sizeof(s), "0x%llx", (unsigned long long) value);
        return nv_xml_set_prop(node, name, s);
}

int nv_xml_new_doc(const char *root, const char *href, const char *prefix, xmlDocPtr *ret_doc, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = xmlNewDoc((const xmlChar *) "1.0");
        xmlNodePtr r;
        xmlNsPtr ns;

        /* Without an encoding, libxml2 writes every non-ASCII character as a character reference. */
        if (!doc || !(doc->encoding = xmlStrdup((const xmlChar *) "UTF-8")) ||
            !(r = xmlNewDocNode(doc, NULL, (const xmlChar *) root, NULL)))
                return nv_error_set(reterr, -ENOMEM, _("Out of memory building an XML document."));
        xmlDocSetRootElement(doc, r);
        if (href) {
                ns = xmlNewNs(r, (const xmlChar *) href, (const xmlChar *) prefix);
                if (!ns)
                        return nv_error_set(reterr, -ENOMEM, _("Out of memory building an XML document."));
                xmlSetNs(r, ns);
        }
        *ret_doc = TAKE_PTR(doc);
        return 0;
}

int nv_xml_node_format(xmlNodePtr node, char **ret, NvError **reterr) {
        xmlBufferPtr buf = xmlBufferCreate();
        char *s = NULL;

        if (buf && xmlNodeDump(buf, node->doc, node, 0, /* format= */ 1) >= 0)
                s = malloc((size_t) xmlBufferLength(buf) + 2);
        if (s) {
                memcpy(s, xmlBufferContent(buf), (size_t) xmlBufferLength(buf));
                strcpy(s + xmlBufferLength(buf), "\n");
        }
        xmlBufferFree(buf);
        if (!s)
                return nv_error_set(reterr, -ENOMEM, _("Out of memory formatting an XML document."));
        *ret = s;
        return 0;
}
