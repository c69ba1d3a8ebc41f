/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Base64 for snapshots carried inside XML (libcrypto's encoder, our bounds). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

/* One line, padded; *ret is NUL-terminated, free() it. */
int nv_base64_encode(const uint8_t *data, size_t len, char **ret);

/*
 * Decodes text, ignoring ASCII whitespace; refuses anything else that is
 * not base64, bad padding, and results larger than max bytes.
 */
int nv_base64_decode(const char *text, size_t max, uint8_t **ret, size_t *ret_len, NvError **reterr);
