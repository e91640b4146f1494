"""HiGHS's objective and bound after a MIP start agree with the solution it returns.

HiGHS 1.16 maps a MIP start into its presolved model by keeping the values of the columns
presolve kept. Its dominated-column reduction (presolve rule 5, which ``presolve_rule_off``
cannot switch off) fixes columns to 0 that the start may use; the mapped start then leaves
that item unassigned, HiGHS logs "MIP start solution is feasible in the reduced space" with
the value minus the column's cost, prunes against that value and stops "Optimal" with objective
and bound both at it, while the solution it returns is the start (docs: the driver,
:func:`edgeopt.solvers.highs.solve_arrays`, re-solves without the start when that happens).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from edgeopt.solvers.highs import HighsOptions, solve_arrays

INF = np.inf

# The MILP milp builds for tests/data/milp-start-disagrees.json (reduced): three items
# (rows 0-2, = 1), capacity rows 3-10 (≤ 1), balance rows 11-12 (a·x - U ≤ 0), U is column 10
# (cost 1). The start (greedy+ls's plan, the optimum 0.00403) takes column 6 for item 2;
# HiGHS's presolve fixes column 6 to 0 (dominated by column 8: same cost 3e-5, less load on
# the rows that can bind), and reported 0.004 = 0.00403 - 3e-5 as objective and bound.
_ROWS = [0, 5, 0, 1, 3, 5, 11, 1, 3, 5, 11, 1, 7, 8, 9, 2, 3, 5, 11, 2, 4, 6, 9, 10, 12]
_ROWS += [2, 3, 5, 11, 2, 4, 6, 9, 10, 12, 2, 7, 8, 9, 11, 12]
_COLS = [0, 0, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6]
_COLS += [7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10]
_VALS = [1.0, 0.1, 1.0, 1.0, 0.016, 0.1, 0.008, 1.0, 0.008, 0.405, 0.004, 1.0, 1e-05]
_VALS += [1e-06, 0.01, 1.0, 0.016, 0.1, 0.008, 1.0, 0.002, 0.1, 0.01, 0.01, 0.001, 1.0]
_VALS += [0.008, 0.405, 0.004, 1.0, 0.001, 0.405, 0.01, 0.01, 0.0005, 1.0, 1e-05, 1e-06]
_VALS += [0.01, -1.0, -1.0]
_COST = [0.0, 0.25, 0.0, 0.0, 0.250045, 0.0, 3e-05, 0.0, 3e-05, 0.250045, 1.0]
_START = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.004]
OPTIMUM = 0.00403


def _model() -> dict:
    return dict(
        cost=np.array(_COST),
        a=sp.csc_array((_VALS, (_ROWS, _COLS)), shape=(13, 11)),
        row_lower=np.r_[np.ones(3), np.full(10, -INF)],
        row_upper=np.r_[np.ones(11), np.zeros(2)],
        col_lower=np.zeros(11),
        col_upper=np.r_[np.ones(10), INF],
        integer=np.r_[np.ones(10, dtype=bool), False],
        options=HighsOptions(seed=0),
    )


def _agree(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


def test_objective_and_bound_after_a_start_on_a_dominated_column_match_the_solution() -> None:
    m = _model()
    res = solve_arrays(**m, start=np.array(_START))
    assert res.x is not None and res.objective is not None and res.bound is not None
    z = float(m["cost"] @ res.x)
    assert _agree(res.objective, z), f"HiGHS reported {res.objective!r} for a solution worth {z!r}"
    assert _agree(z, OPTIMUM)
    assert res.proven_optimal and _agree(res.bound, z)


def test_the_same_model_without_a_start_agrees() -> None:
    m = _model()
    res = solve_arrays(**m)
    assert res.proven_optimal and res.x is not None and res.objective is not None
    assert _agree(res.objective, float(m["cost"] @ res.x)) and _agree(res.objective, OPTIMUM)


def test_best_proves_the_demo_instance_its_restricted_milp_misjudged(tmp_path: Path) -> None:
    """best's restricted MILP on default-c4-r16-s2, started from the incumbent (1.65689, the
    optimum milp proves), reported 1.65308 as objective and bound (the start's column 66,
    cost 0.0038, fixed as dominated); best ran to its time limit with that bound. Now the
    restricted MILP's bound meets the plan and best stops proven, well inside the limit."""
    from edgeopt.core.instance import load_instance
    from edgeopt.scenario.suites import write_suite
    from edgeopt.solvers.registry import get_solver

    write_suite("default", tmp_path)
    p = load_instance(tmp_path / "default-c4-r16-s2.json").problem
    res = get_solver("best")(p, seed=0, time_limit_s=10.0)
    assert res.status == "optimal", (res.bound, res.objective, res.stats.get("rc_mip"))
    assert res.objective is not None and abs(res.objective - 1.6568896322903965) <= 1e-6


def test_a_rerun_under_the_cutoff_that_ends_above_it_proves_the_start() -> None:
    """Under ``objective_bound`` HiGHS may stop "Optimal" at a plan above the cutoff with its
    bound there (seen: 1.6769 under 1.6569): no plan below the cutoff exists, so the start is
    optimal, and the bound counts up to the cutoff only."""
    from edgeopt.solvers.highs import MilpResults, _merged

    def run(objective: float | None, bound: float | None, status: str) -> MilpResults:
        x = None if objective is None else np.array([objective])
        return MilpResults(
            termination=status,
            proven_optimal=status == "Optimal",
            infeasible=status == "Infeasible",
            time_limit=status == "Time limit reached",
            objective=objective,
            bound=bound,
            gap=None,
            nodes=0,
            simplex_iterations=0,
            load_s=0.0,
            solve_s=0.0,
            x=x,
        )

    start = run(1.6568896, None, "Interrupted by user")
    cutoff = 1.6568896 * (1 + 1e-9)
    above = _merged(start, run(1.6768610, 1.6768610, "Optimal"), cutoff)
    assert above.proven_optimal and above.objective == 1.6568896 and above.bound == 1.6568896
    assert above.x is not None and above.x[0] == 1.6568896
    none = _merged(start, run(None, None, "Infeasible"), cutoff)
    assert none.proven_optimal and not none.infeasible and none.bound == 1.6568896
    late = _merged(start, run(1.7, 1.2, "Time limit reached"), cutoff)
    assert not late.proven_optimal and late.objective == 1.6568896 and late.bound == 1.2
    better = _merged(start, run(1.6, 1.6, "Optimal"), cutoff)
    assert better.proven_optimal and better.objective == 1.6 and better.bound == 1.6
