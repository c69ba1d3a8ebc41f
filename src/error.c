/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NvError object: a negative errno and a message, filled at most once, cleared by a caller that recovers. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "macro.h"

_printf_(1, 0) static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

int nv_error_set(NvError **reterr, int code, const char *fmt, ...) {
        va_list ap;
        NvError *e;

        assert(code < 0);
        if (!reterr || *reterr)
                return code;
        e = calloc(1, sizeof(*e));
        if (!e)
                return code;
        va_start(ap, fmt);
        e->message = vformat(fmt, ap);
        va_end(ap);
        e->code = code < 0 ? code : -EINVAL;
        *reterr = e;
        return code;
}

int nv_error_wrap(NvError **reterr, int code, const char *fmt, ...) {
        _cleanup_free_ char *prefix = NULL;
        char *joined = NULL;
        va_list ap;

        assert(code < 0);
        if (!reterr)
                return code;
        if (!*reterr)
                nv_error_set(reterr, code, "%s", strerror(-code));
        if (!*reterr)
                return code;
        va_start(ap, fmt);
        prefix = vformat(fmt, ap);
        va_end(ap);
        if (!prefix || asprintf(&joined, "%s: %s", prefix, (*reterr)->message ? (*reterr)->message : "") < 0)
                return code;
        free((*reterr)->message);
        (*reterr)->message = joined;
        return code;
}

void nv_error_clear(NvError **reterr) {
        if (reterr)
                *reterr = nv_error_free(*reterr);
}

NvError *nv_error_free(NvError *err) {
        if (err) {
                free(err->message);
                free(err);
        }
        return NULL;
}

const char *nv_error_message(const NvError *err, int code) {
        if (err && err->message)
                return err->message;
        return strerror(code < 0 ? -code : code);
}
