/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host maintenance: save every nested domain before the host goes down,
 * restore them once it is back.  One domain's failure never stops the
 * others; each outcome is reported.
 *
 * save-all records what it saved (STATE_DIR/maintenance.list: UUID, the
 * snapshot's SHA-256, name), and restore-all restores only those: a domain
 * that was booted afresh or saved anew since must not get old state, and
 * the record is what says the state is still the one to load.
 *
 * The record is durable before a domain is reported saved: a save-all
 * stopped partway (SIGTERM at systemd's stop timeout, SIGKILL, power)
 * leaves a record of the domains it saved (killed during a rewrite, of
 * that rewrite's batch too: their XML names their durable files).  It starts by removing the previous
 * cycle's record, so that no line of an earlier cycle survives to restore
 * a stale snapshot into a domain this cycle did not save.
 *
 * Up to o->jobs domains are under way at once, each in a worker thread
 * doing that domain's whole step (its freeze means what it meant
 * sequentially: one domain's VMM, frozen for its own collect).  A worker
 * stages its domain (collected, its file written without fsync) and goes
 * on; three group commits follow, each run by the first worker that finds
 * it due (commit_due_locked()), for every domain waiting: a sync (one syncfs() of the state
 * directory's filesystem makes a batch of files durable), the landing
 * (each synced domain's XML pointed at its file, by whichever worker is
 * free, so that the libvirt calls of domains run in parallel), and the
 * record (one rewrite names a batch of landed domains).  A domain is
 * reported saved once a durable record holds it; no XML or record ever
 * names a file before it is durable, and a failed sync leaves every
 * domain of that sync, and of every later one, with its previous
 * snapshot (syncfs() reports a write-back error once).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver-private.h"
#include "fileio.h"

#define RECORD_NAME "maintenance.list"
#define RECORD_HEADER "# nestvirt save-all: UUID SHA256 NAME of each domain saved, for restore-all\n"
#define RECORD_MAX_SIZE (4u << 20)

void nv_maint_report_clear(NvMaintReport *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->items[i].domain);
                free(r->items[i].message);
                nv_save_result_clear(&r->items[i].save);
                nv_restore_result_clear(&r->items[i].restore);
        }
        free(r->items);
        *r = (NvMaintReport) {};
}

static int report_add(NvMaintReport *r, const char *name, const char *uuid, const char *sha256) {
        NvMaintItem *items = reallocarray(r->items, r->n + 1, sizeof(*items));

        if (!items)
                return -ENOMEM;
        r->items = items;
        items[r->n] = (NvMaintItem) {};
        if (!(items[r->n].domain = strdup(name)))
                return -ENOMEM;
        snprintf(items[r->n].uuid, sizeof(items[r->n].uuid), "%s", uuid);
        snprintf(items[r->n].sha256, sizeof(items[r->n].sha256), "%s", sha256 ?: "");
        r->n++;
        return 0;
}

/*
 * A cancelled run does not begin the remaining domains (a save or restore
 * under way always finishes).  They count as failed: not saved, or left in
 * the record for the next restore-all.
 */
static int check_cancel(const NvMaintOptions *o, NvError **why) {
        return o->cancel && atomic_load(o->cancel) ? nv_error_set(why, -ECANCELED, _("Cancelled before this domain was begun.")) : 0;
}

/* Ends one domain's step: its outcome (r < 0 failed, > 0 skipped), counted and reported. */
static int finish(NvMaintReport *rep, size_t i, int r, const NvError *err, const NvMaintOptions *o) {
        NvMaintItem *it = &rep->items[i];

        it->status = r < 0 ? NV_MAINT_FAILED : r > 0 ? NV_MAINT_SKIPPED : NV_MAINT_DONE;
        if (r != 0 && !(it->message = strdup(nv_error_message(err, r < 0 ? r : -EAGAIN))))
                return -ENOMEM;
        rep->n_done += r == 0;
        rep->n_skipped += r > 0;
        rep->n_failed += r < 0;
        if (o->progress)
                o->progress(i, rep->n, it, true, o->userdata);
        return 0;
}

static int record_path(NvDriver *d, char **ret) {
        return asprintf(ret, "%s/%s", d->state_dir, RECORD_NAME) < 0 ? -ENOMEM : 0;
}

/* The removal of path made durable: a record must not come back after a crash. */
static int remove_durably(const char *dir, const char *path, NvError **reterr) {
        _cleanup_close_ int fd = -EBADF;

        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;
                return nv_error_set(reterr, -errno, _("Cannot remove '%s': %s"), path, strerror(errno));
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return nv_error_set(reterr, -errno, _("Removed '%s' but could not make that durable: %s"), path, strerror(errno));
        return 0;
}

/* What the record keeps of an item: save-all, those saved; restore-all, those failed or not begun (for the next run). */
static bool record_keeps(NvMaintStatus s, NvMaintStatus keep) {
        return s == keep || (keep == NV_MAINT_FAILED && s == NV_MAINT_NOT_BEGUN);
}

/* The record's text: the items record_keeps(); *ret_n of them. */
static int record_format(const NvMaintReport *rep, NvMaintStatus keep, char **ret, size_t *ret_size, size_t *ret_n) {
        size_t n = 0;
        FILE *f = open_memstream(ret, ret_size);

        if (!f)
                return -ENOMEM;
        fputs(RECORD_HEADER, f);
        for (size_t i = 0; i < rep->n; i++)
                if (record_keeps(rep->items[i].status, keep) && rep->items[i].sha256[0] && ++n)
                        fprintf(f, "%s %s %s\n", rep->items[i].uuid, rep->items[i].sha256, rep->items[i].domain);
        if (fclose(f) != 0) {
                free(*ret);
                *ret = NULL; /* the callers' cleanup frees it too */
                return -ENOMEM;
        }
        *ret_n = n;
        return 0;
}

/* buf, the text of n domains, as the record, durably; none: no record at all. */
static int record_store(NvDriver *d, const char *buf, size_t size, size_t n, NvError **reterr) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (record_path(d, &path) < 0)
                return -ENOMEM;
        if (n == 0)
                return remove_durably(d->state_dir, path, reterr);
        r = nv_mkdir_p(d->state_dir, 0700, reterr);
        return r < 0 ? r : nv_file_write_atomic(path, buf, size, reterr);
}

/* The record of the items with the given status; none: no record at all. */
static int record_write(NvDriver *d, const NvMaintReport *rep, NvMaintStatus keep, NvError **reterr) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, n = 0;
        int r = record_format(rep, keep, &buf, &size, &n);

        return r < 0 ? r : record_store(d, buf, size, n, reterr);
}

/*
 * The workers of one run.  lock guards the report, next, r and the group
 * commits (the sync, land and record fields); steps run without it.
 */
typedef struct Pool Pool;

/* A step's outcome besides done (0), skipped (1) and failed (< 0): saved, its landing, record and report to come. */
#define STEP_RECORDING 2

/* One domain's work on rep->items[i]: 0 done, 1 skipped, < 0 failed (why in *err), or STEP_RECORDING.  Runs unlocked. */
typedef int (*StepFunc)(Pool *p, size_t i, NvError **err);

/*
 * Items waiting for one group commit, in arrival order.  Each item passes
 * through each queue once, so items (one slot per item) never wraps; a
 * round takes [head, tail) as it finds it.  since: when the oldest came.
 */
typedef struct Queue {
        size_t *items, head, tail;
        uint64_t since;
} Queue;

static size_t queue_len(const Queue *q) {
        return q->tail - q->head;
}

static void queue_push(Queue *q, size_t i) {
        if (queue_len(q) == 0)
                q->since = nv_now_usec(CLOCK_MONOTONIC);
        q->items[q->tail++] = i;
}

struct Pool {
        NvDriver *d;
        const NvMaintOptions *o;
        NvMaintReport *rep;
        StepFunc step;
        pthread_mutex_t lock;
        pthread_cond_t changed; /* work for an idle worker may have come: a landing, a commit due, a commit ended */
        size_t next;    /* the next item to begin */
        int r;          /* < 0: out of memory, no item is begun any more */
        const NvDomainRef *refs; /* [item]: save-all's domains as listed */
        NvSaveJob **jobs; /* [item]: staged, not landed yet (save-all) */
        size_t n_staging, n_landing; /* workers collecting a domain, or pointing its XML at its file, now */
        /*
         * Items whose file waits for a sync, and whether a worker syncs
         * now; through sync_fd, opened before any file was written.  A
         * failed sync fails every later one too (sync_err): the error may
         * have been a later round's file's, and syncfs() reports it once.
         */
        int sync_fd;
        int sync_err;
        Queue unsynced;
        bool syncing;
        /* Synced items, to be landed by whichever worker is free: their sync's outcome (why: its message). */
        Queue landq;
        int *sync_r;
        char **sync_why;
        /* Landed items, not in a record write yet, and whether a worker writes it now. */
        Queue pending;
        bool writing;
};

/*
 * How long a sync or a record write may wait, by default, for the workers
 * still staging or landing a domain, so that theirs join the batch: each sync
 * and each rewrite of the record is a round of calls and journal commits,
 * paid once per batch, not once per domain.  Bounded: a worker stuck on a
 * hung VMM holds up nobody else's domain longer than this.  Nobody waits
 * idle for it while there is a domain to begin or to land.
 */
#define COMMIT_DELAY_USEC 20000u

/* Ends item i's step under the lock; < 0 (out of memory) stops the run. */
static void pool_finish(Pool *p, size_t i, int r, const NvError *err) {
        r = finish(p->rep, i, r, err, p->o);
        if (r < 0)
                p->r = r;
}

/*
 * Begins item i, with progress; runs its step unlocked, counted in
 * n_staging from before the unlock (a commit deciding meanwhile must see
 * it).  Called and returns locked.
 */
static void begin_item_locked(Pool *p, size_t i) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        int r;

        if (p->o->progress)
                p->o->progress(i, p->rep->n, &p->rep->items[i], false, p->o->userdata);
        r = check_cancel(p->o, &err);
        if (r == 0) {
                p->n_staging++;
                pthread_mutex_unlock(&p->lock);
                r = p->step(p, i, &err);
                pthread_mutex_lock(&p->lock);
                p->n_staging--;
                pthread_cond_broadcast(&p->changed); /* a commit may wait for it */
        }
        if (r != STEP_RECORDING)
                pool_finish(p, i, r, err);
}

/* Record written (r >= 0) or not: each item in it is reported, done or failed. */
static void record_written_locked(Pool *p, const size_t *items, size_t n, int r, const NvError *why) {
        for (size_t k = 0; k < n; k++) {
                NvMaintItem *it = &p->rep->items[items[k]];
                _cleanup_(nv_error_freep) NvError *err = NULL;
                int q = 0;

                if (r < 0) {
                        it->sha256[0] = '\0'; /* not in the record: restore-all will not know it */
                        q = nv_error_set(&err, r, "%s", nv_error_message(why, r));
                        q = nv_error_wrap(&err, q, _("Saved to %s, but not recorded for restore-all"), it->save.ref.path);
                }
                pool_finish(p, items[k], q, err);
        }
}

/* One rewrite of the record with every domain landed so far; then those waiting for it are reported.  Called and returns locked. */
static void record_round_locked(Pool *p) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, lines = 0, from = p->pending.head, n = queue_len(&p->pending);
        int r;

        p->pending.head = p->pending.tail; /* what lands meanwhile waits for the next write, from when it landed */
        r = record_format(p->rep, NV_MAINT_DONE, &buf, &size, &lines);
        p->writing = true;
        pthread_mutex_unlock(&p->lock);
        if (r >= 0)
                r = record_store(p->d, buf, size, lines, &err);
        pthread_mutex_lock(&p->lock);
        p->writing = false;
        record_written_locked(p, p->pending.items + from, n, r, err);
        pthread_cond_broadcast(&p->changed);
}

/* One syncfs() for every item waiting for one; they go to the landing queue.  Called and returns locked. */
static void sync_round_locked(Pool *p) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        size_t from = p->unsynced.head, to = p->unsynced.tail;
        int r;

        p->unsynced.head = to;
        p->syncing = true;
        pthread_mutex_unlock(&p->lock);
        r = p->sync_err < 0 ? nv_error_set(&err, p->sync_err, _("An earlier sync of this run failed, and its error may have been "
                                                                 "this snapshot's: %s"), strerror(-p->sync_err))
                            : nv_fs_sync_fd(p->sync_fd, p->d->state_dir, &err); /* save-all writes below the state directory only */
        pthread_mutex_lock(&p->lock);
        if (r < 0 && p->sync_err == 0)
                p->sync_err = r;
        p->syncing = false;
        for (size_t k = from; k < to; k++) {
                size_t i = p->unsynced.items[k];

                p->sync_r[i] = r;
                if (r < 0)
                        p->sync_why[i] = strdup(nv_error_message(err, r)); /* NULL: the landing says strerror */
                queue_push(&p->landq, i);
        }
        pthread_cond_broadcast(&p->changed);
}

static void earliest(uint64_t *deadline, uint64_t t) {
        if (t < *deadline)
                *deadline = t;
}

/*
 * Runs the sync or the record write if one is due: something waits for
 * it, no worker does it now, and either no other worker is about to add
 * to it or its oldest has waited the commit delay.  Otherwise
 * *deadline (if earlier) becomes when one will be due.  Called and
 * returns locked; true if it ran one.
 */
static bool commit_due_locked(Pool *p, uint64_t *deadline) {
        uint64_t now = nv_now_usec(CLOCK_MONOTONIC), delay = p->o->commit_delay_usec ?: COMMIT_DELAY_USEC;

        if (queue_len(&p->unsynced) > 0 && !p->syncing) {
                if (p->n_staging == 0 || now >= p->unsynced.since + delay) {
                        sync_round_locked(p);
                        return true;
                }
                earliest(deadline, p->unsynced.since + delay);
        }
        if (queue_len(&p->pending) > 0 && !p->writing) {
                /* Domains staged, synced or being landed now are the record's next lines. */
                size_t feeders = p->n_staging + queue_len(&p->unsynced) + p->syncing + queue_len(&p->landq) + p->n_landing;

                if (feeders == 0 || now >= p->pending.since + delay) {
                        record_round_locked(p);
                        return true;
                }
                earliest(deadline, p->pending.since + delay);
        }
        return false;
}

/* Waits for a change, or until deadline (CLOCK_MONOTONIC usec; UINT64_MAX: none).  Called and returns locked. */
static void wait_change_locked(Pool *p, uint64_t deadline) {
        struct timespec ts = { .tv_sec = (time_t) (deadline / 1000000), .tv_nsec = (long) (deadline % 1000000) * 1000 };

        if (deadline == UINT64_MAX)
                pthread_cond_wait(&p->changed, &p->lock);
        else
                (void) pthread_cond_timedwait(&p->changed, &p->lock, &ts);
}

static void land_and_record(Pool *p, size_t i);

/*
 * Work until none is left: a commit that is due, a synced domain to land
 * (its XML and record wait), the next domain to begin; with none of
 * these, wait while a commit is under way or will be due.
 */
static void *pool_work(void *userdata) {
        Pool *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                uint64_t deadline = UINT64_MAX;

                if (commit_due_locked(p, &deadline))
                        continue;
                if (queue_len(&p->landq) > 0) {
                        size_t i = p->landq.items[p->landq.head++];

                        p->n_landing++;
                        pthread_mutex_unlock(&p->lock);
                        land_and_record(p, i);
                        pthread_mutex_lock(&p->lock);
                } else if (p->r >= 0 && p->next < p->rep->n)
                        begin_item_locked(p, p->next++);
                else if (p->syncing || p->writing || deadline != UINT64_MAX)
                        wait_change_locked(p, deadline);
                else
                        break; /* what other workers still hold, they commit themselves */
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

/* The arrays of a pool of n items; false: out of memory. */
static bool pool_alloc(Pool *p, size_t n) {
        n = n ?: 1;
        p->jobs = calloc(n, sizeof(NvSaveJob *));
        p->unsynced.items = calloc(n, sizeof(size_t));
        p->landq.items = calloc(n, sizeof(size_t));
        p->pending.items = calloc(n, sizeof(size_t));
        p->sync_r = calloc(n, sizeof(int));
        p->sync_why = calloc(n, sizeof(char *));
        return p->jobs && p->unsynced.items && p->landq.items && p->pending.items && p->sync_r && p->sync_why;
}

static void pool_free(Pool *p, size_t n) {
        for (size_t i = 0; p->sync_why && i < n; i++)
                free(p->sync_why[i]);
        free(p->jobs);
        free(p->unsynced.items);
        free(p->landq.items);
        free(p->pending.items);
        free(p->sync_r);
        free(p->sync_why);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->changed);
}

/*
 * Every item, past failures, with progress before and after each, by up
 * to o->jobs workers (this thread one of them); < 0 only for out of
 * memory.  sync_fd: the state directory, for save-all's syncs (-1: none).  A worker that cannot be started leaves its share to the others.
 */
static int run_items(NvDriver *d, const NvMaintOptions *o, NvMaintReport *rep, StepFunc step, const NvDomainRef *refs, int sync_fd) {
        Pool p = { .d = d, .o = o, .rep = rep, .step = step, .lock = PTHREAD_MUTEX_INITIALIZER, .refs = refs, .sync_fd = sync_fd };
        size_t jobs = o->jobs < rep->n ? o->jobs : rep->n, started = 0;
        _cleanup_free_ pthread_t *threads = calloc(jobs ?: 1, sizeof(pthread_t));
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* wait_change_locked()'s deadline */
        pthread_cond_init(&p.changed, &attr);
        pthread_condattr_destroy(&attr);
        if (!threads || !pool_alloc(&p, rep->n)) {
                pool_free(&p, rep->n);
                return -ENOMEM;
        }
        for (; started + 1 < jobs; started++) /* jobs 0 or 1, or no domain: this thread alone */
                if (pthread_create(&threads[started], NULL, pool_work, &p) != 0)
                        break;
        (void) pool_work(&p);
        for (size_t k = 0; k < started; k++)
                pthread_join(threads[k], NULL);
        pool_free(&p, rep->n);
        return p.r;
}

/*
 * Item i's file is durable (its sync's r >= 0: its domain's XML is
 * pointed at it, and it waits for the record) or not (its job is
 * abandoned, the domain keeps its previous snapshot, and the item
 * fails).  Only a domain in a durable record is reported saved.  Unlocked.
 */
static void land_and_record(Pool *p, size_t i) {
        NvMaintItem *it = &p->rep->items[i];
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvSaveJob *job = TAKE_PTR(p->jobs[i]);
        NvSaveResult res = {};
        int r = p->sync_r[i];

        if (r < 0) {
                r = nv_error_set(&err, r, "%s", p->sync_why[i] ?: strerror(-r));
                r = nv_error_wrap(&err, r, _("Not saved: the snapshot could not be made durable, so the domain keeps its previous one"));
                r = nv_save_abandon(job, r, &err);
        } else
                r = nv_save_land(job, &res, &err);
        pthread_mutex_lock(&p->lock);
        p->n_landing--;
        if (r >= 0) {
                it->save = res;
                memcpy(it->sha256, res.ref.sha256, sizeof(it->sha256));
                it->status = NV_MAINT_DONE; /* what the record holds; finish() sets it again */
                queue_push(&p->pending, i);
        } else
                pool_finish(p, i, r, err);
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

/* Staged (collected, written without fsync); the sync, landing and record follow as group commits (pool_work()). */
static int save_step(Pool *p, size_t i, NvError **err) {
        int r;

        r = nv_save_stage(p->d, &p->refs[i], &(NvSaveOptions) { .keep_frozen = p->o->keep_frozen }, &p->jobs[i], err);
        pthread_mutex_lock(&p->lock);
        if (r >= 0)
                queue_push(&p->unsynced, i);
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        return r < 0 ? r : STEP_RECORDING;
}

int nv_driver_save_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr) {
        _cleanup_close_ int sync_fd = -EBADF;
        NvDomainRef *refs = NULL;
        size_t n = 0;
        int r;

        *ret = (NvMaintReport) {};
        r = nv_conn_list_nested(d->conn, &refs, &n, reterr);
        for (size_t i = 0; r >= 0 && i < n; i++) /* items[i] is refs[i] */
                r = report_add(ret, refs[i].name, refs[i].uuid, NULL);
        if (r >= 0) /* a new cycle: nothing of the last one's record may outlive it */
                r = record_write(d, &(NvMaintReport) {}, NV_MAINT_DONE, reterr);
        if (r >= 0)
                r = nv_mkdir_p(d->state_dir, 0700, reterr);
        if (r >= 0) {
                /* Opened before any snapshot is written: its syncfs() then reports their write-back errors. */
                sync_fd = open(d->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = run_items(d, o, ret, save_step, refs, sync_fd < 0 ? -errno : sync_fd);
        }
        nv_domain_refs_free(refs, n);
        return r;
}

static bool all_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'f') && !(s[i] >= 'A' && s[i] <= 'F'))
                        return false;
        return true;
}

/* One record line, "UUID SHA256 NAME", checked field by field: the file is read back after a reboot. */
static int record_parse_line(char *line, unsigned lineno, const char *path, NvMaintReport *rep, NvError **reterr) {
        size_t len = strlen(line);

        if (len < 36 + 1 + 64 + 2 || line[36] != ' ' || line[101] != ' ' || !nv_uuid_shaped(line, 36) ||
            !all_hex(line + 37, 64) || len - 102 > 255)
                return nv_error_set(reterr, -EBADMSG, _("%s:%u: not a record line (UUID SHA256 NAME)."), path, lineno);
        line[36] = line[101] = '\0';
        return report_add(rep, line + 102, line, line + 37);
}

/* The domains the last save-all recorded, as report items; no record: none. */
static int record_read(NvDriver *d, NvMaintReport *rep, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        char *line, *save = NULL;
        unsigned lineno = 0;
        size_t len;
        int r;

        if (record_path(d, &path) < 0)
                return -ENOMEM;
        r = nv_file_read(path, RECORD_MAX_SIZE, &buf, &len, &err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return nv_error_set(reterr, r, "%s", nv_error_message(err, r));
        if (memchr(buf, '\0', len))
                return nv_error_set(reterr, -EBADMSG, _("%s is not a text file."), path);
        if (!(text = strndup((const char *) buf, len)))
                return -ENOMEM;
        for (char *p = text; (line = strtok_r(p, "\n", &save)); p = NULL) {
                lineno++;
                if (line[0] == '#')
                        continue;
                r = record_parse_line(line, lineno, path, rep, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* 0: restore it; -ESTALE: skip it (*why); other < 0: a failure that stays in the record. */
static int restore_check(NvDriver *d, const NvMaintItem *it, NvError **why) {
        _cleanup_(nv_domain_entry_clear) NvDomainEntry e = {};
        _cleanup_(nv_error_freep) NvError *err = NULL;
        const NvNestedMeta *m;
        int r = nv_conn_get_domain(d->conn, it->uuid, &e, &err);

        if (r == -ENOENT)
                return nv_error_set(why, -ESTALE, _("Domain '%s' (%s) no longer exists; nothing restored."), it->domain, it->uuid);
        if (r < 0)
                return nv_error_set(why, r, "%s", nv_error_message(err, r));
        m = e.def->meta;
        if (!m || !m->has_state || strcasecmp(m->state.sha256, it->sha256) != 0)
                return nv_error_set(why, -ESTALE, _("Domain '%s' no longer references the snapshot save-all wrote (%.12s...): "
                                              "it was saved anew or changed since; nothing restored."),
                                    e.def->name, it->sha256);
        if (!e.active)
                return nv_error_set(why, -ESRCH, _("Domain '%s' is not running; start it, then run restore-all again."),
                                    e.def->name);
        return 0;
}

static int restore_step(Pool *p, size_t i, NvError **err) {
        NvMaintItem *it = &p->rep->items[i];
        int r = restore_check(p->d, it, err);

        if (r == 0)
                r = nv_driver_restore(p->d, it->uuid, &(NvRestoreOptions) {}, &it->restore, err);
        return r == -ESTALE ? 1 : r; /* a VM booted afresh will never want that state: skipped, and dropped from the record */
}

int nv_driver_restore_all(NvDriver *d, const NvMaintOptions *o, NvMaintReport *ret, NvError **reterr) {
        int r;

        *ret = (NvMaintReport) {};
        r = record_read(d, ret, reterr);
        if (r >= 0)
                r = run_items(d, o, ret, restore_step, NULL, -EBADF);
        /* What failed stays recorded for the next run; what was done or cannot be done is dropped. */
        return r < 0 ? r : record_write(d, ret, NV_MAINT_FAILED, reterr);
}
