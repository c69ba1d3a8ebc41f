/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The KVM backend on the kernel's /dev/kvm: the only file that issues KVM
 * ioctls.  The VM fd is either created here or a VMM's (nv_kvm_adopt_vm),
 * which stays the VMM's.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm-backend.h"
#include "macro.h"

typedef struct KvmDev {
        int sys_fd;      /* -1 on an adopted VM */
        int vm_fd;
        bool owns_vm_fd;
        size_t run_size; /* of a vCPU's kvm_run mapping, learnt at create_vm */
} KvmDev;

static int dev_ioctl(int fd, unsigned long req, void *arg) {
        int r = ioctl(fd, req, arg);

        return r < 0 ? -errno : r;
}

static void dev_free(void *data) {
        KvmDev *d = data;

        if (!d)
                return;
        if (d->owns_vm_fd)
                safe_close(d->vm_fd);
        safe_close(d->sys_fd);
        free(d);
}

static int dev_check_extension(void *data, long cap) {
        KvmDev *d = data;

        return dev_ioctl(d->vm_fd >= 0 ? d->vm_fd : d->sys_fd, KVM_CHECK_EXTENSION, (void *) cap);
}

static int dev_system_ioctl(void *data, unsigned long req, void *arg) {
        return dev_ioctl(((KvmDev *) data)->sys_fd, req, arg);
}

static int dev_create_vm(void *data, NvError **reterr) {
        KvmDev *d = data;
        int r, fd;

        r = dev_ioctl(d->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_GET_VCPU_MMAP_SIZE failed: %s"), strerror(-r));
        d->run_size = (size_t) r;
        fd = dev_ioctl(d->sys_fd, KVM_CREATE_VM, NULL);
        if (fd < 0)
                return nv_error_set(reterr, fd, _("KVM_CREATE_VM failed: %s"), strerror(-fd));
        d->vm_fd = fd;
        d->owns_vm_fd = true;
        return 0;
}

static int dev_set_memory(void *data, uint32_t slot, uint64_t gpa, void *mem, size_t size, NvError **reterr) {
        struct kvm_userspace_memory_region region = {
                .slot = slot,
                .guest_phys_addr = gpa,
                .memory_size = size,
                .userspace_addr = (uintptr_t) mem,
        };
        int r = dev_ioctl(((KvmDev *) data)->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);

        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_SET_USER_MEMORY_REGION failed: %s"), strerror(-r));
        return 0;
}

static int dev_create_vcpu(void *data, unsigned id, int *ret_fd, struct kvm_run **ret_run, NvError **reterr) {
        KvmDev *d = data;
        _cleanup_close_ int fd = -1;
        void *m;

        fd = dev_ioctl(d->vm_fd, KVM_CREATE_VCPU, (void *) (unsigned long) id);
        if (fd < 0)
                return nv_error_set(reterr, fd, _("KVM_CREATE_VCPU %u failed: %s"), id, strerror(-fd));
        m = mmap(NULL, d->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
                return nv_error_set(reterr, -errno, _("Cannot map kvm_run of vCPU %u: %s"), id, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        *ret_run = m;
        return 0;
}

static void dev_destroy_vcpu(void *data, int fd, struct kvm_run *run) {
        if (run)
                munmap(run, ((KvmDev *) data)->run_size);
        safe_close(fd);
}

static int dev_adopt_vcpu(void *data, int fd, unsigned id, struct kvm_run **run, NvError **reterr) {
        (void) data, (void) id, (void) run;
        if (fd < 0)
                return nv_error_set(reterr, -EBADF, _("Invalid vCPU file descriptor %d."), fd);
        return 0;
}

static int dev_vcpu_ioctl(void *data, int fd, unsigned id, unsigned long req, void *arg) {
        (void) data, (void) id;
        return dev_ioctl(fd, req, arg);
}

/* The kernel's own files (kernel release, CPU, nested=) say the rest; the capability is asked here. */
static void dev_host_facts(void *data, NvHostInfo *h) {
        int r = dev_check_extension(data, KVM_CAP_NESTED_STATE);

        h->nested_state_max = r < 0 ? 0 : r;
        h->backend = "kvm";
        h->api_version = NV_KVM_API_VERSION; /* nv_kvm_open() refuses any other */
}

static int dev_new(int sys_fd, int vm_fd, NvKvm **ret, NvError **reterr);

/* Another handle on the same system fd (a duplicate), to create a VM of its own. */
static int dev_scratch(void *data, NvKvm **ret, NvError **reterr) {
        int fd = ((KvmDev *) data)->sys_fd;

        if (fd < 0)
                return nv_error_set(reterr, -EOPNOTSUPP, _("A VMM's adopted VM has no KVM system fd to create a scratch VM on."));
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot duplicate the KVM fd: %s"), strerror(errno));
        return dev_new(fd, -1, ret, reterr);
}

static const NvKvmBackend kvm_dev_backend = {
        .name = "kvm",
        .free = dev_free,
        .check_extension = dev_check_extension,
        .system_ioctl = dev_system_ioctl,
        .create_vm = dev_create_vm,
        .set_memory = dev_set_memory,
        .create_vcpu = dev_create_vcpu,
        .destroy_vcpu = dev_destroy_vcpu,
        .adopt_vcpu = dev_adopt_vcpu,
        .vcpu_ioctl = dev_vcpu_ioctl,
        .host_facts = dev_host_facts,
        .scratch = dev_scratch,
};

/* Takes sys_fd over on every path; vm_fd (>= 0: adopted) stays its owner's. */
static int dev_new(int sys_fd, int vm_fd, NvKvm **ret, NvError **reterr) {
        KvmDev *d = calloc(1, sizeof(*d));

        if (!d) {
                safe_close(sys_fd);
                return -ENOMEM;
        }
        *d = (KvmDev) { .sys_fd = sys_fd, .vm_fd = vm_fd };
        return nv_kvm_new(&kvm_dev_backend, d, vm_fd >= 0, ret, reterr);
}

int nv_kvm_open(const char *path, NvKvm **ret, NvError **reterr) {
        _cleanup_close_ int fd = -1;
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
        return dev_new(TAKE_FD(fd), -1, ret, reterr);
}

int nv_kvm_adopt_vm(int vm_fd, NvKvm **ret, NvError **reterr) {
        if (vm_fd < 0)
                return nv_error_set(reterr, -EBADF, _("Invalid VM file descriptor %d."), vm_fd);
        return dev_new(-1, vm_fd, ret, reterr);
}
