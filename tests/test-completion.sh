#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion (data/completion/nestvirt) with bash-completion's own
# helpers: commands and options against what `nestvirt --help` says, and
# domain names from libvirt's test driver on the connection the line names.
# Skips (77) without bash-completion.
set -u
NESTVIRT=$1
COMPLETION=$2
HELPERS=$3  # bash-completion's bash_completion, '' when it is not installed
NODE=$4     # data/examples/node.xml, absolute
[[ -n $HELPERS && -r $HELPERS ]] || { echo "1..0 # SKIP bash-completion is not installed"; exit 0; }
# shellcheck source=/dev/null
source "$HELPERS"
# shellcheck source=../data/completion/nestvirt
source "$COMPLETION"
T=$(mktemp -d /tmp/nestvirt-completion-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM INT # a timeout's SIGTERM still runs the EXIT cleanup
export LC_ALL=C.UTF-8 LANGUAGE=
unset LIBVIRT_DEFAULT_URI
fails=0 passes=0

check() { # name, then a command that must succeed
        local name=$1; shift
        if "$@"; then passes=$((passes + 1)); echo "ok - $name"
        else fails=$((fails + 1)); echo "not ok - $name"; echo "#   got: ${COMPREPLY[*]-}"; fi
}

# Completes LINE as readline would hand it over: COMP_WORDS split at blanks
# and around ':' and '=' (both in COMP_WORDBREAKS), the last word under the
# cursor.  The program is $NESTVIRT, as if typed by its path.
complete_line() {
        local line=$1 w
        local -a blanks
        COMP_LINE="$NESTVIRT $line" COMP_POINT=$((${#NESTVIRT} + 1 + ${#line})) COMP_WORDS=("$NESTVIRT")
        read -ra blanks <<<"$line"
        [[ -z $line || $line == *' ' ]] && blanks+=('')
        for w in "${blanks[@]}"; do
                while [[ $w =~ ^([^:=]*)([:=])(.*)$ ]]; do
                        [[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
                        COMP_WORDS+=("${BASH_REMATCH[2]}")
                        w=${BASH_REMATCH[3]}
                done
                [[ -n $w || ${COMP_WORDS[-1]} != [:=] ]] && COMP_WORDS+=("$w")
        done
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _nestvirt 2>"$T/stderr"
        [[ ! -s $T/stderr ]] || { echo "# stderr: $(cat "$T/stderr")"; COMPREPLY+=("<stderr>"); }
}
# The completions, sorted, one line.
got() { printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
is() { [[ $(got) == "$(sorted "$@")" ]]; }
offers() { local w; for w; do [[ " ${COMPREPLY[*]} " == *" $w "* ]] || return 1; done; }
lacks() { [[ " ${COMPREPLY[*]} " != *" $1 "* ]]; }

# Commands and options: what the program itself says it has.
commands=$("$NESTVIRT" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
complete_line ""
check "every command of 'nestvirt --help', and only those" is $commands
complete_line "--"
check "global options" is --connect --help --version
for c in $commands; do
        # The usage lines and the option table of the command's help.
        opts=$("$NESTVIRT" "$c" --help | grep -E '^(Usage:| +nestvirt | +\[| +(-[a-zA-Z], )?--[a-z])' | grep -oE -- '--[a-z][a-z-]*' | sort -u)
        complete_line "$c --"
        check "$c: the options its --help names" offers --help $opts
done
complete_line "save --keep"
check "an option's prefix" is --keep-frozen

# -c: URIs, and what bash is handed after the colon.
complete_line "-c qemu:///s"
check "-c completes libvirt URIs after the colon" is ///system ///session

# Domain names from the connection the line names, in each spelling of -c.
names=$(sed -n 's|^ *<name>\(.*\)</name>$|\1|p' "$NODE")
complete_line "-c test://$NODE dominfo "
check "dominfo: the test driver's domains" is $names
complete_line "--connect=test://$NODE save s"
check "--connect=URI, and a prefix" is svm-passthrough
complete_line "-ctest://$NODE migrate-begin --output x.xml v"
check "-cURI, after an option's argument" is vmx-custom
sed 's|<name>plain-off</name>|<name>elsewhere</name>|' "$NODE" >"$T/other.xml"
complete_line "-c test://$T/other.xml restore "
check "the -c given, not another connection" offers elsewhere
check "the -c given: the other file's names are not offered" lacks plain-off
complete_line "-c test://$T/other.xml demo --domain e"
check "demo --domain" is elsewhere
complete_line "-c test://$NODE dominfo svm-passthrough "
check "one domain per command" is

# Positional arguments and option arguments.
complete_line "maintenance "
check "maintenance actions" is save-all restore-all
complete_line "maintenance restore-all --"
check "--keep-frozen is save-all's only" is --jobs --json --help
complete_line "-c test://$NODE hook svm-passthrough "
check "hook: the operation" offers prepare migrate restore release
complete_line "hook svm-passthrough migrate "
check "hook: the suboperation" is begin end -
complete_line "hook svm-passthrough migrate begin "
check "hook: extra" is -
complete_line "verify --vendor "
check "--vendor" is vmx svm
mkdir "$T/dir"
touch "$T/a.nvstate" "$T/b.raw"
complete_line "inspect $T/"
check "inspect: files" offers "$T/a.nvstate" "$T/dir"
complete_line "pack $T/a.nvstate $T/b"
check "pack: every argument a file" is "$T/b.raw"
complete_line "unpack $T/a.nvstate -d $T/"
check "unpack -d: directories only" is "$T/dir"
complete_line "save svm-passthrough --file=$T/a"
check "--file=PATH" is "$T/a.nvstate"
complete_line "migrate-begin vm1 --inline-max "
check "no guesses for a number" is

echo "# $passes passed, $fails failed"
[ $fails -eq 0 ]
