/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calls nestvirtd's RegisterVmm with a channel of the given kind, for the
 * refusals busctl cannot test (it passes no file descriptors): prints the
 * reply or the error, exit status 0 only on success.
 *
 *   register-call UUID KIND     on $DBUS_SYSTEM_BUS_ADDRESS
 *
 * KIND: file (/dev/null), socket (one end of a connected pair), listening
 * (a listening unix stream socket), unconnected (a unix stream socket
 * never connected), dgram (one end of a unix datagram pair).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

static int channel(const char *kind) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX }; /* Linux autobind: an abstract name of its own */
        int fds[2], fd;

        if (strcmp(kind, "file") == 0)
                return open("/dev/null", O_RDWR | O_CLOEXEC);
        if (strcmp(kind, "socket") == 0 || strcmp(kind, "dgram") == 0)
                return socketpair(AF_UNIX, (kind[0] == 's' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0, fds) < 0 ? -1 : fds[0];
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && strcmp(kind, "listening") == 0 &&
            (bind(fd, (struct sockaddr *) &sa, sizeof(sa_family_t)) < 0 || listen(fd, 1) < 0))
                return -1;
        return fd;
}

int main(int argc, char **argv) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        const char *path;
        int fd, r;

        if (argc != 3 || !strstr(" file socket listening unconnected dgram ", argv[2])) {
                fprintf(stderr, "Usage: register-call UUID file|socket|listening|unconnected|dgram\n");
                return 2;
        }
        fd = channel(argv[2]);
        if (fd < 0 || (r = sd_bus_open_system(&bus)) < 0) {
                perror("register-call");
                return 1;
        }
        r = sd_bus_call_method(bus, "org.nestvirt.NestedState1", "/org/nestvirt/NestedState1", "org.nestvirt.NestedState1.Manager",
                               "RegisterVmm", &e, &reply, "sha{sv}", argv[1], fd, 0);
        if (r < 0)
                printf("%s: %s\n", e.name ?: "error", e.message ?: strerror(-r));
        else if (sd_bus_message_read(reply, "o", &path) >= 0)
                printf("%s\n", path);
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 1 : 0;
}
