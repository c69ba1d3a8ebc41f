/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM protocol on a bus: a private dbus-daemon (run by
 * dbus-run-session, never the host's bus), the VMM under a well-known
 * name with the agent checking each sender, and the driver's backend
 * reaching it by name.  Skips (77) without a session bus.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "snapshot.h"
#include "vmm-child.h"
#include "vmm-client.h"
#include "vmm-protocol.h"

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

static void test_unknown_name(void **state) {
        NvError *err = NULL;

        assert_null(connect_name("org.nestvirt.test.Nobody", &err));
        assert_non_null(strstr(err->message, "VMM"));
        nv_error_free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_collect_load_on_bus),
                cmocka_unit_test(test_unknown_name),
        };

        if (!getenv("DBUS_SESSION_BUS_ADDRESS")) {
                printf("1..0 # SKIP no private session bus (run under dbus-run-session)\n");
                return 77;
        }
        return cmocka_run_group_tests_name("VMM protocol on a private bus", tests, NULL, NULL);
}
