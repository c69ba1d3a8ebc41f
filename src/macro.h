/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The project's whole macro vocabulary, kept to one short header so that a
 * newcomer learns it once.  Cleanup attributes replace cleanup ladders:
 * a variable declared _cleanup_free_ is freed when it leaves scope, and
 * TAKE_PTR()/TAKE_FD() hand ownership out of such a variable.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "nv-common.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) NV_PRINTF(a, b)
#define _sentinel_ __attribute__((sentinel))
#define _nonnull_(...) __attribute__((nonnull(__VA_ARGS__)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* x rounded up to a multiple of to. */
#define ALIGN_TO(x, to) (((x) + (to) - 1) / (to) * (to))

/* Defines foo_freep(T **p) calling foo_free(*p) for use with _cleanup_. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) NV_DEFINE_FREEP(type, func)

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes an fd preserving errno, so that error paths can report the real cause. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_PTR(p)                                                            \
        ({                                                                     \
                __typeof__(p) _p_ = (p);                                       \
                (p) = NULL;                                                    \
                _p_;                                                           \
        })
#define TAKE_FD(fd)                                                            \
        ({                                                                     \
                int _fd_ = (fd);                                               \
                (fd) = -1;                                                     \
                _fd_;                                                          \
        })

/*
 * User-facing strings go through gettext; N_() marks static tables.  The
 * domain is named on every call (dgettext), not taken from textdomain():
 * the libraries run inside other programs too (the agent inside a VMM),
 * whose own domain is not ours.
 */
#include <libintl.h>
#define _(s) dgettext(GETTEXT_PACKAGE, s)
#define N_(s) (s)
