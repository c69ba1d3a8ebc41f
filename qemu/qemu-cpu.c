/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One vCPU from QEMU's `cpu` section: the fields the nested state depends
 * on, and the struct kvm_nested_state rebuilt from QEMU's named fields the
 * way QEMU rebuilds it on the destination before KVM_SET_NESTED_STATE.
 */
#include <stdlib.h>

#include "byteorder.h"
#include "macro.h"
#include "qemu-private.h"
#include "x86-arch.h"

enum {
        F_HFLAGS,
        F_HFLAGS2,
        F_EFER,
        F_VM_HSAVE,
        F_CR0,
        F_FLAGS,
        F_FORMAT,
        F_SIZE,
        F_VMXON_PA,
        F_VMCS12_PA,
        F_SMM_FLAGS,
        F_VMCS12,
        F_SHADOW_VMCS12,
        F_VMCB_PA,
        F_VMCB12,
};

/* Where each field QEMU names lands: in the cpu facts, or at its offset in the kernel's struct. */
static const struct {
        const char *vmsd;
        const char *field;
        uint16_t width;
        uint16_t blob_off;
} fields[] = {
        [F_HFLAGS] = { "cpu", "env.hflags", 4, 0 },
        [F_HFLAGS2] = { "cpu", "env.hflags2", 4, 0 },
        [F_EFER] = { "cpu", "env.efer", 8, 0 },
        [F_VM_HSAVE] = { "cpu", "env.vm_hsave", 8, 0 },
        [F_CR0] = { "cpu", "env.cr[0]", 8, 0 },
        [F_FLAGS] = { "cpu/kvm_nested_state", "flags", 2, NV_OFF_FLAGS },
        [F_FORMAT] = { "cpu/kvm_nested_state", "format", 2, NV_OFF_FORMAT },
        [F_SIZE] = { "cpu/kvm_nested_state", "size", 4, NV_OFF_SIZE },
        [F_VMXON_PA] = { "cpu/kvm_nested_state/vmx", "hdr.vmx.vmxon_pa", 8, NV_OFF_VMXON_PA },
        [F_VMCS12_PA] = { "cpu/kvm_nested_state/vmx", "hdr.vmx.vmcs12_pa", 8, NV_OFF_VMCS12_PA },
        [F_SMM_FLAGS] = { "cpu/kvm_nested_state/vmx", "hdr.vmx.smm.flags", 2, NV_OFF_SMM_FLAGS },
        [F_VMCS12] = { "cpu/kvm_nested_state/vmx/vmcs12", "data.vmx[0].vmcs12", NV_VMCS12_AREA_SIZE, NV_OFF_DATA },
        [F_SHADOW_VMCS12] = { "cpu/kvm_nested_state/vmx/shadow_vmcs12", "data.vmx[0].shadow_vmcs12", NV_VMCS12_AREA_SIZE,
                              NV_OFF_DATA + NV_VMCS12_AREA_SIZE },
        [F_VMCB_PA] = { "cpu/kvm_nested_state/svm", "hdr.svm.vmcb_pa", 8, NV_OFF_VMCB_PA },
        [F_VMCB12] = { "cpu/kvm_nested_state/svm", "data.svm[0].vmcb12", NV_VMCB12_AREA_SIZE, NV_OFF_DATA },
};

static uint64_t be(const uint8_t *p, unsigned width) {
        return width == 2 ? nv_be16(p) : width == 4 ? nv_be32(p) : nv_be64(p);
}

/* Numbers are big-endian in the stream and little-endian in the kernel's struct; byte arrays are copied as they are. */
static void put_blob(uint8_t *blob, unsigned i, const uint8_t *p) {
        uint8_t *at = blob + fields[i].blob_off;

        switch (fields[i].width) {
        case 2:
                put_le16(at, nv_be16(p));
                break;
        case 4:
                put_le32(at, nv_be32(p));
                break;
        case 8:
                put_le64(at, nv_be64(p));
                break;
        default:
                memcpy(at, p, fields[i].width);
        }
}

static void put_fact(NvQemuVcpu *v, unsigned i, const uint8_t *p) {
        uint64_t x = be(p, fields[i].width);

        switch (i) {
        case F_HFLAGS:
                v->hflags = (uint32_t) x;
                break;
        case F_HFLAGS2:
                v->hflags2 = (uint32_t) x;
                break;
        case F_EFER:
                v->efer = x;
                break;
        case F_VM_HSAVE:
                v->vm_hsave = x;
                break;
        case F_CR0:
                v->cr0 = x;
                break;
        case F_FLAGS:
                v->stream_flags = (uint16_t) x;
                break;
        case F_FORMAT:
                v->format = (uint16_t) x;
                break;
        case F_SIZE:
                v->size = (uint32_t) x;
                break;
        }
}

int nv_qemu_cpu_field(NvQemuVcpu *v, const char *vmsd, const char *field, const uint8_t *p, size_t n, uint64_t off,
                      NvError **reterr) {
        for (unsigned i = 0; i < ELEMENTSOF(fields); i++) {
                if (!streq(vmsd, fields[i].vmsd) || !streq(field, fields[i].field))
                        continue;
                if (n != fields[i].width)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's field %s of vCPU %u is %zu bytes, not %u (offset 0x%llx)."),
                                            field, v->index, n, fields[i].width, (unsigned long long) off);
                if (i >= F_FLAGS) {
                        v->have_nested = true;
                        if (!v->blob.data && !(v->blob.data = calloc(1, NV_NESTED_MAX_SIZE)))
                                return -ENOMEM;
                        put_blob(v->blob.data, i, p);
                }
                put_fact(v, i, p);
                if (i == F_HFLAGS)
                        v->off_hflags = off;
                else if (i == F_HFLAGS2)
                        v->off_hflags2 = off;
                else if (i == F_EFER)
                        v->off_efer = off;
                else if (i == F_VMCS12 || i == F_VMCB12)
                        v->off_data = off;
                v->seen |= 1u << i;
                v->have_cpu_fields = (v->seen & 0x1fu) == 0x1fu; /* hflags, hflags2, efer, vm_hsave, cr0 */
                v->have_vmx |= i == F_VMXON_PA;
                v->have_vmcs12 |= i == F_VMCS12;
                v->have_shadow_vmcs12 |= i == F_SHADOW_VMCS12;
                v->have_svm |= i == F_VMCB_PA;
                return 0;
        }
        return 0;
}

static void refuse(NvQemuVcpu *v, const char *why, const char *field, uint64_t value) {
        v->qemu_refusal = why;
        v->qemu_field = field;
        v->qemu_value = value;
        nv_blob_clear(&v->blob);
}

int nv_qemu_cpu_finish(NvQemuVcpu *v, NvError **reterr) {
        bool guest = v->hflags & NV_QEMU_HF_GUEST;
        uint16_t flags;

        if (!v->have_nested) {
                /* QEMU's cpu_post_load: guest mode in hflags needs nested state saying so. */
                if (guest)
                        refuse(v, N_("vCPU set in guest-mode inconsistent with migrated kernel nested state (hflags has HF_GUEST, the stream has no nested state)"),
                               "hflags", v->hflags);
                return 0;
        }
        /* QEMU's nested_state_post_load, then cpu_post_load, in its order. */
        if (v->size < NV_NESTED_HDR_SIZE)
                refuse(v, N_("Received nested state size less than min: QEMU refuses a size below the 128-byte header"), "size", v->size);
        else if (v->size > NV_NESTED_MAX_SIZE)
                refuse(v, N_("Received unsupported nested state size: larger than any kernel's (8320 bytes)"), "size", v->size);
        else if (v->format != NV_FORMAT_VMX && v->format != NV_FORMAT_SVM)
                refuse(v, N_("Received invalid nested state format"), "format", v->format);
        else if (v->format == NV_FORMAT_SVM && v->size > NV_SVM_MAX_SIZE)
                /* QEMU's maximum is the host's KVM_CAP_NESTED_STATE, 4224 on every SVM host; beyond it QEMU 7.2 aborts. */
                refuse(v, N_("Received unsupported nested state size: larger than an SVM host's KVM_CAP_NESTED_STATE (4224 bytes)"), "size", v->size);
        else if (guest && !(v->stream_flags & NV_NESTED_GUEST_MODE))
                refuse(v, N_("vCPU set in guest-mode inconsistent with migrated kernel nested state (hflags has HF_GUEST, the stream's flags lack GUEST_MODE)"),
                       "flags", v->stream_flags);
        if (v->qemu_refusal)
                return 0;
        /* kvm_put_nested_state(): GUEST_MODE from hflags, GIF_SET from hflags2 (SVM only). */
        flags = v->stream_flags & (uint16_t) ~(NV_NESTED_GUEST_MODE | NV_NESTED_GIF_SET);
        if (guest)
                flags |= NV_NESTED_GUEST_MODE;
        if (v->format == NV_FORMAT_SVM && (v->hflags2 & NV_QEMU_HF2_GIF))
                flags |= NV_NESTED_GIF_SET;
        put_le16(v->blob.data + NV_OFF_FLAGS, flags);
        if (v->format == NV_FORMAT_VMX && !v->have_vmx) {
                /* No vmx subsection: QEMU's buffer keeps "no VMXON" (-1) from its initialisation. */
                put_le64(v->blob.data + NV_OFF_VMXON_PA, NV_GPA_INVALID);
                put_le64(v->blob.data + NV_OFF_VMCS12_PA, NV_GPA_INVALID);
        }
        v->blob.len = v->size;
        (void) reterr;
        return 0;
}

void nv_qemu_validate_context(const NvQemuVcpu *v, NvValidateContext *ctx) {
        if (!v->have_cpu_fields)
                return;
        ctx->svme = (v->efer & X86_EFER_SVME) ? NV_YES : NV_NO;
        ctx->lma = (v->efer & X86_EFER_LMA) ? NV_YES : NV_NO;
        ctx->in_smm = (v->hflags & NV_QEMU_HF_SMM) ? NV_YES : NV_NO;
        ctx->have_cr0 = true;
        ctx->cr0 = v->cr0;
}

const char *nv_qemu_vcpu_no_nested_reason(const NvQemuVcpu *v) {
        if (v->have_nested)
                return NULL;
        if (v->have_cpu_fields && (v->efer & X86_EFER_SVME))
                return N_("no nested subsection: L1 has EFER.SVME on but is not running L2, and QEMU sends nested state only in guest mode; "
                          "GIF, EFER.SVME and the host save area travel in ordinary cpu fields");
        return N_("no nested subsection: no L2 and no VMXON on this vCPU (or QEMU ran without KVM nested state)");
}

size_t nv_qemu_not_carried(int format, const char **ret, size_t max) {
        static const char *const vmx[] = {
                N_("hdr.vmx.flags and the VMX-preemption timer deadline are not carried: L2's timer restarts from vmcs12's value"),
                N_("GUEST_MODE and GIF_SET are not taken from the stream's flags: QEMU sets them from the cpu section's hflags and hflags2"),
        };
        static const char *const svm[] = {
                N_("the SVM header beyond vmcb_pa is not carried (zero when loaded)"),
                N_("GUEST_MODE and GIF_SET are not taken from the stream's flags: QEMU sets them from the cpu section's hflags and hflags2"),
                N_("the vmcb12 save area is L1's state at VMRUN, not L2's: L2's registers are the ordinary cpu fields"),
        };
        const char *const *t = format == NV_FORMAT_SVM ? svm : vmx;
        size_t n = format == NV_FORMAT_SVM ? ELEMENTSOF(svm) : ELEMENTSOF(vmx), i;

        for (i = 0; i < n && i < max; i++)
                ret[i] = t[i];
        return i;
}
