/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated svm_get_nested_state() / svm_set_nested_state(), step by step.
 * The blob's vmcb12 control area is KVM's cached copy of L1's controls; the
 * save area is vmcb01's, i.e. L1's state saved at VMRUN.
 */
#include <string.h>

#include "byteorder.h"
#include "sim-private.h"

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFLAGS_VM (1ull << 17)
#define EFER_LME (1ull << 8)
#define SAVE_AREA_SIZE 0x2E8u /* sizeof(struct vmcb_save_area) copied out */

/* Control-area fields KVM caches and exports: {offset, width}. */
static const struct {
        uint16_t off, width;
} exported_controls[] = {
        { 0x000, 24 }, /* intercepts[6] */
        { 0x03C, 2 },  { 0x03E, 2 }, { 0x040, 8 }, { 0x048, 8 }, { 0x050, 8 }, { 0x058, 4 }, { 0x05C, 1 },
        { 0x060, 4 },  { 0x064, 4 }, { 0x068, 4 }, { 0x070, 4 }, { 0x074, 4 }, { 0x078, 8 }, { 0x080, 8 },
        { 0x088, 4 },  { 0x08C, 4 }, { 0x090, 8 }, { 0x0A8, 4 }, { 0x0AC, 4 }, { 0x0B0, 8 }, { 0x0B8, 8 },
        { 0x0C8, 8 },
};

void sim_svm_leave_nested(SimVcpu *v) {
        v->svm.guest_mode = false;
        v->svm.run_pending = false;
        v->svm.vmcb12_gpa = 0;
}

int sim_svm_get_nested_state(NvSim *s, SimVcpu *v, struct kvm_nested_state *u, uint32_t user_size) {
        struct kvm_nested_state h = { .format = KVM_STATE_NESTED_FORMAT_SVM, .size = sizeof(h) };
        uint8_t *data = (uint8_t *) u + sizeof(h);

        (void) s;
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
        memcpy(data + 0x400, v->svm.save, SAVE_AREA_SIZE);
        return (int) h.size;
}

/* __nested_vmcb_check_controls() on the cached controls. */
static bool svm_controls_ok(NvSim *s, const SimVcpu *v, const uint8_t *ctl) {
        uint64_t msrpm = get_le64(ctl + 0x48), iopm = get_le64(ctl + 0x40);

        if (!(get_le32(ctl + 0x10) & 1)) /* INTERCEPT_VMRUN */
                return false;
        if (get_le32(ctl + 0x58) == 0) /* asid */
                return false;
        if ((get_le64(ctl + 0x90) & 1) && !s->cfg.npt)
                return false;
        /* SVM_NESTED_CTL_NP_ENABLE && !kvm_vcpu_is_legal_gpa(nested_cr3), since b71138fcc362 (2026, stable). */
        if ((get_le64(ctl + 0x90) & 1) && !sim_gpa_legal(v, get_le64(ctl + 0xB0)))
                return false;
        if (!sim_gpa_legal(v, msrpm) || !sim_gpa_legal(v, msrpm + 8192 - 1))
                return false;
        return sim_gpa_legal(v, iopm) && sim_gpa_legal(v, iopm + 12288 - 1);
}

/* The checks on L1's save area (nested_svm_check_permissions, __nested_vmcb_check_save). */
static bool svm_save_ok(const NvSim *s, const SimVcpu *v, const uint8_t *save) {
        uint64_t efer = get_le64(save + 0xD0), cr4 = get_le64(save + 0x148), cr3 = get_le64(save + 0x150);
        uint64_t cr0 = get_le64(save + 0x158), dr7 = get_le64(save + 0x160), dr6 = get_le64(save + 0x168);
        uint64_t rflags = get_le64(save + 0x170);
        uint16_t cs_attrib = get_le16(save + 0x12);

        if (!(cr0 & CR0_PG) || !(cr0 & CR0_PE) || (rflags & EFLAGS_VM))
                return false;
        if (!(efer & SIM_EFER_SVME))
                return false;
        if ((!(cr0 & CR0_CD) && (cr0 & CR0_NW)) || (cr0 >> 32))
                return false;
        if ((dr6 >> 32) || (dr7 >> 32))
                return false;
        if ((efer & EFER_LME) && (cr0 & CR0_PG)) {
                if (!(cr4 & CR4_PAE) || !(cr0 & CR0_PE) || !sim_gpa_legal(v, cr3))
                        return false;
                /* CS.L && CS.D (SVM_SELECTOR_L_MASK, _DB_MASK), since 96bd3e76a171 (2026, stable). */
                if ((cs_attrib & (1u << 9)) && (cs_attrib & (1u << 10)))
                        return false;
        }
        return sim_cr4_valid(s, v, cr4) && sim_efer_valid(s, v, efer);
}

static int svm_set_flags_check(SimVcpu *v, NvSim *s, const struct kvm_nested_state *u) {
        if (u->format != KVM_STATE_NESTED_FORMAT_SVM)
                return -EINVAL;
        if (u->flags & ~(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET))
                return -EINVAL;
        if (!(v->sregs.efer & SIM_EFER_SVME)) {
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
        uint8_t ctl[1024] = {};
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
        put_le64(ctl + 0x40, get_le64(ctl + 0x40) & ~0xfffull); /* the cache keeps page-aligned bitmaps */
        put_le64(ctl + 0x48, get_le64(ctl + 0x48) & ~0xfffull);
        if (!svm_controls_ok(s, v, ctl))
                return -EINVAL;
        if (!(v->sregs.cr0 & CR0_CD) && (v->sregs.cr0 & CR0_NW))
                return -EINVAL;
        if (!svm_save_ok(s, v, data + 0x400))
                return -EINVAL;
        v->svm = (SimSvm) {
                .guest_mode = true,
                .gif = u->flags & KVM_STATE_NESTED_GIF_SET,
                .run_pending = u->flags & KVM_STATE_NESTED_RUN_PENDING,
                .vmcb12_gpa = u->hdr.svm.vmcb_pa,
        };
        memcpy(v->svm.ctl, ctl, sizeof(ctl));
        memcpy(v->svm.save, data + 0x400, SAVE_AREA_SIZE);
        return 0;
}
