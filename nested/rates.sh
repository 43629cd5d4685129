#!/usr/bin/env bash
# nested/rates.sh: the real stack's FAIL rates per race scenario and mode,
# for docs/nested.md and the model-versus-real table in docs/model.md.
# Each cell is one middle-host boot with N inner runs (--host-runs N: seeds
# S to S+N-1, each a fresh inner QEMU and guest, so a FAIL's leftovers do not
# reach the next run); every VERDICT line is a run. Prints, per cell, runs,
# FAILs with their 95 % Wilson bounds, and the FAIL signatures (class what),
# marking the known open bugs (known-bugs.toml) with their id.
# Usage: nested/rates.sh [--runs N] [--iterations I] [--first-seed S]
#                        [--scenarios 'csch-race hsch-race mixed']
#                        [--modes 'irq wait poll tsch'] [--kernel ELF] [--out DIR]
#                        [-- more run-qemu.sh options]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=25 iterations=500 first=1 scenarios="csch-race hsch-race mixed" modes="irq wait poll tsch"
kernel=() out="" extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --iterations) iterations=$2; shift 2 ;;
        --first-seed) first=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        --modes) modes=$2; shift 2 ;;
        --kernel) kernel=(--kernel "$2"); shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "usage: see the head of nested/rates.sh" >&2; exit 2 ;;
    esac
done
out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/ccwgate-rates.XXXXXX")}
mkdir -p "$out"
echo "# nested/rates.sh at $(git -C "$here" rev-parse --short HEAD): $runs runs x $iterations iterations per cell, seeds from $first; logs in $out"
printf '| scenario | mode | runs | FAIL | 95 %% bounds | ERROR | signatures |\n|---|---|---|---|---|---|---|\n'
for s in $scenarios; do
    for m in $modes; do
        log="$out/$s-$m.log"
        "$here/run-qemu.sh" --nested "${kernel[@]}" --scenario "$s" --mode "$m" \
            --iterations "$iterations" --seed "$first" --host-runs "$runs" \
            --timeout $((60 + runs * 60)) "${extra[@]}" >"$log" 2>&1
        n=$(grep -a -c '^VERDICT: ' "$log")
        fails=$(grep -a -c '^VERDICT: FAIL ' "$log")
        errors=$(grep -a -c '^VERDICT: ERROR ' "$log")
        sigs=$(grep -a '^VERDICT: FAIL ' "$log" | tr -d '\r' | sed -n 's/.* class=\([a-z-]*\) what=\([a-z-]*\) .*/\1 \2/p' \
            | sort | uniq -c | sort -rn | while read -r c class what; do
                id=$(grep -B4 "^what = \"$what\"" "$here/known-bugs.toml" | sed -n 's/^id = "\(.*\)"/\1/p' | head -1)
                printf '%s× `%s`%s; ' "$c" "$what" "${id:+ (known: $id)}"
            done)
        [ "$n" = 0 ] && sigs="no VERDICT lines: $(grep -a -m1 'ERROR' "$log" | cut -c1-120)"
        awk -v s="$s" -v m="$m" -v n="$n" -v f="$fails" -v e="$errors" -v sig="${sigs%; }" 'BEGIN {
            z = 1.959964; lo = 0; hi = 0
            if (n > 0) { p = f / n; d = 1 + z*z/n; c = p + z*z/(2*n); r = z * sqrt(p*(1-p)/n + z*z/(4*n*n))
                         lo = (c - r) / d; hi = (c + r) / d; if (lo < 0) lo = 0 }
            printf "| %s | %s | %d | %d | %.0f–%.0f %% | %d | %s |\n", s, m, n, f, lo*100, hi*100, e, sig
        }'
    done
done
