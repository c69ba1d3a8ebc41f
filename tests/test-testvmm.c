/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reference VMM across a kill: freeze, collect the nested state through
 * the agent, let the VMM save its own state, SIGKILL it, start a new one
 * from its own state, load the nested state, thaw - and L2 must go on
 * counting from where it stopped, in guest mode.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "snapshot.h"
#include "vmm-client.h"

static const char *testvmm;
static char dir[64];

typedef struct Proc {
        pid_t pid;
        FILE *out;
} Proc;

static void start(Proc *p, const char *sock, const char *own, bool restore) {
        int fds[2];
        char line[256];

        assert_int_equal(pipe(fds), 0);
        p->pid = fork();
        if (p->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                execl(testvmm, testvmm, "--socket", sock, "--vcpus", "3", "--own-state", own, restore ? "--restore" : NULL,
                      (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        p->out = fdopen(fds[0], "r");
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_string_equal(line, "ready\n");
}

static void counters(Proc *p, unsigned long long c[3]) {
        char line[256];

        kill(p->pid, SIGUSR2);
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_int_equal(sscanf(line, "counters: %llu %llu %llu", &c[0], &c[1], &c[2]), 3);
}

static NvVmmHandle *connect_sock(const char *sock) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) sock, .bus = -1 };
        NvVmmHandle *h = NULL;

        assert_int_equal(nv_vmm_backend_dbus.connect(&meta, &h, NULL), 0);
        return h;
}

static void test_l2_survives_kill(void **state) {
        char sock[128], own[128], line[256];
        unsigned long long before[3], saved[3], later[3], after[3];
        uint8_t *img = NULL, *again = NULL;
        size_t len, len2;
        uint64_t token;
        NvSnapshot *s = NULL;
        NvVmmHandle *h;
        Proc a, b;

        (void) state;
        snprintf(sock, sizeof(sock), "%s/vmm.sock", dir);
        snprintf(own, sizeof(own), "%s/own.state", dir);
        start(&a, sock, own, false);
        usleep(100 * 1000);
        counters(&a, before);
        if (!(before[0] > 0 && before[2] > 0))
                fail_msg("L2 is not running: counters %llu %llu %llu", before[0], before[1], before[2]);
        /* Save: freeze, nested state through the agent, own state by the VMM, then kill it. */
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.get_state(h, &img, &len, NULL), 0);
        kill(a.pid, SIGUSR1);
        assert_non_null(fgets(line, sizeof(line), a.out));
        assert_string_equal(line, "saved own state\n");
        counters(&a, saved);
        usleep(50 * 1000);
        counters(&a, later);
        assert_memory_equal(saved, later, sizeof(saved)); /* frozen means frozen */
        nv_vmm_backend_dbus.disconnect(h);
        kill(a.pid, SIGKILL);
        waitpid(a.pid, NULL, 0);
        fclose(a.out);
        /* Restore: a new VMM from its own state, then the nested state, then thaw. */
        start(&b, sock, own, true);
        usleep(50 * 1000);
        counters(&b, after);
        assert_memory_equal(after, saved, sizeof(saved)); /* waits for its nested state before running */
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
        usleep(100 * 1000);
        counters(&b, after);
        for (int i = 0; i < 3; i++)
                assert_true(after[i] > saved[i]);
        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &again, &len2, NULL, NULL), 0);
        assert_int_equal(nv_snapshot_parse(again, len2, &s, NULL), 0);
        for (size_t i = 0; i < s->n_vcpus; i++)
                assert_int_equal(s->vcpus[i].blob.len, 4224); /* still in guest mode */
        nv_snapshot_free(s);
        nv_vmm_backend_dbus.disconnect(h);
        kill(b.pid, SIGTERM);
        waitpid(b.pid, NULL, 0);
        fclose(b.out);
        free(img);
        free(again);
        unlink(own);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_l2_survives_kill),
        };
        int r;

        if (argc < 2)
                return 2;
        testvmm = argv[1];
        snprintf(dir, sizeof(dir), "/tmp/nestvirt-testvmm-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests_name("reference VMM across a kill", tests, NULL, NULL);
        rmdir(dir);
        return r;
}
