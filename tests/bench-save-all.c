/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): `nestvirt maintenance save-all` of
 * 10, 50 and 100 domains on libvirt's test driver, each with a VMM of its
 * own (1 SVM vCPU in L2, the agent on a p2p socket), one after another
 * (--jobs 1) and with the default workers.  Prints the wall time of each
 * (best of RUNS; a command's process start included) and the ratio.
 * Target: 100 domains with the default workers within 40 % of the
 * sequential time.  It reports; it does not fail on figures.
 *
 *   bench-save-all NESTVIRT
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "vmm-child.h"

#define MAX_DOMAINS 100
#define RUNS 3

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

static double best_ms(const char *nestvirt, const char *uri, const char *jobs) {
        double best = -1;

        for (int k = 0; k < RUNS; k++) {
                double t = save_all_ms(nestvirt, uri, jobs);

                if (t < 0)
                        return -1;
                if (best < 0 || t < best)
                        best = t;
        }
        return best;
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
        printf("nestvirt maintenance save-all, 1 SVM vCPU per domain, best of %d runs (ms, wall, process start included)\n", RUNS);
        printf("%8s %12s %12s %10s\n", "domains", "--jobs 1", "default", "ratio");
        for (size_t i = 0; started == MAX_DOMAINS && i < ELEMENTSOF(counts); i++) {
                double seq, par;

                if (write_node(dir, counts[i], node, sizeof(node)) < 0)
                        break;
                snprintf(uri, sizeof(uri), "test://%s", node);
                seq = best_ms(argv[1], uri, "1");
                par = best_ms(argv[1], uri, NULL);
                if (seq < 0 || par < 0) {
                        printf("%8u save-all failed\n", counts[i]);
                        break;
                }
                printf("%8u %12.1f %12.1f %9.2fx\n", counts[i], seq, par, par / seq);
                if (counts[i] == 100)
                        ratio100 = par / seq;
        }
        if (ratio100 > 0)
                printf("target: 100 domains with the default workers within 40%% of sequential (ratio <= 0.60): %s (%.2f)\n",
                       ratio100 <= 0.6 ? "met" : "NOT met", ratio100);
        for (unsigned i = 0; i < started; i++)
                stop_vmm(pids[i]);
        if (system(NULL)) {
                char cmd[200];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return started == MAX_DOMAINS && ratio100 > 0 ? 0 : 1;
}
