#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build into a DESTDIR and checks the installed tree against
# tests/install/expected-tree.txt; runs the installed nestvirt, and checks
# that the hook and the unit run the installed binary; checks that what a
# VMM author gets is the nv_ API only (no simulator, no unprefixed global,
# no macro.h vocabulary, extern "C"); builds a sample VMM against the
# installed headers and libnestvirt-agent.pc, as C and as C++.
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

# 3. The installed libraries: every global they define carries nv_, and
# nothing of the simulated KVM (src/sim/) is in them, defined or referenced.
fail() { echo "install: $*" >&2; exit 1; }
libs=$(find "$dest" -name '*.a')
[[ -n $libs ]] || fail "no installed library"
for lib in $libs; do
        nm -g "$lib" | awk 'NF >= 2 { print $(NF - 1), $NF }' >"$work/syms"
        bad=$(awk '$1 != "U" && $2 !~ /^nv_/ { print $2 }' "$work/syms" | sort -u)
        [[ -z $bad ]] || fail "$lib exports globals without the nv_ prefix:" $bad
        bad=$(awk '$2 ~ /^(nv_)?sim_/ { print $2 }' "$work/syms" | sort -u)
        [[ -z $bad ]] || fail "$lib has simulator symbols:" $bad
done

# 4. The installed headers: none brings the project's internal vocabulary
# (macro.h: _(), _cleanup_, freep) into a VMM's sources, and each compiles
# alone as C and as C++.
includedir=$(dirname "$(find "$dest" -name agent.h | head -n1)")
for h in "$includedir"/*.h; do
        grep -Eq '#[[:space:]]*include[[:space:]]*[<"](nestvirt/)?macro\.h[">]' "$h" && fail "$h includes macro.h"
        grep -Eq '#[[:space:]]*define[[:space:]]+(_|_cleanup_|freep)\b' "$h" && fail "$h defines _, _cleanup_ or freep"
        grep -Eq '\bfreep[[:space:]]*\(' "$h" && fail "$h declares freep"
        for lang in c c++; do
                echo "#include <nestvirt/$(basename "$h")>" |
                        $([[ $lang == c ]] && echo cc || echo c++) -fsyntax-only -x $lang -I"$(dirname "$includedir")" \
                        $(pkg-config --cflags libsystemd) - || fail "$h does not compile alone as $lang"
        done
done

# 5. A VMM built against the installed agent, in C and in C++ (where only
# the headers' extern "C" lets it link).
pc=$(find "$dest" -name libnestvirt-agent.pc | head -n1)
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cc -o "$work/vmm-sample" "$here/vmm-sample.c" $(pkg-config --cflags --libs --static libnestvirt-agent)
"$work/vmm-sample"
c++ -std=c++20 -x c++ -o "$work/vmm-sample-cxx" "$here/vmm-sample.c" -x none $(pkg-config --cflags --libs --static libnestvirt-agent)
"$work/vmm-sample-cxx"
echo "install: $(wc -l <"$work/installed") files where expected-tree.txt says; the installed nestvirt runs, the hook and the unit run it; the installed libraries export nv_ globals only and no simulator; the installed headers stay clear of macro.h's vocabulary and compile alone as C and C++; a sample VMM builds against libnestvirt-agent.pc as C and C++ and runs"
