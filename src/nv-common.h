/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the installed headers need from the compiler, under the library's
 * own prefix.  The project's macro vocabulary (macro.h: _(), _cleanup_,
 * freep, ...) is internal and never reaches a VMM that includes our
 * headers; this file is its public-safe subset, after systemd's
 * _sd-common.h.
 */
#pragma once

#ifdef __cplusplus
#define NV_BEGIN_DECLS extern "C" {
#define NV_END_DECLS }
#else
#define NV_BEGIN_DECLS
#define NV_END_DECLS
#endif

#define NV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/*
 * Defines func##p(type *p), which calls func(*p) when *p is set: the
 * function to name in __attribute__((cleanup(...))) for a variable that
 * owns an object freed by func.  Every nv_*_free() has one (nv_*_freep).
 */
#define NV_DEFINE_FREEP(type, func)                                            \
        static inline void func##p(type *p) {                                  \
                if (*p)                                                        \
                        func(*p);                                              \
        }
