/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The front of a QEMU migration stream: magic and version, the
 * configuration section, and the RAM sections, whose pages are skipped.
 * The first full device section hands over to qemu-devices.c, which reads
 * the rest (device state and the layout description) from memory.
 * docs/qemu-state.md describes the format.
 */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "qemu-private.h"

/* RAM page record flags (the low bits of the BE u64 address). */
enum {
        RAM_ZERO = 0x02,
        RAM_MEM_SIZE = 0x04,
        RAM_PAGE = 0x08,
        RAM_EOS = 0x10,
        RAM_CONTINUE = 0x20,
        RAM_XBZRLE = 0x40,
        RAM_HOOK = 0x80,
        RAM_COMPRESS = 0x100,
        RAM_MULTIFD_FLUSH = 0x200,
};

#define RAM_SECTION_VERSION 4u
#define XBZRLE_MAX 65536u

typedef struct StreamState {
        bool ignore_shared;      /* the x-ignore-shared capability: each RAM block names its address */
        uint32_t ram_section_id;
        bool have_ram;
        uint32_t last_section_id;
} StreamState;

static uint64_t where(const NvQemuReader *r) {
        return r->base + r->pos;
}

/* The configuration subsections QEMU knows (savevm.c); any other stops the reader, as it would stop QEMU. */
static int config_subsection(NvQemuReader *r, NvQemuImage *img, StreamState *st, NvError **reterr) {
        char name[256], cap[256];
        uint32_t version, v, n;
        int k;

        if ((k = nv_qemu_read_str8(r, name, reterr)) < 0 || (k = nv_qemu_read_be32(r, &version, reterr)) < 0)
                return k;
        if (streq(name, "configuration/target-page-bits")) {
                if ((k = nv_qemu_read_be32(r, &v, reterr)) < 0)
                        return k;
                if (v < 12 || v > 16)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's target page bits are %u at offset 0x%llx."), v,
                                            (unsigned long long) where(r));
                img->page_size = 1u << v;
                return 0;
        }
        if (streq(name, "configuration/capabilities")) {
                if ((k = nv_qemu_read_be32(r, &n, reterr)) < 0)
                        return k;
                if (n > 256)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream lists %u capabilities at offset 0x%llx."), n,
                                            (unsigned long long) where(r));
                for (uint32_t i = 0; i < n; i++) {
                        if ((k = nv_qemu_read_str8(r, cap, reterr)) < 0)
                                return k;
                        st->ignore_shared |= streq(cap, "x-ignore-shared");
                }
                return 0;
        }
        if (streq(name, "configuration/uuid"))
                return nv_qemu_skip(r, 16, reterr);
        return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream's configuration has a subsection '%s' this reader does not know (offset 0x%llx)."),
                            name, (unsigned long long) where(r));
}

static int read_configuration(NvQemuReader *r, NvQemuImage *img, StreamState *st, NvError **reterr) {
        uint32_t len;
        int k;

        if ((k = nv_qemu_read_be32(r, &len, reterr)) < 0)
                return k;
        if (len >= sizeof(img->machine))
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's machine type is %u bytes long at offset 0x%llx."), len,
                                    (unsigned long long) where(r));
        if ((k = nv_qemu_read(r, img->machine, len, reterr)) < 0)
                return k;
        img->machine[len] = '\0';
        for (;;) {
                uint8_t t;

                /* Subsections follow while the next byte says so. */
                k = nv_qemu_peek(r, &t, reterr);
                if (k <= 0 || t != NV_QEMU_SEC_SUBSECTION)
                        return k;
                if ((k = nv_qemu_read_u8(r, &t, reterr)) < 0 || (k = config_subsection(r, img, st, reterr)) < 0)
                        return k;
        }
}

/* One RAM block list entry of the setup record (MEM_SIZE). */
static int ram_blocks(NvQemuReader *r, uint64_t total, const StreamState *st, NvError **reterr) {
        unsigned n = 0;

        while (total > 0) {
                char id[256];
                uint64_t used, addr;
                int k;

                if (++n > 4096)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream lists more than 4096 RAM blocks (offset 0x%llx)."),
                                            (unsigned long long) where(r));
                if ((k = nv_qemu_read_str8(r, id, reterr)) < 0 || (k = nv_qemu_read_be64(r, &used, reterr)) < 0)
                        return k;
                if (used > total)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's RAM block '%s' (%llu bytes) exceeds the announced total at offset 0x%llx."),
                                            id, (unsigned long long) used, (unsigned long long) where(r));
                total -= used;
                if (st->ignore_shared && (k = nv_qemu_read_be64(r, &addr, reterr)) < 0)
                        return k;
        }
        return 0;
}

/* One RAM section's records up to its end marker; page contents are skipped. */
static int ram_records(NvQemuReader *r, const NvQemuImage *img, const StreamState *st, NvError **reterr) {
        for (;;) {
                uint64_t rec, flags;
                char id[256];
                int k;

                if ((k = nv_qemu_read_be64(r, &rec, reterr)) < 0)
                        return k;
                flags = rec & (img->page_size - 1);
                if (flags & RAM_MEM_SIZE) {
                        if ((k = ram_blocks(r, rec & ~(uint64_t) (img->page_size - 1), st, reterr)) < 0)
                                return k;
                        flags &= ~(uint64_t) RAM_MEM_SIZE;
                }
                if (flags & (RAM_ZERO | RAM_PAGE | RAM_XBZRLE | RAM_COMPRESS)) {
                        if (!(flags & RAM_CONTINUE) && (k = nv_qemu_read_str8(r, id, reterr)) < 0)
                                return k;
                        flags &= ~(uint64_t) RAM_CONTINUE;
                }
                if (flags & RAM_ZERO) {
                        k = nv_qemu_skip(r, 1, reterr);
                        flags &= ~(uint64_t) RAM_ZERO;
                } else if (flags & RAM_PAGE) {
                        k = nv_qemu_skip(r, img->page_size, reterr);
                        flags &= ~(uint64_t) RAM_PAGE;
                } else if (flags & RAM_COMPRESS) {
                        uint32_t n;
                        if ((k = nv_qemu_read_be32(r, &n, reterr)) < 0)
                                return k;
                        if (n > 2 * img->page_size)
                                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has a compressed page of %u bytes at offset 0x%llx."),
                                                    n, (unsigned long long) where(r));
                        k = nv_qemu_skip(r, n, reterr);
                        flags &= ~(uint64_t) RAM_COMPRESS;
                } else if (flags & RAM_XBZRLE) {
                        uint8_t enc, len[2];
                        if ((k = nv_qemu_read_u8(r, &enc, reterr)) < 0 || (k = nv_qemu_read(r, len, 2, reterr)) < 0)
                                return k;
                        k = nv_qemu_skip(r, nv_be16(len), reterr);
                        flags &= ~(uint64_t) RAM_XBZRLE;
                } else if (flags & RAM_HOOK)
                        return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream has an RDMA RAM record at offset 0x%llx, which a file cannot hold."),
                                            (unsigned long long) where(r));
                if (k < 0)
                        return k;
                flags &= ~(uint64_t) RAM_MULTIFD_FLUSH;
                if (flags & RAM_EOS)
                        return 0;
                if (flags != 0)
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has unknown RAM flags 0x%llx at offset 0x%llx."),
                                            (unsigned long long) flags, (unsigned long long) where(r));
        }
}

static int section_start(NvQemuReader *r, NvQemuImage *img, StreamState *st, NvError **reterr) {
        uint32_t id, instance, version;
        char name[256];
        int k;

        if ((k = nv_qemu_read_be32(r, &id, reterr)) < 0 || (k = nv_qemu_read_str8(r, name, reterr)) < 0 ||
            (k = nv_qemu_read_be32(r, &instance, reterr)) < 0 || (k = nv_qemu_read_be32(r, &version, reterr)) < 0)
                return k;
        if (!streq(name, "ram") || instance != 0)
                return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream has an iterative section '%s' this reader does not know (offset 0x%llx)."),
                                    name, (unsigned long long) where(r));
        if (version != RAM_SECTION_VERSION)
                return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream's RAM section has version %u, not %u (offset 0x%llx)."),
                                    version, RAM_SECTION_VERSION, (unsigned long long) where(r));
        st->have_ram = true;
        st->ram_section_id = st->last_section_id = id;
        return ram_records(r, img, st, reterr);
}

static int section_part(NvQemuReader *r, NvQemuImage *img, StreamState *st, NvError **reterr) {
        uint32_t id;
        int k;

        if ((k = nv_qemu_read_be32(r, &id, reterr)) < 0)
                return k;
        if (!st->have_ram || id != st->ram_section_id)
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream continues section %u, which it never started (offset 0x%llx)."),
                                    id, (unsigned long long) where(r));
        st->last_section_id = id;
        return ram_records(r, img, st, reterr);
}

static int section_footer(NvQemuReader *r, const StreamState *st, NvError **reterr) {
        uint32_t id;
        int k;

        if ((k = nv_qemu_read_be32(r, &id, reterr)) < 0)
                return k;
        if (id != st->last_section_id)
                return nv_error_set(reterr, -EBADMSG, _("The QEMU stream's section footer names section %u after section %u (offset 0x%llx)."),
                                    id, st->last_section_id, (unsigned long long) where(r));
        return 0;
}

static int command(NvQemuReader *r, NvError **reterr) {
        uint8_t b[4];
        int k;

        if ((k = nv_qemu_read(r, b, 4, reterr)) < 0)
                return k;
        return nv_qemu_skip(r, nv_be16(b + 2), reterr);
}

/* From the first full device section to the end: into memory (bounded), then qemu-devices.c. */
static int devices(NvQemuReader *r, NvQemuImage *img, NvError **reterr) {
        _cleanup_free_ uint8_t *tail = NULL, *rest = NULL;
        uint64_t base = where(r) - 1;
        size_t len;
        int k;

        img->off_devices = base;
        k = nv_qemu_read_rest(r, NV_QEMU_TAIL_MAX - 1, &rest, &len, reterr);
        if (k < 0)
                return k;
        tail = malloc(len + 1);
        if (!tail)
                return -ENOMEM;
        tail[0] = NV_QEMU_SEC_FULL;
        if (len)
                memcpy(tail + 1, rest, len);
        return nv_qemu_devices_parse(tail, len + 1, base, img, reterr);
}

int nv_qemu_stream_parse(NvQemuReader *r, NvQemuImage *img, NvError **reterr) {
        StreamState st = {};
        uint8_t magic[8];
        int k;

        if ((k = nv_qemu_read(r, magic, sizeof(magic), reterr)) < 0)
                return k;
        if (memcmp(magic, NV_QEMU_STREAM_MAGIC, 4) != 0)
                return nv_error_set(reterr, -EBADMSG, _("No QEMU stream at offset 0x%llx (no QEVM magic)."),
                                    (unsigned long long) r->base);
        if (nv_be32(magic + 4) != 3)
                return nv_error_set(reterr, -EOPNOTSUPP, _("The QEMU stream has version %u; this reader knows version 3."),
                                    nv_be32(magic + 4));
        img->page_size = 4096;
        for (;;) {
                uint8_t t;

                if ((k = nv_qemu_read_u8(r, &t, reterr)) < 0)
                        return k;
                switch (t) {
                case NV_QEMU_SEC_CONFIGURATION:
                        k = read_configuration(r, img, &st, reterr);
                        break;
                case NV_QEMU_SEC_START:
                        k = section_start(r, img, &st, reterr);
                        break;
                case NV_QEMU_SEC_PART:
                case NV_QEMU_SEC_END:
                        k = section_part(r, img, &st, reterr);
                        break;
                case NV_QEMU_SEC_FOOTER:
                        k = section_footer(r, &st, reterr);
                        break;
                case NV_QEMU_SEC_COMMAND:
                        k = command(r, reterr);
                        break;
                case NV_QEMU_SEC_FULL:
                        return devices(r, img, reterr);
                case NV_QEMU_SEC_EOF:
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream ends at offset 0x%llx without any device state."),
                                            (unsigned long long) where(r));
                default:
                        return nv_error_set(reterr, -EBADMSG, _("The QEMU stream has an unknown section type 0x%02x at offset 0x%llx."),
                                            t, (unsigned long long) (where(r) - 1));
                }
                if (k < 0)
                        return k;
        }
}
