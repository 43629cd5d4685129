#!/bin/sh
# Builds insn_count.so (see insn_count.c) next to this script.
set -e
cd "$(dirname "$0")"
cc -O2 -shared -fPIC -fvisibility=hidden -Wall -o insn_count.so insn_count.c
