/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel as referee for the SVM validator.  An L1 hypervisor runs L2 on
 * a real /dev/kvm (the reference VMM's guest, tests/vmm/guest-svm.h); its
 * guest-mode blob is taken, mutated field by field and by seeded random
 * single-bit flips, and each mutant goes to KVM_SET_NESTED_STATE on a
 * fresh vCPU that has the saved vCPU's registers (so EFER.SVME is set).
 * The validator sees the same bytes, with the context such a target vCPU
 * yields (nv_vcpu_validate_context(): vendor, EFER.SVME, SMM, CR0, and from
 * its CPUID the guest MAXPHYADDR and the CR4/EFER bits it may set) plus the
 * host's npt parameter, and must give the kernel's verdict: accept, or
 * refuse with the kernel's errno.  Besides named mutations and random bit
 * flips, every bit of L1's saved CR4 and EFER is flipped in turn.
 *
 * The validator also judges every case a second time with what `verify
 * --dest-caps` has: this host's capabilities document (formatted and
 * parsed back) plus the target vCPU's own registers, which no document
 * carries; it must agree with the kernel just the same.
 *
 * Disagreements are findings about the validator.  Those already measured
 * and not yet fixed go into known_findings and are printed as such; any
 * other one fails the test.
 *
 *   test-kvm-referee [SEED]    skips (77) without /dev/kvm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "byteorder.h"
#include "guest-svm.h"
#include "helpers.h"
#include "host-caps.h"
#include "real-kvm.h"
#include "validate.h"

#define N_FLIPS 200
#define VMCB(f) (NV_OFF_DATA + VMCB_CTL_##f)                     /* a control field's blob offset */
#define SAVE(f) (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_##f) /* a save-area field's blob offset */

static const uint32_t prereq_msrs[] = { MSR_EFER, MSR_VM_HSAVE_PA };
static uint8_t *guest_mem;
static unsigned seed = 1;

typedef enum MutOp {
        MUT_SET,
        MUT_OR,
        MUT_CLEAR, /* and-not */
} MutOp;

typedef struct Mutation {
        const char *name;
        unsigned off, width; /* width 1, 2, 4 or 8 bytes, little endian */
        MutOp op;
        uint64_t val;
        bool np;  /* also turn on nested paging (NP_ENABLE) */
        bool nmi; /* also intercept NMIs */
} Mutation;

typedef struct Tally {
        unsigned cases, agree, known, kernel_accepts, doc_agree;
} Tally;

/* The context verify --dest-caps builds from this host's document, with the target vCPU's registers. */
static NvValidateContext doc_ctx;

/*
 * Disagreements measured where the kernel refuses and the validator
 * accepts, kept until the validator is fixed: a case matches by name, or
 * (flips) by the blob bytes it changed.  The five measured on Debian's
 * 6.1.0-56-cloud-amd64 (nCR3 with NP, CS.L with CS.D, CR4 and EFER bits
 * the guest CPUID lacks or no KVM accepts) are fixed; the table ends at
 * the first entry without a reason.
 */
static const struct {
        const char *name;
        unsigned off, len;
        const char *why;
} known_findings[] = {
        { NULL, 0, 0, NULL },
};

static const char *known_finding(const char *name, unsigned off) {
        for (size_t i = 0; known_findings[i].why; i++)
                if (known_findings[i].name ? strcmp(name, known_findings[i].name) == 0
                                           : off - known_findings[i].off < known_findings[i].len)
                        return known_findings[i].why;
        return NULL;
}

/* The named mutations: header, vmcb12 controls, L1's save area (reference rules S1..S11). */
static const Mutation named[] = {
        { "unchanged", 0, 1, MUT_OR, 0 },
        { "flags = 0 (leave guest mode)", NV_OFF_FLAGS, 2, MUT_SET, 0 },
        { "flags = GIF_SET", NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_GIF_SET },
        { "flags = GUEST_MODE (GIF clear)", NV_OFF_FLAGS, 2, MUT_SET, NV_NESTED_GUEST_MODE },
        { "flags |= RUN_PENDING", NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_RUN_PENDING },
        { "flags |= EVMCS", NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_EVMCS },
        { "flags |= MTF_PENDING", NV_OFF_FLAGS, 2, MUT_OR, NV_NESTED_MTF_PENDING },
        { "flags |= 0x10 (unknown)", NV_OFF_FLAGS, 2, MUT_OR, 0x10 },
        { "flags |= 0x8000 (unknown)", NV_OFF_FLAGS, 2, MUT_OR, 0x8000 },
        { "format = 0 (VMX)", NV_OFF_FORMAT, 2, MUT_SET, 0 },
        { "format = 2", NV_OFF_FORMAT, 2, MUT_SET, 2 },
        { "size = 0", NV_OFF_SIZE, 4, MUT_SET, 0 },
        { "size = 127", NV_OFF_SIZE, 4, MUT_SET, 127 },
        { "size = 128", NV_OFF_SIZE, 4, MUT_SET, 128 },
        { "size = 4223", NV_OFF_SIZE, 4, MUT_SET, 4223 },
        { "size = 4225", NV_OFF_SIZE, 4, MUT_SET, 4225 },
        { "size = 8320", NV_OFF_SIZE, 4, MUT_SET, 8320 },
        { "vmcb_pa = 0", NV_OFF_VMCB_PA, 8, MUT_SET, 0 },
        { "vmcb_pa |= 1 (unaligned)", NV_OFF_VMCB_PA, 8, MUT_OR, 1 },
        { "vmcb_pa |= 0x800 (unaligned)", NV_OFF_VMCB_PA, 8, MUT_OR, 0x800 },
        { "vmcb_pa = -1", NV_OFF_VMCB_PA, 8, MUT_SET, UINT64_MAX },
        { "vmcb_pa = 1 << 51", NV_OFF_VMCB_PA, 8, MUT_SET, 1ull << 51 },
        { "vmcb_pa = outside RAM, legal", NV_OFF_VMCB_PA, 8, MUT_SET, 0x40000000 },
        { "intercept word 4 = 0 (no VMRUN)", VMCB(INTERCEPT_WORD4), 4, MUT_SET, 0 },
        { "intercept word 4 &= ~VMRUN", VMCB(INTERCEPT_WORD4), 4, MUT_CLEAR, SVM_INTERCEPT_VMRUN },
        { "intercept word 4 |= VMMCALL", VMCB(INTERCEPT_WORD4), 4, MUT_OR, SVM_INTERCEPT_VMMCALL },
        { "intercept word 3 = 0 (no CPUID)", VMCB(INTERCEPT_WORD3), 4, MUT_SET, 0 },
        { "intercept words 0-2 = all", VMCB(INTERCEPT_CR), 8, MUT_SET, UINT64_MAX },
        { "asid = 0", VMCB(ASID), 4, MUT_SET, 0 },
        { "asid = 0xffffffff", VMCB(ASID), 4, MUT_SET, 0xffffffff },
        { "iopm_base = 0x1234 (unaligned)", VMCB(IOPM_BASE_PA), 8, MUT_SET, 0x1234 },
        { "iopm_base = 1 << 51", VMCB(IOPM_BASE_PA), 8, MUT_SET, 1ull << 51 },
        { "iopm_base = -1", VMCB(IOPM_BASE_PA), 8, MUT_SET, UINT64_MAX },
        { "msrpm_base = 0x1234 (unaligned)", VMCB(MSRPM_BASE_PA), 8, MUT_SET, 0x1234 },
        { "msrpm_base = 1 << 51", VMCB(MSRPM_BASE_PA), 8, MUT_SET, 1ull << 51 },
        { "msrpm_base = -1", VMCB(MSRPM_BASE_PA), 8, MUT_SET, UINT64_MAX },
        { "nested_ctl |= NP_ENABLE", VMCB(NESTED_CTL), 8, MUT_OR, SVM_NESTED_CTL_NP_ENABLE },
        { "NP on, nested_cr3 = 1 << 51", VMCB(NESTED_CR3), 8, MUT_SET, 1ull << 51, .np = true },
        { "NP on, nested_cr3 = 0x1000", VMCB(NESTED_CR3), 8, MUT_SET, 0x1000, .np = true },
        { "event_inj = valid #GP", VMCB(EVENT_INJ), 4, MUT_SET, 0x80000b0d },
        { "event_inj = valid, type 7", VMCB(EVENT_INJ), 4, MUT_SET, 0x80000700 },
        { "int_ctl = V_INTR_MASKING", VMCB(INT_CTL), 4, MUT_SET, 1u << 24 },
        /* Version-dependent (6.1 accepts, 6.12 refuses): the validator follows the probed fact. */
        { "int_ctl |= V_NMI_ENABLE (NMI not intercepted)", VMCB(INT_CTL), 4, MUT_OR, SVM_INT_CTL_V_NMI_ENABLE },
        { "int_ctl |= V_NMI_ENABLE, NMI intercepted", VMCB(INT_CTL), 4, MUT_OR, SVM_INT_CTL_V_NMI_ENABLE, .nmi = true },
        { "tlb_ctl = 3", VMCB(TLB_CTL), 1, MUT_SET, 3 },
        { "efer &= ~SVME", SAVE(EFER), 8, MUT_CLEAR, X86_EFER_SVME },
        { "efer &= ~LME", SAVE(EFER), 8, MUT_CLEAR, X86_EFER_LME },
        { "efer &= ~LMA", SAVE(EFER), 8, MUT_CLEAR, X86_EFER_LMA },
        { "efer |= bit 2 (reserved)", SAVE(EFER), 8, MUT_OR, 1ull << 2 },
        { "efer |= bit 63 (reserved)", SAVE(EFER), 8, MUT_OR, 1ull << 63 },
        { "cr0 &= ~PG", SAVE(CR0), 8, MUT_CLEAR, X86_CR0_PG },
        { "cr0 &= ~PE", SAVE(CR0), 8, MUT_CLEAR, X86_CR0_PE },
        { "cr0 |= NW (CD clear)", SAVE(CR0), 8, MUT_OR, X86_CR0_NW },
        { "cr0 |= CD", SAVE(CR0), 8, MUT_OR, X86_CR0_CD },
        { "cr0 |= CD|NW", SAVE(CR0), 8, MUT_OR, X86_CR0_CD | X86_CR0_NW },
        { "cr0 |= bit 32", SAVE(CR0), 8, MUT_OR, 1ull << 32 },
        { "cr4 &= ~PAE", SAVE(CR4), 8, MUT_CLEAR, X86_CR4_PAE },
        { "cr4 |= bit 63 (reserved)", SAVE(CR4), 8, MUT_OR, 1ull << 63 },
        { "cr4 |= VMXE", SAVE(CR4), 8, MUT_OR, X86_CR4_VMXE },
        { "cr4 |= bit 25 (reserved)", SAVE(CR4), 8, MUT_OR, 1ull << 25 },
        { "cr3 = 1 << 51", SAVE(CR3), 8, MUT_SET, 1ull << 51 },
        { "cr3 |= 0xfff (low bits)", SAVE(CR3), 8, MUT_OR, 0xfff },
        { "rflags |= VM", SAVE(RFLAGS), 8, MUT_OR, X86_EFLAGS_VM },
        { "rflags |= IF", SAVE(RFLAGS), 8, MUT_OR, X86_EFLAGS_IF },
        { "dr6 |= bit 32", SAVE(DR6), 8, MUT_OR, 1ull << 32 },
        { "dr7 |= bit 32", SAVE(DR7), 8, MUT_OR, 1ull << 32 },
        { "cs.attrib |= D (L and D)", SAVE(CS + VMCB_SEG_ATTRIB), 2, MUT_OR, SVM_SELECTOR_DB },
        { "rip = non-canonical", SAVE(RIP), 8, MUT_SET, 0x0000800000000000ull },
        { "cpl = 3", SAVE(CPL), 1, MUT_SET, 3 },
};

static void mutate(uint8_t *b, const Mutation *m) {
        uint64_t v = 0;

        memcpy(&v, b + m->off, m->width); /* little endian host: the low bytes */
        v = m->op == MUT_SET ? m->val : m->op == MUT_OR ? v | m->val : v & ~m->val;
        memcpy(b + m->off, &v, m->width);
        if (m->np)
                b[VMCB(NESTED_CTL)] |= SVM_NESTED_CTL_NP_ENABLE;
        if (m->nmi)
                put_le32(b + VMCB(INTERCEPT_WORD3), get_le32(b + VMCB(INTERCEPT_WORD3)) | SVM_INTERCEPT_NMI);
}

/* A VM whose only vCPU has the saved vCPU's registers; RAM is shared, a SET does not write it. */
static void fresh_vm(const NvVcpuRegsNested *st, NvKvm **ret_kvm, NvVcpu **ret_vcpu) {
        NvVcpuRegsNested prereq = *st;

        prereq.nested = (NvBlob) {}; /* registers and MSRs only: the mutant is the nested state */
        assert_int_equal(nv_kvm_open(NULL, ret_kvm, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(*ret_kvm, NULL), 0);
        assert_int_equal(nv_kvm_set_memory(*ret_kvm, guest_mem, GS_MEM_SIZE, NULL), 0);
        assert_int_equal(nv_kvm_create_vcpu(*ret_kvm, 0, ret_vcpu, NULL), 0);
        assert_int_equal(nv_vcpu_load_regs_nested(*ret_vcpu, &prereq, NULL), 0);
}

/* Runs L1 until L2 has counted to at least `turns`, then saves the whole vCPU. */
static NvVcpuRegsNested *capture_guest_mode(unsigned turns) {
        NvVcpuRegsNested *st = NULL;
        NvKvm *kvm = NULL;
        NvVcpu *vcpu = NULL;
        struct kvm_run *run;

        assert_int_equal(nv_kvm_open(NULL, &kvm, NULL), 0);
        assert_int_equal(nv_kvm_create_vm(kvm, NULL), 0);
        assert_int_equal(nv_kvm_set_memory(kvm, guest_mem, GS_MEM_SIZE, NULL), 0);
        assert_int_equal(nv_kvm_create_vcpu(kvm, 0, &vcpu, NULL), 0);
        nv_guest_svm_build(guest_mem);
        assert_int_equal(nv_guest_svm_boot_vcpu(vcpu, 0, NULL), 0);
        run = nv_vcpu_run_area(vcpu);
        while (nv_guest_svm_data(guest_mem, 0, GS_L2_COUNTER) < turns) {
                assert_int_equal(nv_kvm_vcpu_run(vcpu, NULL), 0);
                if (run->exit_reason != KVM_EXIT_IO || run->io.port != GS_PORT_TICK)
                        fail_msg("unexpected exit %u (port 0x%x, L1 fail code 0x%llx)", run->exit_reason, run->io.port,
                                 (unsigned long long) nv_guest_svm_data(guest_mem, 0, GS_FAIL_CODE));
        }
        assert_int_equal(nv_vcpu_save_regs_nested(vcpu, prereq_msrs, ELEMENTSOF(prereq_msrs), &st, NULL), 0);
        printf("# captured after %llu L2 turns, %llu L1 exits: blob %zu bytes, flags 0x%x, vmcb_pa 0x%llx, L1 rip 0x%llx, L2 rip 0x%llx\n",
               (unsigned long long) nv_guest_svm_data(guest_mem, 0, GS_L2_COUNTER),
               (unsigned long long) nv_guest_svm_data(guest_mem, 0, GS_L1_EXITS), st->nested.len,
               get_le16(st->nested.data + NV_OFF_FLAGS), (unsigned long long) get_le64(st->nested.data + NV_OFF_VMCB_PA),
               (unsigned long long) get_le64(st->nested.data + SAVE(RIP)), (unsigned long long) st->regs.rip);
        nv_vcpu_free(vcpu);
        nv_kvm_free(kvm);
        return st;
}

/* doc_ctx: h through its capabilities document, then the vCPU's own state from vcpu_ctx. */
static void document_context(NvHostInfo *h, const NvValidateContext *vcpu_ctx) {
        char *xml = NULL;
        NvHostInfo parsed;

        assert_int_equal(nv_host_probe(NULL, NULL, h, NULL), 0);
        nv_host_probe_target(NULL, NULL, h);
        assert_int_equal(nv_host_caps_format(h, &xml, NULL), 0);
        assert_int_equal(nv_host_caps_parse(xml, strlen(xml), 0, &parsed, NULL), 0);
        free(xml);
        nv_host_validate_context(&parsed, &doc_ctx);
        doc_ctx.svme = vcpu_ctx->svme;
        doc_ctx.in_smm = vcpu_ctx->in_smm;
        doc_ctx.have_cr0 = vcpu_ctx->have_cr0;
        doc_ctx.cr0 = vcpu_ctx->cr0;
        doc_ctx.lma = vcpu_ctx->lma;
}

/*
 * The validator's facts, learnt the way a restore learns them: from a
 * target vCPU set up like every referee case's, the host's npt, and the
 * rules the host probe learnt from this kernel (V_NMI, EFER.SVME clear).
 */
static void target_context(NvValidateContext *ctx, const NvVcpuRegsNested *st) {
        NvKvm *kvm = NULL;
        NvVcpu *vcpu = NULL;
        NvHostInfo h = {};
        char npt = '?';
        FILE *f;

        fresh_vm(st, &kvm, &vcpu);
        assert_int_equal(nv_vcpu_validate_context(vcpu, ctx, NULL), 0);
        nv_vcpu_free(vcpu);
        nv_host_probe_target(NULL, kvm, &h);
        nv_kvm_free(kvm);
        assert_true(h.target.measured);
        ctx->svme0_gif0_ok = h.target.svme0_gif0_ok;
        ctx->vnmi_needs_nmi_intercept = h.target.vnmi_needs_nmi_intercept;
        f = fopen("/sys/module/kvm_amd/parameters/npt", "re");
        if (f) {
                npt = (char) fgetc(f);
                fclose(f);
        }
        ctx->npt_enabled = npt == 'Y' || npt == '1' ? NV_YES : npt == 'N' || npt == '0' ? NV_NO : NV_UNKNOWN;
        document_context(&h, ctx);
        printf("# context: vendor %s, maxphyaddr %u, npt %c, EFER.SVME %d, SMM %d, probed V_NMI rule %d, CR0 0x%llx, CR4 may set 0x%llx, "
               "EFER may set 0x%llx\n",
               nv_format_to_string(ctx->vendor) ?: "unknown", ctx->maxphyaddr, npt, ctx->svme, ctx->in_smm, ctx->vnmi_needs_nmi_intercept,
               (unsigned long long) ctx->cr0,
               (unsigned long long) ctx->cr4_allowed, (unsigned long long) ctx->efer_allowed);
}

/*
 * One case: the kernel and the validator on the same bytes (off: the first
 * byte changed).  Prints it if verbose or they disagree.  Returns the
 * kernel's answer.
 */
static int referee(const char *name, unsigned off, const uint8_t *blob, const NvVcpuRegsNested *st, const NvValidateContext *ctx,
                    bool verbose, Tally *t) {
        NvValidateResult vr;
        NvKvm *kvm = NULL;
        NvVcpu *vcpu = NULL;
        int k, v, d;
        const char *known = NULL;
        bool same;

        fresh_vm(st, &kvm, &vcpu);
        k = nv_kvm_set_nested_state_raw(vcpu, (const struct kvm_nested_state *) blob);
        nv_vcpu_free(vcpu);
        nv_kvm_free(kvm);
        v = nv_validate(blob, NV_SVM_MAX_SIZE, ctx, &vr);
        same = (k == 0) == (v == 0) && (k == 0 || k == v);
        d = nv_validate(blob, NV_SVM_MAX_SIZE, &doc_ctx, &(NvValidateResult) {});
        t->doc_agree += (k == 0) == (d == 0) && (k == 0 || k == d);
        t->cases++;
        t->agree += same;
        t->kernel_accepts += k == 0;
        if (!same && k < 0 && v == 0)
                known = known_finding(name, off);
        t->known += known != NULL;
        if (verbose || !same)
                printf("# %-40s %-7s %-9s %-5s %s%s%s%s\n", name, k == 0 ? "accept" : nv_errno_name(k),
                       v == 0 ? "accept" : nv_errno_name(v), vr.rule ?: "", same ? "" : "DISAGREE",
                       known ? " (known: " : "", known ?: "", known ? ")" : "");
        return k;
}

static void test_named_mutations(void **state) {
        NvVcpuRegsNested *st = *state;
        _Alignas(8) uint8_t blob[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        Tally t = {};

        target_context(&ctx, st);
        printf("# %-40s %-7s %-9s %s\n", "mutation", "kernel", "validator", "rule");
        for (size_t i = 0; i < ELEMENTSOF(named); i++) {
                memcpy(blob, st->nested.data, sizeof(blob));
                mutate(blob, &named[i]);
                referee(named[i].name, named[i].off, blob, st, &ctx, true, &t);
        }
        printf("# named mutations: %u cases, kernel accepted %u, validator agrees on %u, known findings %u; with the host's document: agrees on %u\n", t.cases,
               t.kernel_accepts, t.agree, t.known, t.doc_agree);
        assert_int_equal(t.agree + t.known, t.cases);
        assert_int_equal(t.doc_agree, t.cases);
}

/* xorshift32: the same flips for the same seed on every machine. */
static uint32_t next_rand(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static void test_random_flips(void **state) {
        NvVcpuRegsNested *st = *state;
        _Alignas(8) uint8_t blob[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        uint32_t s = seed ?: 1;
        Tally t = {};

        target_context(&ctx, st);
        for (unsigned i = 0; i < N_FLIPS; i++) {
                /* Half the flips in the header, controls and save area KVM reads; half anywhere. */
                uint32_t r = next_rand(&s);
                unsigned off = (i % 2 ? r % NV_SVM_MAX_SIZE : r % (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_OLD_SAVE_AREA_SIZE)), bit = (r >> 16) % 8;
                char name[64];

                memcpy(blob, st->nested.data, sizeof(blob));
                blob[off] ^= (uint8_t) (1u << bit);
                snprintf(name, sizeof(name), "flip blob[0x%03x] bit %u", off, bit);
                referee(name, off, blob, st, &ctx, false, &t);
        }
        printf("# random flips (seed %u): %u cases, kernel accepted %u, validator agrees on %u, known findings %u; with the host's document: agrees on %u\n", seed,
               t.cases, t.kernel_accepts, t.agree, t.known, t.doc_agree);
        assert_int_equal(t.agree + t.known, t.cases);
        assert_int_equal(t.doc_agree, t.cases);
}

/* Every bit of L1's saved CR4 and EFER flipped in turn: the CPUID-dependent checks bit by bit. */
static void test_register_bits(void **state) {
        static const struct {
                const char *name;
                unsigned off;
        } regs[] = { { "save.cr4", SAVE(CR4) }, { "save.efer", SAVE(EFER) } };
        NvVcpuRegsNested *st = *state;
        _Alignas(8) uint8_t blob[NV_SVM_MAX_SIZE];
        NvValidateContext ctx;
        Tally t = {};

        target_context(&ctx, st);
        for (size_t i = 0; i < ELEMENTSOF(regs); i++) {
                uint64_t accepted = 0, value = get_le64(st->nested.data + regs[i].off);

                for (unsigned bit = 0; bit < 64; bit++) {
                        char name[64];

                        memcpy(blob, st->nested.data, sizeof(blob));
                        put_le64(blob + regs[i].off, value ^ (1ull << bit));
                        snprintf(name, sizeof(name), "%s ^= bit %u", regs[i].name, bit);
                        if (referee(name, regs[i].off + bit / 8, blob, st, &ctx, false, &t) == 0)
                                accepted |= 1ull << bit;
                }
                printf("# %s = 0x%llx: the kernel accepts flips of bits 0x%llx\n", regs[i].name, (unsigned long long) value,
                       (unsigned long long) accepted);
        }
        printf("# register bits: %u cases, kernel accepted %u, validator agrees on %u, known findings %u; with the host's document: agrees on %u\n", t.cases,
               t.kernel_accepts, t.agree, t.known, t.doc_agree);
        assert_int_equal(t.agree + t.known, t.cases);
        assert_int_equal(t.doc_agree, t.cases);
}

static int setup(void **state) {
        NvVcpuRegsNested *st;

        guest_mem = mmap(NULL, GS_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (guest_mem == MAP_FAILED)
                return -1;
        st = capture_guest_mode(40); /* two CPUID exits handled by L1 */
        if (st->nested.len != NV_SVM_MAX_SIZE || get_le16(st->nested.data + NV_OFF_FLAGS) != (NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET))
                return -1;
        *state = st;
        return 0;
}

static int teardown(void **state) {
        nv_vcpu_regs_nested_free(*state);
        munmap(guest_mem, GS_MEM_SIZE);
        return 0;
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_named_mutations),
                cmocka_unit_test(test_random_flips),
                cmocka_unit_test(test_register_bits),
        };

        /* The console is the only channel out of the test VM: never hold output back. */
        setvbuf(stdout, NULL, _IONBF, 0);
        if (argc > 1)
                seed = (unsigned) strtoul(argv[1], NULL, 0);
        if (test_real_kvm_require(NV_FORMAT_SVM))
                return 77;
        return cmocka_run_group_tests_name("kernel as referee (SVM)", tests, setup, teardown);
}
