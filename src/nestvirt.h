/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnestvirt: the KVM nested-state path for VMMs that lack one.
 *
 *   error.h         the NvError object and the -errno convention
 *   nested-state.h  the kvm_nested_state blob model and its constants
 *   fields.h        vmcs12 / vmcb12 field tables
 *   validate.h      what KVM_SET_NESTED_STATE would say, before it is asked
 *   kvm.h           every KVM ioctl, on /dev/kvm
 *   vcpu.h          safe capture and restore (sizing, quiesce, order, rollback)
 *   host.h          the host probe
 *   snapshot.h      snapshot files: every vCPU's blob with the saving host's facts
 *
 * Each function's contract is at its declaration.
 */
#pragma once

#include "error.h"
#include "fields.h"
#include "host.h"
#include "kvm.h"
#include "nested-state.h"
#include "snapshot.h"
#include "validate.h"
#include "vcpu.h"
