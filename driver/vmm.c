/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The freeze/act/thaw sequences over any VMM backend. */
#include <stdlib.h>
#include <time.h>

#include "vmm-backend.h"

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int nv_vmm_thaw_after(const NvVmmBackend *b, NvVmmHandle *h, uint64_t token, int r, NvError **reterr) {
        _cleanup_(nv_error_freep) NvError *thaw_err = NULL;
        int t = b->thaw(h, token, &thaw_err);

        if (t < 0 && r >= 0)
                return nv_error_set(reterr, t, _("The VMM could not be thawed: %s"), nv_error_message(thaw_err, t));
        if (t < 0)
                return nv_error_wrap(reterr, r, _("(and thawing failed too: %s)"), nv_error_message(thaw_err, t));
        return r;
}

int nv_vmm_collect(const NvVmmBackend *b, NvVmmHandle *h, uint8_t **ret_img, size_t *ret_len, uint64_t *ret_frozen_usec,
                   NvError **reterr) {
        uint64_t token, start;
        uint8_t *img = NULL;
        size_t len = 0;
        int r;

        r = b->freeze(h, /* keep= */ false, &token, reterr);
        if (r < 0)
                return r;
        start = now_usec();
        r = b->get_state(h, &img, &len, reterr);
        r = nv_vmm_thaw_after(b, h, token, r, reterr);
        if (r < 0) {
                free(img);
                return r;
        }
        *ret_img = img;
        *ret_len = len;
        if (ret_frozen_usec)
                *ret_frozen_usec = now_usec() - start;
        return 0;
}

int nv_vmm_load(const NvVmmBackend *b, NvVmmHandle *h, const uint8_t *img, size_t len, NvError **reterr) {
        uint64_t token;
        int r;

        r = b->freeze(h, /* keep= */ false, &token, reterr);
        if (r < 0)
                return r;
        r = b->set_state(h, img, len, reterr);
        return nv_vmm_thaw_after(b, h, token, r, reterr);
}
