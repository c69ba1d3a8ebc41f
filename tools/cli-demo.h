/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two demos: the main job (cmd-demo-flow.c) and the in-process KVM path (cmd-demo.c). */
#pragma once

#include "cli-backend.h"
#include "cli.h"
#include "driver.h"
#include "snapshot.h"

/* Where data/examples is: the source tree's when run from the build tree, else the installed copy. */
const char *cli_examples_dir(void);

/*
 * Damages a blob so that its framing and checksums stay valid but the
 * kernel would refuse it (SVM: vmcb12 ASID 0; VMX: a wrong vmcs12
 * revision; header only: an unknown flag).
 */
void cli_damage_blob(NvBlob *b);

/* The main job: save, VMM kill and restart, restore, on uri (NULL: the examples' test driver). */
int cli_demo_flow(const char *uri, const char *domain, NvError **reterr);
