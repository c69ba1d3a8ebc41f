#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nestvirt maintenance through the CLI, as nestvirt-maintenance.service runs
# it: four domains on libvirt's test driver, each with a reference VMM on
# p2p D-Bus, one of them hung.  save-all saves the others and reports the
# hung one (a bar on a terminal, lines otherwise, JSON on request); after
# every VMM is killed and restarted, restore-all brings L2 back.
# Each nestvirt run is its own process and the test driver starts from the
# node file each time, so the file is rewritten with the references save-all
# wrote, as the domains' XML on a host would hold them.
set -u
NESTVIRT=$1
TESTVMM=$2
# On tmpfs where there is one: every save here fsyncs, and on a host whose
# disk is busy with other writers (a CI machine building and booting VMs,
# gigabytes of dirty pages) one fsync was seen to wait longer than a minute,
# which says nothing about save-all.  The fsyncs still run; the order of
# writes they enforce is what the checks below look at.
T=$(mktemp -d "$( [[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo /tmp)/nestvirt-maint-XXXXXX")
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
N=4 HUNG=2
declare -a PID OUT REF
trap 'kill -CONT ${PID[*]} 2>/dev/null; kill -9 ${PID[*]} 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout (meson sends SIGTERM) must still run the EXIT cleanup

. "$(dirname "$0")/tap.sh"
uuid() { printf '7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e%02d' "$1"; }

node() { # the domains m0..m3, with REF[i] (a <nestvirt:state/>) if set
        local i
        { echo "<node>"
          for ((i = 0; i < N; i++)); do
                cat <<XML
<domain type='test'><name>m$i</name><uuid>$(uuid $i)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/m$i.sock"/>${REF[i]:-}
  </nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain>
XML
          done
          echo "</node>"; } >"$T/node.xml"
}
nv() { "$NESTVIRT" -c "test://$T/node.xml" "$@"; }

vmm_start() { # I [--restore]
        rm -f "$T/m$1.sock" "$T/out$1"; mkfifo "$T/out$1"
        "$TESTVMM" --sim --socket "$T/m$1.sock" --vcpus 2 --uuid "$(uuid "$1")" --own-state "$T/own$1" ${2:-} \
                >"$T/out$1" 2>>"$T/vmm.err" &
        PID[$1]=$!
        exec {fd}<"$T/out$1"; OUT[$1]=$fd
        expect "$1" ready
}
expect() { local l; while IFS= read -r -t 10 l <&${OUT[$1]}; do [[ $l == "$2"* ]] && { LINE=$l; return 0; }; done; return 1; }
counter0() { kill -USR2 ${PID[$1]}; expect "$1" counters: && read -r _ c _ <<<"$LINE" && echo "$c"; }
vmm_kill() { kill -9 ${PID[$1]}; wait ${PID[$1]} 2>/dev/null; exec {OUT[$1]}<&-; }

node
for ((i = 0; i < N; i++)); do vmm_start $i; done
kill -STOP ${PID[$HUNG]}

# On a terminal: a progress bar, then the report.
out=$(script -qec "$(printf '%q ' "$NESTVIRT" -c "test://$T/node.xml" maintenance save-all)" /dev/null); rc=$?
check "save-all on a terminal: exit 1 (one domain failed)" test $rc -eq 1
check "save-all on a terminal: draws a bar" contains "$out" $'\r'"$(printf '\033[K')[#######"
check "save-all on a terminal: the summary" contains "$out" "save-all: 3 saved, 0 skipped, 1 failed."

# Not on a terminal (the journal): a line per domain, then the report.
out=$(nv maintenance save-all); rc=$?
check "save-all: exit 1 (one domain failed)" test $rc -eq 1
check "save-all: no bar when not on a terminal" test "${out//$'\r'/}" = "$out"
check "save-all: a line per domain" contains "$out" "[1/4] m0: saved: 2 vCPUs,"
check "save-all: the hung VMM's line names it" contains "$out" "[3/4] m2: FAILED: Domain 'm2': The VMM at '$T/m2.sock' accepted the connection but did not answer"
check "save-all: went on past it" contains "$out" "[4/4] m3: saved"
check "save-all: the report lists the failure" grep -qE "^  FAILED +m2 " <<<"$out"

# As the unit runs it at shutdown: the saved VMMs stay frozen for the host's own save.
json=$(nv maintenance save-all --keep-frozen --json); rc=$?
check "save-all --json: exit 1" test $rc -eq 1
check "save-all --json: parses, one failure" test "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["done"], d["failed"], d["domains"][2]["status"])' "$json")" = "3 1 failed"
check "save-all: the record has the 3 saved domains" test "$(grep -vc '^#' "$T/state/maintenance.list")" -eq 3
a=$(counter0 0); sleep 0.2
check "save-all --keep-frozen: the VMMs stay frozen" test "$(counter0 0)" = "$a"

# The host goes down: each VMM saves its own state and ends; the XML keeps the references.
kill -CONT ${PID[$HUNG]}
for ((i = 0; i < N; i++)); do
        if ((i != HUNG)); then
                kill -USR1 ${PID[$i]}; expect $i "saved own state"; saved[$i]=$(counter0 $i)
                REF[$i]=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])["domains"][int(sys.argv[2])]
print("<nestvirt:state path=\"%s\" sha256=\"%s\" vendor=\"svm\" vcpus=\"2\" time=\"2026-11-23T00:00:00Z\"/>" % (d["path"], d["sha256"]))' "$json" $i)
        fi
        vmm_kill $i
done
node
for ((i = 0; i < N; i++)); do
        if ((i != HUNG)); then vmm_start $i --restore; else vmm_start $i; fi
done

out=$(nv maintenance restore-all); rc=$?
check "restore-all: exit 0" test $rc -eq 0
check "restore-all: the summary" contains "$out" "restore-all: 3 restored, 0 skipped, 0 failed."
check "restore-all: not the domain that was not saved" test "$(grep -c 'm2' <<<"$out")" -eq 0
sleep 0.3
for ((i = 0; i < N; i++)); do
        ((i == HUNG)) && continue
        check "restore-all: L2 of m$i went on from ${saved[$i]}" test "$(counter0 $i)" -gt "${saved[$i]}"
done
check "restore-all: the record is gone" test ! -e "$T/state/maintenance.list"
out=$(nv maintenance restore-all); rc=$?
check "restore-all again: nothing to do, exit 0" test $rc -eq 0
check "restore-all again: says so" contains "$out" "nothing to restore"

# One domain with metadata nestvirt refuses (issue 15.10): shown as broken, with the reason; the rest listed and saved.
cat >"$T/broken.xml" <<XML
<node><domain type='test'><name>bad</name><uuid>$(uuid 50)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="carrier-pigeon"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>
<domain type='test'><name>good</name><uuid>$(uuid 0)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/m0.sock"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain>
<domain type='test'><name>plain</name><uuid>$(uuid 51)</uuid>
  <metadata><other:x xmlns:other="http://example.org/other/1"><other:y/></other:x></metadata>
  <memory>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>
XML
nvb() { "$NESTVIRT" -c "test://$T/broken.xml" "$@"; }
out=$(nvb list --all); rc=$?
check "list with a broken domain: exit 0" test $rc -eq 0
check "list: the broken domain, as broken, with the reason" grep -qE "^ bad +running +broken +.*carrier-pigeon" <<<"$out"
check "list: the other domain as always" grep -qE "^ good +running +(svm|vmx|none) " <<<"$out"
json=$(nvb list --all --json); rc=$?
check "list --json: exit 0, the reason in 'broken'" test $rc -eq 0 -a "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[0]["nested"], "carrier-pigeon" in d[0]["broken"], d[1]["name"])' "$json")" = "broken True good"
out=$(. "$(dirname "$0")/../data/completion/nestvirt"; _nestvirt_domains "$NESTVIRT" "test://$T/broken.xml")
check "completion: every domain name, the broken one too" test "$(echo $out)" = "bad good plain"
out=$(nvb maintenance save-all); rc=$? # "good" is m0, restored above and running
check "save-all with a broken domain: exit 1" test $rc -eq 1
check "save-all: the broken domain failed, with the reason" contains "$out" "bad: FAILED:"
check "save-all: ... naming what is wrong" grep -q "bad: FAILED: .*carrier-pigeon" <<<"$out"
check "save-all: the other domain saved" contains "$out" "good: saved"
check "save-all: a domain without our metadata (another's only) is left out" test -z "$(grep plain <<<"$out")"
check "save-all: ... and not counted" contains "$out" "1 saved, 0 skipped, 1 failed"

# A save-all stopped partway (issue 15.1) records exactly what it saved, and
# nothing of an earlier cycle survives it; restore-all then restores exactly
# those.  Under systemd each domain is announced (issue 15.14).
for ((i = 0; i < N; i++)); do vmm_kill $i; done
REF=(); node
for ((i = 0; i < N; i++)); do vmm_start $i; done
ref_of() { # JSON INDEX: the <nestvirt:state/> of a save-all --json's domain
        python3 -c '
import json, sys
d = json.loads(sys.argv[1])["domains"][int(sys.argv[2])]
print("<nestvirt:state path=\"%s\" sha256=\"%s\" vendor=\"svm\" vcpus=\"2\" time=\"2026-11-23T00:00:00Z\"/>" % (d["path"], d["sha256"]))' "$1" "$2"
}
ref_of_sha() { # DOMAIN SHA: the reference to the snapshot of DOMAIN with that SHA-256
        local f found=
        for f in "$T/state/$1"/*.nvstate; do # the newest, should two hold the same bytes
                [[ $(sha256sum <"$f" | cut -d' ' -f1) == "$2" ]] && found=$f
        done
        printf '<nestvirt:state path="%s" sha256="%s" vendor="svm" vcpus="2" time="2026-11-23T00:00:00Z"/>' "$found" "$2"
}
record() { grep -v '^#' "$T/state/maintenance.list" 2>/dev/null; }
python3 - "$T/notify" >"$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
try:
    while True:
        m = s.recv(4096).decode()
        print(m.replace("\n", "|"), flush=True)
        if m.startswith("STATUS=save-all: 4 done"):
            break
except socket.timeout:
    pass
PY
LISTENER=$!
for ((k = 0; k < 50; k++)); do [[ -S $T/notify ]] && break; sleep 0.1; done
json=$(NOTIFY_SOCKET=$T/notify nv maintenance save-all --json); rc=$?
wait $LISTENER
check "cycle A: save-all saves all 4" test $rc -eq 0 -a "$(record | wc -l)" -eq 4
for ((i = 0; i < N; i++)); do
        check "sd_notify: STATUS and EXTEND_TIMEOUT_USEC for m$i" \
                grep -qx "STATUS=save-all: saving $((i + 1))/4: m$i|EXTEND_TIMEOUT_USEC=90000000" "$T/notify.log"
done
check "sd_notify: the outcome as the last STATUS" grep -qx "STATUS=save-all: 4 done, 0 skipped, 0 failed" "$T/notify.log"
for ((i = 0; i < N; i++)); do REF[$i]=$(ref_of "$json" $i); done
node # the XML references cycle A's snapshots, as a host's would

# interrupted KILL: save-all, signalled while m1's (hung) VMM is tried
inode() { stat -c '%i %y' "$T/state/maintenance.list" 2>/dev/null; } # mtime too: inode numbers are reused
# "INODE MTIME DOMAINS" of the record, both read through one open file, as
# save-all may replace it meanwhile; nothing if there is none.  Read by name
# twice, a count of the last cycle's record could meet the name of no file
# (save-all removes the old record first), taken for a new one.
record_now() {
        local fd
        { exec {fd}<"$T/state/maintenance.list"; } 2>/dev/null || return 0
        echo "$(stat -L -c '%i %y' /dev/stdin <&$fd) $(grep -vc '^#' <&$fd)"
        exec {fd}<&-
}
interrupted() { # SIGNAL [JOBS [LINES]]: signalled once the record has LINES domains (default: one after another, 1)
        local out=$T/interrupted.out old now
        old=$(inode) # a kept-frozen VMM saved twice may give the same bytes: the record's file tells the runs apart
        kill -STOP ${PID[1]}
        "$NESTVIRT" -c "test://$T/node.xml" maintenance save-all --keep-frozen --jobs "${2:-1}" >"$out" 2>&1 & local nv_pid=$!
        NEW=
        for ((k = 0; k < 2400; k++)); do # saved and recorded (up to 120 s on a loaded machine)
                now=$(record_now)
                [[ ${now##* } == "${3:-1}" && ${now% *} != "$old" ]] && { NEW=${now% *}; break; }
                sleep 0.05
        done
        [[ -n $NEW ]] || { echo "# save-all recorded no ${3:-1} domains within 120 s"; stacks $nv_pid "save-all"; stacks ${PID[0]} "m0's VMM"; }
        kill -"$1" $nv_pid; wait $nv_pid; RC=$?
        kill -CONT ${PID[1]}
        SAID=$(cat "$out")
}
interrupted TERM
check "SIGTERM: save-all exits non-zero" test $RC -ne 0 -a $RC -ne 143
check "SIGTERM: the domain under way was finished (m1 failed on its timeout)" contains "$SAID" "[2/4] m1: FAILED"
check "SIGTERM: the others were not begun" contains "$SAID" "m2: FAILED: Cancelled before this domain was begun."
check "SIGTERM: says it was stopped by the signal" contains "$SAID" "stopped by signal 15"
check "SIGTERM: the record is exactly m0, saved in this cycle" test "$(record | awk '{print $3}')" = m0
interrupted KILL
check "SIGKILL: killed" test $RC -eq 137
[[ -n $NEW ]] || sed 's/^/# the killed run said: /' <<<"$SAID" # why the record never came
check "SIGKILL: the record is exactly m0, saved in this cycle" test "$(record | awk '{print $3}')" = m0 -a "$(inode)" = "$NEW"
sha_kill=$(record | awk '{print $2}')

# The host goes down and comes back: m0's XML references what the killed run saved,
# m2 and m3 still reference cycle A's snapshots: they must not get that stale state.
kill -USR1 ${PID[0]}; expect 0 "saved own state"; saved0=$(counter0 0)
for ((i = 0; i < N; i++)); do vmm_kill $i; done
REF[0]=$(ref_of_sha m0 "$sha_kill"); node
for ((i = 0; i < N; i++)); do vmm_start $i --restore; done
c2=$(counter0 2)
out=$(nv maintenance restore-all); rc=$?
check "after the kill: restore-all restores exactly m0" contains "$out" "restore-all: 1 restored, 0 skipped, 0 failed."
check "after the kill: only m0 named" test "$(grep -c 'm[123]' <<<"$out")" -eq 0
sleep 0.3
check "after the kill: m0's L2 went on from $saved0" test "$(counter0 0)" -gt "$saved0"
check "after the kill: m2 got no stale state (still waits paused)" test "$(counter0 2)" = "$c2"

# Parallel (--jobs 4): the hung m1 holds one worker; the others save m0, m2
# and m3 meanwhile, each recorded as it is saved.  SIGTERM then lets m1
# finish (on its timeout) and the record holds exactly the three saved.
for ((i = 0; i < N; i++)); do vmm_kill $i; done
for ((i = 0; i < N; i++)); do vmm_start $i; done
interrupted TERM 4 3
check "--jobs 4, SIGTERM: exits non-zero, says why" test $RC -ne 0 -a $RC -ne 143 && contains "$SAID" "stopped by signal 15"
check "--jobs 4: the others were saved while m1 hung" test "$(grep -c ': saved: ' <<<"$SAID")" -eq 3
check "--jobs 4, SIGTERM: m1, under way, was finished (failed on its timeout)" contains "$SAID" "[2/4] m1: FAILED: Domain 'm1'"
check "--jobs 4, SIGTERM: the record is exactly m0, m2, m3" test "$(record | awk '{print $3}' | sort | tr '\n' ' ')" = "m0 m2 m3 "
# The record cannot be rewritten (here a directory took its name once m0
# was recorded, while m1 hangs): the domains saved after that are reported
# failed, saved but not recorded, and restore-all will not touch them.
kill -STOP ${PID[1]}
nv maintenance save-all --jobs 1 >"$T/norecord.out" 2>&1 & nv_pid=$!
for ((k = 0; k < 1200; k++)); do [[ $(record | wc -l) -eq 1 ]] && break; sleep 0.05; done
rm -f "$T/state/maintenance.list"; mkdir "$T/state/maintenance.list"
wait $nv_pid; rc=$?; kill -CONT ${PID[1]}
out=$(cat "$T/norecord.out")
check "record not writable: exit 1" test $rc -eq 1
check "record not writable: m2 saved, but reported failed, not recorded" grep -q "m2: FAILED: Saved to $T/state/m2/.*, but not recorded for restore-all" <<<"$out"
check "record not writable: m3 too" grep -q "m3: FAILED: Saved to .*, but not recorded for restore-all" <<<"$out"
check "record not writable: the summary counts them failed" contains "$out" "save-all: 1 saved, 0 skipped, 3 failed."
out=$(nv maintenance save-all 2>&1); rc=$? # the last cycle's record cannot be removed: nothing begins
check "the last record cannot be removed: exit 2, naming it" test $rc -eq 2 && contains "$out" "maintenance.list"
check "... no domain reported saved, each one not begun" test "$(grep -c '^  not begun ' <<<"$out")" -eq 4 -a -z "$(grep -i ' saved:\| saved ' <<<"$out")"
rmdir "$T/state/maintenance.list"

err=$(nv maintenance save-all --jobs 0 2>&1); rc=$?
check "--jobs 0: refused (exit 2), naming the option" test $rc -eq 2 && contains "$err" "--jobs"

err=$(nv maintenance 2>&1); rc=$?
check "maintenance without an action: refused (exit 2)" test $rc -eq 2 -a -n "$err"
err=$(nv maintenance restore-all --keep-frozen 2>&1); rc=$?
check "--keep-frozen with restore-all: refused" contains "$err" "save-all only"
out=$("$NESTVIRT" maintenance --help); rc=$?
check "maintenance --help" contains "$out" "restore-all"
check "maintenance --help: --jobs" contains "$out" "--jobs N"

tap_end
