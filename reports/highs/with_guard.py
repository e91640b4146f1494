"""``edgeopt`` with HiGHS's dense-row guard forced: ``with_guard.py MODE ARGS...`` runs
``edgeopt ARGS...`` with MODE ``always`` (sub-MIP heuristics and restarts off on every MIP:
the options from a67c985 until cc68601), ``never`` (on for every MIP: the options before a67c985),
``structural`` (cc68601's rule: any dense row, binding or not) or ``auto`` (the tree as is).
"""

import sys

import edgeopt.solvers.highs as H

mode = sys.argv[1]
if mode == "always":
    H.has_binding_dense_row = lambda *a: True
elif mode == "never":
    H.has_binding_dense_row = lambda *a: False
elif mode == "structural":
    H.has_binding_dense_row = lambda a, lo, *rest: H.has_dense_row(a, len(lo))
elif mode != "auto":
    sys.exit(f"unknown mode {mode!r}")

from edgeopt.cli import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
