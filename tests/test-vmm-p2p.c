/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM protocol end to end over peer-to-peer D-Bus: a VMM process on the
 * simulated KVM with the agent embedded, and the driver's D-Bus backend.
 * Collect and load for 1 to 64 vCPUs, and every failure the issue names:
 * a VMM that crashes or hangs mid-call, wrong vendor or vCPU count,
 * damaged, unsealed, truncated or oversized memfds, and a caller that is
 * not allowed.  Each failure must leave the VMM as it was.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "byteorder.h"
#include "fileio.h"
#include "helpers.h"
#include "snapshot.h"
#include "vmm-child.h"
#include "vmm-client.h"
#include "vmm-protocol.h"

static char dir[64];
static const char *data_dir; /* tests/data/snapshots */
static const char *xml_path; /* data/org.nestvirt.Vmm1.xml */

static void socket_path(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/%s.sock", dir, name);
}

static NvVmmHandle *connect_to(const char *path, NvError **reterr) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) path, .bus = -1 };
        NvVmmHandle *h = NULL;

        return nv_vmm_backend_dbus.connect(&meta, &h, reterr) < 0 ? NULL : h;
}

static void collect(const char *path, uint8_t **img, size_t *len) {
        NvVmmHandle *h = connect_to(path, NULL);

        assert_non_null(h);
        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, img, len, NULL, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
}

/* A raw p2p connection, for what the backend would never send. */
static sd_bus *raw_connect(const char *path) {
        char addr[256];
        sd_bus *bus = NULL;

        snprintf(addr, sizeof(addr), "unix:path=%s", path);
        assert_true(sd_bus_new(&bus) >= 0);
        assert_true(sd_bus_set_address(bus, addr) >= 0);
        assert_true(sd_bus_negotiate_fds(bus, 1) >= 0);
        assert_true(sd_bus_start(bus) >= 0);
        return bus;
}

static int frozen(const char *path) {
        sd_bus *bus = raw_connect(path);
        int b = -1;

        assert_true(sd_bus_get_property_trivial(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Frozen", NULL, 'b', &b) >= 0);
        sd_bus_flush_close_unref(bus);
        return b;
}

static bool same_blobs(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
        NvSnapshot *x = NULL, *y = NULL;
        bool same;

        assert_int_equal(nv_snapshot_parse(a, alen, &x, NULL), 0);
        assert_int_equal(nv_snapshot_parse(b, blen, &y, NULL), 0);
        same = x->n_vcpus == y->n_vcpus;
        for (size_t i = 0; same && i < x->n_vcpus; i++)
                same = x->vcpus[i].blob.len == y->vcpus[i].blob.len &&
                       memcmp(x->vcpus[i].blob.data, y->vcpus[i].blob.data, x->vcpus[i].blob.len) == 0;
        nv_snapshot_free(x);
        nv_snapshot_free(y);
        return same;
}

/* Collect from A, load into a fresh B, collect from B: the same state, for 1..64 vCPUs. */
static void test_collect_load(void **state) {
        static const unsigned counts[] = { 1, 2, 8, 64 };
        char pa[128], pb[128];

        socket_path(pa, sizeof(pa), "a");
        socket_path(pb, sizeof(pb), "b");
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                pid_t a = spawn_vmm(pa, NV_FORMAT_SVM, counts[i], CHILD_NORMAL);
                pid_t b = spawn_vmm(pb, NV_FORMAT_SVM, counts[i], CHILD_FRESH);
                uint8_t *img = NULL, *again = NULL, *before = NULL;
                size_t len, len2, blen;
                NvVmmHandle *h;

                collect(pa, &img, &len);
                collect(pb, &before, &blen);
                assert_false(same_blobs(img, len, before, blen)); /* B starts out of L2 */
                free(before);
                assert_int_equal(frozen(pa), 0);
                h = connect_to(pb, NULL);
                assert_non_null(h);
                assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
                nv_vmm_backend_dbus.disconnect(h);
                collect(pb, &again, &len2);
                assert_true(same_blobs(img, len, again, len2));
                assert_int_equal(frozen(pb), 0);
                free(img);
                free(again);
                stop_vmm(a);
                stop_vmm(b);
        }
}

/* Re-serializes img after changing a byte of vCPU i's blob, so that checksums match. */
static void patch_blob(uint8_t **img, size_t *len, size_t i, size_t off, uint32_t value) {
        NvSnapshot *s = NULL;

        assert_int_equal(nv_snapshot_parse(*img, *len, &s, NULL), 0);
        put_le32(s->vcpus[i].blob.data + off, value);
        free(*img);
        assert_int_equal(nv_snapshot_serialize(s, img, len, NULL), 0);
        nv_snapshot_free(s);
}

/* SetNestedState with an fd the backend would never send; returns the error name. */
static char *raw_set(const char *path, int fd) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = raw_connect(path);
        uint64_t token;
        char *name;

        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Freeze", NULL, &reply, "a{sv}", 0) >= 0);
        assert_true(sd_bus_message_read(reply, "t", &token) >= 0);
        reply = sd_bus_message_unref(reply);
        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "SetNestedState", &e, NULL, "ha{sv}", fd, 0) < 0);
        name = strdup(e.message);
        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Thaw", NULL, NULL, "ta{sv}", token, 0) >= 0);
        sd_bus_flush_close_unref(bus);
        return name;
}

/* An unsealed, a truncated and an oversized memfd of img, each sent by send, each refused by name. */
static void check_bad_memfds(const char *path, const uint8_t *img, size_t len, char *(*send)(const char *path, int fd)) {
        char *msg;
        int fd;

        /* Unsealed: the sender could change it after it was checked. */
        fd = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_int_equal(write(fd, img, len), (ssize_t) len);
        msg = send(path, fd);
        assert_non_null(strstr(msg, "not a sealed memfd"));
        free(msg);
        close(fd);
        /* Truncated, but sealed. */
        assert_int_equal(nv_memfd_seal_new(img, len / 2, &fd, NULL), 0);
        msg = send(path, fd);
        assert_non_null(strstr(msg, "truncated or appended"));
        free(msg);
        close(fd);
        /* Oversized: bigger than any snapshot may be. */
        fd = memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_int_equal(ftruncate(fd, (off_t) NV_SNAPSHOT_MAX_SIZE + 1), 0);
        assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK), 0);
        msg = send(path, fd);
        assert_non_null(strstr(msg, "more than the"));
        free(msg);
        close(fd);
        assert_int_equal(frozen(path), 0);
}

static void test_bad_memfds(void **state) {
        char p[128];
        uint8_t *img = NULL;
        size_t len;
        pid_t v;

        socket_path(p, sizeof(p), "memfd");
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, CHILD_NORMAL);
        collect(p, &img, &len);
        check_bad_memfds(p, img, len, raw_set);
        free(img);
        stop_vmm(v);
}

/* A VMM in the given mode refuses a collect with an error naming needle; nothing is handed out. */
static pid_t collect_fails(const char *name, ChildMode mode, const char *needle) {
        char p[128];
        uint8_t *img = NULL;
        size_t len;
        NvError *err = NULL;
        NvVmmHandle *h;
        pid_t v;

        socket_path(p, sizeof(p), name);
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, mode);
        h = connect_to(p, NULL);
        assert_non_null(h);
        assert_true(nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, &err) < 0);
        assert_non_null(strstr(err->message, needle));
        assert_null(img);
        nv_error_free(err);
        nv_vmm_backend_dbus.disconnect(h);
        return v;
}

static void test_crash_mid_call(void **state) {
        waitpid(collect_fails("crash", CHILD_CRASH_ON_FREEZE, "Collect"), NULL, 0);
}

/* A VMM that cannot stop its vCPUs now answers Freeze with the protocol's Busy, and stays running. */
static void test_pause_fails(void **state) {
        stop_vmm(collect_fails("busy", CHILD_PAUSE_FAILS, NV_VMM_ERROR_BUSY));
}

/* The pause inside Collect outlives the timeout: the caller gives up, and the VMM ends up thawed. */
static void test_hang_then_thaw(void **state) {
        char p[128];
        uint8_t *img = NULL;
        size_t len;
        NvError *err = NULL;
        NvVmmHandle *h;
        pid_t v;

        socket_path(p, sizeof(p), "hang");
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, CHILD_HANG_ON_FREEZE);
        setenv("NESTVIRT_VMM_TIMEOUT_MS", "300", 1);
        h = connect_to(p, NULL);
        assert_non_null(h);
        assert_true(nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, &err) < 0);
        assert_non_null(strstr(err->message, "did not answer Collect within"));
        nv_vmm_backend_dbus.disconnect(h);
        unsetenv("NESTVIRT_VMM_TIMEOUT_MS");
        usleep(1800 * 1000); /* the VMM finishes its pause, sees its freezer gone, and thaws */
        assert_int_equal(frozen(p), 0);
        nv_error_free(err);
        stop_vmm(v);
}

/* Only root and the allowed uid may talk to the VMM; needs root to become someone else. */
static void test_caller_not_allowed(void **state) {
        char p[128];
        int status;
        pid_t v, c;

        if (getuid() != 0)
                skip();
        socket_path(p, sizeof(p), "uid");
        v = spawn_vmm(p, NV_FORMAT_SVM, 1, CHILD_NORMAL);
        assert_int_equal(chmod(p, 0666), 0); /* let the stranger reach the socket: the agent must still say no */
        assert_int_equal(chmod(dir, 0755), 0);
        c = fork();
        if (c == 0) {
                NvVmmHandle *h = NULL;
                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                h = connect_to(p, NULL);
                _exit(h ? 1 : 0);
        }
        waitpid(c, &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        stop_vmm(v);
}

/*
 * An image in the old format version 1 (a file written before version 2)
 * goes through SetNestedState as it is: the agent reads both versions, and
 * what it collects afterwards (version 2) holds the same blobs.
 */
static void test_load_version_1(void **state) {
        char p[128], file[4096];
        uint8_t *old = NULL, *again = NULL;
        size_t len, len2;
        NvVmmHandle *h;
        pid_t v;

        snprintf(file, sizeof(file), "%s/good.nvstate", data_dir);
        assert_int_equal(nv_file_read(file, NV_SNAPSHOT_MAX_SIZE, &old, &len, NULL), 0);
        assert_int_equal(get_le32(old + 8), 1);
        socket_path(p, sizeof(p), "v1");
        v = spawn_vmm(p, NV_FORMAT_SVM, 3, CHILD_FRESH);
        h = connect_to(p, NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, old, len, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
        collect(p, &again, &len2);
        assert_int_equal(get_le32(again + 8), NV_SNAPSHOT_VERSION);
        assert_true(same_blobs(old, len, again, len2));
        free(old);
        free(again);
        stop_vmm(v);
}

/* Collect through the backend's combined call, which this VMM must have. */
static void collect_once(const char *path, uint8_t **img, size_t *len, uint64_t *usec, bool *found) {
        NvVmmHandle *h = connect_to(path, NULL);

        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.collect_once(h, img, len, usec, found, NULL), 1);
        nv_vmm_backend_dbus.disconnect(h);
}

/* The three calls, as --keep-frozen saves and older agents still use them. */
static void collect_three(const char *path, uint8_t **img, size_t *len) {
        NvVmmHandle *h = connect_to(path, NULL);
        uint64_t token;

        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.get_state(h, img, len, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.thaw(h, token, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
}

/* Load through the combined call: 1, or -errno and the error's message in *msg (freed by the caller). */
static int load_once(const char *path, const uint8_t *img, size_t len, uint64_t *usec, char **msg) {
        NvVmmHandle *h = connect_to(path, NULL);
        NvError *err = NULL;
        int r;

        assert_non_null(h);
        r = nv_vmm_backend_dbus.load_once(h, img, len, usec, &err);
        if (msg)
                *msg = r < 0 && err ? strdup(err->message) : NULL;
        nv_error_free(err);
        nv_vmm_backend_dbus.disconnect(h);
        return r;
}

/*
 * Collect and Load: one call each, the same state as the three calls, one
 * pause each (the VMM's own count), and the VMM running afterwards.
 */
static void test_combined_calls(void **state) {
        char pa[128], pb[128];
        uint8_t *img = NULL, *three = NULL, *again = NULL;
        size_t len, tlen, alen;
        uint64_t usec = 0, pauses;
        bool found = true;
        pid_t a, b;

        socket_path(pa, sizeof(pa), "ca");
        socket_path(pb, sizeof(pb), "cb");
        a = spawn_vmm(pa, NV_FORMAT_SVM, 8, CHILD_NORMAL);
        b = spawn_vmm(pb, NV_FORMAT_SVM, 8, CHILD_FRESH);
        collect_three(pa, &three, &tlen);
        pauses = *child_pauses;
        collect_once(pa, &img, &len, &usec, &found);
        assert_int_equal(*child_pauses, pauses + 1);
        assert_true(usec > 0);
        assert_false(found);
        assert_int_equal(frozen(pa), 0);
        assert_true(same_blobs(img, len, three, tlen));
        pauses = *child_pauses;
        usec = 0;
        assert_int_equal(load_once(pb, img, len, &usec, NULL), 1);
        assert_int_equal(*child_pauses, pauses + 1);
        assert_true(usec > 0);
        assert_int_equal(frozen(pb), 0);
        collect_three(pb, &again, &alen);
        assert_true(same_blobs(img, len, again, alen));
        free(img);
        free(three);
        free(again);
        stop_vmm(a);
        stop_vmm(b);
}

/* A VMM held frozen by someone else: Collect and Load neither pause nor resume it, and say so. */
static void test_combined_found_frozen(void **state) {
        char p[128];
        sd_bus_message *reply = NULL;
        sd_bus *holder;
        uint8_t *img = NULL;
        size_t len;
        uint64_t token, usec = 1, pauses;
        bool found = false;
        pid_t v;

        socket_path(p, sizeof(p), "held");
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, CHILD_NORMAL);
        holder = raw_connect(p);
        assert_true(sd_bus_call_method(holder, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Freeze", NULL, &reply, "a{sv}", 0) >= 0);
        assert_true(sd_bus_message_read(reply, "t", &token) > 0);
        reply = sd_bus_message_unref(reply);
        pauses = *child_pauses;
        collect_once(p, &img, &len, &usec, &found);
        assert_true(found);
        assert_int_equal(usec, 0);
        assert_int_equal(frozen(p), 1);
        usec = 1;
        assert_int_equal(load_once(p, img, len, &usec, NULL), 1);
        assert_int_equal(usec, 0);
        assert_int_equal(frozen(p), 1);
        assert_int_equal(*child_pauses, pauses); /* never paused again, and never resumed under the holder */
        assert_true(sd_bus_call_method(holder, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Thaw", NULL, NULL, "ta{sv}", token, 0) >= 0);
        assert_int_equal(frozen(p), 0);
        sd_bus_flush_close_unref(holder);
        free(img);
        stop_vmm(v);
}

/* Load of an fd the backend would never send: the error's message (freed by the caller). */
static char *raw_load(const char *path, int fd) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = raw_connect(path);
        char *msg;

        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Load", &e, NULL, "ha{sv}", fd, 0) < 0);
        msg = strdup(e.message);
        sd_bus_flush_close_unref(bus);
        return msg;
}

/* Freeze, SetNestedState, Thaw through the backend: as load_once. */
static int load_three(const char *path, const uint8_t *img, size_t len, char **msg) {
        NvVmmHandle *h = connect_to(path, NULL);
        NvError *err = NULL;
        uint64_t token;
        int r;

        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        r = nv_vmm_backend_dbus.set_state(h, img, len, &err);
        r = nv_vmm_thaw_after(&nv_vmm_backend_dbus, h, token, r, &err);
        *msg = r < 0 && err ? strdup(err->message) : NULL;
        nv_error_free(err);
        nv_vmm_backend_dbus.disconnect(h);
        return r;
}

/*
 * Loads img into the VMM at path (Load, or the three calls) and expects an
 * error naming expect, the VMM paused as often as pauses says (Load: 0
 * when refused before it pauses), running after, its state unchanged.
 */
static void load_refused(const char *path, const uint8_t *img, size_t len, bool combined, const char *expect, unsigned pauses) {
        uint8_t *before = NULL, *after = NULL;
        size_t blen, alen;
        uint64_t n, usec;
        char *msg = NULL;

        collect(path, &before, &blen);
        n = *child_pauses;
        assert_true((combined ? load_once(path, img, len, &usec, &msg) : load_three(path, img, len, &msg)) < 0);
        if (!msg || !strstr(msg, expect))
                fail_msg("got '%s', want '%s'", msg ?: "", expect);
        assert_int_equal(*child_pauses, n + pauses);
        assert_int_equal(frozen(path), 0);
        collect(path, &after, &alen);
        assert_true(same_blobs(before, blen, after, alen));
        free(msg);
        free(before);
        free(after);
}

/* vCPUs whose image is larger than the 2 MiB a 2-vCPU VMM keeps for reading one: read into memory of its own. */
#define BIG_VCPUS 520

/*
 * Wrong vendor, wrong vCPU count (also in an image larger than the VMM's
 * work buffer), a damaged image, a blob KVM would refuse: each refused by
 * name, the VMM as it was.  Load makes every check
 * that needs no vCPU before it pauses (with the memfd's seals and size);
 * a blob's rules are checked against the paused vCPUs.
 */
static void refusals(bool combined) {
        char pv[128], ps[128], ps3[128], pbig[128];
        uint8_t *vmx = NULL, *svm = NULL, *svm3 = NULL, *big = NULL;
        size_t vlen, slen, s3len, biglen;
        unsigned early = combined ? 0 : 1; /* pauses for what needs no vCPU */
        uint64_t n;
        pid_t v, s, s3, b;

        socket_path(pv, sizeof(pv), "vmx");
        socket_path(ps, sizeof(ps), "svm");
        socket_path(ps3, sizeof(ps3), "svm3");
        v = spawn_vmm(pv, NV_FORMAT_VMX, 2, CHILD_NORMAL);
        s = spawn_vmm(ps, NV_FORMAT_SVM, 2, CHILD_NORMAL);
        s3 = spawn_vmm(ps3, NV_FORMAT_SVM, 3, CHILD_NORMAL);
        socket_path(pbig, sizeof(pbig), "svmbig");
        b = spawn_vmm(pbig, NV_FORMAT_SVM, BIG_VCPUS, CHILD_NORMAL);
        collect(pv, &vmx, &vlen);
        collect(ps, &svm, &slen);
        collect(ps3, &svm3, &s3len);
        collect(pbig, &big, &biglen);
        stop_vmm(b);
        assert_true(biglen > (2u << 20));
        load_refused(ps, vmx, vlen, combined, NV_VMM_ERROR_VENDOR_MISMATCH, early);
        load_refused(ps, svm3, s3len, combined, NV_VMM_ERROR_VCPU_COUNT_MISMATCH, early);
        load_refused(ps, big, biglen, combined, NV_VMM_ERROR_VCPU_COUNT_MISMATCH, early);
        free(big);
        svm[slen - 100] ^= 1; /* damage: the reader in the VMM catches it */
        load_refused(ps, svm, slen, combined, NV_VMM_ERROR_BAD_MEMFD, early);
        svm[slen - 100] ^= 1;
        n = *child_pauses;
        if (combined) /* SetNestedState's: test_bad_memfds */
                check_bad_memfds(ps, svm, slen, raw_load);
        assert_int_equal(*child_pauses, n);
        patch_blob(&svm, &slen, 1, NV_OFF_DATA + VMCB_CTL_ASID, 0); /* vCPU 1: ASID 0 */
        load_refused(ps, svm, slen, combined, "Rule S9: control.asid", 1);
        free(vmx);
        free(svm);
        free(svm3);
        stop_vmm(v);
        stop_vmm(s);
        stop_vmm(s3);
}

static void test_refusals(void **state) {
        refusals(false);
}

static void test_combined_refusals(void **state) {
        refusals(true);
}

/*
 * A kernel without nested state: Collect and Load say Unsupported and never
 * pause.  Raw calls: the backend does not even connect to a VMM whose
 * Vendor is empty.
 */
static void test_combined_unsupported(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char p[128], *msg;
        uint8_t tiny[64] = {};
        uint64_t n;
        sd_bus *bus;
        pid_t v;
        int fd;

        socket_path(p, sizeof(p), "nonested");
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, CHILD_NO_NESTED);
        n = *child_pauses;
        bus = raw_connect(p);
        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Collect", &e, NULL, "a{sv}", 0) < 0);
        assert_string_equal(e.name, NV_VMM_ERROR_UNSUPPORTED);
        sd_bus_flush_close_unref(bus);
        assert_int_equal(nv_memfd_seal_new(tiny, sizeof(tiny), &fd, NULL), 0);
        msg = raw_load(p, fd);
        assert_non_null(strstr(msg, "KVM_CAP_NESTED_STATE is 0"));
        free(msg);
        close(fd);
        assert_int_equal(*child_pauses, n);
        assert_int_equal(frozen(p), 0);
        stop_vmm(v);
}

/*
 * OpenChannel is for callers on a bus: on a p2p connection it is refused,
 * and the caller's own connection never gives way for it, even with the
 * agent full of connections silent long enough to be evicted (the
 * caller's among them, the oldest).
 */
static void test_no_channel_on_p2p(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *conns[64];
        size_t n = 0;
        char p[128];
        int pair[2];
        pid_t v;

        socket_path(p, sizeof(p), "nochannel");
        v = spawn_vmm(p, NV_FORMAT_SVM, 2, CHILD_NORMAL);
        /* Each answered once, so that every one is in the agent's table before the next. */
        for (; n < ELEMENTSOF(conns); n++) {
                int b = -1;

                conns[n] = raw_connect(p);
                assert_true(sd_bus_get_property_trivial(conns[n], NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Frozen", NULL, 'b', &b) >= 0);
        }
        usleep(1200 * 1000); /* silent past the eviction's second */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        assert_true(sd_bus_call_method(conns[0], NULL, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "OpenChannel", &e, NULL, "ha{sv}", pair[1], 0) <
                    0);
        assert_string_equal(e.name, NV_VMM_ERROR_UNSUPPORTED);
        assert_int_equal(frozen(p), 0); /* the VMM lives (it gave the oldest silent connection way for this one) */
        close(pair[0]);
        close(pair[1]);
        for (size_t k = 0; k < n; k++)
                sd_bus_flush_close_unref(conns[k]);
        stop_vmm(v);
}

/* The names of every <method name="..."> in xml, each followed by a space: " Freeze Thaw ...". */
static void method_names(const char *xml, char *out, size_t size) {
        static const char tag[] = "<method name=\"";
        size_t n = 0;

        out[0] = '\0';
        for (const char *p = strstr(xml, tag); p; p = strstr(p, tag)) {
                const char *q;

                p += strlen(tag);
                q = strchr(p, '"');
                assert_non_null(q);
                assert_true(n + (size_t) (q - p) + 2 < size);
                n += (size_t) snprintf(out + n, size - n, " %.*s", (int) (q - p), p);
        }
        assert_true(n + 2 < size);
        strcat(out, " ");
}

/* The introspection XML we ship names exactly the methods the agent serves. */
static void test_xml_in_sync(void **state) {
        char p[128], shipped[512], served[512];
        sd_bus_message *reply = NULL;
        uint8_t *xml = NULL;
        const char *live;
        size_t len;
        sd_bus *bus;
        pid_t v;

        assert_int_equal(nv_file_read(xml_path, 1 << 20, &xml, &len, NULL), 0);
        xml = realloc(xml, len + 1);
        xml[len] = '\0';
        method_names((const char *) xml, shipped, sizeof(shipped));
        socket_path(p, sizeof(p), "introspect");
        v = spawn_vmm(p, NV_FORMAT_SVM, 1, CHILD_NORMAL);
        bus = raw_connect(p);
        assert_true(sd_bus_call_method(bus, NULL, NV_VMM_OBJECT_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, &reply,
                                       "") >= 0);
        assert_true(sd_bus_message_read(reply, "s", &live) > 0);
        live = strstr(live, "<interface name=\"" NV_VMM_INTERFACE "\"");
        assert_non_null(live);
        method_names(live, served, sizeof(served));
        if (strcmp(shipped, served) != 0)
                fail_msg("data/org.nestvirt.Vmm1.xml has methods '%s', the agent serves '%s'", shipped, served);
        assert_non_null(strstr(served, " Collect ")); /* the newest */
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        free(xml);
        stop_vmm(v);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_collect_load),   cmocka_unit_test(test_load_version_1), cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_bad_memfds),     cmocka_unit_test(test_crash_mid_call),
                cmocka_unit_test(test_hang_then_thaw), cmocka_unit_test(test_caller_not_allowed),
                cmocka_unit_test(test_pause_fails),    cmocka_unit_test(test_combined_calls),
                cmocka_unit_test(test_combined_found_frozen), cmocka_unit_test(test_combined_refusals),
                cmocka_unit_test(test_combined_unsupported), cmocka_unit_test(test_no_channel_on_p2p),
                cmocka_unit_test(test_xml_in_sync),
        };
        int r;

        data_dir = argc > 1 ? argv[1] : "tests/data/snapshots";
        xml_path = argc > 2 ? argv[2] : "data/org.nestvirt.Vmm1.xml";
        snprintf(dir, sizeof(dir), "/tmp/nestvirt-p2p-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests_name("VMM protocol over p2p D-Bus", tests, NULL, NULL);
        rmdir(dir);
        return r;
}
