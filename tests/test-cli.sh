#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The nestvirt command line end to end: demo on the simulated KVM,
# capabilities against fake host trees, and the virsh error conventions.
set -u
NESTVIRT=$1
DATA=$2
NODE=$3     # data/examples/node.xml, absolute
XMLIN=$4    # tests/xml2xml-in

. "$(dirname "$0")/tap.sh"
not_contains() { ! grep -qF -- "$2" <<<"$1"; }

out=$("$NESTVIRT" demo 2>&1); rc=$?
check "demo (main job) exits 0" test $rc -eq 0
check "demo uses the test driver" contains "$out" "libvirt: test:///"
check "demo saves through the driver" contains "$out" "$ nestvirt save svm-passthrough --keep-frozen"
check "demo references the file from the XML" contains "$out" "the domain's XML now says: <nestvirt:state"
check "demo: L2 continued" contains "$out" "L2 continued where it stopped on every vCPU"
check "demo: damaged snapshot refused by rule S9" contains "$out" "vCPU 0: Rule S9: control.asid"
check "demo: VMM untouched by the refusal" contains "$out" "the VMM was not touched; L2 runs on"
rm -rf "$(sed -n 's/^(Files are left in \(.*\) for inspection.*/\1/p' <<<"$out")"
out=$("$NESTVIRT" demo --in-process --sim --vcpus 4 --vendor svm 2>&1); rc=$?
check "demo svm exits 0" test $rc -eq 0
check "demo says simulated" contains "$out" "on simulated KVM"
check "demo restores L2 progress" contains "$out" "vCPU 3: L2 counter 6 -> 7"
check "demo refuses corrupt copy" contains "$out" "Rule S9: control.asid"
out=$("$NESTVIRT" demo --in-process --sim --vendor vmx 2>&1); rc=$?
check "demo vmx exits 0" test $rc -eq 0
check "demo vmx refuses bad revision" contains "$out" "Rule V14"
# Without --sim: /dev/kvm only when it can save nested state, else the simulator, saying why.
out=$("$NESTVIRT" demo --in-process 2>&1); rc=$?
check "demo --in-process exits 0 whatever /dev/kvm can do" test $rc -eq 0
check "demo --in-process names its KVM, and why the simulator" grep -qE '^nestvirt demo on (kvm KVM \(|simulated KVM \(.*\): )' <<<"$out"

out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities 2>&1)
check "capabilities reads kernel release" contains "$out" "6.1.0-28-cloud-amd64"
check "capabilities reads cpu vendor" contains "$out" "AMD EPYC 7B13 64-Core Processor (svm)"
check "capabilities reads kvm_amd nested=1" contains "$out" "Nested parameter:      enabled"
check "capabilities without /dev/kvm" contains "$out" "not available"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-intel-off "$NESTVIRT" capabilities --json 2>&1)
check "capabilities json vendor" contains "$out" '"cpu_vendor":"vmx"'
check "capabilities json kvm_intel N" contains "$out" '"nested":false'
xmlout=$(NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities --xml 2>&1)
check "capabilities --xml" python3 -c '
import sys, xml.etree.ElementTree as ET
ns = {"c": "http://nestvirt.org/schemas/capabilities/1.0"}
r = ET.fromstring(sys.argv[1])
assert r.find("c:host/c:cpu", ns).get("vendor") == "svm"
assert r.find("c:host/c:cpu", ns).get("model") == "AMD EPYC 7B13 64-Core Processor"
assert r.find("c:host/c:kernel", ns).get("release") == "6.1.0-28-cloud-amd64"
assert r.find("c:host/c:nested", ns).get("enabled") == "yes"' "$xmlout"
err=$("$NESTVIRT" capabilities --xml --json 2>&1)
check "capabilities --xml --json refused" contains "$err" "exclude each other"
check "capabilities json is valid" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"

err=$("$NESTVIRT" demo --in-process --vcpus 99 2>&1 >/dev/null); rc=$?
check "bad --vcpus exits 1" test $rc -eq 1
check "bad --vcpus says error:" contains "$err" "error: --vcpus takes a number from 1 to 64, not '99'."
err=$("$NESTVIRT" frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exits 1" test $rc -eq 1
check "unknown command named" contains "$err" "Unknown command 'frobnicate'"
out=$("$NESTVIRT" --help); rc=$?
check "--help exits 0" test $rc -eq 0
check "--help lists demo" contains "$out" "demo"

# The file commands on the committed corpus.
SNAP=$DATA/snapshots
out=$("$NESTVIRT" inspect "$SNAP/good.nvstate"); rc=$?
check "inspect exits 0" test $rc -eq 0
check "inspect names flags" contains "$out" "vCPU 0: svm, 4224 bytes, flags GUEST_MODE|GIF_SET (0x101)"
check "inspect decodes vmcb12" contains "$out" "control.asid                   0x1"
out=$("$NESTVIRT" inspect --json --vcpu 2 --field save.efer "$SNAP/good.nvstate")
check "inspect --json --vcpu --field" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
v = o["vcpus"]
assert o["type"] == "snapshot" and o["vcpu_count"] == 3 and len(v) == 1
assert v[0]["vcpu"] == 2 and v[0]["format"] == "svm" and v[0]["size"] == 4224
assert v[0]["flags"] == ["GUEST_MODE", "GIF_SET"] and v[0]["guest_mode"] is True
assert v[0]["fields"] == {"save.efer": 0x1500}' "$out"
err=$("$NESTVIRT" inspect --field NO_SUCH "$SNAP/good.nvstate" 2>&1 >/dev/null); rc=$?
check "inspect unknown field fails" test $rc -eq 1
check "inspect unknown field named" contains "$err" "No svm field is called 'NO_SUCH'."
err=$("$NESTVIRT" inspect --vcpu 7 "$SNAP/good.nvstate" 2>&1 >/dev/null)
check "inspect missing vcpu named" contains "$err" "has no vCPU 7"

out=$("$NESTVIRT" verify "$SNAP/good.nvstate"); rc=$?
check "verify good exits 0" test $rc -eq 0
check "verify lists unchecked facts" contains "$out" "note: not checked: S3"
out=$("$NESTVIRT" verify "$SNAP/blob-bitflip.nvstate"); rc=$?
check "verify damaged exits 1" test $rc -eq 1
check "verify damaged names vCPU and range" contains "$out" "Checksum mismatch for vCPU 2 (bytes 4688..8912)."
out=$("$NESTVIRT" verify --vendor vmx "$SNAP/good.nvstate"); rc=$?
check "verify wrong vendor exits 1" test $rc -eq 1
check "verify wrong vendor rule V1" contains "$out" "vCPU 0: Rule V1: format = 0x1"
out=$("$NESTVIRT" verify --maxphyaddr 32 "$SNAP/good.nvstate"); rc=$?
check "verify --maxphyaddr exits 0" test $rc -eq 0
check "verify --maxphyaddr is used" not_contains "$out" "MAXPHYADDR unknown"
err=$("$NESTVIRT" verify --maxphyaddr 21 "$SNAP/good.nvstate" 2>&1); rc=$?
check "verify bad --maxphyaddr refused" contains "$err" "error: --maxphyaddr takes a number of bits from 32 to 52, not '21'."

# Raw blobs: unpack, damage one, pack back, verify finds the rule.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$NESTVIRT" unpack "$SNAP/good.nvstate" -d "$tmp/raw"); rc=$?
check "unpack exits 0" test $rc -eq 0
check "unpack writes vcpu files" test -s "$tmp/raw/vcpu-2.raw" -a "$(stat -c %s "$tmp/raw/vcpu-1.raw")" = 128
check "raw blob inspects" contains "$("$NESTVIRT" inspect "$tmp/raw/vcpu-1.raw")" "(raw)"
out=$("$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" "$tmp/raw/vcpu-1.raw" "$tmp/raw/vcpu-2.raw" -o "$tmp/re.nvstate"); rc=$?
check "pack exits 0" test $rc -eq 0
check "pack is mode 0600" test "$(stat -c %a "$tmp/re.nvstate")" = 600
check "packed snapshot verifies" "$NESTVIRT" verify "$tmp/re.nvstate"
printf '\x00\x00\x00\x00' | dd of="$tmp/raw/vcpu-2.raw" bs=1 seek=$((0x80 + 0x58)) conv=notrunc status=none
"$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" "$tmp/raw/vcpu-1.raw" "$tmp/raw/vcpu-2.raw" -o "$tmp/bad.nvstate" >/dev/null
out=$("$NESTVIRT" verify "$tmp/bad.nvstate"); rc=$?
check "verify finds validator rule" contains "$out" "vCPU 2: Rule S9: control.asid = 0x0 is zero; KVM_SET_NESTED_STATE would fail with EINVAL."
check "verify validator exit 1" test $rc -eq 1
out=$("$NESTVIRT" verify "$tmp/raw/vcpu-2.raw"); rc=$?
check "verify works on a raw blob" contains "$out" "vCPU 0: Rule S9: control.asid"
err=$("$NESTVIRT" pack "$SNAP/good.nvstate" -o "$tmp/x.nvstate" 2>&1); rc=$?
check "pack refuses a snapshot" contains "$err" "is already a snapshot"
head -c 100 "$SNAP/good.nvstate" > "$tmp/short"
err=$("$NESTVIRT" inspect "$tmp/short" 2>&1); rc=$?
check "inspect short file exits 1" test $rc -eq 1
check "inspect short file explains" contains "$err" "Snapshot is truncated: 100 bytes"
head -c 100 "$tmp/raw/vcpu-0.raw" > "$tmp/shortraw"
err=$("$NESTVIRT" inspect "$tmp/shortraw" 2>&1)
check "inspect short raw blob explains" contains "$err" "neither a snapshot nor a raw blob: Nested state is 100 bytes"
ln -s "$SNAP/good.nvstate" "$tmp/link"
err=$("$NESTVIRT" inspect "$tmp/link" 2>&1)
check "inspect refuses symlink" contains "$err" "symbolic link"

# Domains through libvirt's test driver (a private copy of node.xml per run).
URI="test://$NODE"
export NESTVIRT_HOST_ROOT=$DATA/host-amd
out=$("$NESTVIRT" -c "$URI" list); rc=$?
check "list exits 0" test $rc -eq 0
check "list shows the svm domain and its state" contains "$out" " svm-passthrough      running   svm     /var/lib/nestvirt/svm-passthrough/3.nvstate"
check "list hides shut-off domains" not_contains "$out" "plain-off"
out=$(LIBVIRT_DEFAULT_URI=$URI "$NESTVIRT" list --all --json)
check "list --all --json via LIBVIRT_DEFAULT_URI" python3 -c '
import json, sys
doms = {d["name"]: d for d in json.loads(sys.argv[1])}
assert len(doms) == 5 and doms["plain-off"]["active"] is False
assert doms["vmx-custom"]["nested"] == "none" and "AMD" in doms["vmx-custom"]["nested_reason"]
assert doms["svm-passthrough"]["state"]["vcpus"] == 4
assert doms["host-model-new"]["state"] is None' "$out"
out=$("$NESTVIRT" -c "$URI" dominfo vmx-custom --json)
check "dominfo --json" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["name"] == "vmx-custom" and d["uuid"] == "5f1c8a2e-7a31-4c55-9d0e-1a2b3c4d5e02"
assert d["vcpus"] == 8 and d["vcpus_current"] == 2 and d["cpu_mode"] == "custom" and d["cpu_model"] == "Skylake-Client"
assert d["features"] == {"vmx": "require", "svm": "disable"}
assert d["nested"] == "none" and d["state"] is None
assert d["vmm"] == {"transport": "bus", "bus": "system", "name": "com.example.Vmm.vmx_custom", "path": "/org/nestvirt/Vmm1"}
assert d["policy"] == {"nested": "optional", "on_missing": "continue", "on_incompatible": "fail"}' "$out"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-intel-off "$NESTVIRT" -c "$URI" dominfo vmx-custom)
check "dominfo reason: nested off on Intel" contains "$out" "nested_reason    the kvm module's nested parameter is off on this host"
err=$("$NESTVIRT" -c "$URI" dominfo nope 2>&1); rc=$?
check "dominfo unknown domain" contains "$err" "error: Domain 'nope' not found."
check "dominfo unknown domain exits 1" test $rc -eq 1
err=$("$NESTVIRT" -c test:///no/such/node.xml list 2>&1); rc=$?
check "bad URI explained" contains "$err" "error: Cannot connect to libvirt"

out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --dest-caps "$XMLIN/caps-amd.xml"); rc=$?
check "migrate-check to a like host exits 0" test $rc -eq 0
check "migrate-check says ok" contains "$out" "ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE 4224 fits"
out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --dest-caps "$XMLIN/caps-intel-escaped.xml"); rc=$?
check "migrate-check to Intel exits 1" test $rc -eq 1
check "migrate-check names the vendor" contains "$out" "the destination CPU is vmx; the domain's nested state is svm"
check "migrate-check names the capability" contains "$out" "KVM_CAP_NESTED_STATE is 0"
check "migrate-check counts problems" contains "$out" "2 problem(s)"
err=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough 2>&1); rc=$?
check "migrate-check needs --dest-caps" contains "$err" "needs --dest-caps FILE"
out=$("$NESTVIRT" -c "$URI" capabilities --domains)
check "capabilities --domains" contains "$out" "vmx-custom           none NOT SUPPORTED, nested required (the domain asks for vmx but this host is AMD (svm))"
unset NESTVIRT_HOST_ROOT

tap_end
