/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): the fixed cost of the VMM protocol
 * through a bus against peer-to-peer.  At 1 vCPU the state is tiny, so what
 * is measured is the calls themselves: one collect + load as the CLI's
 * save and restore make them (Collect, then Load: one call each, the
 * freeze inside the VMM; an agent without them would get Freeze,
 * GetNestedState, Thaw, Freeze, SetNestedState, Thaw) on an open
 * connection ("warm"), and connect (the properties) plus the first
 * collect + load ("cold", what one CLI command pays).  The bus VMMs are
 * under a private dbus-daemon (dbus-run-session), never the host's bus.
 * On a bus the client asks the VMM for a channel of its own
 * (OpenChannel) and calls it there; the third figure is a VMM from
 * before OpenChannel, every call passing the daemon, for comparison.
 * Target: the bus within 2x of p2p.  Prints the best of RUNS (a shared
 * machine's medians are noise); it reports, it does not fail on figures.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"
#include "util.h"
#include "vmm-child.h"
#include "vmm-client.h"

#define RUNS 41

/* Keeps the smaller of *best and t (both usec); *best 0: none yet. */
static void keep_min(uint64_t *best, uint64_t t) {
        if (*best == 0 || t < *best)
                *best = t;
}

static uint64_t now_usec(void) {
        return nv_now_usec(CLOCK_MONOTONIC);
}

typedef struct Figures {
        double cold_us; /* connect (the properties) and the first collect + load: a CLI command's calls */
        double warm_us; /* one collect + load on a connection already open: the calls alone */
} Figures;

static void cycle(NvVmmHandle *h) {
        uint8_t *img = NULL;
        size_t len;

        if (nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, NULL) < 0 ||
            nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL) < 0)
                abort();
        free(img);
}

/* where: a p2p socket path, or "bus:NAME". */
static Figures measure(const char *where, unsigned n, ChildMode mode) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) where, .bus = -1 };
        uint64_t cold = 0, warm = 0;
        NvVmmHandle *h = NULL;
        pid_t pid;

        if (strncmp(where, "bus:", 4) == 0)
                meta = (NvNestedMeta) { .transport = NV_VMM_TRANSPORT_BUS, .bus = NV_BUS_SESSION, .bus_name = (char *) where + 4,
                                        .object_path = (char *) "/org/nestvirt/Vmm1" };
        pid = spawn_vmm(where, NV_FORMAT_SVM, n, mode);
        if (pid < 0)
                abort();
        for (int k = 0; k < RUNS; k++) {
                uint64_t t0 = now_usec();

                if (nv_vmm_backend_dbus.connect(&meta, &h, NULL) < 0)
                        abort();
                cycle(h);
                keep_min(&cold, now_usec() - t0);
                nv_vmm_backend_dbus.disconnect(h);
        }
        if (nv_vmm_backend_dbus.connect(&meta, &h, NULL) < 0)
                abort();
        for (int k = 0; k < RUNS; k++) {
                uint64_t t0 = now_usec();

                cycle(h);
                keep_min(&warm, now_usec() - t0);
        }
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(pid);
        return (Figures) { (double) cold, (double) warm };
}

int main(void) {
        static const unsigned counts[] = { 1, 64 };
        char sock[] = "/tmp/nestvirt-bench-XXXXXX", path[64];

        if (!getenv("DBUS_SESSION_BUS_ADDRESS")) {
                printf("bench-bus: no private session bus (run under dbus-run-session); nothing measured\n");
                return 77;
        }
        if (!mkdtemp(sock))
                return 1;
        snprintf(path, sizeof(path), "%s/vmm.sock", sock);
        printf("VMM protocol: bus (private dbus-daemon) against p2p, SVM, best of %d runs (microseconds)\n", RUNS);
        printf("bus: reached by name, calls on its channel; daemon: a VMM without OpenChannel, every call through dbus-daemon\n");
        printf("%6s %10s %10s %8s %10s %8s %10s %10s %8s %10s %8s\n", "vCPUs", "p2p warm", "bus warm", "bus/p2p", "daemon warm", "/p2p",
               "p2p cold", "bus cold", "bus/p2p", "daemon cold", "/p2p");
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                Figures p = measure(path, counts[i], CHILD_NORMAL), b = measure("bus:org.nestvirt.bench.BusVmm", counts[i], CHILD_NORMAL),
                        d = measure("bus:org.nestvirt.bench.DaemonVmm", counts[i], CHILD_NO_CHANNEL);

                printf("%6u %10.1f %10.1f %7.2fx %10.1f %7.2fx %10.1f %10.1f %7.2fx %10.1f %7.2fx\n", counts[i], p.warm_us, b.warm_us,
                       b.warm_us / p.warm_us, d.warm_us, d.warm_us / p.warm_us, p.cold_us, b.cold_us, b.cold_us / p.cold_us, d.cold_us,
                       d.cold_us / p.cold_us);
                if (counts[i] == 1)
                        printf("target: bus fixed cost (collect + load) at 1 vCPU within 2x of p2p: %s (%.2fx)\n",
                               b.warm_us <= 2 * p.warm_us ? "met" : "NOT met", b.warm_us / p.warm_us);
        }
        rmdir(sock);
        return 0;
}
