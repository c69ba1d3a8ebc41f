/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading untrusted XML with libxml2. */
#include <stdio.h>
#include <string.h>

#include "xml-util.h"

int nv_xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *ret, NvError **reterr) {
        xmlDocPtr doc;
        const xmlError *e;

        if (len > NV_XML_MAX_SIZE)
                return nv_error_set(reterr, -EFBIG, _("%s is %zu bytes; XML documents are limited to %u."), name, len, NV_XML_MAX_SIZE);
        doc = xmlReadMemory(buf, (int) len, name, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
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

xmlChar *nv_xml_prop(xmlNodePtr node, const char *name) {
        return node ? xmlGetProp(node, (const xmlChar *) name) : NULL;
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

void nv_xml_put_escaped(FILE *f, const char *v) {
        for (; *v; v++) {
                switch (*v) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                /* A parser turns these into spaces in an attribute value (and \r\n into \n in text): only references survive. */
                case '\t':
                        fputs("&#9;", f);
                        break;
                case '\n':
                        fputs("&#10;", f);
                        break;
                case '\r':
                        fputs("&#13;", f);
                        break;
                default:
                        fputc(*v, f);
                        break;
                }
        }
}
