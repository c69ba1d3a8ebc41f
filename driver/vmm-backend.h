/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The driver's view of a VMM: an ops struct, one contract per entry.  The
 * D-Bus client (dbus/vmm-client.c) and the process backend (vmm-process.c,
 * a VMM with no agent reached through ptrace) implement it; the flows in
 * driver/ call only this, and the domain's <nestvirt:vmm transport> picks
 * the backend (nv_driver_backend()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nested-meta.h"

typedef struct NvVmmHandle NvVmmHandle;

typedef struct NvVmmBackend {
        const char *name;
        /* Reaches the VMM that meta names (socket or bus name); learns its vCPU count and vendor. */
        int (*connect)(const NvNestedMeta *meta, NvVmmHandle **ret, NvError **reterr);
        /*
         * Stops every vCPU outside KVM_RUN; *ret_token names this freeze.  A
         * VMM thaws by itself when the caller that froze it disconnects,
         * unless keep is set (a save before the VMM is stopped for good).
         */
        int (*freeze)(NvVmmHandle *h, bool keep, uint64_t *ret_token, NvError **reterr);
        /*
         * 1: the VMM is frozen now (by anyone's hold, kept or not), 0: it
         * runs.  Asked before a flow freezes.  *ret_since_usec (optional):
         * since when, CLOCK_REALTIME; 0 if the VMM does not say.
         */
        int (*frozen)(NvVmmHandle *h, uint64_t *ret_since_usec, NvError **reterr);
        /* Ends the hold token names; the vCPUs run again when no hold is left. */
        int (*thaw)(NvVmmHandle *h, uint64_t token, NvError **reterr);
        /*
         * Needs a freeze.  Every vCPU's nested state as a snapshot image,
         * bounded in size but not parsed: it is hostile input, which the
         * caller parses (once) after the freeze, before anything uses it.
         */
        int (*get_state)(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, NvError **reterr);
        /*
         * Optional (NULL: nothing to prepare).  Before a freeze: makes ready
         * what a set_state of the same img and len will send, so that the
         * freeze holds only the load.
         */
        int (*stage_state)(NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr);
        /* Needs a freeze.  Loads a snapshot image into every vCPU, all or nothing. */
        int (*set_state)(NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr);
        /*
         * Optional (NULL: the three calls instead).  Freeze, get_state and
         * thaw done inside the VMM in one call, with a hold of its own that
         * pauses only if no other hold has: the freeze lasts the VMM's
         * collect alone, and a bus costs one round trip, not three.
         * *ret_frozen_usec: how long the VMM says this call kept its vCPUs
         * paused (0 if it found them frozen); *ret_found_frozen: another
         * hold has it frozen, and it stays so.  Returns 1 when done, 0 when
         * this VMM has no such call (asked once per handle), or -errno.
         */
        int (*collect_once)(NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec, bool *ret_found_frozen,
                            NvError **reterr);
        /*
         * Optional, as collect_once for freeze, set_state and thaw: all or
         * nothing, and an image the VMM can refuse without its vCPUs (seals,
         * size, format, vendor, vCPU count) never pauses it.
         */
        int (*load_once)(NvVmmHandle *h, const uint8_t *img, size_t len, uint64_t *ret_frozen_usec, NvError **reterr);
        /* The VMM's vCPU count and vendor (NV_FORMAT_*), as learnt at connect. */
        unsigned (*vcpu_count)(NvVmmHandle *h);
        int (*vendor)(NvVmmHandle *h);
        /*
         * The VM's UUID as the VMM reports it (learnt at connect), checked
         * against the domain's.  NULL (the entry itself) for a backend whose
         * VMMs name no VM: then the metadata's name of the VMM is the only link.
         */
        const char *(*vm_uuid)(NvVmmHandle *h);
        /* 1: the VMM resumed from a saved state and waits for its nested state; 0: it runs on; -1: it does not say. */
        int (*incoming)(NvVmmHandle *h);
        /* Ends the VMM's freeze whoever holds it, kept freezes included: an operator's recovery. */
        int (*thaw_all)(NvVmmHandle *h, NvError **reterr);
        /* Drops the connection; accepts NULL. */
        void (*disconnect)(NvVmmHandle *h);
} NvVmmBackend;

/*
 * A VMM with no nestvirt code, named by <nestvirt:vmm transport="process">.
 * Its freeze is a ptrace freeze and lasts only while this process holds it;
 * freeze with keep is refused unless the VMM's own pause stopped it already.
 */
extern const NvVmmBackend nv_vmm_backend_process;

/* What to do with a collected image: after the thaw, or while still frozen when the freeze is kept. */
typedef int (*NvVmmImageFunc)(const uint8_t *img, size_t len, void *userdata, NvError **reterr);

/*
 * Every sequence below without keep uses the backend's collect_once or
 * load_once when it has them and the VMM answers them; otherwise, and
 * with keep, the three calls.  Either way it
 * freezes with a hold of its own and ends only that
 * hold (freezes are per caller, docs/vmm-protocol.md): a VMM found frozen
 * already (kept frozen by an earlier save for the VMM's own save to come,
 * or frozen by another client) stays frozen, or the nested state and the
 * VMM's own saved state would describe different instants.
 *
 * Freeze (keep: see freeze), collect into memory, thaw, and only then run
 * act on the image: the freeze holds the collect alone, and the image is
 * still the state of that instant.  With keep the VMM stays frozen, so act
 * runs before the end, and a failure thaws: a failure never leaves the VMM
 * frozen by us.  *ret_frozen_usec (optional) is how long our freeze lasted:
 * with collect_once as the VMM measured it, from its pause to its resume (0
 * if it found the VMM frozen); with the three calls from the Freeze's reply
 * until the thaw's (with keep until act returned); *ret_found_frozen
 * (optional) whether it was frozen before (and stays so).  Never hands act
 * partial state.  *ret_kept_token (optional): with keep, the hold that
 * stays after a success, for a step after the flow that fails and must
 * end it (nv_vmm_thaw_after()).
 */
int nv_vmm_collect_with(const NvVmmBackend *b, NvVmmHandle *h, bool keep, NvVmmImageFunc act, void *userdata,
                        uint64_t *ret_frozen_usec, bool *ret_found_frozen, uint64_t *ret_kept_token, NvError **reterr);

/* Freeze, collect, thaw: a copy of the image in *ret_img, and how long the VMM stayed frozen. */
int nv_vmm_collect(const NvVmmBackend *b, NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec,
                   NvError **reterr);

/*
 * Thaws after a step that returned r, keeping the first error (a failed thaw
 * is added to it); returns r, or the thaw's error if r was a success.
 */
int nv_vmm_thaw_after(const NvVmmBackend *b, NvVmmHandle *h, uint64_t token, int r, NvError **reterr);

/* Stage (before the freeze), freeze, load, thaw; thaws on every path.  A refused load leaves the VMM as it was. */
int nv_vmm_load(const NvVmmBackend *b, NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr);
/*
 * The same; *ret_frozen_usec (optional): with load_once the VMM's own
 * pause-to-resume window (0 if it was frozen by someone else); with the three
 * calls from the freeze's reply to the thaw's; the staging before it never counted.
 */
int nv_vmm_load_timed(const NvVmmBackend *b, NvVmmHandle *h, const uint8_t *img, size_t len, uint64_t *ret_frozen_usec,
                      NvError **reterr);

/* Freeze, thaw: a VMM waiting paused for its nested state runs on without it. */
int nv_vmm_run_on(const NvVmmBackend *b, NvVmmHandle *h, NvError **reterr);
