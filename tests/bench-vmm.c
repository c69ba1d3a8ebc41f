/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark (meson test --benchmark): what a save and a restore cost,
 * against the physical floor, in one run.  For 1, 64, 256 and 1024 vCPUs
 * in L2, SVM (4224-byte states) and VMX with a shadow vmcs12 (8320 bytes),
 * each a VMM in its own process (the simulated KVM, the agent on a p2p
 * socket), it prints medians, then minimums (the cost without the
 * neighbours of a shared machine), of:
 *   floor    copying the same bytes out of the per-vCPU buffers into one
 *            image and back: what no implementation can beat;
 *   save     the freeze window of nv_driver_save() (libvirt's test driver,
 *            a real file with fsync), as the VMM's own clock saw it from
 *            pause to resume;
 *   restore  the same for nv_driver_restore();
 *   p2p      collect + load through the VMM protocol peer-to-peer;
 *   bus      the same through a private dbus-daemon (under dbus-run-session);
 * and each as a ratio to the floor.  The targets (docs/performance.md) are
 * checked at 256 SVM vCPUs.  It reports; it does not time out.
 * NESTVIRT_BENCH_VCPUS=N and NESTVIRT_BENCH_VENDOR=svm|vmx pick one row
 * (for a profiler).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "snapshot.h"
#include "vmm-child.h"
#include "vmm-client.h"

#define RUNS 11
#define TARGET_RATIO 25.0

/* Median and minimum of RUNS, in microseconds: the machine is shared, the minimum is the cost without the neighbours. */
typedef struct Stat {
        double med, min;
} Stat;

typedef struct Row {
        unsigned n;
        ChildMode mode; /* CHILD_NORMAL: SVM; CHILD_SHADOW: VMX */
        size_t bytes;   /* of nested state, every blob */
        Stat floor, save, restore, p2p, bus;
} Row;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static Stat stat_us(uint64_t *v) {
        qsort(v, RUNS, sizeof(*v), cmp_u64);
        return (Stat) { .med = v[RUNS / 2] / 1000.0, .min = v[0] / 1000.0 };
}

static NvFormat vendor_of(ChildMode mode) {
        return mode == CHILD_SHADOW ? NV_FORMAT_VMX : NV_FORMAT_SVM;
}

/* The floor: n blobs of size bytes each copied into one image and back out again, as a GET and a SET must. */
static Stat floor_us(unsigned n, size_t size) {
        uint8_t *src = malloc(n * size), *img = malloc(n * size), *dst = malloc(n * size);
        uint64_t t[RUNS];

        if (!src || !img || !dst)
                abort();
        memset(src, 0x5a, n * size);
        memset(img, 0, n * size);
        memset(dst, 0, n * size);
        for (int k = 0; k < RUNS; k++) {
                uint64_t start = now_ns();

                for (unsigned i = 0; i < n; i++)
                        memcpy(img + i * size, src + i * size, size);
                for (unsigned i = 0; i < n; i++)
                        memcpy(dst + i * size, img + i * size, size);
                t[k] = now_ns() - start;
        }
        if (memcmp(src, dst, n * size) != 0)
                abort();
        free(src);
        free(img);
        free(dst);
        return stat_us(t);
}

static void die(const char *what, int r, NvError *err) {
        fprintf(stderr, "bench-vmm: %s: %s\n", what, nv_error_message(err, r));
        exit(1);
}

static void connect_vmm(const char *where, NvVmmHandle **h) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) where, .bus = -1 };
        NvError *err = NULL;
        int r;

        if (strncmp(where, "bus:", 4) == 0)
                meta = (NvNestedMeta) { .transport = NV_VMM_TRANSPORT_BUS, .bus = NV_BUS_SESSION, .bus_name = (char *) where + 4,
                                        .object_path = (char *) "/org/nestvirt/Vmm1" };
        r = nv_vmm_backend_dbus.connect(&meta, h, &err);
        if (r < 0)
                die(where, r, err);
}

/* Collect from one VMM process and load into it again, through D-Bus; *ret_bytes: the nested state's size. */
static Stat ipc_us(const char *where, Row *row) {
        NvVmmHandle *h = NULL;
        NvError *err = NULL;
        uint64_t t[RUNS];
        pid_t pid;
        int r = 0;

        pid = spawn_vmm(where, vendor_of(row->mode), row->n, row->mode);
        if (pid < 0)
                die("spawn", -EIO, NULL);
        connect_vmm(where, &h);
        for (int k = 0; k < RUNS && r >= 0; k++) {
                uint8_t *img = NULL;
                size_t len;
                uint64_t start = now_ns();

                r = nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, &err);
                if (r >= 0)
                        r = nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, &err);
                t[k] = now_ns() - start;
                if (r >= 0 && k == 0) {
                        NvSnapshot *s = NULL;

                        r = nv_snapshot_parse(img, len, &s, &err);
                        for (size_t i = 0; r >= 0 && i < s->n_vcpus; i++)
                                row->bytes += s->vcpus[i].blob.len;
                        nv_snapshot_free(s);
                }
                free(img);
        }
        if (r < 0)
                die("collect + load", r, err);
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(pid);
        return stat_us(t);
}

/* A libvirt test-driver node with one nested domain whose VMM listens on sock. */
static void write_node(const char *dir, const char *sock, unsigned n, char uri[static 256]) {
        char path[200];
        FILE *f;

        snprintf(path, sizeof(path), "%s/node.xml", dir);
        f = fopen(path, "w");
        if (!f)
                abort();
        fprintf(f, "<node><domain type='test'><name>bench</name><uuid>5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e01</uuid><metadata>"
                   "<nestvirt:nested xmlns:nestvirt='http://nestvirt.org/schemas/domain/nested/1.0'>"
                   "<nestvirt:vmm socket='%s'/></nestvirt:nested></metadata>"
                   "<memory>1048576</memory><vcpu>%u</vcpu><os><type arch='x86_64'>hvm</type></os>"
                   "<cpu mode='host-passthrough'/></domain></node>\n",
                sock, n);
        if (fclose(f) != 0)
                abort();
        snprintf(uri, 256, "test://%s", path);
}

/* Save and restore through the driver, RUNS times each; the freeze windows as the VMM measured them. */
static void driver_windows(const char *dir, const char *sock, Row *row) {
        char uri[256], state[200], run[200];
        uint64_t save[RUNS], restore[RUNS];
        NvDriver *d = NULL;
        NvError *err = NULL;
        pid_t pid;
        int r;

        write_node(dir, sock, row->n, uri);
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(run, sizeof(run), "%s/run", dir);
        pid = spawn_vmm(sock, vendor_of(row->mode), row->n, row->mode);
        if (pid < 0 || !child_window_ns)
                die("spawn", -EIO, NULL);
        r = nv_driver_new(&(NvDriverConfig) { .uri = uri, .state_dir = state, .runtime_dir = run, .vmm = &nv_vmm_backend_dbus },
                          &d, &err);
        if (r < 0)
                die("driver", r, err);
        for (int k = 0; k < RUNS; k++) {
                NvSaveResult sr = {};
                NvRestoreResult rr = {};

                r = nv_driver_save(d, "bench", &(NvSaveOptions) {}, &sr, &err);
                if (r < 0)
                        die("save", r, err);
                save[k] = *child_window_ns;
                nv_save_result_clear(&sr);
                r = nv_driver_restore(d, "bench", &(NvRestoreOptions) { .force = true }, &rr, &err);
                if (r < 0)
                        die("restore", r, err);
                restore[k] = *child_window_ns;
                nv_restore_result_clear(&rr);
        }
        nv_driver_free(d);
        stop_vmm(pid);
        row->save = stat_us(save);
        row->restore = stat_us(restore);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static double pick(Stat st, bool min) {
        return min ? st.min : st.med;
}

static void print_header(const char *what) {
        printf("%s of %d runs (microseconds; x: times the floor's %s)\n", what, RUNS, what);
        printf("%6s %-4s %9s %8s %9s %7s %9s %7s %9s %7s %9s %7s\n", "vCPUs", "", "bytes", "floor", "save", "", "restore", "", "p2p",
               "", "bus", "");
}

static void print_row(const Row *r, bool bus, bool min) {
        double f = pick(r->floor, min), v[] = { pick(r->save, min), pick(r->restore, min), pick(r->p2p, min), pick(r->bus, min) };

        printf("%6u %-4s %9zu %8.1f", r->n, nv_format_to_string(vendor_of(r->mode)), r->bytes, f);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                if (i < 3 || bus)
                        printf(" %9.1f %6.1fx", v[i], v[i] / f);
                else
                        printf(" %9s %7s", "-", "-");
        printf("\n");
        fflush(stdout);
}

static void print_target(const char *what, Stat v, Stat floor) {
        printf("target at 256 SVM vCPUs: %s within %.0fx the floor: %s (median %.1fx, minimum %.1fx)\n", what, TARGET_RATIO,
               v.med <= TARGET_RATIO * floor.med ? "met" : "NOT met", v.med / floor.med, v.min / floor.min);
}

int main(void) {
        static const unsigned counts[] = { 1, 64, 256, 1024 };
        static const ChildMode modes[] = { CHILD_NORMAL, CHILD_SHADOW };
        bool bus = getenv("DBUS_SESSION_BUS_ADDRESS") != NULL;
        const char *only_n = getenv("NESTVIRT_BENCH_VCPUS"), *only_vendor = getenv("NESTVIRT_BENCH_VENDOR");
        char dir[] = "/tmp/nestvirt-bench-XXXXXX", sock[64];
        Row rows[ELEMENTSOF(counts) * ELEMENTSOF(modes)];
        size_t n_rows = 0;

        if (!mkdtemp(dir))
                return 1;
        snprintf(sock, sizeof(sock), "%s/vmm.sock", dir);
        printf("nested state of vCPUs in L2\n");
        printf("floor: the same bytes copied out and back; save/restore: the freeze window as the VMM measured it;\n"
               "p2p/bus: collect + load through the VMM protocol\n");
        print_header("median");
        for (size_t m = 0; m < ELEMENTSOF(modes); m++)
                for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                        Row row = { .n = counts[i], .mode = modes[m] };

                        if ((only_n && strtoul(only_n, NULL, 10) != row.n) ||
                            (only_vendor && strcmp(only_vendor, nv_format_to_string(vendor_of(row.mode))) != 0))
                                continue;
                        row.p2p = ipc_us(sock, &row);
                        if (bus)
                                row.bus = ipc_us("bus:org.nestvirt.bench.Vmm", &(Row) { .n = row.n, .mode = row.mode });
                        row.floor = floor_us(row.n, row.bytes / row.n);
                        driver_windows(dir, sock, &row);
                        print_row(&row, bus, false);
                        rows[n_rows++] = row;
                }
        print_header("minimum");
        for (size_t i = 0; i < n_rows; i++)
                print_row(&rows[i], bus, true);
        for (size_t i = 0; i < n_rows; i++)
                if (rows[i].n == 256 && rows[i].mode == CHILD_NORMAL) {
                        print_target("save freeze window", rows[i].save, rows[i].floor);
                        print_target("restore freeze window", rows[i].restore, rows[i].floor);
                        print_target("p2p collect + load", rows[i].p2p, rows[i].floor);
                }
        /* maintenance save-all rows (10/50/100 domains, sequential and parallel) go here, against the same floor. */
        return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : 1;
}
