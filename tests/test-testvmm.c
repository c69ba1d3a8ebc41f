/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reference VMM across a kill: freeze, collect the nested state through
 * the agent, let the VMM save its own state, SIGKILL it, start a new one
 * from its own state, load the nested state, thaw - and L2 must go on
 * counting from where it stopped, in guest mode, without repeating the OUT
 * it stopped on (the quiesce rule: every OUT exit the new VMM sees is a
 * turn L2 counted after the save).
 *
 *   test-testvmm TESTVMM           on the simulated KVM (--sim, SVM)
 *   test-testvmm TESTVMM --real    on a real /dev/kvm with nested SVM or VMX
 *                                  (--kvm), where L1 must also go on handling
 *                                  L2's exits; skips (77) without nested state
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

#define N_VCPUS 3
#define PROGRESS_TRIES 1200 /* reads 0.1 s apart: Bochs' emulated VMX may take a minute for a few turns */

static const char *testvmm;
static bool real;
static int vendor = NV_FORMAT_SVM; /* the real KVM's; the simulated VMM's default */
static char dir[64];

/* What the VMM prints on SIGUSR2, per vCPU. */
typedef struct Counters {
        unsigned long long l2[N_VCPUS];    /* L2's turns */
        unsigned long long l1[N_VCPUS];    /* the exits L1 handled (real KVM only, else 0) */
        unsigned long long ticks[N_VCPUS]; /* the OUT exits of L2's turns this VMM process ran */
} Counters;

typedef struct Proc {
        pid_t pid;
        FILE *out;
} Proc;

static void start(Proc *p, const char *sock, const char *own, bool restore) {
        int fds[2];
        char line[256], n[12];

        snprintf(n, sizeof(n), "%d", N_VCPUS);
        assert_int_equal(pipe(fds), 0);
        p->pid = fork();
        if (p->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                execl(testvmm, testvmm, real ? "--kvm" : "--sim", "--tick-exits", "--socket", sock, "--vcpus", n, "--own-state", own,
                      restore ? "--restore" : NULL, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        p->out = fdopen(fds[0], "r");
        assert_non_null(fgets(line, sizeof(line), p->out));
        assert_string_equal(line, "ready\n");
}

/* One line "PREFIX N N N" of the VMM's SIGUSR2 output into c. */
static void counter_line(Proc *p, const char *prefix, unsigned long long c[N_VCPUS]) {
        char line[256], *s;

        assert_non_null(fgets(line, sizeof(line), p->out));
        if (strncmp(line, prefix, strlen(prefix)) != 0)
                fail_msg("expected '%s', the VMM printed '%s'", prefix, line);
        s = line + strlen(prefix);
        for (unsigned i = 0; i < N_VCPUS; i++)
                c[i] = strtoull(s, &s, 10);
}

static void counters(Proc *p, Counters *c) {
        *c = (Counters) {};
        kill(p->pid, SIGUSR2);
        counter_line(p, "counters:", c->l2);
        if (real)
                counter_line(p, "l1-exits:", c->l1);
        counter_line(p, "tick-exits:", c->ticks);
}

static void print_counters(const char *when, const Counters *c) {
        printf("# %-14s L2 %llu %llu %llu", when, c->l2[0], c->l2[1], c->l2[2]);
        if (real)
                printf("   L1 exits %llu %llu %llu", c->l1[0], c->l1[1], c->l1[2]);
        printf("   OUT exits %llu %llu %llu\n", c->ticks[0], c->ticks[1], c->ticks[2]);
}

/* Reads the counters until every vCPU's L2 and (real KVM) L1 went past than's. */
static void wait_progress(Proc *p, const Counters *than, Counters *c) {
        for (unsigned tries = 0;; tries++) {
                bool all = true;

                counters(p, c);
                for (unsigned i = 0; i < N_VCPUS; i++)
                        all = all && c->l2[i] > than->l2[i] && (!real || c->l1[i] > than->l1[i]);
                if (all)
                        return;
                if (tries == PROGRESS_TRIES)
                        fail_msg("no progress in %u s (L2 %llu %llu %llu)", PROGRESS_TRIES / 10, c->l2[0], c->l2[1], c->l2[2]);
                usleep(100 * 1000);
        }
}

/* Each OUT exit a VMM process ran is one turn of L2 since base: none repeated, none lost. */
static void assert_turns_are_exits(const Counters *c, const Counters *base) {
        for (unsigned i = 0; i < N_VCPUS; i++)
                if (c->l2[i] - base->l2[i] != c->ticks[i])
                        fail_msg("vCPU %u: L2 counted %llu turns since %llu but the VMM ran %llu OUT exits", i,
                                 c->l2[i] - base->l2[i], base->l2[i], c->ticks[i]);
}

/* Every vCPU of a snapshot image is in guest mode: a full blob with GUEST_MODE set. */
static void assert_guest_mode(const uint8_t *img, size_t len) {
        NvSnapshot *s = NULL;

        assert_int_equal(nv_snapshot_parse(img, len, &s, NULL), 0);
        assert_int_equal(s->n_vcpus, N_VCPUS);
        assert_int_equal(s->vendor, vendor);
        for (size_t i = 0; i < s->n_vcpus; i++) {
                const NvBlob *b = &s->vcpus[i].blob;

                /* Full size: SVM's vmcb12, VMX's vmcs12 and the shadow vmcs12 L1 links. */
                assert_int_equal(b->len, nv_format_max_size(vendor));
                assert_true(get_le16(b->data + NV_OFF_FLAGS) & NV_NESTED_GUEST_MODE);
                if (i > 0)
                        continue;
                if (vendor == NV_FORMAT_SVM)
                        printf("# vCPU 0 blob: %zu bytes, flags 0x%x, vmcb_pa 0x%llx\n", b->len, get_le16(b->data + NV_OFF_FLAGS),
                               (unsigned long long) get_le64(b->data + NV_OFF_VMCB_PA));
                else
                        printf("# vCPU 0 blob: %zu bytes, flags 0x%x, vmxon_pa 0x%llx, vmcs12_pa 0x%llx\n", b->len,
                               get_le16(b->data + NV_OFF_FLAGS), (unsigned long long) get_le64(b->data + NV_OFF_VMXON_PA),
                               (unsigned long long) get_le64(b->data + NV_OFF_VMCS12_PA));
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
        Counters zero = {}, running, saved, later, restored, after, after2;
        uint8_t *img = NULL, *again = NULL;
        size_t len, len2;
        uint64_t token;
        NvVmmHandle *h;
        Proc a, b;

        snprintf(sock, sizeof(sock), "%s/vmm.sock", dir);
        snprintf(own, sizeof(own), "%s/own.state", dir);
        start(&a, sock, own, false);
        wait_progress(&a, &zero, &running); /* L2 runs, and (real KVM) L1 handles its exits */
        print_counters("running", &running);
        /* Save: freeze, nested state through the agent, own state by the VMM, then kill it. */
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_backend_dbus.freeze(h, false, &token, NULL), 0);
        assert_int_equal(nv_vmm_backend_dbus.get_state(h, &img, &len, NULL), 0);
        assert_guest_mode(img, len);
        kill(a.pid, SIGUSR1);
        assert_non_null(fgets(line, sizeof(line), a.out));
        assert_string_equal(line, "saved own state\n");
        counters(&a, &saved);
        print_counters("frozen, saved", &saved);
        assert_turns_are_exits(&saved, &zero);
        usleep(50 * 1000);
        counters(&a, &later);
        assert_memory_equal(&saved, &later, sizeof(saved)); /* frozen means frozen */
        nv_vmm_backend_dbus.disconnect(h);
        kill(a.pid, SIGKILL);
        waitpid(a.pid, NULL, 0);
        fclose(a.out);
        /* Restore: a new VMM from its own state, then the nested state, then thaw. */
        start(&b, sock, own, true);
        usleep(50 * 1000);
        counters(&b, &restored);
        print_counters("restored", &restored);
        assert_memory_equal(restored.l2, saved.l2, sizeof(saved.l2)); /* waits for its nested state before running */
        assert_memory_equal(restored.l1, saved.l1, sizeof(saved.l1));
        h = connect_sock(sock);
        assert_int_equal(nv_vmm_load(&nv_vmm_backend_dbus, h, img, len, NULL), 0);
        wait_progress(&b, &saved, &after);     /* L2 goes on from where it stopped, and L1 handles its exits */
        print_counters("thawed", &after);
        wait_progress(&b, &after, &after2);
        print_counters("thawed later", &after2);
        assert_turns_are_exits(&after2, &saved); /* the OUT L2 stopped on was not repeated */
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
        /* The reference VMM runs an L1 hypervisor of the host's vendor: SVM or VMX. */
        if (real && test_real_kvm_require(-1))
                return 77;
        if (real)
                vendor = test_real_kvm_vendor();
        snprintf(dir, sizeof(dir), "/tmp/nestvirt-testvmm-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests_name(!real ? "reference VMM across a kill, simulated KVM"
                                        : vendor == NV_FORMAT_VMX ? "reference VMM across a kill, real KVM (VMX)"
                                                                  : "reference VMM across a kill, real KVM (SVM)",
                                        tests, NULL, NULL);
        rmdir(dir);
        return r;
}
