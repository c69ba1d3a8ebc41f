/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): `nestvirt maintenance save-all` of
 * 10, 50 and 100 domains, each with a VMM of its own (1 SVM vCPU in L2,
 * the agent on a p2p socket), one after another (--jobs 1) and with the
 * default workers, alternating.  Prints the wall time of each (median and
 * minimum of RUNS; a command's process start included) and their ratios,
 * on two libvirt setups:
 *
 *  - a libvirt daemon holding the domains, as on a host (qemu:///system):
 *    a private libvirtd, run as nobody, serving its test driver over its
 *    unix socket; the benchmark keeps a connection of its own open, so
 *    that test:///default and the domains it started live on.  Needs
 *    root (to run the daemon as another uid), libvirtd and setpriv.
 *  - libvirt's test driver in the nestvirt process (test:///NODE.xml): it
 *    reads and parses its whole node file at every connect, about 40 ms
 *    for 100 domains on our machines, a cost of libvirt's that both runs
 *    pay serially and no daemon has.
 *
 * Beside the wall times it prints the CPU time of every process involved
 * (nestvirt, the VMMs, the daemon): the default run cannot take less wall
 * time than its CPU time divided by the CPUs, so on a machine where the
 * sequential run is bound by the CPU rather than by syncs, that floor
 * bounds the ratio, whatever the workers do.  At 100 domains it splits
 * that CPU time by process, and gives a tighter floor: the process start
 * (`nestvirt --version`, mostly loading libvirt's libraries) runs on one
 * CPU before anything else can.  It also gives the busy time of every
 * CPU meanwhile (/proc/stat): besides the processes, the kernel's threads
 * that commit the filesystem's journal for each sync, work the default
 * run's batched syncs save; on a machine doing nothing else, the truest
 * floor.
 *
 * Target: 100 domains with the default workers in at most 40 % of the
 * sequential time (medians), judged on the daemon setup when it can run.
 * Beside it, the least and the greatest ratio of a single pair of runs:
 * on a small machine the spread between pairs is wider than what a change
 * moves the median by.  It reports; it does not fail on figures.
 *
 *   bench-save-all NESTVIRT
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"
#include "vmm-child.h"

#define MAX_DOMAINS 100
#define RUNS 5

static void uuid_of(unsigned i, char ret[37]) {
        snprintf(ret, 37, "9d3e4b1a-0c2f-4e5d-8a7b-%012u", i);
}

/* Domain i's definition: its VMM at dir/mI.sock, our metadata naming it. */
static void domain_xml(FILE *f, const char *dir, unsigned i) {
        char uuid[37];

        uuid_of(i, uuid);
        fprintf(f,
                "<domain type='test'><name>m%u</name><uuid>%s</uuid>\n"
                "  <metadata><nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>\n"
                "    <nestvirt:vmm transport='socket' socket='%s/m%u.sock'/></nestvirt:nested></metadata>\n"
                "  <memory>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
                "  <cpu mode='host-passthrough'/></domain>\n",
                i, uuid, dir, i);
}

/* The node file of the test driver: n running domains. */
static int write_node(const char *dir, unsigned n, char *ret_path, size_t size) {
        FILE *f;

        snprintf(ret_path, size, "%s/node.xml", dir);
        f = fopen(ret_path, "we");
        if (!f)
                return -errno;
        fputs("<node>\n", f);
        for (unsigned i = 0; i < n; i++)
                domain_xml(f, dir, i);
        fputs("</node>\n", f);
        return fclose(f) == 0 ? 0 : -EIO;
}

/* The processes a save-all works with besides its own: the VMMs and the daemon (pid 0: none). */
typedef struct Peers {
        const pid_t *vmms;
        size_t n_vmms;
        pid_t daemon;
} Peers;

/* CPU time a process has used, all its threads, in ns (the scheduler's account: finer than clock ticks). */
static uint64_t cpu_ns(pid_t pid) {
        char path[300], line[128];
        uint64_t sum = 0;
        struct dirent *de;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        while (d && (de = readdir(d))) {
                unsigned long long ns;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int) pid, de->d_name);
                f = fopen(path, "re");
                if (f && fgets(line, sizeof(line), f) && sscanf(line, "%llu", &ns) == 1)
                        sum += ns;
                if (f)
                        fclose(f);
        }
        if (d)
                closedir(d);
        return sum;
}

static uint64_t peers_cpu_ns(const Peers *p) {
        uint64_t sum = p->daemon > 0 ? cpu_ns(p->daemon) : 0;

        for (size_t i = 0; i < p->n_vmms; i++)
                sum += cpu_ns(p->vmms[i]);
        return sum;
}

typedef struct Run {
        double wall_ms;
        double cpu_ms; /* of every process involved: nestvirt, its VMMs, the daemon */
        double own_ms, daemon_ms, vmms_ms; /* the same, by process */
        /* Every CPU's busy time meanwhile (/proc/stat, 10 ms ticks): the kernel's own threads too (journal commits, writeback) */
        double busy_ms;
} Run;

/* The busy time of all CPUs so far (/proc/stat's first line, all but idle and iowait), in ms; 0 if unknown. */
static double machine_busy_ms(void) {
        unsigned long long v[8] = {};
        long hz = sysconf(_SC_CLK_TCK);
        FILE *f = fopen("/proc/stat", "re");
        int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;

        if (f)
                fclose(f);
        if (n < 8 || hz <= 0)
                return 0;
        return (double) (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e3 / (double) hz; /* user nice system irq softirq steal */
}

/* One save-all; false if it failed. */
static bool save_all(const char *nestvirt, const char *uri, const char *jobs, const Peers *peers, Run *ret) {
        uint64_t before = peers_cpu_ns(peers), daemon_before = peers->daemon > 0 ? cpu_ns(peers->daemon) : 0,
                 start = nv_now_usec(CLOCK_MONOTONIC);
        double busy = machine_busy_ms();
        struct rusage ru;
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                dup2(null, STDOUT_FILENO);
                execl(nestvirt, nestvirt, "-c", uri, "maintenance", "save-all", "--json", jobs ? "--jobs" : NULL, jobs, NULL);
                _exit(127);
        }
        if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return false;
        ret->wall_ms = (double) (nv_now_usec(CLOCK_MONOTONIC) - start) / 1e3;
        ret->busy_ms = machine_busy_ms() - busy;
        ret->own_ms = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        ret->daemon_ms = peers->daemon > 0 ? (double) (cpu_ns(peers->daemon) - daemon_before) / 1e6 : 0;
        ret->cpu_ms = (double) (peers_cpu_ns(peers) - before) / 1e6 + ret->own_ms;
        ret->vmms_ms = ret->cpu_ms - ret->own_ms - ret->daemon_ms;
        return true;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

/* Each field the median of its own over runs[0..n). */
static Run run_median(const Run *runs, size_t n) {
        double v[6][RUNS];

        for (size_t k = 0; k < n; k++) {
                v[0][k] = runs[k].wall_ms, v[1][k] = runs[k].cpu_ms, v[2][k] = runs[k].own_ms;
                v[3][k] = runs[k].daemon_ms, v[4][k] = runs[k].vmms_ms, v[5][k] = runs[k].busy_ms;
        }
        return (Run) { median(v[0], n), median(v[1], n), median(v[2], n), median(v[3], n), median(v[4], n), median(v[5], n) };
}

/*
 * Medians of RUNS of each, one after the other alternating (the machine's
 * load hits both alike); false if one failed.  ret_pairs: each pair's own
 * ratio, sorted, for the spread the medians hide.
 */
static bool measure(const char *nestvirt, const char *uri, const Peers *peers, Run *ret_seq, Run *ret_par, double ret_pairs[RUNS]) {
        Run seq[RUNS], par[RUNS];

        for (int k = 0; k < RUNS; k++) {
                if (!save_all(nestvirt, uri, "1", peers, &seq[k]) || !save_all(nestvirt, uri, NULL, peers, &par[k]))
                        return false;
                ret_pairs[k] = par[k].wall_ms / seq[k].wall_ms;
        }
        qsort(ret_pairs, RUNS, sizeof(double), cmp_double);
        *ret_seq = run_median(seq, RUNS);
        *ret_par = run_median(par, RUNS);
        return true;
}

/*
 * The wall time of `nestvirt --version` (median of RUNS): the process
 * start (loading libvirt's libraries) every save-all pays on one CPU
 * before any of its work can run in parallel.
 */
static double start_ms(const char *nestvirt) {
        double v[RUNS];

        for (int k = 0; k < RUNS; k++) {
                uint64_t t0 = nv_now_usec(CLOCK_MONOTONIC);
                int status;
                pid_t pid = fork();

                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                        dup2(null, STDOUT_FILENO);
                        execl(nestvirt, nestvirt, "--version", NULL);
                        _exit(127);
                }
                if (pid < 0 || waitpid(pid, &status, 0) < 0)
                        return 0;
                v[k] = (double) (nv_now_usec(CLOCK_MONOTONIC) - t0) / 1e3;
        }
        return median(v, RUNS);
}

/* A private libvirtd (test driver) as nobody, its state under dir/lv; and our connection keeping test:///default alive. */
typedef struct Daemon {
        pid_t pid;
        char sock[256];
        char uri[320];
        virConnectPtr conn;
        unsigned defined; /* domains m0.. started on it */
} Daemon;

static void silent(void *userdata, virErrorPtr err) {
}

static bool daemon_start(Daemon *dm, const char *dir) {
        char lv[64], home[80], run[80], env[5][240], *envp[6];
        const char *libvirtd = access("/usr/sbin/libvirtd", X_OK) == 0 ? "/usr/sbin/libvirtd" : NULL;

        if (geteuid() != 0 || !libvirtd || access("/usr/bin/setpriv", X_OK) != 0)
                return false;
        snprintf(lv, sizeof(lv), "%s/lv", dir);
        snprintf(home, sizeof(home), "%s/home", lv);
        snprintf(run, sizeof(run), "%s/run", lv);
        if (chmod(dir, 0755) < 0 || mkdir(lv, 0700) < 0 || mkdir(home, 0700) < 0 || mkdir(run, 0700) < 0 ||
            chown(lv, 65534, 65534) < 0 || chown(home, 65534, 65534) < 0 || chown(run, 65534, 65534) < 0)
                return false;
        snprintf(dm->sock, sizeof(dm->sock), "%s/libvirt/libvirt-sock", run);
        snprintf(env[0], sizeof(env[0]), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
        snprintf(env[1], sizeof(env[1]), "HOME=%s", home);
        snprintf(env[2], sizeof(env[2]), "XDG_RUNTIME_DIR=%s", run);
        snprintf(env[3], sizeof(env[3]), "XDG_CONFIG_HOME=%s/.config", home);
        snprintf(env[4], sizeof(env[4]), "XDG_CACHE_HOME=%s/.cache", home);
        for (int k = 0; k < 5; k++)
                envp[k] = env[k];
        envp[5] = NULL;
        dm->pid = fork();
        if (dm->pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                execle("/usr/bin/setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", libvirtd, "--timeout", "0",
                       NULL, envp);
                _exit(127);
        }
        if (dm->pid < 0)
                return false;
        snprintf(dm->uri, sizeof(dm->uri), "test+unix:///default?socket=%s", dm->sock);
        virSetErrorFunc(NULL, silent);
        for (int k = 0; k < 100 && !dm->conn; k++) {
                if (access(dm->sock, F_OK) == 0)
                        dm->conn = virConnectOpen(dm->uri);
                if (!dm->conn)
                        usleep(100 * 1000);
        }
        return dm->conn != NULL;
}

/* Domains m0..m(n-1) running on the daemon (the ones before stay). */
static bool daemon_domains(Daemon *dm, const char *dir, unsigned n) {
        for (; dm->defined < n; dm->defined++) {
                char *xml = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&xml, &size);
                virDomainPtr dom;

                if (!f)
                        return false;
                domain_xml(f, dir, dm->defined);
                fclose(f);
                dom = virDomainCreateXML(dm->conn, xml, 0);
                free(xml);
                if (!dom)
                        return false;
                virDomainFree(dom);
        }
        return true;
}

static void daemon_stop(Daemon *dm) {
        if (dm->conn)
                virConnectClose(dm->conn);
        if (dm->pid > 0) {
                kill(dm->pid, SIGTERM);
                waitpid(dm->pid, NULL, 0);
        }
}

/* At 100 domains: the median ratio, and the least ratio the default run's CPU time allows on this machine (0: not measured). */
typedef struct Outcome {
        double ratio;
        double bound;
        double pair_min, pair_max; /* the least and the greatest ratio of one pair of runs */
        Run seq, par; /* at 100 domains */
} Outcome;

/*
 * One table: save-all of each count on this setup.  The CPU columns add up every process
 * involved: on n CPUs the default run cannot take less wall time than its
 * CPU time / n (the floor), whatever the workers do.
 */
static Outcome table(const char *nestvirt, const char *dir, Daemon *dm, const Peers *peers) {
        static const unsigned counts[] = { 10, 50, 100 };
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        char node[128], uri[160];
        Outcome out = {};

        printf("%s\n", dm ? "libvirt daemon (private libvirtd, test driver over its socket), as on a host:"
                          : "libvirt's test driver in the nestvirt process (reads its node file at each connect):");
        printf("%8s %12s %12s %7s %12s %12s %12s %9s\n", "domains", "--jobs 1", "default", "ratio", "--jobs 1 cpu", "default cpu",
               "cpu floor", "vs floor");
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                Run seq, par;
                double floor, pairs[RUNS];

                if (dm ? !daemon_domains(dm, dir, counts[i]) : write_node(dir, counts[i], node, sizeof(node)) < 0) {
                        printf("%8u setup failed\n", counts[i]);
                        break;
                }
                snprintf(uri, sizeof(uri), "test://%s", node);
                if (!measure(nestvirt, dm ? dm->uri : uri, peers, &seq, &par, pairs)) {
                        printf("%8u save-all failed\n", counts[i]);
                        break;
                }
                floor = par.cpu_ms / (double) (cpus > 0 ? cpus : 1);
                printf("%8u %12.1f %12.1f %6.2fx %12.1f %12.1f %12.1f %8.2fx\n", counts[i], seq.wall_ms, par.wall_ms,
                       par.wall_ms / seq.wall_ms, seq.cpu_ms, par.cpu_ms, floor, par.wall_ms / floor);
                if (counts[i] == 100)
                        out = (Outcome) { par.wall_ms / seq.wall_ms, floor / seq.wall_ms, pairs[0], pairs[RUNS - 1], seq, par };
        }
        return out;
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/nestvirt-bench-all-XXXXXX", sock[128], env[160], uuid[37];
        pid_t pids[MAX_DOMAINS];
        unsigned started = 0;
        Outcome local = {}, daemon = {};
        Daemon dm = {};
        bool have_daemon;

        if (argc != 2 || !mkdtemp(dir))
                return 1;
        snprintf(env, sizeof(env), "%s/state", dir);
        setenv("NESTVIRT_STATE_DIR", env, 1);
        snprintf(env, sizeof(env), "%s/run", dir);
        setenv("NESTVIRT_RUNTIME_DIR", env, 1);
        for (; started < MAX_DOMAINS; started++) {
                snprintf(sock, sizeof(sock), "%s/m%u.sock", dir, started);
                uuid_of(started, uuid);
                child_vm_uuid = uuid;
                pids[started] = spawn_vmm(sock, NV_FORMAT_SVM, 1, CHILD_NORMAL);
                if (pids[started] < 0)
                        break;
        }
        printf("nestvirt maintenance save-all, 1 SVM vCPU per domain, %d runs each (ms, medians; wall with process start, CPU of every process involved), %ld CPUs\n",
               RUNS, sysconf(_SC_NPROCESSORS_ONLN));
        if (started == MAX_DOMAINS) {
                Peers peers = { .vmms = pids, .n_vmms = started };

                have_daemon = daemon_start(&dm, dir);
                peers.daemon = dm.pid;
                if (have_daemon)
                        daemon = table(argv[1], dir, &dm, &peers);
                else
                        printf("no libvirt daemon setup (needs root, /usr/sbin/libvirtd and setpriv)\n");
                daemon_stop(&dm);
                peers.daemon = 0;
                local = table(argv[1], dir, NULL, &peers);
        }
        if (daemon.ratio > 0 || local.ratio > 0) {
                Outcome o = daemon.ratio > 0 ? daemon : local;
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                double start = start_ms(argv[1]);

                printf("at 100 domains, CPU by process (ms): --jobs 1: nestvirt %.1f, daemon %.1f, VMMs %.1f; "
                       "default: nestvirt %.1f, daemon %.1f, VMMs %.1f\n",
                       o.seq.own_ms, o.seq.daemon_ms, o.seq.vmms_ms, o.par.own_ms, o.par.daemon_ms, o.par.vmms_ms);
                /*
                 * The whole machine's busy time adds what no process is charged
                 * with: the kernel's threads committing the journal and writing
                 * back, which batched syncs save.
                 */
                printf("at 100 domains, every CPU's busy time (ms, /proc/stat): --jobs 1 %.0f, default %.0f (the processes above: %.0f, %.0f)\n",
                       o.seq.busy_ms, o.par.busy_ms, o.seq.cpu_ms, o.par.cpu_ms);
                /* The start runs on one CPU with nothing beside it: the rest of the CPU time at best spread over all. */
                printf("floor with the process start (nestvirt --version: %.1f ms) serial: the default run's CPU time allows %.2f at best, "
                       "its machine's busy time %.2f\n",
                       start, (start + (o.par.cpu_ms - start) / (double) (cpus > 0 ? cpus : 1)) / o.seq.wall_ms,
                       (start + (o.par.busy_ms - start) / (double) (cpus > 0 ? cpus : 1)) / o.seq.wall_ms);
                printf("target: 100 domains with the default workers in at most 40%% of the sequential time (median ratio <= 0.40), "
                       "%s: %s (%.2f; one pair of runs %.2f-%.2f; its CPU time on %ld CPUs allows %.2f at best)\n",
                       daemon.ratio > 0 ? "libvirt daemon" : "in-process test driver", o.ratio <= 0.4 ? "met" : "NOT met", o.ratio,
                       o.pair_min, o.pair_max, sysconf(_SC_NPROCESSORS_ONLN), o.bound);
        }
        for (unsigned i = 0; i < started; i++)
                stop_vmm(pids[i]);
        if (system(NULL)) {
                char cmd[200];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return local.ratio > 0 ? 0 : 1;
}
