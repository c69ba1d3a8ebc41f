/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one error convention: functions return int, >= 0 on success and
 * -errno on failure.  When a message adds information (which rule, which
 * field, which offset) the callee also fills an optional NvError **reterr,
 * always the last parameter.  Only the program boundary (CLI main, D-Bus
 * handler) turns an NvError into output.
 *
 * The idiom, in full:
 *  - a function is called with *reterr NULL (no error pending);
 *  - the innermost failure sets the message (nv_error_set()); every layer
 *    above that adds what it was doing (nv_error_wrap());
 *  - a caller that recovers from a failure (treats it as "nothing to do",
 *    falls back, retries) clears it with nv_error_clear(), so that a later
 *    failure is not reported with the text of the one that was handled;
 *  - the code is a negative errno, always.
 */
#pragma once

#include <errno.h>

#include "nv-common.h"

NV_BEGIN_DECLS

typedef struct NvError {
        int code;      /* negative errno, never anything else */
        char *message; /* whole sentence, already translated */
} NvError;

/*
 * Sets *reterr (if reterr is non-NULL and *reterr is still NULL) to a new
 * error with the formatted message.  Returns code (a negative errno) so that
 * callers can write `return nv_error_set(reterr, -EINVAL, ...)`.
 * A first error is never overwritten: the innermost cause wins, outer
 * layers add context with nv_error_wrap().  code must be a negative errno
 * (asserted; a build without assertions stores -EINVAL instead).
 */
int nv_error_set(NvError **reterr, int code, const char *fmt, ...) NV_PRINTF(3, 4);

/*
 * Prefixes the message of *reterr with the formatted context and ": ".
 * Creates the error from code and strerror if *reterr is NULL.  Returns code.
 */
int nv_error_wrap(NvError **reterr, int code, const char *fmt, ...) NV_PRINTF(3, 4);

/*
 * Forgets the error in *reterr (if any) after the caller recovered from it.
 * Accepts a NULL reterr.
 */
void nv_error_clear(NvError **reterr);

/* Frees err; accepts NULL; returns NULL. */
NvError *nv_error_free(NvError *err);
NV_DEFINE_FREEP(NvError *, nv_error_free)

/* The message, or strerror of code when there is none. Never NULL. */
const char *nv_error_message(const NvError *err, int code);

NV_END_DECLS
