/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): collect and load N = 1, 8, 64, 256
 * vCPUs through the VMM protocol, peer-to-peer and (under a private
 * session bus) through a bus, against an in-process floor: the same work
 * on the simulated KVM with no IPC (GET all, build the image; parse it,
 * SET all).  Prints medians and the ratio to the floor.  Target: at 256
 * vCPUs, p2p within 3x of the floor.  It reports; it does not time out.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"
#include "vmm-child.h"
#include "vmm-client.h"

#define RUNS 15

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v) {
        qsort(v, RUNS, sizeof(*v), cmp_u64);
        return v[RUNS / 2] / 1000.0;
}

/* The floor: the agent's work without D-Bus, on one in-process simulated VM. */
static double floor_us(unsigned n) {
        NvVcpu *vcpus[256];
        NvBlob blobs[256];
        uint64_t t[RUNS];
        NvSimConfig cfg;
        NvKvm *kvm = NULL;
        NvSim *sim = NULL;

        nv_sim_config_init(&cfg, NV_FORMAT_SVM);
        nv_sim_backend_open(&cfg, &kvm, &sim, NULL);
        nv_kvm_create_vm(kvm, NULL);
        for (unsigned i = 0; i < n; i++) {
                nv_kvm_create_vcpu(kvm, i, &vcpus[i], NULL);
                nv_sim_vcpu_enter_l2(sim, i, false);
        }
        for (int k = 0; k < RUNS; k++) {
                NvSnapshot *s = nv_snapshot_new(NV_FORMAT_SVM), *back = NULL;
                uint8_t *img = NULL;
                size_t len;
                uint64_t start = now_ns();

                nv_vcpus_get_nested_all(vcpus, n, blobs, NULL);
                for (unsigned i = 0; i < n; i++)
                        nv_snapshot_add(s, i, &blobs[i], NULL);
                nv_snapshot_serialize(s, &img, &len, NULL);
                nv_snapshot_parse(img, len, &back, NULL);
                for (unsigned i = 0; i < n; i++)
                        blobs[i] = back->vcpus[i].blob;
                if (nv_vcpus_set_nested_all(vcpus, n, blobs, NULL) < 0)
                        abort();
                t[k] = now_ns() - start;
                nv_snapshot_free(s);
                nv_snapshot_free(back);
                free(img);
        }
        for (unsigned i = 0; i < n; i++)
                nv_vcpu_free(vcpus[i]);
        nv_kvm_free(kvm);
        return median_us(t);
}

/* Collect from one VMM process and load into it again, through D-Bus. */
static double ipc_us(const char *where, unsigned n) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) where, .bus = -1 };
        NvVmmHandle *h = NULL;
        uint64_t t[RUNS];
        pid_t pid;

        if (strncmp(where, "bus:", 4) == 0)
                meta = (NvNestedMeta) { .transport = NV_VMM_TRANSPORT_BUS, .bus = NV_BUS_SESSION, .bus_name = (char *) where + 4,
                                        .object_path = (char *) "/org/nestvirt/Vmm1" };
        pid = spawn_vmm(where, NV_FORMAT_SVM, n, CHILD_NORMAL);
        if (pid < 0 || nv_vmm_backend_dbus.connect(&meta, &h, NULL) < 0)
                abort();
        for (int k = 0; k < RUNS; k++) {
                uint8_t *img = NULL;
                size_t len;
                uint64_t start = now_ns();

                if (nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, NULL) < 0 ||
                    nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL) < 0)
                        abort();
                t[k] = now_ns() - start;
                free(img);
        }
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(pid);
        return median_us(t);
}

int main(void) {
        static const unsigned counts[] = { 1, 8, 64, 256 };
        bool bus = getenv("DBUS_SESSION_BUS_ADDRESS") != NULL;
        char sock[] = "/tmp/nestvirt-bench-XXXXXX", path[64];

        if (!mkdtemp(sock))
                return 1;
        snprintf(path, sizeof(path), "%s/vmm.sock", sock);
        printf("collect + load, SVM vCPUs in L2, median of %d runs (microseconds)\n", RUNS);
        printf("%6s %12s %12s %8s %12s %8s\n", "vCPUs", "floor", "p2p", "p2p/fl", "bus", "bus/fl");
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                double f = floor_us(counts[i]), p = ipc_us(path, counts[i]);
                double b = bus ? ipc_us("bus:org.nestvirt.bench.Vmm", counts[i]) : 0;

                printf("%6u %12.1f %12.1f %7.2fx", counts[i], f, p, p / f);
                if (bus)
                        printf(" %12.1f %7.2fx\n", b, b / f);
                else
                        printf(" %12s %8s\n", "-", "-");
                if (counts[i] == 256)
                        printf("target at 256 vCPUs: p2p within 3x of the floor: %s (%.2fx)\n", p <= 3 * f ? "met" : "NOT met", p / f);
        }
        rmdir(sock);
        return 0;
}
