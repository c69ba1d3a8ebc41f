/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test generator for QEMU streams with nested state (see qemu-gen.c). */
#pragma once

#include "qemu-image.h"

/*
 * Writes into the real stream in[0..len) (bare or an uncompressed libvirt
 * image) the nested state of blobs[i] for the i-th cpu section (a blob
 * with no data: that vCPU keeps none), as QEMU on KVM writes it.
 */
int qemu_gen_nested(const uint8_t *in, size_t len, const NvBlob *blobs, size_t n_blobs, uint8_t **ret, size_t *ret_len);

/* The bare stream in[0..len) (configuration without subsections) with its RAM section replaced by an empty one. */
int qemu_gen_strip_ram(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len);
