/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: QEMU migration streams and libvirt save images, held in
 * memory, through the reader (libvirt's header, the stream's sections, the
 * RAM records, the layout description and the walk it drives), then every
 * rebuilt struct kvm_nested_state through the validator with the facts the
 * stream gives.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "qemu-image.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvQemuImage *img = NULL;
        NvError *err = NULL;
        int r;

        r = nv_qemu_image_parse(data, size, &img, &err);
        assert((r < 0) == (img == NULL) && (r < 0) == (err != NULL));
        nv_error_free(err);
        if (r < 0)
                return 0;
        for (size_t i = 0; i < img->n_vcpus; i++) {
                const NvQemuVcpu *v = &img->vcpus[i];
                NvValidateContext ctx;
                NvValidateResult res;

                assert(!v->qemu_refusal || !v->blob.data);
                assert(!v->blob.data || (v->blob.len >= NV_NESTED_HDR_SIZE && v->blob.len <= NV_NESTED_MAX_SIZE));
                assert((nv_qemu_vcpu_no_nested_reason(v) == NULL) == v->have_nested);
                if (!v->blob.data)
                        continue;
                nv_validate_context_init(&ctx);
                nv_qemu_validate_context(v, &ctx);
                r = nv_validate(v->blob.data, v->blob.len, &ctx, &res);
                assert(r <= 0 && strlen(res.message) < sizeof(res.message));
        }
        nv_qemu_image_free(img);
        return 0;
}
