#!/usr/bin/env bash
# run-tests.sh: the test command. Installs what the tests need (when run as
# root on Debian; otherwise it names the command to run and stops), then
# runs `cargo test` with any arguments given (e.g. -p gate).
#
# The tests need: qemu-system-s390x (qemu-system-misc), gdb-multiarch (the
# fault injector), prove (perl: TAP checks), s390x-linux-gnu-gcc
# (gcc-s390x-linux-gnu: configuring the kvm-unit-tests fixture), getopt
# (util-linux: its run_tests.sh), and the Rust target
# s390x-unknown-linux-gnu.
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
