#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Clients of org.nestvirt.Vmm1 written against libdbus (python3-dbus) and
# GDBus (Gio through python3-gi), for tests/test-vmm-clients.sh.  Each
# subcommand prints what it saw, one fact a line; the shell test checks.
#
#   vmm-clients.py ADDRESS calls dbus|gio N     N calls, a new connection each: "answered K"
#   vmm-clients.py ADDRESS freeze-holds          per-caller freezes, kept freezes, Thaw all
#   vmm-clients.py ADDRESS bad-option            Freeze with keep-frozen as a string
#   vmm-clients.py ADDRESS idle-hold SECONDS     freeze, stay silent, report what happened
#   vmm-clients.py ADDRESS frozen                the Frozen property
#   vmm-clients.py ADDRESS hold-open N SECONDS   N connections that say nothing, held open
import socket
import sys
import time

import dbus

PATH, IFACE, PROPS = "/org/nestvirt/Vmm1", "org.nestvirt.Vmm1", "org.freedesktop.DBus.Properties"


def connect(address):
    return dbus.connection.Connection(address)


def vmm(conn):
    return dbus.Interface(conn.get_object(None, PATH, introspect=False), IFACE)


def frozen(conn):
    return bool(conn.get_object(None, PATH, introspect=False).Get(IFACE, "Frozen", dbus_interface=PROPS, timeout=5))


def freeze(conn, keep=False):
    opts = dbus.Dictionary({"keep-frozen": dbus.Boolean(True)} if keep else {}, signature="sv")
    return int(vmm(conn).Freeze(opts, timeout=5))


def thaw(conn, token, all_holds=False):
    opts = dbus.Dictionary({"all": dbus.Boolean(True)} if all_holds else {}, signature="sv")
    vmm(conn).Thaw(dbus.UInt64(token), opts, timeout=5)


def calls_dbus(address, n):
    answered = 0
    for _ in range(n):
        conn = connect(address)
        try:
            answered += int(conn.get_object(None, PATH, introspect=False).Get(IFACE, "VcpuCount", dbus_interface=PROPS, timeout=3)) > 0
        except dbus.exceptions.DBusException as e:
            print("# " + str(e))
        conn.close()
    return answered


def calls_gio(address, n):
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib
    answered = 0
    for _ in range(n):
        conn = Gio.DBusConnection.new_for_address_sync(address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        try:
            v = conn.call_sync(None, PATH, PROPS, "Get", GLib.Variant("(ss)", (IFACE, "VcpuCount")), None, 0, 3000, None)
            answered += v.unpack()[0] > 0
        except GLib.Error as e:
            print("# " + str(e))
        conn.close_sync(None)
    return answered


def error_name(f, *args):
    try:
        f(*args)
        return "none"
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name()


def freeze_holds(address):
    a, b = connect(address), connect(address)
    ta, tb = freeze(a), freeze(b)
    print("distinct tokens", ta != tb)
    thaw(a, ta)
    print("after A's thaw, frozen for B", frozen(b))
    print("A's token again", error_name(thaw, a, ta))
    thaw(b, tb)
    print("after B's thaw", frozen(b))
    # A kept freeze outlives its caller, and another caller's freeze and thaw.
    tk = freeze(a, keep=True)
    a.close()
    c = connect(address)
    print("kept, caller gone", frozen(c))
    tc = freeze(c)
    thaw(c, tc)
    print("kept, after another caller's freeze and thaw", frozen(c))
    # A plain freeze ends with its connection; the kept one stays.
    d = connect(address)
    freeze(d)
    d.close()
    time.sleep(0.3)
    print("kept, after a plain holder hung up", frozen(c))
    thaw(c, tk)
    print("after the kept token's thaw", frozen(c))
    print("thaw when not frozen", error_name(thaw, c, tk))
    # An operator's thaw ends every hold, whoever made them.
    freeze(c, keep=True)
    freeze(b)
    thaw(c, 0, all_holds=True)
    print("after thaw all", frozen(c))


def bad_option(address):
    conn = connect(address)
    opts = dbus.Dictionary({"keep-frozen": dbus.String("yes")}, signature="sv")
    try:
        vmm(conn).Freeze(opts, timeout=5)
        print("accepted")
    except dbus.exceptions.DBusException as e:
        print(e.get_dbus_name(), e.get_dbus_message())
    print("frozen after", frozen(conn))


def idle_hold(address, seconds):
    a = connect(address)
    freeze(a)
    b = connect(address)
    print("frozen before", frozen(b))
    b.close()
    time.sleep(seconds)
    c = connect(address)
    print("frozen after the holder was silent", frozen(c))
    print("silent connection", "closed" if error_name(frozen, a) != "none" else "open")


def hold_open(address, n, seconds):
    path = address.split("unix:path=", 1)[1]
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        socks.append(s)
    print("holding", len(socks), flush=True)
    time.sleep(seconds)


def main():
    address, cmd = sys.argv[1], sys.argv[2]
    if cmd == "calls":
        n = int(sys.argv[4])
        print("answered", (calls_dbus if sys.argv[3] == "dbus" else calls_gio)(address, n))
    elif cmd == "freeze-holds":
        freeze_holds(address)
    elif cmd == "bad-option":
        bad_option(address)
    elif cmd == "idle-hold":
        idle_hold(address, float(sys.argv[3]))
    elif cmd == "frozen":
        print("frozen", frozen(connect(address)))
    elif cmd == "hold-open":
        hold_open(address, int(sys.argv[3]), float(sys.argv[4]))


main()
