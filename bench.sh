#!/usr/bin/env bash
# bench.sh: prints ccwgate's speed and size figures (no pass/fail; compare
# them with README "Performance"). Each cell is the best of REPEATS runs, as
# a shared machine only ever makes a run slower. Rates come from the guest
# TOD clock (iter_per_s in the verdict) and from wall time around that run.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
iterations=${1:-50000}
repeats=${2:-3}
target=s390x-unknown-linux-gnu
(cd "$here" && cargo build -q -p ccwgate-kernel --release --target "$target") || exit 2
kernel="${CARGO_TARGET_DIR:-$here/target}/$target/release/ccwgate"

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

echo "best of $repeats runs of $iterations iterations, delay 0"
printf '%-10s %-5s %12s %12s\n' scenario mode guest_iter/s wall_iter/s
for scenario in ssch csch-race; do
    for mode in irq wait poll tsch; do
        best=0 best_wall=0
        for _ in $(seq "$repeats"); do
            t0=$(date +%s%N)
            verdict=$("$here/run-qemu.sh" --kernel "$kernel" --scenario "$scenario" --mode "$mode" \
                      --iterations "$iterations" --delay 0 2>/dev/null | grep -a '^VERDICT: ')
            t1=$(date +%s%N)
            rate=$(echo "$verdict" | field iter_per_s)
            if [ "${rate:-0}" -gt "$best" ]; then
                best=$rate
                best_wall=$(( iterations * 1000000000 / (t1 - t0) ))
            fi
        done
        printf '%-10s %-5s %12s %12s\n' "$scenario" "$mode" "$best" "$best_wall"
    done
done
boot=$("$here/run-qemu.sh" --kernel "$kernel" --scenario smoke 2>/dev/null | grep -a '^VERDICT: ' | field elapsed_us)
echo "boot to verdict (smoke, guest TOD): ${boot} us"
size=$(stat -c %s "$kernel")
loaded=$(s390x-linux-gnu-size "$kernel" 2>/dev/null | awk 'NR == 2 { print $1 + $2 " bytes text+data, " $3 " bytes bss" }')
echo "kernel ELF: $size bytes with debug info; ${loaded:-install binutils-s390x-linux-gnu for section sizes}"
