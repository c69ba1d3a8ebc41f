/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

int nv_base64_encode(const uint8_t *data, size_t len, char **ret) {
        char *out;

        if (len > (size_t) INT32_MAX / 2)
                return -E2BIG;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) out, data, (int) len);
        *ret = out;
        return 0;
}

int nv_base64_decode(const char *text, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        /* Characters that can still fit in max bytes: stops reading early, and saturates rather than wraps for huge max. */
        size_t n = 0, pad = 0, cap = max <= SIZE_MAX / 2 ? (max + 2) / 3 * 4 : SIZE_MAX, len = strlen(text);
        _cleanup_free_ char *clean = malloc((len < cap ? len : cap) + 1);
        _cleanup_free_ uint8_t *out = NULL;
        int got;

        if (!clean)
                return -ENOMEM;
        for (const char *p = text; *p; p++) {
                if (strchr(" \t\r\n", *p))
                        continue;
                if (n == cap)
                        return nv_error_set(reterr, -E2BIG, _("The base64 data decodes to more than %zu bytes."), max);
                if (*p == '=' ? ++pad > 2 : (pad > 0 || !strchr(alphabet, *p)))
                        return nv_error_set(reterr, -EINVAL, _("The base64 data has an invalid character at offset %zu."),
                                            (size_t) (p - text));
                clean[n++] = *p;
        }
        if (n % 4 != 0)
                return nv_error_set(reterr, -EINVAL, _("The base64 data is truncated (%zu characters)."), n);
        /* cap is in whole groups of 4, which hold up to 2 bytes more than max: the exact count decides. */
        if (n / 4 * 3 - pad > max)
                return nv_error_set(reterr, -E2BIG, _("The base64 data decodes to more than %zu bytes."), max);
        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        got = EVP_DecodeBlock(out, (const unsigned char *) clean, (int) n);
        if (got < 0)
                return nv_error_set(reterr, -EINVAL, _("The base64 data cannot be decoded."));
        *ret_len = (size_t) got - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
        *ret = TAKE_PTR(out);
        return 0;
}
