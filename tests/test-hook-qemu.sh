#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The hook's guard for QEMU domains, as libvirt runs it on `restore begin`
# of a managed save: the domain XML on stdin, the image in the save
# directory (NESTVIRT_QEMU_SAVE_DIR stands in for /var/lib/libvirt/qemu/save),
# on fake host trees.  Images are libvirt's real TCG save image with nested
# state written in by the test generator; what this host cannot load is
# refused naming vCPU, rule and field; no nested state, an unreadable image
# or another domain's image is let through with a line in libvirt's log.
set -u
NESTVIRT=$1
GEN=$2   # build/tests/qemu-nested-gen
QDATA=$3 # tests/data/qemu
BLOBS=$4 # tests/fuzz/corpus-blob
DATA=$5  # tests/data: the host trees

. "$(dirname "$0")/tap.sh"

T=$(mktemp -d /tmp/nestvirt-hook-qemu-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM INT
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run NESTVIRT_QEMU_SAVE_DIR=$T/save
mkdir -p "$T/save" "$T/img"
RAW=$QDATA/libvirt-raw.save

# The domain XML libvirt hands the hook: the image's own.
python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<I", b[32:36])[0]
open(sys.argv[2], "wb").write(b[92:92 + n])' "$RAW" "$T/dom.xml"
sed 's|<uuid>[^<]*</uuid>|<uuid>11111111-2222-3333-4444-555555555555</uuid>|' "$T/dom.xml" >"$T/other.xml"

python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[0x80+0x58:0x80+0x5c]=bytes(4); open(sys.argv[2],"wb").write(b)' \
        "$BLOBS/svm-guest-mode.raw" "$T/asid0.raw"
"$GEN" "$RAW" "$T/img/svm" "$BLOBS/svm-guest-mode.raw" "$BLOBS/svm-idle.raw"
"$GEN" "$RAW" "$T/img/asid0" "$T/asid0.raw" -
"$GEN" "$RAW" "$T/img/vmx" "$BLOBS/vmx-guest-mode.raw" -
cp "$RAW" "$T/img/tcg"
head -c 100000 "$T/img/svm" >"$T/img/cut"
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read()); i = b.index(b"cpu/nested_state") + 16 + 4 + 2
b[i:i + 2] = b"\x00\x03"; open(sys.argv[2], "wb").write(b)' "$T/img/svm" "$T/img/fmt3"
# A gzip image as libvirt writes it with save_image_format = "gzip": header (format 1), XML, compressed stream.
python3 -c '
import struct, sys, zlib, gzip
b = bytearray(open(sys.argv[1], "rb").read()); off = 92 + struct.unpack("<I", b[20:24])[0]
b[28:32] = struct.pack("<I", 1); open(sys.argv[2], "wb").write(bytes(b[:off]) + gzip.compress(bytes(b[off:])))' "$T/img/asid0" "$T/img/asid0-gzip"

# hook HOST IMAGE|- OP XML: runs the hook with IMAGE as the domain's managed-save image
hook() {
        rm -f "$T/save/nv-tcg.save"
        [[ $2 == - ]] || cp "$T/img/$2" "$T/save/nv-tcg.save"
        NESTVIRT_HOST_ROOT=$DATA/$1 "$NESTVIRT" hook nv-tcg "$3" begin - <"$4" >"$T/out" 2>"$T/err"
}
# case NAME HOST IMAGE OP XML RC STDERR (- none)
case_() {
        local name=$1 rc ok=1
        hook "$2" "$3" "$4" "$5"; rc=$?
        [[ $rc == "$6" ]] || { ok=0; echo "# exit $rc, wanted $6"; }
        if [[ $7 == - ]]; then [[ ! -s $T/err ]] || { ok=0; echo "# unexpected stderr: $(cat "$T/err")"; }
        else grep -qF -- "$7" "$T/err" || { ok=0; echo "# stderr lacks '$7': $(cat "$T/err")"; }; fi
        [[ ! -s $T/out ]] || { ok=0; echo "# the XML was rewritten"; }
        check "$name" test $ok -eq 1
}

case_ "SVM guest mode on an AMD host: let through, said" host-amd svm restore "$T/dom.xml" 0 \
        "nestvirt: domain 'nv-tcg': nested state of 1 vCPU in $T/save/nv-tcg.save checked: it loads here"
case_ "ASID 0 (QEMU would reboot the guest silently): refused by vCPU, rule, field" host-amd asid0 restore "$T/dom.xml" 1 \
        "error: Domain 'nv-tcg' cannot be restored here: its managed-save image $T/save/nv-tcg.save holds nested state this host cannot load: vCPU 0: Rule S9: control.asid = 0x0 is zero"
grep -qF "control.asid" "$T/err"; check "ASID 0: the field is named" test $? -eq 0
case_ "the same, gzip-compressed: read through gzip, refused" host-amd asid0-gzip restore "$T/dom.xml" 1 "vCPU 0: Rule S9: control.asid"
case_ "SVM state on an Intel host: refused" host-intel-off svm restore "$T/dom.xml" 1 "vCPU 0: "
case_ "VMX state on an AMD host: refused" host-amd vmx restore "$T/dom.xml" 1 "vCPU 0: "
case_ "format 3: QEMU's own refusal, named" host-amd fmt3 restore "$T/dom.xml" 1 "vCPU 0: QEMU would refuse it while loading (rule qemu, format = 0x3)"
case_ "no nested state: let through, said" host-amd tcg restore "$T/dom.xml" 0 \
        "nestvirt: domain 'nv-tcg': no nested state in its managed-save image"
case_ "an unreadable image: let through, said" host-amd cut restore "$T/dom.xml" 0 "QEMU's nested state in $T/save/nv-tcg.save not checked: "
case_ "another domain's image: not judged" host-amd asid0 restore "$T/other.xml" 0 "the image holds another domain"
case_ "no managed-save image (a restore from another file): nothing to say" host-amd - restore "$T/dom.xml" 0 -
case_ "migrate begin: QEMU's stream is not here yet, not checked" host-amd asid0 migrate "$T/dom.xml" 0 -

# This machine's own KVM, if it answers with no nested state at all: QEMU would refuse any.
caps=$("$NESTVIRT" capabilities --json 2>/dev/null)
if python3 -c 'import json,sys; o=json.loads(sys.argv[1]); sys.exit(0 if o["kvm_device"] and o["kvm_error"] is None and o["nested_state_max"] == 0 else 1)' "$caps"; then
        rm -f "$T/save/nv-tcg.save"; cp "$T/img/svm" "$T/save/nv-tcg.save"
        err=$("$NESTVIRT" hook nv-tcg restore begin - <"$T/dom.xml" 2>&1); rc=$?
        check "this host's KVM_CAP_NESTED_STATE 0: refused" test $rc -eq 1
        check "this host's KVM_CAP_NESTED_STATE 0: said" contains "$err" "this host's KVM_CAP_NESTED_STATE is 0"
else
        echo "# this machine's KVM can hold nested state, or there is none: the capability case is not run"
fi

tap_end
