/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt connection, through libvirt's public client API only:
 * listing domains, reading their XML, our metadata element (live and
 * config), and lifecycle / metadata events through libvirt's event loop.
 * Works the same on qemu:///system and on the test driver (test:///...).
 */
#pragma once

#include <stdbool.h>

#include "domain-def.h"

typedef struct NvConn NvConn;

typedef struct NvDomainEntry {
        NvDomainDef *def;
        bool active;     /* running or paused */
        bool persistent; /* has a config that outlives the running VM */
        /*
         * nv_conn_list() only: the domain's XML was refused (why), and def
         * holds its name and UUID alone.  One bad domain must not hide the
         * others.  broken_nested: its XML has a nestvirt element.
         */
        char *broken;
        bool broken_nested;
} NvDomainEntry;

/* Has our metadata: parsed, or refused (broken). */
static inline bool nv_domain_entry_nested(const NvDomainEntry *e) {
        return e->def->meta || e->broken_nested;
}

/* Modification impact for metadata: libvirt's VIR_DOMAIN_AFFECT_* values. */
#define NV_AFFECT_CURRENT 0u
#define NV_AFFECT_LIVE 1u
#define NV_AFFECT_CONFIG 2u
/*
 * A write's config too if the domain has one when libvirt writes: one call
 * for a persistent domain, two for a transient one (the refusal, then the
 * live write alone), where asking first would be one more and could be
 * outdated by a define or undefine in between.
 */
#define NV_AFFECT_CONFIG_IF_PERSISTENT 4u

/*
 * Event callback: kind is "lifecycle" or "metadata" (detail: libvirt's
 * event code), or "closed" with domain NULL when libvirt closed the
 * connection (detail: libvirt's reason), in libvirt's event loop.
 */
typedef void (*NvConnEventFunc)(const char *domain, const char *kind, int detail, void *userdata);

/*
 * Opens uri (NULL: $LIBVIRT_DEFAULT_URI, else libvirt's default).  With
 * events, libvirt's default event loop is registered first (once per
 * process) and lifecycle and metadata events go to func.  libvirt's own
 * error printing is silenced: errors come back in *reterr.
 */
int nv_conn_open(const char *uri, NvConnEventFunc func, void *userdata, NvConn **ret, NvError **reterr);
/* libvirt's default event loop, once per process; before opening a connection that will subscribe later. */
int nv_conn_events_init(NvError **reterr);
/* Lifecycle and metadata events of an open connection go to func (once per connection). */
int nv_conn_subscribe(NvConn *c, NvConnEventFunc func, void *userdata, NvError **reterr);
/* Whether libvirt closed the connection (a remote daemon went away or restarted). */
bool nv_conn_closed(NvConn *c);
/*
 * Opens the URI again and puts the new connection in place of the old,
 * with the subscriber's events registered on it.  Safe while other threads
 * use the connection.
 */
int nv_conn_reconnect(NvConn *c, NvError **reterr);
NvConn *nv_conn_free(NvConn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvConn *, nv_conn_free);

/* The URI libvirt actually connected to; free() it. */
char *nv_conn_uri(NvConn *c);

/* Runs one iteration of libvirt's event loop (waits up to timeout_ms for an event). */
int nv_conn_run_events(NvConn *c, int timeout_ms, NvError **reterr);

/*
 * Domains sorted by name; inactive ones only with all.  A domain whose XML
 * is refused is listed as broken (see NvDomainEntry).  Free with
 * nv_domain_entries_free().
 */
int nv_conn_list(NvConn *c, bool all, NvDomainEntry **ret, size_t *ret_n, NvError **reterr);
void nv_domain_entries_free(NvDomainEntry *e, size_t n);

/* A domain by name and UUID, as nv_conn_list_nested() or nv_conn_find() found it. */
typedef struct NvDomainRef {
        char *name;
        char uuid[37];
        struct _virDomain *dom; /* libvirt's handle: later calls on it need no lookup */
} NvDomainRef;

void nv_domain_ref_clear(NvDomainRef *ref);

/*
 * The running domains that have our metadata element (parsed or not),
 * sorted by name: one small call per domain, no XML fetched or parsed,
 * so that save-all begins its workers soon.  Free with
 * nv_domain_refs_free().
 */
int nv_conn_list_nested(NvConn *c, NvDomainRef **ret, size_t *ret_n, NvError **reterr);
void nv_domain_refs_free(NvDomainRef *refs, size_t n);

/* One domain by name or UUID. */
int nv_conn_get_domain(NvConn *c, const char *name, NvDomainEntry *ret, NvError **reterr);

/*
 * The same in two steps, so that a flow can take the domain's lock in
 * between: found by name or UUID (one lookup), then read (its XML and
 * state), as the lock holder sees it.
 */
int nv_conn_find(NvConn *c, const char *name, NvDomainRef *ret, NvError **reterr);
int nv_conn_get_found(NvConn *c, const NvDomainRef *ref, NvDomainEntry *ret, NvError **reterr);

/*
 * A listed domain as a save needs it, in one small call: its name, UUID
 * and our element read now (def->meta NULL if it has none any more),
 * active (-ESRCH if it stopped).  Nothing else is read: the CPU fields of
 * def are unknown (-1), and persistent is false, not asked (the landing
 * writes with NV_AFFECT_CONFIG_IF_PERSISTENT).
 */
int nv_conn_get_listed(NvConn *c, const NvDomainRef *ref, NvDomainEntry *ret, NvError **reterr);

/* The domain's XML (live if running); migratable: as libvirt sends it to a migration destination. */
int nv_conn_get_xml(NvConn *c, const char *name, bool migratable, char **ret, NvError **reterr);

/*
 * Writes our element (formatted from meta) into the domain's metadata with
 * the given NV_AFFECT_* flags; NULL meta removes it.
 */
int nv_conn_set_meta(NvConn *c, const char *name, const NvNestedMeta *meta, unsigned affect, NvError **reterr);
/* The same for a listed domain, through its handle while it belongs to the current connection. */
int nv_conn_set_listed_meta(NvConn *c, const NvDomainRef *ref, const NvNestedMeta *meta, unsigned affect, NvError **reterr);

/*
 * Reads our element (live when affect is NV_AFFECT_LIVE, config when
 * NV_AFFECT_CONFIG).  Returns 0 and NULL in *ret if the domain has none.
 */
int nv_conn_get_meta(NvConn *c, const char *name, unsigned affect, NvNestedMeta **ret, NvError **reterr);
