#!/usr/bin/env bash
# nested/box.sh: builds (or finds in the cache) the pieces of the real
# vfio-ccw stack in a box (nested/README.md) and prints the path of what
# was asked for on stdout. Everything else goes to stderr.
#
#   box.sh kernel [--tree DIR] [--patch FILE]...   the middle host's bzImage
#   box.sh rootfs [--host-qemu PATH]               its initramfs (without the guest)
#   box.sh guest ELF ARGSFILE OUT                  the per-run archive: the guest
#                                                   kernel and its runs, appended
#                                                   to the rootfs as OUT
#   box.sh clean                                    empty the cache
#
# Cache: $CCWGATE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/ccwgate)/nested,
# each build in a directory named by a hash of what went into it, so a changed
# input builds anew and an unchanged one is reused. Exit status: 0, or 2 with
# "box.sh: ERROR: <layer>: <what> (fix: <command>)" on stderr.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CCWGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ccwgate}/nested
jobs=${CCWGATE_JOBS:-$(nproc)}

die() { echo "box.sh: ERROR: $*" >&2; exit 2; }
say() { echo "box.sh: $*" >&2; }
# sha256 of its arguments' contents (files) and words, in order.
key() {
    local a
    for a in "$@"; do
        if [ -f "$a" ]; then sha256sum <"$a"; else printf '%s\n' "$a"; fi
    done | sha256sum | cut -c1-16
}
# One build at a time per cache entry; parallel runs wait for it.
locked() {
    local lock=$1; shift
    mkdir -p "$(dirname "$lock")"
    ( flock 9 || exit 2; "$@" ) 9>"$lock"
}

# Installs Debian packages when root, else names the command.
need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]}"
        # One apt at a time: parallel runs (cargo test's threads) would
        # otherwise fail on dpkg's lock.
        locked "$cache/apt.lock" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"' sh "${missing[@]}" >&2 \
            || die "build: could not install ${missing[*]} (fix: sudo apt-get install ${missing[*]})"
    else
        die "build: missing packages ${missing[*]} (fix: sudo apt-get install ${missing[*]})"
    fi
}

# ---------------------------------------------------------------- kernel
# Default: Debian's linux-source-6.1 with host.config merged onto tinyconfig.
# --tree DIR: a maintainer's own tree (built out of tree, incrementally,
# with the same fragment). --patch FILE: applied to Debian's source for
# one build (the tests' deliberate faults, nested/faults/).
kmake() { make -C "$1" O="$2" ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- "${@:3}"; }

# Configures build directory $2 for source $1 (once: a configured
# directory keeps its .config, so make rebuilds only what changed).
kernel_configure() {
    local src=$1 out=$2 log=$3 want
    [ -f "$out/.config" ] && return 0
    mkdir -p "$out"
    {
        kmake "$src" "$out" tinyconfig &&
        "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$here/host.config" &&
        kmake "$src" "$out" olddefconfig
    } >"$log" 2>&1 || { rm -f "$out/.config"; die "middle-host kernel: configuring $src failed, see $log"; }
    # merge_config.sh only warns about what it dropped: every =y we asked for
    # must be there.
    while read -r want; do
        case "$want" in CONFIG_*=y) grep -qx "$want" "$out/.config" || {
            rm -f "$out/.config"
            die "middle-host kernel: $want did not survive the merge into $src's config (its dependencies are unmet there; see $log)"; } ;;
        esac
    done <"$here/host.config"
}

kernel_make() {
    kmake "$1" "$2" -j"$jobs" bzImage >>"$3" 2>&1 \
        || die "middle-host kernel: the build failed, see the end of $3"
}

# Builds Debian's source $1 in $2 with patches $4... applied for the
# build only, and copies the image to $3. The source and the build
# directory are shared by every variant: a patch is reversed after its
# build, and the next build recompiles only the files it touched.
kernel_variant() {
    local src=$1 out=$2 image=$3 p applied=()
    shift 3
    # A build stopped half way (killed, power cut) left its patches applied:
    # reverse them first, newest first, so no variant inherits another's.
    if [ -f "$src/.ccwgate-applied" ]; then
        while read -r p; do
            patch -s -R -p1 -d "$src" <"$p" >>"$out.log" 2>&1 \
                || die "middle-host kernel: $src still carries $p and it does not reverse (fix: nested/box.sh clean)"
        done < <(tac "$src/.ccwgate-applied")
        rm -f "$src/.ccwgate-applied"
    fi
    kernel_configure "$src" "$out" "$out.log"
    for p in "$@"; do
        echo "$p" >>"$src/.ccwgate-applied"
        patch -s -p1 -d "$src" <"$p" >>"$out.log" 2>&1 || {
            for p in "${applied[@]}"; do patch -s -R -p1 -d "$src" <"$p"; done
            rm -f "$src/.ccwgate-applied"
            die "middle-host kernel: $p does not apply to $src (see $out.log)"; }
        applied=("$p" "${applied[@]}")
    done
    ( kernel_make "$src" "$out" "$out.log" ) && cp "$out/arch/s390/boot/bzImage" "$image.tmp"
    local rc=$?
    for p in "${applied[@]}"; do patch -s -R -p1 -d "$src" <"$p"; done
    rm -f "$src/.ccwgate-applied"
    [ "$rc" = 0 ] || exit 2
    mv "$image.tmp" "$image"
}

cmd_kernel() {
    local tree="" patches=() p
    while [ $# -gt 0 ]; do
        case "$1" in
            --tree) tree=$2; shift 2 ;;
            --patch) p=$(realpath "$2") && [ -f "$p" ] || die "middle-host kernel: no such patch $2"
                     patches+=("$p"); shift 2 ;;
            *) die "usage: box.sh kernel [--tree DIR] [--patch FILE]..." ;;
        esac
    done
    need_pkgs gcc-s390x-linux-gnu flex bison bc libssl-dev libelf-dev make patch
    if [ -n "$tree" ]; then
        [ -f "$tree/Makefile" ] && [ -d "$tree/drivers/s390/cio" ] \
            || die "middle-host kernel: $tree is not a Linux source tree (no Makefile or drivers/s390/cio)"
        [ "${#patches[@]}" = 0 ] || die "middle-host kernel: --patch is for Debian's source; apply it to your tree instead"
        tree=$(realpath "$tree")
        # The tree changes under the maintainer's hands: one build directory
        # per tree, and make decides what is stale.
        local out
        out="$cache/kernel-tree-$(key "$tree" "$here/host.config")"
        say "building the middle host's kernel from $tree in $out (log $out.log)"
        locked "$out.lock" sh -c '"$0" _tree "$1" "$2"' "$0" "$tree" "$out" || exit 2
        echo "$out/arch/s390/boot/bzImage"
        return
    fi
    need_pkgs linux-source-6.1
    local tarball=/usr/src/linux-source-6.1.tar.xz version
    [ -f "$tarball" ] || die "middle-host kernel: $tarball is missing (fix: sudo apt-get install linux-source-6.1)"
    version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
    local src="$cache/linux-$version"
    if [ ! -f "$src/.unpacked" ]; then
        say "unpacking linux-source-6.1 $version (about 20 s)"
        locked "$src.lock" sh -c '[ -f "$0/.unpacked" ] || { rm -rf "$0" && mkdir -p "$0" &&
            tar -xf "$1" -C "$0" --strip-components=1 && touch "$0/.unpacked"; }' "$src" "$tarball" \
            || die "middle-host kernel: unpacking $tarball failed"
    fi
    local out="$cache/build-$(key "$version" "$here/host.config")"
    local image="$cache/bzImage-$(key "$version" "$here/host.config" "${patches[@]}")"
    if [ ! -f "$image" ]; then
        say "building the middle host's kernel${patches:+ with ${patches[*]##*/}} in $out (the first build takes about 4 min on 2 cores; log $out.log)"
        locked "$src.lock" "$0" _variant "$src" "$out" "$image" "${patches[@]}" || exit 2
    fi
    echo "$image"
}

# ---------------------------------------------------------------- rootfs
# The middle host's userland: busybox-static and Debian's s390x
# qemu-system-s390x with the shared libraries it needs, fetched as s390x
# packages and unpacked (never installed: nothing here runs s390x code on
# the build machine), the firmware, and nested/init.
pkg_roots="qemu-system-misc:s390x busybox-static:s390x"

ensure_s390x_arch() {
    dpkg --print-foreign-architectures | grep -qx s390x && return 0
    [ "$(id -u)" = 0 ] || die "build: Debian's s390x packages are not available here (fix: sudo dpkg --add-architecture s390x && sudo apt-get update)"
    say "adding the s390x architecture to apt"
    locked "$cache/apt.lock" sh -c 'dpkg --add-architecture s390x && apt-get update -qq' >&2 \
        || die "build: could not add the s390x architecture (fix: sudo dpkg --add-architecture s390x && sudo apt-get update)"
}

# The s390x packages, with versions: what the rootfs is keyed by.
pkg_list() {
    # shellcheck disable=SC2086
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $pkg_roots 2>/dev/null \
        | grep '^[a-z0-9].*:s390x$' | sort -u
}

# Copies ELF $1 (a path inside $2) into $3 with every library it needs,
# following DT_NEEDED through the unpacked packages' library directories.
copy_with_libs() {
    local elf=$1 sysroot=$2 out=$3 queue=("$1") seen=" " f lib dir found
    while [ "${#queue[@]}" -gt 0 ]; do
        f=${queue[0]}; queue=("${queue[@]:1}")
        mkdir -p "$out/$(dirname "$f")"
        cp -L "$sysroot/$f" "$out/$f" || return 1
        for lib in $(s390x-linux-gnu-readelf -d "$sysroot/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            case "$seen" in *" $lib "*) continue ;; esac
            seen="$seen$lib "
            found=""
            for dir in lib/s390x-linux-gnu usr/lib/s390x-linux-gnu lib usr/lib; do
                [ -e "$sysroot/$dir/$lib" ] && { found=$dir/$lib; break; }
            done
            [ -n "$found" ] || { echo "no $lib (needed by $f) in the s390x packages" >&2; return 1; }
            queue+=("$found")
        done
    done
}

rootfs_build() {
    local out=$1 debs=$2 qemu_bin=$3 stage
    [ -f "$out" ] && return 0    # a parallel run built it while this one waited
    stage=$(mktemp -d "$cache/stage.XXXXXX")
    mkdir -p "$stage/sysroot" "$stage/root"
    local d
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$stage/sysroot" || return 1; done
    local r=$stage/root
    mkdir -p "$r"/{bin,dev,proc,sys,tmp,run,usr/share/qemu,lib}
    cp "$stage/sysroot/bin/busybox" "$r/bin/busybox" || return 1
    # The inner QEMU: Debian's, or --host-qemu's (a static build needs no
    # libraries; a dynamic one gets them from the same packages).
    if [ -n "$qemu_bin" ]; then
        mkdir -p "$stage/sysroot/opt"
        cp "$qemu_bin" "$stage/sysroot/opt/qemu-system-s390x"
        copy_with_libs opt/qemu-system-s390x "$stage/sysroot" "$r" || return 1
        mkdir -p "$r/usr/bin"; mv "$r/opt/qemu-system-s390x" "$r/usr/bin/"
    else
        copy_with_libs usr/bin/qemu-system-s390x "$stage/sysroot" "$r" || return 1
    fi
    # The dynamic loader, where the binaries' PT_INTERP names it.
    [ -e "$r/lib/ld64.so.1" ] || cp -L "$stage/sysroot/lib/ld64.so.1" "$r/lib/ld64.so.1" || return 1
    s390x-linux-gnu-strip --strip-unneeded "$r/usr/bin/qemu-system-s390x" 2>/dev/null
    cp /usr/share/qemu/s390-ccw.img "$r/usr/share/qemu/" || return 1
    install -m 755 "$here/init" "$r/init"
    ( cd "$r" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 ) >"$out.tmp" || return 1
    mv "$out.tmp" "$out"
    rm -rf "$stage"
}

# Downloads the packages $2 (one per line) into $1, once.
fetch_debs() {
    local debs=$1 list=$2
    [ -f "$debs/.complete" ] && return 0
    say "fetching $(echo "$list" | wc -l) s390x packages into $debs"
    mkdir -p "$debs"
    # shellcheck disable=SC2086
    ( cd "$debs" && apt-get download -q $list >/dev/null 2>"$debs.log" ) || return 1
    touch "$debs/.complete"
}

cmd_rootfs() {
    local qemu_bin=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --host-qemu) qemu_bin=$(realpath "$2") || die "--host-qemu: no such file $2"; shift 2 ;;
            *) die "usage: box.sh rootfs [--host-qemu PATH]" ;;
        esac
    done
    need_pkgs binutils-s390x-linux-gnu cpio gzip qemu-system-data
    ensure_s390x_arch
    if [ -n "$qemu_bin" ]; then
        s390x-linux-gnu-readelf -h "$qemu_bin" 2>/dev/null | grep -q 'IBM S/390' \
            || die "--host-qemu: $qemu_bin is not an s390x ELF (build qemu-system-s390x for s390x, e.g. with --cross-prefix=s390x-linux-gnu-)"
    fi
    local list versions state
    # Asking apt for the list and its versions takes 2 to 5 s; what it
    # answers follows from apt's package lists and sources alone, so the
    # answer is kept, keyed by their names, sizes and times.
    state="$cache/pkgs-$(key "$pkg_roots" "$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* \
        /var/lib/dpkg/arch /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null)")"
    if [ -s "$state" ]; then
        versions=$(cat "$state")
        # apt-cache policy names each package with a colon after it.
        list=$(cut -d' ' -f1 "$state" | sed 's/:$//')
    else
        list=$(pkg_list)
        [ -n "$list" ] || die "build: apt knows no $pkg_roots (fix: sudo apt-get update)"
        # shellcheck disable=SC2086
        versions=$(apt-cache policy $list 2>/dev/null | awk '/^[a-z]/{p=$1} /Candidate:/{print p, $2}')
        printf '%s\n' "$versions" >"$state.tmp" && mv "$state.tmp" "$state"
    fi
    local k out debs
    k=$(key "$versions" "$here/init" "$here/box.sh" ${qemu_bin:+"$qemu_bin"})
    out="$cache/rootfs-$k.cpio.gz"
    if [ ! -f "$out" ]; then
        debs="$cache/debs-$(key "$versions")"
        # Under a lock: parallel runs (the e2e tests) share the directory.
        locked "$debs.lock" fetch_debs "$debs" "$list" \
            || die "build: apt-get download of the s390x packages failed, see $debs.log (fix: sudo apt-get update)"
        say "packing the middle host's initramfs $out"
        locked "$out.lock" rootfs_build "$out" "$debs" "$qemu_bin" \
            || die "build: packing the middle host's initramfs failed"
    fi
    echo "$out"
}

# ---------------------------------------------------------------- guest
# The per-run part of the initramfs: the guest kernel and the file of its
# runs (one command line per line), as a second archive that the middle
# host's kernel unpacks over the first.
cmd_guest() {
    [ $# = 3 ] || die "usage: box.sh guest ELF ARGSFILE OUT"
    local elf=$1 args=$2 out=$3 stage
    stage=$(mktemp -d "${TMPDIR:-/tmp}/ccwgate-box.XXXXXX")
    mkdir -p "$stage/ccwgate"
    s390x-linux-gnu-strip -o "$stage/ccwgate/kernel" "$elf" 2>/dev/null || cp "$elf" "$stage/ccwgate/kernel"
    cp "$args" "$stage/ccwgate/runs"
    ( cd "$stage" && find ccwgate -print0 | cpio --null -o -H newc --quiet | gzip -1 ) >"$out" \
        || die "build: packing the guest archive failed"
    rm -rf "$stage"
}

case "${1:-}" in
    kernel) shift; cmd_kernel "$@" ;;
    # Under a lock (see cmd_kernel): the steps that share a directory.
    _variant) shift; [ -f "$3" ] || kernel_variant "$@" ;;
    _tree) kernel_configure "$2" "$3" "$3.log"; kernel_make "$2" "$3" "$3.log" ;;
    rootfs) shift; cmd_rootfs "$@" ;;
    guest) shift; cmd_guest "$@" ;;
    clean) rm -rf "$cache"; say "removed $cache" ;;
    *) die "usage: box.sh kernel|rootfs|guest|clean ..." ;;
esac
