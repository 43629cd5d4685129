#!/usr/bin/env bash
# run-tests.sh: the test command. Installs what the tests need (when run as
# root on Debian; otherwise it names the command to run and stops), then
# runs `cargo test` with any arguments given (e.g. -p gate).
#
# The tests need: qemu-system-s390x (qemu-system-misc), gdb-multiarch (the
# fault injector), prove (perl: TAP checks), s390x-linux-gnu-gcc
# (gcc-s390x-linux-gnu: configuring the kvm-unit-tests fixture and building
# the nested box's kernel), getopt (util-linux: its run_tests.sh), what the
# box builds with (below), and the Rust target s390x-unknown-linux-gnu.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

target=s390x-unknown-linux-gnu
missing=()
need() { command -v "$1" >/dev/null || missing+=("$2"); }
need qemu-system-s390x qemu-system-misc
need gdb-multiarch gdb-multiarch
need prove perl
need s390x-linux-gnu-gcc gcc-s390x-linux-gnu
need getopt util-linux
need tar tar
# The nested box (nested/box.sh, e2e/tests/nested.rs): the middle host's
# kernel is cross-built from Debian's linux-source-6.1, its initramfs from
# Debian's s390x packages (the s390x architecture is added to apt for them).
need flex flex
need bison bison
need bc bc
need cpio cpio
need patch patch
need s390x-linux-gnu-readelf binutils-s390x-linux-gnu
[ -f /usr/src/linux-source-6.1.tar.xz ] || missing+=(linux-source-6.1)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
dpkg -s libelf-dev >/dev/null 2>&1 || missing+=(libelf-dev)
if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx s390x; then
    if [ "$(id -u)" = 0 ]; then
        echo "run-tests.sh: adding the s390x architecture to apt (the box's packages)" >&2
        dpkg --add-architecture s390x
        [ "${#missing[@]}" -gt 0 ] || apt-get update -qq
    else
        echo "run-tests.sh: the box needs s390x packages: sudo dpkg --add-architecture s390x && sudo apt-get update" >&2
        exit 2
    fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "run-tests.sh: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "run-tests.sh: missing packages: ${missing[*]}" >&2
        echo "    install them with: sudo apt-get install ${missing[*]}" >&2
        echo "    (or run ./run-tests.sh as root, which installs them)" >&2
        exit 2
    fi
fi
command -v cargo >/dev/null || {
    echo "run-tests.sh: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
    exit 2
}
if command -v rustup >/dev/null; then
    rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
fi
exec cargo test "$@"
