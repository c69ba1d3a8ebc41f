/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's own saved state, read for its nested virtualization state: a
 * migration stream as `migrate "exec:cat > FILE"` writes it, or a libvirt
 * save image (libvirt's header, the domain XML, then such a stream,
 * possibly compressed).  Both come from elsewhere: every length is bounded
 * before use, and the parser has a fuzz target.  The formats are described
 * in docs/qemu-state.md.
 *
 * Per vCPU (QEMU's `cpu` section, instance id = vCPU index) the reader
 * rebuilds the kernel's struct kvm_nested_state exactly as QEMU would hand
 * it to KVM_SET_NESTED_STATE on the destination, so that the validator can
 * judge it before QEMU starts.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "nested-state.h"
#include "validate.h"

NV_BEGIN_DECLS

#define NV_QEMU_STREAM_MAGIC "QEVM"
#define NV_QEMU_LIBVIRT_MAGIC "LibvirtQemudSave"
#define NV_QEMU_LIBVIRT_PARTIAL "LibvirtQemudPart"
#define NV_QEMU_LIBVIRT_HEADER_SIZE 92u
/* Device state after the RAM plus the layout description: held in memory, so bounded. */
#define NV_QEMU_TAIL_MAX (64u << 20)
/* libvirt's domain XML, cookie and padding. */
#define NV_QEMU_LIBVIRT_DATA_MAX (64u << 20)
#define NV_QEMU_MAX_VCPUS 4096u

/* QEMU's hflags / hflags2 bits the nested state depends on (target/i386/cpu.h). */
#define NV_QEMU_HF_SMM (1u << 19)
#define NV_QEMU_HF_GUEST (1u << 21)
#define NV_QEMU_HF2_GIF (1u << 0)

typedef enum NvQemuContainer {
        NV_QEMU_CONTAINER_STREAM = 0,  /* a bare migration stream */
        NV_QEMU_CONTAINER_LIBVIRT = 1, /* a libvirt save image */
} NvQemuContainer;

/* What the `cpu` section says about one vCPU. */
typedef struct NvQemuVcpu {
        uint32_t index;        /* the section's instance id */
        uint32_t hflags;       /* env.hflags */
        uint32_t hflags2;      /* env.hflags2 */
        uint64_t efer;         /* env.efer */
        uint64_t vm_hsave;     /* env.vm_hsave: L1's host save area (SVM) */
        uint64_t cr0;          /* env.cr[0]: the CR0 QEMU puts before the nested state (L2's in guest mode) */
        bool have_cpu_fields;  /* all five above were found */
        uint32_t seen;         /* the reader's record of the fields found */
        /* Where things are in the file (uncompressed images; in the decompressed stream otherwise). */
        uint64_t off_hflags, off_hflags2, off_efer;
        uint64_t off_section_end; /* after the last subsection, where the section footer starts */
        uint64_t off_data;        /* the vmcb12 or vmcs12 bytes, 0 if none */
        bool have_nested;      /* the cpu/nested_state subsection was there */
        /* The stream's own header fields, as QEMU wrote them. */
        uint16_t stream_flags;
        uint16_t format;
        uint32_t size;
        bool have_vmx, have_vmcs12, have_shadow_vmcs12, have_svm;
        /*
         * The struct kvm_nested_state QEMU would pass to the kernel: the
         * stream's header with GUEST_MODE and GIF_SET taken from hflags and
         * hflags2, as QEMU does; what the stream does not carry is zero.
         * Empty when there is no nested subsection or QEMU itself would
         * refuse it (qemu_refusal).
         */
        NvBlob blob;
        /*
         * A refusal QEMU makes itself while loading, before the kernel sees
         * anything (static, untranslated: pass through _()); NULL if none.
         * qemu_field names the field.
         */
        const char *qemu_refusal;
        const char *qemu_field;
        uint64_t qemu_value;
} NvQemuVcpu;

typedef struct NvQemuImage {
        NvQemuContainer container;
        /* libvirt's header (container NV_QEMU_CONTAINER_LIBVIRT) */
        uint32_t libvirt_version;
        uint32_t libvirt_was_running;
        uint32_t libvirt_format; /* 0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop, 5 zstd */
        char *domain_xml;        /* NUL-terminated */
        uint64_t stream_offset;  /* where the (compressed) stream starts in the file */
        /* the stream */
        char machine[128];       /* the configuration section's machine type, "" if none */
        uint32_t page_size;
        unsigned n_sections;     /* device sections read */
        uint64_t off_devices;    /* the first full device section, after the RAM */
        uint64_t off_vmdesc;     /* the layout description's type byte */
        size_t n_vcpus;
        NvQemuVcpu *vcpus;       /* in stream order (ascending instance id in practice) */
} NvQemuImage;

NvQemuImage *nv_qemu_image_free(NvQemuImage *img);
NV_DEFINE_FREEP(NvQemuImage *, nv_qemu_image_free)

/* Whether buf starts like a QEMU stream or a (complete or partial) libvirt save image. */
bool nv_qemu_is_image(const uint8_t *buf, size_t len);

/*
 * Parses an image held in memory.  A compressed libvirt image is refused
 * here (-EOPNOTSUPP after the header and XML were checked): decompression
 * needs the file, see nv_qemu_image_read().
 */
int nv_qemu_image_parse(const uint8_t *buf, size_t len, NvQemuImage **ret, NvError **reterr);

/*
 * Reads the file at path: a stream or a libvirt image, raw or compressed
 * (through a pipe from the program libvirt's header names, found in PATH).
 * RAM pages are skipped, never held; only the device state after them is
 * held, at most NV_QEMU_TAIL_MAX bytes.  Errors name the file and offset.
 */
int nv_qemu_image_read(const char *path, NvQemuImage **ret, NvError **reterr);

/* "raw", "gzip", ... for libvirt's format number; NULL if unknown. */
const char *nv_qemu_libvirt_format_name(uint32_t format);

/* The nested format of the image's vCPUs (the first with nested state), or -1 if none has any. */
int nv_qemu_image_vendor(const NvQemuImage *img);

/*
 * The facts the stream gives the validator about the vCPU the state is
 * loaded into: EFER.SVME, EFER.LMA and CR0 (QEMU puts the registers
 * before the nested state), SMM.  Other facts are left as ctx has them.
 */
void nv_qemu_validate_context(const NvQemuVcpu *v, NvValidateContext *ctx);

/*
 * Why v has no nested state, as a static untranslated sentence (pass
 * through _()); NULL when it has some.
 */
const char *nv_qemu_vcpu_no_nested_reason(const NvQemuVcpu *v);

/* What to know about the stream's nested state of this format (what it does not carry, what it means), as static untranslated sentences; returns how many. */
size_t nv_qemu_not_carried(int format, const char **ret, size_t max);

NV_END_DECLS
