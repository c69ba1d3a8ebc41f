/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The only place that issues KVM ioctls, on /dev/kvm or the simulator. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdint.h>

#include "kvm.h"
#include "sim.h"

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
        int sys_fd;
        int vm_fd;
        bool owns_vm_fd;
        bool has_vm;
        NvSim *sim;
        size_t run_size;
};

struct NvVcpu {
        NvKvm *kvm;
        int fd;
        unsigned id;
        struct kvm_run *run;
        bool owned; /* fd and run mapping were created here */
};

/* Routes one ioctl; target is -2 system, -1 VM, else the vCPU id (simulator only). */
static int kvm_ioctl(NvKvm *k, int fd, int target, unsigned long req, void *arg) {
        int r;

        if (k->sim)
                return nv_sim_ioctl(k->sim, target, req, arg);
        r = ioctl(fd, req, arg);
        return r < 0 ? -errno : r;
}

static int vcpu_ioctl(NvVcpu *v, unsigned long req, const char *name, void *arg, NvError **reterr) {
        int r = kvm_ioctl(v->kvm, v->fd, (int) v->id, req, arg);

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

int nv_kvm_open(const char *path, NvKvm **ret, NvError **reterr) {
        _cleanup_close_ int fd = -1;
        NvKvm *k;
        int r;

        path = path ?: NV_KVM_DEFAULT_PATH;
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot open '%s': %s"), path, strerror(errno));
        r = ioctl(fd, KVM_GET_API_VERSION, 0);
        if (r < 0)
                return nv_error_set(reterr, -errno, _("'%s' is not a KVM device: %s"), path, strerror(errno));
        if (r != NV_KVM_API_VERSION)
                return nv_error_set(reterr, -EPROTO, _("'%s' speaks KVM API version %d, not %d."), path, r,
                                    NV_KVM_API_VERSION);
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->sys_fd = TAKE_FD(fd);
        k->vm_fd = -1;
        *ret = k;
        return 0;
}

int nv_kvm_open_sim(NvSim *sim, NvKvm **ret, NvError **reterr) {
        NvKvm *k;

        if (!sim)
                return nv_error_set(reterr, -EINVAL, _("No simulator given."));
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->sys_fd = k->vm_fd = -1;
        k->sim = sim;
        *ret = k;
        return 0;
}

int nv_kvm_adopt_vm(int vm_fd, NvKvm **ret, NvError **reterr) {
        NvKvm *k;

        if (vm_fd < 0)
                return nv_error_set(reterr, -EBADF, _("Invalid VM file descriptor %d."), vm_fd);
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->sys_fd = -1;
        k->vm_fd = vm_fd;
        k->has_vm = true;
        *ret = k;
        return 0;
}

NvKvm *nv_kvm_free(NvKvm *k) {
        if (!k)
                return NULL;
        if (k->owns_vm_fd)
                safe_close(k->vm_fd);
        safe_close(k->sys_fd);
        nv_sim_free(k->sim);
        free(k);
        return NULL;
}

NvBackend nv_kvm_backend(const NvKvm *k) {
        return k->sim ? NV_BACKEND_SIM : NV_BACKEND_KVM;
}

const char *nv_kvm_backend_name(const NvKvm *k) {
        return k->sim ? "simulated" : "kvm";
}

NvSim *nv_kvm_sim(NvKvm *k) {
        return k->sim;
}

int nv_kvm_check_extension(NvKvm *k, long cap) {
        if (k->vm_fd >= 0 || k->sim)
                return kvm_ioctl(k, k->vm_fd, -1, KVM_CHECK_EXTENSION, (void *) cap);
        return kvm_ioctl(k, k->sys_fd, -2, KVM_CHECK_EXTENSION, (void *) cap);
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
        int r, fd;

        if (k->has_vm)
                return nv_error_set(reterr, -EEXIST, _("This handle already has a VM."));
        r = kvm_ioctl(k, k->sys_fd, -2, KVM_GET_VCPU_MMAP_SIZE, NULL);
        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_GET_VCPU_MMAP_SIZE failed: %s"), strerror(-r));
        k->run_size = (size_t) r;
        fd = kvm_ioctl(k, k->sys_fd, -2, KVM_CREATE_VM, NULL);
        if (fd < 0)
                return nv_error_set(reterr, fd, _("KVM_CREATE_VM failed: %s"), strerror(-fd));
        k->vm_fd = k->sim ? -1 : fd;
        k->owns_vm_fd = k->has_vm = true;
        return 0;
}

int nv_kvm_set_memory(NvKvm *k, void *mem, size_t size, NvError **reterr) {
        struct kvm_userspace_memory_region region = {
                .slot = 0,
                .guest_phys_addr = 0,
                .memory_size = size,
                .userspace_addr = (uintptr_t) mem,
        };
        int r;

        if (k->sim)
                return 0;
        r = kvm_ioctl(k, k->vm_fd, -1, KVM_SET_USER_MEMORY_REGION, &region);
        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_SET_USER_MEMORY_REGION failed: %s"), strerror(-r));
        return 0;
}

/*
 * A CPUID ioctl that fills a struct kvm_cpuid2 (KVM_GET_SUPPORTED_CPUID on
 * the system fd, KVM_GET_CPUID2 on a vCPU), growing the buffer until the
 * kernel is satisfied.  target as in kvm_ioctl().
 */
static int cpuid_query(NvKvm *k, int fd, int target, unsigned long req, const char *name, struct kvm_cpuid2 **ret,
                       NvError **reterr) {
        for (unsigned n = 64; n <= 4096; n *= 2) {
                _cleanup_free_ struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
                int r;

                if (!c)
                        return -ENOMEM;
                c->nent = n;
                r = kvm_ioctl(k, fd, target, req, c);
                if (r == -E2BIG)
                        continue;
                if (r < 0)
                        return nv_error_set(reterr, r, _("%s failed: %s"), name, strerror(-r));
                *ret = TAKE_PTR(c);
                return 0;
        }
        return nv_error_set(reterr, -E2BIG, _("%s wants more than 4096 entries."), name);
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
        int fd, r;

        if (!k->has_vm)
                return nv_error_set(reterr, -EINVAL, _("Create the VM before its vCPUs."));
        fd = kvm_ioctl(k, k->vm_fd, -1, KVM_CREATE_VCPU, (void *) (unsigned long) id);
        if (fd < 0)
                return nv_error_set(reterr, fd, _("KVM_CREATE_VCPU %u failed: %s"), id, strerror(-fd));
        v = vcpu_new(k, k->sim ? -1 : fd, id, NULL, true);
        if (!v)
                return -ENOMEM;
        if (k->sim)
                v->run = nv_sim_run_area(k->sim, id);
        else {
                void *m = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (m == MAP_FAILED)
                        return nv_error_set(reterr, -errno, _("Cannot map kvm_run of vCPU %u: %s"), id, strerror(errno));
                v->run = m;
        }
        r = cpuid_query(k, k->sys_fd, -2, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID", &cpuid, reterr);
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

        if (!k->sim && fd < 0)
                return nv_error_set(reterr, -EBADF, _("Invalid vCPU file descriptor %d."), fd);
        v = vcpu_new(k, k->sim ? -1 : fd, id, run, false);
        if (!v)
                return -ENOMEM;
        if (k->sim && !run)
                v->run = nv_sim_run_area(k->sim, id);
        *ret = v;
        return 0;
}

NvVcpu *nv_vcpu_free(NvVcpu *v) {
        if (!v)
                return NULL;
        if (v->owned && !v->kvm->sim) {
                if (v->run)
                        munmap(v->run, v->kvm->run_size);
                safe_close(v->fd);
        }
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
        int r = cpuid_query(v->kvm, v->fd, (int) v->id, KVM_GET_CPUID2, "KVM_GET_CPUID2", ret, reterr);

        if (r < 0)
                return nv_error_wrap(reterr, r, _("Reading the CPUID of vCPU %u"), v->id);
        return 0;
}

int nv_kvm_enable_cap(NvVcpu *v, const struct kvm_enable_cap *cap, NvError **reterr) {
        return VCPU_IOCTL(v, KVM_ENABLE_CAP, cap, reterr);
}

int nv_kvm_get_nested_state_raw(NvVcpu *v, struct kvm_nested_state *state) {
        return kvm_ioctl(v->kvm, v->fd, (int) v->id, KVM_GET_NESTED_STATE, state);
}

int nv_kvm_set_nested_state_raw(NvVcpu *v, const struct kvm_nested_state *state) {
        return kvm_ioctl(v->kvm, v->fd, (int) v->id, KVM_SET_NESTED_STATE, (void *) state);
}
