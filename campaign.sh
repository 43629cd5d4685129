#!/usr/bin/env bash
# campaign.sh: the false-positive campaign. Runs every channel-I/O scenario
# in every collection mode over many seeds and delay sweeps against the
# unmodified QEMU, where a correct host must PASS every time, and counts the
# verdicts. Exit status 0 only if every run passed.
set -uo pipefail

usage() {
    cat <<'USAGE'
usage: ./campaign.sh [--seeds N] [--first-seed S] [--iterations N] [--jobs J] [-- run-qemu.sh options]

  --seeds N        seeds per scenario and mode (default 30)
  --first-seed S   first seed (default 1)
  --iterations N   iterations per run (default 300)
  --jobs J         runs in parallel (default: number of CPUs)

Each seed also picks one of four delay sweeps (fine, narrow, coarse, and
delay=auto, sized to the measured start-to-status time), so narrow and
wide race windows are both covered. Prints one line per run that
did not pass, then a summary line:
  campaign: runs=N pass=N fail=N error=N iterations=N seconds=N
USAGE
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seeds=30
first=1
iterations=300
jobs=$(nproc 2>/dev/null || echo 2)
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds=$2; shift 2 ;;
        --first-seed) first=$2; shift 2 ;;
        --iterations) iterations=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) usage >&2; echo "campaign.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
for n in "$seeds" "$first" "$iterations" "$jobs"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "campaign.sh: '$n' is not a number" >&2; exit 2; }
done

(cd "$here" && cargo build -q -p ccwgate-kernel --release --target s390x-unknown-linux-gnu) >&2 \
    || { echo "campaign.sh: kernel build failed" >&2; exit 2; }
kernel="${CARGO_TARGET_DIR:-$here/target}/s390x-unknown-linux-gnu/release/ccwgate"

sweeps=(0:256:1 0:8192:64 0:65536:512 auto)
results=$(mktemp "${TMPDIR:-/tmp}/campaign.XXXXXX")
trap 'rm -f "$results"' EXIT
# Extra run-qemu.sh options travel as one word-split string: xargs puts its
# own arguments last.
campaign_extra="${extra[*]:-}"
export here kernel iterations campaign_extra
start=$(date +%s)

for ((seed = first; seed < first + seeds; seed++)); do
    for scenario in smoke ssch csch-race hsch-race csch-idle mixed; do
        for mode in irq wait poll tsch; do
            echo "$scenario $seed $mode ${sweeps[$((seed % 4))]}"
        done
    done
done | xargs -P "$jobs" -L 1 bash -c '
    out=$("$here/run-qemu.sh" --kernel "$kernel" --scenario "$0" --seed "$1" --mode "$2" --delay "$3" \
          --iterations "$iterations" --timeout 120 $campaign_extra 2>&1)
    rc=$?
    verdict=$(printf "%s\n" "$out" | grep -a -m1 "^VERDICT: ")
    done_iterations=$(printf "%s\n" "$verdict" | sed -n "s/.* iterations=\([0-9]*\).*/\1/p")
    echo "$rc ${done_iterations:-0} scenario=$0 seed=$1 mode=$2 delay=$3 :: ${verdict:-no verdict}"
' >"$results"

runs=$(wc -l <"$results")
pass=$(grep -c '^0 ' "$results")
fail=$(grep -c '^1 ' "$results")
error=$((runs - pass - fail))
total=$(awk '{ s += $2 } END { print s + 0 }' "$results")
grep -v '^0 ' "$results" | sed 's/^/campaign: not passed: /'
echo "campaign: runs=$runs pass=$pass fail=$fail error=$error iterations=$total seconds=$(( $(date +%s) - start ))"
[ "$runs" -gt 0 ] && [ "$pass" = "$runs" ]
