/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt maintenance save-all | restore-all: every nested domain, for
 * host shutdown and boot (nestvirt-maintenance.service).  Progress is a bar
 * on a terminal and one line per domain otherwise (a journal); every
 * domain's outcome is reported at the end, and any failure makes exit 1.
 *
 * Under systemd (NOTIFY_SOCKET set) each domain is announced with STATUS=
 * and EXTEND_TIMEOUT_USEC=, so that a long save-all at shutdown is not
 * killed at the unit's stop timeout while it makes progress.  SIGTERM,
 * SIGINT and SIGHUP end the run after the domains under way: they are
 * finished and recorded, the rest are not begun, and the exit status is 1.
 *
 * --jobs N domains are under way at once (default: eight per online CPU,
 * at most MAX_DEFAULT_JOBS): a domain's time is mostly waiting (on its
 * VMM, on libvirt, on syncs), so many more workers than CPUs pay off (on
 * two CPUs, 16 workers took 0.38-0.49 of the sequential time against
 * 0.50-0.53 for 4: docs/performance.md), while each one is a VMM frozen
 * for its collect and a few MiB in flight.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli.h"
#include "util.h"

#define BAR_WIDTH 30
/*
 * How long systemd is to wait, from the start of each domain, before it
 * gives up on the unit: a few VMM calls of at most a few seconds each (a
 * hung VMM costs its timeout), the snapshot's write and fsync, libvirt.
 */
#define DOMAIN_TIMEOUT_USEC (90ull * 1000000ull)
#define MAX_DEFAULT_JOBS 16u
#define DEFAULT_JOBS_PER_CPU 8u
#define MAX_JOBS 64u

typedef struct Maint {
        bool save; /* save-all, else restore-all */
        bool keep_frozen;
        bool tty;  /* progress as a bar */
        bool json; /* no progress on stdout */
        unsigned jobs;
        size_t finished; /* domains finished so far: the bar's fill (progress calls never overlap) */
        atomic_bool cancel;
        atomic_bool over;  /* the run is over: the watcher's next wake-up ends it */
        atomic_int signal; /* the signal that cancelled the run, 0 if none */
        sigset_t signals;
} Maint;

static const char *verb(const Maint *m, NvMaintStatus s) {
        if (s == NV_MAINT_FAILED)
                return _("FAILED");
        if (s == NV_MAINT_SKIPPED)
                return _("skipped");
        if (s == NV_MAINT_NOT_BEGUN)
                return _("not begun");
        return m->save ? _("saved") : _("restored");
}

/* What went right, in a few words. */
static void detail(const Maint *m, const NvMaintItem *it, char *buf, size_t size) {
        if (it->status != NV_MAINT_DONE)
                snprintf(buf, size, "%s", it->message ?: "");
        else if (m->save)
                snprintf(buf, size, dngettext(GETTEXT_PACKAGE, "%u vCPU, %llu bytes, %s", "%u vCPUs, %llu bytes, %s", it->save.ref.vcpus), it->save.ref.vcpus, (unsigned long long) it->save.bytes,
                         it->save.ref.path);
        else if (it->restore.loaded)
                snprintf(buf, size, dngettext(GETTEXT_PACKAGE, "%u vCPU from %s", "%u vCPUs from %s", it->restore.vcpus), it->restore.vcpus, it->restore.path);
        else
                snprintf(buf, size, _("runs on WITHOUT nested state (policy continue): %s"), it->restore.skipped_why);
}

/* To systemd, when it listens: which domain is under way, and time for it. */
static void notify(const Maint *m, size_t i, size_t total, const NvMaintItem *it) {
        (void) sd_notifyf(/* unset_environment= */ false, "STATUS=%s %zu/%zu: %s\nEXTEND_TIMEOUT_USEC=%llu",
                          m->save ? "save-all: saving" : "restore-all: restoring", i + 1, total, it->domain, DOMAIN_TIMEOUT_USEC);
}

static void progress(size_t i, size_t total, const NvMaintItem *it, bool done, void *userdata) {
        Maint *m = userdata;
        char buf[1024];
        size_t fill;

        if (!done)
                notify(m, i, total, it);
        if (m->json)
                return;
        if (!m->tty) {
                if (done) {
                        detail(m, it, buf, sizeof(buf));
                        printf("[%zu/%zu] %s: %s: %s\n", i + 1, total, it->domain, verb(m, it->status), buf);
                        fflush(stdout);
                }
                return;
        }
        m->finished += done;
        fill = m->finished * BAR_WIDTH / total;
        printf("\r\033[K[%.*s%*s] %zu/%zu %s %s", (int) fill, "##############################", (int) (BAR_WIDTH - fill), "",
               m->finished, total, done ? verb(m, it->status) : m->save ? _("saving") : _("restoring"), it->domain);
        fflush(stdout);
}

static void report_text(const Maint *m, const NvMaintReport *rep) {
        char buf[1024];

        if (m->tty && rep->n)
                printf("\r\033[K");
        if (rep->n == 0) {
                printf(m->save ? _("No running domain has nestvirt metadata: nothing to save.\n")
                               : _("No domain is recorded by a save-all: nothing to restore.\n"));
                return;
        }
        printf(m->save ? _("save-all: %zu saved, %zu skipped, %zu failed.\n") : _("restore-all: %zu restored, %zu skipped, %zu failed.\n"),
               rep->n_done, rep->n_skipped, rep->n_failed);
        /* Without a bar each domain already has its line: the end repeats only what went wrong. */
        for (size_t i = 0; i < rep->n; i++) {
                if (!m->tty && rep->items[i].status == NV_MAINT_DONE)
                        continue;
                detail(m, &rep->items[i], buf, sizeof(buf));
                printf("  %-9s %-20s %s\n", verb(m, rep->items[i].status), rep->items[i].domain, buf);
        }
        if (m->save && m->keep_frozen && rep->n_done)
                printf(_("The saved VMMs stay frozen (--keep-frozen): the host's own save of the VMs comes next.\n"));
}

NV_DEFINE_PRIVATE_STRING_TABLE(maint_status, [NV_MAINT_NOT_BEGUN] = "not-begun", [NV_MAINT_DONE] = "done",
                               [NV_MAINT_SKIPPED] = "skipped", [NV_MAINT_FAILED] = "failed")

static json_object *item_json(const Maint *m, const NvMaintItem *it) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "domain", json_object_new_string(it->domain));
        json_object_object_add(o, "uuid", json_object_new_string(it->uuid));
        json_object_object_add(o, "status", json_object_new_string(maint_status_to_string(it->status)));
        json_object_object_add(o, "message", it->message ? json_object_new_string(it->message) : NULL);
        json_object_object_add(o, "sha256", it->sha256[0] ? json_object_new_string(it->sha256) : NULL);
        if (it->status == NV_MAINT_DONE && m->save)
                json_object_object_add(o, "path", json_object_new_string(it->save.ref.path));
        if (it->status == NV_MAINT_DONE && !m->save)
                json_object_object_add(o, "loaded", json_object_new_boolean(it->restore.loaded));
        return o;
}

static void report_json(const Maint *m, const NvMaintReport *rep) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        json_object_object_add(o, "operation", json_object_new_string(m->save ? "save-all" : "restore-all"));
        json_object_object_add(o, "done", json_object_new_int64((int64_t) rep->n_done));
        json_object_object_add(o, "skipped", json_object_new_int64((int64_t) rep->n_skipped));
        json_object_object_add(o, "failed", json_object_new_int64((int64_t) rep->n_failed));
        for (size_t i = 0; i < rep->n; i++)
                json_object_array_add(a, item_json(m, &rep->items[i]));
        json_object_object_add(o, "domains", a);
        cli_print_json(o);
        json_object_put(o);
}

static void usage(void) {
        printf(_("Usage: nestvirt [-c URI] maintenance save-all [--keep-frozen] [--jobs N] [--json]\n"
                 "       nestvirt [-c URI] maintenance restore-all [--jobs N] [--json]\n"
                 "Host maintenance, run by nestvirt-maintenance.service around libvirt-guests.\n\n"
                 "save-all     save every running domain that has nestvirt metadata, going on\n"
                 "             past a failed one, and record the saved ones for restore-all\n"
                 "restore-all  restore the domains the last save-all recorded, if their XML\n"
                 "             still references that snapshot; failed ones stay recorded\n\n"
                 "  -k, --keep-frozen  (save-all) leave the saved VMMs frozen: the host is going down\n"
                 "  -J, --jobs N       N domains at once (1: one after another; default: eight per\n"
                 "                     online CPU, at most 16)\n"
                 "  -j, --json         print the report as JSON (no progress)\n"
                 "Progress is a bar on a terminal, a line per domain otherwise.  Exit status 1\n"
                 "if any domain failed.\n"));
}

/* DEFAULT_JOBS_PER_CPU per online CPU, at most MAX_DEFAULT_JOBS (the top of the file says why). */
static unsigned default_jobs(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (n < 1)
                n = 1;
        return (unsigned long) n >= MAX_DEFAULT_JOBS / DEFAULT_JOBS_PER_CPU ? MAX_DEFAULT_JOBS : (unsigned) n * DEFAULT_JOBS_PER_CPU;
}

static int parse(Cli *cli, int argc, char **argv, Maint *m, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "keep-frozen", no_argument, NULL, 'k' },
                { "json", no_argument, NULL, 'j' },
                { "jobs", required_argument, NULL, 'J' },
                {},
        };
        uint64_t jobs;
        int c;

        while ((c = getopt_long(argc, argv, "hkjJ:", opts, NULL)) >= 0) {
                if (c == 'h') {
                        usage();
                        return 0;
                } else if (c == 'k')
                        m->keep_frozen = true;
                else if (c == 'J') {
                        if (nv_parse_unsigned(optarg, 10, MAX_JOBS, &jobs) < 0 || jobs == 0)
                                return nv_error_set(reterr, -EINVAL, _("--jobs takes a number from 1 to %u, not '%s'."), MAX_JOBS, optarg);
                        m->jobs = (unsigned) jobs;
                }
                else if (c == 'j')
                        cli->json = true;
                else
                        return cli_option_error(argc, argv, reterr);
        }
        if (optind + 1 != argc || (strcmp(argv[optind], "save-all") != 0 && strcmp(argv[optind], "restore-all") != 0))
                return nv_error_set(reterr, -EINVAL, _("'maintenance' takes one action, save-all or restore-all; see 'nestvirt maintenance --help'."));
        m->save = strcmp(argv[optind], "save-all") == 0;
        if (m->keep_frozen && !m->save)
                return nv_error_set(reterr, -EINVAL, _("--keep-frozen is an option of save-all only."));
        m->tty = !cli->json && isatty(STDOUT_FILENO);
        if (m->jobs == 0)
                m->jobs = default_jobs();
        return 1;
}

/* Waits for a stop signal (blocked in every thread): the run ends after the domain under way. */
static void *watch_signals(void *userdata) {
        Maint *m = userdata;
        int sig;

        if (sigwait(&m->signals, &sig) == 0 && !atomic_load(&m->over)) {
                atomic_store(&m->signal, sig);
                atomic_store(&m->cancel, true);
        }
        return NULL;
}

/* Before any other thread exists, so that all of them inherit the mask. */
static int watch_start(Maint *m, pthread_t *ret, NvError **reterr) {
        int r;

        sigemptyset(&m->signals);
        sigaddset(&m->signals, SIGTERM);
        sigaddset(&m->signals, SIGINT);
        sigaddset(&m->signals, SIGHUP);
        r = pthread_sigmask(SIG_BLOCK, &m->signals, NULL);
        if (r == 0)
                r = pthread_create(ret, NULL, watch_signals, m);
        return r ? nv_error_set(reterr, -r, _("Cannot watch for signals: %s"), strerror(r)) : 0;
}

/* Not pthread_cancel(): unwinding out of sigwait() upsets AddressSanitizer.  A signal of the set wakes it. */
static void watch_stop(Maint *m, pthread_t t) {
        atomic_store(&m->over, true);
        pthread_kill(t, SIGHUP);
        pthread_join(t, NULL);
}

static int run(Cli *cli, Maint *m, NvMaintReport *rep, NvError **reterr) {
        _cleanup_(nv_driver_freep) NvDriver *d = NULL;
        NvMaintOptions o = { .keep_frozen = m->keep_frozen, .jobs = m->jobs, .cancel = &m->cancel, .progress = progress, .userdata = m };
        int r;

        r = cli_open_driver(cli->uri, NULL, NULL, &d, reterr);
        if (r < 0)
                return r;
        r = (m->save ? nv_driver_save_all : nv_driver_restore_all)(d, &o, rep, reterr);
        (void) sd_notifyf(false, "STATUS=%s: %zu done, %zu skipped, %zu failed", m->save ? "save-all" : "restore-all", rep->n_done,
                          rep->n_skipped, rep->n_failed);
        return r;
}

int cmd_maintenance(Cli *cli, int argc, char **argv, NvError **reterr) {
        NvMaintReport rep = {};
        Maint m = {};
        pthread_t watcher;
        int r;

        r = parse(cli, argc, argv, &m, reterr);
        if (r <= 0)
                return r;
        m.json = cli->json;
        r = watch_start(&m, &watcher, reterr);
        if (r < 0)
                return r;
        r = run(cli, &m, &rep, reterr);
        watch_stop(&m, watcher);
        if (cli->json)
                report_json(&m, &rep);
        else
                report_text(&m, &rep);
        if (r >= 0 && atomic_load(&m.signal))
                fprintf(stderr, _("nestvirt: maintenance %s stopped by signal %d after the domains under way; what was done is "
                                  "recorded.\n"),
                        m.save ? "save-all" : "restore-all", atomic_load(&m.signal));
        if (r >= 0)
                r = rep.n_failed > 0 || atomic_load(&m.signal);
        nv_maint_report_clear(&rep);
        return r;
}
