#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On real nested SVM (the e2e VM): QEMU with -accel kvm runs an L1
# hypervisor (tests/e2e/qemu-l1: the reference VMM's L1 as a multiboot
# kernel) whose L2 counts on vCPU 0; vCPU 1 is never started.  QEMU saves
# it with `migrate "exec:cat > FILE"`; nestvirt must read vCPU 0's
# guest-mode state (flags, vmcb_pa, vmcb12 ASID and intercepts) and say
# vCPU 1 has none; verify accepts it and refuses a copy with ASID 0 by
# rule S9; QEMU loads the undamaged stream and L2 continues.
set -u
NESTVIRT=$1
QEMU=$2
FW=$3 # a directory with the firmware QEMU needs (bios-256k.bin, multiboot_dma.bin, ...)
L1=$4 # the L1 multiboot kernel

. "$(dirname "$0")/../tap.sh"
not() { ! "$@"; }

D=$(mktemp -d)
QPID=
cleanup() { [[ -n $QPID ]] && kill -9 "$QPID" 2>/dev/null; exec 3>&- 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
trap 'exit 143' TERM INT

COUNTER=0x101000 # vCPU 0's data page (GS_VCPU_GPA + GS_DATA): L2's loop turns

# qemu ARGS...: QEMU with its monitor on a FIFO (commands: mon CMD), output in $D/mon
qemu() {
        rm -f "$D/in"; mkfifo "$D/in"
        "$QEMU" -accel kvm -cpu host -m 16 -smp 2 -nodefaults -no-user-config -display none -net none -L "$FW" \
                -monitor stdio "$@" <"$D/in" >"$D/mon" 2>"$D/qemu.err" &
        QPID=$!
        exec 3>"$D/in"
}
mon() { echo "$*" >&3; }
quit_qemu() { mon quit; for _ in $(seq 100); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done; kill -9 "$QPID" 2>/dev/null; QPID=; exec 3>&-; }
# counter: L2's count as the monitor reads it from guest memory
counter() {
        local before n
        before=$(grep -c "^0*${COUNTER#0x}:" "$D/mon")
        mon "xp /1gx $COUNTER"
        for _ in $(seq 100); do
                n=$(grep -c "^0*${COUNTER#0x}:" "$D/mon")
                [[ $n -gt $before ]] && break
                sleep 0.1
        done
        grep "^0*${COUNTER#0x}:" "$D/mon" | tail -n 1 | sed 's/.*: //' | tr -d '\r'
}
wait_counting() { # L2 counts: the counter is above 1000
        for _ in $(seq 300); do
                c=$(counter)
                [[ -n $c ]] && (( c > 1000 )) && return 0
                sleep 0.2
        done
        return 1
}

# save: stop, migrate to $D/s.qemu, wait until QEMU says it completed
save() {
        local n
        mon stop
        c1=$(counter)
        n=$(grep -c "Migration status: completed" "$D/mon")
        rm -f "$D/s.qemu"
        mon "migrate \"exec:cat > $D/s.qemu\""
        for _ in $(seq 300); do
                mon "info migrate"; sleep 0.2
                [[ $(grep -c "Migration status: completed" "$D/mon") -gt $n ]] && return 0
        done
        return 1
}
in_guest_mode() { "$NESTVIRT" inspect --json --vcpu 0 "$D/s.qemu" | tr -d ' \n' | grep -qF '"guest_mode":true'; }

qemu -kernel "$L1"
check "L2 counts under QEMU on KVM" wait_counting
# A stop lands in L2 (an `out` exit in guest mode) or, now and then, in L1 between two VMRUNs;
# there QEMU sends no nested subsection, which nestvirt must say.  Save until vCPU 0 is in L2.
saved_l1=0
for attempt in $(seq 20); do
        save || break
        in_guest_mode && break
        saved_l1=1
        out=$("$NESTVIRT" verify "$D/s.qemu")
        check "a save in L1 (attempt $attempt): vCPU 0 has SVME on, no subsection, said" \
                contains "$out" "vCPU 0: no nested subsection: L1 has EFER.SVME on but is not running L2"
        mon cont; sleep 0.3
done
check "QEMU saved the stream with vCPU 0 in L2" in_guest_mode
quit_qemu

"$NESTVIRT" inspect --json --vcpu 0 "$D/s.qemu" >"$D/v0.json"; rc=$?
check "inspect of the real stream: exit 0" test $rc -eq 0
v0=$(tr -d ' \n' <"$D/v0.json")
# RUN_PENDING too when the stop came right after L1's VMRUN, before KVM entered L2.
check "vCPU 0: SVM, in guest mode" matches "$v0" '"format":"svm","size":4224,"flags":\["GUEST_MODE",("RUN_PENDING",)?"GIF_SET"\]'
check "vCPU 0: vmcb_pa is its VMCB" contains "$v0" '"vmcb_pa":1048576'
check "vCPU 0: vmcb12 ASID 1" contains "$v0" '"control.asid":1'
check "vCPU 0: VMRUN intercepted" contains "$v0" '"control.intercept_word4":1'
check "vCPU 0: hflags say guest mode" contains "$v0" '"hflags_guest":true'
v1=$("$NESTVIRT" inspect --json --vcpu 1 "$D/s.qemu" | tr -d ' \n')
check "vCPU 1: no nested subsection, said" contains "$v1" '"nested_subsection":false'
out=$("$NESTVIRT" verify "$D/s.qemu"); rc=$?
check "verify of the real stream: exit 3 (accepted, host facts not given)" test $rc -eq 3
check "verify: vCPU 0 ok" contains "$out" "vCPU 0: ok (4224 bytes)"

# ASID 0: what QEMU 7.2 would load without a word, rebooting the guest.
off=$(sed -n 's/.*"data_offset":\([0-9]*\).*/\1/p' <<<"$v0")
cp "$D/s.qemu" "$D/asid0.qemu"
printf '\0\0\0\0' | dd of="$D/asid0.qemu" bs=1 seek=$((off + 0x58)) conv=notrunc 2>/dev/null
out=$("$NESTVIRT" verify "$D/asid0.qemu"); rc=$?
check "ASID 0: verify exits 1" test $rc -eq 1
check "ASID 0: refused by rule S9 on control.asid" contains "$out" "vCPU 0: Rule S9: control.asid = 0x0 is zero"

# The undamaged stream loads and L2 goes on from where it stopped.  The source was stopped, so
# QEMU stays paused after loading (its global state says so) until `cont`.
loaded() { grep "VM status:" "$D/mon" | grep -qv inmigrate; }
qemu -incoming "exec:cat $D/s.qemu"
for _ in $(seq 300); do mon "info status"; sleep 0.2; loaded && break; kill -0 "$QPID" 2>/dev/null || break; done
check "QEMU loaded the stream" loaded
mon cont
for _ in $(seq 100); do mon "info status"; sleep 0.1; grep -q "VM status: running" "$D/mon" && break; done
check "QEMU runs the loaded guest" grep -q "VM status: running" "$D/mon"
sleep 2
c2=$(counter)
check "L2 continued from $c1 (now $c2)" test $((c2)) -gt $((c1))
said() { grep -v "warning:" "$D/qemu.err" | grep -q .; }
check "QEMU said nothing on loading (warnings aside)" not said
sed 's/^/# qemu: /' "$D/qemu.err"
quit_qemu

# The kernel as referee for the ASID 0 verdict: QEMU loads that copy, KVM_SET_NESTED_STATE fails,
# QEMU ignores it and the guest triple-faults; with reboot=shutdown,shutdown=pause it stops there
# instead of rebooting.  QEMU prints nothing about it.
qemu -action reboot=shutdown,shutdown=pause -incoming "exec:cat $D/asid0.qemu"
for _ in $(seq 300); do mon "info status"; sleep 0.2; loaded && break; kill -0 "$QPID" 2>/dev/null || break; done
mon cont
for _ in $(seq 100); do mon "info status"; sleep 0.1; grep -q "VM status: paused (shutdown)" "$D/mon" && break; done
check "ASID 0 loaded by QEMU: the guest is lost (QEMU stopped it on its triple fault)" grep -q "VM status: paused (shutdown)" "$D/mon"
check "ASID 0 loaded by QEMU: QEMU said nothing (warnings aside)" not said
sed 's/^/# qemu: /' "$D/qemu.err"
quit_qemu

tap_end
