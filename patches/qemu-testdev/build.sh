#!/usr/bin/env bash
# patches/qemu-testdev/build.sh: builds (or finds in the cache) an x86
# qemu-system-s390x from Debian bookworm's QEMU 7.2 source with this
# directory's patch series (the ccwgate-testdev device, docs/async-device.md)
# applied, and prints the binary's path on stdout. Everything else goes to
# stderr.
#
#   build.sh [build]     the binary (built when the cache has none for
#                        these inputs)
#   build.sh source      the patched source tree's path (for reading)
#   build.sh clean       empty this script's part of the cache
#
# Cache: $CCWGATE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/ccwgate)/qemu-testdev.
# The source is unpacked once per Debian version; the build directory is
# shared by every variant of the series (the series is kept applied and
# replaced only when it changes, so ninja recompiles only what the change
# touched); the binary is copied out under a hash of the Debian version,
# the configure line and the patches. Exit status: 0, or 2 with
# "build.sh: ERROR: <what> (fix: <command>)" on stderr.
#
# The build runs under `nice -n 19` with $CCWGATE_JOBS jobs (default: the
# cores): on 2 shared cores the first build takes about 20 minutes.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CCWGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ccwgate}/qemu-testdev
jobs=${CCWGATE_JOBS:-$(nproc)}

die() { echo "build.sh: ERROR: $*" >&2; exit 2; }
say() { echo "build.sh: $*" >&2; }
key() {
    local a
    for a in "$@"; do
        if [ -f "$a" ]; then sha256sum <"$a"; else printf '%s\n' "$a"; fi
    done | sha256sum | cut -c1-16
}
locked() {
    local lock=$1; shift
    mkdir -p "$(dirname "$lock")"
    ( flock 9 || exit 2; "$@" ) 9>"$lock"
}
need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]}"
        locked "$cache/apt.lock" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"' sh "${missing[@]}" >&2 \
            || die "could not install ${missing[*]} (fix: sudo apt-get install ${missing[*]})"
    else
        die "missing packages ${missing[*]} (fix: sudo apt-get install ${missing[*]})"
    fi
}

# Only what the s390x system emulator needs to boot ccwgate: no docs, no
# tools, no user interfaces, no optional libraries. QEMU is relocatable: it
# looks for its firmware (s390-ccw.img) in ../share/qemu beside its own
# directory, so the binaries live in $cache/bin and $cache/share/qemu is
# a link to Debian's qemu-system-data.
configure_flags=(
    --prefix=/usr --target-list=s390x-softmmu --disable-docs --disable-tools
    --disable-guest-agent --disable-user --disable-werror --disable-gtk
    --disable-sdl --disable-vnc --disable-opengl --disable-spice
    --disable-curses --disable-gnutls --disable-nettle --disable-gcrypt
    --disable-libusb --disable-usb-redir --disable-capstone --disable-slirp
    --disable-xen --disable-vhost-user --disable-libssh --disable-curl
    --disable-rbd --disable-glusterfs --disable-libiscsi --disable-libnfs
    --disable-seccomp --disable-linux-aio --disable-linux-io-uring
    --disable-virglrenderer --disable-vde --disable-brlapi --disable-alsa
    --disable-pa --disable-jack --disable-oss --disable-zstd --disable-bpf
    --disable-tpm --disable-numa --disable-libpmem --disable-bzip2
    --disable-lzo --disable-snappy --disable-lzfse --disable-fuse
    --disable-sparse --disable-debug-info
)

# Debian's source packages: apt needs deb-src entries. When root and apt
# has none, they are added beside the machine's own deb entries (the same
# mirrors and suites), in /etc/apt/sources.list.d/ccwgate-deb-src.*.
ensure_deb_src() {
    # grep -c reads it all: grep -q would stop apt-cache with SIGPIPE,
    # which pipefail takes for a failure.
    [ "$(apt-cache showsrc qemu 2>/dev/null | grep -c '^Version: ')" -gt 0 ] && return 0
    local fix="add deb-src entries for bookworm main (e.g. a copy of /etc/apt/sources.list.d/debian.sources with 'Types: deb-src'), then sudo apt-get update"
    [ "$(id -u)" = 0 ] || die "apt knows no source package qemu (fix: $fix)"
    local d=/etc/apt/sources.list.d
    say "adding deb-src entries for apt (source packages), as $d/ccwgate-deb-src.*"
    if [ -f "$d/debian.sources" ]; then
        sed 's/^Types: .*/Types: deb-src/' "$d/debian.sources" >"$d/ccwgate-deb-src.sources"
    elif [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$d/ccwgate-deb-src.list"
    else
        die "apt knows no source package qemu and no deb entries to copy (fix: $fix)"
    fi
    locked "$cache/apt.lock" apt-get update -qq >&2 \
        || die "apt-get update failed after adding deb-src entries (fix: $fix)"
    [ "$(apt-cache showsrc qemu 2>/dev/null | grep -c '^Version: ')" -gt 0 ] \
        || die "apt still knows no source package qemu (fix: $fix)"
}

# The series, in order: patches/qemu-testdev/*.patch.
series() { find "$here" -maxdepth 1 -name '*.patch' | sort; }

# Unpacks Debian's source (with Debian's own patches, as dpkg-source
# applies them) into $2, once; the source package stays in $3 for
# restore_pristine.
unpack_source() {
    local version=$1 src=$2 keep=$3 dl
    [ -f "$src/.unpacked" ] && [ -d "$keep" ] && return 0
    if [ ! -d "$keep" ]; then
        dl=$(mktemp -d "$cache/dl.XXXXXX")
        say "fetching Debian's qemu $version source (about 24 MB) into $keep"
        ( cd "$dl" && apt-get source --download-only -q "qemu=$version" >"$dl/log" 2>&1 ) \
            || { cat "$dl/log" >&2; rm -rf "$dl"; die "apt-get source qemu=$version failed (fix: add a deb-src line for bookworm main, e.g. /etc/apt/sources.list.d/ with 'Types: deb-src', then sudo apt-get update)"; }
        rm -f "$dl/log"
        mv "$dl" "$keep"
    fi
    if [ ! -f "$src/.unpacked" ]; then
        # Unpacked beside the source package (dpkg-source leaves a copy of
        # the upstream tarball next to its target), then moved.
        rm -rf "$src" "$keep/tree"
        ( cd "$keep" && dpkg-source --no-check -x ./*.dsc tree ) >"$cache/unpack.log" 2>&1 \
            || { cat "$cache/unpack.log" >&2; die "dpkg-source could not unpack qemu $version"; }
        mv "$keep/tree" "$src"
        touch "$src/.unpacked"
    fi
}

# Puts Debian's own copy back of every file patch $2 touches in tree $1
# (and removes the files it created): for a series edited in the tree,
# which no longer reverses.
restore_pristine() {
    local src=$1 p=$2 tmp f
    tmp=$(mktemp -d "$cache/pristine.XXXXXX")
    ( cd "$src.debian" && dpkg-source --no-check -x ./*.dsc "$tmp/q" ) >/dev/null 2>&1 \
        || { rm -rf "$tmp"; return 1; }
    for f in $(touched "$p"); do
        if [ -e "$tmp/q/$f" ]; then cp "$tmp/q/$f" "$src/$f"; else rm -f "$src/$f"; fi
    done
    rm -rf "$tmp"
}

# The files patch $1 touches, one a line.
touched() { sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"; }

# Keeps exactly the series $@ applied to $src. Applying records, in
# $src/.ccwgate-applied/, a copy of each patch and Debian's copy of every
# file the series touches (orig/) or the files it creates (created); an
# applied series that differs is taken out by putting those back, so an
# edit made in the tree goes with it. An unchanged series is left alone,
# its files keep their times and ninja rebuilds nothing.
apply_series() {
    local src=$1 p f n=0 want have
    shift
    local rec=$src/.ccwgate-applied
    want=$(for p in "$@"; do sha256sum <"$p"; done)
    have=$(if [ -d "$rec" ]; then for p in $(find "$rec" -maxdepth 1 -name '*.patch' | sort); do sha256sum <"$p"; done; fi)
    [ -d "$rec" ] && [ "$want" = "$have" ] && return 0
    if [ -d "$rec/orig" ]; then
        ( cd "$rec/orig" && find . -type f -print0 | xargs -0r cp --parents -t "$src" ) \
            || die "could not restore Debian's files into $src (fix: $0 clean)"
        [ -f "$rec/created" ] && while read -r f; do rm -f "$src/$f"; done <"$rec/created"
    elif [ -d "$rec" ]; then
        # A record without Debian's files (an earlier build.sh): from the
        # source package.
        for p in $(find "$rec" -maxdepth 1 -name '*.patch' | sort -r); do
            restore_pristine "$src" "$p" \
                || die "$src still carries ${p##*/} and Debian's files could not be restored (fix: $0 clean)"
        done
    fi
    rm -rf "$rec"
    mkdir -p "$rec/orig"
    : >"$rec/created"
    for p in "$@"; do
        n=$((n + 1))
        for f in $(touched "$p"); do
            [ -e "$rec/orig/$f" ] || grep -qxF "$f" "$rec/created" && continue
            if [ -e "$src/$f" ]; then
                ( cd "$src" && cp --parents "$f" "$rec/orig/" )
            else
                echo "$f" >>"$rec/created"
            fi
        done
        patch -s -p1 -d "$src" <"$p" >&2 \
            || die "${p##*/} does not apply to Debian's qemu source in $src (fix: refresh the patch against that tree; $0 clean starts over)"
        cp "$p" "$rec/$(printf %03d $n)-${p##*/}"
    done
}

# Under the source's lock: patch, configure once, build, copy the binary.
build() {
    local src=$1 out=$2 bin=$3
    shift 3
    apply_series "$src" "$@"
    if [ ! -f "$out/build.ninja" ]; then
        mkdir -p "$out"
        say "configuring in $out (log $out/configure.log)"
        ( cd "$out" && nice -n 19 "$src/configure" "${configure_flags[@]}" >configure.log 2>&1 ) || {
            tail -n 20 "$out/configure.log" >&2
            rm -f "$out/build.ninja"
            die "configure failed, see $out/configure.log (a missing library names its Debian -dev package there; fix: sudo apt-get install it)"; }
    fi
    local t0=$SECONDS
    say "building qemu-system-s390x with ${jobs} jobs under nice (log $out/build.log)"
    nice -n 19 ninja -C "$out" -j"$jobs" qemu-system-s390x >"$out/build.log" 2>&1 || {
        grep -m 20 -E 'error|Error' "$out/build.log" >&2
        die "the build failed, see $out/build.log"; }
    say "built in $((SECONDS - t0)) s"
    cp "$out/qemu-system-s390x" "$bin.tmp" && mv "$bin.tmp" "$bin"
}

main() {
    local cmd=${1:-build}
    case "$cmd" in
        build|source) ;;
        clean) rm -rf "$cache"; say "removed $cache"; return ;;
        *) die "usage: build.sh [build|source|clean]" ;;
    esac
    mkdir -p "$cache"
    need_pkgs dpkg-dev patch ninja-build meson gcc pkg-config python3 \
        libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev flex bison \
        qemu-system-data
    ensure_deb_src
    local version
    version=$(apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1)
    [ -n "$version" ] || die "apt knows no source package qemu (fix: add a deb-src line for bookworm main in /etc/apt/sources.list.d/, then sudo apt-get update)"
    case "$version" in *:7.2+*) ;; *) die "Debian's qemu source is $version, the series is for 7.2 (fix: point deb-src at bookworm)" ;; esac
    local src="$cache/qemu-${version#*:}"
    locked "$src.lock" "$0" _unpack "$version" "$src" "$src.debian" || exit 2
    local patches=()
    mapfile -t patches < <(series)
    if [ "$cmd" = source ]; then
        locked "$src.lock" "$0" _apply "$src" "${patches[@]}" || exit 2
        echo "$src"; return
    fi
    local out="$cache/build-$(key "$version" "${configure_flags[*]}")"
    mkdir -p "$cache/bin" "$cache/share"
    [ -e "$cache/share/qemu/s390-ccw.img" ] || ln -sfn /usr/share/qemu "$cache/share/qemu"
    [ -e "$cache/share/qemu/s390-ccw.img" ] \
        || die "no /usr/share/qemu/s390-ccw.img, the firmware QEMU boots with (fix: sudo apt-get install qemu-system-data)"
    local bin="$cache/bin/qemu-system-s390x-$(key "$version" "${configure_flags[*]}" "${patches[@]}")"
    if [ ! -x "$bin" ]; then
        locked "$src.lock" "$0" _build "$src" "$out" "$bin" "${patches[@]}" || exit 2
    fi
    echo "$bin"
}

case "${1:-}" in
    _unpack) unpack_source "$2" "$3" "$4" ;;
    _build) shift; build "$@" ;;
    _apply) shift; src=$1; shift; apply_series "$src" "$@" ;;
    *) main "$@" ;;
esac
