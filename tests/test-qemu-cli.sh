#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# inspect, verify and unpack on QEMU migration streams and libvirt save
# images: the real TCG files of tests/data/qemu, and copies the test
# generator (qemu-nested-gen) wrote nested state into, from the raw blobs
# of the fuzz corpus; damaged copies are refused with rule and field.
set -u
NESTVIRT=$1
GEN=$2   # build/tests/qemu-nested-gen
DATA=$3  # tests/data/qemu
BLOBS=$4 # tests/fuzz/corpus-blob

. "$(dirname "$0")/tap.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM
json() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$2"; }
# patch FILE NEEDLE DELTA HEXBYTES: overwrite bytes DELTA after the first NEEDLE
patch() { python3 -c '
import sys
p, needle, delta, hexb = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
b = bytearray(open(p, "rb").read()); i = b.index(needle) + len(needle) + delta
b[i:i + len(hexb)] = hexb; open(p, "wb").write(b)' "$@"; }

# The real files: QEMU ran under TCG, so no vCPU has nested state, and that is said.
out=$("$NESTVIRT" inspect "$DATA/tcg-pc-2vcpu.qemu"); rc=$?
check "inspect of a real QEMU stream exits 0" test $rc -eq 0
check "inspect names the container and machine" contains "$out" "(qemu-stream)"
check "inspect says why a vCPU has no nested state" contains "$out" "vCPU 1: no nested subsection: no L2 and no VMXON"
"$NESTVIRT" inspect --json "$DATA/libvirt-gzip.save" >"$work/lv.json"; rc=$?
check "inspect --json of libvirt's gzip save image" json 'o["type"] == "libvirt-save" and o["libvirt"]["compression"] == "gzip" and o["libvirt"]["domain"] == "nv-tcg" and len(o["vcpus"]) == 2 and not o["vcpus"][0]["qemu"]["nested_subsection"]' "$work/lv.json"
for f in tcg-pc-2vcpu.qemu libvirt-raw.save libvirt-gzip.save; do
        "$NESTVIRT" verify "$DATA/$f" >/dev/null; rc=$?
        check "verify $f (no nested state: nothing unchecked): exit 0" test $rc -eq 0
done

# A real stream QEMU refuses to load itself: TCG stopped in L2 (hflags HF_GUEST) but kept no KVM nested state.
xz -dc "$DATA/tcg-svm-l2.qemu.xz" >"$work/l2.qemu"
out=$("$NESTVIRT" verify "$work/l2.qemu"); rc=$?
check "QEMU's own refusal of a real stream: exit 1" test $rc -eq 1
check "QEMU's own refusal of a real stream: named as QEMU says it" contains "$out" "vCPU 0: QEMU itself refuses this nested state while loading, before the kernel sees it: vCPU set in guest-mode inconsistent with migrated kernel nested state (hflags has HF_GUEST, the stream has no nested state)"

# SVM: vCPU 0 runs L2, vCPU 1 has SVME on without L2 (QEMU sends no subsection for it).
"$GEN" "$DATA/tcg-pc-2vcpu.qemu" "$work/svm.qemu" "$BLOBS/svm-guest-mode.raw" "$BLOBS/svm-idle.raw"
"$NESTVIRT" inspect --json "$work/svm.qemu" >"$work/svm.json"; rc=$?
check "inspect --json of a stream with nested SVM state: exit 0" test $rc -eq 0
check "vCPU 0: guest mode, flags, vmcb_pa, ASID, hflags" json 'o["vendor"] == "svm" and o["vcpus"][0]["flags"] == ["GUEST_MODE", "GIF_SET"] and o["vcpus"][0]["vmcb_pa"] == 0x200000 and o["vcpus"][0]["fields"]["control.asid"] == 1 and o["vcpus"][0]["qemu"]["hflags_guest"]' "$work/svm.json"
check "vCPU 1: SVME on, not in guest mode: said, not failed" json '"EFER.SVME on but is not running L2" in o["vcpus"][1]["qemu"]["no_nested_state"] and o["vcpus"][1]["qemu"]["efer_svme"]' "$work/svm.json"
check "the stream's notes: vmcb12 save area is L1's" json 'any("L1\x27s state at VMRUN" in n for n in o["stream_notes"])' "$work/svm.json"
out=$("$NESTVIRT" inspect "$work/svm.qemu" --vcpu 0 --field control.asid)
check "inspect --vcpu --field" contains "$out" "control.asid                   0x1"
out=$("$NESTVIRT" verify "$work/svm.qemu"); rc=$?
check "verify of the SVM stream: exit 3 (accepted; host facts not given)" test $rc -eq 3
check "verify: the unchecked facts named" contains "$out" "note: not checked: guest-physical addresses checked against the architectural 52-bit limit only"
check "verify: vCPU 0 ok" contains "$out" "vCPU 0: ok (4224 bytes)"
check "verify: vCPU 1 has none, and why" contains "$out" "vCPU 1: no nested subsection: L1 has EFER.SVME on"
check "verify: what the stream does not carry" contains "$out" "note: QEMU's stream: the SVM header beyond vmcb_pa is not carried"
"$NESTVIRT" verify --vendor vmx "$work/svm.qemu" >/dev/null; rc=$?
check "verify --vendor vmx of SVM state: exit 1" test $rc -eq 1
mkdir "$work/u"
err=$("$NESTVIRT" unpack "$work/svm.qemu" -d "$work/u" 2>&1 >/dev/null); rc=$?
check "unpack: exit 0" test $rc -eq 0
check "unpack: vCPU 0's blob is the one written in" cmp -s "$work/u/vcpu-0.raw" "$BLOBS/svm-guest-mode.raw"
check "unpack: vCPU 1 has no file, and why" contains "$err" "vCPU 1: not written: no nested subsection"

# Damage the kernel refuses: ASID 0 in the vmcb12 (QEMU says nothing and reboots the guest).
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[0x80+0x58:0x80+0x5c]=bytes(4); open(sys.argv[2],"wb").write(b)' \
        "$BLOBS/svm-guest-mode.raw" "$work/asid0.raw"
"$GEN" "$DATA/tcg-pc-2vcpu.qemu" "$work/asid0.qemu" "$work/asid0.raw" -
"$NESTVIRT" verify --json "$work/asid0.qemu" >"$work/asid0.json"; rc=$?
check "verify of ASID 0: exit 1" test $rc -eq 1
check "verify --json: vCPU 0 by rule S9 on control.asid, vCPU 1 accepted" json 'o["refused"] == 1 and o["vcpus"][0]["rule"] == "S9" and o["vcpus"][0]["field"] == "control.asid" and o["vcpus"][1]["accepted"]' "$work/asid0.json"

# Damage QEMU refuses itself: format 3, the guest-mode flag cleared in the stream, size 8192 on SVM.
cp "$work/svm.qemu" "$work/fmt3.qemu" && patch "$work/fmt3.qemu" "cpu/nested_state" 6 0003
out=$("$NESTVIRT" verify "$work/fmt3.qemu"); rc=$?
check "format 3: exit 1" test $rc -eq 1
check "format 3: QEMU's refusal, named" contains "$out" "vCPU 0: QEMU itself refuses this nested state while loading, before the kernel sees it: Received invalid nested state format (format = 0x3)"
cp "$work/svm.qemu" "$work/guest.qemu" && patch "$work/guest.qemu" "cpu/nested_state" 4 0100
out=$("$NESTVIRT" verify "$work/guest.qemu"); rc=$?
check "guest-mode flag cleared: exit 1, QEMU's refusal" test $rc -eq 1
check "guest-mode flag cleared: named" contains "$out" "vCPU set in guest-mode inconsistent with migrated kernel nested state"
cp "$work/svm.qemu" "$work/size.qemu" && patch "$work/size.qemu" "cpu/nested_state" 8 00002000
"$NESTVIRT" verify --json "$work/size.qemu" >"$work/size.json"; rc=$?
check "size 8192 on SVM: exit 1, rule qemu on size" json 'o["vcpus"][0]["rule"] == "qemu" and o["vcpus"][0]["field"] == "size" and o["vcpus"][0]["value"] == 8192' "$work/size.json"

# VMX in a libvirt image: vCPU 1 with vmcs12 and shadow vmcs12.
"$GEN" "$DATA/libvirt-raw.save" "$work/vmx.save" - "$BLOBS/vmx-guest-mode-shadow.raw"
"$NESTVIRT" inspect --json "$work/vmx.save" >"$work/vmx.json"; rc=$?
check "inspect --json of a libvirt image with VMX state" json 'o["type"] == "libvirt-save" and o["vendor"] == "vmx" and o["vcpus"][1]["size"] == 8320 and "GUEST_RIP" in o["vcpus"][1]["fields"] and any("preemption timer" in n for n in o["stream_notes"])' "$work/vmx.json"
"$NESTVIRT" verify --json "$work/vmx.save" >"$work/vmx-verify.json"; rc=$?
check "verify of the VMX libvirt image: exit 3, accepted with rules unchecked" test $rc -eq 3
check "verify --json: the verdict says so" json 'o["verdict"] == "accepted-unchecked" and o["refused"] == 0 and len(o["not_checked"]) > 0' "$work/vmx-verify.json"

# Unreadable: a cut stream is damaged (exit 1, where it ended); a missing file could not be read (exit 2).
head -c 200000 "$work/svm.qemu" >"$work/cut.qemu"
err=$("$NESTVIRT" verify "$work/cut.qemu" 2>&1); rc=$?
check "a cut stream: exit 1" test $rc -eq 1
check "a cut stream: where it ends" contains "$err" "The QEMU stream ends at offset 0x"
"$NESTVIRT" verify "$work/nonexistent.qemu" >/dev/null 2>&1; rc=$?
check "a missing file: exit 2" test $rc -eq 2

tap_end
