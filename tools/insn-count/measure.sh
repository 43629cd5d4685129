#!/bin/bash
# measure.sh ELF: guest instructions per iteration, per configuration, counted
# with insn_count.so (built by build.sh). Each configuration boots twice, with
# N1 and N2 iterations; (count(N2) - count(N1)) / (N2 - N1) is the per-
# iteration figure with boot, setup and verdict cancelled out. Prints one
# "scenario args: per-iteration" line per configuration (all vCPUs summed,
# then CPU 0's and CPU 1's share when two run).
set -u
elf=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -f "$here/insn_count.so" ] || "$here/build.sh"
n1=${N1:-1000}
n2=${N2:-3000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs=(
    "ssch --mode irq" "ssch --mode wait" "ssch --mode poll" "ssch --mode tsch"
    "csch-race --mode irq" "csch-race --mode wait" "csch-race --mode poll" "csch-race --mode tsch"
    "ssch --mode irq --cpus io-elsewhere" "ssch --mode wait --cpus io-elsewhere"
    "ssch --mode irq --cpus both" "ssch --mode tsch --cpus both"
    "ssch --mode irq --devices 3 --devno all" "ssch --mode tsch --devices 3 --devno all"
    "mixed --mode poll --devices 3 --devno all"
)
count() { # log vcpu|total
    awk -v k="$2" '($1=="insn" && $2=="vcpu" && $3==k":") || ($1=="insn" && k=="total" && $2=="total:") {print $NF}' "$1"
}
for c in "${configs[@]}"; do
    # ONLY=REGEX measures the configurations that match it.
    [[ -n "${ONLY:-}" && ! "$c" =~ $ONLY ]] && continue
    read -r scenario rest <<<"$c"
    for n in $n1 $n2; do
        # shellcheck disable=SC2086
        "$root/run-qemu.sh" --kernel "$elf" --scenario "$scenario" $rest --iterations "$n" \
            -- -plugin "$here/insn_count.so" -d plugin -D "$tmp/$n.log" >"$tmp/$n.out" 2>&1
        grep -q '^VERDICT: PASS' "$tmp/$n.out" || echo "warning: $c iterations=$n: $(grep '^VERDICT' "$tmp/$n.out")"
    done
    d=$((n2 - n1))
    line="$c:"
    for k in total 0 1; do
        a=$(count "$tmp/$n1.log" $k); b=$(count "$tmp/$n2.log" $k)
        [ -n "$a" ] && [ -n "$b" ] && line+=" $( [ $k = total ] && echo all || echo cpu$k)=$(awk -v a="$a" -v b="$b" -v d="$d" 'BEGIN{printf "%.1f", (b-a)/d}')"
    done
    echo "$line"
done
