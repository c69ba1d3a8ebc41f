#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The nestvirt command line end to end: demo on the simulated KVM,
# capabilities against fake host trees, and the virsh error conventions.
set -u
NESTVIRT=$1
DATA=$2
NODE=$3     # data/examples/node.xml, absolute
XMLIN=$4    # tests/xml2xml-in
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/nestvirt-test-bus # list and dominfo ask VMMs: never the host's bus

. "$(dirname "$0")/tap.sh"
not_contains() { ! grep -qF -- "$2" <<<"$1"; }

# The default domain follows the host (vmx-custom where KVM has nested VMX): named here so that the
# SVM checks hold on every host; the e2e manifests run the default on real SVM and VMX.
out=$("$NESTVIRT" demo --domain svm-passthrough 2>&1); rc=$?
check "demo (main job) exits 0" test $rc -eq 0
check "demo uses the test driver" contains "$out" "libvirt: test:///"
check "demo saves through the driver" contains "$out" "$ nestvirt save svm-passthrough --keep-frozen"
check "demo references the file from the XML" contains "$out" "the domain's XML now says: <nestvirt:state"
check "demo: L2 continued" contains "$out" "L2 continued where it stopped on every vCPU"
check "demo: damaged snapshot refused by rule S9" contains "$out" "vCPU 0: Rule S9: control.asid"
check "demo: VMM untouched by the refusal" contains "$out" "the VMM was not touched; L2 runs on"
rm -rf "$(sed -n 's/^(Files are left in \(.*\) for inspection.*/\1/p' <<<"$out")"
# A domain whose VMM is reached on a bus: the demo moves it to its own socket (bus name and path dropped).
out=$("$NESTVIRT" demo --domain vmx-custom 2>&1); rc=$?
check "demo --domain vmx-custom exits 0" test $rc -eq 0
check "demo --domain vmx-custom: saved" contains "$out" "$ nestvirt save vmx-custom --keep-frozen"
check "demo --domain vmx-custom: L2 continued" contains "$out" "L2 continued where it stopped on every vCPU"
check "demo --domain vmx-custom: damaged VMX state refused by rule V14" contains "$out" "Rule V14: vmcs12.revision_id"
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
check "bad --vcpus exits 2 (could not run)" test $rc -eq 2
check "bad --vcpus says error:" contains "$err" "error: --vcpus takes a number from 1 to 64, not '99'."
err=$("$NESTVIRT" list --frobnicate 2>&1 >/dev/null); rc=$?
check "unknown option: exit 2" test $rc -eq 2
check "unknown option: one line, ours (opterr = 0)" test "$(wc -l <<<"$err")" -eq 1
check "unknown option: named with its command" contains "$err" "error: Invalid option '--frobnicate' for 'list'"
err=$("$NESTVIRT" inspect -jx "$DATA/snapshots/good.nvstate" 2>&1 >/dev/null)
check "unknown short option in a cluster named" contains "$err" "error: Invalid option '-x' for 'inspect'"
err=$("$NESTVIRT" pack -o 2>&1 >/dev/null)
check "option without its value named" contains "$err" "error: Invalid option '-o' for 'pack'"
"$NESTVIRT" --help >/dev/full 2>/dev/null; rc=$?
check "--help > /dev/full: exit 2" test $rc -eq 2
err=$("$NESTVIRT" inspect "$DATA/snapshots/good.nvstate" 2>&1 >/dev/full); rc=$?
check "inspect > /dev/full: exit 2, said on stderr" test $rc -eq 2
check "a write error on stdout is named" contains "$err" "error: Cannot write to standard output: No space left on device"
err=$("$NESTVIRT" frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exits 2" test $rc -eq 2
check "unknown command named" contains "$err" "Unknown command 'frobnicate'"
out=$("$NESTVIRT" --help); rc=$?
check "--help exits 0" test $rc -eq 0
check "--help lists demo" contains "$out" "demo"

# The file commands on the committed corpus.
SNAP=$DATA/snapshots
tmp=$(mktemp -d)
chmod 755 "$tmp" # the not-permitted /dev/kvm below is probed as nobody
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup
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
check "inspect unknown field exits 2" test $rc -eq 2
check "inspect unknown field named" contains "$err" "No svm field is called 'NO_SUCH'."
err=$("$NESTVIRT" inspect --vcpu 7 "$SNAP/good.nvstate" 2>&1 >/dev/null)
check "inspect missing vcpu named" contains "$err" "has no vCPU 7"

out=$("$NESTVIRT" verify "$SNAP/good.nvstate"); rc=$?
check "verify good, facts not given: exit 3 (accepted, rules unchecked)" test $rc -eq 3
check "verify lists unchecked facts" contains "$out" "note: not checked: S3"
out=$("$NESTVIRT" verify "$SNAP/blob-bitflip.nvstate" 2>"$tmp/err"); rc=$?
check "verify damaged exits 1 (a problem found)" test $rc -eq 1
check "verify damaged: error: on stderr, naming vCPU and range" contains "$(cat "$tmp/err")" "error: $SNAP/blob-bitflip.nvstate: Checksum mismatch for vCPU 2 (bytes 4688..8912)."
check "verify damaged: nothing on stdout" test -z "$out"
out=$("$NESTVIRT" verify --json "$SNAP/blob-bitflip.nvstate"); rc=$?
check "verify --json damaged: exit 1, intact false, the error" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert sys.argv[2] == "1" and o["intact"] is False and "Checksum mismatch for vCPU 2" in o["error"]' "$out" $rc
err=$("$NESTVIRT" verify "$tmp/no-such.nvstate" 2>&1 >/dev/null); rc=$?
check "verify a missing file: exit 2 (could not run)" test $rc -eq 2
check "verify a missing file: error: names it" contains "$err" "error: Cannot open '$tmp/no-such.nvstate'"
out=$("$NESTVIRT" verify --vendor vmx "$SNAP/good.nvstate"); rc=$?
check "verify wrong vendor exits 1" test $rc -eq 1
check "verify wrong vendor rule V1" contains "$out" "vCPU 0: Rule V1: format = 0x1"
out=$("$NESTVIRT" verify --json --vendor vmx "$SNAP/good.nvstate"); rc=$?
check "verify --json: exit 1, every vCPU with rule, field, errno" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert sys.argv[2] == "1" and o["intact"] is True and o["type"] == "snapshot" and o["vendor"] == "svm"
assert o["vcpu_count"] == 3 and o["refused"] == 3 and len(o["vcpus"]) == 3
v = o["vcpus"][0]
assert v["accepted"] is False and v["rule"] == "V1" and v["field"] == "format" and v["value"] == 1 and v["errno"] == "EINVAL"
assert v["message"].startswith("Rule V1")' "$out" $rc
out=$("$NESTVIRT" verify --json "$SNAP/good.nvstate"); rc=$?
check "verify --json good: exit 3, accepted with notes" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert sys.argv[2] == "3" and o["verdict"] == "accepted-unchecked" and o["refused"] == 0 and all(v["accepted"] and v["rule"] is None for v in o["vcpus"])
assert any(n.startswith("S3") for n in o["not_checked"])' "$out" $rc
out=$("$NESTVIRT" verify --maxphyaddr 32 "$SNAP/good.nvstate"); rc=$?
check "verify --maxphyaddr exits 3 (other facts unknown)" test $rc -eq 3
check "verify --maxphyaddr is used" not_contains "$out" "MAXPHYADDR unknown"
err=$("$NESTVIRT" verify --maxphyaddr 21 "$SNAP/good.nvstate" 2>&1); rc=$?
check "verify bad --maxphyaddr refused" contains "$err" "error: --maxphyaddr takes a number of bits from 32 to 52, not '21'."

# --dest-caps: the target's measured document decides what it can; 6.12 and 6.1 differ on V_NMI.
caps612=$XMLIN/caps-target-svm.xml
sed 's/vnmiNeedsNmiIntercept="yes"/vnmiNeedsNmiIntercept="no"/; s/6.12.117+deb12/6.1.0-56/' "$caps612" >"$tmp/caps61.xml"
out=$("$NESTVIRT" verify --dest-caps "$caps612" "$SNAP/good.nvstate"); rc=$?
check "verify --dest-caps: exit 3, only the vCPU's own state unchecked" test $rc -eq 3
check "verify --dest-caps: CPUID known" not_contains "$out" "its CPUID is unknown"
check "verify --dest-caps: MAXPHYADDR known" not_contains "$out" "MAXPHYADDR unknown"
check "verify --dest-caps: vendor known" not_contains "$out" "host vendor unknown"
check "verify --dest-caps: the vCPU's EFER.SVME named as unchecked" contains "$out" "note: not checked: S3: the vCPU's EFER.SVME is unknown"
err=$("$NESTVIRT" verify --dest-caps "$caps612" --vendor svm "$SNAP/good.nvstate" 2>&1); rc=$?
check "verify --dest-caps with --vendor: exit 2" test $rc -eq 2
check "verify --dest-caps with --vendor: says why" contains "$err" "--dest-caps gives the target's vendor and MAXPHYADDR"
err=$("$NESTVIRT" verify --dest-caps "$XMLIN/caps-target-wide-leaf-invalid.xml" "$SNAP/good.nvstate" 2>&1); rc=$?
check "verify --dest-caps with a bad document: exit 2, names it" test $rc -eq 2 && contains "$err" "caps-target-wide-leaf-invalid.xml: Capabilities: line 9"
out=$("$NESTVIRT" verify --dest-caps "$XMLIN/caps-amd.xml" "$SNAP/good.nvstate"); rc=$?
check "verify --dest-caps, a document without a measured target: exit 3, said" test $rc -eq 3 && contains "$out" "has no measured target"

# Raw blobs: unpack, damage one, pack back, verify finds the rule.
out=$("$NESTVIRT" unpack "$SNAP/good.nvstate" -d "$tmp/raw"); rc=$?
check "unpack exits 0" test $rc -eq 0
check "unpack writes vcpu files" test -s "$tmp/raw/vcpu-2.raw" -a "$(stat -c %s "$tmp/raw/vcpu-1.raw")" = 128
check "raw blob inspects" contains "$("$NESTVIRT" inspect "$tmp/raw/vcpu-1.raw")" "(raw)"
out=$("$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" "$tmp/raw/vcpu-1.raw" "$tmp/raw/vcpu-2.raw" -o "$tmp/re.nvstate"); rc=$?
check "pack exits 0" test $rc -eq 0
check "pack is mode 0600" test "$(stat -c %a "$tmp/re.nvstate")" = 600
check "packed snapshot verifies (exit 3: vCPU facts unknown)" sh -c '"$0" verify "$1" >/dev/null; test $? -eq 3' "$NESTVIRT" "$tmp/re.nvstate"
cp "$tmp/re.nvstate" "$tmp/re.copy"
err=$("$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" -o "$tmp/re.nvstate" 2>&1); rc=$?
check "pack -o refuses an existing file (exit 2)" test $rc -eq 2
check "pack -o names it and --force" contains "$err" "error: '$tmp/re.nvstate' exists; give --force to replace it."
check "pack -o left it untouched" cmp -s "$tmp/re.nvstate" "$tmp/re.copy"
out=$("$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" -o "$tmp/re.nvstate" --force); rc=$?
check "pack -o --force replaces it" test $rc -eq 0 -a "$(stat -c %s "$tmp/re.nvstate")" -lt "$(stat -c %s "$tmp/re.copy")"
check "pack says blob, singular" contains "$out" "Packed 1 raw blob into"
cp "$tmp/raw/vcpu-1.raw" "$tmp/raw1.copy"
printf 'x' >>"$tmp/raw/vcpu-1.raw"
err=$("$NESTVIRT" unpack "$SNAP/good.nvstate" -d "$tmp/raw" 2>&1); rc=$?
check "unpack -d refuses existing files (exit 2)" test $rc -eq 2
check "unpack -d names the first" contains "$err" "error: '$tmp/raw/vcpu-0.raw' exists; give --force to replace it."
check "unpack -d wrote nothing" test "$(stat -c %s "$tmp/raw/vcpu-1.raw")" = 129
"$NESTVIRT" unpack "$SNAP/good.nvstate" -d "$tmp/raw" --force >/dev/null; rc=$?
check "unpack -d --force replaces them" test $rc -eq 0 && cmp -s "$tmp/raw/vcpu-1.raw" "$tmp/raw1.copy"
printf '\x00\x00\x00\x00' | dd of="$tmp/raw/vcpu-2.raw" bs=1 seek=$((0x80 + 0x58)) conv=notrunc status=none
"$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" "$tmp/raw/vcpu-1.raw" "$tmp/raw/vcpu-2.raw" -o "$tmp/bad.nvstate" >/dev/null
out=$("$NESTVIRT" verify "$tmp/bad.nvstate"); rc=$?
check "verify finds validator rule" contains "$out" "vCPU 2: Rule S9: control.asid = 0x0 is zero; KVM_SET_NESTED_STATE would fail with EINVAL."
check "verify validator exit 1" test $rc -eq 1
out=$("$NESTVIRT" verify "$tmp/raw/vcpu-2.raw"); rc=$?
check "verify works on a raw blob" contains "$out" "vCPU 0: Rule S9: control.asid"
err=$("$NESTVIRT" pack "$SNAP/good.nvstate" -o "$tmp/x.nvstate" 2>&1); rc=$?
check "pack refuses a snapshot" contains "$err" "is already a snapshot"
out=$("$NESTVIRT" verify --dest-caps "$caps612" "$tmp/raw/vcpu-1.raw"); rc=$?
check "verify --dest-caps: a GIF-only state, every rule checked: exit 0" test $rc -eq 0 && not_contains "$out" "not checked"
out=$("$NESTVIRT" verify --json --dest-caps "$caps612" "$tmp/raw/vcpu-1.raw")
check "verify --json: verdict accepted" contains "$out" '"verdict":"accepted"'
# vmcb12 int_ctl |= V_NMI_ENABLE (bit 26), NMIs not intercepted: 6.12 refuses, 6.1 accepts.
cp "$tmp/raw/vcpu-0.raw" "$tmp/vnmi.raw"
printf '\x04' | dd of="$tmp/vnmi.raw" bs=1 seek=$((0x80 + 0x60 + 3)) conv=notrunc status=none
out=$("$NESTVIRT" verify --dest-caps "$caps612" "$tmp/vnmi.raw"); rc=$?
check "verify V_NMI against a 6.12 target: exit 1, rule S9" test $rc -eq 1 && contains "$out" "Rule S9: control.int_ctl = 0x4000000 enables virtual NMIs"
out=$("$NESTVIRT" verify --dest-caps "$tmp/caps61.xml" "$tmp/vnmi.raw"); rc=$?
check "verify V_NMI against a 6.1 target: accepted (exit 3)" test $rc -eq 3 && not_contains "$out" "Rule S9"
out=$("$NESTVIRT" verify "$tmp/vnmi.raw"); rc=$?
check "verify V_NMI without a target: accepted, the rule named as unchecked" test $rc -eq 3 && contains "$out" "V_NMI_ENABLE without the NMI intercept is unknown"
head -c 100 "$SNAP/good.nvstate" > "$tmp/short"
err=$("$NESTVIRT" inspect "$tmp/short" 2>&1); rc=$?
check "inspect short file exits 2" test $rc -eq 2
check "inspect short file explains" contains "$err" "Snapshot is truncated: 100 bytes"
head -c 100 "$tmp/raw/vcpu-0.raw" > "$tmp/shortraw"
err=$("$NESTVIRT" inspect "$tmp/shortraw" 2>&1)
check "inspect short raw blob explains" contains "$err" "neither a snapshot nor a raw blob: Nested state is 100 bytes"
ln -s "$SNAP/good.nvstate" "$tmp/link"
out=$("$NESTVIRT" inspect "$tmp/link" 2>&1); rc=$?
check "inspect reads through a symlink (read-only use)" test $rc -eq 0
check "inspect through a symlink shows the snapshot" contains "$out" "vCPU 0: svm, 4224 bytes"
"$NESTVIRT" verify "$tmp/link" >/dev/null; rc=$?
check "verify reads through a symlink" test $rc -eq 3
ln -s "$tmp/re.nvstate" "$tmp/outlink"
err=$("$NESTVIRT" pack "$tmp/raw/vcpu-0.raw" -o "$tmp/outlink" --force 2>&1); rc=$?
check "pack still refuses to write through a symlink" contains "$err" "symbolic link"

# Domains through libvirt's test driver (a private copy of node.xml per run).
URI="test://$NODE"
export NESTVIRT_HOST_ROOT=$DATA/host-amd
out=$("$NESTVIRT" -c "$URI" list); rc=$?
check "list exits 0" test $rc -eq 0
check "list shows the svm domain and its state" contains "$out" " svm-passthrough      running   svm     /var/lib/nestvirt/svm-passthrough/3.nvstate"
check "list hides shut-off domains" not_contains "$out" "plain-off"
err=$("$NESTVIRT" -c "$URI" list 2>&1 >/dev/full); rc=$?
check "list > /dev/full: exit 2" test $rc -eq 2
check "list > /dev/full: the write error named" contains "$err" "error: Cannot write to standard output"
out=$("$NESTVIRT" -c "$URI" list --all --name); rc=$?
check "list --all --name: the names alone, one a line" test $rc -eq 0 -a "$out" = "$(printf '%s\n' host-model-new nested-disabled plain-off svm-passthrough vmx-custom)"
check "list -q: the running ones" test "$("$NESTVIRT" -c "$URI" list -q)" = "$(printf '%s\n' host-model-new nested-disabled svm-passthrough vmx-custom)"
err=$("$NESTVIRT" -c "$URI" list --name --json 2>&1)
check "list --name --json refused" contains "$err" "exclude each other"
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
out=$("$NESTVIRT" -c "$URI" dominfo svm-passthrough)
check "dominfo text: the current snapshot" contains "$out" "state.path       /var/lib/nestvirt/svm-passthrough/3.nvstate"
check "dominfo text: the previous snapshots too" contains "$out" "previous[0]     /var/lib/nestvirt/svm-passthrough/2.nvstate time=2026-11-19T09:15:00Z vendor=svm vcpus=4 sha256=0a1b2c3d"
check "dominfo text: every previous snapshot" contains "$out" "previous[1]     /var/lib/nestvirt/svm-passthrough/1.nvstate"
err=$("$NESTVIRT" -c "$URI" dominfo nope 2>&1); rc=$?
check "dominfo unknown domain" contains "$err" "error: Domain 'nope' not found."
check "dominfo unknown domain exits 2" test $rc -eq 2
err=$("$NESTVIRT" -c test:///no/such/node.xml list 2>&1); rc=$?
check "bad URI explained" contains "$err" "error: Cannot connect to libvirt"

out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --dest-caps "$XMLIN/caps-amd.xml"); rc=$?
check "migrate-check to a like host: exit 3 (nothing wrong; the saved state cannot be read, its blobs unchecked)" test $rc -eq 3
check "migrate-check names what it left unchecked" contains "$out" "note: not checked: the domain's saved nested state cannot be read"
check "migrate-check says ok" contains "$out" "ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE 4224 fits"
out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --dest-caps "$XMLIN/caps-intel-escaped.xml"); rc=$?
check "migrate-check to Intel exits 1" test $rc -eq 1
check "migrate-check names the vendor" contains "$out" "the destination CPU is vmx; the domain's nested state is svm"
check "migrate-check names the capability" contains "$out" "KVM_CAP_NESTED_STATE is 0"
check "migrate-check counts problems" contains "$out" "2 problems."
out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --json --dest-caps "$XMLIN/caps-intel-escaped.xml"); rc=$?
check "migrate-check --json: exit 1, every problem" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert sys.argv[2] == "1" and o["domain"] == "svm-passthrough" and o["vendor"] == "svm" and o["can_migrate"] is False
assert o["destination"]["cpu_vendor"] == "vmx" and len(o["problems"]) == 2' "$out" $rc
out=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --json --dest-caps "$XMLIN/caps-amd.xml"); rc=$?
check "migrate-check --json to a like host" python3 -c '
import json, sys
o = json.loads(sys.argv[1]); assert sys.argv[2] == "3" and o["can_migrate"] is True and o["problems"] == []
assert o["verdict"] == "accepted-unchecked" and o["not_checked"]' "$out" $rc
err=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough --dest-caps "$tmp/none.xml" 2>&1); rc=$?
check "migrate-check that cannot check: exit 2, not 1" test $rc -eq 2
err=$("$NESTVIRT" -c "$URI" migrate-check svm-passthrough 2>&1); rc=$?
check "migrate-check needs --dest-caps" contains "$err" "needs --dest-caps FILE"
out=$("$NESTVIRT" migrate-check --help)
check "migrate-check --help names --src-caps" contains "$out" "  -S, --src-caps FILE      the source's capabilities (default: this host, measured)"
# Nested VMX MSRs of two VMX hosts (tests/data/caps-vmx-a.xml, -b.xml): B lacks five of A's
# controls and capabilities and forces two controls A lets L1 clear.  Each is a problem line of its own.
out=$("$NESTVIRT" -c "$URI" migrate-check vmx-custom --src-caps "$DATA/caps-vmx-a.xml" --dest-caps "$DATA/caps-vmx-b.xml"); rc=$?
check "migrate-check VMX A -> B: exit 1" test $rc -eq 1
check "migrate-check VMX A -> B: every control named, exactly" test "$out" = "vmx-custom -> destination (vmx, kernel 6.1.0-57-cloud-amd64):
  - nested VMX: the destination forces vmx-cr3-load-noexit, the primary processor-based VM-execution control \"CR3-load exiting\" (bit 15), to 1; the source lets L1 clear it
  - nested VMX: the destination forces vmx-cr3-store-noexit, the primary processor-based VM-execution control \"CR3-store exiting\" (bit 16), to 1; the source lets L1 clear it
  - nested VMX: the destination lacks vmx-shadow-vmcs, the secondary processor-based VM-execution control \"VMCS shadowing\" (bit 14)
  - nested VMX: the destination lacks vmx-tsc-scaling, the secondary processor-based VM-execution control \"use TSC scaling\" (bit 25)
  - nested VMX: the destination lacks vmx-entry-load-perf-global-ctrl, the VM-entry control \"load IA32_PERF_GLOBAL_CTRL\" (bit 13)
  - nested VMX: the destination lacks vmx-ept-1gb, the EPT/VPID capability \"1-GByte EPT pages\" (bit 17)
  - nested VMX: the destination lacks vmx-zero-len-inject, the IA32_VMX_MISC capability \"event injection with instruction length 0\" (bit 30)
vmx-custom cannot migrate there: 7 problems."
out=$("$NESTVIRT" -c "$URI" migrate-check vmx-custom --json --src-caps "$DATA/caps-vmx-a.xml" --dest-caps "$DATA/caps-vmx-b.xml"); rc=$?
check "migrate-check --json VMX A -> B: the seven problems, refused" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert sys.argv[2] == "1" and o["vendor"] == "vmx" and o["can_migrate"] is False and o["verdict"] == "refused"
names = [p.split(",")[0].rsplit(" ", 1)[1] for p in o["problems"]]
want = ["vmx-cr3-load-noexit", "vmx-cr3-store-noexit", "vmx-shadow-vmcs", "vmx-tsc-scaling",
        "vmx-entry-load-perf-global-ctrl", "vmx-ept-1gb", "vmx-zero-len-inject"]
assert names == want, names
assert [v["feature"] for v in o["vmx"]] == want
assert [(v["kind"], v["word"], v["bit"]) for v in o["vmx"]] == [("forces", "primary", 15), ("forces", "primary", 16),
        ("lacks", "secondary", 14), ("lacks", "secondary", 25), ("lacks", "entry", 13), ("lacks", "ept-vpid", 17), ("lacks", "misc", 30)]
assert o["vmx"][2]["intel"] == "VMCS shadowing"' "$out" $rc
out=$("$NESTVIRT" -c "$URI" migrate-check vmx-custom --src-caps "$DATA/caps-vmx-b.xml" --dest-caps "$DATA/caps-vmx-a.xml"); rc=$?
check "migrate-check VMX B -> A: nothing missing, exit 3 (no saved state to judge)" test $rc -eq 3
check "migrate-check VMX B -> A: ok, no VMX line" contains "$out" "  ok: same vendor, nested enabled, KVM_CAP_NESTED_STATE 8320 fits"
check "migrate-check VMX B -> A names no control" not_contains "$out" "nested VMX"
# A document without the MSRs (no <target>: an older nestvirt, a host not measured) is a note, never a problem.
sed '/<target/,/<\/target>/d' "$DATA/caps-vmx-b.xml" >"$tmp/caps-vmx-b-old.xml"
out=$("$NESTVIRT" -c "$URI" migrate-check vmx-custom --json --src-caps "$DATA/caps-vmx-a.xml" --dest-caps "$tmp/caps-vmx-b-old.xml"); rc=$?
check "migrate-check VMX, destination MSRs unknown: exit 3, a note" python3 -c '
import json, sys
o = json.loads(sys.argv[1]); assert sys.argv[2] == "3" and o["problems"] == [] and o["verdict"] == "accepted-unchecked"
assert "the destination'"'"'s capabilities document has no nested VMX capability MSRs: the VMX controls were not compared" in o["not_checked"]' "$out" $rc
# The source is this host by default, its MSRs measured on a scratch vCPU: a fake Intel host with nested on and no KVM has none.
root=$tmp/host-intel-on
cp -r "$DATA/host-intel-off" "$root" && echo Y >"$root/sys/module/kvm_intel/parameters/nested"
out=$(NESTVIRT_HOST_ROOT=$root "$NESTVIRT" -c "$URI" migrate-check vmx-custom --dest-caps "$DATA/caps-vmx-a.xml"); rc=$?
check "migrate-check VMX from this host, not measured: exit 3" test $rc -eq 3
check "migrate-check VMX from this host, not measured: says so" contains "$out" "note: not checked: the source's nested VMX capability MSRs were not measured: its VMX controls were not compared with the destination's"
out=$("$NESTVIRT" -c "$URI" capabilities --domains)
check "capabilities --domains" contains "$out" "vmx-custom           none    NOT SUPPORTED, nested required (the domain asks for vmx but this host is AMD (svm))"
unset NESTVIRT_HOST_ROOT

# /dev/kvm: absent, present but not permitted, present without nested state.
root=$tmp/host-root
cp -r "$DATA/host-amd" "$root" && mkdir "$root/dev" && : >"$root/dev/kvm" && chmod 000 "$root/dev/kvm"
chmod -R a+rX "$root"
as_other() { if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
out=$(NESTVIRT_HOST_ROOT=$root as_other "$NESTVIRT" capabilities 2>&1)
check "capabilities: /dev/kvm not permitted is told" contains "$out" "KVM device:            present but not permitted (Permission denied)"
check "capabilities: not permitted: the capability is unknown, not 0" contains "$out" "KVM_CAP_NESTED_STATE:  unknown"
check "capabilities: not permitted: why and what to do" contains "$out" "/dev/kvm is present but this user may not open it (Permission denied): run as root"
out=$(NESTVIRT_HOST_ROOT=$root as_other "$NESTVIRT" capabilities --json)
check "capabilities --json: kvm_access denied, capability null" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["kvm_device"] is True and o["kvm_access"] == "denied" and o["nested_state_max"] is None and o["nested_available"] is False' "$out"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities --json)
check "capabilities --json: absent" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["kvm_device"] is False and o["kvm_access"] == "absent" and o["nested_state_max"] is None
assert "absent" in o["nested_unavailable_reason"]' "$out"
# This machine's own /dev/kvm, when it opens and has no nested state (decided on the capability).
out=$("$NESTVIRT" capabilities --json)
if python3 -c 'import json,sys; o=json.loads(sys.argv[1]); sys.exit(not (o["kvm_access"] == "ok" and o["nested_state_max"] == 0))' "$out"; then
        check "capabilities: a KVM without nested state is told apart" contains "$("$NESTVIRT" capabilities)" "this KVM has no nested state (KVM_CAP_NESTED_STATE is 0)"
fi
out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities --json --sim)
check "capabilities --sim: the simulator's capability" python3 -c '
import json, sys; o = json.loads(sys.argv[1]); assert o["nested_state_max"] == 4224 and o["backend"] == "simulated"' "$out"

# Not root: lock files go to $XDG_RUNTIME_DIR/nestvirt, unless NESTVIRT_RUNTIME_DIR says otherwise.
out=$(as_other env -u NESTVIRT_RUNTIME_DIR XDG_RUNTIME_DIR=$tmp/xdg NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" capabilities --json)
check "not root: the runtime directory is \$XDG_RUNTIME_DIR/nestvirt" python3 -c '
import json, sys; assert json.loads(sys.argv[1])["runtime_dir"] == sys.argv[2]' "$out" "$tmp/xdg/nestvirt"
out=$(NESTVIRT_RUNTIME_DIR=$tmp/rt XDG_RUNTIME_DIR=$tmp/xdg NESTVIRT_HOST_ROOT=$DATA/host-amd as_other "$NESTVIRT" capabilities --json)
check "not root: NESTVIRT_RUNTIME_DIR still wins" python3 -c '
import json, sys; assert json.loads(sys.argv[1])["runtime_dir"] == sys.argv[2]' "$out" "$tmp/rt"

# collect/load refuse a process that is not a KVM VMM, touching nothing.
sleep 30 & plain=$!
err=$("$NESTVIRT" collect --pid $plain -o "$tmp/c.nvstate" 2>&1); rc=$?
check "collect refuses a non-KVM process" contains "$err" "Process $plain holds no KVM VM (no anon_inode:kvm-vm file descriptor): it is not a KVM VMM."
check "collect's refusal exits 2 (could not run) and writes nothing" test $rc -eq 2 -a ! -e "$tmp/c.nvstate"
check "the refused process runs on" kill -0 $plain
err=$("$NESTVIRT" load --pid $plain "$DATA/snapshots/good.nvstate" 2>&1)
check "load refuses a non-KVM process" contains "$err" "it is not a KVM VMM"
err=$("$NESTVIRT" collect -o "$tmp/c.nvstate" 2>&1)
check "collect needs --pid" contains "$err" "'collect' needs --pid PID of the VMM process."
kill $plain; wait $plain 2>/dev/null
tap_end
