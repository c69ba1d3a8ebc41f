/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers every layer needs, written once: the string table behind
 * every enum's _to_string/_from_string, the unsigned-number parser, a
 * write that finishes, and the clock.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "macro.h"

/*
 * One string table per enum, used in both directions (libvirt's
 * VIR_ENUM_IMPL): defines name##_to_string(int) (NULL for a value without a
 * string) and name##_from_string(const char *) (-EINVAL for an unknown
 * string).  The strings are in enum order, designators allowed; the enum
 * itself ends with _NAME_MAX and _NAME_INVALID = -EINVAL.
 */
#define NV_DEFINE_STRING_TABLE(name, ...) _NV_DEFINE_STRING_TABLE(name, , __VA_ARGS__)
/* The same, with static functions, for a table one file uses. */
#define NV_DEFINE_PRIVATE_STRING_TABLE(name, ...) _NV_DEFINE_STRING_TABLE(name, static _unused_, __VA_ARGS__)

#define _NV_DEFINE_STRING_TABLE(name, scope, ...)                                                  \
        static const char *const name##_table[] = { __VA_ARGS__ };                                 \
        scope const char *name##_to_string(int v) {                                                \
                return v >= 0 && (size_t) v < ELEMENTSOF(name##_table) ? name##_table[v] : NULL;   \
        }                                                                                          \
        scope int name##_from_string(const char *s) {                                              \
                for (size_t i = 0; s && i < ELEMENTSOF(name##_table); i++)                         \
                        if (name##_table[i] && strcmp(s, name##_table[i]) == 0)                    \
                                return (int) i;                                                    \
                return -EINVAL;                                                                    \
        }

/*
 * Parses all of s as an unsigned number in base (2..16): digits only, no
 * sign, no blanks, not empty.  Returns 0 and *ret, -EINVAL if s is not
 * such a number, -ERANGE if it is above max.  *ret is set only on success.
 */
int nv_parse_unsigned(const char *s, unsigned base, uint64_t max, uint64_t *ret);

/* Whether the n bytes at s are a UUID as libvirt writes one: 8-4-4-4-12 hex digits. */
bool nv_uuid_shaped(const char *s, size_t n);

/* Writes all len bytes to fd, retrying short writes and EINTR.  Returns 0 or -errno. */
int nv_loop_write(int fd, const void *buf, size_t len);

/*
 * Memory kept warm for work that repeats: its pages are made and written
 * once, when it is reserved, and stay.  On some virtual machines a fresh
 * page costs a trap of several microseconds at its first write, which for
 * a megabyte is far more than writing the bytes (docs/performance.md).
 */
typedef struct NvWarm {
        uint8_t *data;
        size_t size;
} NvWarm;

/*
 * Reserves size bytes (sparse: only what is written takes memory) and
 * writes the first touch of them once.  From a megabyte on, transparent
 * huge pages are asked for: where the host gives them, a megabyte takes
 * one fault, not 256.
 */
int nv_warm_reserve(NvWarm *w, size_t size, size_t touch);
void nv_warm_release(NvWarm *w);

/* The time on clock (CLOCK_MONOTONIC, CLOCK_REALTIME) in microseconds. */
uint64_t nv_now_usec(clockid_t clock);
