/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Syscall injection against plain child processes (no KVM needed): the
 * injected syscalls do what they should, the child runs on unharmed
 * (a blocking read it was in is restarted, not failed), and each refusal
 * is made before anything is touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"

typedef enum ChildKind {
        CHILD_READER,   /* blocked in read(2) on a pipe; echoes each byte + 1 */
        CHILD_THREADS,  /* a reader plus two threads blocked in pause() */
        CHILD_SPINNER,  /* never makes a syscall; counts in shared memory */
        CHILD_SECCOMP,  /* a reader under a filter that kills on getppid() */
} ChildKind;

typedef struct Child {
        pid_t pid;
        int to, from;              /* pipes to and from the child */
        volatile uint64_t *counter; /* CHILD_SPINNER's progress, shared */
        bool spinner;
} Child;

static void *pause_thread(void *p) {
        for (;;)
                pause();
        return NULL;
}

static void install_filter(void) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { ELEMENTSOF(f), f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                _exit(3);
}

static _Noreturn void child_main(ChildKind kind, int in, int out, volatile uint64_t *counter) {
        unsigned char c;

        if (kind == CHILD_SPINNER) {
                if (write(out, "r", 1) != 1)
                        _exit(2);
                for (;;)
                        (*counter)++;
        }
        if (kind == CHILD_THREADS)
                for (int i = 0; i < 2; i++) {
                        pthread_t th;
                        pthread_create(&th, NULL, pause_thread, NULL);
                }
        if (kind == CHILD_SECCOMP)
                install_filter();
        if (write(out, "r", 1) != 1)
                _exit(2);
        while (read(in, &c, 1) == 1) {
                c++;
                if (write(out, &c, 1) != 1)
                        _exit(2);
        }
        _exit(0);
}

static void child_start(Child *ch, ChildKind kind) {
        int a[2], b[2];
        char c;

        assert_int_equal(pipe(a), 0);
        assert_int_equal(pipe(b), 0);
        ch->counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(ch->counter != MAP_FAILED);
        ch->spinner = kind == CHILD_SPINNER;
        ch->pid = fork();
        assert_true(ch->pid >= 0);
        if (ch->pid == 0) {
                close(a[1]);
                close(b[0]);
                child_main(kind, a[0], b[1], ch->counter);
        }
        close(a[0]);
        close(b[1]);
        ch->to = a[1];
        ch->from = b[0];
        assert_int_equal(read(ch->from, &c, 1), 1);
        assert_int_equal(c, 'r');
        usleep(20000); /* into the blocking read (or the spin) */
}

/* The child still answers: a byte sent comes back incremented. */
static void child_assert_alive(Child *ch) {
        unsigned char c = 'a';
        if (ch->spinner) {
                uint64_t before = *ch->counter;
                usleep(20000);
                assert_true(*ch->counter > before);
                return;
        }
        assert_int_equal(write(ch->to, &c, 1), 1);
        assert_int_equal(read(ch->from, &c, 1), 1);
        assert_int_equal(c, 'b');
}

static void child_stop(Child *ch) {
        int status;
        kill(ch->pid, SIGKILL);
        waitpid(ch->pid, &status, 0);
        close(ch->to);
        close(ch->from);
        munmap((void *) ch->counter, 4096);
}

static long inject(NvInject *in, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        const long args[6] = { a0, a1, a2, a3, a4, a5 };
        long res = 0;
        NvError *err = NULL;
        int r = nv_inject_syscall(in, nv_inject_thread(in, 0), nr, args, &res, &err);
        if (r < 0)
                fail_msg("%s", nv_error_message(err, r));
        return res;
}

static void check_getpid_mmap_munmap(ChildKind kind) {
        Child ch = {};
        NvInject *in = NULL;
        NvError *err = NULL;
        uint64_t v = 0x1122334455667788u, back = 0;
        long addr;

        child_start(&ch, kind);
        assert_int_equal(nv_inject_attach(ch.pid, &in, &err), 0);
        assert_int_equal(nv_inject_n_threads(in), kind == CHILD_THREADS ? 3 : 1);
        assert_int_equal(inject(in, SYS_getpid, 0, 0, 0, 0, 0, 0), ch.pid);
        addr = inject(in, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(addr > 0 && (addr & 4095) == 0);
        assert_int_equal(nv_inject_write(in, (uint64_t) addr, &v, sizeof v, NULL), 0);
        assert_int_equal(nv_inject_read(in, (uint64_t) addr, &back, sizeof back, NULL), 0);
        assert_true(back == v);
        assert_int_equal(inject(in, SYS_munmap, addr, 4096, 0, 0, 0, 0), 0);
        assert_true(nv_inject_read(in, (uint64_t) addr, &back, sizeof back, NULL) < 0);
        /* A second syscall from the same stop, after the registers went back. */
        assert_int_equal(inject(in, SYS_getpid, 0, 0, 0, 0, 0, 0), ch.pid);
        nv_inject_free(in);
        child_assert_alive(&ch);
        child_assert_alive(&ch);
        child_stop(&ch);
}

static void test_reader(void **state) {
        check_getpid_mmap_munmap(CHILD_READER);
}

static void test_threads(void **state) {
        check_getpid_mmap_munmap(CHILD_THREADS);
}

static void test_spinner(void **state) {
        check_getpid_mmap_munmap(CHILD_SPINNER);
}

/* Runs fn in a forked process (so that it can drop privilege) and returns its exit code. */
static int in_subprocess(void (*fn)(pid_t target), pid_t target) {
        int status;
        pid_t p = fork();
        assert_true(p >= 0);
        if (p == 0) {
                fn(target);
                _exit(0);
        }
        assert_int_equal(waitpid(p, &status, 0), p);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* Exit 0 when attach is refused with code and a message containing what. */
static void expect_refusal(pid_t target, int code, const char *what) {
        NvInject *in = NULL;
        NvError *err = NULL;
        int r = nv_inject_attach(target, &in, &err);
        if (r != code || !strstr(nv_error_message(err, r), what)) {
                fprintf(stderr, "got %d: %s\n", r, nv_error_message(err, r));
                _exit(1);
        }
        fprintf(stderr, "refused as expected: %s\n", nv_error_message(err, r));
        nv_error_free(err);
}

static void as_nobody(pid_t target) {
        if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                _exit(2);
        expect_refusal(target, -EPERM, "not allowed to trace");
}

static void without_sys_admin(pid_t target) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2] = {};
        if (syscall(SYS_capget, &h, d) < 0)
                _exit(2);
        d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
        if (syscall(SYS_capset, &h, d) < 0)
                _exit(2);
        expect_refusal(target, -EPERM, "seccomp filter");
}

static void test_refuse_unprivileged(void **state) {
        Child ch = {};
        if (geteuid() != 0)
                skip();
        child_start(&ch, CHILD_READER);
        assert_int_equal(in_subprocess(as_nobody, ch.pid), 0);
        child_assert_alive(&ch);
        child_stop(&ch);
}

static void test_refuse_other_tracer(void **state) {
        Child ch = {};
        NvInject *in = NULL;
        NvError *err = NULL;
        int status, r;
        pid_t tracer;

        child_start(&ch, CHILD_READER);
        tracer = fork();
        assert_true(tracer >= 0);
        if (tracer == 0) {
                if (ptrace(PTRACE_SEIZE, ch.pid, NULL, NULL) < 0)
                        _exit(1);
                pause();
                _exit(0);
        }
        for (int i = 0; i < 200; i++) { /* until the other tracer is in */
                r = nv_inject_check(ch.pid, NULL, NULL);
                if (r == -EBUSY)
                        break;
                usleep(5000);
        }
        r = nv_inject_attach(ch.pid, &in, &err);
        assert_int_equal(r, -EBUSY);
        assert_non_null(strstr(nv_error_message(err, r), "already traced"));
        nv_error_free(err);
        kill(tracer, SIGKILL);
        waitpid(tracer, &status, 0);
        child_assert_alive(&ch);
        child_stop(&ch);
}

static void test_seccomp(void **state) {
        Child ch = {};
        NvInject *in = NULL;
        NvError *err = NULL;
        int r;

        if (geteuid() != 0)
                skip();
        child_start(&ch, CHILD_SECCOMP);
        /* Without CAP_SYS_ADMIN the filter cannot be suspended: refused, child untouched. */
        assert_int_equal(in_subprocess(without_sys_admin, ch.pid), 0);
        child_assert_alive(&ch);
        /* With it, the forbidden syscall runs with the filter suspended, and the child lives. */
        r = nv_inject_attach(ch.pid, &in, &err);
        if (r == -EPERM) {
                /* The kernel lacks CONFIG_CHECKPOINT_RESTORE: the refusal must say so. */
                assert_non_null(strstr(nv_error_message(err, r), "PTRACE_O_SUSPEND_SECCOMP"));
                nv_error_free(err);
                child_stop(&ch);
                skip();
        }
        assert_int_equal(r, 0);
        assert_true(inject(in, SYS_getppid, 0, 0, 0, 0, 0, 0) > 0);
        nv_inject_free(in);
        child_assert_alive(&ch);
        child_stop(&ch);
}

/*
 * The guard: a process that arms it and is then SIGKILLed leaves the
 * guard to write the byte back into the tracee (here: this process); a
 * disarmed byte is left alone.
 */
static volatile uint8_t guarded[2] = { 1, 1 };

static void test_guard(void **state) {
        int status;
        pid_t owner;

        if (geteuid() != 0)
                skip(); /* writing into an ancestor needs CAP_SYS_PTRACE under Yama */
        owner = fork();
        assert_true(owner >= 0);
        if (owner == 0) {
                NvInjectGuard *g = NULL;
                if (nv_inject_guard_new(getppid(), &g, NULL) < 0)
                        _exit(3);
                nv_inject_guard_note(g, (uint64_t) (uintptr_t) &guarded[0], 7, true);
                nv_inject_guard_note(g, (uint64_t) (uintptr_t) &guarded[1], 9, true);
                nv_inject_guard_note(g, (uint64_t) (uintptr_t) &guarded[1], 9, false);
                raise(SIGKILL); /* no chance to put anything back */
                _exit(4);
        }
        assert_int_equal(waitpid(owner, &status, 0), owner);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        for (int i = 0; i < 200 && guarded[0] != 7; i++)
                usleep(5000);
        assert_int_equal(guarded[0], 7);
        assert_int_equal(guarded[1], 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_guard),
                cmocka_unit_test(test_reader),
                cmocka_unit_test(test_threads),
                cmocka_unit_test(test_spinner),
                cmocka_unit_test(test_refuse_unprivileged),
                cmocka_unit_test(test_refuse_other_tracer),
                cmocka_unit_test(test_seccomp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
