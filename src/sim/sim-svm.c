/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated svm_get_nested_state() / svm_set_nested_state(), step by step.
 * The blob's vmcb12 control area is KVM's cached copy of L1's controls; the
 * save area is vmcb01's, i.e. L1's state saved at VMRUN.
 */
#include <string.h>

#include "byteorder.h"
#include "sim-private.h"

/* Control-area fields KVM caches and exports: {offset, width}. */
static const struct {
        uint16_t off, width;
} exported_controls[] = {
        { VMCB_CTL_INTERCEPT_CR, VMCB_CTL_INTERCEPTS_SIZE },
        { VMCB_CTL_PAUSE_FILTER_THRESH, 2 }, { VMCB_CTL_PAUSE_FILTER_COUNT, 2 }, { VMCB_CTL_IOPM_BASE_PA, 8 },
        { VMCB_CTL_MSRPM_BASE_PA, 8 },       { VMCB_CTL_TSC_OFFSET, 8 },        { VMCB_CTL_ASID, 4 },
        { VMCB_CTL_TLB_CTL, 1 },             { VMCB_CTL_INT_CTL, 4 },           { VMCB_CTL_INT_VECTOR, 4 },
        { VMCB_CTL_INT_STATE, 4 },           { VMCB_CTL_EXIT_CODE, 4 },         { VMCB_CTL_EXIT_CODE_HI, 4 },
        { VMCB_CTL_EXIT_INFO_1, 8 },         { VMCB_CTL_EXIT_INFO_2, 8 },       { VMCB_CTL_EXIT_INT_INFO, 4 },
        { VMCB_CTL_EXIT_INT_INFO_ERR, 4 },   { VMCB_CTL_NESTED_CTL, 8 },        { VMCB_CTL_EVENT_INJ, 4 },
        { VMCB_CTL_EVENT_INJ_ERR, 4 },       { VMCB_CTL_NESTED_CR3, 8 },        { VMCB_CTL_VIRT_EXT, 8 },
        { VMCB_CTL_NEXT_RIP, 8 },
};

void sim_svm_leave_nested(SimVcpu *v) {
        v->svm.guest_mode = false;
        v->svm.run_pending = false;
        v->svm.vmcb12_gpa = 0;
}

int sim_svm_get_nested_state(NvSim *s, SimVcpu *v, struct kvm_nested_state *u, uint32_t user_size) {
        struct kvm_nested_state h = { .format = KVM_STATE_NESTED_FORMAT_SVM, .size = sizeof(h) };
        uint8_t *data = (uint8_t *) u + sizeof(h);

        if (user_size < h.size)
                return (int) h.size; /* too small even for the header: E2BIG with 128 */
        if (v->svm.guest_mode) {
                h.hdr.svm.vmcb_pa = v->svm.vmcb12_gpa;
                h.size += KVM_STATE_NESTED_SVM_VMCB_SIZE;
                h.flags |= KVM_STATE_NESTED_GUEST_MODE;
                if (v->svm.run_pending)
                        h.flags |= KVM_STATE_NESTED_RUN_PENDING;
        }
        if (v->svm.gif)
                h.flags |= KVM_STATE_NESTED_GIF_SET;
        memcpy(u, &h, sizeof(h));
        if (!v->svm.guest_mode)
                return (int) h.size;
        /* Kernel quirk kept on purpose: 4096 bytes are written even if user_size is smaller. */
        memset(data, 0, KVM_STATE_NESTED_SVM_VMCB_SIZE);
        for (size_t i = 0; i < ELEMENTSOF(exported_controls); i++)
                memcpy(data + exported_controls[i].off, v->svm.ctl + exported_controls[i].off, exported_controls[i].width);
        memcpy(data + VMCB12_SAVE_AREA, v->svm.save, VMCB_SAVE_AREA_COPIED);
        return (int) h.size;
}

/* __nested_vmcb_check_controls() on the cached controls. */
static bool svm_controls_ok(NvSim *s, const SimVcpu *v, const uint8_t *ctl) {
        uint64_t msrpm = get_le64(ctl + VMCB_CTL_MSRPM_BASE_PA), iopm = get_le64(ctl + VMCB_CTL_IOPM_BASE_PA);

        if (!(get_le32(ctl + VMCB_CTL_INTERCEPT_WORD4) & SVM_INTERCEPT_VMRUN))
                return false;
        if (get_le32(ctl + VMCB_CTL_ASID) == 0)
                return false;
        if ((get_le64(ctl + VMCB_CTL_NESTED_CTL) & SVM_NESTED_CTL_NP_ENABLE) && !s->cfg.npt)
                return false;
        /* SVM_NESTED_CTL_NP_ENABLE && !kvm_vcpu_is_legal_gpa(nested_cr3), since b71138fcc362 (2026, stable). */
        if ((get_le64(ctl + VMCB_CTL_NESTED_CTL) & SVM_NESTED_CTL_NP_ENABLE) &&
            !sim_gpa_legal(v, get_le64(ctl + VMCB_CTL_NESTED_CR3)))
                return false;
        if (!sim_gpa_legal(v, msrpm) || !sim_gpa_legal(v, msrpm + SVM_MSRPM_SIZE - 1))
                return false;
        return sim_gpa_legal(v, iopm) && sim_gpa_legal(v, iopm + SVM_IOPM_SIZE - 1);
}

/* The checks on L1's save area (nested_svm_check_permissions, __nested_vmcb_check_save). */
static bool svm_save_ok(const NvSim *s, const SimVcpu *v, const uint8_t *save) {
        uint64_t efer = get_le64(save + VMCB_SAVE_EFER), cr4 = get_le64(save + VMCB_SAVE_CR4), cr3 = get_le64(save + VMCB_SAVE_CR3);
        uint64_t cr0 = get_le64(save + VMCB_SAVE_CR0), dr7 = get_le64(save + VMCB_SAVE_DR7), dr6 = get_le64(save + VMCB_SAVE_DR6);
        uint64_t rflags = get_le64(save + VMCB_SAVE_RFLAGS);
        uint16_t cs_attrib = get_le16(save + VMCB_SAVE_CS + VMCB_SEG_ATTRIB);

        if (!(cr0 & X86_CR0_PG) || !(cr0 & X86_CR0_PE) || (rflags & X86_EFLAGS_VM))
                return false;
        if (!(efer & X86_EFER_SVME))
                return false;
        if ((!(cr0 & X86_CR0_CD) && (cr0 & X86_CR0_NW)) || (cr0 >> 32))
                return false;
        if ((dr6 >> 32) || (dr7 >> 32))
                return false;
        if ((efer & X86_EFER_LME) && (cr0 & X86_CR0_PG)) {
                if (!(cr4 & X86_CR4_PAE) || !(cr0 & X86_CR0_PE) || !sim_gpa_legal(v, cr3))
                        return false;
                /* CS.L && CS.D, since 96bd3e76a171 (2026, stable). */
                if ((cs_attrib & SVM_SELECTOR_L) && (cs_attrib & SVM_SELECTOR_DB))
                        return false;
        }
        return sim_cr4_valid(s, v, cr4) && sim_efer_valid(s, v, efer);
}

static int svm_set_flags_check(SimVcpu *v, NvSim *s, const struct kvm_nested_state *u) {
        if (u->format != KVM_STATE_NESTED_FORMAT_SVM)
                return -EINVAL;
        if (u->flags & ~(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET))
                return -EINVAL;
        if (!(v->sregs.efer & X86_EFER_SVME)) {
                /* GIF=0 with SVME=0 is architectural; older kernels demanded GIF=1. */
                if (s->cfg.svme0_gif0_ok ? (u->flags & KVM_STATE_NESTED_GUEST_MODE) != 0
                                         : u->flags != KVM_STATE_NESTED_GIF_SET)
                        return -EINVAL;
        }
        if (sim_in_smm(v) && (u->flags & KVM_STATE_NESTED_GUEST_MODE))
                return -EINVAL;
        return 0;
}

int sim_svm_set_nested_state(NvSim *s, SimVcpu *v, const struct kvm_nested_state *u) {
        const uint8_t *data = (const uint8_t *) u + sizeof(*u);
        uint8_t ctl[VMCB_CTL_AREA_SIZE] = {};
        int r;

        r = svm_set_flags_check(v, s, u);
        if (r < 0)
                return r;
        if (!(u->flags & KVM_STATE_NESTED_GUEST_MODE)) {
                sim_svm_leave_nested(v);
                v->svm.gif = u->flags & KVM_STATE_NESTED_GIF_SET;
                return 0;
        }
        if (!sim_page_address_valid(v, u->hdr.svm.vmcb_pa))
                return -EINVAL;
        if (u->size < sizeof(*u) + KVM_STATE_NESTED_SVM_VMCB_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(exported_controls); i++)
                memcpy(ctl + exported_controls[i].off, data + exported_controls[i].off, exported_controls[i].width);
        /* The cache keeps page-aligned bitmaps. */
        put_le64(ctl + VMCB_CTL_IOPM_BASE_PA, get_le64(ctl + VMCB_CTL_IOPM_BASE_PA) & ~(uint64_t) X86_PAGE_MASK);
        put_le64(ctl + VMCB_CTL_MSRPM_BASE_PA, get_le64(ctl + VMCB_CTL_MSRPM_BASE_PA) & ~(uint64_t) X86_PAGE_MASK);
        if (!svm_controls_ok(s, v, ctl))
                return -EINVAL;
        if (!(v->sregs.cr0 & X86_CR0_CD) && (v->sregs.cr0 & X86_CR0_NW))
                return -EINVAL;
        if (!svm_save_ok(s, v, data + VMCB12_SAVE_AREA))
                return -EINVAL;
        v->svm = (SimSvm) {
                .guest_mode = true,
                .gif = u->flags & KVM_STATE_NESTED_GIF_SET,
                .run_pending = u->flags & KVM_STATE_NESTED_RUN_PENDING,
                .vmcb12_gpa = u->hdr.svm.vmcb_pa,
        };
        memcpy(v->svm.ctl, ctl, sizeof(ctl));
        memcpy(v->svm.save, data + VMCB12_SAVE_AREA, VMCB_SAVE_AREA_COPIED);
        return 0;
}
