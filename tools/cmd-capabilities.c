/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt capabilities: the host probe, for people and for another host's migrate-check. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli-backend.h"
#include "cli-domain.h"
#include "cli.h"
#include "host-caps.h"

static const char *tristate_json(NvTristate t) {
        return t == NV_YES ? "true" : t == NV_NO ? "false" : NULL;
}

/* The KVM device: absent, present and usable, or present but not (not permitted, or another reason). */
static const char *kvm_access(const NvHostInfo *h) {
        if (!h->kvm_device)
                return "absent";
        if (h->kvm_errno == EACCES || h->kvm_errno == EPERM)
                return "denied";
        return h->kvm_errno ? "unusable" : "ok";
}

/*
 * Whether nested state can be saved and restored here, and if not, why:
 * no KVM, a KVM this user may not open, one that cannot save nested state
 * (capability 0), or nesting switched off.  Translated; NULL: available.
 */
static const char *nested_verdict(const NvHostInfo *h, char *buf, size_t size) {
        if (h->nested_state_max <= 0 && !h->kvm_device)
                return _("KVM is absent (no /dev/kvm)");
        if (h->nested_state_max <= 0 && h->kvm_errno) {
                snprintf(buf, size, strcmp(kvm_access(h), "denied") == 0
                                            ? _("/dev/kvm is present but this user may not open it (%s): run as root or as a member of its group")
                                            : _("/dev/kvm is present but cannot be used (%s)"),
                         strerror(h->kvm_errno));
                return buf;
        }
        if (h->nested_state_max <= 0)
                return _("this KVM has no nested state (KVM_CAP_NESTED_STATE is 0)");
        if (h->nested == NV_NO)
                return _("the kvm module's nested parameter is off");
        return NULL;
}

/* The capability is only known from a KVM that could be asked. */
static bool cap_known(const NvHostInfo *h) {
        return strcmp(h->backend, "none") != 0;
}

/* Whether the domain's XML insists on nesting: a required/forced vmx or svm, or our policy. */
static bool domain_requires(const NvDomainDef *d) {
        for (int v = 0; v < 2; v++)
                if (d->feature[v] == NV_FEATURE_REQUIRE || d->feature[v] == NV_FEATURE_FORCE)
                        return true;
        return d->meta && d->meta->nested == NV_NESTED_POLICY_REQUIRED;
}

/* The per-domain view: does this host give each domain what its XML asks? */
static json_object *domains_json(Cli *cli, const NvHostInfo *h, NvError **reterr) {
        _cleanup_(nv_conn_freep) NvConn *conn = NULL;
        NvDomainEntry *e = NULL;
        json_object *arr;
        size_t n;

        if (nv_conn_open(cli->uri, NULL, NULL, &conn, reterr) < 0 || nv_conn_list(conn, true, &e, &n, reterr) < 0)
                return NULL;
        cli_keep_cpu_cache(conn, h);
        arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                const char *why = e[i].broken;
                int mode = e[i].broken ? -1 : nv_domain_def_nested_mode(e[i].def, h, &why);
                bool required = e[i].broken_nested || domain_requires(e[i].def);

                json_object_object_add(o, "name", json_object_new_string(e[i].def->name));
                json_object_object_add(o, "requires_nested", json_object_new_boolean(required));
                json_object_object_add(o, "nested", json_object_new_string(nv_nested_mode_to_string(mode)));
                json_object_object_add(o, "supported", json_object_new_boolean(mode != -1 || !required));
                json_object_object_add(o, "reason", json_object_new_string(why));
                /* Running nested is one thing; saving its state needs the capability too. */
                json_object_object_add(o, "state_saveable",
                                       json_object_new_boolean(mode >= 0 && (uint32_t) h->nested_state_max >= nv_format_max_size(mode)));
                json_object_array_add(arr, o);
        }
        nv_domain_entries_free(e, n);
        return arr;
}

static void print_domains_text(json_object *arr) {
        printf(_("\nDomains on this connection:\n"));
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *d = json_object_array_get_idx(arr, i);
                bool ok = json_object_get_boolean(json_object_object_get(d, "supported"));
                const char *mode = json_object_get_string(json_object_object_get(d, "nested"));
                bool nested = strcmp(mode, "vmx") == 0 || strcmp(mode, "svm") == 0;

                printf("  %-20s %-7s %s%s%s (%s)\n", json_object_get_string(json_object_object_get(d, "name")),
                       json_object_get_string(json_object_object_get(d, "nested")), ok ? _("supported") : _("NOT SUPPORTED"),
                       json_object_get_boolean(json_object_object_get(d, "requires_nested")) ? _(", nested required") : "",
                       nested && !json_object_get_boolean(json_object_object_get(d, "state_saveable"))
                               ? _(", but its nested state cannot be saved here")
                               : "",
                       json_object_get_string(json_object_object_get(d, "reason")));
        }
}

static json_object *tristate_obj(NvTristate t) {
        return t == NV_UNKNOWN ? NULL : json_object_new_boolean(t == NV_YES);
}

/* The restore target, measured on a scratch vCPU: null facts are unknown. */
static json_object *target_json(const NvHostTarget *t) {
        json_object *o = json_object_new_object(), *cpuid = json_object_new_array(), *msrs = json_object_new_object();
        char key[16];

        json_object_object_add(o, "measured", json_object_new_boolean(t->measured));
        json_object_object_add(o, "maxphyaddr", t->maxphyaddr ? json_object_new_int((int) t->maxphyaddr) : NULL);
        json_object_object_add(o, "evmcs", tristate_obj(t->evmcs));
        json_object_object_add(o, "smm", tristate_obj(t->smm));
        json_object_object_add(o, "npt", tristate_obj(t->npt));
        json_object_object_add(o, "svme0_gif0_accepted", tristate_obj(t->svme0_gif0_ok));
        json_object_object_add(o, "vnmi_needs_nmi_intercept", tristate_obj(t->vnmi_needs_nmi_intercept));
        json_object_object_add(o, "sregs_svme_needs_cpuid", tristate_obj(t->sregs_svme_needs_cpuid));
        for (size_t i = 0; i < t->n_cpuid; i++) {
                const NvCpuidLeaf *l = &t->cpuid[i];
                json_object *e = json_object_new_array();
                uint32_t v[7] = { l->function, l->index, l->flags, l->eax, l->ebx, l->ecx, l->edx };

                for (size_t j = 0; j < 7; j++)
                        json_object_array_add(e, json_object_new_int64(v[j]));
                json_object_array_add(cpuid, e);
        }
        json_object_object_add(o, "cpuid", cpuid); /* [function, index, flags, eax, ebx, ecx, edx] */
        for (unsigned i = 0; t->have_vmx_msrs && i < NV_VMX_MSR_COUNT; i++) {
                snprintf(key, sizeof(key), "0x%x", NV_VMX_MSR_FIRST + i);
                json_object_object_add(msrs, key, json_object_new_uint64(t->vmx_msrs[i]));
        }
        json_object_object_add(o, "vmx_msrs", msrs);
        return o;
}

static const char *tristate_text(NvTristate t) {
        return t == NV_YES ? _("yes") : t == NV_NO ? _("no") : _("unknown");
}

static void print_target_text(const NvHostTarget *t) {
        if (!t->measured) {
                printf(_("Restore target:        not measured (no kernel KVM with nested state to make a scratch vCPU on)\n"));
                return;
        }
        printf(_("Restore target:        measured on a scratch vCPU\n"));
        printf(_("  guest MAXPHYADDR:    %u\n"), t->maxphyaddr);
        printf(_("  CPUID leaves:        %zu (KVM_GET_SUPPORTED_CPUID)\n"), t->n_cpuid);
        printf(_("  nested VMX MSRs:     %s\n"), t->have_vmx_msrs ? _("read") : _("none"));
        printf(_("  eVMCS, SMM, NPT:     %s, %s, %s\n"), tristate_text(t->evmcs), tristate_text(t->smm), tristate_text(t->npt));
        printf(_("  probed: GIF clear with EFER.SVME clear accepted: %s\n"), tristate_text(t->svme0_gif0_ok));
        printf(_("  probed: V_NMI without NMI intercept refused:     %s\n"), tristate_text(t->vnmi_needs_nmi_intercept));
        printf(_("  probed: EFER.SVME needs CPUID.SVM in SET_SREGS:  %s\n"), tristate_text(t->sregs_svme_needs_cpuid));
}

static int print_json(const NvHostInfo *h, json_object *domains) {
        json_object *o = json_object_new_object();
        char buf[256];
        const char *why = nested_verdict(h, buf, sizeof(buf));

        json_object_object_add(o, "kernel_release", json_object_new_string(h->kernel_release));
        json_object_object_add(o, "cpu_vendor", json_object_new_string(h->cpu_vendor >= 0 ? nv_format_to_string(h->cpu_vendor) : "unknown"));
        json_object_object_add(o, "cpu_model", h->cpu_model[0] ? json_object_new_string(h->cpu_model) : NULL);
        json_object_object_add(o, "kvm_device", json_object_new_boolean(h->kvm_device));
        json_object_object_add(o, "kvm_access", json_object_new_string(kvm_access(h)));
        json_object_object_add(o, "kvm_error", h->kvm_errno ? json_object_new_string(strerror(h->kvm_errno)) : NULL);
        json_object_object_add(o, "api_version", json_object_new_int(h->api_version));
        json_object_object_add(o, "nested", tristate_json(h->nested) ? json_object_new_boolean(h->nested == NV_YES) : NULL);
        json_object_object_add(o, "nested_state_max", cap_known(h) ? json_object_new_int(h->nested_state_max) : NULL);
        json_object_object_add(o, "backend", json_object_new_string(h->backend));
        json_object_object_add(o, "nested_available", json_object_new_boolean(why == NULL));
        json_object_object_add(o, "nested_unavailable_reason", why ? json_object_new_string(why) : NULL);
        json_object_object_add(o, "state_dir", json_object_new_string(nv_default_dir(false)));
        json_object_object_add(o, "runtime_dir", json_object_new_string(cli_runtime_dir()));
        json_object_object_add(o, "target", target_json(&h->target));
        if (domains)
                json_object_object_add(o, "domains", json_object_get(domains));
        cli_print_json(o);
        json_object_put(o);
        return 0;
}

static void print_text(const NvHostInfo *h) {
        char buf[256];
        const char *why = nested_verdict(h, buf, sizeof(buf));
        const char *access = kvm_access(h);

        printf(_("Kernel release:        %s\n"), h->kernel_release[0] ? h->kernel_release : _("unknown"));
        printf(_("CPU:                   %s (%s)\n"), h->cpu_model[0] ? h->cpu_model : _("unknown model"),
               h->cpu_vendor >= 0 ? nv_format_to_string(h->cpu_vendor) : _("no vmx/svm flag"));
        if (strcmp(access, "ok") == 0 || strcmp(access, "absent") == 0)
                printf(_("KVM device:            %s\n"), h->kvm_device ? _("present") : _("absent"));
        else
                printf(strcmp(access, "denied") == 0 ? _("KVM device:            present but not permitted (%s)\n")
                                                      : _("KVM device:            present but unusable (%s)\n"),
                       strerror(h->kvm_errno));
        printf(_("Nested parameter:      %s\n"),
               h->nested == NV_YES ? _("enabled") : h->nested == NV_NO ? _("disabled") : _("unknown (no kvm_intel/kvm_amd module)"));
        if (cap_known(h))
                printf(_("KVM_CAP_NESTED_STATE:  %d\n"), h->nested_state_max);
        else
                printf(_("KVM_CAP_NESTED_STATE:  unknown (no KVM could be asked)\n"));
        if (strcmp(h->backend, "simulated") == 0)
                printf(_("Backend:               simulated KVM (no /dev/kvm, or --sim given)\n"));
        else
                printf(_("Backend:               %s\n"), h->backend);
        if (why)
                printf(_("Nested state:          not available: %s\n"), why);
        else
                printf(_("Nested state:          available\n"));
        printf(_("State directory:       %s\n"), nv_default_dir(false));
        printf(_("Runtime directory:     %s\n"), cli_runtime_dir());
        print_target_text(&h->target);
}

int cmd_capabilities(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "xml", no_argument, NULL, 'x' },
                { "sim", no_argument, NULL, 's' },
                { "domains", no_argument, NULL, 'd' },
                {},
        };
        json_object *domains = NULL;
        bool with_domains = false;
        _cleanup_free_ char *xml = NULL;
        NvHostInfo host;
        bool as_xml = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hjxsd", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt [-c URI] capabilities [--json|--xml] [--domains] [--sim]\n"
                                 "Show the host's CPU vendor, the kvm module's nested parameter, the\n"
                                 "KVM_CAP_NESTED_STATE value, the kernel release, and this host as a\n"
                                 "restore target, measured on a scratch vCPU: its CPUID, MAXPHYADDR, VMX\n"
                                 "MSRs, and the kernel rules learnt by probing.\n\n"
                                 "  --json   print a JSON object\n"
                                 "  --xml    print the capabilities document another host's migrate-check reads\n"
                                 "  --domains  add whether this host gives each domain of the connection\n"
                                 "           the nested virtualization its XML asks for\n"
                                 "  --sim    describe the simulated KVM instead of /dev/kvm\n"));
                        return 0;
                case 'j':
                        cli->json = true;
                        break;
                case 'x':
                        as_xml = true;
                        break;
                case 'd':
                        with_domains = true;
                        break;
                case 's':
                        cli->force_sim = true;
                        break;
                default:
                        return cli_option_error(argc, argv, reterr);
                }
        }
        if (optind < argc)
                return nv_error_set(reterr, -EINVAL, _("Unexpected argument '%s'."), argv[optind]);
        if (as_xml && cli->json)
                return nv_error_set(reterr, -EINVAL, _("--json and --xml exclude each other."));
        if (as_xml && with_domains)
                return nv_error_set(reterr, -EINVAL, _("--xml describes the host only; --domains goes with text or --json."));
        r = cli_host_facts(cli, &host, reterr);
        if (r < 0)
                return r;
        if (!cli->force_sim) /* the simulator's verdicts are the validator's: nothing to learn by probing it */
                nv_host_probe_target(cli_host_root(), NULL, &host);
        if (with_domains && !(domains = domains_json(cli, &host, reterr)))
                return reterr && *reterr ? (*reterr)->code : -EIO;
        if (cli->json) {
                r = print_json(&host, domains);
                json_object_put(domains);
                return r;
        }
        if (as_xml) {
                r = nv_host_caps_format(&host, &xml, reterr);
                if (r >= 0)
                        fputs(xml, stdout);
                return r;
        }
        print_text(&host);
        if (domains)
                print_domains_text(domains);
        json_object_put(domains);
        return 0;
}
