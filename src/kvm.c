/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The front end of the KVM ioctl path: handles, the named ioctl wrappers
 * and their error messages, over the backend a handle was opened on
 * (kvm-backend.h).  The ioctls themselves are issued by the backend:
 * kvm-dev.c on /dev/kvm.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "kvm-backend.h"
#include "macro.h"

/* The model's constants must be the kernel's. */
_Static_assert(sizeof(struct kvm_nested_state) == NV_NESTED_HDR_SIZE, "kvm_nested_state header size");
_Static_assert(KVM_STATE_NESTED_FORMAT_VMX == NV_FORMAT_VMX && KVM_STATE_NESTED_FORMAT_SVM == NV_FORMAT_SVM, "formats");
_Static_assert(KVM_STATE_NESTED_GUEST_MODE == NV_NESTED_GUEST_MODE && KVM_STATE_NESTED_RUN_PENDING == NV_NESTED_RUN_PENDING &&
                       KVM_STATE_NESTED_EVMCS == NV_NESTED_EVMCS && KVM_STATE_NESTED_MTF_PENDING == NV_NESTED_MTF_PENDING &&
                       KVM_STATE_NESTED_GIF_SET == NV_NESTED_GIF_SET,
               "flags");
_Static_assert(KVM_STATE_NESTED_VMX_VMCS_SIZE == NV_VMCS12_AREA_SIZE && KVM_STATE_NESTED_SVM_VMCB_SIZE == NV_VMCB12_AREA_SIZE,
               "data sizes");
_Static_assert(KVM_GET_NESTED_STATE == 0xC080AEBEu && KVM_SET_NESTED_STATE == 0x4080AEBFu, "ioctl numbers");

struct NvKvm {
        const NvKvmBackend *ops;
        void *data;
        bool has_vm;
};

struct NvVcpu {
        NvKvm *kvm;
        int fd; /* -1 on a backend without vCPU fds */
        unsigned id;
        struct kvm_run *run;
        bool owned; /* created here: destroy_vcpu releases fd and run area */
};

/* A system ioctl (v NULL) or one on vCPU v, through the handle's backend. */
static int kvm_ioctl(NvKvm *k, const NvVcpu *v, unsigned long req, void *arg) {
        if (v)
                return k->ops->vcpu_ioctl(k->data, v->fd, v->id, req, arg);
        return k->ops->system_ioctl(k->data, req, arg);
}

static int vcpu_ioctl(NvVcpu *v, unsigned long req, const char *name, void *arg, NvError **reterr) {
        int r = kvm_ioctl(v->kvm, v, req, arg);

        if (r < 0 && !(req == KVM_RUN && r == -EINTR))
                return nv_error_set(reterr, r, _("%s on vCPU %u failed: %s"), name, v->id, strerror(-r));
        return r;
}

/* Names the ioctl and checks at compile time that arg matches its size. */
#define VCPU_IOCTL(v, req, arg, reterr)                                                            \
        ({                                                                                         \
                _Static_assert(_IOC_SIZE(req) == sizeof(*(arg)), #req " argument size");           \
                vcpu_ioctl(v, req, #req, (void *) (arg), reterr);                                  \
        })

int nv_kvm_new(const NvKvmBackend *ops, void *data, bool has_vm, NvKvm **ret, NvError **reterr) {
        NvKvm *k = calloc(1, sizeof(*k));

        if (!k) {
                ops->free(data);
                return -ENOMEM;
        }
        *k = (NvKvm) { .ops = ops, .data = data, .has_vm = has_vm };
        *ret = k;
        return 0;
}

NvKvm *nv_kvm_free(NvKvm *k) {
        if (!k)
                return NULL;
        k->ops->free(k->data);
        free(k);
        return NULL;
}

const char *nv_kvm_backend_name(const NvKvm *k) {
        return k->ops->name;
}

void nv_kvm_host_facts(NvKvm *k, NvHostInfo *h) {
        k->ops->host_facts(k->data, h);
}

int nv_kvm_check_extension(NvKvm *k, long cap) {
        return k->ops->check_extension(k->data, cap);
}

int nv_kvm_nested_state_max(NvKvm *k) {
        int r = nv_kvm_check_extension(k, KVM_CAP_NESTED_STATE);

        return r < 0 ? 0 : r;
}

int nv_kvm_vendor(NvKvm *k) {
        switch (nv_kvm_nested_state_max(k)) {
        case NV_VMX_MAX_SIZE:
                return NV_FORMAT_VMX;
        case NV_SVM_MAX_SIZE:
                return NV_FORMAT_SVM;
        default:
                return -1;
        }
}

int nv_kvm_create_vm(NvKvm *k, NvError **reterr) {
        int r;

        if (k->has_vm)
                return nv_error_set(reterr, -EEXIST, _("This handle already has a VM."));
        r = k->ops->create_vm(k->data, reterr);
        if (r < 0)
                return r;
        k->has_vm = true;
        return 0;
}

int nv_kvm_set_memory(NvKvm *k, void *mem, size_t size, NvError **reterr) {
        return k->ops->set_memory(k->data, 0, 0, mem, size, reterr);
}

int nv_kvm_set_memory_slot(NvKvm *k, uint32_t slot, uint64_t gpa, void *mem, size_t size, NvError **reterr) {
        return k->ops->set_memory(k->data, slot, gpa, mem, size, reterr);
}

/*
 * A CPUID ioctl that fills a struct kvm_cpuid2 (KVM_GET_SUPPORTED_CPUID on
 * the system, v NULL; KVM_GET_CPUID2 on vCPU v), growing the buffer until
 * the kernel is satisfied.
 */
static int cpuid_query(NvKvm *k, const NvVcpu *v, unsigned long req, const char *name, struct kvm_cpuid2 **ret,
                       NvError **reterr) {
        for (unsigned n = 64; n <= 4096; n *= 2) {
                _cleanup_free_ struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
                int r;

                if (!c)
                        return -ENOMEM;
                c->nent = n;
                r = kvm_ioctl(k, v, req, c);
                if (r == -E2BIG)
                        continue;
                if (r < 0)
                        return nv_error_set(reterr, r, _("%s failed: %s"), name, strerror(-r));
                *ret = TAKE_PTR(c);
                return 0;
        }
        return nv_error_set(reterr, -E2BIG, _("%s wants more than 4096 entries."), name);
}

int nv_kvm_open_scratch(NvKvm *k, NvKvm **ret, NvError **reterr) {
        if (!k->ops->scratch)
                return nv_error_set(reterr, -EOPNOTSUPP, _("The %s KVM gives no kernel verdicts: no scratch VM on it."), k->ops->name);
        return k->ops->scratch(k->data, ret, reterr);
}

int nv_kvm_get_supported_cpuid(NvKvm *k, struct kvm_cpuid2 **ret, NvError **reterr) {
        return cpuid_query(k, NULL, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID", ret, reterr);
}

int nv_kvm_get_feature_msrs(NvKvm *k, struct kvm_msrs *msrs, NvError **reterr) {
        int r = kvm_ioctl(k, NULL, KVM_GET_MSRS, msrs);

        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_GET_MSRS (feature MSRs) failed: %s"), strerror(-r));
        return r;
}

bool nv_kvm_read_vmx_msrs(NvKvm *k, NvVcpu *v, uint64_t ret[NV_VMX_MSR_COUNT]) {
        _cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof(*m) + NV_VMX_MSR_COUNT * sizeof(m->entries[0]));
        int r;

        if (!m)
                return false;
        m->nmsrs = NV_VMX_MSR_COUNT;
        for (unsigned i = 0; i < NV_VMX_MSR_COUNT; i++)
                m->entries[i].index = NV_VMX_MSR_FIRST + i;
        r = v ? nv_kvm_get_msrs(v, m, NULL) : nv_kvm_get_feature_msrs(k, m, NULL);
        if (r != (int) NV_VMX_MSR_COUNT || (m->entries[0].data & 0x7fffffff) != NV_VMCS12_REVISION)
                return false;
        for (unsigned i = 0; i < NV_VMX_MSR_COUNT; i++)
                ret[i] = m->entries[i].data;
        return true;
}

static NvVcpu *vcpu_new(NvKvm *k, int fd, unsigned id, struct kvm_run *run, bool owned) {
        NvVcpu *v = calloc(1, sizeof(*v));

        if (v)
                *v = (NvVcpu) { .kvm = k, .fd = fd, .id = id, .run = run, .owned = owned };
        return v;
}

int nv_kvm_create_vcpu(NvKvm *k, unsigned id, NvVcpu **ret, NvError **reterr) {
        _cleanup_(nv_vcpu_freep) NvVcpu *v = NULL;
        _cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;
        struct kvm_run *run = NULL;
        int fd = -1, r;

        if (!k->has_vm)
                return nv_error_set(reterr, -EINVAL, _("Create the VM before its vCPUs."));
        r = k->ops->create_vcpu(k->data, id, &fd, &run, reterr);
        if (r < 0)
                return r;
        v = vcpu_new(k, fd, id, run, true);
        if (!v) {
                k->ops->destroy_vcpu(k->data, fd, run);
                return -ENOMEM;
        }
        r = nv_kvm_get_supported_cpuid(k, &cpuid, reterr);
        if (r < 0)
                return r;
        r = nv_kvm_set_cpuid(v, cpuid, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int nv_kvm_adopt_vcpu(NvKvm *k, int fd, unsigned id, struct kvm_run *run, NvVcpu **ret, NvError **reterr) {
        NvVcpu *v;
        int r;

        r = k->ops->adopt_vcpu(k->data, fd, id, &run, reterr);
        if (r < 0)
                return r;
        v = vcpu_new(k, fd, id, run, false);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

NvVcpu *nv_vcpu_free(NvVcpu *v) {
        if (!v)
                return NULL;
        if (v->owned)
                v->kvm->ops->destroy_vcpu(v->kvm->data, v->fd, v->run);
        free(v);
        return NULL;
}

unsigned nv_vcpu_id(const NvVcpu *v) {
        return v->id;
}

NvKvm *nv_vcpu_kvm(const NvVcpu *v) {
        return v->kvm;
}

struct kvm_run *nv_vcpu_run_area(const NvVcpu *v) {
        return v->run;
}

int nv_kvm_vcpu_run(NvVcpu *v, NvError **reterr) {
        return vcpu_ioctl(v, KVM_RUN, "KVM_RUN", NULL, reterr);
}

int nv_kvm_get_regs(NvVcpu *v, struct kvm_regs *regs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_GET_REGS, regs, reterr);
}

int nv_kvm_set_regs(NvVcpu *v, const struct kvm_regs *regs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_SET_REGS, regs, reterr);
}

int nv_kvm_get_sregs(NvVcpu *v, struct kvm_sregs *sregs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_GET_SREGS, sregs, reterr);
}

int nv_kvm_set_sregs(NvVcpu *v, const struct kvm_sregs *sregs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_SET_SREGS, sregs, reterr);
}

int nv_kvm_get_msrs(NvVcpu *v, struct kvm_msrs *msrs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_GET_MSRS, msrs, reterr);
}

int nv_kvm_set_msrs(NvVcpu *v, const struct kvm_msrs *msrs, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_SET_MSRS, msrs, reterr);
}

int nv_kvm_get_events(NvVcpu *v, struct kvm_vcpu_events *ev, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_GET_VCPU_EVENTS, ev, reterr);
}

int nv_kvm_set_events(NvVcpu *v, const struct kvm_vcpu_events *ev, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_SET_VCPU_EVENTS, ev, reterr);
}

int nv_kvm_set_cpuid(NvVcpu *v, const struct kvm_cpuid2 *cpuid, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_SET_CPUID2, cpuid, reterr);
}

int nv_kvm_get_cpuid(NvVcpu *v, struct kvm_cpuid2 **ret, NvError **reterr) {
        int r = cpuid_query(v->kvm, v, KVM_GET_CPUID2, "KVM_GET_CPUID2", ret, reterr);

        if (r < 0)
                return nv_error_wrap(reterr, r, _("Reading the CPUID of vCPU %u"), v->id);
        return 0;
}

int nv_kvm_enable_cap(NvVcpu *v, const struct kvm_enable_cap *cap, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_ENABLE_CAP, cap, reterr);
}

int nv_kvm_get_nested_state_raw(NvVcpu *v, struct kvm_nested_state *state) {
        return kvm_ioctl(v->kvm, v, KVM_GET_NESTED_STATE, state);
}

int nv_kvm_set_nested_state_raw(NvVcpu *v, const struct kvm_nested_state *state) {
        return kvm_ioctl(v->kvm, v, KVM_SET_NESTED_STATE, (void *) state);
}
