/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * <nestvirt:nested>: each element's parse and format side by side, in the
 * same element and attribute order (vmm, policy, state, previous, inline),
 * then the defaults and validation passes and the parse entry.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nested-meta.h"
#include "nested-state.h"
#include "xml-util.h"

#define MAX_PATH_LEN 4095
#define MAX_NAME_LEN 255

NV_DEFINE_STRING_TABLE(nv_vmm_transport, "socket", "bus", "process")
NV_DEFINE_STRING_TABLE(nv_bus_type, "system", "session")
NV_DEFINE_STRING_TABLE(nv_nested_policy, "required", "optional")
NV_DEFINE_STRING_TABLE(nv_on_problem, "fail", "continue")

NvNestedMeta *nv_nested_meta_new(void) {
        NvNestedMeta *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->written.transport = m->written.bus = m->written.nested = m->written.on_missing = m->written.on_incompatible = -1;
        nv_nested_meta_post_parse(m);
        return m;
}

static void state_ref_clear(NvStateRef *s) {
        free(s->path);
        *s = (NvStateRef) {};
}

NvNestedMeta *nv_nested_meta_free(NvNestedMeta *m) {
        if (!m)
                return NULL;
        free(m->written.object_path);
        free(m->socket);
        free(m->bus_name);
        free(m->pidfile);
        state_ref_clear(&m->state);
        for (size_t i = 0; i < m->n_previous; i++)
                state_ref_clear(&m->previous[i]);
        state_ref_clear(&m->inline_ref);
        free(m->inline_data);
        free(m);
        return NULL;
}

static int parse_vmm(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        int r;

        if ((r = nv_xml_prop_enum(n, "transport", nv_vmm_transport_from_string, 0, &m->written.transport, reterr)) < 0 ||
            (r = nv_xml_prop_string(n, "socket", MAX_PATH_LEN, 0, &m->socket, reterr)) < 0 ||
            (r = nv_xml_prop_enum(n, "bus", nv_bus_type_from_string, 0, &m->written.bus, reterr)) < 0 ||
            (r = nv_xml_prop_string(n, "name", MAX_NAME_LEN, 0, &m->bus_name, reterr)) < 0 ||
            (r = nv_xml_prop_string(n, "path", MAX_PATH_LEN, 0, &m->written.object_path, reterr)) < 0 ||
            (r = nv_xml_prop_string(n, "pidfile", MAX_PATH_LEN, 0, &m->pidfile, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "pid", INT32_MAX, NV_XML_PROP_NONZERO, &m->pid, reterr)) < 0)
                return r;
        return 0;
}

static int format_vmm(xmlNodePtr parent, const NvNestedMeta *m) {
        xmlNodePtr n;

        if (m->written.transport < 0 && !m->socket && m->written.bus < 0 && !m->bus_name && !m->written.object_path &&
            !m->pidfile && !m->pid)
                return 0;
        if (nv_xml_new_child(parent, "vmm", &n) < 0 ||
            nv_xml_set_prop(n, "transport", nv_vmm_transport_to_string(m->written.transport)) < 0 ||
            nv_xml_set_prop(n, "socket", m->socket) < 0 ||
            nv_xml_set_prop(n, "bus", nv_bus_type_to_string(m->written.bus)) < 0 ||
            nv_xml_set_prop(n, "name", m->bus_name) < 0 || nv_xml_set_prop(n, "path", m->written.object_path) < 0 ||
            nv_xml_set_prop(n, "pidfile", m->pidfile) < 0 || (m->pid && nv_xml_set_prop_uint(n, "pid", m->pid) < 0))
                return -ENOMEM;
        return 0;
}

static int parse_policy(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        int r;

        if ((r = nv_xml_prop_enum(n, "nested", nv_nested_policy_from_string, 0, &m->written.nested, reterr)) < 0 ||
            (r = nv_xml_prop_enum(n, "onMissing", nv_on_problem_from_string, 0, &m->written.on_missing, reterr)) < 0 ||
            (r = nv_xml_prop_enum(n, "onIncompatible", nv_on_problem_from_string, 0, &m->written.on_incompatible, reterr)) < 0)
                return r;
        return 0;
}

static int format_policy(xmlNodePtr parent, const NvNestedMeta *m) {
        xmlNodePtr n;

        if (m->written.nested < 0 && m->written.on_missing < 0 && m->written.on_incompatible < 0)
                return 0;
        if (nv_xml_new_child(parent, "policy", &n) < 0 ||
            nv_xml_set_prop(n, "nested", nv_nested_policy_to_string(m->written.nested)) < 0 ||
            nv_xml_set_prop(n, "onMissing", nv_on_problem_to_string(m->written.on_missing)) < 0 ||
            nv_xml_set_prop(n, "onIncompatible", nv_on_problem_to_string(m->written.on_incompatible)) < 0)
                return -ENOMEM;
        return 0;
}

/* <state> (with a path) and <inline> (without) share their attributes. */
static int parse_state(xmlNodePtr n, NvStateRef *s, NvError **reterr) {
        unsigned path = nv_xml_is(n, NV_META_NAMESPACE, "inline") ? NV_XML_PROP_OPTIONAL : NV_XML_PROP_REQUIRED;
        int r;

        s->vendor = -1;
        if ((r = nv_xml_prop_string(n, "path", MAX_PATH_LEN, path, &s->path, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "sha256", s->sha256, sizeof(s->sha256), NV_XML_PROP_REQUIRED, reterr)) < 0 ||
            (r = nv_xml_prop_enum(n, "vendor", nv_format_from_string, NV_XML_PROP_REQUIRED, &s->vendor, reterr)) < 0 ||
            (r = nv_xml_prop_uint(n, "vcpus", UINT_MAX, NV_XML_PROP_REQUIRED, &s->vcpus, reterr)) < 0 ||
            (r = nv_xml_prop_string_buf(n, "time", s->time, sizeof(s->time), NV_XML_PROP_REQUIRED, reterr)) < 0)
                return r;
        return 0;
}

static int format_state(xmlNodePtr parent, const char *element, const NvStateRef *s, xmlNodePtr *ret) {
        xmlNodePtr n;

        if (nv_xml_new_child(parent, element, &n) < 0 || nv_xml_set_prop(n, "path", s->path) < 0 ||
            nv_xml_set_prop(n, "sha256", s->sha256) < 0 || nv_xml_set_prop(n, "vendor", nv_format_to_string(s->vendor)) < 0 ||
            nv_xml_set_prop_uint(n, "vcpus", s->vcpus) < 0 || nv_xml_set_prop(n, "time", s->time) < 0)
                return -ENOMEM;
        if (ret)
                *ret = n;
        return 0;
}

static int parse_previous(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        for (xmlNodePtr c = n->children; c; c = c->next) {
                if (!nv_xml_is(c, NV_META_NAMESPACE, "state"))
                        continue;
                if (m->n_previous == NV_META_MAX_PREVIOUS)
                        return nv_error_set(reterr, -E2BIG, _("line %1$ld: <nestvirt:previous> holds at most %2$d states."),
                                            xmlGetLineNo(c), NV_META_MAX_PREVIOUS);
                int r = parse_state(c, &m->previous[m->n_previous], reterr);
                m->n_previous++;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int format_previous(xmlNodePtr parent, const NvNestedMeta *m) {
        xmlNodePtr n;

        if (!m->n_previous)
                return 0;
        if (nv_xml_new_child(parent, "previous", &n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_previous; i++)
                if (format_state(n, "state", &m->previous[i], NULL) < 0)
                        return -ENOMEM;
        return 0;
}

/* The text is bounded before it is copied: a migration carries at most NV_META_MAX_INLINE bytes. */
static int parse_inline(xmlNodePtr n, NvNestedMeta *m, NvError **reterr) {
        _cleanup_xmlfree_ xmlChar *text = NULL;
        int r;

        m->has_inline = true;
        r = parse_state(n, &m->inline_ref, reterr);
        if (r < 0)
                return r;
        text = xmlNodeGetContent(n);
        if (!text)
                return -ENOMEM;
        if (strlen((const char *) text) > NV_META_MAX_INLINE_B64 + 1024)
                return nv_error_set(reterr, -E2BIG, _("line %1$ld: <nestvirt:inline> holds more than %2$u bytes."), xmlGetLineNo(n),
                                    NV_META_MAX_INLINE);
        m->inline_data = strdup((const char *) text);
        return m->inline_data ? 0 : -ENOMEM;
}

static int format_inline(xmlNodePtr parent, const NvNestedMeta *m) {
        xmlNodePtr n;

        if (!m->has_inline)
                return 0;
        if (format_state(parent, "inline", &m->inline_ref, &n) < 0)
                return -ENOMEM;
        if (!m->inline_data || !m->inline_data[0])
                return 0;
        xmlNodeAddContent(n, (const xmlChar *) m->inline_data); /* a text node: escaped when written */
        return n->children ? 0 : -ENOMEM;
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
                        return nv_error_set(reterr, -EINVAL, _("line %1$ld: <nestvirt:%2$s> appears more than once in <nestvirt:nested>."),
                                            xmlGetLineNo(c), children[i]);
                *seen |= 1u << i;
        }
        return 0;
}

static int parse_child(xmlNodePtr c, NvNestedMeta *m, NvError **reterr) {
        if (nv_xml_is(c, NV_META_NAMESPACE, "vmm"))
                return parse_vmm(c, m, reterr);
        if (nv_xml_is(c, NV_META_NAMESPACE, "policy"))
                return parse_policy(c, m, reterr);
        if (nv_xml_is(c, NV_META_NAMESPACE, "state")) {
                m->has_state = true;
                return parse_state(c, &m->state, reterr);
        }
        if (nv_xml_is(c, NV_META_NAMESPACE, "previous"))
                return parse_previous(c, m, reterr);
        if (nv_xml_is(c, NV_META_NAMESPACE, "inline"))
                return parse_inline(c, m, reterr);
        if (c->type == XML_ELEMENT_NODE)
                return nv_error_set(reterr, -EINVAL, _("line %1$ld: Unknown element <%2$s> in <nestvirt:nested>."), xmlGetLineNo(c),
                                    (const char *) c->name);
        return 0;
}

int nv_nested_meta_parse_node(xmlNodePtr node, NvNestedMeta *m, NvError **reterr) {
        unsigned seen = 0;
        int r;

        if (!nv_xml_is(node, NV_META_NAMESPACE, "nested"))
                return nv_error_set(reterr, -EINVAL, _("Expected <nested xmlns=\"%s\">."), NV_META_NAMESPACE);
        for (xmlNodePtr c = node->children; c; c = c->next)
                if ((r = child_once(c, &seen, reterr)) < 0 || (r = parse_child(c, m, reterr)) < 0)
                        return r;
        return 0;
}

/* The children of our element, in parse_child's order. */
static int format_children(xmlNodePtr node, const NvNestedMeta *m, NvError **reterr) {
        if (format_vmm(node, m) < 0 || format_policy(node, m) < 0 ||
            (m->has_state && format_state(node, "state", &m->state, NULL) < 0) || format_previous(node, m) < 0 ||
            format_inline(node, m) < 0)
                return nv_error_set(reterr, -ENOMEM, _("Cannot format the nestvirt metadata."));
        return 0;
}

void nv_nested_meta_post_parse(NvNestedMeta *m) {
        m->transport = m->written.transport >= 0 ? m->written.transport
                       : m->bus_name            ? NV_VMM_TRANSPORT_BUS
                       : m->pidfile || m->pid   ? NV_VMM_TRANSPORT_PROCESS
                                                : NV_VMM_TRANSPORT_SOCKET;
        m->bus = m->written.bus >= 0 ? m->written.bus : m->transport == NV_VMM_TRANSPORT_BUS ? NV_BUS_SYSTEM : -1;
        m->object_path = m->written.object_path ? m->written.object_path
                         : m->transport == NV_VMM_TRANSPORT_BUS ? NV_META_DEFAULT_OBJECT_PATH
                                                                : NULL;
        m->nested = m->written.nested >= 0 ? m->written.nested : NV_NESTED_POLICY_REQUIRED;
        m->on_missing = m->written.on_missing >= 0 ? m->written.on_missing : NV_ON_PROBLEM_FAIL;
        m->on_incompatible = m->written.on_incompatible >= 0 ? m->written.on_incompatible : NV_ON_PROBLEM_FAIL;
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

/* A VMM process is named by its pidfile or its pid, one of them; the D-Bus attributes mean nothing there, and the other way round. */
static int validate_process(const NvNestedMeta *m, NvError **reterr) {
        if (m->transport != NV_VMM_TRANSPORT_PROCESS) {
                if (m->pidfile || m->pid)
                        return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm> names a pidfile or pid but its transport is '%s'."),
                                            nv_vmm_transport_to_string(m->transport));
                return 0;
        }
        if (m->socket || m->bus_name || m->written.bus >= 0 || m->written.object_path)
                return nv_error_set(reterr, -EINVAL,
                                    _("<nestvirt:vmm transport='process'> takes pidfile or pid, not socket, bus, name or path."));
        if (!m->pidfile == !m->pid)
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm transport='process'> needs exactly one of pidfile and pid."));
        if (m->pidfile && m->pidfile[0] != '/')
                return nv_error_set(reterr, -EINVAL, _("<nestvirt:vmm pidfile='%s'> is not an absolute path."), m->pidfile);
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
        r = validate_process(m, reterr);
        if (r < 0)
                return r;
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

/* Puts every un-namespaced element below node into ns. */
static void adopt_namespace(xmlNodePtr node, xmlNsPtr ns) {
        for (xmlNodePtr n = node; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE) {
                        if (!n->ns)
                                xmlSetNs(n, ns);
                        adopt_namespace(n->children, ns);
                }
}

static int parse_root(xmlNodePtr root, void *m, NvError **reterr) {
        xmlNsPtr ns;

        /* virDomainGetMetadata returns our element with the namespace stripped; our prefix keeps messages as documented. */
        if (root && !root->ns && (ns = xmlNewNs(root, (const xmlChar *) NV_META_NAMESPACE, (const xmlChar *) NV_META_PREFIX)))
                adopt_namespace(root, ns);
        return nv_nested_meta_parse_node(root, m, reterr);
}

static void *alloc_meta(void) {
        return nv_nested_meta_new();
}

static void free_meta(void *m) {
        nv_nested_meta_free(m);
}

static void post_parse(void *m) {
        nv_nested_meta_post_parse(m);
}

static int validate(const void *m, NvError **reterr) {
        return nv_nested_meta_validate(m, reterr);
}

static const NvXmlDocParser meta_parser = {
        .name = "nestvirt metadata",
        .alloc = alloc_meta,
        .free = free_meta,
        .parse = parse_root,
        .post_parse = post_parse,
        .validate = validate,
};

int nv_nested_meta_parse(const char *xml, size_t len, unsigned flags, NvNestedMeta **ret, NvError **reterr) {
        void *m;
        int r = nv_xml_parse_doc(&meta_parser, xml, len, flags, &m, reterr);

        if (r >= 0)
                *ret = m;
        return r;
}

int nv_nested_meta_format(const NvNestedMeta *m, bool prefix, char **ret, NvError **reterr) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
        int r;

        r = nv_xml_new_doc("nested", prefix ? NV_META_NAMESPACE : NULL, NV_META_PREFIX, &doc, reterr);
        if (r >= 0)
                r = format_children(xmlDocGetRootElement(doc), m, reterr);
        return r < 0 ? r : nv_xml_node_format(xmlDocGetRootElement(doc), ret, reterr);
}

int nv_nested_meta_format_node(const NvNestedMeta *m, xmlNodePtr parent, NvError **reterr) {
        xmlNodePtr node = xmlNewChild(parent, NULL, (const xmlChar *) "nested", NULL);
        xmlNsPtr ns = node ? xmlNewNs(node, (const xmlChar *) NV_META_NAMESPACE, (const xmlChar *) NV_META_PREFIX) : NULL;

        if (!ns)
                return nv_error_set(reterr, -ENOMEM, _("Cannot format the nestvirt metadata."));
        xmlSetNs(node, ns);
        return format_children(node, m, reterr);
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
