/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nestvirt collect / load: nested state out of and into a running VMM
 * process that has no nestvirt code in it, through ptrace (src/inject/).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "inject.h"
#include "util.h"
#include "vmm-proc.h"

typedef struct ProcArgs {
        pid_t pid;
        const char *out;
        uint64_t timeout_usec;
} ProcArgs;

static int parse_args(const char *cmd, const char *usage, int argc, char **argv, ProcArgs *a, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "pid", required_argument, NULL, 'p' },
                { "output", required_argument, NULL, 'o' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        uint64_t v;
        int c;

        *a = (ProcArgs) { .timeout_usec = NV_VMM_PROC_DEFAULT_TIMEOUT_USEC };
        while ((c = getopt_long(argc, argv, "hp:o:t:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                case 'p':
                        if (nv_parse_unsigned(optarg, 10, INT32_MAX, &v) < 0 || v == 0)
                                return nv_error_set(reterr, -EINVAL, _("--pid takes a process id, not '%s'."), optarg);
                        a->pid = (pid_t) v;
                        break;
                case 'o':
                        a->out = optarg;
                        break;
                case 't':
                        if (nv_parse_unsigned(optarg, 10, 600000, &v) < 0 || v == 0)
                                return nv_error_set(reterr, -EINVAL, _("--timeout takes milliseconds from 1 to 600000, not '%s'."),
                                                    optarg);
                        a->timeout_usec = v * 1000;
                        break;
                default:
                        return nv_error_set(reterr, -EINVAL, _("Invalid option for '%s'; see 'nestvirt %s --help'."), cmd, cmd);
                }
        }
        if (a->pid == 0)
                return nv_error_set(reterr, -EINVAL, _("'%s' needs --pid PID of the VMM process."), cmd);
        return 1;
}

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

typedef int (*FrozenFunc)(NvVmmProc *p, void *userdata, NvError **reterr);

/* Opens the VMM, freezes it, runs fn, lets it go; *ret_usec (optional): how long it was stopped. */
static int with_frozen(const ProcArgs *a, FrozenFunc fn, void *userdata, unsigned *ret_quiesced, uint64_t *ret_usec,
                       NvError **reterr) {
        _cleanup_(nv_vmm_proc_freep) NvVmmProc *p = NULL;
        uint64_t t0;
        sigset_t old;
        int r;

        r = nv_vmm_proc_open(a->pid, &p, reterr);
        if (r < 0)
                return r;
        nv_inject_hold_signals(&old);
        t0 = mono_usec();
        r = nv_vmm_proc_freeze(p, a->timeout_usec, ret_quiesced, reterr);
        if (r >= 0)
                r = fn(p, userdata, reterr);
        nv_vmm_proc_thaw(p);
        if (ret_usec)
                *ret_usec = mono_usec() - t0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

static int collect_frozen(NvVmmProc *p, void *userdata, NvError **reterr) {
        return nv_vmm_proc_collect(p, userdata, reterr);
}

static int collect(const ProcArgs *a, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        uint64_t usec = 0;
        unsigned quiesced = 0;
        int r;

        r = with_frozen(a, collect_frozen, &s, &quiesced, &usec, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Collecting from process %d"), (int) a->pid);
        r = nv_snapshot_write(a->out, s, reterr);
        if (r < 0)
                return r;
        printf(dngettext(GETTEXT_PACKAGE, "Collected the nested state of %zu vCPU of process %d into %s; ",
                         "Collected the nested state of %zu vCPUs of process %d into %s; ", s->n_vcpus),
               s->n_vcpus, (int) a->pid, a->out);
        printf(dngettext(GETTEXT_PACKAGE, "the VMM was stopped for %.1f ms (%u exit completed).\n",
                         "the VMM was stopped for %.1f ms (%u exits completed).\n", quiesced),
               usec / 1000.0, quiesced);
        return 0;
}

int cmd_collect(Cli *cli, int argc, char **argv, NvError **reterr) {
        ProcArgs a;
        int r;

        r = parse_args("collect", _("Usage: nestvirt collect --pid PID -o FILE [--timeout MS]\n"
                                    "Take the nested state of every vCPU of a running KVM VMM process that has no\n"
                                    "nestvirt code in it, through ptrace, into a snapshot file.\n\n"
                                    "  -p, --pid PID      the VMM process\n"
                                    "  -o, --output FILE  the snapshot file to write (atomically, mode 0600)\n"
                                    "  -t, --timeout MS   how long the VMM may take to reach KVM_RUN (500)\n"),
                       argc, argv, &a, reterr);
        if (r <= 0)
                return r;
        if (!a.out)
                return nv_error_set(reterr, -EINVAL, _("'collect' needs -o FILE for the snapshot to write."));
        return collect(&a, reterr);
}

static int load_frozen(NvVmmProc *p, void *userdata, NvError **reterr) {
        return nv_vmm_proc_load(p, userdata, reterr);
}

static int load(const ProcArgs *a, const char *file, NvError **reterr) {
        _cleanup_(nv_snapshot_freep) NvSnapshot *s = NULL;
        int r;

        r = nv_snapshot_read(file, &s, reterr);
        if (r >= 0)
                r = with_frozen(a, load_frozen, s, NULL, NULL, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Loading %s into process %d"), file, (int) a->pid);
        printf(dngettext(GETTEXT_PACKAGE, "Loaded the nested state of %zu vCPU from %s into process %d.\n",
                         "Loaded the nested state of %zu vCPUs from %s into process %d.\n", s->n_vcpus),
               s->n_vcpus, file, (int) a->pid);
        return 0;
}

int cmd_load(Cli *cli, int argc, char **argv, NvError **reterr) {
        ProcArgs a;
        int r;

        r = parse_args("load", _("Usage: nestvirt load --pid PID FILE [--timeout MS]\n"
                                 "Load a snapshot file into every vCPU of a KVM VMM process that has no nestvirt\n"
                                 "code in it, through ptrace.  Meant for a VMM restored and paused, before its\n"
                                 "vCPUs run.  Every blob is validated first; all vCPUs or none.\n\n"
                                 "  -p, --pid PID      the VMM process\n"
                                 "  -t, --timeout MS   how long the VMM may take to reach KVM_RUN (500)\n"),
                       argc, argv, &a, reterr);
        if (r <= 0)
                return r;
        if (optind + 1 != argc)
                return nv_error_set(reterr, -EINVAL, _("'load' needs exactly one snapshot file."));
        return load(&a, argv[optind], reterr);
}
