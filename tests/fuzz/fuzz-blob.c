/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: raw blobs through everything that reads one: the framing
 * check, the header decoder, every field of the table, and the validator
 * under an unknown and a fully known context.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fields.h"
#include "nested-state.h"
#include "validate.h"
#include "x86-arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_fields(const uint8_t *data, size_t size, int format) {
        const NvField *t;
        size_t n;
        uint64_t v;

        t = nv_fields_table(format, &n);
        for (size_t i = 0; i < n; i++) {
                (void) nv_fields_read(data, size, &t[i], false, &v, NULL);
                (void) nv_fields_read(data, size, &t[i], true, &v, NULL);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvValidateContext ctx;
        NvValidateResult res;
        NvNestedHeader h;
        int r;

        (void) nv_raw_blob_check(data, size, NULL);
        if (nv_nested_header_parse(data, size, &h, NULL) == 0) {
                read_fields(data, size, NV_FORMAT_VMX);
                read_fields(data, size, NV_FORMAT_SVM);
        }
        r = nv_validate(data, size, NULL, &res);
        assert(r == res.error && (r == 0) == (res.rule == NULL));
        nv_validate_context_init(&ctx);
        ctx = (NvValidateContext) { .vendor = size & 1, .maxphyaddr = 36 + (unsigned) (size % 17), .vmx_allowed = NV_YES,
                                    .evmcs_enabled = NV_NO, .svme = NV_YES, .in_smm = NV_NO, .npt_enabled = NV_YES,
                                    .svme0_gif0_ok = NV_NO, .have_cr0 = true, .cr0 = X86_CR0_PG | X86_CR0_ET | X86_CR0_PE };
        r = nv_validate(data, size, &ctx, &res);
        assert(r <= 0 && strlen(res.message) < sizeof(res.message));
        return 0;
}
