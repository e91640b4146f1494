"""Every numerical tolerance of edgeopt, named for what it decides.

The values are the ones the code has always used; changing one can change plans,
statuses or reported gaps. A comparison of two objective values goes through
:func:`edgeopt.core.evaluate.objectives_agree` (``OBJ_RTOL``), never through an
inline ``1e-6 * max(1, |z|)``.
"""

from __future__ import annotations

__all__ = [
    "FEAS_TOL",
    "CAPACITY_LIMIT",
    "OBJ_RTOL",
    "IMPROVE_TOL",
    "ASPIRATION_RTOL",
    "RESIDUAL_RTOL",
    "TINY",
    "PRICING_TOL",
    "RC_FIX_RTOL",
    "RC_FIX_ATOL",
    "LP_ZERO",
    "POSITIVE_FLOOR",
    "GAP_ROUNDING",
    "ZERO_OBJECTIVE",
    "HIGHS_FEAS_TOL",
    "HIGHS_DUAL_FEAS_TOL",
    "HIGHS_MIP_GAP",
    "PATTERN_MIP_REL_GAP",
    "PATTERN_MIP_ABS_GAP",
]

# ------------------------------------------------------------------ the referee (docs/model.md §4, §7)
#: Feasibility: a normalised load (load / capacity) may exceed 1 by this much, absolute.
FEAS_TOL = 1e-9
#: The largest utilisation (load / capacity) that still fits: the one fit test of edgeopt
#: (:func:`edgeopt.core.evaluate.over_capacity`).
CAPACITY_LIMIT = 1.0 + FEAS_TOL
#: Agreement: two objective values (a solver's Z and the evaluator's; a bound and Z for
#: ``optimal``) are equal within this, relative to max(1, |a|, |b|) — ``objectives_agree``.
OBJ_RTOL = 1e-6

# ------------------------------------------------------------------ searches
#: Strict improvement: a plan replaces the incumbent only when its Z is lower by more than
#: this, relative to max(1, |Z|) (absolute in the greedy's passes and in Dantzig–Wolfe's
#: pattern search): rounding is no progress.
IMPROVE_TOL = 1e-12
#: Oscillation's aspiration (a tabu move is allowed when it beats the best Z by this,
#: relative) and LNS's acceptance of a sub-MIP plan: coarser than ``IMPROVE_RTOL``.
ASPIRATION_RTOL = 1e-9
#: Float noise: a capacity left below this fraction of the capacity is cut to 0 (HiGHS's
#: presolve chases meaningless coefficients otherwise).
RESIDUAL_RTOL = 1e-12
#: Float noise: an absolute quantity (a denominator, a step, a norm, a slack added to a
#: capacity test) below this counts as zero.
TINY = 1e-12
#: The least value given to a quantity that must stay positive (oscillation's penalty weight).
POSITIVE_FLOOR = 1e-9

# ------------------------------------------------------------------ bounds (LP, column generation)
#: Pricing: a column prices out when its reduced cost is below -PRICING_TOL (relative in
#: Dantzig–Wolfe); also "two bounds are equal" there.
PRICING_TOL = 1e-9
#: Reduced-cost fixing: a column is kept when its reduced cost (or slack) is at most the gap,
#: widened by this relative slack ...
RC_FIX_RTOL = 1e-7
#: ... and, in Dantzig–Wolfe's survivors, by this absolute one.
RC_FIX_ATOL = 1e-9
#: An LP solution value at most this is zero (e.g. the artificial columns a master still buys).
LP_ZERO = 1e-9

# ------------------------------------------------------------------ HiGHS options
#: HiGHS's primal feasibility tolerance (its default 1e-7 is looser than the evaluator's).
HIGHS_FEAS_TOL = 1e-9
#: HiGHS's dual feasibility tolerance where the duals feed a proven bound.
HIGHS_DUAL_FEAS_TOL = 1e-9
#: Relative gap under which HiGHS may stop (its default 1e-4 would stop with a visible gap).
HIGHS_MIP_GAP = 1e-6
#: The pattern MIPs of Dantzig–Wolfe solve to (near) optimality: relative and absolute gaps.
PATTERN_MIP_REL_GAP = 1e-9
PATTERN_MIP_ABS_GAP = 1e-12

# ------------------------------------------------------------------ reports
#: A gap to a reference above -GAP_ROUNDING (relative) is rounding, reported as 0.
GAP_ROUNDING = 1e-9
#: A reference Z* (or a Z) of magnitude at most this is zero when computing a relative gap.
ZERO_OBJECTIVE = 1e-12
