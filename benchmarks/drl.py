"""DRL benchmark: ``python benchmarks/drl.py [--held-out 20] [--large 8] [--out reports/drl]``.

Thin wrapper around :func:`edgeopt.bench.drl.main` (also ``edgeopt bench drl``).
"""

import sys

from edgeopt.bench.drl import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
