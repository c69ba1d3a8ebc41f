#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The repository stands alone: no code comment, doc or README cites a file
# outside it (design notes or reference material the project was built
# from).  What the code relies on is in docs/, in the project's own words.
set -u
SRCROOT=$1

. "$(dirname "$0")/tap.sh"

# Spelled in pieces so that this file does not cite what it looks for.
shared='\.\./'shared
design=DESIGN'\.md'
section='reference'' §'
refdir='reference''/'
work='/work/'shared
pattern="$shared|$design|$section|$refdir|$work"

if git -C "$SRCROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        hits=$(git -C "$SRCROOT" grep -nIE "$pattern" -- . 2>/dev/null)
else # a tarball: every file but the build trees
        hits=$(cd "$SRCROOT" && grep -rnIE --exclude-dir='build*' --exclude-dir=.git "$pattern" . 2>/dev/null)
fi
check "nothing cites a file outside the repository" test -z "$hits"
[[ -z $hits ]] || sed 's/^/# /' <<<"$hits"
check "the kernel facts are in docs/" test -s "$SRCROOT/docs/kvm-nested-abi.md"

tap_end
