# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests share, sourced: TAP-style checks and the summary.
#   check NAME COMMAND...   passes when COMMAND succeeds
#   contains TEXT NEEDLE     TEXT holds NEEDLE (literally)
#   tap_end                  the plan and the counts; the test's exit status
#   stacks PID NAME          each thread's stack of a process that seems hung, as comments
# A test that cannot run here prints "1..0 # SKIP why" and exits 0: meson
# counts that plan as skipped, while exit status 77 from a TAP test is an error.
passes=0 fails=0

check() {
        local name=$1; shift
        if "$@"; then passes=$((passes + 1)); echo "ok - $name"
        else fails=$((fails + 1)); echo "not ok - $name"; fi
}

contains() { grep -qF -- "$2" <<<"$1" || { echo "# not in: ${1:0:400}"; false; }; }
matches() { grep -qE -- "$2" <<<"$1" || { echo "# no match for $2 in: ${1:0:2000}"; false; }; }

tap_end() {
        echo "1..$((passes + fails))"
        echo "# $passes passed, $fails failed"
        [[ $fails -eq 0 ]]
}

# Before the kill, so that a hang in CI says where: gdb's backtraces where it
# is installed (.ci/install-deps), and what the kernel sees every thread wait on.
stacks() {
        local t
        [[ -d /proc/$1 ]] || { echo "# $2 (pid $1) has ended"; return 0; }
        echo "# stacks of $2 (pid $1, $(grep -s '^State:' "/proc/$1/status" | tr -s '\t' ' '))"
        for t in /proc/"$1"/task/*; do
                echo "#   thread ${t##*/} waits in $(cat "$t/wchan" 2>/dev/null)"
        done
        if command -v gdb >/dev/null; then
                timeout 60 gdb -p "$1" -batch -nx -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread |#[0-9])' | sed 's/^/#   /'
        fi
}
