# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests share, sourced: TAP-style checks and the summary.
#   check NAME COMMAND...   passes when COMMAND succeeds
#   contains TEXT NEEDLE     TEXT holds NEEDLE (literally)
#   tap_end                  the plan and the counts; the test's exit status
passes=0 fails=0

check() {
        local name=$1; shift
        if "$@"; then passes=$((passes + 1)); echo "ok - $name"
        else fails=$((fails + 1)); echo "not ok - $name"; fi
}

contains() { grep -qF -- "$2" <<<"$1" || { echo "# not in: ${1:0:400}"; false; }; }

tap_end() {
        echo "1..$((passes + fails))"
        echo "# $passes passed, $fails failed"
        [[ $fails -eq 0 ]]
}
