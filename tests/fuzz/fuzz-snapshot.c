/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: the snapshot reader, every version it reads.  Whatever it
 * accepts must serialize (to the current version) with the same meaning:
 * parse -> serialize -> parse gives equal blobs; the view parse agrees.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "snapshot.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NvSnapshot *s = NULL, *again = NULL, *view = NULL;
        NvError *err = NULL;
        uint8_t *out = NULL;
        size_t len;

        if (nv_snapshot_parse(data, size, &s, &err) < 0) {
                assert(err && err->message && err->code < 0);
                nv_error_free(err);
                return 0;
        }
        assert(nv_snapshot_parse_view(data, size, &view, NULL) == 0);
        assert(view->n_vcpus == s->n_vcpus && view->version == s->version);
        nv_snapshot_free(view);
        assert(nv_snapshot_serialize(s, &out, &len, NULL) == 0);
        assert(nv_snapshot_parse(out, len, &again, NULL) == 0);
        assert(again->n_vcpus == s->n_vcpus && again->version == NV_SNAPSHOT_VERSION);
        for (size_t i = 0; i < s->n_vcpus; i++) {
                NvValidateResult res;

                assert(again->vcpus[i].blob.len == s->vcpus[i].blob.len);
                assert(memcmp(again->vcpus[i].blob.data, s->vcpus[i].blob.data, s->vcpus[i].blob.len) == 0);
                (void) nv_validate(s->vcpus[i].blob.data, s->vcpus[i].blob.len, NULL, &res);
        }
        free(out);
        nv_snapshot_free(s);
        nv_snapshot_free(again);
        return 0;
}
