"""How the solvers share their time, in one place: every stage's share and round limit.

A *share* is the fraction of the time still left that a stage may use
(:meth:`~edgeopt.solvers.registry.Deadline.share`), unless its comment says it is a
share of the whole limit. Changing one changes plans; the values are the ones the
solvers have always used.
"""

from __future__ import annotations

__all__ = [
    "MIN_HIGHS_TIME_S",
    "UNTIMED_LNS_ROUNDS",
    "LNS_START_SHARE",
    "CG_START_SHARE",
    "CG_LP_SHARE",
    "CG_MIP_SHARE",
    "MILP_START_SHARE",
    "MILP_START_MAX_S",
    "MILP_FALLBACK_SHARE",
    "MILP_FALLBACK_MIN_S",
    "BEST_START_SHARE",
    "BEST_OSCILLATION_SHARE",
    "BEST_CG_SHARE",
    "BEST_DW_SHARE",
    "BEST_POOL_PLAN_SHARE",
    "BEST_MIP_SHARE",
]

# ------------------------------------------------------------------ everywhere
#: The least time limit handed to HiGHS (seconds): it refuses 0.
MIN_HIGHS_TIME_S = 1e-3
#: LNS rounds when no time limit is given (``lns``, ``X+lns`` and ``cg``'s polish).
UNTIMED_LNS_ROUNDS = 30

# ------------------------------------------------------------------ lns
#: ``lns`` and ``X+lns``: the start solver's share.
LNS_START_SHARE = 0.5

# ------------------------------------------------------------------ cg
#: ``cg``: the start solver's share.
CG_START_SHARE = 0.15
#: ``cg``: column generation's share of the whole time limit.
CG_LP_SHARE = 0.6
#: ``cg``: the restricted MIP over the generated columns (price-and-branch).
CG_MIP_SHARE = 0.6

# ------------------------------------------------------------------ milp
#: ``milp``: the warm-start solver's share of the time limit, and at most this many seconds.
MILP_START_SHARE, MILP_START_MAX_S = 0.05, 2.0
#: ``milp``: a greedy fallback plan's share, and at least this many seconds.
MILP_FALLBACK_SHARE, MILP_FALLBACK_MIN_S = 0.1, 0.5

# ------------------------------------------------------------------ best / dw (the portfolio)
#: Stages of the portfolio: start plan, oscillation, LP bound, restricted MILP.
BEST_START_SHARE, BEST_OSCILLATION_SHARE, BEST_CG_SHARE, BEST_MIP_SHARE = 0.1, 0.3, 0.4, 0.85
#: The pattern bound (slower than the LP, and worth it).
BEST_DW_SHARE = 0.75
#: The restricted-master heuristic over the pattern pool.
BEST_POOL_PLAN_SHARE = 0.4
