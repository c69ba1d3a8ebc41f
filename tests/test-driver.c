/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The driver in one process, against libvirt's test driver (whose state
 * lives as long as the connection) and reference VMMs (nestvirt-testvmm on
 * the simulated KVM, each its own process on a p2p socket):
 *
 *  - the metadata history, live and config, across saves and failed saves:
 *    a failure never moves the reference, never leaves a file behind, and
 *    never leaves the VMM frozen; a save writes its reference and nothing
 *    else (no defaults) into the metadata;
 *  - maintenance save-all over many domains with one hung VMM: every other
 *    domain is saved, the hung one reported; after the VMMs are killed and
 *    restarted, restore-all brings L2 back on all of them;
 *  - restore-all's record: failures stay for a retry, a domain saved anew
 *    since is skipped, a VM booted afresh (its VMM not Incoming) is left
 *    alone, and the record goes once nothing is left;
 *  - save-all's one sync per batch: no reference to a file before it is
 *    durable, and a failed sync changes no reference.
 *
 *   test-driver TESTVMM
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "snapshot.h"
#include "helpers.h"
#include "vmm-client.h"

#define MAX_DOMAINS 12
#define VCPUS 2

static const char *testvmm;
static char dir[64];

typedef struct Vmm {
        pid_t pid;
        FILE *out;
        char name[16], uuid[37], sock[128], own[128];
} Vmm;

static void vmm_init(Vmm *v, unsigned i) {
        char name[sizeof(v->name)];

        /* Formatted from a local copy: gcc -O3 cannot tell v->name from the fields written with it. */
        snprintf(name, sizeof(name), "vm%02u", i % 100);
        *v = (Vmm) { .pid = -1 };
        memcpy(v->name, name, sizeof(name));
        snprintf(v->uuid, sizeof(v->uuid), "5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e%02u", i % 100);
        snprintf(v->sock, sizeof(v->sock), "%s/%s.sock", dir, name);
        snprintf(v->own, sizeof(v->own), "%s/%s.own", dir, name);
}

static void vmm_start(Vmm *v, bool restore) {
        char line[256];
        int fds[2];

        unlink(v->sock);
        assert_int_equal(pipe(fds), 0);
        v->pid = fork();
        if (v->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                execl(testvmm, testvmm, "--sim", "--socket", v->sock, "--vcpus", "2", "--uuid", v->uuid, "--own-state", v->own,
                      restore ? "--restore" : NULL, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        v->out = fdopen(fds[0], "r");
        assert_non_null(fgets(line, sizeof(line), v->out));
        assert_string_equal(line, "ready\n");
}

static void vmm_expect(Vmm *v, int sig, const char *prefix, char *line, size_t size) {
        kill(v->pid, sig);
        assert_non_null(fgets(line, (int) size, v->out));
        assert_memory_equal(line, prefix, strlen(prefix));
}

static void vmm_counters(Vmm *v, unsigned long long c[VCPUS]) {
        char line[256];

        vmm_expect(v, SIGUSR2, "counters:", line, sizeof(line));
        assert_int_equal(sscanf(line, "counters: %llu %llu", &c[0], &c[1]), VCPUS);
}

static void vmm_stop(Vmm *v) {
        if (v->pid <= 0)
                return;
        kill(v->pid, SIGKILL);
        waitpid(v->pid, NULL, 0);
        fclose(v->out);
        v->pid = -1;
}

/* Every counter moves on within a second (the VMM is not frozen). */
static bool vmm_runs(Vmm *v) {
        unsigned long long a[VCPUS], b[VCPUS];

        vmm_counters(v, a);
        for (int tries = 0; tries < 100; tries++) {
                usleep(10 * 1000);
                vmm_counters(v, b);
                if (b[0] > a[0] && b[1] > a[1])
                        return true;
        }
        return false;
}

/* A node with n running nested domains (their metadata naming the socket only, the rest defaults), one running domain without metadata, one shut-off nested one. */
static void write_node(Vmm *v, unsigned n, char uri[static 256]) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/node.xml", dir);
        assert_non_null(f = fopen(path, "w"));
        fputs("<node>\n", f);
        for (unsigned i = 0; i <= n; i++) {
                Vmm off;

                if (i == n)
                        vmm_init(&off, 99);
                fprintf(f, "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>%s</name><uuid>%s</uuid><metadata>"
                           "<nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>"
                           "<nestvirt:vmm socket='%s'/></nestvirt:nested></metadata>"
                           "<memory>1048576</memory><vcpu>%u</vcpu><os><type arch='x86_64'>hvm</type></os>"
                           "<cpu mode='host-passthrough'/>%s</domain>\n",
                        i < n ? v[i].name : off.name, i < n ? v[i].uuid : off.uuid, i < n ? v[i].sock : off.sock, VCPUS,
                        i < n ? "" : "<test:runstate>5</test:runstate>");
        }
        fputs("<domain type='test'><name>plain</name><memory>1048576</memory><vcpu>1</vcpu>"
              "<os><type arch='x86_64'>hvm</type></os></domain>\n</node>\n", f);
        assert_int_equal(fclose(f), 0);
        snprintf(uri, 256, "test://%s", path);
}

static NvDriver *driver_open_with(const char *uri, const NvVmmBackend *backend) {
        char state[128], run[128];
        NvDriver *d = NULL;
        NvError *err = NULL;
        int r;

        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(run, sizeof(run), "%s/run", dir);
        r = nv_driver_new(&(NvDriverConfig) { .uri = uri, .state_dir = state, .runtime_dir = run, .vmm = backend }, &d, &err);
        if (r < 0)
                print_error("%s\n", nv_error_message(err, r));
        assert_int_equal(r, 0);
        return d;
}

static NvDriver *driver_open(const char *uri) {
        return driver_open_with(uri, &nv_vmm_backend_dbus);
}

/* Files in the domain's state directory. */
static unsigned state_files(const char *domain) {
        char path[128];
        unsigned n = 0;
        DIR *dd;

        snprintf(path, sizeof(path), "%s/state/%s", dir, domain);
        if (!(dd = opendir(path)))
                return 0;
        for (struct dirent *de; (de = readdir(dd));)
                n += de->d_name[0] != '.';
        closedir(dd);
        return n;
}

static bool file_exists(const char *path) {
        return access(path, F_OK) == 0;
}

static NvNestedMeta *meta(NvDriver *d, const char *domain, unsigned affect) {
        NvNestedMeta *m = NULL;

        assert_int_equal(nv_conn_get_meta(nv_driver_conn(d), domain, affect, &m, NULL), 0);
        assert_non_null(m);
        return m;
}

/* The live and the config reference: the same, and as expected (current, then previous newest first). */
static void assert_refs(NvDriver *d, const char *domain, const char *const *paths, size_t n) {
        for (unsigned affect = NV_AFFECT_LIVE; affect <= NV_AFFECT_CONFIG; affect++) {
                NvNestedMeta *m = meta(d, domain, affect);

                assert_int_equal(m->has_state, n > 0);
                assert_int_equal(m->n_previous, n ? n - 1 : 0);
                for (size_t i = 0; i < n; i++)
                        assert_string_equal(i == 0 ? m->state.path : m->previous[i - 1].path, paths[i]);
                nv_nested_meta_free(m);
        }
}

static int save(NvDriver *d, const char *domain, const char *file, char **ret_path, NvError **err) {
        NvSaveResult res = {};
        int r = nv_driver_save(d, domain, &(NvSaveOptions) { .file = file }, &res, err);

        if (r >= 0 && ret_path)
                *ret_path = strdup(res.ref.path);
        nv_save_result_clear(&res);
        return r;
}

/* One running nested domain, its VMM started, and the driver on a node that holds it. */
static NvDriver *one_domain(Vmm *v, unsigned i) {
        char uri[256];

        vmm_init(v, i);
        write_node(v, 1, uri);
        vmm_start(v, false);
        return driver_open(uri);
}

static void test_history_across_failed_saves(void **state) {
        char mine[128], *p[6] = {};
        NvError *err = NULL;
        NvDriver *d;
        Vmm v;

        d = one_domain(&v, 0);

        /* Our own --file first: it falls off the history later but is not ours to delete. */
        snprintf(mine, sizeof(mine), "%s/mine.nvstate", dir);
        assert_int_equal(save(d, v.name, mine, &p[0], NULL), 0);
        for (int i = 1; i < 6; i++)
                assert_int_equal(save(d, v.name, NULL, &p[i], NULL), 0);
        assert_refs(d, v.name, (const char *[]) { p[5], p[4], p[3], p[2] }, 4);
        assert_true(file_exists(mine));     /* fell off, named by the caller: kept */
        assert_false(file_exists(p[1]));    /* fell off, named by nestvirt: deleted */
        assert_int_equal(state_files(v.name), 4);

        /* Failures: nothing moves, nothing is left behind, the VMM runs on. */
        assert_int_equal(save(d, v.name, "/nonexistent-dir/x.nvstate", NULL, &err), -ENOENT);
        assert_non_null(strstr(nv_error_message(err, 0), "/nonexistent-dir"));
        err = nv_error_free(err);
        assert_true(vmm_runs(&v));
        assert_int_equal(save(d, v.name, p[4], NULL, &err), -EEXIST);
        assert_non_null(strstr(nv_error_message(err, 0), "references"));
        err = nv_error_free(err);
        assert_true(vmm_runs(&v));
        kill(v.pid, SIGSTOP); /* a hung VMM: the client's timeout */
        assert_true(save(d, v.name, NULL, NULL, &err) < 0);
        assert_non_null(strstr(nv_error_message(err, 0), v.name));
        err = nv_error_free(err);
        kill(v.pid, SIGCONT);
        assert_refs(d, v.name, (const char *[]) { p[5], p[4], p[3], p[2] }, 4);
        assert_int_equal(state_files(v.name), 4);
        assert_true(vmm_runs(&v)); /* the agent thawed itself when the hung caller went away */

        nv_driver_free(d);
        vmm_stop(&v);
        unlink(mine);
        for (int i = 0; i < 6; i++)
                free(p[i]);
}

static void save_all_jobs(NvDriver *d, bool keep_frozen, unsigned delay_usec, NvMaintReport *rep);

/* A save of hook_domain that lands just before the next domain lock is taken (flock() wrapped). */
static NvDriver *hook_driver;
static const char *hook_domain;
static char *hook_path;

int __real_flock(int fd, int op);
int __wrap_flock(int fd, int op);

int __wrap_flock(int fd, int op) {
        const char *domain = hook_domain;

        if (domain && (op & LOCK_EX)) {
                hook_domain = NULL; /* its own lock is taken plainly */
                assert_int_equal(save(hook_driver, domain, NULL, &hook_path, NULL), 0);
        }
        return __real_flock(fd, op);
}

/*
 * Another save lands while this one is on its way to the domain's lock:
 * this one reads the metadata under the lock, so the other's snapshot
 * stays in the history it writes (read before the lock, it was lost).
 * The same for save-all.
 */
static void test_save_landing_before_the_lock(void **state) {
        char *p[3] = {};
        NvMaintReport rep = {};
        NvDriver *d;
        Vmm v;

        d = one_domain(&v, 0);
        assert_int_equal(save(d, v.name, NULL, &p[0], NULL), 0);
        hook_driver = d, hook_domain = v.name;
        assert_int_equal(save(d, v.name, NULL, &p[1], NULL), 0);
        assert_null(hook_domain); /* the other save ran */
        assert_refs(d, v.name, (const char *[]) { p[1], hook_path, p[0] }, 3);
        p[2] = TAKE_PTR(hook_path);
        hook_domain = v.name;
        save_all_jobs(d, false, 0, &rep);
        assert_null(hook_domain);
        assert_int_equal(rep.n, 1);
        assert_int_equal(rep.items[0].status, NV_MAINT_DONE);
        assert_refs(d, v.name, (const char *[]) { rep.items[0].save.ref.path, hook_path, p[1], p[2] }, 4);
        nv_maint_report_clear(&rep);
        free(hook_path);
        hook_path = NULL;
        nv_driver_free(d);
        vmm_stop(&v);
        for (int i = 0; i < 3; i++)
                free(p[i]);
}

/*
 * With the domain's lock held elsewhere: a nested domain is busy; a
 * domain without our metadata says that, not that it is busy (what is
 * wrong with the domain itself comes first, as before the lock did).
 */
static void test_lock_held_errors(void **state) {
        NvDomainLock *held = NULL, *plain_held = NULL;
        NvDomainRef plain = {};
        NvError *err = NULL;
        NvDriver *d;
        Vmm v;

        d = one_domain(&v, 0);
        assert_int_equal(nv_conn_find(nv_driver_conn(d), "plain", &plain, NULL), 0);
        assert_int_equal(nv_domain_lock(d, v.uuid, v.name, &held, NULL), 0);
        assert_int_equal(nv_domain_lock(d, plain.uuid, plain.name, &plain_held, NULL), 0);
        assert_int_equal(save(d, v.name, NULL, NULL, &err), -EBUSY);
        assert_non_null(strstr(err->message, "in progress"));
        err = nv_error_free(err);
        assert_int_equal(save(d, "plain", NULL, NULL, &err), -ENOENT);
        assert_non_null(strstr(err->message, "no <nestvirt:nested> metadata"));
        err = nv_error_free(err);
        nv_domain_unlock(plain_held);
        nv_domain_unlock(held);
        assert_true(vmm_runs(&v));
        nv_domain_ref_clear(&plain);
        nv_driver_free(d);
        vmm_stop(&v);
}

/* What a save had written when it thawed the VMM: the D-Bus backend with its thaw counting the domain's files. */
static const char *watched_domain;
static unsigned files_at_thaw, thaws;

static int thaw_counting(NvVmmHandle *h, uint64_t token, NvError **reterr) {
        files_at_thaw = state_files(watched_domain);
        thaws++;
        return nv_vmm_backend_dbus.thaw(h, token, reterr);
}

/* The same for the combined call, whose thaw is inside the VMM before it replies. */
static int collect_once_counting(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec, bool *ret_found,
                                 NvError **reterr) {
        int r = nv_vmm_backend_dbus.collect_once(h, ret_img, ret_len, ret_frozen_usec, ret_found, reterr);

        files_at_thaw = state_files(watched_domain);
        thaws += r > 0;
        return r;
}

/*
 * Only the collect inside the freeze: the VMM is thawed before the file is
 * written (and so before the XML points at it), and the file still holds
 * the state of the freeze.  With --keep-frozen nothing thaws.
 */
static void test_save_thaws_before_writing(void **state) {
        NvVmmBackend counting = nv_vmm_backend_dbus;
        NvSaveResult res = {};
        NvSnapshot *s = NULL;
        char uri[256];
        NvDriver *d;
        Vmm v;

        counting.thaw = thaw_counting;
        counting.collect_once = collect_once_counting;
        vmm_init(&v, 0);
        write_node(&v, 1, uri);
        vmm_start(&v, false);
        d = driver_open_with(uri, &counting);
        watched_domain = v.name;
        files_at_thaw = 99;
        assert_int_equal(nv_driver_save(d, v.name, &(NvSaveOptions) {}, &res, NULL), 0);
        assert_int_equal(thaws, 1);
        assert_int_equal(files_at_thaw, 0); /* thawed with nothing written yet */
        assert_int_equal(state_files(v.name), 1);
        assert_true(res.frozen_usec > 0);
        assert_int_equal(nv_snapshot_read(res.ref.path, &s, NULL), 0);
        assert_int_equal(s->n_vcpus, VCPUS);
        assert_int_equal(s->version, NV_SNAPSHOT_VERSION);
        s = nv_snapshot_free(s);
        assert_refs(d, v.name, (const char *[]) { res.ref.path }, 1);
        nv_save_result_clear(&res);
        assert_true(vmm_runs(&v));

        assert_int_equal(nv_driver_save(d, v.name, &(NvSaveOptions) { .keep_frozen = true }, &res, NULL), 0);
        assert_int_equal(thaws, 1); /* kept: written while frozen, and frozen still */
        assert_int_equal(state_files(v.name), 2);
        assert_false(vmm_runs(&v));
        nv_save_result_clear(&res);
        nv_driver_free(d);
        vmm_stop(&v);
}

/* A save adds its reference and nothing else: the element round-trips as written, without the defaults. */
static void test_save_keeps_metadata_as_written(void **state) {
        _cleanup_free_ char *xml = NULL;
        char vmm[256];
        NvDriver *d;
        Vmm v;

        d = one_domain(&v, 40);
        assert_int_equal(save(d, v.name, NULL, NULL, NULL), 0);
        assert_int_equal(nv_conn_get_xml(nv_driver_conn(d), v.name, /* migratable= */ false, &xml, NULL), 0);
        snprintf(vmm, sizeof(vmm), "<nestvirt:vmm socket=\"%s\"/>", v.sock);
        if (!strstr(xml, vmm) || strstr(xml, "transport=") || strstr(xml, "<nestvirt:policy") || !strstr(xml, "<nestvirt:state "))
                fail_msg("the metadata changed beyond the new reference:\n%s", xml);
        for (unsigned affect = NV_AFFECT_LIVE; affect <= NV_AFFECT_CONFIG; affect++) {
                NvNestedMeta *m = meta(d, v.name, affect);

                assert_true(m->has_state);
                assert_int_equal(m->written.transport, -1);
                assert_int_equal(m->written.nested, -1);
                assert_int_equal(m->written.on_missing, -1);
                assert_int_equal(m->written.on_incompatible, -1);
                assert_int_equal(m->transport, NV_VMM_TRANSPORT_SOCKET); /* the defaults still apply */
                assert_int_equal(m->on_missing, NV_ON_PROBLEM_FAIL);
                nv_nested_meta_free(m);
        }
        nv_driver_free(d);
        vmm_stop(&v);
}

typedef struct Seen {
        unsigned before, after;
        volatile bool inside; /* a progress call under way */
} Seen;

static void on_progress(size_t i, size_t total, const NvMaintItem *it, bool done, void *userdata) {
        Seen *s = userdata;

        assert_true(i < total);
        assert_false(s->inside); /* with several jobs too, never two calls at once */
        s->inside = true;
        assert_non_null(it->domain);
        usleep(1000); /* a second worker's call would find inside set */
        s->inside = false;
        if (done)
                s->after++;
        else
                s->before++;
}

static unsigned record_lines(void) {
        char path[128], line[512];
        unsigned n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/state/maintenance.list", dir);
        if (!(f = fopen(path, "r")))
                return 0;
        while (fgets(line, sizeof(line), f))
                n += line[0] != '#';
        fclose(f);
        return n;
}

static void maint(NvDriver *d, bool save, NvMaintReport *rep, Seen *seen) {
        NvError *err = NULL;
        NvMaintOptions o = { .keep_frozen = save, .jobs = 4, .progress = on_progress, .userdata = seen }; /* the hung VMM holds one worker */
        int r = (save ? nv_driver_save_all : nv_driver_restore_all)(d, &o, rep, &err);

        if (r < 0)
                print_error("%s\n", nv_error_message(err, r));
        assert_int_equal(r, 0);
        assert_int_equal(seen->before, rep->n);
        assert_int_equal(seen->after, rep->n);
}

/* The host's own save of a VMM (frozen by save-all), its end, and a new VMM waiting for restore. */
static void vmm_cycle(Vmm *v, unsigned long long saved[VCPUS]) {
        char line[256];

        vmm_expect(v, SIGUSR1, "saved own state", line, sizeof(line));
        vmm_counters(v, saved);
        vmm_stop(v);
        vmm_start(v, true);
}

static void test_maintenance_with_a_hung_vmm(void **state) {
        unsigned long long saved[MAX_DOMAINS][VCPUS], now[VCPUS];
        const unsigned hung = 5;
        NvMaintReport rep = {};
        Vmm v[MAX_DOMAINS];
        Seen seen = {};
        char uri[256];
        NvDriver *d;

        for (unsigned i = 0; i < MAX_DOMAINS; i++)
                vmm_init(&v[i], i);
        write_node(v, MAX_DOMAINS, uri);
        for (unsigned i = 0; i < MAX_DOMAINS; i++)
                vmm_start(&v[i], false);
        d = driver_open(uri);
        kill(v[hung].pid, SIGSTOP);

        maint(d, true, &rep, &seen);
        printf("# save-all: %zu saved, %zu failed\n", rep.n_done, rep.n_failed);
        assert_int_equal(rep.n, MAX_DOMAINS); /* not "plain" (no metadata), not the shut-off one */
        assert_int_equal(rep.n_done, MAX_DOMAINS - 1);
        assert_int_equal(rep.n_failed, 1);
        assert_int_equal(rep.items[hung].status, NV_MAINT_FAILED);
        assert_non_null(strstr(rep.items[hung].message, v[hung].name));
        printf("# %s: %s\n", v[hung].name, rep.items[hung].message);
        assert_int_equal(record_lines(), MAX_DOMAINS - 1);
        nv_maint_report_clear(&rep);

        /* The host goes down and comes back: every saved VMM restarts from its own state, paused. */
        kill(v[hung].pid, SIGCONT);
        for (unsigned i = 0; i < MAX_DOMAINS; i++)
                if (i != hung)
                        vmm_cycle(&v[i], saved[i]);
        seen = (Seen) {};
        maint(d, false, &rep, &seen);
        assert_int_equal(rep.n, MAX_DOMAINS - 1);
        assert_int_equal(rep.n_done, MAX_DOMAINS - 1);
        for (unsigned i = 0; i < MAX_DOMAINS; i++) {
                if (i == hung)
                        continue;
                assert_true(vmm_runs(&v[i]));
                vmm_counters(&v[i], now);
                assert_true(now[0] > saved[i][0] && now[1] > saved[i][1]); /* L2 went on from where it stopped */
        }
        assert_int_equal(record_lines(), 0);
        nv_maint_report_clear(&rep);

        seen = (Seen) {};
        maint(d, false, &rep, &seen); /* nothing recorded any more: nothing to do */
        assert_int_equal(rep.n, 0);
        nv_maint_report_clear(&rep);
        nv_driver_free(d);
        for (unsigned i = 0; i < MAX_DOMAINS; i++)
                vmm_stop(&v[i]);
}

static void test_restore_all_record(void **state) {
        unsigned long long saved[4][VCPUS];
        NvMaintReport rep = {};
        Seen seen = {};
        char uri[256];
        NvDriver *d;
        Vmm v[4];

        for (unsigned i = 0; i < 4; i++)
                vmm_init(&v[i], 20 + i);
        write_node(v, 4, uri);
        for (unsigned i = 0; i < 4; i++)
                vmm_start(&v[i], false);
        d = driver_open(uri);
        maint(d, true, &rep, &seen);
        assert_int_equal(rep.n_done, 4);
        nv_maint_report_clear(&rep);
        for (unsigned i = 0; i < 4; i++)
                vmm_cycle(&v[i], saved[i]);
        vmm_stop(&v[1]);                                          /* did not come back (yet) */
        assert_int_equal(save(d, v[2].name, NULL, NULL, NULL), 0); /* saved anew since save-all */
        vmm_stop(&v[3]);
        vmm_start(&v[3], false); /* booted afresh, not resumed: must not get the old state */

        seen = (Seen) {};
        maint(d, false, &rep, &seen);
        assert_int_equal(rep.n, 4);
        assert_int_equal(rep.items[0].status, NV_MAINT_DONE);
        assert_int_equal(rep.items[1].status, NV_MAINT_FAILED);
        assert_int_equal(rep.items[2].status, NV_MAINT_SKIPPED);
        assert_non_null(strstr(rep.items[2].message, "saved anew"));
        assert_int_equal(rep.items[3].status, NV_MAINT_SKIPPED);
        assert_non_null(strstr(rep.items[3].message, "booted the VM afresh"));
        assert_true(vmm_runs(&v[3])); /* and it was left running as it was */
        assert_int_equal(record_lines(), 1); /* the failed one, for a retry */
        nv_maint_report_clear(&rep);

        vmm_start(&v[1], true);
        seen = (Seen) {};
        maint(d, false, &rep, &seen);
        assert_int_equal(rep.n, 1);
        assert_int_equal(rep.n_done, 1);
        assert_string_equal(rep.items[0].domain, v[1].name);
        assert_true(vmm_runs(&v[1]));
        assert_int_equal(record_lines(), 0);
        nv_maint_report_clear(&rep);
        nv_driver_free(d);
        for (unsigned i = 0; i < 4; i++)
                vmm_stop(&v[i]);
}

/* A damaged record is refused with its line named, and nothing is restored from it. */
static void test_restore_all_bad_record(void **state) {
        char uri[256], path[128];
        NvMaintReport rep = {};
        NvError *err = NULL;
        NvDriver *d;
        FILE *f;
        Vmm v;

        vmm_init(&v, 30);
        write_node(&v, 1, uri);
        d = driver_open(uri);
        snprintf(path, sizeof(path), "%s/state/maintenance.list", dir);
        mkdir(path, 0700), rmdir(path); /* the state dir exists from the earlier tests or not: both fine */
        assert_non_null(f = fopen(path, "w"));
        fprintf(f, "# header\n%s %064d %s\nnot a record\n", v.uuid, 0, v.name);
        fclose(f);
        assert_int_equal(nv_driver_restore_all(d, &(NvMaintOptions) {}, &rep, &err), -EBADMSG);
        assert_non_null(strstr(nv_error_message(err, 0), "maintenance.list:3"));
        assert_int_equal(rep.n_done + rep.n_failed, 0);
        nv_error_free(err);
        nv_maint_report_clear(&rep);
        unlink(path);
        nv_driver_free(d);
}

/*
 * save-all's durable step, seen from syncfs() (linked with --wrap=syncfs):
 * every file a reference or the record names must have existed when an
 * earlier syncfs began, and a failing syncfs must leave every reference as
 * it was, no file behind, and no VMM frozen; the syncs after a failed one
 * fail too (syncfs() reports an error once, and it may have been their
 * file's).  A slow syncfs makes workers stage and land while it runs.
 */
#define DURABLE_DOMAINS 6
#define DURABLE_MAX 64

int __real_syncfs(int fd);
int __wrap_syncfs(int fd);

static struct {
        NvDriver *d;
        Vmm *v;
        bool fail_next;  /* the next syncfs fails, and only that one */
        unsigned slow_ms; /* each syncfs takes this long */
        unsigned calls, violations;
        char synced[DURABLE_MAX][512]; /* the snapshot files durable so far */
        unsigned n_synced;
} durable;

static bool was_synced(const char *path) {
        for (unsigned k = 0; k < durable.n_synced; k++)
                if (strcmp(durable.synced[k], path) == 0)
                        return true;
        return false;
}

/* Every domain's live and config reference: a file an earlier syncfs made durable (or none).  No cmocka here: not the main thread. */
static unsigned unsynced_refs(void) {
        unsigned bad = 0;

        for (unsigned i = 0; i < DURABLE_DOMAINS; i++)
                for (unsigned affect = NV_AFFECT_LIVE; affect <= NV_AFFECT_CONFIG; affect++) {
                        NvNestedMeta *m = NULL;

                        if (nv_conn_get_meta(nv_driver_conn(durable.d), durable.v[i].name, affect, &m, NULL) < 0 || !m)
                                bad++;
                        else if (m->has_state && !was_synced(m->state.path))
                                bad++;
                        nv_nested_meta_free(m);
                }
        return bad;
}

/* The snapshot files there are now: durable once the real syncfs returns. */
static void note_files(void) {
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++) {
                char path[128];
                DIR *dd;

                snprintf(path, sizeof(path), "%s/state/%s", dir, durable.v[i].name);
                if (!(dd = opendir(path)))
                        continue;
                for (struct dirent *de; (de = readdir(dd));) {
                        char file[512];

                        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
                        if (de->d_name[0] != '.' && !strstr(de->d_name, ".tmp-") && !was_synced(file) &&
                            durable.n_synced < DURABLE_MAX) /* each sync sees the earlier ones' files again */
                                memcpy(durable.synced[durable.n_synced++], file, sizeof(file));
                }
                closedir(dd);
        }
}

int __wrap_syncfs(int fd) {
        unsigned before = durable.n_synced;

        if (!durable.d) /* another test */
                return __real_syncfs(fd);
        durable.calls++;
        durable.violations += unsynced_refs(); /* a reference written before its file's sync */
        note_files(); /* what exists as the sync begins; a file written during it needs the next */
        usleep(durable.slow_ms * 1000);
        if (durable.fail_next) {
                durable.fail_next = false;
                durable.n_synced = before;
                errno = EIO;
                return -1;
        }
        if (__real_syncfs(fd) < 0) {
                durable.n_synced = before;
                return -1;
        }
        return 0;
}

/* delay_usec: the commit delay; 0: the default. */
static void save_all_jobs(NvDriver *d, bool keep_frozen, unsigned delay_usec, NvMaintReport *rep) {
        NvError *err = NULL;
        int r = nv_driver_save_all(d, &(NvMaintOptions) { .keep_frozen = keep_frozen, .jobs = 3, .commit_delay_usec = delay_usec }, rep,
                                   &err);

        if (r < 0)
                print_error("%s\n", nv_error_message(err, r));
        assert_int_equal(r, 0);
}

static void test_save_all_durable_before_referenced(void **state) {
        NvMaintReport rep = {};
        char *before[DURABLE_DOMAINS][2];
        Vmm v[DURABLE_DOMAINS];
        char uri[256];

        for (unsigned i = 0; i < DURABLE_DOMAINS; i++)
                vmm_init(&v[i], 60 + i);
        write_node(v, DURABLE_DOMAINS, uri);
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++)
                vmm_start(&v[i], false);
        durable.d = driver_open(uri);
        durable.v = v;

        /* Group commits: with a long commit delay three workers' domains share syncs. */
        unsigned calls = durable.calls;

        save_all_jobs(durable.d, false, 2000000, &rep);
        assert_int_equal(rep.n_done, DURABLE_DOMAINS);
        nv_maint_report_clear(&rep);
        printf("# long delay: %u domains, %u syncs\n", DURABLE_DOMAINS, durable.calls - calls);
        assert_in_range(durable.calls - calls, 1, DURABLE_DOMAINS - 2);
        /* No delay and a slow syncfs: domains are staged and landed while one runs (and replace the references above). */
        calls = durable.calls;
        durable.slow_ms = 40;
        save_all_jobs(durable.d, false, 1, &rep);
        assert_int_equal(rep.n_done, DURABLE_DOMAINS);
        nv_maint_report_clear(&rep);
        printf("# slow syncs: %u domains, %u syncs\n", DURABLE_DOMAINS, durable.calls - calls);
        assert_true(durable.calls - calls >= 2);
        assert_true(durable.calls > 0);
        assert_true(durable.n_synced < DURABLE_MAX); /* every file seen, none missed for want of room */
        assert_int_equal(durable.violations, 0);
        assert_int_equal(unsynced_refs(), 0);
        assert_int_equal(record_lines(), DURABLE_DOMAINS);

        /* The durable step fails: nothing is referenced or recorded, nothing left behind, no VMM left frozen. */
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++) {
                NvNestedMeta *m = meta(durable.d, v[i].name, NV_AFFECT_LIVE);

                assert_int_equal(m->n_previous, 1);
                assert_non_null(before[i][0] = strdup(m->state.path));
                assert_non_null(before[i][1] = strdup(m->previous[0].path));
                nv_nested_meta_free(m);
        }
        /* The first sync fails, slowly: the domains staged meanwhile have later syncs, which fail too. */
        durable.fail_next = true;
        durable.slow_ms = 200;
        save_all_jobs(durable.d, /* keep_frozen= */ true, 1, &rep);
        durable.slow_ms = 0;
        assert_int_equal(rep.n_failed, DURABLE_DOMAINS);
        unsigned later = 0;
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++) {
                assert_non_null(strstr(rep.items[i].message, "durable"));
                later += strstr(rep.items[i].message, "An earlier sync") != NULL;
        }
        printf("# %s: %s\n# %u domains failed for an earlier sync's error\n", rep.items[0].domain, rep.items[0].message, later);
        assert_true(later > 0);
        nv_maint_report_clear(&rep);
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++) {
                assert_refs(durable.d, v[i].name, (const char *const *) before[i], 2);
                assert_int_equal(state_files(v[i].name), 2); /* the two cycles' files, no third */
                assert_true(vmm_runs(&v[i]));               /* kept frozen, then thawed by the failure */
                free(before[i][0]);
                free(before[i][1]);
        }
        assert_int_equal(record_lines(), 0);
        nv_driver_free(durable.d);
        durable = (typeof(durable)) {};
        for (unsigned i = 0; i < DURABLE_DOMAINS; i++)
                vmm_stop(&v[i]);
}

/*
 * A domain's state directory on another filesystem (an operator's mount
 * or link): the state directory's syncfs() does not reach it, so save-all
 * writes that domain's file durably itself.  Seen from fsync() (linked
 * with --wrap=fsync): some fsync must land below that directory.
 */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static struct {
        const char *below;
        unsigned hits;
} elsewhere;

int __wrap_fsync(int fd) {
        char link[64], target[512];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = elsewhere.below ? readlink(link, target, sizeof(target) - 1) : -1;
        if (n > 0) {
                target[n] = '\0';
                elsewhere.hits += strncmp(target, elsewhere.below, strlen(elsewhere.below)) == 0;
        }
        return __real_fsync(fd);
}

static void test_save_all_domain_dir_elsewhere(void **state) {
        char other[] = "/dev/shm/nestvirt-elsewhere-XXXXXX", link[256], uri[256], cmd[300];
        struct stat a, b;
        NvMaintReport rep = {};
        Vmm v[2];
        NvDriver *d;

        snprintf(link, sizeof(link), "%s/state", dir);
        mkdir(link, 0700); /* the other tests may have made it */
        if (!mkdtemp(other) || stat(other, &a) < 0 || stat(link, &b) < 0 || a.st_dev == b.st_dev) {
                printf("# skipped: no other filesystem at /dev/shm\n");
                rmdir(other);
                return;
        }
        for (unsigned i = 0; i < 2; i++)
                vmm_init(&v[i], 80 + i);
        snprintf(link, sizeof(link), "%s/state/%s", dir, v[0].name);
        assert_int_equal(symlink(other, link), 0);
        write_node(v, 2, uri);
        for (unsigned i = 0; i < 2; i++)
                vmm_start(&v[i], false);
        d = driver_open(uri);
        elsewhere.below = other;
        save_all_jobs(d, false, 0, &rep);
        elsewhere.below = NULL;
        assert_int_equal(rep.n_done, 2);
        printf("# fsyncs below %s: %u\n", other, elsewhere.hits);
        assert_true(elsewhere.hits > 0);
        nv_maint_report_clear(&rep);
        nv_driver_free(d);
        for (unsigned i = 0; i < 2; i++)
                vmm_stop(&v[i]);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other);
        assert_int_equal(system(cmd), 0);
}

static int teardown(void **state) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_history_across_failed_saves),
                cmocka_unit_test(test_save_landing_before_the_lock),
                cmocka_unit_test(test_lock_held_errors),
                cmocka_unit_test(test_save_keeps_metadata_as_written),
                cmocka_unit_test(test_save_thaws_before_writing),
                cmocka_unit_test(test_maintenance_with_a_hung_vmm),
                cmocka_unit_test(test_restore_all_record),
                cmocka_unit_test(test_restore_all_bad_record),
                cmocka_unit_test(test_save_all_durable_before_referenced),
                cmocka_unit_test(test_save_all_domain_dir_elsewhere),
        };

        if (argc != 2) {
                fprintf(stderr, "Usage: %s TESTVMM\n", argv[0]);
                return 2;
        }
        testvmm = argv[1];
        snprintf(dir, sizeof(dir), "/tmp/nestvirt-driver-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        return cmocka_run_group_tests(tests, NULL, teardown);
}
