#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates the real QEMU files in this directory on Debian 12 (QEMU 7.2,
# libvirt 9.0) under TCG: no KVM, so no nested state, but QEMU's real
# stream format, layout description and libvirt's real save header.
# Nested state is written into copies of them by the test generator
# (tests/qemu-gen.c) at test time.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work" # QEMU runs as libvirt-qemu and must reach its files
trap 'rm -rf "$work"' EXIT

# A bare stream, as `migrate "exec:cat > FILE"` writes it: 2 vCPUs, 16 MiB, no devices.
printf 'migrate "exec:cat > %s"\nquit\n' "$work/s.qemu" |
        qemu-system-x86_64 -nodefaults -display none -accel tcg -m 16 -smp 2 -S -M pc-i440fx-7.2 -monitor stdio >/dev/null
cp "$work/s.qemu" "$out/tcg-pc-2vcpu.qemu"

# The reference VMM's L1 hypervisor (tests/e2e/qemu-l1) under TCG with SVM, stopped while its L2
# runs: hflags has HF_GUEST but TCG keeps no KVM nested state, and QEMU 7.2 refuses to load its own
# stream ("vCPU set in guest-mode inconsistent with migrated kernel nested state").  Needs the build.
l1=${NESTVIRT_BUILD:-$out/../../../build}/tests/qemu-l1.bin
if [[ -r $l1 ]]; then
        { sleep 3; printf 'stop\nmigrate "exec:cat > %s"\n' "$work/l2.qemu"; sleep 3; echo quit; } |
                qemu-system-x86_64 -nodefaults -display none -net none -accel tcg -cpu max -m 16 -smp 2 \
                        -M pc-i440fx-7.2 -kernel "$l1" -monitor stdio >/dev/null
        xz -9 -c "$work/l2.qemu" >"$out/tcg-svm-l2.qemu.xz"
fi

# libvirt save images from libvirt's QEMU driver run in-process (no daemon).
mkdir -p "$work/root/etc"
cat >"$work/dom.xml" <<XML
<domain type='qemu'>
  <name>nv-tcg</name>
  <memory unit='MiB'>16</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
for fmt in raw gzip; do
        printf 'stdio_handler = "file"\nsave_image_format = "%s"\n' "$fmt" >"$work/root/etc/qemu.conf"
        virsh -q -c "qemu:///embed?root=$work/root" "create $work/dom.xml --paused; save nv-tcg $work/$fmt.save" >/dev/null
        cp "$work/$fmt.save" "$out/libvirt-$fmt.save"
done
