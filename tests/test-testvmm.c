/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reference VMM across a kill: freeze, collect the nested state through
 * the agent, let the VMM save its own state, SIGKILL it, start a new one
 * from its own state, load the nested state, thaw - and L2 must go on
 * counting from where it stopped, in guest mode.
 *
 *   test-testvmm TESTVMM           on the simulated KVM (--sim)
 *   test-testvmm TESTVMM --real    on a real /dev/kvm with nested SVM (--kvm),
 *                                  where L1 must also go on handling L2's
 *                                  exits; skips (77) without /dev/kvm
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byteorder.h"
#include "helpers.h"
#include "real-kvm.h"
#include "snapshot.h"
#include "vmm-client.h"

static const char *testvmm;
static bool real;
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
                execl(testvmm, testvmm, real ? "--kvm" : "--sim", "--socket", sock, "--vcpus", "3", "--own-state", own,
                      restore ? "--restore" : NULL, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        p->out = fdopen(fds[0], "r");
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_string_equal(line, "ready\n");
}

/* c[0..2]: L2's counters; c[3..5]: the exits L1 handled (real KVM only, else 0). */
static void counters(Proc *p, unsigned long long c[6]) {
        char line[256];

        kill(p->pid, SIGUSR2);
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_int_equal(sscanf(line, "counters: %llu %llu %llu", &c[0], &c[1], &c[2]), 3);
        c[3] = c[4] = c[5] = 0;
        if (!real)
                return;
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_int_equal(sscanf(line, "l1-exits: %llu %llu %llu", &c[3], &c[4], &c[5]), 3);
}

static void print_counters(const char *when, const unsigned long long c[6]) {
        printf("# %-14s L2 %llu %llu %llu", when, c[0], c[1], c[2]);
        if (real)
                printf("   L1 exits %llu %llu %llu", c[3], c[4], c[5]);
        printf("\n");
}

/* Every vCPU of a snapshot image is in guest mode: a full blob with GUEST_MODE set. */
static void assert_guest_mode(const uint8_t *img, size_t len) {
        NvSnapshot *s = NULL;

        assert_int_equal(nv_snapshot_parse(img, len, &s, NULL), 0);
        assert_int_equal(s->n_vcpus, 3);
        for (size_t i = 0; i < s->n_vcpus; i++) {
                const NvBlob *b = &s->vcpus[i].blob;

                assert_int_equal(b->len, NV_SVM_MAX_SIZE);
                assert_true(get_le16(b->data + NV_OFF_FLAGS) & NV_NESTED_GUEST_MODE);
                if (i == 0)
                        printf("# vCPU 0 blob: flags 0x%x, vmcb_pa 0x%llx\n", get_le16(b->data + NV_OFF_FLAGS),
                               (unsigned long long) get_le64(b->data + NV_OFF_VMCB_PA));
        }
        nv_snapshot_free(s);
}

static NvVmmHandle *connect_sock(const char *sock) {
        NvNestedMeta meta = { .transport = NV_VMM_TRANSPORT_SOCKET, .socket = (char *) sock, .bus = -1 };
        NvVmmHandle *h = NULL;

        assert_int_equal(nv_vmm_backend_dbus.connect(&meta, &h, NULL), 0);
        return h;
}

static void test_l2_survives_kill(void **state) {
        char sock[128], own[128], line[256];
        unsigned long long before[6], saved[6], later[6], after[6], after2[6];
        uint8_t *img = NULL, *again = NULL;
        size_t len, len2;
        uint64_t token;
        NvVmmHandle *h;
        Proc a, b;

        snprintf(sock, sizeof(sock), "%s/vmm.sock", dir);
        snprintf(own, sizeof(own), "%s/own.state", dir);
        start(&a, sock, own, false);
        usleep(100 * 1000);
        counters(&a, before);
        print_counters("running", before);
        for (int i = 0; i < 3; i++)
                if (before[i] == 0 || (real && before[3 + i] == 0))
                        fail_msg("vCPU %d: L2 or L1 is not running", i);
        /* Save: freeze, nested state through the agent, own state by the VMM, then kill it. */
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.get_state(h, &img, &len, NULL), 0);
        assert_guest_mode(img, len);
        kill(a.pid, SIGUSR1);
        assert_non_null(fgets(line, sizeof(line), a.out));
        assert_string_equal(line, "saved own state\n");
        counters(&a, saved);
        print_counters("frozen, saved", saved);
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
        print_counters("restored", after);
        assert_memory_equal(after, saved, sizeof(saved)); /* waits for its nested state before running */
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
        usleep(100 * 1000);
        counters(&b, after);
        print_counters("thawed", after);
        usleep(100 * 1000);
        counters(&b, after2);
        print_counters("thawed later", after2);
        for (int i = 0; i < 3; i++) {
                assert_true(after[i] > saved[i]);    /* L2 goes on from where it stopped */
                assert_true(after2[i] > after[i]);
                assert_true(after2[3 + i] >= saved[3 + i]);
                if (real)                            /* and L1 goes on handling its exits */
                        assert_true(after2[3 + i] > saved[3 + i]);
        }
        assert_int_equal(nv_vmm_collect(&nv_vmm_backend_dbus, h, &again, &len2, NULL, NULL), 0);
        assert_guest_mode(again, len2); /* still in guest mode */
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

        if (argc < 2 || (argc > 2 && strcmp(argv[2], "--real") != 0))
                return 2;
        testvmm = argv[1];
        real = argc > 2;
        /* The console is the only channel out of the test VM: never hold output back. */
        setvbuf(stdout, NULL, _IONBF, 0);
        /* The reference VMM's guest is an SVM hypervisor: it needs nested SVM. */
        if (real && test_real_kvm_require(NV_FORMAT_SVM))
                return 77;
        snprintf(dir, sizeof(dir), "/tmp/nestvirt-testvmm-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests_name(real ? "reference VMM across a kill, real KVM" : "reference VMM across a kill, simulated KVM",
                                        tests, NULL, NULL);
        rmdir(dir);
        return r;
}
