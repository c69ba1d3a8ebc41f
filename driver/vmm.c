/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The freeze/act/thaw sequences over any VMM backend. */
#include <stdlib.h>
#include <string.h>

#include "driver-private.h"

int nv_vmm_thaw_after(const NvVmmBackend *b, NvVmmHandle *h, uint64_t token, int r, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *thaw_err = NULL;
        int t = b->thaw(h, token, &thaw_err);

        if (t < 0 && r >= 0)
                return nv_error_set(reterr, t, _("The VMM could not be thawed: %s"), nv_error_message(thaw_err, t));
        if (t < 0)
                return nv_error_wrap(reterr, r, _("(and thawing failed too: %s)"), nv_error_message(thaw_err, t));
        return r;
}

/*
 * Our own freeze (a hold of our own: see docs/vmm-protocol.md), and (if
 * ret_found) whether the VMM was frozen before it.  Ending our hold never ends anyone else's,
 * so a VMM frozen by an earlier save --keep-frozen or another client stays
 * frozen after our thaw; and our hold must end even then, or a connection
 * that outlives the flow (nestvirtd's registered VMMs) would keep it.
 */
static int freeze(const NvVmmBackend *b, NvVmmHandle *h, bool keep, uint64_t *ret_token, bool *ret_found, NvError **reterr) {
        int was;

        if (!ret_found) /* a flow that does not tell saves the round trip */
                return b->freeze(h, keep, ret_token, reterr);
        was = b->frozen(h, NULL, reterr);
        if (was < 0)
                return was;
        *ret_found = was;
        return b->freeze(h, keep, ret_token, reterr);
}

/* The combined call if the backend and the VMM have it: 1 done, 0 use the three calls, <0 failed. */
static int collect_once(const NvVmmBackend *b, NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec,
                        bool *ret_found, NvError **reterr) {
        uint64_t usec = 0;
        bool found = false;
        int r;

        if (!b->collect_once)
                return 0;
        r = b->collect_once(h, ret_img, ret_len, &usec, &found, reterr);
        if (r > 0 && ret_frozen_usec)
                *ret_frozen_usec = usec;
        if (r > 0 && ret_found)
                *ret_found = found;
        return r;
}

int nv_vmm_collect_with(const NvVmmBackend *b, NvVmmHandle *h, bool keep, NvVmmImageFunc act, void *userdata,
                        uint64_t *ret_frozen_usec, bool *ret_found_frozen, uint64_t *ret_kept_token, NvError **reterr) {
        _cleanup_free_ uint8_t *img = NULL;
        uint64_t token, start;
        size_t len = 0;
        bool found;
        int r;

        if (!keep && (r = collect_once(b, h, &img, &len, ret_frozen_usec, ret_found_frozen, reterr)) != 0) {
                if (ret_kept_token)
                        *ret_kept_token = 0;
                return r < 0 ? r : act(img, len, userdata, reterr);
        }
        r = freeze(b, h, keep, &token, &found, reterr);
        if (r < 0)
                return r;
        start = nv_now_usec(CLOCK_MONOTONIC);
        r = b->get_state(h, &img, &len, reterr);
        if (keep && r >= 0)
                r = act(img, len, userdata, reterr); /* frozen anyway: the VMM's own save comes next */
        if (r < 0 || !keep)
                r = nv_vmm_thaw_after(b, h, token, r, reterr);
        if (ret_frozen_usec)
                *ret_frozen_usec = nv_now_usec(CLOCK_MONOTONIC) - start;
        if (ret_found_frozen)
                *ret_found_frozen = found;
        if (ret_kept_token)
                *ret_kept_token = token;
        if (!keep && r >= 0)
                r = act(img, len, userdata, reterr);
        return r;
}

int nv_vmm_collect(const NvVmmBackend *b, NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec,
                   NvError **reterr) {
        _cleanup_free_ uint8_t *img = NULL;
        uint64_t token, start;
        size_t len = 0;
        int r;

        r = collect_once(b, h, &img, &len, ret_frozen_usec, NULL, reterr);
        if (r > 0) {
                *ret_img = TAKE_PTR(img);
                *ret_len = len;
                return 0;
        }
        if (r == 0)
                r = freeze(b, h, /* keep= */ false, &token, NULL, reterr);
        if (r < 0)
                return r;
        start = nv_now_usec(CLOCK_MONOTONIC);
        r = b->get_state(h, &img, &len, reterr);
        r = nv_vmm_thaw_after(b, h, token, r, reterr);
        if (ret_frozen_usec)
                *ret_frozen_usec = nv_now_usec(CLOCK_MONOTONIC) - start;
        if (r < 0)
                return r;
        *ret_img = TAKE_PTR(img);
        *ret_len = len;
        return 0;
}

int nv_vmm_load_timed(const NvVmmBackend *b, NvVmmHandle *h, const uint8_t *img, size_t len, uint64_t *ret_frozen_usec,
                      NvError **reterr) {
        uint64_t token, start, usec = 0;
        int r;

        if (b->stage_state && (r = b->stage_state(h, img, len, reterr)) < 0)
                return r;
        r = b->load_once ? b->load_once(h, img, len, &usec, reterr) : 0;
        if (r != 0) {
                if (r > 0 && ret_frozen_usec)
                        *ret_frozen_usec = usec;
                return r < 0 ? r : 0;
        }
        r = freeze(b, h, /* keep= */ false, &token, NULL, reterr);
        if (r < 0)
                return r;
        start = nv_now_usec(CLOCK_MONOTONIC);
        r = b->set_state(h, img, len, reterr);
        r = nv_vmm_thaw_after(b, h, token, r, reterr);
        if (ret_frozen_usec)
                *ret_frozen_usec = nv_now_usec(CLOCK_MONOTONIC) - start;
        return r;
}

int nv_vmm_load(const NvVmmBackend *b, NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr) {
        return nv_vmm_load_timed(b, h, img, len, NULL, reterr);
}

int nv_vmm_run_on(const NvVmmBackend *b, NvVmmHandle *h, NvError **reterr) {
        uint64_t token;
        int r = freeze(b, h, /* keep= */ false, &token, NULL, reterr);

        return r < 0 ? r : nv_vmm_thaw_after(b, h, token, 0, reterr);
}
