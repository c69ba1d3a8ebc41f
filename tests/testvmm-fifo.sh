# SPDX-License-Identifier: LGPL-2.1-or-later
# The reference VMM for the shell tests, sourced: one VMM at a time on
# $T/vmm.sock, its stdout in a fifo whose lines the test reads.  Needs T (a
# scratch directory), TESTVMM and UUID; sets VMM_PID, VMM_OUT, LINE and C.

vmm_run() { # ARGS...: the VMM with these arguments too, once it says it is ready
        rm -f "$T/vmm.sock" "$T/out"; mkfifo "$T/out"
        "$TESTVMM" --socket "$T/vmm.sock" --uuid "$UUID" --own-state "$T/own" "$@" >"$T/out" 2>>"$T/vmm.err" &
        VMM_PID=$!
        exec {VMM_OUT}<"$T/out"
        expect ready
}
# PREFIX: the VMM's next line that starts with it, in LINE (1024 vCPUs take seconds to boot on a loaded machine)
expect() { local l; while IFS= read -r -t 30 l <&$VMM_OUT; do [[ $l == "$1"* ]] && { LINE=$l; return 0; }; done; return 1; }
counters() { kill -USR2 $VMM_PID; expect counters: && read -ra C <<<"${LINE#counters:}"; }
vmm_kill() { kill -9 $VMM_PID; wait $VMM_PID 2>/dev/null; exec {VMM_OUT}<&-; VMM_PID=; }
advanced() { # OLD...: as many counters as before, every one above its old value
        local old=("$@") i; counters || return 1
        ((${#C[@]} == ${#old[@]})) || { echo "# ${#C[@]} counters, not ${#old[@]}"; return 1; }
        for i in "${!old[@]}"; do (( C[i] > old[i] )) || { echo "# vCPU $i: ${C[i]} <= ${old[i]}"; return 1; }; done
}
unchanged() { local old=("$@") i; counters || return 1; for i in "${!old[@]}"; do (( C[i] == old[i] )) || return 1; done; }
