"""OR-Library GAP benchmark: ``python benchmarks/orlib_gap.py [--quick] [--time-limit 60] [--out reports/orlib]``.

Thin wrapper around :func:`edgeopt.bench.orlib.main` (also ``edgeopt bench orlib``).
"""

import sys

from edgeopt.bench.orlib import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
