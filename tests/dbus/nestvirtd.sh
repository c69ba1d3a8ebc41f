# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests of nestvirtd and the agent share, sourced after
# tap.sh.  B (busctl on the test's bus) is the test's own.
#   M                        the Manager: service, path, interface
#   prop PATH IFACE NAME     a property's value, unquoted
#   path_of 'o "PATH"'       PATH
#   job_wait JOB             its state once no longer queued or running (at most 20 s)
#   nested_node NAME UUID SOCKET   a node file with one running domain with our metadata
M=(org.nestvirt.NestedState1 /org/nestvirt/NestedState1 org.nestvirt.NestedState1.Manager)
prop() { B get-property org.nestvirt.NestedState1 "$1" "$2" "$3" | sed -E 's/^[a-z] //; s/^"(.*)"$/\1/'; }
path_of() { sed -E 's/^o "(.*)"$/\1/' <<<"$1"; }
job_wait() {
        local i s
        for ((i = 0; i < 200; i++)); do
                s=$(prop "$1" org.nestvirt.NestedState1.Job State)
                [[ $s != queued && $s != running ]] && { echo "$s"; return 0; }
                sleep 0.1
        done
        echo timeout
}
nested_node() {
        cat <<XML
<node><domain type='test'><name>$1</name><uuid>$2</uuid>
  <metadata><nestvirt:nested xmlns:nestvirt="http://nestvirt.org/schemas/domain/nested/1.0">
    <nestvirt:vmm transport="socket" socket="$3"/></nestvirt:nested></metadata>
  <memory>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>
  <cpu mode='host-passthrough'/></domain></node>
XML
}
