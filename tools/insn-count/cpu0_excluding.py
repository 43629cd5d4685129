#!/usr/bin/env python3
"""cpu0_excluding.py ELF LOG1 LOG2 ITER_DIFF REGEX: CPU 0's guest
instructions per iteration outside the functions whose name matches REGEX
(the spin loops that wait for the other CPU, whose counts depend on timing)."""
import re, subprocess, sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from by_function import per_function  # noqa: E402

elf, a, b, d, pattern = sys.argv[1:6]
fa, fb = per_function(elf, a), per_function(elf, b)
keep = lambda f: sum(v for k, v in f.items() if not re.search(pattern, k))
print(f"{(keep(fb) - keep(fa)) / float(d):.1f}")
