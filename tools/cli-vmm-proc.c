/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running the reference VMM as a child: spawn, read its lines with a deadline, kill. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli-vmm-proc.h"
#include "util.h"

const char *cli_testvmm_path(void) {
        const char *e = getenv("NESTVIRT_TESTVMM");

        if (e && *e)
                return e;
        return access(NV_TESTVMM_BUILD_PATH, X_OK) == 0 ? NV_TESTVMM_BUILD_PATH : NV_TESTVMM_INSTALL_PATH;
}

int cli_vmm_start(char *const *argv, CliVmmProc *ret, NvError **reterr) {
        int pipefd[2];
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return nv_error_set(reterr, -errno, "pipe: %s", strerror(errno));
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return nv_error_set(reterr, -errno, "fork: %s", strerror(errno));
        }
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execv(argv[0], argv);
                fprintf(stderr, "error: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(pipefd[1]);
        *ret = (CliVmmProc) { .pid = pid, .out = pipefd[0] };
        return cli_vmm_expect(ret, "ready", NULL, 0, 10000, reterr);
}

static int64_t now_ms(void) {
        return (int64_t) (nv_now_usec(CLOCK_MONOTONIC) / 1000);
}

/* One line (without the newline), byte by byte: nothing is left buffered between calls. */
static int read_line(CliVmmProc *p, char *buf, size_t size, int64_t deadline) {
        size_t n = 0;

        for (;;) {
                struct pollfd pfd = { .fd = p->out, .events = POLLIN };
                int64_t left = deadline - now_ms();
                char c;

                if (left <= 0 || poll(&pfd, 1, (int) left) <= 0)
                        return -ETIMEDOUT;
                if (read(p->out, &c, 1) != 1)
                        return -EPIPE;
                if (c == '\n')
                        break;
                if (n + 1 < size)
                        buf[n++] = c;
        }
        buf[n] = '\0';
        return 0;
}

int cli_vmm_expect(CliVmmProc *p, const char *prefix, char *line, size_t size, int timeout_ms, NvError **reterr) {
        int64_t deadline = now_ms() + timeout_ms;
        char buf[1024];
        int r;

        do {
                r = read_line(p, buf, sizeof(buf), deadline);
                if (r < 0)
                        return nv_error_set(reterr, r, _("The VMM (pid %d) did not say '%s' (%s)."), (int) p->pid, prefix,
                                            r == -ETIMEDOUT ? _("timed out") : _("it exited"));
        } while (strncmp(buf, prefix, strlen(prefix)) != 0);
        if (line)
                snprintf(line, size, "%s", buf);
        return 0;
}

int cli_vmm_counters(CliVmmProc *p, uint64_t *c, unsigned n, NvError **reterr) {
        char line[1024], words[sizeof(line)], *tok, *save = NULL;
        int r;

        kill(p->pid, SIGUSR2);
        r = cli_vmm_expect(p, "counters:", line, sizeof(line), 5000, reterr);
        if (r < 0)
                return r;
        memcpy(words, line, sizeof(words)); /* strtok_r cuts words; line stays whole for the message */
        for (unsigned i = 0; i < n; i++) {
                tok = strtok_r(i == 0 ? words + strlen("counters:") : NULL, " ", &save);
                if (!tok || nv_parse_unsigned(tok, 10, UINT64_MAX, &c[i]) < 0)
                        return nv_error_set(reterr, -EPROTO, _("The VMM printed '%s', not %u counters."), line, n);
        }
        return 0;
}

void cli_vmm_kill(CliVmmProc *p) {
        if (p->pid > 0) {
                kill(p->pid, SIGKILL);
                (void) waitpid(p->pid, NULL, 0);
        }
        if (p->out >= 0)
                close(p->out);
        *p = (CliVmmProc) { .pid = 0, .out = -1 };
}
