#!/usr/bin/env bash
# nested/bench.sh: the box's speed figures (printed, not asserted):
#   - cached start to the guest's first console line, and smoke end to end;
#   - csch-race, N runs of ITER iterations: one middle-host boot for all of
#     them (a batch: --runs N) against one outer boot per run; runs per
#     minute and iterations per second through vfio-ccw for each, and the
#     ratio.
# Usage: nested/bench.sh [--runs N] [--iterations ITER] [--kernel ELF]
# The box must be built (any ./run-qemu.sh --nested run builds it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=20 iterations=500 kernel=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --iterations) iterations=$2; shift 2 ;;
        --kernel) kernel=(--kernel "$2"); shift 2 ;;
        *) echo "usage: nested/bench.sh [--runs N] [--iterations ITER] [--kernel ELF]" >&2; exit 2 ;;
    esac
done
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
rq() { "$here/run-qemu.sh" --nested "${kernel[@]}" "$@"; }

# Build (or find) everything first, so that nothing below is a build.
rq --scenario smoke >/dev/null 2>&1 || { echo "bench: the box does not PASS smoke; run ./run-qemu.sh --nested --scenario smoke" >&2; exit 2; }

t0=$(now)
first=""
while IFS= read -r line; do
    case "$line" in "ccwgate "*) [ -z "$first" ] && first=$(since "$t0") ;; esac
done < <(rq --scenario smoke 2>/dev/null)
smoke=$(since "$t0")
printf 'start to the first guest line: %.2f s\nsmoke end to end: %.2f s\n' "$first" "$smoke"

count() { grep -a -c "^$1" || true; }
t0=$(now)
out=$(rq --scenario csch-race --iterations "$iterations" --runs "$runs" --keep-going --mode tsch 2>/dev/null || true)
batch=$(since "$t0")
batch_runs=$(count "RUN: " <<<"$out")
t0=$(now)
single_runs=0
for ((s = 1; s <= runs; s++)); do
    out=$(rq --scenario csch-race --iterations "$iterations" --seed "$s" --mode tsch 2>/dev/null || true)
    single_runs=$((single_runs + $(count "VERDICT: " <<<"$out")))
done
single=$(since "$t0")
awk -v n="$runs" -v it="$iterations" -v b="$batch" -v bn="$batch_runs" -v s="$single" -v sn="$single_runs" 'BEGIN {
    printf "csch-race, %d runs of %d iterations (mode=tsch):\n", n, it
    printf "  one middle-host boot: %d runs in %.1f s: %.1f runs/min, %.0f iterations/s through vfio-ccw\n", bn, b, bn * 60 / b, bn * it / b
    printf "  a boot per run:       %d runs in %.1f s: %.1f runs/min, %.0f iterations/s through vfio-ccw\n", sn, s, sn * 60 / s, sn * it / s
    printf "  batch / boot per run: %.2fx runs per minute\n", (bn / b) / (sn / s)
}'
