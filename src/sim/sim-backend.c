/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated KVM as a KVM backend (src/kvm-backend.h): handles opened
 * here run every ioctl on the simulator, and the host facts are the
 * simulated host's, not this machine's.
 */
#include <stdio.h>
#include <string.h>

#include "kvm-backend.h"
#include "sim-private.h"

#define SIM_SYSTEM -2
#define SIM_VM -1

static void sim_backend_free(void *data) {
        nv_sim_free(data);
}

static int sim_backend_check_extension(void *data, long cap) {
        return nv_sim_ioctl(data, SIM_VM, KVM_CHECK_EXTENSION, (void *) cap);
}

static int sim_backend_system_ioctl(void *data, unsigned long req, void *arg) {
        return nv_sim_ioctl(data, SIM_SYSTEM, req, arg);
}

static int sim_backend_create_vm(void *data, NvError **reterr) {
        int r = nv_sim_ioctl(data, SIM_SYSTEM, KVM_CREATE_VM, NULL);

        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_CREATE_VM failed: %s"), strerror(-r));
        return 0;
}

static int sim_backend_set_memory(void *data, uint32_t slot, uint64_t gpa, void *mem, size_t size, NvError **reterr) {
        (void) data, (void) slot, (void) gpa, (void) mem, (void) size, (void) reterr;
        return 0; /* the guest model needs no guest memory */
}

static int sim_backend_create_vcpu(void *data, unsigned id, int *ret_fd, struct kvm_run **ret_run, NvError **reterr) {
        int r = nv_sim_ioctl(data, SIM_VM, KVM_CREATE_VCPU, (void *) (unsigned long) id);

        if (r < 0)
                return nv_error_set(reterr, r, _("KVM_CREATE_VCPU %u failed: %s"), id, strerror(-r));
        *ret_fd = -1;
        *ret_run = nv_sim_run_area(data, id);
        return 0;
}

static void sim_backend_destroy_vcpu(void *data, int fd, struct kvm_run *run) {
        (void) data, (void) fd, (void) run; /* the simulator keeps its vCPUs until it is freed */
}

static int sim_backend_adopt_vcpu(void *data, int fd, unsigned id, struct kvm_run **run, NvError **reterr) {
        (void) fd, (void) reterr;
        if (!*run)
                *run = nv_sim_run_area(data, id);
        return 0;
}

static int sim_backend_vcpu_ioctl(void *data, int fd, unsigned id, unsigned long req, void *arg) {
        return nv_sim_ioctl(data, id > INT32_MAX ? -3 : (int) id, req, arg);
}

/* The simulated host is not this machine: its vendor, nested= and capability are the configuration's. */
static void sim_backend_host_facts(void *data, NvHostInfo *h) {
        const NvSimConfig *cfg = nv_sim_config(data);

        h->nested_state_max = sim_backend_check_extension(data, KVM_CAP_NESTED_STATE);
        h->api_version = nv_sim_ioctl(data, SIM_SYSTEM, KVM_GET_API_VERSION, NULL);
        h->backend = "simulated";
        h->cpu_vendor = cfg->vendor;
        h->nested = cfg->nested ? NV_YES : NV_NO;
        snprintf(h->kernel_release, sizeof(h->kernel_release), "simulated");
        snprintf(h->cpu_model, sizeof(h->cpu_model), "simulated");
}

static const NvKvmBackend sim_kvm_backend = {
        .name = "simulated",
        .free = sim_backend_free,
        .check_extension = sim_backend_check_extension,
        .system_ioctl = sim_backend_system_ioctl,
        .create_vm = sim_backend_create_vm,
        .set_memory = sim_backend_set_memory,
        .create_vcpu = sim_backend_create_vcpu,
        .destroy_vcpu = sim_backend_destroy_vcpu,
        .adopt_vcpu = sim_backend_adopt_vcpu,
        .vcpu_ioctl = sim_backend_vcpu_ioctl,
        .host_facts = sim_backend_host_facts,
};

int nv_sim_backend_open(const NvSimConfig *cfg, NvKvm **ret, NvSim **ret_sim, NvError **reterr) {
        NvSim *sim = nv_sim_new(cfg);
        int r;

        if (!sim)
                return -ENOMEM;
        r = nv_kvm_new(&sim_kvm_backend, sim, false, ret, reterr);
        if (r >= 0 && ret_sim)
                *ret_sim = sim;
        return r;
}
