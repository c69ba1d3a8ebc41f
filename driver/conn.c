/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt's public API, and nothing else of libvirt. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn-private.h"

struct NvConn {
        pthread_mutex_t lock; /* guards conn: a reconnect replaces it while other threads use it */
        virConnectPtr conn;
        char *uri;            /* what libvirt connected to: what a reconnect opens again */
        atomic_bool closed;   /* libvirt closed the connection (its daemon went away) */
        NvConnEventFunc func;
        void *userdata;
        int cb_lifecycle, cb_metadata;
        NvCpuMemo *cpu_memo;  /* what libvirt said of CPU models (cpu-model.c) */
};

/* The connection now, with a reference of the caller's own (conn_unrefp). */
static virConnectPtr conn_ref(NvConn *c) {
        virConnectPtr conn;

        pthread_mutex_lock(&c->lock);
        conn = c->conn;
        if (conn)
                (void) virConnectRef(conn);
        pthread_mutex_unlock(&c->lock);
        return conn;
}

virConnectPtr nv_conn_virt(NvConn *c) {
        return conn_ref(c);
}

NvCpuMemo *nv_conn_cpu_memo(NvConn *c) {
        return c->cpu_memo;
}

static void conn_unrefp(virConnectPtr *p) {
        if (*p)
                (void) virConnectClose(*p);
}

/* A domain reference that goes away with its scope.  Read libvirt's last error before: freeing resets it. */
static void domain_unrefp(virDomainPtr *p) {
        if (*p)
                virDomainFree(*p);
}

/* libvirt prints every error to stderr by default; ours go through NvError. */
static void silent(void *userdata, virErrorPtr err) {
}

static int libvirt_error(NvError **reterr, int code, const char *what) {
        const char *msg = virGetLastErrorMessage();

        return nv_error_set(reterr, code, "%s: %s", what, msg ? msg : _("unknown libvirt error"));
}

/* libvirt's default event loop may be registered only once per process. */
static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static int event_impl_result;
static void register_event_impl(void) {
        event_impl_result = virEventRegisterDefaultImpl();
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        NvConn *c = opaque;

        c->func(virDomainGetName(dom), "lifecycle", event, c->userdata);
        return 0;
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque) {
        NvConn *c = opaque;

        if (type != VIR_DOMAIN_METADATA_ELEMENT || (nsuri && strcmp(nsuri, NV_META_NAMESPACE) == 0))
                c->func(virDomainGetName(dom), "metadata", type, c->userdata);
}

/* In libvirt's event loop: the daemon went away (or the link broke).  nv_conn_reconnect() opens it again. */
static void on_close(virConnectPtr conn, int reason, void *opaque) {
        NvConn *c = opaque;

        atomic_store(&c->closed, true);
        if (c->func)
                c->func(NULL, "closed", reason, c->userdata);
}

/* Events of conn go to c's subscriber: *ret_lifecycle and *ret_metadata are the callback ids. */
static int register_events(NvConn *c, virConnectPtr conn, int *ret_lifecycle, int *ret_metadata, NvError **reterr) {
        *ret_lifecycle = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                          VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), c, NULL);
        *ret_metadata = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                         VIR_DOMAIN_EVENT_CALLBACK(on_metadata), c, NULL);
        if (*ret_lifecycle < 0 || *ret_metadata < 0)
                return libvirt_error(reterr, -EIO, _("Cannot register for domain events"));
        return 0;
}

static void unregister(virConnectPtr conn, int cb_lifecycle, int cb_metadata) {
        if (cb_lifecycle >= 0)
                (void) virConnectDomainEventDeregisterAny(conn, cb_lifecycle);
        if (cb_metadata >= 0)
                (void) virConnectDomainEventDeregisterAny(conn, cb_metadata);
        (void) virConnectUnregisterCloseCallback(conn, on_close);
}

int nv_conn_events_init(NvError **reterr) {
        pthread_once(&event_once, register_event_impl);
        return event_impl_result < 0 ? libvirt_error(reterr, -EIO, _("Cannot start libvirt's event loop")) : 0;
}

/*
 * An embedded driver (qemu:///embed?root=DIR) runs inside this process
 * and needs an event loop that runs (QEMU's monitor is served from it).  A
 * caller that subscribes runs libvirt's loop itself; for everyone else one
 * thread runs it, for the life of the process.
 */
static pthread_once_t embed_once = PTHREAD_ONCE_INIT;
static int embed_loop_result;

static void *embed_loop(void *arg) {
        for (;;)
                (void) virEventRunDefaultImpl();
        return NULL;
}

static void start_embed_loop(void) {
        pthread_t t;

        embed_loop_result = event_impl_result < 0 ? -EIO : -pthread_create(&t, NULL, embed_loop, NULL);
        if (embed_loop_result == 0)
                (void) pthread_detach(t);
}

static int embed_init(const char *uri, bool subscribes, NvError **reterr) {
        int r;

        if (!uri || !strstr(uri, ":///embed"))
                return 0;
        if ((r = nv_conn_events_init(reterr)) < 0 || subscribes)
                return r;
        pthread_once(&embed_once, start_embed_loop);
        return embed_loop_result < 0 ? nv_error_set(reterr, embed_loop_result, _("Cannot run libvirt's event loop for %s"), uri) : 0;
}

int nv_conn_subscribe(NvConn *c, NvConnEventFunc func, void *userdata, NvError **reterr) {
        if (event_impl_result < 0 || c->func)
                return nv_error_set(reterr, -EINVAL, _("Events need libvirt's event loop first, and one subscriber."));
        c->func = func;
        c->userdata = userdata;
        return register_events(c, c->conn, &c->cb_lifecycle, &c->cb_metadata, reterr) < 0 ? -EIO : 0;
}

bool nv_conn_closed(NvConn *c) {
        return atomic_load(&c->closed);
}

/*
 * A new connection to the same URI replaces the closed one, with the close
 * callback and the events of the old (as libvirt-dbus reconnects).  Users
 * of the old one keep their reference until they are done.
 */
int nv_conn_reconnect(NvConn *c, NvError **reterr) {
        virConnectPtr fresh = virConnectOpen(c->uri), old;
        int lifecycle = -1, metadata = -1, r = 0;

        if (!fresh)
                return libvirt_error(reterr, -ECONNREFUSED, _("Cannot connect to libvirt"));
        if (virConnectRegisterCloseCallback(fresh, on_close, c, NULL) < 0)
                r = libvirt_error(reterr, -EIO, _("Cannot follow the libvirt connection"));
        if (r >= 0 && c->func)
                r = register_events(c, fresh, &lifecycle, &metadata, reterr);
        if (r < 0) {
                unregister(fresh, lifecycle, metadata);
                (void) virConnectClose(fresh);
                return r;
        }
        pthread_mutex_lock(&c->lock);
        old = c->conn;
        c->conn = fresh;
        r = c->cb_lifecycle, c->cb_lifecycle = lifecycle, lifecycle = r; /* the old ids, to unregister */
        r = c->cb_metadata, c->cb_metadata = metadata, metadata = r;
        atomic_store(&c->closed, false);
        pthread_mutex_unlock(&c->lock);
        unregister(old, lifecycle, metadata);
        (void) virConnectClose(old);
        nv_cpu_memo_clear(c->cpu_memo); /* a restarted daemon may be a newer libvirt, with other answers */
        return 0;
}

int nv_conn_open(const char *uri, NvConnEventFunc func, void *userdata, NvConn **ret, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *c = calloc(1, sizeof(NvConn));
        int r;

        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->lock, NULL);
        c->cb_lifecycle = c->cb_metadata = -1;
        c->cpu_memo = nv_cpu_memo_new();
        if (!c->cpu_memo)
                return -ENOMEM;
        virSetErrorFunc(NULL, silent);
        if (func && (r = nv_conn_events_init(reterr)) < 0)
                return r;
        if ((r = embed_init(uri ?: getenv("LIBVIRT_DEFAULT_URI"), func != NULL, reterr)) < 0)
                return r;
        c->conn = virConnectOpen(uri);
        if (!c->conn)
                return libvirt_error(reterr, -ECONNREFUSED, _("Cannot connect to libvirt"));
        c->uri = virConnectGetURI(c->conn);
        if (!c->uri)
                return libvirt_error(reterr, -EIO, _("Cannot connect to libvirt"));
        /* A remote daemon that goes away closes the connection: say so, for a reconnect. */
        if (virConnectRegisterCloseCallback(c->conn, on_close, c, NULL) < 0)
                return libvirt_error(reterr, -EIO, _("Cannot follow the libvirt connection"));
        if (func && (r = nv_conn_subscribe(c, func, userdata, reterr)) < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

NvConn *nv_conn_free(NvConn *c) {
        if (!c)
                return NULL;
        if (c->conn) {
                unregister(c->conn, c->cb_lifecycle, c->cb_metadata);
                virConnectClose(c->conn);
        }
        pthread_mutex_destroy(&c->lock);
        nv_cpu_memo_free(c->cpu_memo);
        free(c->uri);
        free(c);
        return NULL;
}

char *nv_conn_uri(NvConn *c) {
        return strdup(c->uri);
}

static void timeout_noop(int timer, void *opaque) {
}

int nv_conn_run_events(NvConn *c, int timeout_ms, NvError **reterr) {
        int t = virEventAddTimeout(timeout_ms, timeout_noop, NULL, NULL), r;

        /* The timeout only bounds the wait; one iteration dispatches what is ready. */
        r = virEventRunDefaultImpl();
        if (t >= 0)
                virEventRemoveTimeout(t);
        return r < 0 ? libvirt_error(reterr, -EIO, _("libvirt's event loop failed")) : 0;
}

/* A domain whose XML was refused: its name and UUID from libvirt, and why. */
static int entry_broken(virDomainPtr dom, const char *xml, const NvError *why, int code, NvDomainEntry *e) {
        NvDomainDef *def = calloc(1, sizeof(*def));

        if (!def || !(def->name = strdup(virDomainGetName(dom) ?: "?")) || !(e->broken = strdup(nv_error_message(why, code)))) {
                nv_domain_def_free(def);
                return -ENOMEM;
        }
        def->cpu_mode = def->feature[0] = def->feature[1] = -1;
        if (virDomainGetUUIDString(dom, def->uuid) < 0)
                def->uuid[0] = '\0';
        e->def = def;
        e->broken_nested = strstr(xml, NV_META_NAMESPACE) != NULL;
        return 0;
}

/* broken: a refused XML makes a broken entry rather than an error. */
static int entry_from_domain(NvConn *c, virDomainPtr dom, bool broken, NvDomainEntry *e, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *why = NULL;
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
        int active, persistent, r;

        if (!xml)
                return libvirt_error(reterr, -EIO, virDomainGetName(dom));
        active = virDomainIsActive(dom);
        persistent = virDomainIsPersistent(dom);
        if (active < 0 || persistent < 0)
                return libvirt_error(reterr, -EIO, virDomainGetName(dom));
        e->active = active == 1;
        e->persistent = persistent == 1;
        r = nv_domain_def_parse(xml, strlen(xml), 0, &e->def, broken ? &why : reterr);
        if (r < 0 && broken)
                return entry_broken(dom, xml, why, r, e);
        if (r >= 0)
                nv_conn_learn_cpu(c, e->def); /* what the CPU model carries is libvirt's to say, not the XML's */
        return r;
}

static int by_name(const void *a, const void *b) {
        return strcmp(((const NvDomainEntry *) a)->def->name, ((const NvDomainEntry *) b)->def->name);
}

void nv_domain_entries_free(NvDomainEntry *e, size_t n) {
        for (size_t i = 0; e && i < n; i++) {
                nv_domain_def_free(e[i].def);
                free(e[i].broken);
        }
        free(e);
}

int nv_conn_list(NvConn *c, bool all, NvDomainEntry **ret, size_t *ret_n, NvError **reterr) {
        _cleanup_(conn_unrefp) virConnectPtr conn = conn_ref(c);
        unsigned flags = all ? 0 : VIR_CONNECT_LIST_DOMAINS_ACTIVE;
        virDomainPtr *doms = NULL;
        NvDomainEntry *e;
        int n, r = 0;

        n = virConnectListAllDomains(conn, &doms, flags);
        if (n < 0)
                return libvirt_error(reterr, -EIO, _("Cannot list domains"));
        e = calloc((size_t) n + 1, sizeof(*e));
        for (int i = 0; i < n; i++) {
                _cleanup_(domain_unrefp) virDomainPtr dom = doms[i];

                if (e && r >= 0)
                        r = entry_from_domain(c, dom, /* broken= */ true, &e[i], reterr);
        }
        free(doms);
        if (!e || r < 0) {
                nv_domain_entries_free(e, (size_t) n);
                return e ? r : -ENOMEM;
        }
        qsort(e, (size_t) n, sizeof(*e), by_name);
        *ret = e;
        *ret_n = (size_t) n;
        return 0;
}

void nv_domain_ref_clear(NvDomainRef *ref) {
        free(ref->name);
        if (ref->dom)
                virDomainFree(ref->dom);
        *ref = (NvDomainRef) {};
}

void nv_domain_refs_free(NvDomainRef *refs, size_t n) {
        for (size_t i = 0; refs && i < n; i++)
                nv_domain_ref_clear(&refs[i]);
        free(refs);
}

static int by_ref_name(const void *a, const void *b) {
        return strcmp(((const NvDomainRef *) a)->name, ((const NvDomainRef *) b)->name);
}

/*
 * Our element of dom (affect), the one reading of libvirt's answer: 1 and
 * its text in *ret; 0, it has none; -ESRCH, dom is gone or stopped (its
 * live metadata: "not running"); -EIO, anything else, libvirt's error
 * still the last one for the caller to report.
 */
static int fetch_meta(virDomainPtr dom, unsigned affect, char **ret) {
        virErrorPtr err;

        *ret = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, NV_META_NAMESPACE, affect);
        if (*ret)
                return 1;
        err = virGetLastError();
        if (err && err->code == VIR_ERR_NO_DOMAIN_METADATA)
                return 0;
        if (err && (err->code == VIR_ERR_NO_DOMAIN || err->code == VIR_ERR_OPERATION_INVALID))
                return -ESRCH;
        return -EIO;
}

/* 1: dom has our element (live); 0: it has none. */
static int has_meta(virDomainPtr dom, NvError **reterr) {
        _cleanup_free_ char *xml = NULL;
        int r = fetch_meta(dom, VIR_DOMAIN_AFFECT_LIVE, &xml);

        /* None; or gone, or stopped since the listing: nothing to save. */
        if (r == -ESRCH)
                return 0;
        return r == -EIO ? libvirt_error(reterr, -EIO, virDomainGetName(dom)) : r;
}

int nv_conn_list_nested(NvConn *c, NvDomainRef **ret, size_t *ret_n, NvError **reterr) {
        _cleanup_(conn_unrefp) virConnectPtr conn = conn_ref(c);
        virDomainPtr *doms = NULL;
        NvDomainRef *refs;
        size_t k = 0;
        int n, r;

        n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0)
                return libvirt_error(reterr, -EIO, _("Cannot list domains"));
        refs = calloc((size_t) n + 1, sizeof(*refs));
        r = refs ? 0 : -ENOMEM;
        /* One call at a time: a libvirt connection answers one caller's calls in a row faster than many callers' at once. */
        for (int i = 0; i < n; i++) {
                _cleanup_(domain_unrefp) virDomainPtr dom = doms[i];

                if (r < 0 || (r = has_meta(dom, reterr)) <= 0)
                        continue;
                if (!(refs[k].name = strdup(virDomainGetName(dom))))
                        r = -ENOMEM;
                else if (virDomainGetUUIDString(dom, refs[k].uuid) < 0)
                        r = libvirt_error(reterr, -EIO, refs[k].name);
                refs[k++].dom = TAKE_PTR(dom);
        }
        free(doms);
        if (r < 0) {
                nv_domain_refs_free(refs, k);
                return r;
        }
        qsort(refs, k, sizeof(*refs), by_ref_name);
        *ret = refs;
        *ret_n = k;
        return 0;
}

/*
 * By UUID first when the string is shaped like one, as virsh does, else
 * by name first: each miss is a round trip to the daemon, and save-all
 * and nestvirtd name domains by UUID.  The domain holds a reference to
 * its connection: usable after a reconnect replaced it.
 */
static virDomainPtr lookup(NvConn *c, const char *name, NvError **reterr) {
        _cleanup_(conn_unrefp) virConnectPtr conn = conn_ref(c);
        bool uuid = nv_uuid_shaped(name, strlen(name));
        virDomainPtr dom = uuid ? virDomainLookupByUUIDString(conn, name) : virDomainLookupByName(conn, name);

        if (!dom)
                dom = uuid ? virDomainLookupByName(conn, name) : virDomainLookupByUUIDString(conn, name);
        if (!dom)
                nv_error_set(reterr, -ENOENT, _("Domain '%s' not found."), name);
        return dom;
}

int nv_conn_get_domain(NvConn *c, const char *name, NvDomainEntry *ret, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = lookup(c, name, reterr);

        return dom ? entry_from_domain(c, dom, /* broken= */ false, ret, reterr) : -ENOENT;
}

int nv_conn_find(NvConn *c, const char *name, NvDomainRef *ret, NvError **reterr) {
        virDomainPtr dom = lookup(c, name, reterr);
        int r = 0;

        if (!dom)
                return -ENOENT;
        *ret = (NvDomainRef) { .dom = dom, .name = strdup(virDomainGetName(dom) ?: "") };
        if (!ret->name)
                r = -ENOMEM;
        else if (virDomainGetUUIDString(dom, ret->uuid) < 0)
                r = libvirt_error(reterr, -EIO, name); /* before the free below resets libvirt's last error */
        if (r < 0)
                nv_domain_ref_clear(ret);
        return r;
}

/*
 * ref's domain on the current connection (a reference of the caller's):
 * its handle, unless nestvirtd reconnected since and the handle's
 * connection is the closed one; then looked up anew by UUID.
 */
static virDomainPtr current_domain(NvConn *c, const NvDomainRef *ref, NvError **reterr) {
        _cleanup_(conn_unrefp) virConnectPtr conn = conn_ref(c);

        if (virDomainGetConnect(ref->dom) == conn && virDomainRef(ref->dom) == 0)
                return ref->dom;
        return lookup(c, ref->uuid, reterr);
}

int nv_conn_get_found(NvConn *c, const NvDomainRef *ref, NvDomainEntry *ret, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = current_domain(c, ref, reterr);

        return dom ? entry_from_domain(c, dom, /* broken= */ false, ret, reterr) : -ENOENT;
}

/* def->meta from our element as dom has it live now: NULL if none; -ESRCH if dom stopped. */
static int read_live_meta(virDomainPtr dom, NvDomainDef *def, NvError **reterr) {
        _cleanup_free_ char *xml = NULL;
        int r = fetch_meta(dom, VIR_DOMAIN_AFFECT_LIVE, &xml);

        if (r > 0) {
                r = nv_nested_meta_parse(xml, strlen(xml), 0, &def->meta, reterr);
                return r < 0 ? nv_error_wrap(reterr, r, _("Domain '%s'"), def->name) : 0;
        }
        if (r == -ESRCH)
                return nv_error_set(reterr, -ESRCH, _("Domain '%s' is not running: there is no VMM to talk to."), def->name);
        return r == -EIO ? libvirt_error(reterr, -EIO, _("Cannot read the nestvirt metadata")) : 0;
}

int nv_conn_get_listed(NvConn *c, const NvDomainRef *ref, NvDomainEntry *ret, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = current_domain(c, ref, reterr);
        NvDomainDef *def;
        int r;

        if (!dom)
                return -ENOENT;
        def = calloc(1, sizeof(*def));
        if (!def || !(def->name = strdup(ref->name))) {
                nv_domain_def_free(def);
                return -ENOMEM;
        }
        def->cpu_mode = def->feature[0] = def->feature[1] = -1;
        memcpy(def->uuid, ref->uuid, sizeof(def->uuid));
        r = read_live_meta(dom, def, reterr);
        if (r < 0) {
                nv_domain_def_free(def);
                return r;
        }
        *ret = (NvDomainEntry) { .def = def, .active = true }; /* persistent: not asked */
        return 0;
}

int nv_conn_get_xml(NvConn *c, const char *name, bool migratable, char **ret, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = lookup(c, name, reterr);

        if (!dom)
                return -ENOENT;
        *ret = virDomainGetXMLDesc(dom, migratable ? VIR_DOMAIN_XML_MIGRATABLE : 0);
        return *ret ? 0 : libvirt_error(reterr, -EIO, name);
}

/*
 * A write of the config too, refused as an invalid operation: libvirt
 * gives that code for two reasons only, checked in this order (its
 * virDomainObjUpdateModificationImpact()): the domain is not running, or
 * it is transient, with no config to write.  The live write alone is then
 * right for a transient domain and refused again, with libvirt's own
 * message, for a stopped one: no call to ask which it was.
 */
static int write_meta(virDomainPtr dom, const char *xml, unsigned affect, NvError **reterr) {
        unsigned flags = (affect & ~NV_AFFECT_CONFIG_IF_PERSISTENT) | (affect & NV_AFFECT_CONFIG_IF_PERSISTENT ? NV_AFFECT_CONFIG : 0);
        virErrorPtr err;

        if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, NV_META_PREFIX, NV_META_NAMESPACE, flags) == 0)
                return 0;
        err = virGetLastError();
        if ((affect & NV_AFFECT_CONFIG_IF_PERSISTENT) && !(affect & NV_AFFECT_CONFIG) && err &&
            err->code == VIR_ERR_OPERATION_INVALID &&
            virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, NV_META_PREFIX, NV_META_NAMESPACE,
                                 flags & ~NV_AFFECT_CONFIG) == 0)
                return 0;
        return libvirt_error(reterr, -EIO, _("Cannot write the nestvirt metadata"));
}

/* dom: NULL to look name up. */
static int set_meta(NvConn *c, virDomainPtr dom, const char *name, const NvNestedMeta *meta, unsigned affect, NvError **reterr) {
        _cleanup_free_ char *xml = NULL;
        _cleanup_(domain_unrefp) virDomainPtr found = NULL;
        int r;

        /* Un-namespaced XML: libvirt applies the namespace and the prefix itself. */
        if (meta && (r = nv_nested_meta_format(meta, /* prefix= */ false, &xml, reterr)) < 0)
                return r;
        if (!dom && !(dom = found = lookup(c, name, reterr)))
                return -ENOENT;
        return write_meta(dom, xml, affect, reterr);
}

int nv_conn_set_meta(NvConn *c, const char *name, const NvNestedMeta *meta, unsigned affect, NvError **reterr) {
        return set_meta(c, NULL, name, meta, affect, reterr);
}

int nv_conn_set_listed_meta(NvConn *c, const NvDomainRef *ref, const NvNestedMeta *meta, unsigned affect, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = current_domain(c, ref, reterr);

        return dom ? set_meta(c, dom, ref->name, meta, affect, reterr) : -ENOENT;
}

/* Our element's text, NULL (and 0) if the domain has none. */
static int get_meta_xml(NvConn *c, const char *name, unsigned affect, char **ret, NvError **reterr) {
        _cleanup_(domain_unrefp) virDomainPtr dom = lookup(c, name, reterr);

        if (!dom)
                return -ENOENT;
        return fetch_meta(dom, affect, ret) < 0 ? libvirt_error(reterr, -EIO, _("Cannot read the nestvirt metadata")) : 0;
}

int nv_conn_get_meta(NvConn *c, const char *name, unsigned affect, NvNestedMeta **ret, NvError **reterr) {
        _cleanup_free_ char *xml = NULL;
        NvNestedMeta *m = NULL;
        int r;

        r = get_meta_xml(c, name, affect, &xml, reterr);
        if (r < 0 || !xml) {
                if (r == 0)
                        *ret = NULL;
                return r;
        }
        r = nv_nested_meta_parse(xml, strlen(xml), 0, &m, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Domain '%s'"), name);
        *ret = m;
        return 0;
}
