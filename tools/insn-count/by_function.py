#!/usr/bin/env python3
"""by_function.py ELF LOG1 LOG2 [ITER_DIFF]: guest instructions per function,
from two insn_count.so,blocks logs of the same kernel (N1 and N2 iterations),
as (LOG2 - LOG1) / ITER_DIFF: what one iteration spends where."""
import bisect, subprocess, sys
from collections import defaultdict

def symbols(elf):
    out = subprocess.run(["nm", "-C", "--defined-only", "-n", elf], capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1].lower() == "t":
            syms.append((int(parts[0], 16), parts[2]))
    return syms

def per_function(elf, log):
    syms = symbols(elf)
    addrs = [a for a, _ in syms]
    total = defaultdict(int)
    for line in open(log):
        if line.startswith("block "):
            _, addr, n, runs = line.split()
            i = bisect.bisect_right(addrs, int(addr, 16)) - 1
            name = syms[i][1] if i >= 0 else "?"
            total[name] += int(n) * int(runs)
    return total

if __name__ != "__main__":
    pass
elif len(sys.argv) < 4:
    sys.exit(__doc__)
else:
  elf, a, b = sys.argv[1:4]
  d = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
  fa, fb = per_function(elf, a), per_function(elf, b)
  rows = sorted(((fb.get(k, 0) - fa.get(k, 0)) / d, k) for k in set(fa) | set(fb))
  for v, k in reversed(rows):
      if abs(v) >= 0.5:
          print(f"{v:9.1f}  {k[:110]}")
