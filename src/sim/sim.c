/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated KVM: system, VM and vCPU ioctls, the guest model, and the
 * generic (x86.c) half of the nested-state ioctls.  The vendor halves are
 * in sim-vmx.c and sim-svm.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "sim-private.h"

void nv_sim_config_init(NvSimConfig *cfg, NvFormat vendor) {
        *cfg = (NvSimConfig) {
                .vendor = vendor,
                .nested = true,
                .npt = true,
                .svme0_gif0_ok = true,
                .evmcs_supported = vendor == NV_FORMAT_VMX,
        };
}

static void sim_host_cpuid(const NvSim *s, struct kvm_cpuid_entry2 leaves[SIM_HOST_CPUID_LEAVES]);

/* What kvm_x86_vendor_init() derives from the host's own features. */
static void sim_host_reserved_bits(NvSim *s) {
        struct kvm_cpuid_entry2 host[SIM_HOST_CPUID_LEAVES];

        sim_host_cpuid(s, host);
        s->cr4_reserved_bits = sim_cr4_reserved_bits(host, SIM_HOST_CPUID_LEAVES);
        s->efer_reserved_bits = sim_efer_reserved_bits(&s->cfg, host, SIM_HOST_CPUID_LEAVES);
}

NvSim *nv_sim_new(const NvSimConfig *cfg) {
        NvSim *s = calloc(1, sizeof(*s));

        if (s) {
                s->cfg = *cfg;
                sim_host_reserved_bits(s);
        }
        return s;
}

static SimVcpu *sim_vcpu_free(SimVcpu *v) {
        if (v) {
                free(v->cpuid);
                free(v->run);
                free(v);
        }
        return NULL;
}

NvSim *nv_sim_free(NvSim *s) {
        if (!s)
                return NULL;
        for (unsigned i = 0; i < NV_SIM_MAX_VCPUS; i++)
                sim_vcpu_free(s->vcpus[i]);
        free(s);
        return NULL;
}

const NvSimConfig *nv_sim_config(const NvSim *s) {
        return &s->cfg;
}

void nv_sim_set_vmentry_checks_fail(NvSim *s, bool fail) {
        s->cfg.vmentry_checks_fail = fail;
}

struct kvm_run *nv_sim_run_area(NvSim *s, unsigned id) {
        return id < NV_SIM_MAX_VCPUS && s->vcpus[id] ? s->vcpus[id]->run : NULL;
}

static void count_ioctl(NvSim *s, unsigned long req) {
        for (size_t i = 0; i < ELEMENTSOF(s->counts); i++)
                if (s->counts[i].req == req || s->counts[i].count == 0) {
                        s->counts[i].req = req;
                        s->counts[i].count++;
                        return;
                }
}

unsigned nv_sim_ioctl_count(const NvSim *s, unsigned long req) {
        for (size_t i = 0; i < ELEMENTSOF(s->counts); i++)
                if (s->counts[i].count && s->counts[i].req == req)
                        return s->counts[i].count;
        return 0;
}

static int sim_check_extension(NvSim *s, long cap) {
        switch (cap) {
        case KVM_CAP_NESTED_STATE:
                return s->cfg.no_nested_state ? 0 : (int) nv_format_max_size(s->cfg.vendor);
        case KVM_CAP_HYPERV_ENLIGHTENED_VMCS:
                return s->cfg.vendor == NV_FORMAT_VMX && s->cfg.evmcs_supported;
        case KVM_CAP_IMMEDIATE_EXIT:
                return 1;
        default:
                return 0;
        }
}

/*
 * The CPUID a host of this vendor offers guests: long mode, NX, FSGSBASE,
 * SMEP and SMAP; VMX/SVM only with nested=1.
 */
static void sim_host_cpuid(const NvSim *s, struct kvm_cpuid_entry2 leaves[SIM_HOST_CPUID_LEAVES]) {
        const struct kvm_cpuid_entry2 host[SIM_HOST_CPUID_LEAVES] = {
                { .function = 0, .eax = 0xd },
                { .function = 1, .ecx = (s->cfg.vendor == NV_FORMAT_VMX && s->cfg.nested) ? X86_FEATURE_MASK(X86_FEATURE_VMX) : 0 },
                { .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = X86_FEATURE_MASK(X86_FEATURE_FSGSBASE) | X86_FEATURE_MASK(X86_FEATURE_SMEP) |
                         X86_FEATURE_MASK(X86_FEATURE_SMAP) },
                { .function = X86_CPUID_EXT_MAX_LEAF, .eax = X86_CPUID_ADDR_SIZES },
                { .function = X86_FEATURE_SVM.leaf,
                  .ecx = (s->cfg.vendor == NV_FORMAT_SVM && s->cfg.nested) ? X86_FEATURE_MASK(X86_FEATURE_SVM) : 0,
                  .edx = X86_FEATURE_MASK(X86_FEATURE_NX) | X86_FEATURE_MASK(X86_FEATURE_LM) },
                { .function = X86_CPUID_ADDR_SIZES, .eax = SIM_HOST_MAXPHYADDR | (48u << 8) },
        };

        memcpy(leaves, host, sizeof(host));
}

static int sim_supported_cpuid(NvSim *s, struct kvm_cpuid2 *c) {
        if (!c)
                return -EFAULT;
        if (c->nent < SIM_HOST_CPUID_LEAVES) {
                c->nent = SIM_HOST_CPUID_LEAVES;
                return -E2BIG;
        }
        c->nent = SIM_HOST_CPUID_LEAVES;
        sim_host_cpuid(s, c->entries);
        return 0;
}

static int sim_create_vcpu(NvSim *s, unsigned long id) {
        SimVcpu *v;

        if (!s->vm_created || id >= NV_SIM_MAX_VCPUS)
                return -EINVAL;
        if (s->vcpus[id])
                return -EEXIST;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->run = calloc(1, SIM_RUN_SIZE);
        if (!v->run)
                return sim_vcpu_free(v), -ENOMEM;
        v->id = (unsigned) id;
        v->maxphyaddr = X86_DEFAULT_MAXPHYADDR;
        v->cr4_guest_rsvd_bits = sim_cr4_reserved_bits(NULL, 0);
        v->vmx.vmxon_ptr = v->vmx.current_vmptr = UINT64_MAX;
        v->svm.gif = true;
        v->sregs.cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET; /* the architectural reset value */
        v->regs.rflags = X86_EFLAGS_FIXED;
        s->vcpus[id] = v;
        return (int) id;
}

static int sim_system_ioctl(NvSim *s, unsigned long req, void *arg) {
        switch (req) {
        case KVM_GET_API_VERSION:
                return KVM_API_VERSION;
        case KVM_CHECK_EXTENSION:
                return sim_check_extension(s, (long) arg);
        case KVM_GET_VCPU_MMAP_SIZE:
                return SIM_RUN_SIZE;
        case KVM_GET_SUPPORTED_CPUID:
                return sim_supported_cpuid(s, arg);
        case KVM_CREATE_VM:
                if (s->vm_created)
                        return -EMFILE; /* one VM per simulator */
                s->vm_created = true;
                return 0;
        default:
                return -ENOTTY;
        }
}

static int sim_vm_ioctl(NvSim *s, unsigned long req, void *arg) {
        switch (req) {
        case KVM_CHECK_EXTENSION:
                return sim_check_extension(s, (long) arg);
        case KVM_CREATE_VCPU:
                return sim_create_vcpu(s, (unsigned long) arg);
        default:
                return -ENOTTY;
        }
}

/* Guest model: complete a pending OUT, count, then exit with the next OUT. */
static int sim_run(SimVcpu *v) {
        struct kvm_run *run = v->run;

        if (v->io_pending) {
                v->regs.rip += NV_SIM_OUT_INSN_LEN;
                v->io_pending = false;
        }
        if (run->immediate_exit) {
                run->exit_reason = KVM_EXIT_INTR;
                return -EINTR;
        }
        v->regs.rbx++;
        run->exit_reason = KVM_EXIT_IO;
        run->io.direction = KVM_EXIT_IO_OUT;
        run->io.size = 1;
        run->io.port = NV_SIM_IO_PORT;
        run->io.count = 1;
        run->io.data_offset = SIM_IO_DATA_OFFSET;
        ((uint8_t *) run)[SIM_IO_DATA_OFFSET] = (uint8_t) v->regs.rbx;
        v->io_pending = true;
        return 0;
}

static uint64_t *sim_msr_slot(SimVcpu *v, uint32_t index, bool create) {
        for (unsigned i = 0; i < v->n_msrs; i++)
                if (v->msrs[i].index == index)
                        return (uint64_t *) &v->msrs[i].data;
        if (!create || v->n_msrs == SIM_MAX_MSRS)
                return NULL;
        v->msrs[v->n_msrs] = (struct kvm_msr_entry) { .index = index };
        return (uint64_t *) &v->msrs[v->n_msrs++].data;
}

/* Like KVM: returns how many entries were processed before the first failure. */
static int sim_msrs(SimVcpu *v, struct kvm_msrs *m, bool set) {
        uint32_t i;

        if (!m)
                return -EFAULT;
        for (i = 0; i < m->nmsrs; i++) {
                struct kvm_msr_entry *e = &m->entries[i];
                uint64_t *slot;

                if (e->index == MSR_EFER) {
                        if (set)
                                v->sregs.efer = e->data;
                        else
                                e->data = v->sregs.efer;
                        continue;
                }
                slot = sim_msr_slot(v, e->index, set);
                if (set && !slot)
                        break;
                if (set)
                        *slot = e->data;
                else
                        e->data = slot ? *slot : 0;
        }
        return (int) i;
}

static int sim_set_sregs(NvSim *s, SimVcpu *v, const struct kvm_sregs *sr) {
        if (!sr)
                return -EFAULT;
        /* Clearing EFER.SVME forces the vCPU out of guest mode (svm_set_efer). */
        if (s->cfg.vendor == NV_FORMAT_SVM && !(sr->efer & X86_EFER_SVME) && (v->sregs.efer & X86_EFER_SVME))
                sim_svm_leave_nested(v);
        v->sregs = *sr;
        return 0;
}

static int sim_set_cpuid(SimVcpu *v, const struct kvm_cpuid2 *c) {
        struct kvm_cpuid_entry2 *copy;

        if (!c)
                return -EFAULT;
        if (c->nent > SIM_MAX_CPUID_ENTRIES)
                return -E2BIG;
        copy = calloc(c->nent ?: 1, sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, c->entries, c->nent * sizeof(*copy));
        free(v->cpuid);
        v->cpuid = copy;
        v->cpuid_nent = c->nent;
        v->cr4_guest_rsvd_bits = sim_cr4_reserved_bits(copy, c->nent); /* kvm_vcpu_after_set_cpuid() */
        v->cpuid_vmx = nv_cpuid_has(copy, c->nent, X86_FEATURE_VMX);
        v->cpuid_svm = nv_cpuid_has(copy, c->nent, X86_FEATURE_SVM);
        v->maxphyaddr = X86_DEFAULT_MAXPHYADDR;
        for (uint32_t i = 0; i < c->nent; i++)
                if (c->entries[i].function == X86_CPUID_ADDR_SIZES && (c->entries[i].eax & 0xff))
                        v->maxphyaddr = c->entries[i].eax & 0xff;
        return 0;
}

/* kvm_vcpu_ioctl_get_cpuid2(): too small a buffer gets E2BIG and the entry count. */
static int sim_get_cpuid(SimVcpu *v, struct kvm_cpuid2 *c) {
        if (!c)
                return -EFAULT;
        if (c->nent < v->cpuid_nent) {
                c->nent = v->cpuid_nent;
                return -E2BIG;
        }
        c->nent = v->cpuid_nent;
        if (v->cpuid_nent)
                memcpy(c->entries, v->cpuid, v->cpuid_nent * sizeof(*v->cpuid));
        return 0;
}

static int sim_enable_cap(NvSim *s, SimVcpu *v, const struct kvm_enable_cap *cap) {
        uint16_t version = 0x0701; /* eVMCS version range KVM reports: 1..7 */

        if (!cap)
                return -EFAULT;
        if (cap->cap != KVM_CAP_HYPERV_ENLIGHTENED_VMCS || s->cfg.vendor != NV_FORMAT_VMX || !s->cfg.evmcs_supported)
                return -EINVAL;
        if (cap->args[0]) {
                uint16_t *out = (uint16_t *) (uintptr_t) cap->args[0];
                *out = version;
        }
        v->evmcs_enabled = true;
        return 0;
}

/* x86.c: KVM_GET_NESTED_STATE, the generic half. */
static int sim_get_nested(NvSim *s, SimVcpu *v, struct kvm_nested_state *u) {
        uint32_t user_size;
        int r;

        if (!u)
                return -EFAULT;
        user_size = u->size;
        r = s->cfg.vendor == NV_FORMAT_VMX ? sim_vmx_get_nested_state(s, v, u, user_size)
                                           : sim_svm_get_nested_state(s, v, u, user_size);
        if (r < 0)
                return r;
        if ((uint32_t) r > user_size) {
                u->size = (uint32_t) r;
                return -E2BIG;
        }
        return 0;
}

/* x86.c: KVM_SET_NESTED_STATE, the generic checks. */
static int sim_set_nested(NvSim *s, SimVcpu *v, const struct kvm_nested_state *u) {
        if (!u)
                return -EFAULT;
        if (u->size < sizeof(*u))
                return -EINVAL;
        if (u->flags & ~(KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_EVMCS |
                         KVM_STATE_NESTED_MTF_PENDING | KVM_STATE_NESTED_GIF_SET))
                return -EINVAL;
        /* KVM_STATE_NESTED_RUN_PENDING implies KVM_STATE_NESTED_GUEST_MODE. */
        if ((u->flags & KVM_STATE_NESTED_RUN_PENDING) && !(u->flags & KVM_STATE_NESTED_GUEST_MODE))
                return -EINVAL;
        return s->cfg.vendor == NV_FORMAT_VMX ? sim_vmx_set_nested_state(s, v, u) : sim_svm_set_nested_state(s, v, u);
}

static int sim_copy(void *dst, const void *src, size_t n) {
        if (!dst || !src)
                return -EFAULT;
        memcpy(dst, src, n);
        return 0;
}

static int sim_vcpu_ioctl(NvSim *s, SimVcpu *v, unsigned long req, void *arg) {
        switch (req) {
        case KVM_RUN:
                return sim_run(v);
        case KVM_GET_REGS:
                return sim_copy(arg, &v->regs, sizeof(v->regs));
        case KVM_SET_REGS:
                return sim_copy(&v->regs, arg, sizeof(v->regs));
        case KVM_GET_SREGS:
                return sim_copy(arg, &v->sregs, sizeof(v->sregs));
        case KVM_SET_SREGS:
                return sim_set_sregs(s, v, arg);
        case KVM_GET_VCPU_EVENTS:
                return sim_copy(arg, &v->events, sizeof(v->events));
        case KVM_SET_VCPU_EVENTS:
                return sim_copy(&v->events, arg, sizeof(v->events));
        case KVM_GET_MSRS:
                return sim_msrs(v, arg, false);
        case KVM_SET_MSRS:
                return sim_msrs(v, arg, true);
        case KVM_SET_CPUID2:
                return sim_set_cpuid(v, arg);
        case KVM_GET_CPUID2:
                return sim_get_cpuid(v, arg);
        case KVM_ENABLE_CAP:
                return sim_enable_cap(s, v, arg);
        case KVM_GET_NESTED_STATE:
                return sim_get_nested(s, v, arg);
        case KVM_SET_NESTED_STATE:
                return sim_set_nested(s, v, arg);
        default:
                return -ENOTTY;
        }
}

int nv_sim_ioctl(NvSim *s, int target, unsigned long req, void *arg) {
        if (target == -2)
                return sim_system_ioctl(s, req, arg);
        if (target == -1)
                return sim_vm_ioctl(s, req, arg);
        if (target < 0 || target >= NV_SIM_MAX_VCPUS || !s->vcpus[target])
                return -EBADF;
        count_ioctl(s, req);
        return sim_vcpu_ioctl(s, s->vcpus[target], req, arg);
}
