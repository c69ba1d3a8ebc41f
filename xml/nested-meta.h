/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Our element inside a domain's <metadata>: how to reach the VMM, the
 * policy, and which snapshot files hold the domain's nested state.
 * Documented in docs/domain-xml.md; schema data/schemas/nestvirt-domain.rng.
 *
 * Passes, in this order, each a named function: parse (syntax only),
 * post_parse (defaults), validate (meaning); nv_nested_meta_parse() runs
 * them.  format is parse's mirror and writes what the element said, never
 * the defaults, so the element round-trips unchanged.
 */
#pragma once

#include <libxml/tree.h>
#include <stdbool.h>

#include "error.h"
#include "macro.h"
#include "xml-util.h"

#define NV_META_NAMESPACE "http://nestvirt.org/schemas/domain/nested/1.0"
#define NV_META_PREFIX "nestvirt"
#define NV_META_MAX_PREVIOUS 3
#define NV_META_DEFAULT_OBJECT_PATH "/org/nestvirt/Vmm1"
/* Largest snapshot carried inline in migratable XML (decoded bytes); larger ones go by reference. */
#define NV_META_MAX_INLINE (2u << 20)
#define NV_META_MAX_INLINE_B64 ((NV_META_MAX_INLINE + 2) / 3 * 4)

typedef enum NvVmmTransport {
        NV_VMM_TRANSPORT_SOCKET, /* peer-to-peer D-Bus on a unix socket */
        NV_VMM_TRANSPORT_BUS,    /* a well-known name on a bus */
        NV_VMM_TRANSPORT_PROCESS, /* a VMM process with no agent, reached through ptrace (docs/agentless.md) */
        _NV_VMM_TRANSPORT_MAX,
        _NV_VMM_TRANSPORT_INVALID = -EINVAL,
} NvVmmTransport;

typedef enum NvBusType {
        NV_BUS_SYSTEM,
        NV_BUS_SESSION,
        _NV_BUS_TYPE_MAX,
        _NV_BUS_TYPE_INVALID = -EINVAL,
} NvBusType;

typedef enum NvNestedPolicy {
        NV_NESTED_POLICY_REQUIRED, /* the domain needs nested virtualization: refuse hosts without it */
        NV_NESTED_POLICY_OPTIONAL, /* use it where the host has it */
        _NV_NESTED_POLICY_MAX,
        _NV_NESTED_POLICY_INVALID = -EINVAL,
} NvNestedPolicy;

typedef enum NvOnProblem {
        NV_ON_PROBLEM_FAIL,     /* refuse the restore; the VMM stays as it is */
        NV_ON_PROBLEM_CONTINUE, /* restore without nested state (L2 guests are lost) */
        _NV_ON_PROBLEM_MAX,
        _NV_ON_PROBLEM_INVALID = -EINVAL,
} NvOnProblem;

typedef struct NvStateRef {
        char *path;         /* absolute path of the snapshot file */
        char sha256[65];    /* of the whole file, lowercase hex */
        int vendor;         /* NV_FORMAT_* */
        unsigned vcpus;
        char time[32];      /* UTC, YYYY-MM-DDTHH:MM:SSZ */
} NvStateRef;

typedef struct NvNestedMeta {
        /*
         * The attributes that have defaults, as the element wrote them
         * (-1 or NULL: absent).  parse fills these and format writes exactly
         * these; set them to change what is written.
         */
        struct {
                int transport;      /* NvVmmTransport */
                int bus;            /* NvBusType */
                char *object_path;
                int nested;         /* NvNestedPolicy */
                int on_missing;     /* NvOnProblem */
                int on_incompatible;
        } written;
        /* What applies: the written value or its default, filled by nv_nested_meta_post_parse(); never formatted. */
        int transport;            /* NvVmmTransport */
        int bus;                  /* NvBusType, transport bus (system by default); -1 for a socket unless written */
        const char *object_path;  /* transport bus: NV_META_DEFAULT_OBJECT_PATH unless written; NULL for a socket unless written */
        int nested;               /* NvNestedPolicy */
        int on_missing;           /* NvOnProblem */
        int on_incompatible;
        /* Attributes without defaults, NULL when absent. */
        char *socket;       /* transport socket */
        char *bus_name;     /* transport bus */
        char *pidfile;      /* transport process: the file holding the VMM's pid */
        unsigned pid;       /* transport process: the VMM's pid; 0 when absent */
        bool has_state;
        NvStateRef state;   /* current snapshot */
        NvStateRef previous[NV_META_MAX_PREVIOUS]; /* newest first */
        size_t n_previous;
        /* A snapshot travelling inside migratable XML (no path): <inline>, base64. */
        bool has_inline;
        NvStateRef inline_ref;
        char *inline_data;
} NvNestedMeta;

/* An empty element (nothing written), its defaults filled in. */
NvNestedMeta *nv_nested_meta_new(void);
NvNestedMeta *nv_nested_meta_free(NvNestedMeta *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvNestedMeta *, nv_nested_meta_free);

/* String tables, both directions; unknown values give NULL / -EINVAL. */
const char *nv_vmm_transport_to_string(int v);
int nv_vmm_transport_from_string(const char *s);
const char *nv_bus_type_to_string(int v);
int nv_bus_type_from_string(const char *s);
const char *nv_nested_policy_to_string(int v);
int nv_nested_policy_from_string(const char *s);
const char *nv_on_problem_to_string(int v);
int nv_on_problem_from_string(const char *s);

/*
 * The parse entry: parses a standalone document whose root is our element,
 * then runs post_parse and (unless flags has NV_XML_PARSE_SKIP_VALIDATE)
 * validate.  An un-namespaced root (what virDomainGetMetadata returns) is
 * taken to be in our namespace.  *ret only on success.
 */
int nv_nested_meta_parse(const char *xml, size_t len, unsigned flags, NvNestedMeta **ret, NvError **reterr);

/* The passes one by one, for documents that hold our element (domain XML). */
/* parse: fills m, fresh from nv_nested_meta_new(), from node (<nested> in NV_META_NAMESPACE).  Syntax only. */
int nv_nested_meta_parse_node(xmlNodePtr node, NvNestedMeta *m, NvError **reterr);
/* post_parse: the effective values, from what was written and the defaults (policy required/fail/fail, bus system, object path). */
void nv_nested_meta_post_parse(NvNestedMeta *m);
/* validate: meaning (absolute paths, D-Bus names, hash, counts), on the effective values. */
int nv_nested_meta_validate(const NvNestedMeta *m, NvError **reterr);

/*
 * Formats m: what was written, in parse's order.  With prefix, elements
 * carry the nestvirt: prefix and the root declares the namespace (as in a
 * domain's XML); without, the XML is un-namespaced, which is what
 * virDomainSetMetadata wants (it applies the namespace itself).  *ret is
 * freed with free().
 */
int nv_nested_meta_format(const NvNestedMeta *m, bool prefix, char **ret, NvError **reterr);

/* The same as a node: appends our element, nestvirt: prefixed, to parent (a domain's <metadata>). */
int nv_nested_meta_format_node(const NvNestedMeta *m, xmlNodePtr parent, NvError **reterr);

/* Drops the current and previous references (their strings too). */
void nv_nested_meta_forget_states(NvNestedMeta *m);

/* Makes state the current reference and pushes the old one to previous (dropping the oldest). */
int nv_nested_meta_push_state(NvNestedMeta *m, const NvStateRef *state);
