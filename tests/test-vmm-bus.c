/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM protocol on a bus: a private dbus-daemon (run by
 * dbus-run-session, never the host's bus), the VMM under a well-known
 * name with the agent checking each sender, and the driver's backend
 * reaching it by name.  Skips (77) without a session bus.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "snapshot.h"
#include "vmm-child.h"
#include "vmm-client.h"
#include "vmm-protocol.h"

/* nv_vmm_collect_with's act: keeps a copy of the image. */
static size_t image_len;

static int keep_image(const uint8_t *img, size_t len, void *userdata, NvError **reterr) {
        uint8_t **copy = userdata;

        (void) reterr;
        *copy = malloc(len);
        assert_non_null(*copy);
        memcpy(*copy, img, len);
        image_len = len;
        return 0;
}

static NvVmmHandle *connect_name(const char *name, NvError **reterr) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_BUS, .bus = NV_BUS_SESSION, .bus_name = (char *) name,
                              .object_path = (char *) NV_VMM_OBJECT_PATH };
        NvVmmHandle *h = NULL;

        return nv_vmm_backend_dbus.connect(&meta, &h, reterr) < 0 ? NULL : h;
}

static void test_collect_load_on_bus(void **state) {
        uint8_t *img = NULL, *again = NULL;
        size_t len, len2;
        NvSnapshot *a = NULL, *b = NULL;
        NvVmmHandle *h;
        pid_t src, dst;

        src = spawn_vmm("bus:org.nestvirt.test.Source", NV_FORMAT_VMX, 8, CHILD_NORMAL);
        dst = spawn_vmm("bus:org.nestvirt.test.Target", NV_FORMAT_VMX, 8, CHILD_FRESH);
        assert_true(src > 0 && dst > 0);
        h = connect_name("org.nestvirt.test.Source", NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.vcpu_count(h), 8);
        assert_int_equal(nv_vmm_backend_dbus.vendor(h), NV_FORMAT_VMX);
        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
        h = connect_name("org.nestvirt.test.Target", NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &again, &len2, NULL, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
        assert_int_equal(nv_snapshot_parse(img, len, &a, NULL), 0);
        assert_int_equal(nv_snapshot_parse(again, len2, &b, NULL), 0);
        for (size_t i = 0; i < 8; i++) {
                assert_int_equal(a->vcpus[i].blob.len, NV_SVM_MAX_SIZE);
                assert_memory_equal(a->vcpus[i].blob.data, b->vcpus[i].blob.data, NV_SVM_MAX_SIZE);
        }
        nv_snapshot_free(a);
        nv_snapshot_free(b);
        free(img);
        free(again);
        stop_vmm(src);
        stop_vmm(dst);
}

/* A Freeze on a connection of its own, which then goes away; returns the token. */
static uint64_t freeze_and_leave(const char *name, bool keep) {
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        uint64_t token = 0;

        assert_int_equal(sd_bus_open_user(&bus), 0);
        if (keep)
                assert_true(sd_bus_call_method(bus, name, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Freeze", NULL, &reply, "a{sv}", 1,
                                               NV_VMM_OPTION_KEEP_FROZEN, "b", 1) >= 0);
        else
                assert_true(sd_bus_call_method(bus, name, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "Freeze", NULL, &reply, "a{sv}", 0) >= 0);
        assert_true(sd_bus_message_read(reply, "t", &token) > 0);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return token;
}

/* Frozen as the VMM says it, once it has had up to 2 s to hear of a caller gone. */
static int frozen_settled(const char *name, int expect) {
        int frozen = -1;

        for (int k = 0; k < 40 && frozen != expect; k++) {
                NvVmmHandle *h = connect_name(name, NULL);

                assert_non_null(h);
                frozen = nv_vmm_backend_dbus.frozen(h, NULL, NULL);
                nv_vmm_backend_dbus.disconnect(h);
                if (frozen != expect)
                        usleep(50 * 1000);
        }
        return frozen;
}

/*
 * On a bus every caller shares the agent's one connection: its identity is
 * remembered by unique name, and a caller that goes away ends its freeze as
 * a p2p connection's close does; a kept freeze stays.
 */
static void test_caller_gone_ends_its_freeze(void **state) {
        const char *name = "org.nestvirt.test.Gone";
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.Gone", NV_FORMAT_SVM, 2, CHILD_NORMAL);
        NvVmmHandle *h;

        assert_true(vmm > 0);
        assert_int_not_equal(freeze_and_leave(name, false), 0);
        assert_int_equal(frozen_settled(name, 0), 0);
        (void) freeze_and_leave(name, true);
        usleep(200 * 1000);
        assert_int_equal(frozen_settled(name, 1), 1);
        h = connect_name(name, NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.thaw_all(h, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.frozen(h, NULL, NULL), 0);
        /* Many calls from one caller: its identity asked once, the answers the same. */
        for (int k = 0; k < 20; k++) {
                uint8_t *img = NULL;
                size_t len;

                assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, NULL), 0);
                free(img);
        }
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(vmm);
}

static void assert_blobs_equal(const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen) {
        NvSnapshot *a = NULL, *b = NULL;

        assert_int_equal(nv_snapshot_parse(x, xlen, &a, NULL), 0);
        assert_int_equal(nv_snapshot_parse(y, ylen, &b, NULL), 0);
        assert_int_equal(a->n_vcpus, b->n_vcpus);
        for (size_t i = 0; i < a->n_vcpus; i++) {
                assert_int_equal(a->vcpus[i].blob.len, b->vcpus[i].blob.len);
                assert_memory_equal(a->vcpus[i].blob.data, b->vcpus[i].blob.data, a->vcpus[i].blob.len);
        }
        nv_snapshot_free(a);
        nv_snapshot_free(b);
}

/*
 * Collect and Load on a bus: one call each, the state the same as the
 * three calls give, the VMM running after.
 */
static void test_combined_on_bus(void **state) {
        const char *name = "org.nestvirt.test.Combined";
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.Combined", NV_FORMAT_SVM, 4, CHILD_NORMAL);
        uint8_t *img = NULL, *three = NULL;
        size_t len, tlen;
        uint64_t usec = 0, token, pauses;
        bool found = true;
        NvVmmHandle *h;

        assert_true(vmm > 0);
        h = connect_name(name, NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.get_state(h, &three, &tlen, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.thaw(h, token, NULL), 0);
        pauses = *child_pauses;
        assert_int_equal(nv_vmm_backend_dbus.collect_once(h, &img, &len, &usec, &found, NULL), 1);
        assert_false(found);
        assert_true(usec > 0);
        assert_blobs_equal(img, len, three, tlen);
        assert_int_equal(nv_vmm_backend_dbus.load_once(h, img, len, &usec, NULL), 1);
        assert_int_equal(*child_pauses, pauses + 2);
        assert_int_equal(nv_vmm_backend_dbus.frozen(h, NULL, NULL), 0);
        nv_vmm_backend_dbus.disconnect(h);
        free(img);
        img = NULL;
        h = connect_name(name, NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.collect_once(h, &img, &len, &usec, &found, NULL), 1);
        nv_vmm_backend_dbus.disconnect(h);
        assert_blobs_equal(img, len, three, tlen); /* loaded back into itself: unchanged */
        free(img);
        free(three);
        stop_vmm(vmm);
}

/*
 * An agent from before Collect, Load and OpenChannel (they answer UnknownMethod): the
 * client falls back to the three calls, with the same results, and asks
 * the newer calls once per connection, not at every collect and load.
 */
static void test_fallback_to_three_calls(void **state) {
        const char *name = "org.nestvirt.test.Old";
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.Old", NV_FORMAT_SVM, 2, CHILD_OLD_AGENT);
        uint8_t *img = NULL;
        size_t len;
        uint64_t usec = 0;
        bool found = true;
        NvVmmHandle *h;

        assert_true(vmm > 0);
        *child_unknown_calls = 0;
        h = connect_name(name, NULL);
        assert_non_null(h);
        for (int k = 0; k < 3; k++) {
                assert_int_equal(nv_vmm_collect_with(&nv_vmm_backend_dbus, h, false, keep_image, &img, &usec, &found, NULL, NULL), 0);
                assert_false(found); /* from the Frozen property, as before */
                assert_true(usec > 0);
                assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, image_len, NULL), 0);
                assert_int_equal(nv_vmm_backend_dbus.frozen(h, NULL, NULL), 0);
                free(img);
                img = NULL;
        }
        assert_int_equal(*child_unknown_calls, 3); /* OpenChannel once (at connect), Collect once, Load once */
        assert_int_equal(nv_vmm_backend_dbus.collect_once(h, &img, &len, &usec, &found, NULL), 0);
        assert_int_equal(*child_unknown_calls, 3); /* remembered: not asked again */
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(vmm);
}

/* One collect + load through h, the VMM running after. */
static void cycle(NvVmmHandle *h) {
        uint8_t *img = NULL;
        size_t len;

        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &img, &len, NULL, NULL), 0);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.frozen(h, NULL, NULL), 0);
        free(img);
}

/*
 * The client asks a VMM on a bus for a channel of its own and makes every
 * later call there: only OpenChannel passes the bus.  A freeze made on the
 * channel ends when the channel closes, as on the bus.
 */
static void test_channel(void **state) {
        const char *name = "org.nestvirt.test.Channel";
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.Channel", NV_FORMAT_SVM, 2, CHILD_NORMAL);
        uint64_t token;
        NvVmmHandle *h;

        assert_true(vmm > 0);
        *child_bus_calls = 0;
        h = connect_name(name, NULL);
        assert_non_null(h);
        assert_int_equal(nv_vmm_backend_dbus.vcpu_count(h), 2);
        for (int k = 0; k < 3; k++)
                cycle(h);
        assert_int_equal(*child_bus_calls, 1); /* OpenChannel */
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.frozen(h, NULL, NULL), 1);
        nv_vmm_backend_dbus.disconnect(h);
        assert_int_equal(frozen_settled(name, 0), 0);
        stop_vmm(vmm);
}

/* An agent from before OpenChannel: the client stays on the bus, with the same results. */
static void test_no_channel_stays_on_bus(void **state) {
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.NoChannel", NV_FORMAT_SVM, 2, CHILD_NO_CHANNEL);
        NvVmmHandle *h;

        assert_true(vmm > 0);
        *child_bus_calls = *child_unknown_calls = 0;
        h = connect_name("org.nestvirt.test.NoChannel", NULL);
        assert_non_null(h);
        for (int k = 0; k < 3; k++)
                cycle(h);
        assert_int_equal(*child_unknown_calls, 1);
        assert_int_equal(*child_bus_calls, 1 + 3 * 2); /* OpenChannel, then Collect and Load each time */
        nv_vmm_backend_dbus.disconnect(h);
        stop_vmm(vmm);
}

/* OpenChannel on bus with fd: 0, or < 0 with the error's name in *ret_name (static). */
static int open_channel_raw(sd_bus *bus, const char *name, int fd, const char **ret_name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, name, NV_VMM_OBJECT_PATH, NV_VMM_INTERFACE, "OpenChannel", &e, NULL, "ha{sv}", fd, 0);

        *ret_name = NULL;
        if (r < 0 && e.name)
                *ret_name = strcmp(e.name, SD_BUS_ERROR_INVALID_ARGS) == 0   ? SD_BUS_ERROR_INVALID_ARGS
                            : strcmp(e.name, SD_BUS_ERROR_ACCESS_DENIED) == 0 ? SD_BUS_ERROR_ACCESS_DENIED
                            : strcmp(e.name, NV_VMM_ERROR_BUSY) == 0           ? NV_VMM_ERROR_BUSY
                                                                               : "other";
        sd_bus_error_free(&e);
        return r < 0 ? r : 0;
}

/* A socket pair made under another uid (this thread's alone: the raw syscall, not glibc's process-wide one). */
static bool pair_as_other_uid(int pair[2]) {
        bool ok;

        if (geteuid() != 0 || syscall(SYS_setresuid, -1, 65534, -1) != 0)
                return false;
        ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0;
        assert_int_equal(syscall(SYS_setresuid, -1, 0, -1), 0);
        return ok;
}

/*
 * What OpenChannel refuses: an fd that is not a connected unix stream
 * socket, a socket made by a uid that may not call the VMM, and a channel
 * past the agent's connection bound; the client then stays on the bus.
 */
static void test_channel_refusals(void **state) {
        const char *name = "org.nestvirt.test.Refuse", *ename;
        pid_t vmm = spawn_vmm("bus:org.nestvirt.test.Refuse", NV_FORMAT_SVM, 2, CHILD_NORMAL);
        int pipefd[2], pair[2], ends[64];
        size_t n = 0;
        sd_bus *bus = NULL;
        NvVmmHandle *h;

        assert_true(vmm > 0);
        assert_int_equal(sd_bus_open_user(&bus), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        assert_true(open_channel_raw(bus, name, pipefd[0], &ename) < 0);
        assert_string_equal(ename, SD_BUS_ERROR_INVALID_ARGS);
        close(pipefd[0]);
        close(pipefd[1]);
        /* A unix stream socket, but not connected, or listening: not a channel either. */
        pair[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(pair[0] >= 0);
        assert_true(open_channel_raw(bus, name, pair[0], &ename) < 0);
        assert_string_equal(ename, SD_BUS_ERROR_INVALID_ARGS);
        assert_int_equal(bind(pair[0], (struct sockaddr *) &(struct sockaddr_un) { .sun_family = AF_UNIX }, sizeof(sa_family_t)), 0);
        assert_int_equal(listen(pair[0], 1), 0); /* on an abstract address the kernel chose */
        assert_true(open_channel_raw(bus, name, pair[0], &ename) < 0);
        assert_string_equal(ename, SD_BUS_ERROR_INVALID_ARGS);
        close(pair[0]);
        if (pair_as_other_uid(pair)) {
                assert_true(open_channel_raw(bus, name, pair[1], &ename) < 0);
                assert_string_equal(ename, SD_BUS_ERROR_ACCESS_DENIED);
                close(pair[0]);
                close(pair[1]);
        } else
                printf("# not root: the other-uid channel is not tried\n");
        /* Channels that never speak, until the agent is full (none has been silent for the eviction's second). */
        for (;;) {
                assert_true(n < ELEMENTSOF(ends));
                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
                if (open_channel_raw(bus, name, pair[1], &ename) < 0) {
                        close(pair[0]);
                        close(pair[1]);
                        break;
                }
                close(pair[1]);
                ends[n++] = pair[0];
        }
        assert_string_equal(ename, NV_VMM_ERROR_BUSY);
        assert_true(n >= 32);
        *child_bus_calls = 0;
        h = connect_name(name, NULL);
        assert_non_null(h);
        cycle(h);
        assert_int_equal(*child_bus_calls, 3); /* OpenChannel refused, Collect and Load on the bus */
        nv_vmm_backend_dbus.disconnect(h);
        for (size_t k = 0; k < n; k++)
                close(ends[k]);
        sd_bus_flush_close_unref(bus);
        stop_vmm(vmm);
}

static void test_unknown_name(void **state) {
        NvError *err = NULL;

        assert_null(connect_name("org.nestvirt.test.Nobody", &err));
        assert_non_null(strstr(err->message, "VMM"));
        nv_error_free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_collect_load_on_bus),
                cmocka_unit_test(test_caller_gone_ends_its_freeze),
                cmocka_unit_test(test_combined_on_bus),
                cmocka_unit_test(test_fallback_to_three_calls),
                cmocka_unit_test(test_channel),
                cmocka_unit_test(test_no_channel_stays_on_bus),
                cmocka_unit_test(test_channel_refusals),
                cmocka_unit_test(test_unknown_name),
        };

        if (!getenv("DBUS_SESSION_BUS_ADDRESS")) {
                printf("1..0 # SKIP no private session bus (run under dbus-run-session)\n");
                return 77;
        }
        return cmocka_run_group_tests_name("VMM protocol on a private bus", tests, NULL, NULL);
}
