/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between inject.c and inject-check.c only. */
#pragma once

#include <dirent.h>
#include <stdio.h>

#include "inject.h"

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int inject_status_field(const char *path, const char *key, char *buf, size_t size);
bool inject_task_is_kthread(pid_t pid, pid_t tid);
int inject_for_each_task(pid_t pid, int (*fn)(pid_t pid, pid_t tid, void *userdata), void *userdata);
