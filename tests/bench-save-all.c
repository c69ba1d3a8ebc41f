/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): `nestvirt maintenance save-all` of
 * 10, 50 and 100 domains on libvirt's test driver, each with a VMM of its
 * own (1 SVM vCPU in L2, the agent on a p2p socket), one after another
 * (--jobs 1) and with the default workers, alternating.  Prints the wall
 * time of each (median and minimum of RUNS; a command's process start
 * included) and their ratios.  Target: 100 domains with the default
 * workers in at most 40 % of the sequential time (medians).  It reports;
 * it does not fail on figures.
 *
 *   bench-save-all NESTVIRT
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "vmm-child.h"

#define MAX_DOMAINS 100
#define RUNS 5

static void uuid_of(unsigned i, char ret[37]) {
        snprintf(ret, 37, "9d3e4b1a-0c2f-4e5d-8a7b-%012u", i);
}

/* The node file of the test driver: n running domains, domain i's VMM at dir/mI.sock. */
static int write_node(const char *dir, unsigned n, char *ret_path, size_t size) {
        char uuid[37];
        FILE *f;

        snprintf(ret_path, size, "%s/node.xml", dir);
        f = fopen(ret_path, "we");
        if (!f)
                return -errno;
        fputs("<node>\n", f);
        for (unsigned i = 0; i < n; i++) {
                uuid_of(i, uuid);
                fprintf(f,
                        "<domain type='test'><name>m%u</name><uuid>%s</uuid>\n"
                        "  <metadata><nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>\n"
                        "    <nestvirt:vmm transport='socket' socket='%s/m%u.sock'/></nestvirt:nested></metadata>\n"
                        "  <memory>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
                        "  <cpu mode='host-passthrough'/></domain>\n",
                        i, uuid, dir, i);
        }
        fputs("</node>\n", f);
        return fclose(f) == 0 ? 0 : -EIO;
}

/* One save-all; its wall time in ms, < 0 if it failed. */
static double save_all_ms(const char *nestvirt, const char *uri, const char *jobs) {
        uint64_t start = nv_now_usec(CLOCK_MONOTONIC);
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                dup2(null, STDOUT_FILENO);
                execl(nestvirt, nestvirt, "-c", uri, "maintenance", "save-all", "--json", jobs ? "--jobs" : NULL, jobs, NULL);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return (double) (nv_now_usec(CLOCK_MONOTONIC) - start) / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* RUNS of each, one after the other alternating (the machine's load hits both alike); false if one failed. */
static bool measure(const char *nestvirt, const char *uri, double seq[RUNS], double par[RUNS]) {
        for (int k = 0; k < RUNS; k++) {
                seq[k] = save_all_ms(nestvirt, uri, "1");
                par[k] = save_all_ms(nestvirt, uri, NULL);
                if (seq[k] < 0 || par[k] < 0)
                        return false;
        }
        qsort(seq, RUNS, sizeof(double), cmp_double);
        qsort(par, RUNS, sizeof(double), cmp_double);
        return true;
}

int main(int argc, char **argv) {
        static const unsigned counts[] = { 10, 50, 100 };
        char dir[] = "/tmp/nestvirt-bench-all-XXXXXX", sock[128], node[128], uri[160], env[160], uuid[37];
        pid_t pids[MAX_DOMAINS];
        unsigned started = 0;
        double ratio100 = 0;

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
        printf("nestvirt maintenance save-all, 1 SVM vCPU per domain, %d runs each (ms, wall, process start included)\n", RUNS);
        printf("%8s %12s %12s %8s %12s %12s %8s\n", "domains", "--jobs 1 med", "default med", "ratio", "--jobs 1 min",
               "default min", "ratio");
        for (size_t i = 0; started == MAX_DOMAINS && i < ELEMENTSOF(counts); i++) {
                double seq[RUNS], par[RUNS], sm, pm;

                if (write_node(dir, counts[i], node, sizeof(node)) < 0)
                        break;
                snprintf(uri, sizeof(uri), "test://%s", node);
                if (!measure(argv[1], uri, seq, par)) {
                        printf("%8u save-all failed\n", counts[i]);
                        break;
                }
                sm = seq[RUNS / 2];
                pm = par[RUNS / 2];
                printf("%8u %12.1f %12.1f %7.2fx %12.1f %12.1f %7.2fx\n", counts[i], sm, pm, pm / sm, seq[0], par[0],
                       par[0] / seq[0]);
                if (counts[i] == 100)
                        ratio100 = pm / sm;
        }
        if (ratio100 > 0)
                printf("target: 100 domains with the default workers in at most 40%% of the sequential time (median ratio <= 0.40): "
                       "%s (%.2f)\n", ratio100 <= 0.4 ? "met" : "NOT met", ratio100);
        for (unsigned i = 0; i < started; i++)
                stop_vmm(pids[i]);
        if (system(NULL)) {
                char cmd[200];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return started == MAX_DOMAINS && ratio100 > 0 ? 0 : 1;
}
