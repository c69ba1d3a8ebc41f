#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One set of default paths: what the built nestvirt uses (capabilities),
# what its help says, what the rendered man pages say and what nestvirtd's
# unit lets it write are the directories this build was configured with
# (nv_paths in meson.build), whatever the prefix.
set -u
NESTVIRT=$1
MANDIR=$2      # the built man pages
UNIT=$3        # the built nestvirtd.service
STATE_DIR=$4   # the configured defaults
RUNTIME_DIR=$5

. "$(dirname "$0")/tap.sh"
command -v man >/dev/null || { echo "1..0 # SKIP man(1) is not installed"; exit 77; }

# As root, with nothing in the environment choosing otherwise.
run() { env -u NESTVIRT_STATE_DIR -u NESTVIRT_RUNTIME_DIR -u XDG_RUNTIME_DIR "$NESTVIRT" "$@"; }
render() { MANWIDTH=200 man -l "$MANDIR/$1" 2>/dev/null | col -bx; }
# Every ".../lib/nestvirt" directory a text names is the configured one.
only_state_dir() { ! grep -oE '/[A-Za-z/]*lib/nestvirt' <<<"$1" | grep -vxF "$STATE_DIR"; }

out=$(run capabilities --json)
if [[ $(id -u) -eq 0 ]]; then
        check "the code's state directory is the configured one" python3 -c '
import json, sys; assert json.loads(sys.argv[1])["state_dir"] == sys.argv[2]' "$out" "$STATE_DIR"
        check "the code's runtime directory is the configured one" python3 -c '
import json, sys; assert json.loads(sys.argv[1])["runtime_dir"] == sys.argv[2]' "$out" "$RUNTIME_DIR"
fi
help=$(run save --help)
check "save --help names the configured state directory" contains "$help" "default $STATE_DIR,"
check "save --help names the configured runtime directory" contains "$help" "default $RUNTIME_DIR;"
check "save --help names no other" only_state_dir "$help"
page=$(render nestvirt.1)
check "nestvirt(1) names the configured state directory" contains "$page" "(default $STATE_DIR)"
check "nestvirt(1) names the configured runtime directory" contains "$page" "(default $RUNTIME_DIR;"
for p in nestvirt.1 nestvirt-hook.8 nestvirt-maintenance.service.8 nestvirt-domain-xml.5 nestvirtd.8; do
        check "$p names no other state directory" only_state_dir "$(render "$p")"
done
check "nestvirt-maintenance.service(8): the record in the state directory" contains "$(render nestvirt-maintenance.service.8)" "$STATE_DIR/maintenance.list"
rw=$(sed -n 's/^ReadWritePaths=//p' "$UNIT")
check "nestvirtd.service may write the state directory" contains " $rw " " $STATE_DIR "
check "nestvirtd.service may write the runtime directory" contains " $rw " " $RUNTIME_DIR "
if [[ $STATE_DIR == /var/lib/* ]]; then
        check "nestvirtd.service: systemd makes the state directory" grep -qx "StateDirectory=${STATE_DIR#/var/lib/}" "$UNIT"
else
        check "nestvirtd.service: the state directory is made before the sandbox" grep -qx "ExecStartPre=+/bin/mkdir -p -m 0700 $STATE_DIR" "$UNIT"
fi

tap_end
