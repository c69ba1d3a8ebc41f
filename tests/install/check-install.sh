#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build into a DESTDIR and checks the installed tree against
# tests/install/expected-tree.txt; runs the installed nestvirt, and checks
# that the hook and the unit run the installed binary; builds a sample VMM
# against the installed headers and libnestvirt-agent.pc, as a VMM author
# would.
set -euo pipefail
build=$1
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/root
DESTDIR=$dest meson install -C "$build" --quiet

# The directory options as absolute paths (sysconfdir is /etc, outside the
# prefix, when the prefix is /usr).
option() {
        meson introspect "$build" --buildoptions |
                python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1"
}
prefix=$(option prefix)
absolute() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
sysconfdir=$(absolute "$(option sysconfdir)")
libdir=$(absolute "$(option libdir)")
bindir=$(absolute "$(option bindir)")
libexecdir=$(absolute "$(option libexecdir)")

# 1. The installed tree, file by file, against the expected list.
grep -v '^#' "$here/expected-tree.txt" |
        sed -e "s|@PREFIX@|$prefix|" -e "s|@SYSCONFDIR@|$sysconfdir|" -e "s|@LIBDIR@|$libdir|" |
        LC_ALL=C sort >"$work/expected"
(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort) >"$work/installed"
if ! diff -u "$work/expected" "$work/installed"; then
        echo "install: the installed tree differs from tests/install/expected-tree.txt (- expected, + installed)" >&2
        exit 1
fi

# 2. The installed programs run from the tree (they link the project's
# libraries statically), and what libvirt and systemd run is that binary.
nestvirt=$dest$bindir/nestvirt
"$nestvirt" --help >/dev/null
"$nestvirt" capabilities >/dev/null
"$dest$libexecdir/nestvirt/nestvirt-testvmm" --help >/dev/null
hook=$dest$sysconfdir/libvirt/hooks/qemu.d/nestvirt-hook
[[ -x $hook ]] && grep -qx "exec $bindir/nestvirt hook \"\$@\"" "$hook" ||
        { echo "install: $hook is not executable or does not run $bindir/nestvirt" >&2; exit 1; }
unit=$(find "$dest" -name nestvirt-maintenance.service)
grep -q "^ExecStop=$bindir/nestvirt " "$unit" || { echo "install: $unit does not run $bindir/nestvirt" >&2; exit 1; }
sbindir=$(absolute "$(option sbindir)")
"$dest$sbindir/nestvirtd" --help >/dev/null
unit=$(find "$dest" -name nestvirtd.service)
grep -q "^ExecStart=$sbindir/nestvirtd " "$unit" || { echo "install: $unit does not run $sbindir/nestvirtd" >&2; exit 1; }
xmllint --noout "$(find "$dest" -name org.nestvirt.policy)" "$(find "$dest" -name org.nestvirt.NestedState1.conf)"

# 3. A VMM built against the installed agent.
pc=$(find "$dest" -name libnestvirt-agent.pc | head -n1)
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cc -o "$work/vmm-sample" "$here/vmm-sample.c" $(pkg-config --cflags --libs --static libnestvirt-agent)
"$work/vmm-sample"
echo "install: $(wc -l <"$work/installed") files where expected-tree.txt says; the installed nestvirt runs, the hook and the unit run it; a sample VMM builds against libnestvirt-agent.pc and runs"
