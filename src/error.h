/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one error convention: functions return int, >= 0 on success and
 * -errno on failure.  When a message adds information (which rule, which
 * field, which offset) the callee also fills an optional NvError **reterr,
 * always the last parameter.  Only the program boundary (CLI main, D-Bus
 * handler) turns an NvError into output.
 */
#pragma once

#include <errno.h>

#include "nv-common.h"

NV_BEGIN_DECLS

typedef struct NvError {
        int code;      /* negative errno */
        char *message; /* whole sentence, already translated */
} NvError;

/*
 * Sets *reterr (if reterr is non-NULL and *reterr is still NULL) to a new
 * error with the formatted message.  Returns code (a negative errno) so that
 * callers can write `return nv_error_set(reterr, -EINVAL, ...)`.
 * A first error is never overwritten: the innermost cause wins, outer
 * layers add context with nv_error_wrap().
 */
int nv_error_set(NvError **reterr, int code, const char *fmt, ...) NV_PRINTF(3, 4);

/*
 * Prefixes the message of *reterr with the formatted context and ": ".
 * Creates the error from code and strerror if *reterr is NULL.  Returns code.
 */
int nv_error_wrap(NvError **reterr, int code, const char *fmt, ...) NV_PRINTF(3, 4);

/* Frees err; accepts NULL; returns NULL. */
NvError *nv_error_free(NvError *err);
NV_DEFINE_FREEP(NvError *, nv_error_free)

/* The message, or strerror of code when there is none. Never NULL. */
const char *nv_error_message(const NvError *err, int code);

NV_END_DECLS
