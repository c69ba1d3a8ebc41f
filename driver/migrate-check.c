/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Can a domain's nested state move to another host?  Compared from the two
 * hosts' facts (the destination's from its `nestvirt capabilities --xml`)
 * and the domain's XML: nothing is frozen or read from the VMM, so this
 * runs before a migration begins, from migrate-check and migrate-begin.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn-private.h"
#include "driver-private.h"
#include "vmx-caps.h"

static void problem(NvMigrateCheck *c, const char *fmt, ...) _printf_(2, 3);
static void problem(NvMigrateCheck *c, const char *fmt, ...) {
        va_list ap;

        if (c->n_problems == NV_MIGRATE_MAX_PROBLEMS)
                return;
        va_start(ap, fmt);
        vsnprintf(c->problems[c->n_problems++], sizeof(c->problems[0]), fmt, ap);
        va_end(ap);
}

/* The vendor whose state would travel: the source's mode, else the saved state's. */
static int travelling_vendor(const NvDomainDef *d, const NvHostInfo *src) {
        const char *why;
        int mode = nv_domain_def_nested_mode(d, src, &why);

        if (mode >= 0)
                return mode;
        return d->meta && d->meta->has_state ? d->meta->state.vendor : -1;
}

static void unchecked(NvMigrateCheck *c, const char *why) {
        if (c->n_unchecked < ELEMENTSOF(c->unchecked))
                c->unchecked[c->n_unchecked++] = why;
}

static void vmx_problem(NvMigrateCheck *c, const NvVmxCapDiff *d) {
        const char *word = nv_vmx_word_name(d->word), *intel = d->intel ? d->intel : _("not in nestvirt's table");

        if (d->kind == NV_VMX_CAP_LACKS && d->qemu)
                problem(c, _("nested VMX: the destination lacks %s, the %s \"%s\" (bit %u)"), d->qemu, word, intel, d->bit);
        else if (d->kind == NV_VMX_CAP_LACKS)
                problem(c, _("nested VMX: the destination lacks the %s \"%s\" (bit %u; no vmx-* name)"), word, intel, d->bit);
        else if (d->kind == NV_VMX_CAP_REQUIRES && d->qemu)
                problem(c, _("nested VMX: the destination forces %s, the %s \"%s\" (bit %u), to 1; the source lets L1 clear it"),
                        d->qemu, word, intel, d->bit);
        else if (d->kind == NV_VMX_CAP_REQUIRES)
                problem(c, _("nested VMX: the destination forces the %s \"%s\" (bit %u) to 1; the source lets L1 clear it"), word,
                        intel, d->bit);
        else if (d->kind == NV_VMX_CAP_FEWER)
                problem(c, _("nested VMX: %s: %llu on the source, only %llu on the destination"), intel, (unsigned long long) d->src,
                        (unsigned long long) d->dst);
        else
                problem(c, _("nested VMX: %s: %#llx on the source, %#llx on the destination"), intel, (unsigned long long) d->src,
                        (unsigned long long) d->dst);
}

/*
 * What an L1 hypervisor uses of the VMX its vCPU offers must be there
 * after the move: each control or capability the source offers and the
 * destination does not, each control the destination forces that the
 * source lets L1 clear.  Unmeasured MSRs are a note, never a problem.
 */
static void check_vmx_msrs(const NvHostInfo *src, const NvHostInfo *dst, NvMigrateCheck *c) {
        size_t n;

        if (!src->target.have_vmx_msrs)
                unchecked(c, N_("the source's nested VMX capability MSRs were not measured: its VMX controls were not compared with the destination's"));
        if (!dst->target.have_vmx_msrs)
                unchecked(c, N_("the destination's capabilities document has no nested VMX capability MSRs: the VMX controls were not compared"));
        if (!src->target.have_vmx_msrs || !dst->target.have_vmx_msrs)
                return;
        n = nv_vmx_caps_compare(src->target.vmx_msrs, dst->target.vmx_msrs, c->vmx, ELEMENTSOF(c->vmx));
        c->n_vmx = n < ELEMENTSOF(c->vmx) ? n : ELEMENTSOF(c->vmx);
        for (size_t i = 0; i < c->n_vmx; i++)
                vmx_problem(c, &c->vmx[i]);
}

static void check_dest(const NvDomainDef *d, int vendor, const NvHostInfo *src, const NvHostInfo *dst, NvMigrateCheck *c) {
        const char *why;

        if (dst->cpu_vendor != vendor)
                problem(c, _("the destination CPU is %s; the domain's nested state is %s"),
                        dst->cpu_vendor >= 0 ? nv_format_to_string(dst->cpu_vendor) : _("neither vmx nor svm"),
                        nv_format_to_string(vendor));
        if (dst->nested == NV_NO)
                problem(c, _("nested virtualization is disabled on the destination (kvm module parameter nested)"));
        if (dst->nested_state_max <= 0)
                problem(c, _("KVM on the destination cannot restore nested state (KVM_CAP_NESTED_STATE is 0)"));
        else if ((uint32_t) dst->nested_state_max < nv_format_max_size(vendor))
                problem(c, _("the state may be %u bytes per vCPU; the destination accepts %d"), nv_format_max_size(vendor),
                        dst->nested_state_max);
        if (dst->cpu_vendor == vendor && dst->nested != NV_NO && nv_domain_def_nested_mode(d, dst, &why) < 0)
                problem(c, _("on the destination the domain would get no nested mode: %s"), why);
        if (vendor == NV_FORMAT_VMX && dst->cpu_vendor == vendor && dst->nested != NV_NO)
                check_vmx_msrs(src, dst, c);
}

void nv_migrate_check(const NvDomainDef *def, const NvHostInfo *src, const NvHostInfo *dst, NvMigrateCheck *ret) {
        *ret = (NvMigrateCheck) { .vendor = travelling_vendor(def, src) };
        if (ret->vendor >= 0)
                check_dest(def, ret->vendor, src, dst, ret);
        else if (def->meta && def->meta->nested == NV_NESTED_POLICY_REQUIRED)
                problem(ret, _("the domain's policy requires nested virtualization but it has none on this host"));
}

/* The check's verdict as one error naming every problem. */
int nv_migrate_check_error(const NvDomainDef *def, const NvMigrateCheck *c, NvError **reterr) {
        char all[NV_MIGRATE_MAX_PROBLEMS * 258] = "";
        size_t len = 0;

        if (c->n_problems == 0)
                return 0;
        for (size_t i = 0; i < c->n_problems && len < sizeof(all); i++)
                len += (size_t) snprintf(all + len, sizeof(all) - len, "%s%s", i ? "; " : "", c->problems[i]);
        return nv_error_set(reterr, -EXDEV, _("Domain '%s' cannot migrate to that host: %s."), def->name, all);
}

static void cpu_closep(NvCpuDef **p) {
        free(*p);
}

/* The domain's CPU as written; host-model and host-passthrough: what this host's libvirt would give it. */
static int domain_cpu(virConnectPtr conn, const NvDomainDef *def, const char *xml, NvCpuDef **ret, NvError **reterr) {
        if (def->cpu_mode == NV_CPU_MODE_CUSTOM && def->cpu_model)
                return nv_cpu_def_parse(xml, strlen(xml), ret, reterr);
        return nv_conn_host_model(conn, def, ret, reterr);
}

static bool requires(int policy) {
        return policy == NV_FEATURE_REQUIRE || policy == NV_FEATURE_FORCE;
}

void nv_migrate_check_cpu_defs(const NvCpuDef *mine, const NvCpuDef *there, NvMigrateCheck *ret) {
        for (size_t i = 0; i < mine->n_features; i++) {
                const NvCpuFeature *f = &mine->features[i];

                if (!requires(f->policy) || requires(nv_cpu_def_policy(there, f->name)))
                        continue;
                if (strncmp(f->name, "vmx-", 4) == 0)
                        problem(ret, _("the destination's CPU lacks the VMX control %s"), f->name);
                else
                        problem(ret, _("the destination's CPU lacks the feature %s"), f->name);
        }
}

int nv_migrate_check_cpu(NvConn *c, const NvDomainDef *def, const char *xml, const NvCpuDef *dest, NvMigrateCheck *ret,
                         NvError **reterr) {
        _cleanup_(cpu_closep) NvCpuDef *mine = NULL, *mine_x = NULL, *there_x = NULL;
        virConnectPtr conn = nv_conn_virt(c);
        int r;

        if (!conn)
                return nv_error_set(reterr, -ENOTCONN, _("The libvirt connection is closed."));
        r = domain_cpu(conn, def, xml, &mine, reterr);
        if (r >= 0)
                r = nv_conn_expand_cpu(conn, def, mine, &mine_x, reterr);
        if (r >= 0)
                r = nv_conn_expand_cpu(conn, def, dest, &there_x, reterr);
        (void) virConnectClose(conn);
        if (r < 0)
                return nv_error_wrap(reterr, r, _("Cannot compare the CPU of domain '%s' with the destination's"), def->name);
        nv_migrate_check_cpu_defs(mine_x, there_x, ret);
        return 0;
}
