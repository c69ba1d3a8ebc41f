/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * <nestvirt:nested>: parse and format side by side, in the same element
 * order (vmm, policy, state, previous), then the defaults and validation
 * passes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nested-meta.h"
#include "nested-state.h"
#include "xml-util.h"

#define MAX_PATH_LEN 4095
#define MAX_NAME_LEN 255

NV_DEFINE_STRING_TABLE(nv_vmm_transport, "socket", "bus")
NV_DEFINE_STRING_TABLE(nv_bus_type, "system", "session")
NV_DEFINE_STRING_TABLE(nv_nested_policy, "required", "optional")
NV_DEFINE_STRING_TABLE(nv_on_problem, "fail", "continue")

NvNestedMeta *nv_nested_meta_new(void) {
        NvNestedMeta *m = calloc(1, sizeof(*m));

        if (m)
                m->transport = m->bus = m->nested = m->on_missing = m->on_incompatible = -1;
        return m;
}

static void state_ref_clear(NvStateRef *s) {
        free(s->path);
        *s = (NvStateRef) {};
}

NvNestedMeta *nv_nested_meta_free(NvNestedMeta *m) {
        if (!m)
                return NULL;
        free(m->socket);
        free(m->bus_name);
        free(m->object_path);
        state_ref_clear(&m->state);
        for (size_t i = 0; i < m->n_previous; i++)
                state_ref_clear(&m->previous[i]);
        state_ref_clear(&m->inline_ref);
        free(m->inline_data);
        free(m);
        return NULL;
}

/* A bounded copy of an optional attribute; *ret stays NULL when absent. */
static int attr_dup(xmlNodePtr n, const char *attr, size_t max, char **ret, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = nv_xml_prop(n, attr);

        if (!v)
                return 0;
        if (strlen((const char *) v) > max)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s %s> is longer than %zu characters."), n->name, attr, max);
        *ret = strdup((const char *) v);
        return *ret ? 0 : -ENOMEM;
}

/* An optional enum attribute through its string table; *ret stays -1 when absent. */
static int attr_enum(xmlNodePtr n, const char *attr, int (*from_string)(const char *), int *ret, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *v = nv_xml_prop(n, attr);

        if (!v)
                return 0;
        *ret = from_string((const char *) v);
        if (*ret < 0)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s %s='%s'> is not a known value."), n->name, attr, (const char *) v);
        return 0;
}

static int parse_vmm(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        int r;

        if ((r = attr_enum(n, "transport", nv_vmm_transport_from_string, &m->transport, reterr)) < 0 ||
            (r = attr_dup(n, "socket", MAX_PATH_LEN, &m->socket, reterr)) < 0 ||
            (r = attr_enum(n, "bus", nv_bus_type_from_string, &m->bus, reterr)) < 0 ||
            (r = attr_dup(n, "name", MAX_NAME_LEN, &m->bus_name, reterr)) < 0 ||
            (r = attr_dup(n, "path", MAX_PATH_LEN, &m->object_path, reterr)) < 0)
                return r;
        return 0;
}

static int parse_policy(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        int r;

        if ((r = attr_enum(n, "nested", nv_nested_policy_from_string, &m->nested, reterr)) < 0 ||
            (r = attr_enum(n, "onMissing", nv_on_problem_from_string, &m->on_missing, reterr)) < 0 ||
            (r = attr_enum(n, "onIncompatible", nv_on_problem_from_string, &m->on_incompatible, reterr)) < 0)
                return r;
        return 0;
}

/* <state> (with a path) and <inline> (without) share their attributes. */
static int parse_state(xmlNodePtr n, NvStateRef *s, NvError **reterr) {
        _cleanup_free_ char *sha = NULL, *vcpus = NULL, *t = NULL;
        unsigned long v;
        char *end;
        int r;

        s->vendor = -1;
        if ((r = attr_dup(n, "path", MAX_PATH_LEN, &s->path, reterr)) < 0 ||
            (r = attr_dup(n, "sha256", 64, &sha, reterr)) < 0 ||
            (r = attr_enum(n, "vendor", nv_format_from_string, &s->vendor, reterr)) < 0 ||
            (r = attr_dup(n, "vcpus", 10, &vcpus, reterr)) < 0 || (r = attr_dup(n, "time", 31, &t, reterr)) < 0)
                return r;
        if ((!s->path && !nv_xml_is(n, NV_META_NAMESPACE, "inline")) || !sha || s->vendor < 0 || !vcpus || !t)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s> needs %ssha256, vendor, vcpus and time."), n->name,
                                    nv_xml_is(n, NV_META_NAMESPACE, "inline") ? "" : "path, ");
        v = strtoul(vcpus, &end, 10);
        if (vcpus[0] < '0' || vcpus[0] > '9' || *end)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s vcpus='%s'> is not a number."), n->name, vcpus);
        /* Ten digits fit an unsigned long but not always an unsigned: 4294967297 must not become 1. */
        if (v > UINT_MAX)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s vcpus='%s'> is too large."), n->name, vcpus);
        s->vcpus = (unsigned) v;
        strcpy(s->sha256, sha);
        strcpy(s->time, t);
        return 0;
}

static int parse_previous(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        for (xmlNodePtr c = n->children; c; c = c->next) {
                if (!nv_xml_is(c, NV_META_NAMESPACE, "state"))
                        continue;
                if (m->n_previous == NV_META_MAX_PREVIOUS)
                        return nv_error_set(reterr, -E2BIG, _("<nestvirt:previous> holds at most %d states."), NV_META_MAX_PREVIOUS);
                int r = parse_state(c, &m->previous[m->n_previous], reterr);
                m->n_previous++;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The text is bounded before it is copied: a migration carries at most NV_META_MAX_INLINE bytes. */
static int parse_inline(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        _cleanup_free_ xmlChar *text = NULL;
        int r;

        m->has_inline = true;
        r = parse_state(n, &m->inline_ref, reterr);
        if (r < 0)
                return r;
        text = xmlNodeGetContent(n);
        if (!text)
                return -ENOMEM;
        if (strlen((const char *) text) > NV_META_MAX_INLINE_B64 + 1024)
                return nv_error_set(reterr, -E2BIG, _("<nestvirt:inline> holds more than %u bytes."), NV_META_MAX_INLINE);
        m->inline_data = strdup((const char *) text);
        return m->inline_data ? 0 : -ENOMEM;
}

/*
 * Each child at most once, as in the schema: with two <state> elements
 * which one is current would be a guess, and the second's strings would
 * replace the first's.
 */
static int child_once(xmlNodePtr c, unsigned *seen, NvError **reterr) {
        static const char *const children[] = { "vmm", "policy", "state", "previous", "inline" };

        for (size_t i = 0; i < ELEMENTSOF(children); i++) {
                if (!nv_xml_is(c, NV_META_NAMESPACE, children[i]))
                        continue;
                if (*seen & 1u << i)
                        return nv_error_set(reterr, -EINVAL, _("<nestvirt:%s> appears more than once in <nestvirt:nested>."),
                                            children[i]);
                *seen |= 1u << i;
        }
        return 0;
}

int nv_nested_meta_parse_node(xmlNodePtr node, NvNestedMeta **ret, NvError **reterr) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *m = nv_nested_meta_new();
        unsigned seen = 0;
        int r = 0;

        if (!m)
                return -ENOMEM;
        if (!nv_xml_is(node, NV_META_NAMESPACE, "nested"))
                return nv_error_set(reterr, -EINVAL, _("Expected <nested xmlns=\"%s\">."), NV_META_NAMESPACE);
        for (xmlNodePtr c = node->children; c && r >= 0; c = c->next) {
                if ((r = child_once(c, &seen, reterr)) < 0)
                        break;
                if (nv_xml_is(c, NV_META_NAMESPACE, "vmm"))
                        r = parse_vmm(c, m, reterr);
                else if (nv_xml_is(c, NV_META_NAMESPACE, "policy"))
                        r = parse_policy(c, m, reterr);
                else if (nv_xml_is(c, NV_META_NAMESPACE, "state")) {
                        m->has_state = true;
                        r = parse_state(c, &m->state, reterr);
                } else if (nv_xml_is(c, NV_META_NAMESPACE, "previous"))
                        r = parse_previous(c, m, reterr);
                else if (nv_xml_is(c, NV_META_NAMESPACE, "inline"))
                        r = parse_inline(c, m, reterr);
                else if (c->type == XML_ELEMENT_NODE)
                        r = nv_error_set(reterr, -EINVAL, _("Unknown element <%s> in <nestvirt:nested>."), c->name);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Puts every un-namespaced element below node into ns. */
static void adopt_namespace(xmlNodePtr node, xmlNsPtr ns) {
        for (xmlNodePtr n = node; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE) {
                        if (!n->ns)
                                xmlSetNs(n, ns);
                        adopt_namespace(n->children, ns);
                }
}

int nv_nested_meta_parse_string(const char *xml, size_t len, NvNestedMeta **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        xmlNodePtr root;
        int r;

        r = nv_xml_read(xml, len, "nestvirt metadata", &doc, reterr);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        /* virDomainGetMetadata returns our element with the namespace stripped. */
        if (root && !root->ns)
                adopt_namespace(root, xmlNewNs(root, (const xmlChar *) NV_META_NAMESPACE, NULL));
        return nv_nested_meta_parse_node(root, ret, reterr);
}

void nv_nested_meta_post_parse(NvNestedMeta *m) {
        if (m->transport < 0)
                m->transport = m->bus_name ? NV_VMM_TRANSPORT_BUS : NV_VMM_TRANSPORT_SOCKET;
        if (m->transport == NV_VMM_TRANSPORT_BUS) {
                if (m->bus < 0)
                        m->bus = NV_BUS_SYSTEM;
                if (!m->object_path)
                        m->object_path = strdup(NV_META_DEFAULT_OBJECT_PATH);
        }
        if (m->nested < 0)
                m->nested = NV_NESTED_POLICY_REQUIRED;
        if (m->on_missing < 0)
                m->on_missing = NV_ON_PROBLEM_FAIL;
        if (m->on_incompatible < 0)
                m->on_incompatible = NV_ON_PROBLEM_FAIL;
}

/* D-Bus well-known name: elements of [A-Za-z0-9_-], not starting with a digit, at least two. */
static bool bus_name_valid(const char *s) {
        size_t elems = 1;
        bool start = true;

        if (!s || !*s || strlen(s) > MAX_NAME_LEN || *s == '.')
                return false;
        for (; *s; s++) {
                if (*s == '.') {
                        if (start)
                                return false;
                        elems++;
                        start = true;
                        continue;
                }
                if (!(*s == '_' || *s == '-' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                      (!start && *s >= '0' && *s <= '9')))
                        return false;
                start = false;
        }
        return !start && elems >= 2;
}

/* D-Bus object path: "/" or /elem(/elem)* with [A-Za-z0-9_]. */
static bool object_path_valid(const char *s) {
        if (!s || *s != '/')
                return false;
        if (strcmp(s, "/") == 0)
                return true;
        for (const char *p = s + 1; *p; p++)
                if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      (*p == '/' && p[-1] != '/' && p[1])))
                        return false;
        return s[1] != '\0';
}

static int validate_state(const NvStateRef *s, const char *where, NvError **reterr) {
        unsigned y, mo, d, h, mi, sec;
        char z = 0;

        if (s->path && s->path[0] != '/')
                return nv_error_set(reterr, -EINVAL, _("%s: path '%s' is not absolute."), where, s->path);
        if (strlen(s->sha256) != 64 || strspn(s->sha256, "0123456789abcdef") != 64)
                return nv_error_set(reterr, -EINVAL, _("%s: sha256 '%s' is not 64 lowercase hex digits."), where, s->sha256);
        if (s->vcpus < 1 || s->vcpus > 4096)
                return nv_error_set(reterr, -EINVAL, _("%s: vcpus %u is not between 1 and 4096."), where, s->vcpus);
        if (sscanf(s->time, "%4u-%2u-%2uT%2u:%2u:%2u%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z' ||
            strlen(s->time) != 20 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return nv_error_set(reterr, -EINVAL, _("%s: time '%s' is not UTC as YYYY-MM-DDTHH:MM:SSZ."), where, s->time);
        return 0;
}

int nv_nested_meta_validate(const NvNestedMeta *m, NvError **reterr) {
        int r;

        if (m->transport == NV_VMM_TRANSPORT_SOCKET && m->socket && m->socket[0] != '/')
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm socket='%s'> is not an absolute path."), m->socket);
        if (m->transport == NV_VMM_TRANSPORT_BUS && !bus_name_valid(m->bus_name))
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm name='%s'> is not a valid D-Bus name."),
                                    m->bus_name ? m->bus_name : "");
        if (m->transport == NV_VMM_TRANSPORT_BUS && !object_path_valid(m->object_path))
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm path='%s'> is not a valid D-Bus object path."),
                                    m->object_path ? m->object_path : "");
        if (m->transport == NV_VMM_TRANSPORT_SOCKET && m->bus_name)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm> names a bus name but its transport is 'socket'."));
        if (m->has_state && (r = validate_state(&m->state, "<nestvirt:state>", reterr)) < 0)
                return r;
        for (size_t i = 0; i < m->n_previous; i++)
                if ((r = validate_state(&m->previous[i], "<nestvirt:previous>", reterr)) < 0)
                        return r;
        if (m->has_inline && (r = validate_state(&m->inline_ref, "<nestvirt:inline>", reterr)) < 0)
                return r;
        if (m->has_inline && strspn(m->inline_data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n") !=
                                     strlen(m->inline_data))
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:inline>: the content is not base64."));
        return 0;
}

typedef struct Fmt {
        FILE *f;
        const char *p; /* "nestvirt:" or "" */
        unsigned indent;
} Fmt;

static void put_attr(Fmt *o, const char *name, const char *v) {
        if (!v)
                return;
        fprintf(o->f, " %s=\"", name);
        nv_xml_put_escaped(o->f, v);
        fputc('"', o->f);
}

static void format_state(Fmt *o, const char *element, const NvStateRef *s, unsigned depth) {
        char vcpus[16];

        snprintf(vcpus, sizeof(vcpus), "%u", s->vcpus);
        fprintf(o->f, "%*s<%s%s", (int) (o->indent + 2 * depth), "", o->p, element);
        put_attr(o, "path", s->path);
        put_attr(o, "sha256", s->sha256);
        put_attr(o, "vendor", nv_format_to_string(s->vendor));
        put_attr(o, "vcpus", vcpus);
        put_attr(o, "time", s->time);
}

static void format_children(Fmt *o, const NvNestedMeta *m) {
        if (m->transport >= 0 || m->socket || m->bus_name || m->object_path) {
                fprintf(o->f, "%*s<%svmm", (int) o->indent + 2, "", o->p);
                put_attr(o, "transport", nv_vmm_transport_to_string(m->transport));
                put_attr(o, "socket", m->socket);
                put_attr(o, "bus", nv_bus_type_to_string(m->bus));
                put_attr(o, "name", m->bus_name);
                put_attr(o, "path", m->object_path);
                fputs("/>\n", o->f);
        }
        if (m->nested >= 0 || m->on_missing >= 0 || m->on_incompatible >= 0) {
                fprintf(o->f, "%*s<%spolicy", (int) o->indent + 2, "", o->p);
                put_attr(o, "nested", nv_nested_policy_to_string(m->nested));
                put_attr(o, "onMissing", nv_on_problem_to_string(m->on_missing));
                put_attr(o, "onIncompatible", nv_on_problem_to_string(m->on_incompatible));
                fputs("/>\n", o->f);
        }
        if (m->has_state) {
                format_state(o, "state", &m->state, 1);
                fputs("/>\n", o->f);
        }
        if (m->n_previous) {
                fprintf(o->f, "%*s<%sprevious>\n", (int) o->indent + 2, "", o->p);
                for (size_t i = 0; i < m->n_previous; i++) {
                        format_state(o, "state", &m->previous[i], 2);
                        fputs("/>\n", o->f);
                }
                fprintf(o->f, "%*s</%sprevious>\n", (int) o->indent + 2, "", o->p);
        }
        if (m->has_inline) {
                format_state(o, "inline", &m->inline_ref, 1);
                fputc('>', o->f);
                nv_xml_put_escaped(o->f, m->inline_data);
                fprintf(o->f, "</%sinline>\n", o->p);
        }
}

int nv_nested_meta_format(const NvNestedMeta *m, bool prefix, unsigned indent, char **ret, NvError **reterr) {
        char *buf = NULL;
        size_t len = 0;
        Fmt o = { .p = prefix ? NV_META_PREFIX ":" : "", .indent = indent };

        o.f = open_memstream(&buf, &len);
        if (!o.f)
                return -ENOMEM;
        fprintf(o.f, "%*s<%snested", (int) indent, "", o.p);
        if (prefix)
                fprintf(o.f, " xmlns:%s=\"%s\"", NV_META_PREFIX, NV_META_NAMESPACE);
        fputs(">\n", o.f);
        format_children(&o, m);
        fprintf(o.f, "%*s</%snested>\n", (int) indent, "", o.p);
        if (fclose(o.f) != 0) {
                free(buf);
                return nv_error_set(reterr, -ENOMEM, _("Cannot format the nestvirt metadata."));
        }
        *ret = buf;
        return 0;
}

static int state_ref_copy(NvStateRef *dst, const NvStateRef *src) {
        *dst = *src;
        dst->path = strdup(src->path);
        return dst->path ? 0 : -ENOMEM;
}

void nv_nested_meta_forget_states(NvNestedMeta *m) {
        state_ref_clear(&m->state);
        m->has_state = false;
        for (size_t i = 0; i < m->n_previous; i++)
                state_ref_clear(&m->previous[i]);
        m->n_previous = 0;
}

int nv_nested_meta_push_state(NvNestedMeta *m, const NvStateRef *state) {
        NvStateRef fresh;

        if (state_ref_copy(&fresh, state) < 0)
                return -ENOMEM;
        if (m->has_state) {
                if (m->n_previous == NV_META_MAX_PREVIOUS)
                        state_ref_clear(&m->previous[--m->n_previous]);
                memmove(&m->previous[1], &m->previous[0], m->n_previous * sizeof(NvStateRef));
                m->previous[0] = m->state;
                m->n_previous++;
        }
        m->state = fresh;
        m->has_state = true;
        return 0;
}
