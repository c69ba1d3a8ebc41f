#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Replays recorded libvirt qemu hook invocations (tests/data/hooks/cases.txt:
# argv plus the domain XML on stdin) against `nestvirt hook`, on fake host
# trees, and checks exit status, stderr and the XML written to stdout.
set -u
NESTVIRT=$1
DATA=$2 # tests/data
T=$(mktemp -d /tmp/nestvirt-hook-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup
export NESTVIRT_STATE_DIR=$T/state NESTVIRT_RUNTIME_DIR=$T/run
fails=0 passes=0 n=0

while IFS=$'\t' read -r host argv stdin want_rc want_err want_out; do
        [[ -z $host || $host == \#* ]] && continue
        n=$((n + 1))
        name="$n: $argv < $stdin on $host"
        read -ra args <<<"$argv"
        mkdir -p "$T/run/locks"; : >"$T/run/locks/0d6f4c1e-3b9a-4e6f-8a7b-2c1d0e9f8a01.lock"
        NESTVIRT_HOST_ROOT=$DATA/$host "$NESTVIRT" hook "${args[@]}" <"$DATA/hooks/$stdin" >"$T/out" 2>"$T/err"
        rc=$? ok=1
        [[ $rc == "$want_rc" ]] || { ok=0; echo "# exit $rc, wanted $want_rc"; }
        if [[ $want_err == - ]]; then [[ ! -s $T/err ]] || { ok=0; echo "# unexpected stderr: $(cat "$T/err")"; }
        else grep -qF -- "$want_err" "$T/err" || { ok=0; echo "# stderr lacks '$want_err': $(cat "$T/err")"; }; fi
        if [[ $want_out == - ]]; then [[ ! -s $T/out ]] || { ok=0; echo "# unexpected stdout"; }
        else
                grep -qF -- "${want_out//@STATE@/$T/state}" "$T/out" || { ok=0; echo "# stdout lacks '$want_out'"; }
                # The landed file is the one the rewritten XML references, byte for byte.
                path=$(sed -n 's/.*<nestvirt:state path="\([^"]*\)".*/\1/p' "$T/out")
                cmp -s "$path" "$DATA/snapshots/good.nvstate" || { ok=0; echo "# $path is not the migrated snapshot"; }
                grep -q "nestvirt:inline" "$T/out" && { ok=0; echo "# the inline copy is still in the XML"; }
        fi
        if [[ ${args[1]} == release ]]; then
                [[ ! -e $T/run/locks/0d6f4c1e-3b9a-4e6f-8a7b-2c1d0e9f8a01.lock ]] || { ok=0; echo "# lock file left"; }
        fi
        if ((ok)); then passes=$((passes + 1)); echo "ok - $name"; else fails=$((fails + 1)); echo "not ok - $name"; fi
done <"$DATA/hooks/cases.txt"

out=$("$NESTVIRT" hook guest1 prepare 2>&1 </dev/null); rc=$?
if [[ $rc == 1 && $out == *"takes 4 arguments"* ]]; then passes=$((passes + 1)); echo "ok - wrong argument count"
else fails=$((fails + 1)); echo "not ok - wrong argument count"; fi

echo "1..$((passes + fails))"
echo "# $passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 10 ]]
