/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Nested VMX capability MSRs of two hosts, compared bit by bit (see vmx-caps.h). */
#include "macro.h"
#include "vmx-caps.h"
#include "x86-arch.h"

typedef struct VmxWords {
        uint64_t must1[VMX_WORD_COUNT]; /* controls that must be 1 (allowed-0 settings) */
        uint64_t may1[VMX_WORD_COUNT];  /* what L1 may set or use (allowed-1 settings, capabilities) */
} VmxWords;

const NvVmxFeature nv_vmx_features[] = {
#define ROW(w, b, q, i) { w, b, q, i },
        VMX_FEATURES(ROW)
#undef ROW
};
const size_t nv_vmx_n_features = ELEMENTSOF(nv_vmx_features);

static const struct {
        VmxWord word;
        unsigned shift, width;
        bool at_most;
        const char *intel;
} fields[] = {
#define ROW(w, s, n, m, i) { w, s, n, m, i },
        VMX_FIELDS(ROW)
#undef ROW
};

static uint64_t msr(const uint64_t *m, unsigned index) {
        return m[index - NV_VMX_MSR_FIRST];
}

static bool has(uint64_t v, unsigned bit) {
        return (v >> bit) & 1;
}

/* MISC and BASIC mix flags with fields: only the flags the table names are compared bit by bit. */
static uint64_t named_flags(VmxWord word) {
        uint64_t mask = 0;

        for (size_t i = 0; i < ELEMENTSOF(nv_vmx_features); i++)
                if (nv_vmx_features[i].word == word)
                        mask |= 1ULL << nv_vmx_features[i].bit;
        return mask;
}

static void control_word(const uint64_t *m, bool true_ctls, VmxWord w, unsigned legacy, unsigned true_msr, VmxWords *ret) {
        uint64_t v = msr(m, true_ctls ? true_msr : legacy);

        ret->must1[w] = (uint32_t) v;
        ret->may1[w] = v >> 32;
}

/* One host's MSRs as words of bits, each gated by the control that enables it. */
static void vmx_words(const uint64_t *m, VmxWords *w) {
        bool t = has(msr(m, MSR_IA32_VMX_BASIC), VMX_BASIC_TRUE_CTLS);
        uint64_t ept_vpid = msr(m, MSR_IA32_VMX_EPT_VPID_CAP);

        *w = (VmxWords) {};
        control_word(m, t, VMX_WORD_PIN, MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, w);
        control_word(m, t, VMX_WORD_PROC, MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, w);
        control_word(m, t, VMX_WORD_EXIT, MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, w);
        control_word(m, t, VMX_WORD_ENTRY, MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, w);
        if (has(w->may1[VMX_WORD_PROC], 31)) /* activate secondary controls */
                control_word(m, false, VMX_WORD_PROC2, MSR_IA32_VMX_PROCBASED_CTLS2, 0, w);
        if (has(w->may1[VMX_WORD_PROC2], 13)) /* enable VM functions */
                w->may1[VMX_WORD_VMFUNC] = msr(m, MSR_IA32_VMX_VMFUNC);
        if (has(w->may1[VMX_WORD_PROC2], 1)) /* enable EPT: the low half */
                w->may1[VMX_WORD_EPT_VPID] |= (uint32_t) ept_vpid;
        if (has(w->may1[VMX_WORD_PROC2], 5)) /* enable VPID: the high half */
                w->may1[VMX_WORD_EPT_VPID] |= ept_vpid & 0xffffffff00000000ULL;
        w->may1[VMX_WORD_MISC] = msr(m, MSR_IA32_VMX_MISC) & named_flags(VMX_WORD_MISC);
        w->may1[VMX_WORD_BASIC] = msr(m, MSR_IA32_VMX_BASIC) & named_flags(VMX_WORD_BASIC);
}

static void name_bit(NvVmxCapDiff *d) {
        for (size_t i = 0; i < ELEMENTSOF(nv_vmx_features); i++)
                if (nv_vmx_features[i].word == d->word && nv_vmx_features[i].bit == d->bit) {
                        d->qemu = nv_vmx_features[i].qemu;
                        d->intel = nv_vmx_features[i].intel;
                        return;
                }
}

typedef struct Diffs {
        NvVmxCapDiff *v;
        size_t n, max;
} Diffs;

static void add(Diffs *d, NvVmxCapDiff diff) {
        if (diff.kind == NV_VMX_CAP_LACKS || diff.kind == NV_VMX_CAP_REQUIRES)
                name_bit(&diff);
        if (d->n < d->max)
                d->v[d->n] = diff;
        d->n++;
}

static void add_bits(Diffs *d, NvVmxCapKind kind, VmxWord w, uint64_t bits) {
        for (unsigned b = 0; b < 64; b++)
                if (has(bits, b))
                        add(d, (NvVmxCapDiff) { .kind = kind, .word = w, .bit = b });
}

static void compare_fields(const uint64_t *src, const uint64_t *dst, Diffs *d) {
        static const unsigned word_msr[VMX_WORD_COUNT] = { [VMX_WORD_BASIC] = MSR_IA32_VMX_BASIC, [VMX_WORD_MISC] = MSR_IA32_VMX_MISC };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                uint64_t mask = (1ULL << fields[i].width) - 1;
                uint64_t s = (msr(src, word_msr[fields[i].word]) >> fields[i].shift) & mask;
                uint64_t t = (msr(dst, word_msr[fields[i].word]) >> fields[i].shift) & mask;

                if (fields[i].at_most ? s > t : s != t)
                        add(d, (NvVmxCapDiff) { .kind = fields[i].at_most ? NV_VMX_CAP_FEWER : NV_VMX_CAP_DIFFERS,
                                                .word = fields[i].word, .intel = fields[i].intel, .src = s, .dst = t });
        }
}

size_t nv_vmx_caps_compare(const uint64_t src[NV_VMX_MSR_COUNT], const uint64_t dst[NV_VMX_MSR_COUNT], NvVmxCapDiff *ret,
                           size_t max) {
        Diffs d = { .v = ret, .max = max };
        VmxWords s, t;

        vmx_words(src, &s);
        vmx_words(dst, &t);
        for (VmxWord w = 0; w < VMX_WORD_COUNT; w++) {
                add_bits(&d, NV_VMX_CAP_LACKS, w, s.may1[w] & ~t.may1[w]);
                add_bits(&d, NV_VMX_CAP_REQUIRES, w, t.must1[w] & ~s.must1[w]);
        }
        compare_fields(src, dst, &d);
        return d.n;
}

const char *nv_vmx_word_id(VmxWord word) {
        static const char *const ids[VMX_WORD_COUNT] = {
                "pin", "primary", "secondary", "exit", "entry", "vmfunc", "ept-vpid", "misc", "basic",
        };

        return word < VMX_WORD_COUNT ? ids[word] : "?";
}

const char *nv_vmx_cap_kind_id(NvVmxCapKind kind) {
        static const char *const ids[] = { "lacks", "forces", "fewer", "differs" };

        return (unsigned) kind < ELEMENTSOF(ids) ? ids[kind] : "?";
}

const char *nv_vmx_word_name(VmxWord word) {
        static const char *const names[VMX_WORD_COUNT] = {
                [VMX_WORD_PIN] = N_("pin-based VM-execution control"),
                [VMX_WORD_PROC] = N_("primary processor-based VM-execution control"),
                [VMX_WORD_PROC2] = N_("secondary processor-based VM-execution control"),
                [VMX_WORD_EXIT] = N_("VM-exit control"),
                [VMX_WORD_ENTRY] = N_("VM-entry control"),
                [VMX_WORD_VMFUNC] = N_("VM function"),
                [VMX_WORD_EPT_VPID] = N_("EPT/VPID capability"),
                [VMX_WORD_MISC] = N_("IA32_VMX_MISC capability"),
                [VMX_WORD_BASIC] = N_("IA32_VMX_BASIC capability"),
        };

        return word < VMX_WORD_COUNT ? _(names[word]) : "?";
}
