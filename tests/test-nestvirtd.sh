#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nestvirtd on a private dbus-daemon (tests/dbus/bus.conf), never the host's
# bus, with a polkit authority the test programs (fake-polkit): busctl
# introspects the API, lists machines, runs save and restore jobs to
# completion with progress; every mutating call is refused without
# authorization (as uid 65534, root passes without polkit), challenged
# when polkit says so, and allowed when it says allow; SaveAll over
# domains with a hung VMM; jobs at once, Busy, Cancel; malformed arguments.
# Libvirt's test driver and the reference VMM (simulated KVM) on p2p D-Bus.
set -u
NESTVIRTD=$1 TESTVMM=$2 FAKE_POLKIT=$3 BUSCONF=$4 IFACE_XML=$5 REGISTER_CALL=$6
DATA=$7 # tests/: the host facts are a fake AMD host's, and destination capabilities to check against
command -v dbus-daemon >/dev/null && command -v busctl >/dev/null && command -v setpriv >/dev/null || {
        echo "1..0 # SKIP needs dbus-daemon, busctl and setpriv"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root, to call as another uid"; exit 0; }
T=$(mktemp -d /tmp/nestvirtd-XXXXXX)
chmod 755 "$T" # the unprivileged caller reaches the bus socket here
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
N=4 HUNG=3
declare -a PID OUT
BUS_PID= POLKIT_PID= D_PID=
cleanup() {
        kill -CONT ${PID[*]} 2>/dev/null; kill -9 ${PID[*]} 2>/dev/null
        kill $D_PID $POLKIT_PID $BUS_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT

. "$(dirname "$0")/tap.sh"
uuid() { printf '7b2c8a2e-7a31-4c55-9d0e-1a2b3c4d5e%02d' "$1"; }
B() { busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" "$@"; }
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
verdict() { B call org.freedesktop.PolicyKit1 /org/nestvirt/test/FakePolkit org.nestvirt.test.FakePolkit SetVerdict ss "$1" "$2"; }
. "$(dirname "$0")/dbus/nestvirtd.sh"

{ echo "<node>"
  for ((i = 0; i < N; i++)); do
        cat <<XML
<domain type='test'><name>d$i</name><uuid>$(uuid $i)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/d$i.sock"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain>
XML
  done
  # r0's VMM registers itself with nestvirtd (RegisterVmm); its metadata's socket does not exist.
  cat <<XML
<domain type='test'><name>r0</name><uuid>$(uuid 9)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$T/none.sock"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain>
XML
  # Metadata nestvirt refuses (issue 15.10), shut off: listed as broken, never breaking the list.
  cat <<XML
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>zbad</name><uuid>$(uuid 8)</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="carrier-pigeon"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os><test:runstate>5</test:runstate></domain>
XML
  echo "<domain type='test'><name>plain</name><memory>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
  echo "</node>"; } >"$T/node.xml"
for ((i = 0; i < N; i++)); do
        "$TESTVMM" --sim --socket "$T/d$i.sock" --vcpus 2 --uuid "$(uuid $i)" >"$T/vmm$i.out" 2>>"$T/vmm.err" &
        PID[$i]=$!
done

dbus-daemon --config-file="$BUSCONF" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile 2>"$T/bus.err" &
BUS_PID=$!
for ((i = 0; i < 50; i++)); do [ -S "$T/bus" ] && break; sleep 0.1; done
"$FAKE_POLKIT" >"$T/polkit.out" &
POLKIT_PID=$!
VMM_GROUP=users # any group the unprivileged caller can be given (setpriv --groups)
VMM_GID=$(getent group $VMM_GROUP | cut -d: -f3)
NESTVIRT_HOST_ROOT=$DATA/data/host-amd "$NESTVIRTD" --connect "test://$T/node.xml" --linger 300 --max-jobs 2 \
        ${VMM_GID:+--vmm-group $VMM_GROUP} 2>"$T/nestvirtd.err" &
D_PID=$!
for ((i = 0; i < 50; i++)); do B status org.nestvirt.NestedState1 >/dev/null 2>&1 && break; sleep 0.1; done
for ((i = 0; i < N; i++)); do for ((k = 0; k < 50; k++)); do [ -S "$T/d$i.sock" ] && break; sleep 0.1; done; done
"$TESTVMM" --sim --register --vcpus 2 --uuid "$(uuid 9)" >"$T/reg.out" 2>"$T/reg.err" &
REG=$!; PID[9]=$REG
for ((k = 0; k < 50; k++)); do grep -q ready "$T/reg.out" && break; sleep 0.1; done
check "a VMM registers itself (RegisterVmm)" grep -q ready "$T/reg.out"

# The API, and reads open to everyone.
out=$(B introspect "${M[@]:0:2}")
check "introspect: the Manager's methods" contains "$out" ".SaveAll                            method    a{sv}u"
check "introspect: the ObjectManager" contains "$out" "org.freedesktop.DBus.ObjectManager"
out=$("${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call "${M[@]}" ListMachines)
check "ListMachines as uid 65534: the nested domains, not 'plain'" contains "$out" "a(ssbo) 6 \"d0\" \"$(uuid 0)\" true"
check "ListMachines: no 'plain'" test "$(grep -c plain <<<"$out")" -eq 0
check "ListMachines: a domain with broken metadata is listed, the others too" contains "$out" "\"zbad\" \"$(uuid 8)\" false"
out=$(B call "${M[@]}" GetMachine s zbad 2>&1)
check "GetMachine of the broken domain: says what is wrong" contains "$out" "carrier-pigeon"
mpath=$(path_of "$(B call "${M[@]}" GetMachine s d0)")
check "GetMachine: the machine's path (UUID escaped)" test "$mpath" = "/org/nestvirt/NestedState1/machine/_37$(uuid 0 | cut -c2- | sed 's/-/_2d/g')"
check "Machine properties" test "$(prop "$mpath" org.nestvirt.NestedState1.Machine Name)" = d0
out=$(B call org.nestvirt.NestedState1 "$mpath" org.freedesktop.DBus.Properties GetAll s org.nestvirt.NestedState1.Machine)
check "Machine GetAll: all nine properties" contains "$out" "a{sv} 9 "
check "Machine GetAll: the slots' values" contains "$out" "\"Name\" s \"d0\" \"UUID\" s \"$(uuid 0)\" \"Active\" b true \"VcpuCount\" u 2 \"NestedMode\" s \"svm\""
out=$(B call "${M[@]:0:2}" org.freedesktop.DBus.Properties GetAll s org.nestvirt.NestedState1.Manager)
check "Manager GetAll: the host's facts" contains "$out" "\"HostVendor\" s \"svm\" \"NestedEnabled\" b true"
check "Manager: the host's vendor" test "$(prop "${M[@]:1:2}" HostVendor)" = svm
out=$("${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call "${M[@]}" MigrateCheck ssu d0 "$(cat "$DATA/xml2xml-in/caps-amd.xml")" 0)
check "MigrateCheck as uid 65534: to a like host, no problems" test "$out" = "bas true 0"
out=$(B call "${M[@]}" MigrateCheck ssu d0 "$(cat "$DATA/xml2xml-in/caps-intel-escaped.xml")" 0)
check "MigrateCheck: to Intel, the problems" contains "$out" "bas false 2 \"the destination CPU is vmx; the domain\\'s nested state is svm\""
out=$(B tree org.nestvirt.NestedState1)
check "tree: machine objects" contains "$out" "/org/nestvirt/NestedState1/machine/"

# The running service is what data/org.nestvirt.NestedState1.xml documents.
members() { # XML...: "interface member kind signature" lines of our interfaces
        python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
out = set()
for text in sys.argv[1:]:
    for i in ET.fromstring(text).iter("interface"):
        if not i.get("name").startswith("org.nestvirt."):
            continue
        for m in i:
            sig = m.get("type") or "".join(a.get("type") + a.get("direction", "") for a in m.iter("arg"))
            out.add("%s %s %s %s" % (i.get("name"), m.get("name"), m.tag, sig))
print("\n".join(sorted(out)))
PY
}
live=$(members "$(B introspect --xml-interface "${M[@]:0:2}")" "$(B introspect --xml-interface org.nestvirt.NestedState1 "$mpath")")
job=$(path_of "$(B call "${M[@]}" Save sa{sv}u d1 0 0)")
live=$(members "$(B introspect --xml-interface "${M[@]:0:2}")" "$(B introspect --xml-interface org.nestvirt.NestedState1 "$mpath")" \
        "$(B introspect --xml-interface org.nestvirt.NestedState1 "$job")")
check "the live API matches data/org.nestvirt.NestedState1.xml" test "$live" = "$(members "$(cat "$IFACE_XML")")"
[ "$live" = "$(members "$(cat "$IFACE_XML")")" ] || diff <(echo "$live") <(members "$(cat "$IFACE_XML")")
job_wait "$job" >/dev/null

# A save job as root (no polkit needed), with progress, to completion.
B monitor --match "type='signal',sender=org.nestvirt.NestedState1" >"$T/monitor" 2>/dev/null &
MON=$!
sleep 0.3
job=$(path_of "$(B call "${M[@]}" Save sa{sv}u d0 0 0)")
check "Save returns a job at once" contains "$job" "/org/nestvirt/NestedState1/job/"
check "Save job completes" test "$(job_wait "$job")" = completed
check "Save job: progress reached 1" test "$(prop "$job" org.nestvirt.NestedState1.Job Progress)" = 1
result=$(prop "$job" org.nestvirt.NestedState1.Job Result)
check "Save job: the result says what was saved" contains "$result" "Saved 2 vCPU(s)"
spath=$(prop "$mpath" org.nestvirt.NestedState1.Machine StatePath)
check "Machine: StatePath is the new snapshot" test -f "$spath"
check "Machine: LastResult" test "$(prop "$mpath" org.nestvirt.NestedState1.Machine LastResult)" = completed
job=$(path_of "$(B call "${M[@]}" Restore sa{sv}u d0 0 0)")
check "Restore into a running VM without flag 0x2: the job fails" test "$(job_wait "$job")" = failed
check "Restore into a running VM: the job says why" contains "$(prop "$job" org.nestvirt.NestedState1.Job Result)" "is not loaded into a running VM"
job=$(path_of "$(B call "$(sed 's|^|org.nestvirt.NestedState1\n|' <<<"$mpath" | head -1)" "$mpath" org.nestvirt.NestedState1.Machine Restore a{sv}u 0 2)")
check "Machine.Restore job (flag 0x2, force) completes" test "$(job_wait "$job")" = completed
check "Restore job: from the snapshot" contains "$(prop "$job" org.nestvirt.NestedState1.Job Result)" "Restored 2 vCPU(s) from $spath"
sleep 0.3; kill $MON 2>/dev/null
mon=$(cat "$T/monitor")
check "signals: Progress changed" contains "$mon" '"Progress"'
check "signals: JobFinished" contains "$mon" "Member=JobFinished"
check "signals: the machine's PropertiesChanged" contains "$mon" '"StatePath"'

# Without authorization every mutating call is refused, and nothing runs.
call_nobody() { "${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call "$@" 2>&1; }
for c in "Save sa{sv}u d1 0 0" "Restore sa{sv}u d1 0 0" "SaveAll a{sv}u 0 0" "RestoreAll a{sv}u 0 0"; do
        out=$(call_nobody "${M[@]}" $c); rc=$?
        check "uid 65534, polkit says no: ${c%% *} refused" test $rc -ne 0
        check "uid 65534: ${c%% *} access denied" contains "$out" "Access denied"
done
out=$(call_nobody org.nestvirt.NestedState1 "$mpath" org.nestvirt.NestedState1.Machine Save a{sv}u 0 0)
check "uid 65534: Machine.Save refused" contains "$out" "Access denied"
check "refused calls started no job" test "$(B call "${M[@]}" ListJobs | grep -o '"save"\|"restore"\|"save-all"' | wc -l)" -eq 4
out=$(B call org.freedesktop.PolicyKit1 /org/nestvirt/test/FakePolkit org.nestvirt.test.FakePolkit Calls)
for a in save restore maintenance; do
        check "polkit was asked for org.nestvirt.nestedstate1.$a about the caller" contains "$out" "\"org.nestvirt.nestedstate1.$a\" \":1."
done
verdict org.nestvirt.nestedstate1.save challenge
out=$(call_nobody "${M[@]}" Save sa{sv}u d1 0 0)
check "polkit challenges: InteractiveAuthorizationRequired" contains "$out" "Interactive authentication is required"
verdict org.nestvirt.nestedstate1.save allow
out=$(call_nobody "${M[@]}" Save sa{sv}u d1 0 0); rc=$?
check "polkit allows: uid 65534 may save" test $rc -eq 0
check "allowed save completes" test "$(job_wait "$(path_of "$out")")" = completed

# Malformed calls.
out=$(B call "${M[@]}" Save s d0 2>&1)
check "wrong signature refused" contains "$out" "Invalid"
out=$(B call "${M[@]}" Save sa{sv}u d0 0 4 2>&1)
check "unknown flags refused" contains "$out" "Unknown flags 0x4 for save"
out=$(B call "${M[@]}" Restore sa{sv}u d0 0 1 2>&1)
check "keep-frozen is not a restore flag" contains "$out" "Unknown flags 0x1 for restore"
out=$(B call "${M[@]}" Save sa{sv}u d0 0 2 2>&1)
check "force is not a save flag" contains "$out" "Unknown flags 0x2 for save"
out=$(B call "${M[@]}" Save sa{sv}u d0 1 file s /etc/passwd 0 2>&1)
check "unknown option refused by name" contains "$out" "Unknown option 'file'"
out=$(B call "${M[@]}" Save sa{sv}u "" 0 0 2>&1)
check "empty domain refused" contains "$out" "An empty domain name was given"
out=$(B call "${M[@]}" Save sa{sv}u nosuch 0 0 2>&1)
check "unknown domain: NoSuchMachine" contains "$out" "Domain 'nosuch' not found"
out=$(B call "${M[@]}" Save sa{sv}u plain 0 0 2>&1)
check "domain without metadata: not a machine" contains "$out" "no nestvirt metadata"
out=$(B call "${M[@]}" MigrateCheck ssu d0 "<not-caps/>" 0 2>&1)
check "MigrateCheck: bad capabilities refused" contains "$out" "destCapabilities:"
PY=/usr/bin/python3; [ -x $PY ] || PY=python3 # Debian's, with python3-dbus
out=$("${AS_NOBODY[@]}" $PY - "$DBUS_SYSTEM_BUS_ADDRESS" <<'PY' 2>&1
import dbus, sys, time
bus = dbus.bus.BusConnection(sys.argv[1])
m = dbus.Interface(bus.get_object("org.nestvirt.NestedState1", "/org/nestvirt/NestedState1", introspect=False),
                   "org.nestvirt.NestedState1.Manager")
caps = "<capabilities>" + " " * (8 << 20) + "</capabilities>"
t = time.monotonic()
try:
    m.MigrateCheck("d0", caps, dbus.UInt32(0), timeout=90)
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())
print("# refused after %.3f s (with the transfer)" % (time.monotonic() - t))
PY
)
echo "$out" | grep '^#'
check "MigrateCheck as uid 65534: 8 MiB of capabilities refused before parsing" contains "$out" \
        "org.freedesktop.DBus.Error.InvalidArgs destCapabilities is larger than 65536 bytes"
out=$(B call "${M[@]}" GetMachine s "$(printf 'x%.0s' {1..300})" 2>&1)
check "GetMachine: a long bogus name" contains "$out" "not found"
check "nestvirtd still serves" B call --quiet "${M[@]}" ListJobs

# Jobs at once: two domains in parallel; a second job on one domain is Busy.
kill -STOP ${PID[$HUNG]}
j1=$(path_of "$(B call "${M[@]}" Save sa{sv}u d$HUNG 0 0)")
out=$(B call "${M[@]}" Save sa{sv}u d$HUNG 0 0 2>&1)
check "a second job on a domain: Busy" contains "$out" "is not finished yet"
j2=$(path_of "$(B call "${M[@]}" Save sa{sv}u d2 0 0)")
check "another domain meanwhile completes" test "$(job_wait "$j2")" = completed
check "the hung VMM's save fails" test "$(job_wait "$j1")" = failed
check "the failure names it" contains "$(prop "$j1" org.nestvirt.NestedState1.Job Result)" "did not answer"

# SaveAll with the hung VMM: the others saved, the hung one reported.
job=$(path_of "$(B call "${M[@]}" SaveAll a{sv}u 0 0)")
check "SaveAll finishes failed (one domain failed)" test "$(job_wait "$job")" = failed
out=$(prop "$job" org.nestvirt.NestedState1.Job Result)
check "SaveAll: 4 done (one through its registered VMM), 1 failed" contains "$out" "4 done, 0 skipped, 1 failed."
check "SaveAll: names the hung domain" contains "$out" "d$HUNG: Domain \\'d$HUNG\\': The VMM at"

# A VMM that dies while its job waits for it.
j=$(path_of "$(B call "${M[@]}" Save sa{sv}u d$HUNG 0 0)")
sleep 0.5; kill -9 ${PID[$HUNG]}
check "VMM killed mid-job: the job fails" test "$(job_wait "$j")" = failed
check "nestvirtd still serves after it" B call --quiet "${M[@]}" ListMachines

# Cancel: a queued job is cancelled; a running single save is not cancellable.
out=$(B call "${M[@]}" ListJobs)
check "ListJobs lists finished jobs with results" contains "$out" '"completed" "d0"'
check "Cancel on a finished job refused" contains "$(B call org.nestvirt.NestedState1 "$j2" org.nestvirt.NestedState1.Job Cancel 2>&1)" "finished already"

# Many clients at once: readers (root and uid 65534) and jobs on three domains, all in parallel.
verdict org.nestvirt.nestedstate1.restore allow
for ((c = 0; c < 24; c++)); do
        case $((c % 4)) in
        0) B call "${M[@]}" ListMachines >"$T/c$c" 2>&1 ;;
        1) "${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.nestvirt.NestedState1 "$mpath" \
                org.nestvirt.NestedState1.Machine StatePath >"$T/c$c" 2>&1 ;;
        2) B call "${M[@]}" Save sa{sv}u d$((c % 3)) 0 0 >"$T/c$c" 2>&1 ;;
        3) "${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call "${M[@]}" Restore sa{sv}u d$((c % 3)) 0 2 >"$T/c$c" 2>&1 ;;
        esac &
done
wait_clients() { local p; for p in $(jobs -p); do [[ $p == "$MON" || " ${PID[*]} $D_PID $BUS_PID $POLKIT_PID " == *" $p "* ]] || wait "$p"; done; }
wait_clients
ok_reads=0 jobs_started=0 busy=0
for ((c = 0; c < 24; c++)); do
        if ((c % 4 < 2)); then grep -q '^a(ssbo) 6\|^s "' "$T/c$c" && ok_reads=$((ok_reads + 1))
        elif grep -q '^o "' "$T/c$c"; then jobs_started=$((jobs_started + 1)); sed -E 's/^o "(.*)"$/\1/' "$T/c$c" >>"$T/started"
        elif grep -q "not finished yet" "$T/c$c"; then busy=$((busy + 1)); fi
done
echo "# 24 clients: $ok_reads reads answered, $jobs_started jobs started, $busy refused as Busy"
check "many clients: every read answered" test $ok_reads -eq 12
check "many clients: every job either started or refused as Busy" test $((jobs_started + busy)) -eq 12
check "many clients: at least one job per domain started" test $jobs_started -ge 3
all_done=1
while read -r j; do [ "$(job_wait "$j")" = completed ] || all_done=0; done <"$T/started"
check "many clients: every started job completed" test $all_done -eq 1

# SaveAll and Cancel through polkit: both --max-jobs slots held by saves on stopped VMMs, so
# the SaveAll waits queued; uid 65534 may cancel it only when polkit says so.
verdict org.nestvirt.nestedstate1.maintenance allow
kill -STOP ${PID[1]} ${PID[2]}
h1=$(path_of "$(B call "${M[@]}" Save sa{sv}u d1 0 0)"); h2=$(path_of "$(B call "${M[@]}" Save sa{sv}u d2 0 0)")
out=$(call_nobody "${M[@]}" SaveAll a{sv}u 0 0); rc=$?
check "polkit allows: uid 65534 may SaveAll" test $rc -eq 0
all=$(path_of "$out")
check "SaveAll waits queued behind --max-jobs" test "$(prop "$all" org.nestvirt.NestedState1.Job State)" = queued
verdict org.nestvirt.nestedstate1.maintenance deny
out=$(call_nobody org.nestvirt.NestedState1 "$all" org.nestvirt.NestedState1.Job Cancel)
check "polkit says no: uid 65534 may not Cancel" contains "$out" "Access denied"
verdict org.nestvirt.nestedstate1.maintenance allow
out=$(call_nobody org.nestvirt.NestedState1 "$all" org.nestvirt.NestedState1.Job Cancel); rc=$?
check "polkit allows: uid 65534 cancels the queued SaveAll" test $rc -eq 0
check "the cancelled job says so" test "$(prop "$all" org.nestvirt.NestedState1.Job State)" = cancelled
out=$(B call org.nestvirt.NestedState1 "$h1" org.nestvirt.NestedState1.Job Cancel 2>&1)
check "a running save is not cancellable" contains "$out" "always finishes"
kill -CONT ${PID[1]} ${PID[2]}
job_wait "$h1" >/dev/null; job_wait "$h2" >/dev/null

# A client that is gone before polkit answers: the job still runs, nestvirtd is unharmed.
verdict org.nestvirt.nestedstate1.save slow
timeout 0.3 "${AS_NOBODY[@]}" busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call "${M[@]}" Save sa{sv}u d0 0 0 >/dev/null 2>&1
sleep 1.5
out=$(B call "${M[@]}" ListJobs)
last=$(grep -o '/org/nestvirt/NestedState1/job/[0-9]*' <<<"$out" | head -n1)
check "client gone while polkit decides: the job was still made" test "$(prop "$last" org.nestvirt.NestedState1.Job Domain)" = d0
check "client gone: its job completes" test "$(job_wait "$last")" = completed

# RegisterVmm: r0 is reached through the socket pair it handed over, not its metadata.
job=$(path_of "$(B call "${M[@]}" Save sa{sv}u r0 0 0)")
check "registered VMM: save completes" test "$(job_wait "$job")" = completed
job=$(path_of "$(B call "${M[@]}" Restore sa{sv}u r0 0 2)")
check "registered VMM: restore completes over the same connection" test "$(job_wait "$job")" = completed
out=$("$TESTVMM" --sim --register --vcpus 2 --uuid "$(uuid 9)" 2>&1 </dev/null); rc=$?
check "a second VMM for the same domain: refused" contains "$out" "A VMM is registered for domain 'r0' already"
out=$("$REGISTER_CALL" "$(uuid 1)" file)
check "RegisterVmm: a file is not a channel" contains "$out" "InvalidArgs: channel must be a connected unix stream socket"
out=$("$REGISTER_CALL" "$(uuid 1)" dgram)
check "RegisterVmm: a datagram socket is not a channel" contains "$out" "InvalidArgs: channel must be a connected unix stream socket"
out=$("$REGISTER_CALL" "$(uuid 1)" listening)
check "RegisterVmm: a listening socket is refused" contains "$out" "InvalidArgs: channel is a listening socket"
out=$("$REGISTER_CALL" "$(uuid 1)" unconnected)
check "RegisterVmm: an unconnected socket is refused" contains "$out" "InvalidArgs: channel is not connected to a peer"
for i in 1 2 3; do
        job=$(path_of "$(B call "${M[@]}" Save sa{sv}u d1 0 0)")
        check "after the refused channels, save $i of d1 ends (through its metadata's VMM)" test "$(job_wait "$job")" = completed
done
out=$("${AS_NOBODY[@]}" "$REGISTER_CALL" "$(uuid 1)" socket)
check "RegisterVmm as uid 65534: refused" contains "$out" "AccessDenied: Only root and the VMM group may register a VMM"
if [ -n "$VMM_GID" ]; then
        out=$(setpriv --reuid=65534 --regid=65534 --groups="$VMM_GID" "$REGISTER_CALL" "$(uuid 1)" socket)
        check "RegisterVmm as uid 65534 with the --vmm-group among its groups: admitted" contains "$out" "/org/nestvirt/NestedState1/machine/"
        sleep 0.3 # register-call's end is closed: the registration goes
        out=$(setpriv --reuid=65534 --regid="$VMM_GID" --clear-groups "$REGISTER_CALL" "$(uuid 1)" socket)
        check "RegisterVmm as uid 65534 with the --vmm-group as its primary group: admitted" \
                contains "$out" "/org/nestvirt/NestedState1/machine/"
        sleep 0.3
fi
out=$("$REGISTER_CALL" 00000000-0000-0000-0000-000000000000 socket)
check "RegisterVmm for an unknown domain: NoSuchMachine" contains "$out" "NoSuchMachine"
kill -9 $REG; wait $REG 2>/dev/null; sleep 0.3
job=$(path_of "$(B call "${M[@]}" Save sa{sv}u r0 0 0)")
check "registered VMM gone: the job fails" test "$(job_wait "$job")" = failed
check "registered VMM gone: back to the metadata's socket" contains "$(prop "$job" org.nestvirt.NestedState1.Job Result)" "$T/none.sock"

kill $D_PID; wait $D_PID; rc=$?
check "nestvirtd exits cleanly on SIGTERM" test $rc -eq 0
D_PID=

tap_end
