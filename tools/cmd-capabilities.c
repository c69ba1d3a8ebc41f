/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nestvirt capabilities: the host probe, for people and for another host's migrate-check. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli-backend.h"
#include "cli.h"
#include "host-caps.h"

static const char *tristate_json(NvTristate t) {
        return t == NV_YES ? "true" : t == NV_NO ? "false" : NULL;
}

/* Whether nested state can be saved and restored here, and if not, why. */
static const char *nested_verdict(const NvHostInfo *h) {
        if (h->nested_state_max <= 0)
                return N_("KVM cannot save nested state (KVM_CAP_NESTED_STATE is 0 or KVM is absent)");
        if (h->nested == NV_NO)
                return N_("the kvm module's nested parameter is off");
        return NULL;
}

static int print_json(const NvHostInfo *h) {
        json_object *o = json_object_new_object();
        const char *why = nested_verdict(h);

        json_object_object_add(o, "kernel_release", json_object_new_string(h->kernel_release));
        json_object_object_add(o, "cpu_vendor", h->cpu_vendor >= 0 ? json_object_new_string(nv_format_to_string(h->cpu_vendor)) : NULL);
        json_object_object_add(o, "cpu_model", h->cpu_model[0] ? json_object_new_string(h->cpu_model) : NULL);
        json_object_object_add(o, "kvm_device", json_object_new_boolean(h->kvm_device));
        json_object_object_add(o, "api_version", json_object_new_int(h->api_version));
        json_object_object_add(o, "nested", tristate_json(h->nested) ? json_object_new_boolean(h->nested == NV_YES) : NULL);
        json_object_object_add(o, "nested_state_max", json_object_new_int(h->nested_state_max));
        json_object_object_add(o, "backend", json_object_new_string(h->backend));
        json_object_object_add(o, "nested_available", json_object_new_boolean(why == NULL));
        json_object_object_add(o, "nested_unavailable_reason", why ? json_object_new_string(why) : NULL);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return 0;
}

static void print_text(const NvHostInfo *h) {
        const char *why = nested_verdict(h);

        printf(_("Kernel release:        %s\n"), h->kernel_release[0] ? h->kernel_release : _("unknown"));
        printf(_("CPU:                   %s (%s)\n"), h->cpu_model[0] ? h->cpu_model : _("unknown model"),
               h->cpu_vendor >= 0 ? nv_format_to_string(h->cpu_vendor) : _("no vmx/svm flag"));
        printf(_("KVM device:            %s\n"), h->kvm_device ? _("present") : _("absent"));
        printf(_("Nested parameter:      %s\n"),
               h->nested == NV_YES ? _("enabled") : h->nested == NV_NO ? _("disabled") : _("unknown (no kvm_intel/kvm_amd module)"));
        printf(_("KVM_CAP_NESTED_STATE:  %d\n"), h->nested_state_max);
        if (strcmp(h->backend, "simulated") == 0)
                printf(_("Backend:               simulated KVM (no /dev/kvm, or --sim given)\n"));
        else
                printf(_("Backend:               %s\n"), h->backend);
        if (why)
                printf(_("Nested state:          not available: %s\n"), _(why));
        else
                printf(_("Nested state:          available\n"));
}

int cmd_capabilities(Cli *cli, int argc, char **argv, NvError **reterr) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "xml", no_argument, NULL, 'x' },
                { "sim", no_argument, NULL, 's' },
                {},
        };
        _cleanup_(nv_kvm_freep) NvKvm *kvm = NULL;
        _cleanup_free_ char *xml = NULL;
        NvHostInfo host;
        bool as_xml = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hjxs", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf(_("Usage: nestvirt capabilities [--json|--xml] [--sim]\n"
                                 "Show the host's CPU vendor, the kvm module's nested parameter, the\n"
                                 "KVM_CAP_NESTED_STATE value and the kernel release.\n\n"
                                 "  --json   print a JSON object\n"
                                 "  --xml    print the capabilities document another host's migrate-check reads\n"
                                 "  --sim    describe the simulated KVM instead of /dev/kvm\n"));
                        return 0;
                case 'j':
                        cli->json = true;
                        break;
                case 'x':
                        as_xml = true;
                        break;
                case 's':
                        cli->force_sim = true;
                        break;
                default:
                        return nv_error_set(reterr, -EINVAL, _("Invalid option for 'capabilities'; see 'nestvirt capabilities --help'."));
                }
        }
        if (optind < argc)
                return nv_error_set(reterr, -EINVAL, _("Unexpected argument '%s'."), argv[optind]);
        if (as_xml && cli->json)
                return nv_error_set(reterr, -EINVAL, _("--json and --xml exclude each other."));
        if (cli->force_sim)
                r = cli_open_backend(true, -1, &kvm, &host, reterr);
        else
                r = nv_host_probe(cli_host_root(), NULL, &host, reterr);
        if (r < 0)
                return r;
        if (cli->json)
                return print_json(&host);
        if (as_xml) {
                r = nv_host_caps_format(&host, &xml, reterr);
                if (r >= 0)
                        fputs(xml, stdout);
                return r;
        }
        print_text(&host);
        return 0;
}
