/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nested VMX capabilities by name: every control and capability bit
 * of the VMX capability MSRs that migrate-check compares, in Intel's words
 * (SDM vol. 3, chapter 25.6-25.8 and appendix A) and as QEMU and libvirt
 * spell the CPU feature (`vmx-...`, QEMU's MSR feature words).  Plain
 * facts like x86-arch.h; the comparison is src/vmx-caps.c.  The sources
 * and the QEMU version caveats are in docs/vmx-controls.md.
 *
 * X(word, bit, qemu, intel): bit is the control's bit (0..31) for the
 * control words (its allowed-1 bit is bit + 32 of the MSR), else the
 * MSR's bit.  qemu is NULL where neither QEMU nor libvirt names the bit.
 */
#pragma once

/* The words compared, in the order problems are listed. */
typedef enum VmxWord {
        VMX_WORD_PIN,       /* IA32_VMX_(TRUE_)PINBASED_CTLS */
        VMX_WORD_PROC,      /* IA32_VMX_(TRUE_)PROCBASED_CTLS */
        VMX_WORD_PROC2,     /* IA32_VMX_PROCBASED_CTLS2 */
        VMX_WORD_EXIT,      /* IA32_VMX_(TRUE_)EXIT_CTLS */
        VMX_WORD_ENTRY,     /* IA32_VMX_(TRUE_)ENTRY_CTLS */
        VMX_WORD_VMFUNC,    /* IA32_VMX_VMFUNC */
        VMX_WORD_EPT_VPID,  /* IA32_VMX_EPT_VPID_CAP */
        VMX_WORD_MISC,      /* IA32_VMX_MISC: the flag bits */
        VMX_WORD_BASIC,     /* IA32_VMX_BASIC: the flag bits */
        VMX_WORD_COUNT,
} VmxWord;

/* The legacy capability MSRs (the TRUE_ ones are in x86-arch.h). */
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define VMX_BASIC_TRUE_CTLS 55 /* IA32_VMX_BASIC: the TRUE_ control MSRs exist */

#define VMX_FEATURES(X)                                                                                        \
        X(VMX_WORD_PIN, 0, "vmx-intr-exit", "external-interrupt exiting")                                      \
        X(VMX_WORD_PIN, 3, "vmx-nmi-exit", "NMI exiting")                                                      \
        X(VMX_WORD_PIN, 5, "vmx-vnmi", "virtual NMIs")                                                         \
        X(VMX_WORD_PIN, 6, "vmx-preemption-timer", "activate VMX-preemption timer")                            \
        X(VMX_WORD_PIN, 7, "vmx-posted-intr", "process posted interrupts")                                     \
        X(VMX_WORD_PROC, 2, "vmx-vintr-pending", "interrupt-window exiting")                                   \
        X(VMX_WORD_PROC, 3, "vmx-tsc-offset", "use TSC offsetting")                                            \
        X(VMX_WORD_PROC, 7, "vmx-hlt-exit", "HLT exiting")                                                     \
        X(VMX_WORD_PROC, 9, "vmx-invlpg-exit", "INVLPG exiting")                                               \
        X(VMX_WORD_PROC, 10, "vmx-mwait-exit", "MWAIT exiting")                                                \
        X(VMX_WORD_PROC, 11, "vmx-rdpmc-exit", "RDPMC exiting")                                                \
        X(VMX_WORD_PROC, 12, "vmx-rdtsc-exit", "RDTSC exiting")                                                \
        X(VMX_WORD_PROC, 15, "vmx-cr3-load-noexit", "CR3-load exiting")                                        \
        X(VMX_WORD_PROC, 16, "vmx-cr3-store-noexit", "CR3-store exiting")                                      \
        X(VMX_WORD_PROC, 17, NULL, "activate tertiary controls")                                               \
        X(VMX_WORD_PROC, 19, "vmx-cr8-load-exit", "CR8-load exiting")                                          \
        X(VMX_WORD_PROC, 20, "vmx-cr8-store-exit", "CR8-store exiting")                                        \
        X(VMX_WORD_PROC, 21, "vmx-flexpriority", "use TPR shadow")                                             \
        X(VMX_WORD_PROC, 22, "vmx-vnmi-pending", "NMI-window exiting")                                         \
        X(VMX_WORD_PROC, 23, "vmx-movdr-exit", "MOV-DR exiting")                                               \
        X(VMX_WORD_PROC, 24, "vmx-io-exit", "unconditional I/O exiting")                                       \
        X(VMX_WORD_PROC, 25, "vmx-io-bitmap", "use I/O bitmaps")                                               \
        X(VMX_WORD_PROC, 27, "vmx-mtf", "monitor trap flag")                                                   \
        X(VMX_WORD_PROC, 28, "vmx-msr-bitmap", "use MSR bitmaps")                                              \
        X(VMX_WORD_PROC, 29, "vmx-monitor-exit", "MONITOR exiting")                                            \
        X(VMX_WORD_PROC, 30, "vmx-pause-exit", "PAUSE exiting")                                                \
        X(VMX_WORD_PROC, 31, "vmx-secondary-ctls", "activate secondary controls")                              \
        X(VMX_WORD_PROC2, 0, "vmx-apicv-xapic", "virtualize APIC accesses")                                    \
        X(VMX_WORD_PROC2, 1, "vmx-ept", "enable EPT")                                                          \
        X(VMX_WORD_PROC2, 2, "vmx-desc-exit", "descriptor-table exiting")                                      \
        X(VMX_WORD_PROC2, 3, "vmx-rdtscp-exit", "enable RDTSCP")                                               \
        X(VMX_WORD_PROC2, 4, "vmx-apicv-x2apic", "virtualize x2APIC mode")                                     \
        X(VMX_WORD_PROC2, 5, "vmx-vpid", "enable VPID")                                                        \
        X(VMX_WORD_PROC2, 6, "vmx-wbinvd-exit", "WBINVD exiting")                                              \
        X(VMX_WORD_PROC2, 7, "vmx-unrestricted-guest", "unrestricted guest")                                   \
        X(VMX_WORD_PROC2, 8, "vmx-apicv-register", "APIC-register virtualization")                             \
        X(VMX_WORD_PROC2, 9, "vmx-apicv-vid", "virtual-interrupt delivery")                                    \
        X(VMX_WORD_PROC2, 10, "vmx-ple", "PAUSE-loop exiting")                                                 \
        X(VMX_WORD_PROC2, 11, "vmx-rdrand-exit", "RDRAND exiting")                                             \
        X(VMX_WORD_PROC2, 12, "vmx-invpcid-exit", "enable INVPCID")                                            \
        X(VMX_WORD_PROC2, 13, "vmx-vmfunc", "enable VM functions")                                             \
        X(VMX_WORD_PROC2, 14, "vmx-shadow-vmcs", "VMCS shadowing")                                             \
        X(VMX_WORD_PROC2, 15, "vmx-encls-exit", "enable ENCLS exiting")                                        \
        X(VMX_WORD_PROC2, 16, "vmx-rdseed-exit", "RDSEED exiting")                                             \
        X(VMX_WORD_PROC2, 17, "vmx-pml", "enable PML")                                                         \
        X(VMX_WORD_PROC2, 18, NULL, "EPT-violation #VE")                                                       \
        X(VMX_WORD_PROC2, 19, NULL, "conceal VMX from PT")                                                     \
        X(VMX_WORD_PROC2, 20, "vmx-xsaves", "enable XSAVES/XRSTORS")                                           \
        X(VMX_WORD_PROC2, 21, NULL, "PASID translation")                                                       \
        X(VMX_WORD_PROC2, 22, NULL, "mode-based execute control for EPT")                                      \
        X(VMX_WORD_PROC2, 23, NULL, "sub-page write permissions for EPT")                                      \
        X(VMX_WORD_PROC2, 24, NULL, "Intel PT uses guest physical addresses")                                  \
        X(VMX_WORD_PROC2, 25, "vmx-tsc-scaling", "use TSC scaling")                                            \
        X(VMX_WORD_PROC2, 26, "vmx-enable-user-wait-pause", "enable user wait and pause")                      \
        X(VMX_WORD_PROC2, 27, NULL, "enable PCONFIG")                                                          \
        X(VMX_WORD_PROC2, 28, NULL, "enable ENCLV exiting")                                                    \
        X(VMX_WORD_PROC2, 30, NULL, "VMM bus-lock detection")                                                  \
        X(VMX_WORD_PROC2, 31, NULL, "instruction timeout")                                                     \
        X(VMX_WORD_EXIT, 2, "vmx-exit-nosave-debugctl", "save debug controls")                                 \
        X(VMX_WORD_EXIT, 9, NULL, "host address-space size")                                                   \
        X(VMX_WORD_EXIT, 12, "vmx-exit-load-perf-global-ctrl", "load IA32_PERF_GLOBAL_CTRL")                   \
        X(VMX_WORD_EXIT, 15, "vmx-exit-ack-intr", "acknowledge interrupt on exit")                             \
        X(VMX_WORD_EXIT, 18, "vmx-exit-save-pat", "save IA32_PAT")                                             \
        X(VMX_WORD_EXIT, 19, "vmx-exit-load-pat", "load IA32_PAT")                                             \
        X(VMX_WORD_EXIT, 20, "vmx-exit-save-efer", "save IA32_EFER")                                           \
        X(VMX_WORD_EXIT, 21, "vmx-exit-load-efer", "load IA32_EFER")                                           \
        X(VMX_WORD_EXIT, 22, "vmx-exit-save-preemption-timer", "save VMX-preemption timer value")              \
        X(VMX_WORD_EXIT, 23, "vmx-exit-clear-bndcfgs", "clear IA32_BNDCFGS")                                   \
        X(VMX_WORD_EXIT, 24, NULL, "conceal VMX from PT")                                                      \
        X(VMX_WORD_EXIT, 25, "vmx-exit-clear-rtit-ctl", "clear IA32_RTIT_CTL")                                 \
        X(VMX_WORD_EXIT, 26, NULL, "clear IA32_LBR_CTL")                                                       \
        X(VMX_WORD_EXIT, 28, NULL, "load CET state")                                                           \
        X(VMX_WORD_EXIT, 29, "vmx-exit-load-pkrs", "load PKRS")                                                \
        X(VMX_WORD_EXIT, 30, NULL, "save IA32_PERF_GLOBAL_CTL")                                                \
        X(VMX_WORD_EXIT, 31, NULL, "activate secondary controls")                                              \
        X(VMX_WORD_ENTRY, 2, "vmx-entry-noload-debugctl", "load debug controls")                               \
        X(VMX_WORD_ENTRY, 9, "vmx-entry-ia32e-mode", "IA-32e mode guest")                                      \
        X(VMX_WORD_ENTRY, 10, NULL, "entry to SMM")                                                            \
        X(VMX_WORD_ENTRY, 11, NULL, "deactivate dual-monitor treatment")                                       \
        X(VMX_WORD_ENTRY, 13, "vmx-entry-load-perf-global-ctrl", "load IA32_PERF_GLOBAL_CTRL")                 \
        X(VMX_WORD_ENTRY, 14, "vmx-entry-load-pat", "load IA32_PAT")                                           \
        X(VMX_WORD_ENTRY, 15, "vmx-entry-load-efer", "load IA32_EFER")                                         \
        X(VMX_WORD_ENTRY, 16, "vmx-entry-load-bndcfgs", "load IA32_BNDCFGS")                                   \
        X(VMX_WORD_ENTRY, 17, NULL, "conceal VMX from PT")                                                     \
        X(VMX_WORD_ENTRY, 18, "vmx-entry-load-rtit-ctl", "load IA32_RTIT_CTL")                                 \
        X(VMX_WORD_ENTRY, 20, NULL, "load CET state")                                                          \
        X(VMX_WORD_ENTRY, 21, NULL, "load guest IA32_LBR_CTL")                                                 \
        X(VMX_WORD_ENTRY, 22, "vmx-entry-load-pkrs", "load PKRS")                                              \
        X(VMX_WORD_VMFUNC, 0, "vmx-eptp-switching", "EPTP switching")                                          \
        X(VMX_WORD_EPT_VPID, 0, "vmx-ept-execonly", "execute-only EPT translations")                           \
        X(VMX_WORD_EPT_VPID, 6, "vmx-page-walk-4", "page-walk length 4")                                       \
        X(VMX_WORD_EPT_VPID, 7, "vmx-page-walk-5", "page-walk length 5")                                       \
        X(VMX_WORD_EPT_VPID, 8, "vmx-ept-uc", "uncacheable EPT paging structures")                             \
        X(VMX_WORD_EPT_VPID, 14, "vmx-ept-wb", "write-back EPT paging structures")                             \
        X(VMX_WORD_EPT_VPID, 16, "vmx-ept-2mb", "2-MByte EPT pages")                                           \
        X(VMX_WORD_EPT_VPID, 17, "vmx-ept-1gb", "1-GByte EPT pages")                                           \
        X(VMX_WORD_EPT_VPID, 20, "vmx-invept", "INVEPT")                                                       \
        X(VMX_WORD_EPT_VPID, 21, "vmx-eptad", "accessed and dirty flags for EPT")                              \
        X(VMX_WORD_EPT_VPID, 22, "vmx-ept-advanced-exitinfo", "advanced VM-exit information for EPT violations") \
        X(VMX_WORD_EPT_VPID, 23, NULL, "supervisor shadow-stack control")                                      \
        X(VMX_WORD_EPT_VPID, 25, "vmx-invept-single-context", "single-context INVEPT")                         \
        X(VMX_WORD_EPT_VPID, 26, "vmx-invept-all-context", "all-context INVEPT")                               \
        X(VMX_WORD_EPT_VPID, 32, "vmx-invvpid", "INVVPID")                                                     \
        X(VMX_WORD_EPT_VPID, 40, "vmx-invvpid-single-addr", "individual-address INVVPID")                      \
        X(VMX_WORD_EPT_VPID, 41, "vmx-invvpid-single-context", "single-context INVVPID")                       \
        X(VMX_WORD_EPT_VPID, 42, "vmx-invvpid-all-context", "all-context INVVPID")                             \
        X(VMX_WORD_EPT_VPID, 43, "vmx-invvpid-single-context-noglobals", "single-context-retaining-globals INVVPID") \
        X(VMX_WORD_MISC, 5, "vmx-store-lma", "VM exits store EFER.LMA")                                        \
        X(VMX_WORD_MISC, 6, "vmx-activity-hlt", "activity state HLT")                                          \
        X(VMX_WORD_MISC, 7, "vmx-activity-shutdown", "activity state shutdown")                                \
        X(VMX_WORD_MISC, 8, "vmx-activity-wait-sipi", "activity state wait-for-SIPI")                          \
        X(VMX_WORD_MISC, 14, NULL, "Intel PT in VMX operation")                                                \
        X(VMX_WORD_MISC, 15, NULL, "RDMSR of IA32_SMBASE in SMM")                                              \
        X(VMX_WORD_MISC, 28, NULL, "SMM monitor control bit 2")                                                \
        X(VMX_WORD_MISC, 29, "vmx-vmwrite-vmexit-fields", "VMWRITE to any VMCS field")                         \
        X(VMX_WORD_MISC, 30, "vmx-zero-len-inject", "event injection with instruction length 0")               \
        X(VMX_WORD_BASIC, 54, "vmx-ins-outs", "VM-exit information for INS and OUTS")                          \
        X(VMX_WORD_BASIC, 55, "vmx-true-ctls", "TRUE capability MSRs")                                         \
        X(VMX_WORD_BASIC, 56, NULL, "exceptions delivered with or without error code")

/*
 * The numeric fields that are not flags: X(word, shift, width, at_most, intel).
 * at_most: the destination must offer at least the source's value (a
 * count); otherwise the two must be equal.
 */
#define VMX_FIELDS(X)                                                                                          \
        X(VMX_WORD_BASIC, 0, 31, 0, "IA32_VMX_BASIC bits 30:0, the VMCS revision")                             \
        X(VMX_WORD_MISC, 0, 5, 0, "IA32_VMX_MISC bits 4:0, the VMX-preemption timer's TSC shift")              \
        X(VMX_WORD_MISC, 16, 9, 1, "IA32_VMX_MISC bits 24:16, the number of CR3-target values")                \
        X(VMX_WORD_MISC, 25, 3, 1, "IA32_VMX_MISC bits 27:25, the MSR-list size (512 * (N + 1) entries)")
