/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the base64 codec that carries snapshots inside migratable
 * XML.  Two directions: arbitrary text through the bounded decoder (what
 * it accepts must stay within the bound and survive encode -> decode), and
 * arbitrary bytes through the encoder (the decoder must give them back,
 * under a bound of exactly their length, with or without line breaks).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure is -ENOMEM (no message) or carries its own code and a message. */
static void check_failure(int r, const NvError *err) {
        assert(r < 0);
        assert(r == -ENOMEM || (err && err->code == r && err->message));
}

/* text as PEM would write it: a newline every 64 characters, which the decoder ignores. */
static char *wrap_lines(const char *text) {
        size_t n = strlen(text);
        char *out = malloc(n + n / 64 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                *o++ = text[i];
                if (i % 64 == 63)
                        *o++ = '\n';
        }
        *o = '\0';
        return out;
}

/* Decodes text under a bound of exactly len bytes and asserts it gives back data. */
static void assert_decodes_to(const char *text, const uint8_t *data, size_t len) {
        _cleanup_free_ uint8_t *back = NULL;
        size_t back_len = 0;
        int r;

        r = nv_base64_decode(text, len, &back, &back_len, NULL);
        if (r == -ENOMEM)
                return;
        assert(r == 0);
        assert(back_len == len);
        assert(len == 0 || memcmp(back, data, len) == 0);
}

/* Bytes -> text -> bytes, on one line and wrapped. */
static void round_trip(const uint8_t *data, size_t len) {
        _cleanup_free_ char *text = NULL, *wrapped = NULL;

        if (nv_base64_encode(data, len, &text) < 0)
                return;
        assert(strlen(text) == (len + 2) / 3 * 4);
        assert_decodes_to(text, data, len);
        wrapped = wrap_lines(text);
        if (wrapped)
                assert_decodes_to(wrapped, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        _cleanup_(nv_error_freep) NvError *err = NULL;
        size_t max, len = 0;
        int r;

        /* The first two bytes pick the bound, so that inputs land on both sides of it. */
        if (size < 2)
                return 0;
        max = (size_t) data[0] | (size_t) data[1] << 8;
        text = strndup((const char *) data + 2, size - 2); /* a NUL inside ends the text, as in a C string */
        if (!text)
                return 0;
        r = nv_base64_decode(text, max, &out, &len, &err);
        if (r < 0)
                check_failure(r, err);
        else {
                assert(r == 0 && len <= max);
                round_trip(out, len);
        }

        /* And any bytes at all, encoded by us, decode to themselves. */
        round_trip(data, size);
        return 0;
}
