/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The containers around a QEMU stream: a bare stream file, or libvirt's
 * save image (header, domain XML, then the stream, raw or compressed by the
 * program the header names, which is run to decompress it through a pipe).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byteorder.h"
#include "macro.h"
#include "qemu-private.h"

/* libvirt's virQEMUSaveFormat: the on-disk numbers, and the program that writes and reads each. */
static const char *const format_names[] = { "raw", "gzip", "bzip2", "xz", "lzop", "zstd" };

const char *nv_qemu_libvirt_format_name(uint32_t format) {
        return format < ELEMENTSOF(format_names) ? format_names[format] : NULL;
}

NvQemuImage *nv_qemu_image_free(NvQemuImage *img) {
        if (!img)
                return NULL;
        for (size_t i = 0; i < img->n_vcpus; i++)
                nv_blob_clear(&img->vcpus[i].blob);
        free(img->vcpus);
        free(img->domain_xml);
        free(img);
        return NULL;
}

bool nv_qemu_is_image(const uint8_t *buf, size_t len) {
        return (len >= 4 && memcmp(buf, NV_QEMU_STREAM_MAGIC, 4) == 0) ||
               (len >= 16 && (memcmp(buf, NV_QEMU_LIBVIRT_MAGIC, 16) == 0 || memcmp(buf, NV_QEMU_LIBVIRT_PARTIAL, 16) == 0));
}

int nv_qemu_image_vendor(const NvQemuImage *img) {
        for (size_t i = 0; i < img->n_vcpus; i++)
                if (img->vcpus[i].have_nested && !img->vcpus[i].qemu_refusal)
                        return img->vcpus[i].format;
        return -1;
}

/* libvirt's 92-byte header: checks it and returns the length of the data (XML, cookie, padding) after it. */
static int libvirt_header(const uint8_t *h, NvQemuImage *img, uint32_t *ret_data_len, NvError **reterr) {
        uint32_t version = get_le32(h + 16), data_len = get_le32(h + 20);

        if (memcmp(h, NV_QEMU_LIBVIRT_PARTIAL, 16) == 0)
                return nv_error_set(reterr, -EBADMSG, _("The libvirt save image is incomplete (its magic is still 'LibvirtQemudPart': "
                                                        "the save did not finish)."));
        if (memcmp(h, NV_QEMU_LIBVIRT_MAGIC, 16) != 0)
                return nv_error_set(reterr, -EBADMSG, _("Not a libvirt save image (no LibvirtQemudSave magic)."));
        if (version < 1 || version > 2)
                return nv_error_set(reterr, -EOPNOTSUPP, _("The libvirt save image has header version %u; this reader knows 1 and 2."), version);
        if (data_len == 0 || data_len > NV_QEMU_LIBVIRT_DATA_MAX)
                return nv_error_set(reterr, -EBADMSG, _("The libvirt save image's domain XML length %u is out of range (1..%u)."), data_len,
                                    NV_QEMU_LIBVIRT_DATA_MAX);
        img->container = NV_QEMU_CONTAINER_LIBVIRT;
        img->libvirt_version = version;
        img->libvirt_was_running = get_le32(h + 24);
        img->libvirt_format = get_le32(h + 28);
        if (!nv_qemu_libvirt_format_name(img->libvirt_format))
                return nv_error_set(reterr, -EOPNOTSUPP, _("The libvirt save image names compression format %u, which libvirt does not define."),
                                    img->libvirt_format);
        img->stream_offset = (uint64_t) NV_QEMU_LIBVIRT_HEADER_SIZE + data_len;
        *ret_data_len = data_len;
        return 0;
}

/* The domain XML: up to the cookie (version 2) or the first NUL. */
static int libvirt_xml(const uint8_t *h, const uint8_t *data, uint32_t data_len, NvQemuImage *img, NvError **reterr) {
        uint32_t cookie = img->libvirt_version >= 2 ? get_le32(h + 32) : 0;
        size_t xml_len = strnlen((const char *) data, cookie > 0 && cookie <= data_len ? cookie : data_len);

        if (xml_len == 0 || xml_len == data_len)
                return nv_error_set(reterr, -EBADMSG, _("The libvirt save image's domain XML is empty or not NUL-terminated."));
        img->domain_xml = strndup((const char *) data, xml_len);
        return img->domain_xml ? 0 : -ENOMEM;
}

int nv_qemu_image_parse(const uint8_t *buf, size_t len, NvQemuImage **ret, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = calloc(1, sizeof(*img));
        NvQemuReader r;
        uint32_t data_len;
        int k;

        if (!img)
                return -ENOMEM;
        if (len >= 16 && memcmp(buf, NV_QEMU_STREAM_MAGIC, 4) != 0) {
                if (len < NV_QEMU_LIBVIRT_HEADER_SIZE)
                        return nv_error_set(reterr, -EBADMSG, _("The libvirt save image is shorter than its 92-byte header."));
                if ((k = libvirt_header(buf, img, &data_len, reterr)) < 0)
                        return k;
                if (data_len > len - NV_QEMU_LIBVIRT_HEADER_SIZE)
                        return nv_error_set(reterr, -EBADMSG, _("The libvirt save image ends inside its domain XML."));
                if ((k = libvirt_xml(buf, buf + NV_QEMU_LIBVIRT_HEADER_SIZE, data_len, img, reterr)) < 0)
                        return k;
                if (img->libvirt_format != 0)
                        return nv_error_set(reterr, -EOPNOTSUPP, _("The libvirt save image is compressed (%s); it has to be read from its file."),
                                            nv_qemu_libvirt_format_name(img->libvirt_format));
        }
        nv_qemu_reader_mem(&r, buf + img->stream_offset, len - (size_t) img->stream_offset, img->stream_offset);
        k = nv_qemu_stream_parse(&r, img, reterr);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(img);
        return 0;
}

/* Starts `PROGRAM -dc` reading fd from its current offset; returns the read end of its output. */
static int spawn_decompressor(const char *program, int fd, pid_t *ret_pid, NvError **reterr) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return nv_error_set(reterr, -errno, _("Cannot make a pipe: %s"), strerror(errno));
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return nv_error_set(reterr, -e, _("Cannot start %s: %s"), program, strerror(e));
        }
        if (pid == 0) {
                if (dup2(fd, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execlp(program, program, "-dc", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        *ret_pid = pid;
        return p[0];
}

/*
 * Collects the decompressor.  A program that failed (not installed, bad
 * data) explains a cut-short stream better than the parser can; one killed
 * by SIGPIPE was only stopped by a parse that had already failed.
 */
static int reap(pid_t pid, const char *program, int parsed, NvError **reterr) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return parsed;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
                return parsed;
        nv_error_clear(reterr);
        if (WEXITSTATUS(status) == 127)
                return nv_error_set(reterr, -ENOENT, _("The image is compressed with %s, which is not installed here."), program);
        return nv_error_set(reterr, -EBADMSG, _("%s -dc could not decompress the image (exit status %d)."), program, WEXITSTATUS(status));
}

static int read_stream_fd(int fd, bool seekable, NvQemuImage *img, NvError **reterr) {
        NvQemuReader r;
        int k;

        k = nv_qemu_reader_fd(&r, fd, seekable, img->libvirt_format ? 0 : img->stream_offset);
        if (k < 0)
                return k;
        k = nv_qemu_stream_parse(&r, img, reterr);
        nv_qemu_reader_done(&r);
        return k;
}

static int read_libvirt(int fd, const uint8_t *h, NvQemuImage *img, NvError **reterr) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_close_ int out = -1;
        uint32_t data_len;
        pid_t pid = -1;
        ssize_t n;
        int k;

        if ((k = libvirt_header(h, img, &data_len, reterr)) < 0)
                return k;
        data = malloc(data_len);
        if (!data)
                return -ENOMEM;
        n = pread(fd, data, data_len, NV_QEMU_LIBVIRT_HEADER_SIZE);
        if (n != (ssize_t) data_len)
                return nv_error_set(reterr, -EBADMSG, _("The libvirt save image ends inside its domain XML."));
        if ((k = libvirt_xml(h, data, data_len, img, reterr)) < 0)
                return k;
        if (lseek(fd, (off_t) img->stream_offset, SEEK_SET) < 0)
                return nv_error_set(reterr, -errno, _("Cannot seek in the image: %s"), strerror(errno));
        if (img->libvirt_format == 0)
                return read_stream_fd(fd, true, img, reterr);
        out = spawn_decompressor(nv_qemu_libvirt_format_name(img->libvirt_format), fd, &pid, reterr);
        if (out < 0)
                return out;
        k = read_stream_fd(out, false, img, reterr);
        out = safe_close(out);
        return reap(pid, nv_qemu_libvirt_format_name(img->libvirt_format), k, reterr);
}

int nv_qemu_image_read(const char *path, NvQemuImage **ret, NvError **reterr) {
        _cleanup_(nv_qemu_image_freep) NvQemuImage *img = calloc(1, sizeof(*img));
        _cleanup_close_ int fd = -1;
        uint8_t h[NV_QEMU_LIBVIRT_HEADER_SIZE] = {};
        ssize_t n;
        int k;

        if (!img)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return nv_error_set(reterr, -errno, _("Cannot open '%s': %s"), path, strerror(errno));
        n = pread(fd, h, sizeof(h), 0);
        if (n < 0)
                return nv_error_set(reterr, -errno, _("Cannot read '%s': %s"), path, strerror(errno));
        if (!nv_qemu_is_image(h, (size_t) n))
                return nv_error_set(reterr, -EBADMSG, _("'%s' is neither a QEMU migration stream nor a libvirt save image."), path);
        if (memcmp(h, NV_QEMU_STREAM_MAGIC, 4) == 0)
                k = read_stream_fd(fd, true, img, reterr);
        else if ((size_t) n < sizeof(h))
                k = nv_error_set(reterr, -EBADMSG, _("The libvirt save image is shorter than its 92-byte header."));
        else
                k = read_libvirt(fd, h, img, reterr);
        if (k < 0)
                return nv_error_wrap(reterr, k, "%s", path);
        *ret = TAKE_PTR(img);
        return 0;
}
