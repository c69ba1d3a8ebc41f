#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages as man(1) renders them: every example line (a scdoc code
# fence, or an indented line under EXAMPLES, which scdoc would fill and
# hyphenate as prose) comes out as one intact line, character for character.
set -u
SRCDIR=$1   # the scdoc sources, with the build's paths filled in (build/data)
BUILDDIR=$2 # the built pages

. "$(dirname "$0")/tap.sh"
command -v man >/dev/null || { echo "1..0 # SKIP man(1) is not installed"; exit 77; }

# The example lines of an scdoc source, one per line, leading blanks dropped.
example_lines() {
        awk '/^```/ { fence = !fence; next }
             /^# / { ex = ($0 == "# EXAMPLES") }
             fence || (ex && /^\t/) { sub(/^[ \t]+/, ""); gsub(/\\\\/, "\\"); if (length) print }' "$1"
}

# Every line of $2 is a whole line of $1 (leading blanks dropped).
lines_intact() {
        local rendered=$1 line ok=0
        while IFS= read -r line; do
                grep -qxF -- "$line" <<<"$rendered" || { echo "# joined, wrapped or hyphenated: $line"; ok=1; }
        done <<<"$2"
        return $ok
}

for src in "$SRCDIR"/*.scd; do
        page=$(basename "$src" .scd)
        examples=$(example_lines "$src")
        [[ -n $examples ]] || continue
        rendered=$(MANWIDTH=80 MAN_KEEP_FORMATTING= man -l "$BUILDDIR/$page" 2>/dev/null | col -bx | sed 's/^ *//')
        check "$page renders" test -n "$rendered"
        check "$page: every example line intact" lines_intact "$rendered" "$examples"
done
check "nestvirt.1 has examples" test -n "$(example_lines "$SRCDIR/nestvirt.1.scd")"
check "nestvirtd.8 has examples" test -n "$(example_lines "$SRCDIR/nestvirtd.8.scd")"

tap_end
