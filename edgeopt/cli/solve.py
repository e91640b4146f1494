"""``edgeopt solve``: one instance file, one solver, an edgeopt-solution/1 file; the exit status
says how it went."""

from __future__ import annotations

import argparse
from typing import Any

from edgeopt.argcheck import (
    MAX_COLUMNS,
    MIP_GAP,
    SAMPLES,
    SEED,
    THREADS,
    TIME_LIMIT_S,
    check_options,
)
from edgeopt.cli.options import add_max_columns
from edgeopt.errors import InputError
from edgeopt.jsonio import printable, shown
from edgeopt.paths import check_output

__all__ = ["SOLVE_EXIT", "SOLVE_EXIT_CODES"]

#: ``solve``'s exit status per outcome (also in README's "Errors and exit codes").
SOLVE_EXIT = {"plan": 0, "infeasible": 3, "no_plan": 4}
SOLVE_EXIT_CODES = """exit status:
  0  a plan (optimal, feasible, or the best one when the time limit stopped the search),
     or a bound for a bound-only solver (lp)
  1  internal error (a solver failed the referee, or a bug)
  2  bad input (file, field or option named in one line)
  3  proven infeasible (an item without an admissible column, or the MILP's proof)
  4  no plan within the limits (the solver stopped or got stuck without one)"""


def _solve_exit(status: str) -> int:
    if status in ("optimal", "feasible", "bound") or status == "time_limit_plan":
        return SOLVE_EXIT["plan"]
    return SOLVE_EXIT["infeasible"] if status == "infeasible" else SOLVE_EXIT["no_plan"]


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.solvers.registry import solver_descriptions

    lines = "\n".join(f"  {k:<14} {v}" for k, v in solver_descriptions().items())
    p.description = (
        "Solve a scenario or core-problem file and write an edgeopt-solution/1 file.\n\nsolvers:\n"
        + lines
    )
    p.epilog = SOLVE_EXIT_CODES
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("file", help="scenario or core-problem file")
    p.add_argument("--solver", default="greedy", help="solver name (default greedy)")
    p.add_argument("--out", help="solution file to write (default: print only)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--mip-gap", type=float, default=None, help="milp: relative gap tolerance")
    p.add_argument("--threads", type=int, default=None, help="milp: solver threads")
    p.add_argument(
        "--warm-start", default=None, help="milp: solver whose plan starts the search (e.g. greedy)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="drl: sampled plans in its schedule (default 64; more follow under --time-limit)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra solver option (repeatable)",
    )
    add_max_columns(p)


def run(a: argparse.Namespace) -> int:
    from edgeopt.cli import fail_line
    from edgeopt.core.instance import load_instance
    from edgeopt.core.result import Interrupted, SolveResult
    from edgeopt.core.solution import save_solution, solution_to_dict
    from edgeopt.solvers.registry import check_solver_options, get_solver, parse_options

    check_options(
        a,
        time_limit=TIME_LIMIT_S,
        seed=SEED,
        mip_gap=MIP_GAP,
        threads=THREADS,
        samples=SAMPLES,
        max_columns=MAX_COLUMNS,
    )
    if a.out:
        check_output(a.out, option="--out", inputs=[a.file])
    solver = get_solver(a.solver)
    parsed = parse_options(a.set)
    for other in sorted(set(parsed) - {"*", a.solver}):
        key = next(iter(parsed[other]))
        raise InputError(
            f"--set {printable(other)}.{printable(key)}: an option of solver {printable(other)!r}, "
            f"but --solver is {a.solver!r} (write --set {printable(key)}=...)"
        )
    opts = {**parsed.get("*", {}), **parsed.get(a.solver, {})}
    for key in ("mip_gap", "threads", "warm_start", "samples"):
        if getattr(a, key) is not None:
            opts[key] = getattr(a, key)
    check_solver_options(a.solver, opts)
    inst = load_instance(a.file, max_columns=a.max_columns)
    try:
        res = solver(inst.problem, seed=a.seed, time_limit_s=a.time_limit, **opts)
        interrupted = False
    except Interrupted as exc:  # Ctrl-C: keep the best plan so far, then exit 130
        if not (isinstance(exc.partial, SolveResult) and exc.partial.has_plan):
            raise
        res, interrupted = exc.partial, True
    data = solution_to_dict(inst.problem, res, instance_sha256=inst.sha256)
    if a.out:
        save_solution(a.out, data)
    print(_summary(inst.problem.name, data, a.out))
    if interrupted:
        fail_line("interrupted; the best plan so far is " + ("written" if a.out else "above"))
        return 130
    return _solve_exit(
        "time_limit_plan" if res.status == "time_limit" and res.has_plan else res.status
    )


def _summary(name: str, d: dict[str, Any], out: str | None) -> str:
    z = d["objective"]
    parts = [f"{shown(name)}: {d['solver']} {d['status']}"]
    if z is not None:
        parts.append(f"Z={z:.6g}")
        if d["terms"]:
            parts.append("(" + ", ".join(f"{k} {v:.4g}" for k, v in d["terms"].items()) + ")")
    if d.get("bound") is not None:
        parts.append(f"bound={d['bound']:.6g}")
    parts.append(f"in {d['wall_s']:.3g} s")
    if d.get("message"):
        parts.append(f"[{d['message']}]")
    if out:
        parts.append(f"→ {out}")
    return " ".join(parts)
