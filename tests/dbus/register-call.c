/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calls nestvirtd's RegisterVmm with a channel of the given kind, for the
 * refusals busctl cannot test (it passes no file descriptors): prints the
 * reply or the error, exit status 0 only on success.
 *
 *   register-call UUID file|socket     on $DBUS_SYSTEM_BUS_ADDRESS
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

int main(int argc, char **argv) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        const char *path;
        int fds[2], fd, r;

        if (argc != 3 || (strcmp(argv[2], "file") != 0 && strcmp(argv[2], "socket") != 0)) {
                fprintf(stderr, "Usage: register-call UUID file|socket\n");
                return 2;
        }
        if (strcmp(argv[2], "file") == 0)
                fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        else
                fd = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -1 : fds[0];
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
