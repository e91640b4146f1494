"""Core-problem files (``edgeopt-problem/1``): strict load, atomic save.

A core-problem file states costs in the source's own sense; a ``"max"`` file is
negated on load so every solver minimises (docs/model.md §5).

Format::

    {"format": "edgeopt-problem/1", "name": "gap1-1", "sense": "max",
     "balance_weight": 0.0,
     "items": ["j0", ...], "bins": ["a0", ...],
     "resources": [{"id": "a0", "capacity": 36, "balanced": false}, ...],
     "columns": [{"item": "j0", "option": "-", "bin": "a0", "cost": 17,
                  "use": {"a0": 23}}, ...],
     "meta": {...}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.fields import Fields
from edgeopt.jsonio import read_json, write_json_atomic

__all__ = ["PROBLEM_FORMAT", "load_problem", "problem_from_dict", "problem_to_dict", "save_problem"]

PROBLEM_FORMAT = "edgeopt-problem/1"


def load_problem(path: str | os.PathLike[str]) -> Problem:
    """Load and validate a core-problem file."""
    return problem_from_dict(read_json(path), source=str(path))


def problem_from_dict(data: Any, *, source: str = "<problem>") -> Problem:
    """Validate parsed JSON and build a :class:`Problem`; errors name ``source`` and the field."""
    f = Fields(source)
    d = f.obj(data, "")
    fmt = f.get(d, "format", "")
    if fmt != PROBLEM_FORMAT:
        raise f.fail("format", f"unknown format {fmt!r}, expected {PROBLEM_FORMAT!r}")
    f.keys(
        d,
        "",
        ["format", "name", "items", "bins", "resources", "columns"],
        ["sense", "balance_weight", "meta"],
    )
    name = f.string(d["name"], "name")
    sense = d.get("sense", "min")
    if sense not in ("min", "max"):
        raise f.fail("sense", f"expected 'min' or 'max', got {sense!r}")
    w_u = f.number(d.get("balance_weight", 0.0), "balance_weight", min=0.0)
    items = [f.string(x, f"items[{k}]") for k, x in enumerate(f.arr(d["items"], "items"))]
    bins = [f.string(x, f"bins[{k}]") for k, x in enumerate(f.arr(d["bins"], "bins"))]
    if not items:
        raise f.fail("items", "must not be empty")
    _unique(f, items, "items")
    _unique(f, bins, "bins")
    res_ids: list[str] = []
    caps: list[float] = []
    bal: list[bool] = []
    for k, r in enumerate(f.arr(d["resources"], "resources")):
        fld = f"resources[{k}]"
        r = f.obj(r, fld)
        f.keys(r, fld, ["id", "capacity"], ["balanced"])
        res_ids.append(f.string(r["id"], f"{fld}.id"))
        caps.append(f.number(r["capacity"], f"{fld}.capacity", min=0.0, min_exclusive=True))
        bal.append(f.boolean(r.get("balanced", False), f"{fld}.balanced"))
    _unique(f, res_ids, "resources", suffix=".id")
    item_ix = {x: i for i, x in enumerate(items)}
    bin_ix = {x: i for i, x in enumerate(bins)}
    res_ix = {x: i for i, x in enumerate(res_ids)}
    opt_ix: dict[str, int] = {}
    cols = f.arr(d["columns"], "columns")
    n = len(cols)
    c_item = np.empty(n, dtype=np.int64)
    c_bin = np.empty(n, dtype=np.int64)
    c_opt = np.empty(n, dtype=np.int64)
    c_cost = np.empty(n, dtype=np.float64)
    u_rows: list[int] = []
    u_cols: list[int] = []
    u_vals: list[float] = []
    seen: set[tuple[int, int, int]] = set()
    for j, c in enumerate(cols):
        fld = f"columns[{j}]"
        c = f.obj(c, fld)
        f.keys(c, fld, ["item", "bin", "cost"], ["option", "use"])
        it = f.string(c["item"], f"{fld}.item")
        if it not in item_ix:
            raise f.fail(f"{fld}.item", f"unknown item {it!r}")
        b = f.string(c["bin"], f"{fld}.bin")
        if b not in bin_ix:
            raise f.fail(f"{fld}.bin", f"unknown bin {b!r}")
        o = f.string(c.get("option", "-"), f"{fld}.option")
        oi = opt_ix.setdefault(o, len(opt_ix))
        key = (item_ix[it], oi, bin_ix[b])
        if key in seen:
            raise f.fail(fld, f"duplicate column (item {it!r}, option {o!r}, bin {b!r})")
        seen.add(key)
        c_item[j], c_opt[j], c_bin[j] = key
        c_cost[j] = f.number(c["cost"], f"{fld}.cost")
        for rid, amount in f.obj(c.get("use", {}), f"{fld}.use").items():
            if rid not in res_ix:
                raise f.fail(f"{fld}.use.{rid}", f"unknown resource {rid!r}")
            u_rows.append(res_ix[rid])
            u_cols.append(j)
            u_vals.append(f.number(amount, f"{fld}.use.{rid}", min=0.0))
    meta = f.obj(d.get("meta", {}), "meta")
    if sense == "max":
        c_cost = -c_cost
    return Problem.from_columns(
        name=name,
        item_ids=items,
        bin_ids=bins,
        option_ids=list(opt_ix),
        resource_ids=res_ids,
        col_item=c_item,
        col_bin=c_bin,
        col_option=c_opt,
        col_cost=c_cost,
        use_rows=np.asarray(u_rows, dtype=np.int64),
        use_cols=np.asarray(u_cols, dtype=np.int64),
        use_vals=np.asarray(u_vals, dtype=np.float64),
        capacity=np.asarray(caps),
        balanced=np.asarray(bal, dtype=bool),
        balance_weight=w_u,
        sense=sense,
        meta={**meta, "source": source},
    )


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The file form of ``problem`` (costs in the source's sense)."""
    sign = -1.0 if problem.sense == "max" else 1.0
    use = problem.use
    columns = []
    for j in range(problem.n_columns):
        lo, hi = use.indptr[j], use.indptr[j + 1]
        columns.append(
            {
                "item": problem.item_ids[problem.col_item[j]],
                "option": problem.option_ids[problem.col_option[j]],
                "bin": problem.bin_ids[problem.col_bin[j]],
                "cost": _num(sign * problem.col_cost[j]),
                "use": {
                    problem.resource_ids[r]: _num(v)
                    for r, v in zip(use.indices[lo:hi], use.data[lo:hi])
                },
            }
        )
    meta = {k: v for k, v in problem.meta.items() if k != "source"}
    return {
        "format": PROBLEM_FORMAT,
        "name": problem.name,
        "sense": problem.sense,
        "balance_weight": _num(problem.balance_weight),
        "items": list(problem.item_ids),
        "bins": list(problem.bin_ids),
        "resources": [
            {"id": r, "capacity": _num(c), "balanced": bool(b)}
            for r, c, b in zip(problem.resource_ids, problem.capacity, problem.balanced)
        ],
        "columns": columns,
        "meta": meta,
    }


def save_problem(problem: Problem, path: str | os.PathLike[str]) -> Path:
    """Write ``problem`` atomically as an ``edgeopt-problem/1`` file."""
    return write_json_atomic(path, problem_to_dict(problem), indent=None)


def _num(x: float) -> float | int:
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def _unique(f: Fields, ids: list[str], field: str, suffix: str = "") -> None:
    seen: set[str] = set()
    for k, x in enumerate(ids):
        if x in seen:
            raise f.fail(f"{field}[{k}]{suffix}", f"duplicate id {x!r}")
        seen.add(x)
