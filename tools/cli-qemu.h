/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the file commands (inspect, verify, unpack) share for QEMU streams and libvirt save images. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "cli.h"
#include "cli-domain.h"
#include "qemu-image.h"
#include "snapshot.h"

/* Whether the file at path starts like a QEMU stream or libvirt save image (false if it cannot be read: the caller reports that). */
bool cli_is_qemu_file(const char *path);

/* The vCPUs whose nested state QEMU would load, as a snapshot (vCPUs without nested state, or refused by QEMU itself, are left out). */
int cli_qemu_snapshot(const NvQemuImage *img, NvSnapshot **ret, NvError **reterr);

/* The file's description: container, machine type, libvirt's header, vendor, what the stream does not carry. */
json_object *cli_qemu_image_json(const char *path, const NvQemuImage *img);

/* One vCPU's QEMU facts: the stream's flags, hflags' guest mode, GIF, EFER.SVME, and why there is no nested state. */
json_object *cli_qemu_vcpu_json(const NvQemuVcpu *v);

/* Prints the file's description lines (text output). */
void cli_qemu_print_image(json_object *o);

/* verify for a QEMU stream or libvirt save image, with the context the options gave. */
int cli_verify_qemu(Cli *cli, const char *path, const NvValidateContext *ctx, CliNotes *notes, NvError **reterr);
