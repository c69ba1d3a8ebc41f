#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nestvirt save and restore through the CLI against the reference VMM on
# peer-to-peer D-Bus, with libvirt's test driver: 1 to 64 vCPUs across a
# VMM kill and restart, and every refusal leaving the VMM as it was.
# Each nestvirt run is its own process, so the test driver starts from the
# node file each time: the file's <nestvirt:state> is written here from what
# save printed, as the XML a host would hold.
set -u
NESTVIRT=$1
TESTVMM=$2
DATA=$3 # tests/data: the hook runs against a fake AMD host, whatever this machine is
T=$(mktemp -d /tmp/nestvirt-sr-XXXXXX)
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
UUID=7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e21
VMM_PID= VMM_OUT=
trap 'kill -9 $VMM_PID 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup

. "$(dirname "$0")/tap.sh"
json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# node VCPUS [STATE_XML] [POLICY_XML]: a node file with one running domain "l1".
node() {
        cat >"$T/node.xml" <<XML
<node><domain type='test'><name>l1</name><uuid>$UUID</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/vmm.sock"/>${3:-}${2:-}
  </nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>$1</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain></node>
XML
}
nv() { "$NESTVIRT" -c "test://$T/node.xml" "$@"; }

. "$(dirname "$0")/testvmm-fifo.sh"
vmm_start() { vmm_run --vcpus "$1" ${2:-}; } # VCPUS [--restore]
state_xml() { # path sha vcpus
        printf '\n    <nestvirt:state path="%s" sha256="%s" vendor="svm" vcpus="%s" time="2026-11-23T00:00:00Z"/>' "$1" "$2" "$3"
}

for n in 1 4 64; do
        node $n
        vmm_start $n; sleep 0.3
        out=$(nv save l1 --keep-frozen --json); rc=$?
        check "$n vCPUs: save exits 0" test $rc -eq 0
        path=$(json "$out" path) sha=$(json "$out" sha256)
        check "$n vCPUs: all in guest mode" test "$(json "$out" guest_mode_vcpus)" = $n
        check "$n vCPUs: file written under the state dir" test -f "$path" -a "${path#$T/state/l1/}" != "$path"
        check "$n vCPUs: file is mode 0600" test "$(stat -c %a "$path")" = 600
        kill -USR1 $VMM_PID; expect "saved own state"; counters; saved=("${C[@]}")
        check "$n vCPUs: kept frozen after save" unchanged "${saved[@]}"
        vmm_kill
        node $n "$(state_xml "$path" "$sha" $n)"
        vmm_start $n --restore
        check "$n vCPUs: restarted VMM waits paused" unchanged "${saved[@]}"
        out=$(nv restore l1); rc=$?
        check "$n vCPUs: restore from the XML reference exits 0" test $rc -eq 0
        check "$n vCPUs: restore names the file" contains "$out" "from $path"
        sleep 0.3
        check "$n vCPUs: L2 continued after restore" advanced "${saved[@]}"
        vmm_kill
done

# Refusals: each leaves the restarted (paused) VMM as it was.
node 2; vmm_start 2; sleep 0.2
out=$(nv save l1 --keep-frozen --json); path=$(json "$out" path) sha=$(json "$out" sha256)
# The snapshot says which KVM backend the VMM saved it on (the reference VMM says which on stderr).
backend=simulated; grep -q 'running on real KVM' "$T/vmm.err" && backend=kvm
check "the snapshot names the backend it was saved on" test "$(json "$("$NESTVIRT" inspect --json "$path")" backend)" = $backend
check "inspect shows the backend" contains "$("$NESTVIRT" inspect "$path")" "backend                        $backend"
kill -USR1 $VMM_PID; expect "saved own state"; counters; saved=("${C[@]}"); vmm_kill
vmm_start 2 --restore

node 2 "$(state_xml "$path" 0000000000000000000000000000000000000000000000000000000000000000 2)"
err=$(nv restore l1 2>&1); rc=$?
check "changed file: refused (exit 2)" test $rc -eq 2
check "changed file: says the hash differs" contains "$err" "the file changed since it was saved"
check "changed file: VMM untouched" unchanged "${saved[@]}"

cp "$path" "$T/flipped.nvstate"; printf '\xff' | dd of="$T/flipped.nvstate" bs=1 seek=1000 conv=notrunc status=none
err=$(nv restore l1 --file "$T/flipped.nvstate" 2>&1); rc=$?
check "damaged file: refused (exit 2)" test $rc -eq 2
check "damaged file: names the checksum" contains "$err" "Checksum mismatch for vCPU 0"
check "damaged file: VMM untouched" unchanged "${saved[@]}"

# migrate-check judges the saved snapshot by the destination's measured rules (the verify engine):
# vmcb12 V_NMI_ENABLE without the NMI intercept goes to a 6.1 target, not to a 6.12 one.
CAPS=$DATA/../xml2xml-in
"$NESTVIRT" unpack "$path" -d "$T/vnmi" >/dev/null
printf '\x04' | dd of="$T/vnmi/vcpu-0.raw" bs=1 seek=$((0x80 + 0x60 + 3)) conv=notrunc status=none
"$NESTVIRT" pack "$T/vnmi"/vcpu-*.raw -o "$T/vnmi.nvstate" >/dev/null
sed 's/vnmiNeedsNmiIntercept="yes"/vnmiNeedsNmiIntercept="no"/' "$CAPS/caps-target-svm.xml" >"$T/caps61.xml"
node 2 "$(state_xml "$T/vnmi.nvstate" "$(sha256sum "$T/vnmi.nvstate" | cut -c1-64)" 2)"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd nv migrate-check l1 --dest-caps "$CAPS/caps-target-svm.xml"); rc=$?
check "migrate-check, V_NMI state to a 6.12 target: exit 1, the rule named" test $rc -eq 1 && contains "$out" "vCPU 0: Rule S9: control.int_ctl"
out=$(NESTVIRT_HOST_ROOT=$DATA/host-amd nv migrate-check l1 --dest-caps "$T/caps61.xml"); rc=$?
check "migrate-check, V_NMI state to a 6.1 target: accepted, the vCPU's own facts unchecked (exit 3)" test $rc -eq 3 && contains "$out" "vCPU 0: ok"

node 2 "$(state_xml "$T/missing.nvstate" "$sha" 2)"
err=$(nv restore l1 2>&1); rc=$?
check "missing file, onMissing=fail: refused (exit 2)" test $rc -eq 2
check "missing file: names the policy" contains "$err" "onMissing=fail"
check "missing file: VMM untouched" unchanged "${saved[@]}"

exec {LOCK}>"$T/run/locks/$UUID.lock"; flock -n $LOCK
node 2 "$(state_xml "$path" "$sha" 2)"
err=$(nv restore l1 2>&1); rc=$?
check "locked domain: refused (exit 2)" test $rc -eq 2
check "locked domain: says another operation runs" contains "$err" "Another nestvirt operation on domain 'l1' is in progress"
exec {LOCK}>&-
check "locked domain: VMM untouched" unchanged "${saved[@]}"
vmm_kill

vmm_start 3 --restore 2>/dev/null || vmm_start 3
err=$(nv restore l1 --force 2>&1); rc=$?
check "wrong vCPU count: refused (exit 2)" test $rc -eq 2
check "wrong vCPU count: says so" contains "$err" "holds 2 vCPUs but the VMM has 3"
vmm_kill

node 2 "$(state_xml "$T/missing.nvstate" "$sha" 2)" '
    <nestvirt:policy onMissing="continue"/>'
vmm_start 2 --restore
out=$(nv restore l1 2>&1); rc=$?
check "missing file, onMissing=continue: runs on" test $rc -eq 0
check "onMissing=continue: says nested state is lost" contains "$out" "WITHOUT nested state"
vmm_kill

# Migration at both ends: migrate-begin on the source, the destination's hook
# (the libvirt "migrate begin" filter) on its XML, then restore into a new VMM.
# migrate-check runs first, before anything is frozen (the source's facts: the fake AMD host).
CAPS=$DATA/../xml2xml-in
node 2; vmm_start 2; sleep 0.2
err=$(nv migrate-begin l1 2>&1); rc=$?
check "migrate-begin: needs --dest-caps or --no-check" contains "$err" "needs either --dest-caps FILE"
counters; before=("${C[@]}")
err=$(NESTVIRT_HOST_ROOT=$DATA/host-amd nv migrate-begin l1 --dest-caps "$CAPS/caps-intel-escaped.xml" 2>&1); rc=$?
check "migrate-begin to an Intel host: refused (exit 2)" test $rc -eq 2
check "migrate-begin to an Intel host: says why" contains "$err" "Domain 'l1' cannot migrate to that host: the destination CPU is vmx"
sleep 0.2
check "migrate-begin refused by the check: the VMM runs on" advanced "${before[@]}"
err=$(nv migrate-begin l1 --no-check --inline-max 100 2>&1); rc=$?
check "migrate-begin: too large for inline without shared storage refused" contains "$err" "more than 100 can travel inline"
counters; after_fail=("${C[@]}"); sleep 0.2
check "migrate-begin: a failed begin thaws the VMM" advanced "${after_fail[@]}"
node 2 "$(state_xml "$T/source-only.nvstate" "$(printf '0%.0s' {1..64})" 2)" # a snapshot of the source's own
NESTVIRT_HOST_ROOT=$DATA/host-amd nv migrate-begin l1 --dest-caps "$CAPS/caps-amd.xml" -o "$T/dest.xml"; rc=$?
check "migrate-begin (inline) exits 0" test $rc -eq 0
check "migrate-begin (inline): the source's own snapshot references stay behind" test "$(grep -c source-only "$T/dest.xml")" -eq 0
check "migrate-begin: the state travels inline" grep -q "<nestvirt:inline " "$T/dest.xml"
counters; frozen=("${C[@]}")
check "migrate-begin: the source stays frozen" unchanged "${frozen[@]}"
kill -USR1 $VMM_PID; expect "saved own state"; vmm_kill
NESTVIRT_STATE_DIR=$T/dest-state NESTVIRT_HOST_ROOT=$DATA/host-amd \
        "$NESTVIRT" hook l1 migrate begin - <"$T/dest.xml" >"$T/landed.xml"; rc=$?
check "hook on the destination exits 0" test $rc -eq 0
check "hook: the XML now references a local file" grep -q "<nestvirt:state path=\"$T/dest-state/l1/" "$T/landed.xml"
{ echo "<node>"; sed '/^<?xml/d' "$T/landed.xml"; echo "</node>"; } >"$T/node.xml"
vmm_start 2 --restore
out=$(NESTVIRT_STATE_DIR=$T/dest-state nv restore l1); rc=$?
check "restore on the destination exits 0" test $rc -eq 0
sleep 0.3
check "migration: L2 continued on the destination" advanced "${frozen[@]}"
# What the hook landed and nobody loaded goes at release (issue 15.13); what was loaded stays.
landed=$(sed -n 's/.*<nestvirt:state path="\([^"]*\)".*/\1/p' "$T/landed.xml")
check "restore of landed state: the hook's note is dropped" test ! -e "$T/run/landed/$UUID"
NESTVIRT_STATE_DIR=$T/dest-state "$NESTVIRT" hook l1 release end - <"$T/landed.xml"
check "release after a restore: the loaded file stays" test -f "$landed"
NESTVIRT_STATE_DIR=$T/dest-state NESTVIRT_HOST_ROOT=$DATA/host-amd \
        "$NESTVIRT" hook l1 migrate begin - <"$T/dest.xml" >"$T/landed2.xml"
landed2=$(sed -n 's/.*<nestvirt:state path="\([^"]*\)".*/\1/p' "$T/landed2.xml")
check "hook: notes the file it landed" test -f "$landed2" -a "$(cat "$T/run/landed/$UUID")" = "$landed2"
NESTVIRT_STATE_DIR=$T/dest-state "$NESTVIRT" hook l1 release end - <"$T/landed2.xml"; rc=$?
check "release of a domain whose landed state was never loaded: exit 0" test $rc -eq 0
check "release: the landed file nobody loaded is removed, with its note" test ! -e "$landed2" -a ! -e "$T/run/landed/$UUID"
check "release: the other landed file stays" test -f "$landed"
vmm_kill

node 2; vmm_start 2; sleep 0.2
nv migrate-begin l1 --no-check --shared-dir "$T/shared" -o "$T/dest.xml"; rc=$?
check "migrate-begin --shared-dir exits 0" test $rc -eq 0
check "migrate-begin --shared-dir: referenced, not inline" grep -q "<nestvirt:state path=\"$T/shared/l1/" "$T/dest.xml"
NESTVIRT_HOST_ROOT=$DATA/host-amd "$NESTVIRT" hook l1 migrate begin - <"$T/dest.xml" >"$T/landed.xml"; rc=$?
check "hook accepts the shared file, XML unchanged" test $rc -eq 0 -a ! -s "$T/landed.xml"
vmm_kill

# restore into a VM that runs (issue 15.3): refused unless --force, the VM untouched.
node 2; vmm_start 2; sleep 0.2
out=$(nv save l1 --json); path=$(json "$out" path) sha=$(json "$out" sha256)
node 2 "$(state_xml "$path" "$sha" 2)"
counters; before=("${C[@]}")
err=$(nv restore l1 2>&1); rc=$?
check "restore into a running VM: refused" test $rc -eq 2
check "restore into a running VM: says why and names --force" contains "$err" "is not loaded into a running VM (--force loads it anyway)"
sleep 0.2
check "restore into a running VM: the VM ran on untouched" advanced "${before[@]}"
out=$(nv restore l1 --force); rc=$?
check "restore --force into a running VM: loads" test $rc -eq 0
check "restore --force: names the file" contains "$out" "from $path"
vmm_kill

# A kept freeze outlives the next save and restore (issue 15.2): they find the VMM frozen and leave it so.
node 2; vmm_start 2; sleep 0.2
out=$(nv save l1 --keep-frozen --json); path=$(json "$out" path) sha=$(json "$out" sha256)
counters; frozen=("${C[@]}")
out=$(nv save l1 --json); rc=$? path=$(json "$out" path)
check "kept freeze: a plain save succeeds" test $rc -eq 0
check "kept freeze: the plain save says it found it frozen" test "$(json "$out" kept_frozen)" = True
sleep 0.2
check "kept freeze: still frozen after the plain save" unchanged "${frozen[@]}"
out=$(nv restore l1 --force --file "$path"); rc=$?
check "kept freeze: a restore succeeds" test $rc -eq 0
sleep 0.2
check "kept freeze: still frozen after the restore" unchanged "${frozen[@]}"
vmm_kill

# What killed saves leave (issue 15.13): the next save of the domain removes our temporary files
# and the snapshots nothing references in STATE_DIR/DOMAIN, and nothing else.
node 2; vmm_start 2; sleep 0.2
out=$(nv save l1 --json); ref=$(json "$out" path) sha=$(json "$out" sha256)
node 2 "$(state_xml "$ref" "$sha" 2)"
tmp=$T/state/l1/20260101T000000.000000Z.nvstate.tmp-Ab12Cd orphan=$T/state/l1/20260101T000000.000001Z.nvstate
cp "$ref" "$tmp"; cp "$ref" "$orphan"; echo mine >"$T/state/l1/notes.txt"
out=$(nv save l1 --json); rc=$?
check "save after killed ones: exit 0" test $rc -eq 0
check "save: a stale temporary file of ours is removed" test ! -e "$tmp"
check "save: a snapshot nothing references is removed" test ! -e "$orphan"
check "save: the referenced snapshot stays" test -f "$ref"
check "save: a file not of our naming stays" test -f "$T/state/l1/notes.txt"
check "save: the new snapshot is there" test -f "$(json "$out" path)"
vmm_kill

# save --file through a symlink (issue 15.6): refused, the link's target untouched.
node 2; vmm_start 2
echo precious >"$T/target"; ln -s "$T/target" "$T/link.nvstate"
err=$(nv save l1 --file "$T/link.nvstate" 2>&1); rc=$?
check "save --file SYMLINK: refused" test $rc -eq 2
check "save --file SYMLINK: says it is a symbolic link" contains "$err" "'$T/link.nvstate' is a symbolic link"
check "save --file SYMLINK: the target is untouched" test "$(cat "$T/target")" = precious
check "save --file SYMLINK: the link is still a link" test -L "$T/link.nvstate"
ln -s "$T/nowhere" "$T/dangling.nvstate"
err=$(nv save l1 --file "$T/dangling.nvstate" 2>&1); rc=$?
check "save --file DANGLING-SYMLINK: refused, nothing created" test $rc -eq 2 -a ! -e "$T/nowhere"
mkdir "$T/real"; ln -s "$T/real" "$T/dirlink"
out=$(nv save l1 --file "$T/dirlink/x.nvstate" --json); rc=$?
check "save --file through a symlinked directory: allowed, referenced canonically" \
        test $rc -eq 0 -a "$(json "$out" path)" = "$T/real/x.nvstate"
vmm_kill

# A socket path that leads to another VM's VMM (issue 15.4: the message named freed memory).
OTHER=7b2c8a2e-7a31-4c55-9d0e-00000000beef
"$TESTVMM" --socket "$T/vmm.sock" --vcpus 2 --uuid $OTHER >/dev/null 2>>"$T/vmm.err" & OTHER_PID=$!
for _ in $(seq 50); do [[ -S $T/vmm.sock ]] && break; sleep 0.1; done
err=$(nv save l1 2>&1); rc=$?
check "VMM of another VM: save refused" test $rc -eq 2
check "VMM of another VM: names both UUIDs exactly" contains "$err" "runs VM $OTHER, not this domain ($UUID)"
kill -9 $OTHER_PID; wait $OTHER_PID 2>/dev/null

err=$(nv save l1 2>&1); rc=$?
check "no VMM: save refused (exit 2)" test $rc -eq 2
check "no VMM: names the socket" contains "$err" "$T/vmm.sock"
err=$(nv save nosuch 2>&1); rc=$?
check "unknown domain: refused" contains "$err" "Domain 'nosuch' not found"
out=$("$NESTVIRT" save --help); rc=$?
check "save --help" contains "$out" "--keep-frozen"

tap_end
