"""``make demo``: generate the default suite if absent, solve it with every solver, print a table."""

from __future__ import annotations

import sys
from pathlib import Path

from edgeopt.core.instance import load_instance
from edgeopt.scenario.generate import DEFAULT_CATALOG, DEFAULT_DEVICES
from edgeopt.scenario.suites import write_suite
from edgeopt.solvers.base import get_solver, solver_names

__all__ = ["run_demo", "DEMO_SOLVERS"]

#: Solvers the demo runs, in table order (those not installed are skipped).
DEMO_SOLVERS = ("milp", "drl", "greedy+ls", "greedy", "no-downsizing", "random")


def run_demo(suite: str = "default", time_limit_s: float = 60.0) -> int:
    folder = Path("instances") / suite
    made = write_suite(suite, folder, catalog_path=DEFAULT_CATALOG, devices_path=DEFAULT_DEVICES, if_absent=True)
    print(f"suite {suite}: {len(made)} new file(s) in {folder}" if made else f"suite {suite}: using {folder}")
    known = set(solver_names())
    solvers = [s for s in DEMO_SOLVERS if s in known]
    files = sorted(folder.glob("*.json"))
    rows = []
    for f in files:
        inst = load_instance(f)
        results = {}
        for name in solvers:
            res = get_solver(name)(inst.problem, seed=0, time_limit_s=time_limit_s)
            results[name] = res
            print(f"  {inst.name:<24} {name:<14} {res.status:<10} "
                  f"{'' if res.objective is None else f'{res.objective:.5f}'}", file=sys.stderr)
        best = min((r.objective for r in results.values() if r.objective is not None and r.status != "error"),
                   default=None)
        for name, res in results.items():
            gap = None
            if best is not None and res.objective is not None:
                gap = (res.objective - best) / max(abs(best), 1e-12)
            rows.append((inst.name, inst.problem.n_items, inst.problem.n_columns, name, res.status,
                         res.objective, gap, res.wall_s))
    print()
    head = f"{'instance':<24} {'items':>5} {'cols':>6} {'solver':<14} {'status':<10} {'Z':>10} {'gap vs best':>11} {'time s':>8}"
    print(head)
    print("-" * len(head))
    for inst, n, m, name, status, z, gap, t in rows:
        zs = "—" if z is None else f"{z:.5f}"
        gs = "—" if gap is None else f"{100 * gap:.2f}%"
        print(f"{inst:<24} {n:>5} {m:>6} {name:<14} {status:<10} {zs:>10} {gs:>11} {t:>8.3f}")
    return 0
