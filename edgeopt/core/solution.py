"""Solution files (``edgeopt-solution/1``, docs/model.md §7–§8): write, read back, re-check.

For scenario instances an assignment entry is ``{"config": id, "host": id}``;
for core problems it is ``{"option": id, "bin": id}``. Objective, bound and
terms are stated in the source's own sense.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.evaluate import Evaluation, evaluate, objectives_agree
from edgeopt.core.problem import Problem
from edgeopt.core.result import STATUSES
from edgeopt.fields import Fields
from edgeopt.jsonio import read_json, write_json_atomic

__all__ = [
    "SOLUTION_FORMAT",
    "solution_to_dict",
    "save_solution",
    "assignment_from_dict",
    "load_solution",
    "check_solution",
]

SOLUTION_FORMAT = "edgeopt-solution/1"


def _keys(problem: Problem) -> tuple[str, str]:
    return ("config", "host") if problem.meta.get("kind") == "scenario" else ("option", "bin")


def _num(x: float | None) -> float | None:
    return None if x is None else float(x)


def solution_to_dict(problem: Problem, result: Any, *, instance_sha256: str) -> dict[str, Any]:
    """The file form of a :class:`~edgeopt.core.result.SolveResult` for ``problem``."""
    sign = -1.0 if problem.sense == "max" else 1.0
    okey, bkey = _keys(problem)
    assignment: dict[str, Any] = {}
    terms: dict[str, float] = {}
    if result.assignment is not None:
        ev = result.evaluation or evaluate(problem, result.assignment)
        terms = {k: sign * v for k, v in ev.terms.items()}
        for i, j in enumerate(result.assignment):
            if 0 <= j < problem.n_columns:
                assignment[problem.item_ids[i]] = {
                    okey: problem.option_ids[problem.col_option[j]],
                    bkey: problem.bin_ids[problem.col_bin[j]],
                }
    out: dict[str, Any] = {
        "format": SOLUTION_FORMAT,
        "instance": problem.name,
        "instance_sha256": instance_sha256,
        "solver": result.solver,
        "settings": result.settings,
        "status": result.status,
        "objective": None if result.objective is None else sign * result.objective,
        "bound": None if result.bound is None else sign * result.bound,
        "terms": terms,
        "wall_s": round(float(result.wall_s), 6),
        "assignment": assignment,
    }
    if result.stats:
        out["stats"] = result.stats
    if result.message:
        out["message"] = result.message
    return out


def save_solution(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    return write_json_atomic(path, data)


def load_solution(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a solution file and check its shape (not yet against an instance)."""
    src = str(path)
    f = Fields(src)
    d = f.obj(read_json(path, unique_keys=True), "")
    fmt = f.get(d, "format", "")
    if fmt != SOLUTION_FORMAT:
        raise f.fail("format", f"unknown format {fmt!r}, expected {SOLUTION_FORMAT!r}")
    f.keys(
        d,
        "",
        ["format", "instance", "solver", "status", "objective", "assignment"],
        ["instance_sha256", "settings", "bound", "terms", "wall_s", "stats", "message"],
    )
    if d["status"] not in STATUSES:
        raise f.fail(
            "status", f"unknown status {d['status']!r} (expected one of {', '.join(STATUSES)})"
        )
    if d["objective"] is not None:
        f.number(d["objective"], "objective", limit=1e300)
    if d.get("bound") is not None:
        f.number(d["bound"], "bound", limit=1e300)
    for k, v in f.obj(d.get("terms", {}), "terms").items():
        f.number(v, f"terms.{k}")
    f.obj(d["assignment"], "assignment")
    d["_source"] = src
    return d


def assignment_from_dict(
    problem: Problem, data: dict[str, Any], *, source: str = "<solution>"
) -> np.ndarray:
    """Column index per item from a solution's ``assignment``; unknown ids raise ``InputError``."""
    f = Fields(source)
    okey, bkey = _keys(problem)
    amap = f.obj(data.get("assignment"), "assignment")
    item_ix = {x: i for i, x in enumerate(problem.item_ids)}
    opt_ix = {x: i for i, x in enumerate(problem.option_ids)}
    bin_ix = {x: i for i, x in enumerate(problem.bin_ids)}
    out = np.full(problem.n_items, -1, dtype=np.int64)
    for item, entry in amap.items():
        fld = f"assignment.{item}"
        if item not in item_ix:
            raise f.fail(fld, f"unknown item {item!r}")
        e = f.obj(entry, fld)
        f.keys(e, fld, [okey, bkey])
        o = f.string(e[okey], f"{fld}.{okey}")
        b = f.string(e[bkey], f"{fld}.{bkey}")
        if b not in bin_ix:
            raise f.fail(f"{fld}.{bkey}", f"unknown {bkey} {b!r}")
        i = item_ix[item]
        lo, hi = problem.item_ptr[i], problem.item_ptr[i + 1]
        hit = np.flatnonzero(
            (problem.col_option[lo:hi] == opt_ix.get(o, -1)) & (problem.col_bin[lo:hi] == bin_ix[b])
        )
        if hit.size == 0:
            raise f.fail(
                fld, f"{okey} {o!r} on {bkey} {b!r} is not an admissible option of {item!r}"
            )
        out[i] = lo + hit[0]
    return out


def check_solution(problem: Problem, data: dict[str, Any]) -> tuple[Evaluation, list[str]]:
    """Re-evaluate a loaded solution; returns the evaluation and a list of disagreements."""
    src = data.get("_source", "<solution>")
    a = assignment_from_dict(problem, data, source=src)
    ev = evaluate(problem, a)
    no_plan = not data.get("assignment") and data.get("status") not in ("optimal", "feasible")
    # a file without a plan (a bound-only solver, a search stopped empty-handed) claims none
    problems: list[str] = [] if no_plan else list(ev.violations)
    if data.get("objective") is not None and not objectives_agree(
        float(data["objective"]), ev.source_objective
    ):
        problems.append(
            f"objective {data['objective']} but the evaluator finds {ev.source_objective}"
        )
    if (
        data.get("status") in ("optimal", "feasible", "time_limit")
        and data.get("objective") is not None
        and not ev.feasible
    ):
        problems.append(f"status {data['status']!r} but the plan is infeasible")
    problems += _claims(problem, data, ev)
    return ev, problems


def _claims(problem: Problem, data: dict[str, Any], ev: Evaluation) -> list[str]:
    """What the file states beside its plan, checked against the plan and each other: the
    status, the objective, the bound (in the source's sense) and the terms."""
    out: list[str] = []
    status, z, bound = data.get("status"), data.get("objective"), data.get("bound")
    has_plan = bool(data.get("assignment"))
    if z is None and (has_plan or status in ("optimal", "feasible")):
        out.append(
            f"status {status!r} with a plan but no objective (the evaluator finds {ev.source_objective})"
        )
    if status in ("infeasible", "error") and ev.complete and ev.feasible:
        out.append(f"status {status!r} but the plan is complete and feasible")
    if status == "optimal":
        if bound is None:
            out.append("status 'optimal' without a bound (nothing proves it)")
        elif not objectives_agree(float(bound), ev.source_objective):
            out.append(
                f"status 'optimal' but the bound {bound} is not the objective {ev.source_objective}"
            )
    if bound is not None and has_plan and ev.feasible:
        # a bound is on the best objective: no feasible plan is better than it
        better = (
            ev.source_objective < float(bound)
            if problem.sense == "min"
            else ev.source_objective > float(bound)
        )
        if better and not objectives_agree(float(bound), ev.source_objective):
            word = "above" if problem.sense == "min" else "below"
            out.append(f"bound {bound} is {word} the plan's objective {ev.source_objective}")
    terms = data.get("terms") or {}
    if terms and z is not None and not objectives_agree(float(sum(terms.values())), float(z)):
        out.append(f"terms sum to {sum(terms.values())} but the objective is {z}")
    if terms and has_plan and ev.complete:
        sign = -1.0 if problem.sense == "max" else 1.0
        for k, v in terms.items():
            if k in ev.terms and not objectives_agree(float(v), sign * ev.terms[k]):
                out.append(f"term {k!r} is {v} but the evaluator finds {sign * ev.terms[k]}")
    return out
