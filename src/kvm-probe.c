/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's own verdicts, without a running VM: scratch VMs and vCPUs
 * on the host's KVM, set up like the vCPU a state will land on, that take
 * a nested state and are thrown away.  The host probe uses them to learn
 * the rules that differ between kernels (crafted probe states); the
 * incoming check of the driver lands every blob on one before any VMM is
 * touched.  KVM_SET_NESTED_STATE needs no guest memory for its checks:
 * pages named by the state are only read when the vCPU next runs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "byteorder.h"
#include "cpuid.h"
#include "kvm-backend.h"
#include "kvm-probe.h"
#include "macro.h"

#define VMCB_CTL(off) (NV_OFF_DATA + VMCB_CTL_##off)
#define VMCB_SAVE(off) (NV_OFF_DATA + VMCB12_SAVE_AREA + VMCB_SAVE_##off)

/*
 * The target vCPU's registers as a VMM has restored them before the nested
 * state (QEMU and crosvm set SREGS first): 64-bit paging, not in SMM, CR0
 * without CD/NW; SVM: EFER.SVME (a vCPU with nested state has it); VMX:
 * CR4.VMXE, and EFER.LMA as the state's L2 runs (lma).
 */
static int scratch_sregs(NvVcpu *v, int vendor, bool lma, NvError **reterr) {
        struct kvm_sregs s;
        int r = nv_kvm_get_sregs(v, &s, reterr);

        if (r < 0)
                return r;
        s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | (lma ? X86_CR0_PG : 0);
        s.cr4 = X86_CR4_PAE | (vendor == NV_FORMAT_VMX ? X86_CR4_VMXE : 0);
        s.cr3 = 0;
        s.efer = (lma ? X86_EFER_LME | X86_EFER_LMA : 0) | (vendor == NV_FORMAT_SVM ? X86_EFER_SVME : 0);
        s.cs.l = lma;
        s.cs.db = !lma;
        return nv_kvm_set_sregs(v, &s, reterr);
}

/*
 * KVM restores the TRUE control MSRs (the others derive from them) and not
 * CR0/CR4_FIXED1, which follow the vCPU's CPUID: a VMM sets the rest.
 */
static bool vmx_msr_restorable(uint32_t index) {
        return index == MSR_IA32_VMX_BASIC ||
               (index >= MSR_IA32_VMX_MISC && index != MSR_IA32_VMX_CR0_FIXED1 && index != MSR_IA32_VMX_CR4_FIXED1);
}

/*
 * A VMX target vCPU as a VMM makes it (after its CPUID, which offers VMX):
 * IA32_FEATURE_CONTROL locked with VMXON allowed (firmware's job, under
 * which the state was saved), and the nested VMX capability MSRs of the
 * target (vmx_msrs; NULL: those KVM gives a vCPU with this CPUID), which
 * the capabilities document records and `verify --dest-caps` judges by.
 */
static int scratch_vmx_model(NvVcpu *v, const uint64_t *vmx_msrs, NvError **reterr) {
        _cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + (NV_VMX_MSR_COUNT + 1) * sizeof(m->entries[0]));
        int r;

        if (!m)
                return -ENOMEM;
        m->entries[m->nmsrs++] = (struct kvm_msr_entry) { .index = MSR_IA32_FEATURE_CONTROL, .data = FEAT_CTL_LOCKED | FEAT_CTL_VMX_OUTSIDE_SMX };
        for (uint32_t i = 0; vmx_msrs && i < NV_VMX_MSR_COUNT; i++)
                if (vmx_msr_restorable(NV_VMX_MSR_FIRST + i))
                        m->entries[m->nmsrs++] = (struct kvm_msr_entry) { .index = NV_VMX_MSR_FIRST + i, .data = vmx_msrs[i] };
        r = nv_kvm_set_msrs(v, m, reterr);
        if (r < 0)
                return r;
        /* KVM_SET_MSRS stops at the first MSR it refuses. */
        if ((uint32_t) r < m->nmsrs)
                return nv_error_set(reterr, -EINVAL, _("The vCPU refuses MSR 0x%x = 0x%llx of the target"), m->entries[r].index,
                                    (unsigned long long) m->entries[r].data);
        return 0;
}

static int scratch_setup(NvVcpu *v, int vendor, bool lma, const uint64_t *vmx_msrs, NvError **reterr) {
        int r = vendor == NV_FORMAT_VMX ? scratch_vmx_model(v, vmx_msrs, reterr) : 0;

        return r < 0 ? r : scratch_sregs(v, vendor, lma, reterr);
}

int nv_kvm_scratch_vcpu(NvKvm *kvm, int vendor, bool lma, NvKvm **ret_kvm, NvVcpu **ret_vcpu, NvError **reterr) {
        _cleanup_(nv_kvm_freep) NvKvm *k = NULL;
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        int r;

        r = nv_kvm_open_scratch(kvm, &k, reterr);
        if (r >= 0)
                r = nv_kvm_create_vm(k, reterr);
        if (r >= 0)
                r = nv_kvm_create_vcpu(k, 0, &v, reterr); /* with the CPUID KVM supports */
        if (r >= 0)
                r = scratch_setup(v, vendor, lma, NULL, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Cannot set up a scratch vCPU"));
        *ret_vcpu = TAKE_PTR(v);
        *ret_kvm = TAKE_PTR(k);
        return 0;
}

/* The EFER.LMA the VMM restores with this state: a VMX L2's IA-32e mode; else 64-bit, as L1 hypervisors run. */
static bool state_lma(const uint8_t *blob, size_t len) {
        NvNestedHeader h;

        if (nv_nested_header_parse(blob, len, &h, NULL) < 0 || h.format != NV_FORMAT_VMX ||
            !(h.flags & NV_NESTED_GUEST_MODE) || len < NV_OFF_DATA + VMCS12_VM_ENTRY_CONTROLS + 4)
                return true;
        return get_le32(blob + NV_OFF_DATA + VMCS12_VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;
}

/*
 * In guest mode the kernel reads the VMCS that vmcs12's link pointer names
 * (its revision and shadow indicator) from guest memory, which the blob
 * does not hold: the VMM restores it with the RAM.  A scratch VM backs that
 * page with the header such memory holds for a well-formed guest: the
 * vmcs12 revision, with the shadow bit when the vmcs12 uses VMCS shadowing.
 * A pointer that cannot be a page (unaligned, beyond the slot's reach) is
 * left unbacked and the kernel refuses it, as it would on the target.
 */
#define SCRATCH_LINK_PAGES 64

typedef struct LinkPage {
        uint64_t gpa;
        uint8_t *page;
} LinkPage;

struct NvScratch {
        NvKvm *kvm; /* the host's handle (borrowed) */
        NvKvm *vm;  /* the current scratch VM */
        unsigned next_id, max_vcpus;
        bool have_vmx_msrs; /* the target's, set on every VMX scratch vCPU */
        uint64_t vmx_msrs[NV_VMX_MSR_COUNT];
        LinkPage link[SCRATCH_LINK_PAGES]; /* the current VM's pages, slots 1.. */
        unsigned n_link;
};

/* The link page blob needs (its guest-physical address, the header there), or false. */
static bool state_link_page(const uint8_t *blob, size_t len, uint64_t *ret_gpa, uint32_t *ret_header) {
        const uint8_t *v = blob + NV_OFF_DATA;
        uint64_t link;
        bool shadow;

        if (get_le16(blob + NV_OFF_FORMAT) != NV_FORMAT_VMX || !(get_le16(blob + NV_OFF_FLAGS) & NV_NESTED_GUEST_MODE) ||
            len < NV_OFF_DATA + NV_VMCS12_AREA_SIZE)
                return false;
        link = get_le64(v + VMCS12_VMCS_LINK_POINTER);
        if (link == NV_GPA_INVALID || (link & 0xfff) || link >= (1ull << 52))
                return false;
        shadow = (get_le32(v + VMCS12_CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
                 (get_le32(v + VMCS12_SECONDARY_VM_EXEC_CONTROL) & SECONDARY_EXEC_SHADOW_VMCS);
        *ret_gpa = link;
        *ret_header = NV_VMCS12_REVISION | (shadow ? VMCS_SHADOW_BIT : 0);
        return true;
}

static void scratch_drop_vm(NvScratch *s) {
        s->vm = nv_kvm_free(s->vm);
        for (unsigned i = 0; i < s->n_link; i++)
                munmap(s->link[i].page, 4096);
        s->n_link = 0;
        s->next_id = 0;
}

int nv_scratch_new(NvKvm *kvm, const NvHostTarget *target, NvScratch **ret, NvError **reterr) {
        NvScratch *s = calloc(1, sizeof(*s));
        int max = nv_kvm_check_extension(kvm, KVM_CAP_MAX_VCPUS), max_id = nv_kvm_check_extension(kvm, KVM_CAP_MAX_VCPU_ID);

        if (!s)
                return -ENOMEM;
        /* A vCPU lives as long as its VM: one VM takes as many as KVM allows, then the next one starts. */
        s->kvm = kvm;
        if (target && target->have_vmx_msrs) {
                s->have_vmx_msrs = true;
                memcpy(s->vmx_msrs, target->vmx_msrs, sizeof(s->vmx_msrs));
        }
        s->max_vcpus = max > 0 ? (unsigned) max : 1;
        if (max_id > 0 && (unsigned) max_id < s->max_vcpus)
                s->max_vcpus = (unsigned) max_id;
        *ret = s;
        return 0;
}

NvScratch *nv_scratch_free(NvScratch *s) {
        if (s)
                scratch_drop_vm(s);
        free(s);
        return NULL;
}

/* The current VM holds blob's link page (mapped now if need be); false: it cannot, take a new VM. */
static bool scratch_link_fits(NvScratch *s, const uint8_t *blob, size_t len) {
        uint64_t gpa;
        uint32_t header;
        uint8_t *page;

        if (!state_link_page(blob, len, &gpa, &header))
                return true;
        for (unsigned i = 0; i < s->n_link; i++)
                if (s->link[i].gpa == gpa)
                        return get_le32(s->link[i].page) == header;
        if (s->n_link == SCRATCH_LINK_PAGES)
                return false;
        page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED)
                return true; /* unbacked: the kernel refuses, which the caller reports */
        put_le32(page, header);
        if (nv_kvm_set_memory_slot(s->vm, 1 + s->n_link, gpa, page, 4096, NULL) < 0) {
                munmap(page, 4096);
                return true;
        }
        s->link[s->n_link++] = (LinkPage) { gpa, page };
        return true;
}

static int scratch_next_vm(NvScratch *s, NvError **reterr) {
        int r;

        scratch_drop_vm(s);
        r = nv_kvm_open_scratch(s->kvm, &s->vm, reterr);
        if (r >= 0)
                r = nv_kvm_create_vm(s->vm, reterr);
        if (r < 0) {
                s->vm = nv_kvm_free(s->vm);
                return nv_error_wrap(reterr, r, _("Cannot set up a scratch VM"));
        }
        return 0;
}

int nv_scratch_vcpu_for_state(NvScratch *s, const void *blob, size_t len, NvVcpu **ret, NvError **reterr) {
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        NvNestedHeader h;
        int r = nv_nested_header_parse(blob, len, &h, reterr);

        if (r < 0)
                return r;
        if (!s->vm || s->next_id >= s->max_vcpus || !scratch_link_fits(s, blob, len)) {
                r = scratch_next_vm(s, reterr);
                if (r < 0)
                        return r;
                (void) scratch_link_fits(s, blob, len); /* an empty VM takes any page */
        }
        r = nv_kvm_create_vcpu(s->vm, s->next_id++, &v, reterr); /* with the CPUID KVM supports */
        if (r >= 0)
                r = scratch_setup(v, h.format, state_lma(blob, len), s->have_vmx_msrs ? s->vmx_msrs : NULL, reterr);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Cannot set up a scratch vCPU"));
        *ret = TAKE_PTR(v);
        return 0;
}

int nv_kvm_scratch_set(NvVcpu *vcpu, const void *blob, size_t len) {
        _cleanup_free_ uint8_t *buf = NULL;

        /* The kernel reads as far as the header's size says: never past what we own. */
        buf = calloc(1, len > NV_NESTED_MAX_SIZE ? len : NV_NESTED_MAX_SIZE);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, blob, len);
        if (len >= NV_NESTED_HDR_SIZE && get_le32(buf + NV_OFF_SIZE) > (len > NV_NESTED_MAX_SIZE ? len : NV_NESTED_MAX_SIZE))
                put_le32(buf + NV_OFF_SIZE, (uint32_t) len); /* the validator refuses such sizes first; never read beyond buf */
        return nv_kvm_set_nested_state_raw(vcpu, (const struct kvm_nested_state *) buf);
}

void nv_kvm_probe_svm_blob(uint8_t blob[NV_SVM_MAX_SIZE]) {
        memset(blob, 0, NV_SVM_MAX_SIZE);
        put_le16(blob + NV_OFF_FLAGS, NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET);
        put_le16(blob + NV_OFF_FORMAT, NV_FORMAT_SVM);
        put_le32(blob + NV_OFF_SIZE, NV_SVM_MAX_SIZE);
        put_le64(blob + NV_OFF_VMCB_PA, 0x1000);
        put_le32(blob + VMCB_CTL(INTERCEPT_WORD4), SVM_INTERCEPT_VMRUN);
        put_le32(blob + VMCB_CTL(ASID), 1);
        put_le64(blob + VMCB_SAVE(CR0), X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG);
        put_le64(blob + VMCB_SAVE(CR4), X86_CR4_PAE);
        put_le64(blob + VMCB_SAVE(CR3), 0x2000);
        put_le64(blob + VMCB_SAVE(EFER), X86_EFER_SVME | X86_EFER_LME | X86_EFER_LMA);
        put_le16(blob + VMCB_SAVE(CS + VMCB_SEG_ATTRIB), SVM_SELECTOR_L | 0x9b);
        put_le64(blob + VMCB_SAVE(RFLAGS), 0x2);
        put_le64(blob + VMCB_SAVE(DR6), 0xffff0ff0);
        put_le64(blob + VMCB_SAVE(DR7), 0x400);
}

/* The kernel's verdict on blob, on a scratch vCPU with EFER.SVME as given: accepted, refused, or unknown (no scratch). */
static NvTristate svm_accepts(NvKvm *kvm, const uint8_t *blob, bool svme) {
        _cleanup_(nv_kvm_freep) NvKvm *k = NULL;
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        struct kvm_sregs s;
        int r;

        if (nv_kvm_scratch_vcpu(kvm, NV_FORMAT_SVM, true, &k, &v, NULL) < 0)
                return NV_UNKNOWN;
        if (!svme) {
                if (nv_kvm_get_sregs(v, &s, NULL) < 0)
                        return NV_UNKNOWN;
                s.efer &= ~(uint64_t) X86_EFER_SVME;
                if (nv_kvm_set_sregs(v, &s, NULL) < 0)
                        return NV_UNKNOWN;
        }
        r = nv_kvm_set_nested_state_raw(v, (const struct kvm_nested_state *) blob);
        return r == 0 ? NV_YES : r == -EINVAL ? NV_NO : NV_UNKNOWN;
}

/*
 * The SVM rules that differ between kernels, each decided by a pair of
 * states: a base every kernel accepts, and the base with one change.  If
 * the base is refused the probe tells nothing and the fact stays unknown.
 */
static void probe_svm_rules(NvKvm *kvm, NvHostTarget *t) {
        _Alignas(8) uint8_t base[NV_SVM_MAX_SIZE], blob[NV_SVM_MAX_SIZE];
        NvTristate ok;

        nv_kvm_probe_svm_blob(base);
        if (svm_accepts(kvm, base, true) != NV_YES)
                return;
        /* EFER.SVME clear, GIF clear, not in guest mode: refused before the late-2025 change, accepted after. */
        memcpy(blob, base, sizeof(blob));
        put_le16(blob + NV_OFF_FLAGS, 0);
        put_le32(blob + NV_OFF_SIZE, NV_NESTED_HDR_SIZE);
        t->svme0_gif0_ok = svm_accepts(kvm, blob, false);
        /* V_NMI_ENABLE without the NMI intercept: accepted by 6.1, refused by 6.12. */
        memcpy(blob, base, sizeof(blob));
        put_le32(blob + VMCB_CTL(INT_CTL), SVM_INT_CTL_V_NMI_ENABLE);
        ok = svm_accepts(kvm, blob, true);
        t->vnmi_needs_nmi_intercept = ok == NV_UNKNOWN ? NV_UNKNOWN : ok == NV_YES ? NV_NO : NV_YES;
}

/*
 * KVM_SET_SREGS with EFER.SVME on a vCPU whose CPUID lacks SVM: refused
 * where the check has been backported, so a VMM must set CPUID before
 * SREGS there.  Not a nested-state rule; it decides the restore order.
 */
static NvTristate probe_sregs_svme_cpuid(NvKvm *kvm) {
        _cleanup_(nv_kvm_freep) NvKvm *k = NULL;
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        _cleanup_free_ struct kvm_cpuid2 *c = NULL;
        struct kvm_sregs s;
        int r;

        if (nv_kvm_open_scratch(kvm, &k, NULL) < 0 || nv_kvm_create_vm(k, NULL) < 0 || nv_kvm_create_vcpu(k, 0, &v, NULL) < 0 ||
            nv_kvm_get_cpuid(v, &c, NULL) < 0)
                return NV_UNKNOWN;
        for (uint32_t i = 0; i < c->nent; i++)
                if (c->entries[i].function == X86_FEATURE_SVM.leaf)
                        c->entries[i].ecx &= ~X86_FEATURE_MASK(X86_FEATURE_SVM);
        if (nv_kvm_set_cpuid(v, c, NULL) < 0 || nv_kvm_get_sregs(v, &s, NULL) < 0)
                return NV_UNKNOWN;
        s.efer |= X86_EFER_SVME;
        r = nv_kvm_set_sregs(v, &s, NULL);
        return r == 0 ? NV_NO : r == -EINVAL ? NV_YES : NV_UNKNOWN;
}

/*
 * The CPUID and VMX capability MSRs a vCPU gets here.  The MSRs are read
 * from the scratch vCPU, which has the CPUID KVM supports: KVM derives
 * some from the vCPU's CPUID (CR0/CR4_FIXED1, controls whose feature the
 * CPUID lacks), which the system fd's values do not reflect.
 */
static void measure_vcpu_model(NvKvm *kvm, NvVcpu *v, int vendor, NvHostTarget *t) {
        _cleanup_free_ struct kvm_cpuid2 *c = NULL;

        if (nv_kvm_get_supported_cpuid(kvm, &c, NULL) >= 0 && c->nent <= NV_HOST_MAX_CPUID) {
                for (uint32_t i = 0; i < c->nent; i++) {
                        const struct kvm_cpuid_entry2 *e = &c->entries[i];

                        t->cpuid[i] = (NvCpuidLeaf) { e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx };
                }
                t->n_cpuid = c->nent;
                t->maxphyaddr = nv_cpuid_maxphyaddr(c->entries, c->nent);
        }
        if (vendor == NV_FORMAT_VMX)
                t->have_vmx_msrs = nv_kvm_read_vmx_msrs(kvm, v, t->vmx_msrs);
}

void nv_kvm_probe_target(NvKvm *kvm, NvHostTarget *t) {
        _cleanup_(nv_kvm_freep) NvKvm *k = NULL;
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        int vendor = nv_kvm_vendor(kvm);

        /* A scratch vCPU must be possible: a kernel's KVM (not the simulator's judgement) that saves nested state. */
        if (vendor < 0 || nv_kvm_scratch_vcpu(kvm, vendor, true, &k, &v, NULL) < 0)
                return;
        t->measured = true;
        t->evmcs = nv_kvm_check_extension(kvm, KVM_CAP_HYPERV_ENLIGHTENED_VMCS) > 0 ? NV_YES : NV_NO;
        t->smm = nv_kvm_check_extension(kvm, KVM_CAP_X86_SMM) > 0 ? NV_YES : NV_NO;
        measure_vcpu_model(kvm, v, vendor, t);
        if (vendor == NV_FORMAT_SVM) {
                probe_svm_rules(kvm, t);
                t->sregs_svme_needs_cpuid = probe_sregs_svme_cpuid(kvm);
        }
}
