/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nestvirt.NestedState1.Job: one object per save, restore, SaveAll or
 * RestoreAll, at /org/nestvirt/NestedState1/job/<id>.  The method that
 * starts one returns its path at once; the work runs on a worker thread
 * (the driver's flows block on VMMs and libvirt), at most max_jobs at a
 * time, the rest queued.  The worker reports progress and its end through
 * an eventfd the loop watches; only the loop touches the bus.  A finished
 * job stays visible for linger_usec, then its object goes away.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "service.h"
#include "util.h"

struct NvJob {
        NvJob *next;
        NvService *s;
        unsigned id;
        NvJobType type;
        uint32_t flags;
        char *domain; /* NULL: every domain (SaveAll, RestoreAll) */
        char uuid[37];
        char *path;
        NvJobState state; /* the loop's view */
        char *result;     /* once finished: what happened */
        pthread_t thread;
        bool started, joined;
        int efd;
        sd_event_source *efd_source, *linger_source;
        atomic_bool cancel;

        /* The loop's view, read by sd-bus at these offsets (the Job properties). */
        const char *type_name;
        const char *state_name;
        const char *shown_result; /* "" until the job has finished */
        double shown_progress;
        char *shown_current;

        /* Written by the worker, read by the loop, under lock. */
        pthread_mutex_t lock;
        double progress;
        char *current;   /* the domain being worked on */
        char **touched;  /* UUIDs whose saved state changed */
        size_t n_touched;
        bool done;
        bool failed;
};

NV_DEFINE_PRIVATE_STRING_TABLE(job_type, [NV_JOB_SAVE] = "save", [NV_JOB_RESTORE] = "restore", [NV_JOB_SAVE_ALL] = "save-all",
                               [NV_JOB_RESTORE_ALL] = "restore-all")
NV_DEFINE_PRIVATE_STRING_TABLE(job_state, [NV_JOB_QUEUED] = "queued", [NV_JOB_RUNNING] = "running",
                               [NV_JOB_COMPLETED] = "completed", [NV_JOB_FAILED] = "failed", [NV_JOB_CANCELLED] = "cancelled")
static const char *const type_actions[_NV_JOB_TYPE_MAX] = { NV_ACTION_SAVE, NV_ACTION_RESTORE, NV_ACTION_MAINTENANCE,
                                                            NV_ACTION_MAINTENANCE };

static NvJob *job_free(NvJob *j) {
        if (!j)
                return NULL;
        if (j->started && !j->joined)
                pthread_join(j->thread, NULL); /* a save under way always finishes: never abandon a frozen VMM */
        sd_event_source_disable_unref(j->efd_source);
        sd_event_source_disable_unref(j->linger_source);
        safe_close(j->efd);
        pthread_mutex_destroy(&j->lock);
        for (size_t i = 0; i < j->n_touched; i++)
                free(j->touched[i]);
        free(j->touched);
        free(j->current);
        free(j->shown_current);
        free(j->result);
        free(j->domain);
        free(j->path);
        free(j);
        return NULL;
}

void nv_jobs_free(NvService *s) {
        while (s->jobs) {
                NvJob *j = s->jobs;

                s->jobs = j->next;
                job_free(j);
        }
}

static NvJob *job_by_path(NvService *s, const char *path) {
        for (NvJob *j = s->jobs; j; j = j->next)
                if (strcmp(j->path, path) == 0)
                        return j;
        return NULL;
}

/* A job on this domain that has not finished: one operation per domain at a time. */
static NvJob *job_pending_for(NvService *s, const char *uuid) {
        for (NvJob *j = s->jobs; j; j = j->next)
                if (j->state <= NV_JOB_RUNNING && (!j->domain || strcmp(j->uuid, uuid) == 0))
                        return j;
        return NULL;
}

static unsigned jobs_queued(NvService *s) {
        unsigned n = 0;

        for (NvJob *j = s->jobs; j; j = j->next)
                n += j->state == NV_JOB_QUEUED;
        return n;
}

/* --- the worker thread --- */

static void worker_notify(NvJob *j) {
        (void) eventfd_write(j->efd, 1);
}

static void worker_touch(NvJob *j, const char *uuid) {
        char **t = reallocarray(j->touched, j->n_touched + 1, sizeof(char *));

        if (t && (t[j->n_touched] = strdup(uuid)))
                j->n_touched++;
        if (t)
                j->touched = t;
}

static void worker_progress(size_t i, size_t total, const NvMaintItem *it, bool done, void *userdata) {
        NvJob *j = userdata;

        pthread_mutex_lock(&j->lock);
        j->progress = (double) (i + done) / (double) total;
        free(j->current);
        j->current = strdup(it->domain);
        if (done)
                worker_touch(j, it->uuid); /* done, failed or skipped: its LastResult changes either way */
        pthread_mutex_unlock(&j->lock);
        worker_notify(j);
}

/* One domain: a save or a restore, and a sentence on what happened. */
static int worker_one(NvJob *j, char **ret) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvDriver *d = j->s->driver;
        NvSaveResult sr = {};
        NvRestoreResult rr = {};
        int r;

        if (j->type == NV_JOB_SAVE)
                r = nv_driver_save(d, j->uuid, &(NvSaveOptions) { .keep_frozen = j->flags & NV_SERVICE_FLAG_KEEP_FROZEN }, &sr,
                                       &err);
        else
                r = nv_driver_restore(d, j->uuid, &(NvRestoreOptions) { .force = j->flags & NV_SERVICE_FLAG_FORCE }, &rr, &err);
        if (r < 0)
                r = asprintf(ret, "%s", nv_error_message(err, r)) < 0 ? -ENOMEM : -EIO;
        else if (j->type == NV_JOB_SAVE)
                r = asprintf(ret, "Saved %u vCPU(s), %llu bytes, to %s.", sr.ref.vcpus, (unsigned long long) sr.bytes, sr.ref.path);
        else if (rr.loaded)
                r = asprintf(ret, "Restored %u vCPU(s) from %s.", rr.vcpus, rr.path);
        else
                r = asprintf(ret, "Runs on without nested state (policy continue): %s", rr.skipped_why);
        nv_save_result_clear(&sr);
        nv_restore_result_clear(&rr);
        return r == -EIO ? -EIO : r < 0 ? -ENOMEM : 0;
}

/* Every domain: the counts, then each domain that failed. */
static int worker_all(NvJob *j, char **ret) {
        _cleanup_(nv_error_freep) NvError *err = NULL;
        NvMaintOptions o = { .keep_frozen = j->flags & NV_SERVICE_FLAG_KEEP_FROZEN, .progress = worker_progress, .userdata = j,
                             .cancel = &j->cancel };
        NvMaintReport rep = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int r;

        if (!f)
                return -ENOMEM;
        r = (j->type == NV_JOB_SAVE_ALL ? nv_driver_save_all : nv_driver_restore_all)(j->s->driver, &o, &rep, &err);
        fprintf(f, "%zu done, %zu skipped, %zu failed.", rep.n_done, rep.n_skipped, rep.n_failed);
        for (size_t i = 0; i < rep.n; i++)
                if (rep.items[i].status == NV_MAINT_FAILED)
                        fprintf(f, " %s: %s", rep.items[i].domain, rep.items[i].message);
        if (r < 0)
                fprintf(f, " %s", nv_error_message(err, r));
        if (r >= 0 && rep.n_failed)
                r = -EIO;
        nv_maint_report_clear(&rep);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = buf;
        return r;
}

static void *worker_run(void *userdata) {
        NvJob *j = userdata;
        char *msg = NULL;
        int r;

        if (j->type == NV_JOB_SAVE || j->type == NV_JOB_RESTORE) {
                r = worker_one(j, &msg);
                pthread_mutex_lock(&j->lock);
                worker_touch(j, j->uuid);
                j->progress = 1.0;
                pthread_mutex_unlock(&j->lock);
        } else
                r = worker_all(j, &msg);
        pthread_mutex_lock(&j->lock);
        free(j->result);
        j->result = msg ?: strdup(r == -ENOMEM ? "Out of memory." : "");
        j->failed = r < 0;
        j->done = true;
        pthread_mutex_unlock(&j->lock);
        worker_notify(j);
        return NULL;
}

/* --- the loop's side --- */

static void job_set_state(NvJob *j, NvJobState state) {
        j->state = state;
        j->state_name = job_state_to_string(state);
        j->shown_result = state > NV_JOB_RUNNING && j->result ? j->result : "";
}

/* The worker's progress, copied for the properties. */
static void job_sync_progress(NvJob *j) {
        pthread_mutex_lock(&j->lock);
        j->shown_progress = j->progress;
        if (j->current && (!j->shown_current || strcmp(j->current, j->shown_current) != 0)) {
                free(j->shown_current);
                j->shown_current = strdup(j->current);
        }
        pthread_mutex_unlock(&j->lock);
}

static void job_emit(NvJob *j, const char *first, ...) _sentinel_;
static void job_emit(NvJob *j, const char *first, ...) {
        const char *props[8] = { first };
        va_list ap;
        size_t n = 1;

        va_start(ap, first);
        while (n < 7 && (props[n] = va_arg(ap, const char *)))
                n++;
        va_end(ap);
        props[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(j->s->bus, j->path, NV_JOB_INTERFACE, (char **) props);
}

static int on_linger(sd_event_source *src, uint64_t usec, void *userdata) {
        NvJob *j = userdata;
        NvService *s = j->s;

        (void) sd_bus_emit_object_removed(s->bus, j->path);
        for (NvJob **p = &s->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        job_free(j);
        return 0;
}

static void jobs_dispatch(NvService *s);

/* The job's end, on the loop: its state, the signal, the machines it changed, the next job. */
static void job_finished(NvJob *j, NvJobState state) {
        NvService *s = j->s;

        job_sync_progress(j);
        job_set_state(j, state);
        job_emit(j, "State", "Result", "Progress", "Current", NULL);
        (void) sd_bus_emit_signal(s->bus, NV_SERVICE_PATH, NV_MANAGER_INTERFACE, "JobFinished", "uosss", j->id, j->path,
                                  j->domain ?: "", job_state_to_string(state), j->result ?: "");
        for (size_t i = 0; i < j->n_touched; i++)
                nv_machine_set_result(s, j->touched[i], state == NV_JOB_COMPLETED ? job_state_to_string(state) : j->result ?: "");
        (void) sd_event_add_time_relative(s->event, &j->linger_source, CLOCK_MONOTONIC, s->config.linger_usec, 0, on_linger, j);
        jobs_dispatch(s);
}

static int on_worker(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        NvJob *j = userdata;
        eventfd_t v;
        bool done;

        (void) eventfd_read(fd, &v);
        pthread_mutex_lock(&j->lock);
        done = j->done;
        pthread_mutex_unlock(&j->lock);
        if (!done) {
                job_sync_progress(j);
                job_emit(j, "Progress", "Current", NULL);
                return 0;
        }
        pthread_join(j->thread, NULL);
        j->joined = true;
        j->s->n_running--;
        j->efd_source = sd_event_source_disable_unref(j->efd_source);
        job_finished(j, atomic_load(&j->cancel) ? NV_JOB_CANCELLED : j->failed ? NV_JOB_FAILED : NV_JOB_COMPLETED);
        return 0;
}

static int job_start(NvJob *j) {
        int r = sd_event_add_io(j->s->event, &j->efd_source, j->efd, EPOLLIN, on_worker, j);

        if (r < 0)
                return r;
        r = -pthread_create(&j->thread, NULL, worker_run, j);
        if (r < 0) {
                j->efd_source = sd_event_source_disable_unref(j->efd_source);
                return r;
        }
        j->started = true;
        job_set_state(j, NV_JOB_RUNNING);
        j->s->n_running++;
        job_emit(j, "State", NULL);
        return 0;
}

/* Starts the oldest queued jobs while fewer than max_jobs run. */
static void jobs_dispatch(NvService *s) {
        while (s->n_running < s->config.max_jobs) {
                NvJob *oldest = NULL;

                for (NvJob *j = s->jobs; j; j = j->next)
                        if (j->state == NV_JOB_QUEUED)
                                oldest = j;
                if (!oldest)
                        return;
                if (job_start(oldest) < 0) {
                        free(oldest->result);
                        oldest->result = strdup("Cannot start a worker thread.");
                        job_finished(oldest, NV_JOB_FAILED);
                }
        }
}

/* --- creating jobs: the mutating methods' common path --- */

typedef struct JobRequest {
        NvJobType type;
        uint32_t flags;
        char *domain;
        char uuid[37];
} JobRequest;

static void request_free(void *p) {
        JobRequest *q = p;

        free(q->domain);
        free(q);
}

/* Our options are all reserved for now: any key is refused by name, so a client learns it is not understood. */
int nv_service_read_options(sd_bus_message *m, sd_bus_error *error) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                if ((r = sd_bus_message_read(m, "s", &key)) < 0)
                        return r;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

/* Refuses what would interleave with a pending job, or overflow the queue. */
static int check_admissible(NvService *s, const JobRequest *q, sd_bus_error *error) {
        NvJob *p = q->domain ? job_pending_for(s, q->uuid) : NULL;

        for (NvJob *j = s->jobs; !q->domain && !p && j; j = j->next)
                if (j->state <= NV_JOB_RUNNING && !j->domain)
                        p = j;
        if (p)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_BUSY, "%s job %s on %s is not finished yet.",
                                         job_type_to_string(p->type), p->path, p->domain ?: "every domain");
        if (jobs_queued(s) >= s->config.max_queued)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_TOO_MANY_JOBS, "%u jobs are queued already; try again later.",
                                         s->config.max_queued);
        return 0;
}

static int job_new(NvService *s, const JobRequest *q, NvJob **ret) {
        NvJob *j = calloc(1, sizeof(*j));

        if (!j)
                return -ENOMEM;
        *j = (NvJob) { .s = s, .id = ++s->next_job_id, .type = q->type, .flags = q->flags, .efd = -EBADF,
                       .type_name = job_type_to_string(q->type) };
        job_set_state(j, NV_JOB_QUEUED);
        pthread_mutex_init(&j->lock, NULL);
        snprintf(j->uuid, sizeof(j->uuid), "%s", q->uuid);
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        /* The path ends in the bare number, as systemd's jobs do. */
        if (j->efd < 0 || (q->domain && !(j->domain = strdup(q->domain))) || asprintf(&j->path, "%s/%u", NV_JOB_PREFIX, j->id) < 0) {
                job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

/* Authorized: queue it, start what may start, reply the job's path. */
static int job_act(NvService *s, sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobRequest *q = userdata;
        NvJob *j;
        int r;

        r = check_admissible(s, q, error); /* again: another job may have come while polkit was asked */
        if (r < 0)
                return r;
        r = job_new(s, q, &j);
        if (r < 0)
                return r;
        j->next = s->jobs;
        s->jobs = j;
        (void) sd_bus_emit_object_added(s->bus, j->path);
        r = sd_bus_reply_method_return(m, "o", j->path);
        jobs_dispatch(s);
        return r;
}

int nv_job_request(NvService *s, sd_bus_message *m, NvJobType type, const char *domain, sd_bus_error *error) {
        uint32_t allowed = type == NV_JOB_SAVE || type == NV_JOB_SAVE_ALL ? NV_SERVICE_FLAGS_SAVE
                           : type == NV_JOB_RESTORE                  ? NV_SERVICE_FLAGS_RESTORE
                                                                     : 0;
        JobRequest *q = calloc(1, sizeof(*q));
        NvMachine *machine;
        int r;

        if (!q)
                return -ENOMEM;
        q->type = type;
        r = nv_service_read_options(m, error);
        if (r >= 0)
                r = sd_bus_message_read(m, "u", &q->flags);
        if (r >= 0 && (q->flags & ~allowed))
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%x for %s.", q->flags & ~allowed,
                                      job_type_to_string(type));
        if (r >= 0 && domain && (r = nv_machine_lookup(s, domain, &machine, error)) >= 0) {
                snprintf(q->uuid, sizeof(q->uuid), "%s", nv_machine_uuid(machine));
                q->domain = strdup(nv_machine_name(machine));
                r = q->domain ? 0 : -ENOMEM;
        }
        if (r >= 0)
                r = check_admissible(s, q, error);
        if (r < 0) {
                request_free(q);
                return r;
        }
        return nv_polkit_authorize(s, m, type_actions[type], job_act, q, request_free, error);
}

/* --- the Job interface --- */

static int cancel_act(NvService *s, sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvJob *j = job_by_path(s, sd_bus_message_get_path(m));

        if (!j || j->state > NV_JOB_RUNNING)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_NOT_CANCELLABLE, "Job %s has finished already.",
                                         sd_bus_message_get_path(m));
        if (j->state == NV_JOB_QUEUED) {
                free(j->result);
                j->result = strdup("Cancelled before it began.");
                job_finished(j, NV_JOB_CANCELLED);
        } else if (j->domain)
                return sd_bus_error_setf(error, NV_SERVICE_ERROR_NOT_CANCELLABLE,
                                         "Job %s is under way: a save or restore, once the VMM is frozen, always finishes.", j->path);
        else
                atomic_store(&j->cancel, true); /* the domains not begun yet are left out */
        return sd_bus_reply_method_return(m, NULL);
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NvJob *j = userdata;

        return nv_polkit_authorize(j->s, m, type_actions[j->type], cancel_act, NULL, NULL, error);
}

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        /* Read by sd-bus at the slot's offset in the NvJob job_find returns (NULL getters). */
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(NvJob, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", NULL, offsetof(NvJob, type_name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Domain", "s", NULL, offsetof(NvJob, domain), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", NULL, offsetof(NvJob, state_name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "d", NULL, offsetof(NvJob, shown_progress), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Current", "s", NULL, offsetof(NvJob, shown_current), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", NULL, offsetof(NvJob, shown_result), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found, sd_bus_error *error) {
        NvJob *j = job_by_path(userdata, path);

        if (!j)
                return 0;
        *found = j; /* the properties are its slots; Cancel gets it too */
        return 1;
}

static int job_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        NvService *s = userdata;
        size_t n = 0, k = 0;
        char **l;

        for (NvJob *j = s->jobs; j; j = j->next)
                n++;
        if (!(l = calloc(n + 1, sizeof(char *))))
                return -ENOMEM;
        for (NvJob *j = s->jobs; j; j = j->next)
                if ((l[k] = strdup(j->path)))
                        k++;
        *nodes = l;
        return 0;
}

int nv_job_append_list(NvService *s, sd_bus_message *reply) {
        int r = sd_bus_message_open_container(reply, 'a', "(usssso)");

        for (NvJob *j = s->jobs; r >= 0 && j; j = j->next)
                r = sd_bus_message_append(reply, "(usssso)", j->id, job_type_to_string(j->type), job_state_to_string(j->state),
                                          j->domain ?: "", j->state > NV_JOB_RUNNING ? j->result ?: "" : "", j->path);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

int nv_job_add_vtable(NvService *s) {
        int r = sd_bus_add_fallback_vtable(s->bus, &s->slots[4], NV_JOB_PREFIX, NV_JOB_INTERFACE, job_vtable, job_find, s);

        return r < 0 ? r : sd_bus_add_node_enumerator(s->bus, &s->slots[5], NV_JOB_PREFIX, job_enumerate, s);
}
