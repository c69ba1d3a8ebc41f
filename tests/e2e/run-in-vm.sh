#!/usr/bin/env bash
# run-in-vm.sh - run nestvirt end-to-end test programs on a Linux kernel that
# has KVM with nested SVM (AMD) or nested VMX (Intel) available.
#
# On a host with a usable /dev/kvm of that vendor the programs simply run
# here.  Otherwise a Debian cloud kernel is booted under an emulator that
# provides the vendor's virtualization extension (QEMU's TCG for SVM, Bochs
# for VMX: TCG does not emulate VMX), kvm_amd or kvm_intel is loaded with
# nested=1 inside it, and the programs run there as PID 1's children.  See
# usage() and README.md.
set -euo pipefail

readonly ME=${0##*/}
readonly MARK='NESTVIRT-E2E:'             # per-program result line
readonly SETUP_MARK='NESTVIRT-E2E-SETUP:' # guest bring-up status line
readonly KVM_MODULE_PARAMS='nested=1'
readonly COMMON_PACKAGES=(busybox-static cpio xz-utils)
readonly SVM_PACKAGES=(qemu-system-x86)
readonly VMX_PACKAGES=(bochs bochsbios vgabios grub-pc-bin grub-common xorriso mtools)

usage() {
    cat <<EOF
Usage: $ME [OPTIONS] -- PROGRAM [ARGS...]
       $ME [OPTIONS] --manifest FILE [-- PROGRAM [ARGS...]]

Run test programs where /dev/kvm with nested SVM (or, with --vendor vmx,
nested VMX) is available.  If this host's /dev/kvm is usable (openable,
kvm_amd or kvm_intel loaded with nested enabled) they run directly.
Otherwise a Debian cloud kernel is booted under an emulator - for SVM
qemu-system-x86_64 -accel tcg -cpu max, for VMX Bochs with a Skylake-X CPU
model - kvm_amd or kvm_intel is loaded with nested=1 and the programs run
inside it (as root, stdin=/dev/null, cwd = the host's current directory,
env NESTVIRT_E2E_IN_VM=1; #!/bin/sh scripts get busybox sh, other
interpreters are copied in from the host).

Options:
  --vendor svm|vmx    which nested virtualization to provide (default: svm)
  --manifest FILE     run every program listed in FILE: one per line,
                      "PROGRAM ARG..." split on whitespace (no quoting);
                      blank lines and lines starting with # are ignored.
                      Relative PROGRAM paths are relative to the current
                      directory; names without "/" are looked up in PATH.
  --include PATH      also copy PATH (file or directory) into the guest at
                      the same absolute path; ELF files bring their shared
                      libraries.  Repeatable.  Use it for data files and
                      dlopen()ed libraries.
  --workdir DIR       cache directory for the kernel and build files
                      (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/nestvirt-e2e)
  --timeout SECS      overall limit for boot + all programs (default: 600)
  --prog-timeout SECS per-program limit inside the guest, 0 = none (default: 0)
  --log FILE          where to save the console log
                      (default: WORKDIR/last-console.log)
  --kernel PACKAGE    Debian kernel package to boot instead of the one the
                      linux-image-cloud-amd64 metapackage points at: a kernel
                      (linux-image-6.12.117+deb12-cloud-amd64) or a metapackage
                      (linux-image-6.12-cloud-amd64: its newest kernel).  Its
                      modules may be .ko, .ko.xz, .ko.zst or .ko.gz.
                      (env: NESTVIRT_E2E_KERNEL_PKG; --kernel-pkg is the old name)
  --memory MB         guest memory (default: 1024 for svm, 512 for vmx)
  --smp N             guest CPUs (default: 1; see the note at smp= below)
  --force-vm          use the emulated VM even if /dev/kvm is usable
  --quiet             do not stream the console; only print the summary
  --keep              keep the generated initramfs tree (for debugging)
  -h, --help          show this help

Output: for each program a line "$MARK <name> exit=<code>" (name is the
program's basename, made unique with -2, -3... if repeated), then a summary
"$ME: N passed, N failed, N skipped".

Exit status: 0 if no program failed and at least one passed (others may
have skipped); 77 if every program exited 77 (skip) or the host cannot
provide the VM (missing packages while not root, kernel not obtainable; for
vmx also: the booted guest could not bring up nested VMX); 1 if
any program failed or produced no result (crash, timeout) or the svm guest
could not bring up KVM; 2 on bad usage; 130 if interrupted.

Host requirements (installed with apt-get when missing and running as root):
${COMMON_PACKAGES[*]}, and ${SVM_PACKAGES[*]} for svm or
${VMX_PACKAGES[*]} for vmx.
EOF
}

log()  { printf '%s: %s\n' "$ME" "$*" >&2; }
die()  { log "error: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }
usage_error() { log "$*"; log "try '$ME --help'"; exit 2; }

# Timestamps for the per-phase timings we print.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Single-quote a word for the guest's busybox sh (which lacks bash's $'..').
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ---------------------------------------------------------------- options
workdir="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nestvirt-e2e"
timeout_secs=600
prog_timeout=0
logfile=""
kernel_pkg="${NESTVIRT_E2E_KERNEL_PKG:-}"
memory=""
vendor=svm
# One guest CPU: with -smp 2 (multi-threaded TCG) 2 of 4 runs of the
# real-KVM test hung at random points inside the guest; with -smp 1, 0 of 6.
smp=1
force_vm=0
quiet=0
keep=0
manifests=()
includes=()
cli_prog=()

need_arg() { [[ $# -ge 2 ]] || usage_error "option $1 needs an argument"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --vendor)       need_arg "$@"; vendor=$2; shift 2 ;;
        --manifest)     need_arg "$@"; manifests+=("$2"); shift 2 ;;
        --include)      need_arg "$@"; includes+=("$2"); shift 2 ;;
        --workdir)      need_arg "$@"; workdir=$2; shift 2 ;;
        --timeout)      need_arg "$@"; timeout_secs=$2; shift 2 ;;
        --prog-timeout) need_arg "$@"; prog_timeout=$2; shift 2 ;;
        --log)          need_arg "$@"; logfile=$2; shift 2 ;;
        --kernel|--kernel-pkg) need_arg "$@"; kernel_pkg=$2; shift 2 ;;
        --memory)       need_arg "$@"; memory=$2; shift 2 ;;
        --smp)          need_arg "$@"; smp=$2; shift 2 ;;
        --force-vm)     force_vm=1; shift ;;
        --quiet)        quiet=1; shift ;;
        --keep)         keep=1; shift ;;
        -h|--help)      usage; exit 0 ;;
        --)             shift; cli_prog=("$@"); break ;;
        *)              usage_error "unknown argument: $1" ;;
    esac
done
case $vendor in
    svm) KVM_MODULE=kvm_amd; EXT_NAME=SVM; : "${memory:=1024}" ;;
    # Bochs allocates guest RAM on the host and emulates every byte the
    # kernel clears: 512 MB holds the initramfs and boots faster.
    vmx) KVM_MODULE=kvm_intel; EXT_NAME=VMX; : "${memory:=512}" ;;
    *) usage_error "--vendor must be svm or vmx, not: $vendor" ;;
esac
readonly KVM_MODULE EXT_NAME
for v in "$timeout_secs" "$prog_timeout" "$memory" "$smp"; do
    is_uint "$v" || usage_error "not a non-negative integer: $v"
done
[[ $timeout_secs -gt 0 && $memory -gt 0 && $smp -gt 0 ]] ||
    usage_error "--timeout, --memory and --smp must be > 0"

# ---------------------------------------------------------------- test list
# Parallel arrays: marker name, absolute host path, args quoted for sh.
t_name=() t_path=() t_args=()
declare -A name_used=()

add_test() {
    local prog=$1 path base name n=1 a quoted=""
    shift
    if [[ $prog == */* ]]; then
        path=$prog
    else
        path=$(type -P -- "$prog") || usage_error "program not found in PATH: $prog"
    fi
    [[ -f $path && -x $path ]] || usage_error "not an executable file: $path"
    # The real path, so $ORIGIN-relative RUNPATHs resolve the same in the guest.
    path=$(realpath -- "$path")
    base=${prog##*/}
    base=${base//[^A-Za-z0-9._+-]/_}  # keep marker lines one token wide
    name=$base
    while [[ -n ${name_used[$name]:-} ]]; do n=$((n + 1)); name="$base-$n"; done
    name_used[$name]=1
    for a in "$@"; do quoted+=" $(sq "$a")"; done
    t_name+=("$name") t_path+=("$path") t_args+=("$quoted")
}

for m in "${manifests[@]}"; do
    [[ -r $m ]] || usage_error "cannot read manifest: $m"
    while IFS= read -r line || [[ -n $line ]]; do
        read -ra words <<<"$line"
        [[ ${#words[@]} -eq 0 || ${words[0]} == \#* ]] && continue
        add_test "${words[@]}"
    done <"$m"
done
[[ ${#cli_prog[@]} -gt 0 ]] && add_test "${cli_prog[@]}"
[[ ${#t_name[@]} -gt 0 ]] || usage_error "no program given"

# ---------------------------------------------------------------- results
declare -A result=()  # name -> exit code (absent: no result)

# Print one line per program plus the summary, and exit accordingly.
# $1: the console log ("" in direct mode), whose end is shown on failure.
finish() {
    local console=$1 name rc pass=0 fail=0 skipped=0
    for name in "${t_name[@]}"; do
        rc=${result[$name]:-}
        if [[ -z $rc ]]; then
            log "$name: no result (not run, crashed, hung or timed out)"; fail=$((fail + 1))
        elif [[ $rc -eq 0 ]]; then pass=$((pass + 1))
        elif [[ $rc -eq 77 ]]; then skipped=$((skipped + 1))
        else log "$name: FAILED with exit code $rc"; fail=$((fail + 1))
        fi
    done
    [[ -n $console ]] && log "console log: $logfile"
    echo "$ME: $pass passed, $fail failed, $skipped skipped"
    if [[ $fail -gt 0 ]]; then
        # A streamed console is already on screen; otherwise show its end.
        if [[ -n $console && $quiet -eq 1 ]]; then
            echo "---- last 40 lines of the console log ($logfile) ----"
            tail -n 40 "$console"
            echo "----"
        fi
        exit 1
    fi
    [[ $pass -eq 0 ]] && exit 77
    exit 0
}

# ---------------------------------------------------------------- direct mode
# Usable means openable by us *and* backed by the vendor's module with
# nesting on: on a host of the other vendor, or a non-nested one, the
# emulated VM is still the way to run them.
kvm_usable() {
    local nested
    [[ -c /dev/kvm ]] && { : <>/dev/kvm; } 2>/dev/null || return 1
    nested=$(cat "/sys/module/$KVM_MODULE/parameters/nested" 2>/dev/null) || return 1
    [[ $nested == 1 || $nested == Y ]]
}

if [[ $force_vm -eq 0 ]] && kvm_usable; then
    log "/dev/kvm with nested $EXT_NAME is usable: running the programs directly"
    for i in "${!t_name[@]}"; do
        args=()
        eval "args=(${t_args[i]})"  # t_args was built by sq(), so this is safe
        tmo=()
        [[ $prog_timeout -gt 0 ]] && tmo=(timeout "$prog_timeout")
        rc=0
        "${tmo[@]}" "${t_path[i]}" "${args[@]}" </dev/null || rc=$?
        echo "$MARK ${t_name[i]} exit=$rc"
        result[${t_name[i]}]=$rc
    done
    finish ""
fi

# ---------------------------------------------------------------- host tools
t0=$(now)
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# A static busybox is needed: the guest has no libc for a dynamic one.
find_static_busybox() {
    local b
    for b in /bin/busybox /usr/bin/busybox; do
        if [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
    done
    return 1
}

# Run an apt command, showing its chatter only if it fails.
apt_run() {
    local out rc=0
    out=$(mktemp)
    DEBIAN_FRONTEND=noninteractive "$@" >"$out" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || cat "$out" >&2
    rm -f "$out"
    return "$rc"
}

missing=()
if [[ $vendor == svm ]]; then
    have qemu-system-x86_64 || missing+=(qemu-system-x86)
else
    have bochs || missing+=(bochs)
    [[ -e /usr/share/bochs/BIOS-bochs-latest ]] || missing+=(bochsbios)
    [[ -e /usr/share/vgabios/vgabios.bin ]] || missing+=(vgabios)
    [[ -d /usr/lib/grub/i386-pc ]] || missing+=(grub-pc-bin)
    have grub-mkrescue || missing+=(grub-common)
    have xorriso || missing+=(xorriso)
    have mformat || missing+=(mtools)
fi
find_static_busybox >/dev/null || missing+=(busybox-static)
have cpio || missing+=(cpio)
have xz || missing+=(xz-utils)
if [[ ${#missing[@]} -gt 0 ]]; then
    if ! is_root || ! have apt-get; then
        skip "missing host packages (${missing[*]}); install them as root: apt-get install ${missing[*]}"
    fi
    log "installing ${missing[*]}"
    apt_run apt-get update || skip "apt-get update failed"
    apt_run apt-get install -y --no-install-recommends "${missing[@]}" ||
        skip "apt-get install ${missing[*]} failed"
fi
busybox=$(find_static_busybox) || die "no static busybox after installing busybox-static"
for tool in ldd dpkg-deb apt-get apt-cache flock timeout realpath; do
    have "$tool" || skip "required host tool not found: $tool"
done
log "host tools ready ($(since "$t0"))"

# ---------------------------------------------------------------- kernel
t0=$(now)
mkdir -p "$workdir/kernels"
workdir=$(realpath -- "$workdir")
kernels=$workdir/kernels

# The package a metapackage ($1, default linux-image-cloud-amd64) currently points at.
resolve_kernel_pkg() {
    apt-cache depends "${1:-linux-image-cloud-amd64}" 2>/dev/null |
        awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2 }' |
        sort -V | tail -n 1 || true  # an unknown package is not an error here
}

# Newest already-unpacked kernel, for hosts whose apt lists are gone.
newest_cached_kernel() {
    local d
    for d in "$kernels"/*/; do
        [[ -e $d/.complete ]] && basename "$d"
    done | sort -V | tail -n 1 || true
}

# Serialize concurrent runs sharing the cache while the kernel is fetched.
exec 9>"$workdir/.lock"
flock 9

# apt-cache takes most of a second; its answer can only change when the apt
# lists do (apt-get update renames new lists into place), so remember it.
resolved=$kernels/.resolved
apt_lists=/var/lib/apt/lists
if [[ -z $kernel_pkg && -s $resolved && $resolved -nt $apt_lists ]]; then
    kernel_pkg=$(<"$resolved")
fi
if [[ -z $kernel_pkg ]]; then
    kernel_pkg=$(resolve_kernel_pkg)
    if [[ -z $kernel_pkg ]] && is_root && [[ -z $(newest_cached_kernel) ]]; then
        log "apt lists do not know linux-image-cloud-amd64; running apt-get update"
        apt_run apt-get update || true
        kernel_pkg=$(resolve_kernel_pkg)
    fi
    [[ -n $kernel_pkg ]] && echo "$kernel_pkg" >"$resolved"
    [[ -n $kernel_pkg ]] || kernel_pkg=$(newest_cached_kernel)
    [[ -n $kernel_pkg ]] ||
        skip "cannot resolve linux-image-cloud-amd64 (run apt-get update, or pass --kernel-pkg)"
fi

# A metapackage named with --kernel (no X.Y.Z version in its name): the kernel it points at now.
if [[ ! $kernel_pkg =~ ^linux-image-[0-9]+\.[0-9]+\.[0-9] ]]; then
    meta=$kernel_pkg
    kernel_pkg=$(resolve_kernel_pkg "$meta")
    if [[ -z $kernel_pkg ]] && is_root; then
        apt_run apt-get update || true
        kernel_pkg=$(resolve_kernel_pkg "$meta")
    fi
    [[ -n $kernel_pkg ]] || skip "cannot resolve $meta to a kernel package (run apt-get update)"
    log "$meta points at $kernel_pkg"
fi

kroot=$kernels/$kernel_pkg
if [[ ! -e $kroot/.complete ]]; then
    log "downloading $kernel_pkg"
    rm -rf "$kroot" "$kroot.partial" "$kernels/download"
    mkdir -p "$kernels/download"
    # As root, apt drops privileges to _apt, which cannot write into a
    # cache under /root; download as root then instead of warning about it.
    apt_opts=()
    is_root && apt_opts=(-o APT::Sandbox::User=root)
    (cd "$kernels/download" && apt_run apt-get download "${apt_opts[@]}" "$kernel_pkg") ||
        skip "apt-get download $kernel_pkg failed"
    debs=("$kernels/download"/*.deb)
    [[ -f ${debs[0]} ]] || skip "apt-get download produced no .deb"
    dpkg-deb -x "${debs[0]}" "$kroot.partial"
    rm -rf "$kernels/download"
    # Unpack then rename, so an interrupted run never leaves a "complete" tree.
    mv "$kroot.partial" "$kroot"
    touch "$kroot/.complete"
fi
exec 9>&-

vmlinuz=$(find "$kroot/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $vmlinuz ]] || die "no boot/vmlinuz-* in $kroot"
kver=${vmlinuz##*/vmlinuz-}
moddir=""
for d in "$kroot/lib/modules/$kver" "$kroot/usr/lib/modules/$kver"; do
    [[ -d $d ]] && moddir=$d && break
done
[[ -n $moddir ]] || die "no modules directory for $kver in $kroot"
log "kernel $kver ready ($(since "$t0"))"

# ---------------------------------------------------------------- modules
# The package ships no modules.dep (depmod runs in its postinst) and the host
# may lack kmod, so dependencies are read from each module's .modinfo
# section ("depends=a,b" NUL-terminated strings) directly.
mod_cat() {
    case $1 in
        *.ko)     cat -- "$1" ;;
        *.ko.xz)  xz -dc -- "$1" ;;
        *.ko.zst) zstd -qdc -- "$1" ;;
        *.ko.gz)  gzip -dc -- "$1" ;;
        *) die "unknown module format: $1" ;;
    esac
}
mod_depends() {
    mod_cat "$1" | tr '\0' '\n' | awk -F= '$1 == "depends" && !done { print $2; done = 1 }' | tr ',' ' '
}

declare -A modfile=() mod_seen=()
while IFS= read -r -d '' f; do
    n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
    modfile[$n]=$f
done < <(find "$moddir" -name '*.ko*' -print0)

builtin_list=$moddir/modules.builtin
is_builtin() { [[ -f $builtin_list ]] && grep -Eq "/${1//_/[-_]}\.ko\$" "$builtin_list"; }

# Depth-first walk: dependencies land in mod_order before their users.
mod_order=()
visit_module() {
    local n=$1 d
    [[ -n ${mod_seen[$n]:-} ]] && return 0
    mod_seen[$n]=1
    if [[ -z ${modfile[$n]:-} ]]; then
        is_builtin "$n" && return 0
        die "module $n not found in $moddir"
    fi
    for d in $(mod_depends "${modfile[$n]}"); do
        visit_module "${d//-/_}"
    done
    mod_order+=("$n")
}
visit_module "$KVM_MODULE"
log "modules to load, in order: ${mod_order[*]}"

# ---------------------------------------------------------------- initramfs
t0=$(now)
build=$(mktemp -d "$workdir/build.XXXXXX")
emu_pid=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    # Never leave the emulator behind, whatever path led here (error, signal).
    if [[ -n $emu_pid ]] && kill -TERM "$emu_pid" 2>/dev/null; then
        wait "$emu_pid" 2>/dev/null || true
    fi
    if [[ $keep -eq 1 ]]; then log "kept $build"; else rm -rf "$build"; fi
}
trap cleanup EXIT
root=$build/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,root,etc,e2e/modules}
mkdir -m 1777 "$root/tmp"

# Copy a host file into the guest at the same absolute path (symlinks
# dereferenced: the guest tree need not mirror the host's /lib -> usr/lib).
copy_file() {
    local dst=$root$1
    [[ -e $dst || -L $dst ]] && return 0
    mkdir -p -- "${dst%/*}"
    cp -L -- "$1" "$dst"
}

declare -A libdirs=()
# Copy a program plus everything ldd says it loads, including the dynamic
# loader; for scripts, also their #! interpreter unless busybox provides it.
copy_with_libs() {
    local f=$1 line lib out interp arg
    copy_file "$f"
    if [[ $(head -c 2 -- "$f" | tr -d '\0') == '#!' ]]; then
        read -r interp arg _ < <(head -n 1 -- "$f" | sed 's/^#! *//')
        # "#!/usr/bin/env NAME": busybox has env, but NAME must be there too.
        [[ $interp == */env && -n ${arg:-} ]] && interp=$(type -P -- "$arg" || true)
        case ${interp##*/} in
            ''|sh|env|busybox) ;;  # busybox provides these
            *) [[ -x $interp ]] && copy_with_libs "$interp" ;;
        esac
        return 0
    fi
    out=$(ldd -- "$f" 2>/dev/null) || return 0  # static, or not ELF
    while read -r line; do
        case $line in
            *'=> not found'*) die "$f needs ${line%% *}, which ldd cannot find" ;;
            *'=> /'*) lib=${line#*=> }; lib=${lib% (*} ;;
            /*)       lib=${line% (*} ;;  # the dynamic loader
            *)        continue ;;         # vdso
        esac
        copy_file "$lib"
        libdirs[${lib%/*}]=1
    done <<<"$out"
}

for p in "${t_path[@]}"; do copy_with_libs "$p"; done
for inc in "${includes[@]}"; do
    inc=$(realpath -- "$inc") || die "--include: no such path: $inc"
    if [[ -d $inc ]]; then
        mkdir -p -- "$root$inc"
        cp -RL -- "$inc/." "$root$inc/"
    else
        copy_with_libs "$inc"
    fi
done

# Only /bin/sh is linked here; init runs "busybox --install -s" for the other
# applets (a few hundred ln forks cost seconds on the host, the guest does it
# in-process) and that skips names that exist, so copied programs win.
cp -- "$busybox" "$root/bin/busybox"
[[ -e $root/bin/sh ]] || ln -s busybox "$root/bin/sh"
# Programs that look up their user (dbus-daemon drops a client whose uid it
# cannot name) find root; nothing of the host's user database goes in.
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# Busybox insmod only takes plain .ko files: decompress here.
: >"$root/e2e/modules.list"
for n in "${mod_order[@]}"; do
    mod_cat "${modfile[$n]}" >"$root/e2e/modules/$n.ko"
    params=""
    [[ $n == "$KVM_MODULE" ]] && params=$KVM_MODULE_PARAMS
    echo "$n $params" >>"$root/e2e/modules.list"
done

# Libraries that came from outside glibc's default directories (found via
# ld.so.cache or RUNPATH on the host): the guest has no ld.so.cache.
guest_ld_path=""
for d in "${!libdirs[@]}"; do
    case $d in
        /lib|/lib64|/usr/lib|/usr/lib64|/lib/x86_64-linux-gnu|/usr/lib/x86_64-linux-gnu) ;;
        *) guest_ld_path+="${guest_ld_path:+:}$d" ;;
    esac
done

guest_cwd=$PWD
mkdir -p -- "$root$guest_cwd"

# The guest's PID 1.  Busybox sh, so POSIX only.
{
    echo '#!/bin/sh'
    echo '# Generated by run-in-vm.sh: bring up KVM, run the tests, power off.'
    echo "KVM_MODULE=$KVM_MODULE"
    cat <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb NESTVIRT_E2E_IN_VM=1
# The initramfs has no /dev/console node (creating one needs root on the
# host), so the kernel started us without stdio: attach it once devtmpfs is up.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# --install finds busybox through /proc/self/exe.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

halt_vm() {
    # Let the UART drain before the power goes: the last lines are the results.
    sleep 1
    poweroff -f
    # If ACPI power-off fails, exiting PID 1 panics; panic=-1 and -no-reboot
    # then end QEMU (Bochs, which reboots, is ended by the host on the
    # "done" or "FAIL" line).
    exit 1
}
setup_fail() {
    dmesg | tail -n 25
    echo "NESTVIRT-E2E-SETUP: FAIL $*"  # last, so the host's log tail shows it
    halt_vm
}

echo "NESTVIRT-E2E-SETUP: kernel $(uname -r)"
while read -r mod params; do
    [ -d "/sys/module/$mod" ] && continue  # built in or already loaded
    echo "NESTVIRT-E2E-SETUP: insmod $mod $params"
    insmod "/e2e/modules/$mod.ko" $params || setup_fail "insmod $mod"
done </e2e/modules.list
[ -c /dev/kvm ] || setup_fail "/dev/kvm did not appear"
nested=$(cat "/sys/module/$KVM_MODULE/parameters/nested" 2>/dev/null)
case $nested in
    1|Y) ;;
    *) setup_fail "$KVM_MODULE nested is '$nested', not enabled" ;;
esac
echo "NESTVIRT-E2E-SETUP: ok /dev/kvm present, $KVM_MODULE nested=$nested"
# "quiet" hides KERN_WARNING; from here on show it, so KVM WARN_ON splats
# that a test provokes reach the log.
dmesg -n 5

run_test() {
    name=$1
    shift
    echo "NESTVIRT-E2E-SETUP: running $name"
    if [ "$PROG_TIMEOUT" -gt 0 ]; then
        timeout "$PROG_TIMEOUT" "$@" </dev/null
    else
        "$@" </dev/null
    fi
    echo "NESTVIRT-E2E: $name exit=$?"
}
EOF
    echo "PROG_TIMEOUT=$prog_timeout"
    [[ -n $guest_ld_path ]] && echo "export LD_LIBRARY_PATH=$(sq "$guest_ld_path")"
    echo "cd $(sq "$guest_cwd") || cd /"
    for i in "${!t_name[@]}"; do
        echo "run_test $(sq "${t_name[i]}") $(sq "${t_path[i]}")${t_args[i]}"
    done
    echo 'echo "NESTVIRT-E2E-SETUP: done"'
    echo 'halt_vm'
} >"$root/init"
chmod 755 "$root/init"

# Uncompressed: the kernel unpacks it without spending emulated cycles on
# decompression.  -R 0:0 makes everything root-owned without needing root.
initrd=$build/initrd.cpio
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null --quiet -o -H newc -R 0:0) >"$initrd"
log "initramfs built: $(du -h "$initrd" | cut -f1) ($(since "$t0"))"

# ---------------------------------------------------------------- boot
[[ -n $logfile ]] || logfile=$workdir/last-console.log
mkdir -p -- "$(dirname -- "$logfile")"
# Capture privately and publish when done: concurrent runs share $logfile.
console=$build/console.log
raw=$build/console.raw
: >"$raw"  # exists before tail opens it
cmdline='console=ttyS0 quiet panic=-1'
emu_out=$raw  # where the emulator's own stdout and stderr go

# QEMU: direct kernel boot, the serial port on stdout.
setup_qemu() {
    emu_name="QEMU TCG"
    emu=(qemu-system-x86_64
        -accel tcg -cpu max -m "$memory" -smp "$smp"
        -nodefaults -display none -nic none -no-reboot
        -serial stdio
        -kernel "$vmlinuz" -initrd "$initrd"
        -append "$cmdline")
}

# Bochs cannot load a kernel directly: GRUB on an El Torito ISO does.  Its
# serial port writes to a file and its messages go elsewhere.  The three
# settings that matter besides the CPU model: the Debian build has no
# "nogui" display (rfb with timeout=0 does not wait for a viewer), its
# default ALSA sound driver aborts Bochs at start-up (dummy drivers), and
# its built-in debugger stops at a prompt before the first instruction (the
# -rc file continues, then quits when the simulation ends).
setup_bochs() {
    local iso=$build/iso t1
    t1=$(now)
    emu_name="Bochs"
    mkdir -p "$iso/boot/grub"
    cp -- "$vmlinuz" "$iso/boot/vmlinuz"
    mv -- "$initrd" "$iso/boot/initrd"
    cat >"$iso/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
linux /boot/vmlinuz $cmdline
initrd /boot/initrd
boot
EOF
    grub-mkrescue -o "$build/boot.iso" "$iso" >"$build/grub-mkrescue.log" 2>&1 ||
        { cat "$build/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }
    rm -rf "$iso"
    cat >"$build/bochsrc" <<EOF
megs: $memory
cpu: model=corei7_skylake_x, count=$smp, ips=50000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$build/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$raw
display_library: rfb, options="timeout=0"
clock: sync=none, time0=local
mouse: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: $build/bochs.log
panic: action=fatal
EOF
    printf 'c\nquit\n' >"$build/bochs-debugger.rc"
    emu=(bochs -q -rc "$build/bochs-debugger.rc" -f "$build/bochsrc")
    emu_out=$build/bochs.out
    log "boot ISO built: $(du -h "$build/boot.iso" | cut -f1) ($(since "$t1"))"
}

# Bochs has no -no-reboot: a guest that panics (panic=-1) would boot again
# and again until the timeout.  Once init has printed its last line, or the
# kernel has panicked, give the guest a moment to power off, then stop it.
# Bochs is slow enough that the boot time is worth a line of its own.
watch_for_end() {
    local pid=$1 waited=0 booted=0
    while kill -0 "$pid" 2>/dev/null; do
        if [[ $booted -eq 0 ]] && grep -q "$SETUP_MARK ok" "$raw"; then
            booted=1
            log "guest booted, KVM ready ($(since "$t0"))"
        fi
        if grep -Eq "$SETUP_MARK (done|FAIL)|Kernel panic - not syncing" "$raw"; then
            while kill -0 "$pid" 2>/dev/null && [[ $waited -lt 20 ]]; do
                sleep 1; waited=$((waited + 1))
            done
            kill -TERM "$pid" 2>/dev/null || true
            return 0
        fi
        sleep 1
    done
}

if [[ $vendor == svm ]]; then setup_qemu; else setup_bochs; fi

t0=$(now)
log "booting $kver under $emu_name (timeout ${timeout_secs}s, log: $logfile)"
# The emulator runs in the background and we wait(): a trapped INT/TERM
# interrupts wait at once, whereas a foreground pipeline would hold the trap
# until the emulator ended, and timeout(1) puts it in its own process group,
# out of reach of a terminal's Ctrl-C.  timeout forwards our TERM to it.
timeout -k 10 "$timeout_secs" "${emu[@]}" </dev/null >>"$emu_out" 2>&1 &
emu_pid=$!
# shellcheck disable=SC2317  # invoked by trap; cleanup() stops the emulator
interrupted() { log "interrupted"; exit 130; }
trap interrupted INT TERM
tail_pid="" watch_pid=""
if [[ $quiet -eq 0 ]]; then
    # The serial console emits CRLF; strip the CR.
    tail -n +1 -s 0.2 -f --pid="$emu_pid" "$raw" | sed -u 's/\r$//' &
    tail_pid=$!
fi
if [[ $vendor == vmx ]]; then
    watch_for_end "$emu_pid" &
    watch_pid=$!
fi
emu_rc=0
wait "$emu_pid" || emu_rc=$?
emu_pid=""
[[ -z $tail_pid ]] || wait "$tail_pid" || true
[[ -z $watch_pid ]] || wait "$watch_pid" || true
trap - INT TERM
sed 's/\r$//' "$raw" >"$console"
log "VM finished ($(since "$t0"))"
cp -- "$console" "$logfile.$$.tmp" && mv -f -- "$logfile.$$.tmp" "$logfile"
if [[ $emu_rc -eq 124 || $emu_rc -eq 137 ]]; then
    log "the VM timed out after ${timeout_secs}s"
elif [[ $vendor == vmx ]]; then
    # Bochs exits 1 after the guest powers off, and 143 when stopped above.
    if [[ $emu_rc -ne 0 && $emu_rc -ne 1 && $emu_rc -ne 143 ]]; then
        log "bochs exited with status $emu_rc; its last messages:"
        tail -n 15 "$emu_out" >&2
    fi
elif [[ $emu_rc -ne 0 ]]; then
    log "qemu exited with status $emu_rc"
fi

# ---------------------------------------------------------------- results
# A marker may follow unrelated text on the line (kernel messages can
# interleave); the last marker per name wins since init prints it last.
while IFS= read -r line; do
    if [[ $line =~ $MARK\ ([^ ]+)\ exit=([0-9]+)$ ]]; then
        result[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
done <"$console"

# Kernel trouble does not change the verdict (the markers do) but is worth
# a loud note: a test may pass while tripping a WARN_ON in KVM.
kernel_trouble='WARNING: CPU:|BUG:|Oops|general protection fault|Kernel panic|Call Trace:'
if grep -Eq "$kernel_trouble" "$console"; then
    log "NOTE: the guest kernel reported problems:"
    grep -E "$kernel_trouble" "$console" | head -n 10 >&2
fi
if grep -q "$SETUP_MARK FAIL" "$console"; then
    log "guest bring-up failed: $(grep -m1 "$SETUP_MARK FAIL" "$console")"
    # The guest booted, so the harness works; the emulated CPU just did not
    # give kvm_intel what nested VMX needs (an older Bochs, another model).
    # Nothing could be tested: a skip, not a failure.
    [[ $vendor == vmx ]] && skip "Bochs did not provide nested VMX: ${emu_name} guest reported: $(grep -m1 "$SETUP_MARK FAIL" "$console" | sed "s/.*$SETUP_MARK FAIL //")"
elif ! grep -q "$SETUP_MARK ok" "$console"; then
    log "the guest never reported KVM ready (kernel did not boot or init failed)"
fi
finish "$console"
