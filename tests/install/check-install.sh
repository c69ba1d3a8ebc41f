#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the build into a DESTDIR and builds a sample VMM against the
# installed headers and libnestvirt-agent.pc, as a VMM author would.
set -euo pipefail
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest meson install -C "$build" --quiet
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pc=$(find "$dest" -name libnestvirt-agent.pc | head -n1)
[ -n "$pc" ] || { echo "libnestvirt-agent.pc not installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cc -o "$dest/vmm-sample" "$(dirname "$0")/vmm-sample.c" $(pkg-config --cflags --libs --static libnestvirt-agent)
"$dest/vmm-sample"
test -x "$dest$prefix/bin/nestvirt"
"$dest$prefix/bin/nestvirt" --help >/dev/null
echo "install: libnestvirt-agent.pc, headers and nestvirt installed; a sample VMM builds and runs"
