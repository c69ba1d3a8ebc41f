#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Real libvirt and real QEMU: libvirt's QEMU driver embedded in each
# process (qemu:///embed?root=DIR, no daemon), TCG domains.  The nested mode
# of host-model, custom EPYC / Opteron_G3 / Westmere and default-CPU domains
# comes from libvirt's expansion; list, dominfo and migrate-check run
# against the real domains; the hook, fed the XML libvirt itself produced
# for a start, a managed-save restore and an incoming migration, lets the
# svm ones through on an AMD host from the CPU model cache, refuses the one
# without svm, and refuses nothing when the cache cannot tell.
# Skips (77) where the embedded QEMU driver cannot start.
set -u
NESTVIRT=$1
DATA=$2 # tests/data
NESTVIRTD=$3 BUSCONF=$4 # nestvirtd on a private dbus-daemon keeps the cache too
. "$(dirname "$0")/tap.sh"

for p in virsh qemu-system-x86_64; do
        command -v "$p" >/dev/null || { echo "1..0 # SKIP $p is not installed (packages libvirt-clients, qemu-system-x86)"; exit 0; }
done
T=$(mktemp -d /tmp/nestvirt-qemu-XXXXXX)
U="qemu:///embed?root=$T/root"
# QEMU outlives the process that started it: stop every one this test started, by its pid file.
D_PID= BUS_PID=
cleanup() {
        kill $D_PID $BUS_PID 2>/dev/null
        wait 2>/dev/null
        for f in "$T"/root/run/qemu/*.pid; do
                [[ -r $f ]] && kill "$(cat "$f")" 2>/dev/null
        done
        rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
mkdir -p "$T/root/etc" "$T/state" "$T/run"
# The QEMU driver runs QEMU as the build's qemu user when root; no virtlogd here.
{ [[ $(id -u) == 0 ]] && printf 'user = "root"\ngroup = "root"\n'; echo 'stdio_handler = "file"'; } >"$T/root/etc/qemu.conf"
if ! virsh -c "$U" domcapabilities --virttype qemu >"$T/domcaps.xml" 2>"$T/err"; then
        echo "1..0 # SKIP qemu:///embed cannot start here: $(grep error "$T/err" | tail -1)"; exit 0
fi
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run NESTVIRT_HOST_ROOT=$DATA/host-amd

# NAME CPU-ELEMENT: a TCG domain that requires nested virtualization.
define() {
        cat >"$T/$1.xml" <<EOF
<domain type='qemu'><name>$1</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:policy nested="required"/></nestvirt:nested></metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>$2
  <devices><video><model type='none'/></video><memballoon model='none'/></devices></domain>
EOF
        virsh -q -c "$U" define "$T/$1.xml" >/dev/null
}
define hm "<cpu mode='host-model'/>"
define epyc "<cpu mode='custom'><model>EPYC</model></cpu>"
define g3 "<cpu mode='custom'><model>Opteron_G3</model></cpu>"
define plain ""
define westmere "<cpu mode='custom'><model>Westmere</model></cpu>"
define nosvm "<cpu mode='custom'><model>EPYC</model><feature policy='disable' name='svm'/></cpu>"

nested_of() { python3 -c 'import json,sys; print(" ".join(d["name"] + "=" + d["nested"] for d in json.load(sys.stdin)))'; }
out=$("$NESTVIRT" -c "$U" list --all --json | nested_of)
check "list: the mode of each CPU from libvirt" \
        contains "$out" "epyc=svm g3=svm hm=svm nosvm=none plain=svm westmere=none"
out=$("$NESTVIRT" -c "$U" dominfo plain --json)
check "dominfo: a domain without <cpu> gets QEMU's default model from libvirt, and svm with it" \
        contains "$out" '"cpu_model":"qemu64"'
check "the CPU model cache names the host and the emulator" \
        grep -q 'model hostModel="yes" name="EPYC" virtType="qemu" emulator="/usr/bin/qemu-system-x86_64".*svm="yes"' "$T/state/cpu-models.xml"

# hook NAME OP SUBOP < XML: libvirt's qemu hook as libvirt runs it.
hook() { "$NESTVIRT" hook "$1" "$2" "$3" - >"$T/hook.out" 2>"$T/hook.err"; }
for d in hm epyc g3 plain; do
        virsh -q -c "$U" dumpxml "$d" >"$T/$d.inactive"
        check "hook: $d may start (prepare begin)" hook "$d" prepare begin <"$T/$d.inactive"
done
virsh -q -c "$U" dumpxml westmere >"$T/westmere.inactive"
hook westmere prepare begin <"$T/westmere.inactive"; rc=$?
check "hook: Westmere (no svm in the model) is refused, naming libvirt's answer" \
        test $rc = 1 -a -n "$(grep -F 'does not include vmx/svm, as libvirt expands it' "$T/hook.err")"

# A running host-model domain's live XML is a custom EPYC without an svm line.
virsh -q -c "$U" start hm >/dev/null 2>"$T/err" || echo "# start: $(cat "$T/err")"
virsh -q -c "$U" dumpxml hm >"$T/hm.live"
check "the live XML of host-model is a custom EPYC" grep -q "<model fallback='forbid'>EPYC</model>" "$T/hm.live"
out=$("$NESTVIRT" -c "$U" dominfo hm --json)
check "dominfo of the running host-model domain: svm" contains "$out" '"nested":"svm"'
check "hook: the live XML may start again" hook hm prepare begin <"$T/hm.live"
virsh -q -c "$U" dumpxml --migratable hm >"$T/hm.migratable"
check "hook: an incoming migration (migrate begin)" hook hm migrate begin <"$T/hm.migratable"
check "hook: ... and its start (prepare begin)" hook hm prepare begin <"$T/hm.migratable"
virsh -q -c "$U" managedsave hm >/dev/null 2>"$T/err" || echo "# managedsave: $(cat "$T/err")"
virsh -q -c "$U" managedsave-dumpxml hm >"$T/hm.saved"
check "hook: a managed-save restore (restore begin)" hook hm restore begin <"$T/hm.saved"
check "hook: ... and its start (prepare begin)" hook hm prepare begin <"$T/hm.saved"
out=$(virsh -q -c "$U" "start hm; domstate hm --reason; destroy hm" 2>&1)
check "libvirt restored the managed save" contains "$out" "running (restored)"

# migrate-check against the real domain: the destination's host-model CPU is an Opteron_G3.
sed 's/nestedStateMax="0"/nestedStateMax="20480"/' <("$NESTVIRT" capabilities --xml) >"$T/caps-dest.xml"
python3 - "$T/domcaps.xml" "$T/domcaps-g3.xml" <<'EOF'
import re, sys
s = open(sys.argv[1]).read()
g3 = "<mode name='host-model' supported='yes'><model fallback='forbid'>Opteron_G3</model><vendor>AMD</vendor></mode>"
open(sys.argv[2], "w").write(re.sub(r"<mode name='host-model'.*?</mode>", g3, s, flags=re.S))
EOF
"$NESTVIRT" -c "$U" migrate-check epyc --dest-caps "$T/caps-dest.xml" --dest-domcaps "$T/domcaps-g3.xml" >"$T/mc" 2>&1; rc=$?
check "migrate-check: EPYC to an Opteron_G3 host names each missing feature" \
        test $rc = 1 -a -n "$(grep -F "lacks the feature avx2" "$T/mc")" -a -n "$(grep -F "lacks the feature sse4.2" "$T/mc")"
"$NESTVIRT" -c "$U" migrate-check g3 --dest-caps "$T/caps-dest.xml" --dest-domcaps "$T/domcaps-g3.xml" >"$T/mc" 2>&1; rc=$?
# No problem found, but no nestvirt snapshot to judge either (QEMU carries the state): 3, with the note.
check "migrate-check: Opteron_G3 to an Opteron_G3 host can go (exit 3: its blobs are not judged here)" \
        test $rc = 3 -a -n "$(grep -F "ok:" "$T/mc")" -a -n "$(grep -F "note: not checked: the domain has no saved nested state" "$T/mc")"

# Where the cache cannot say, the hook refuses nothing and says so.
sed -i 's/libvirtVersion="[0-9]*"/libvirtVersion="1"/' "$T/state/cpu-models.xml"
hook westmere prepare begin <"$T/westmere.inactive"; rc=$?
check "hook: a stale cache (another libvirt) lets Westmere start, with a log line" \
        test $rc = 0 -a -n "$(grep -F 'written for another libvirt version' "$T/hook.err")"
rm -f "$T/state/cpu-models.xml"
hook epyc prepare begin <"$T/epyc.inactive"; rc=$?
check "hook: no cache lets EPYC start, with a log line" test $rc = 0 -a -n "$(grep -F 'no readable CPU model cache' "$T/hook.err")"
virsh -q -c "$U" dumpxml nosvm >"$T/nosvm.inactive"
hook nosvm prepare begin <"$T/nosvm.inactive"; rc=$?
check "hook: svm disabled in the XML is refused without any cache" test $rc = 1

# nestvirtd, on the same embedded driver, writes the cache when it reads the domains, and serves the modes.
if command -v dbus-daemon >/dev/null && command -v busctl >/dev/null; then
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
        dbus-daemon --config-file="$BUSCONF" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile 2>"$T/bus.err" &
        BUS_PID=$!
        for ((i = 0; i < 50; i++)); do [ -S "$T/bus" ] && break; sleep 0.1; done
        "$NESTVIRTD" --connect "$U" 2>"$T/nestvirtd.err" &
        D_PID=$!
        for ((i = 0; i < 300; i++)); do [ -s "$T/state/cpu-models.xml" ] && break; sleep 0.1; done
        check "nestvirtd writes the CPU model cache" grep -q 'name="Westmere" virtType="qemu".*svm="no"' "$T/state/cpu-models.xml"
        out=$(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.nestvirt.NestedState1 /org/nestvirt/NestedState1 \
                org.nestvirt.NestedState1.Manager GetMachine s g3 2>&1)
        path=$(sed -E 's/^o "(.*)"$/\1/' <<<"$out")
        out=$(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.nestvirt.NestedState1 "$path" \
                org.nestvirt.NestedState1.Machine NestedMode 2>&1)
        check "nestvirtd: Opteron_G3's NestedMode is svm" contains "$out" 's "svm"'
        kill $D_PID; wait $D_PID 2>/dev/null; D_PID=
        hook westmere prepare begin <"$T/westmere.inactive"; rc=$?
        check "hook: refuses Westmere again from nestvirtd's cache" test $rc = 1
fi
tap_end
