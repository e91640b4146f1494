"""OR-Library GAP benchmark: edgeopt's ``milp`` against published optima and a direct HiGHS call.

For every problem: our solve (Pyomo build + HiGHS), then the same matrices
passed straight to ``highspy`` with the same options and no warm start; the
table compares objective, bound, status, time and (for runs stopped by the
time limit) the final gap. Writes ``results.md`` and ``results.csv`` atomically.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import objectives_agree
from edgeopt.core.orlib import orlib_dir, published_optima, read_gap_file
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import TINY
from edgeopt.errors import InputError
from edgeopt.jsonio import printable, write_text_atomic
from edgeopt.solvers.highs import DEFAULT_MIP_GAP, HighsOptions, solve_arrays
from edgeopt.solvers.registry import get_solver

__all__ = ["Row", "direct_highs", "run", "run_problem", "QUICK"]

#: ``--quick``: a handful of problems, one per kind, with a short limit.
QUICK: dict[str, Any] = {
    "problems": ["gap1-1", "gap5-2", "gap12-1", "gapa-1", "gapb-3", "gapd-1"],
    "time_limit_s": 3.0,
}


@dataclass
class Row:
    """One problem's line of the table (objectives and bounds in the file's own sense)."""

    instance: str
    group: str
    n_columns: int
    published: float | None
    ours: float | None
    bound: float | None
    status: str
    reached: bool
    build_s: float
    solve_s: float
    total_s: float
    build_us_per_col: float
    nodes: int | None
    gap: float | None
    warm_start: str
    warm_start_obj: float | None
    direct: float | None
    direct_bound: float | None
    direct_status: str
    direct_s: float
    direct_gap: float | None
    ratio: float | None


def direct_highs(
    problem: Problem,
    *,
    time_limit_s: float | None,
    mip_gap: float,
    threads: int | None,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Solve ``problem`` by building a ``highspy`` model straight from its arrays (no Pyomo).

    Rows are ``assign_once`` then ``capacity`` in the same order and columns in
    the same order as :func:`edgeopt.solvers.milp.build_model`, so HiGHS sees
    identical matrices. GAP problems have no balanced resource; others are refused.
    """
    if problem.balanced.any():
        raise ValueError("direct baseline covers problems without balanced resources")
    t0 = time.perf_counter()
    n, n_items = problem.n_columns, problem.n_items
    assign = sp.csc_array((np.ones(n), (problem.col_item, np.arange(n))), shape=(n_items, n))
    used = np.flatnonzero(np.diff(problem.use_csr.indptr))
    # capacity rows in units of their capacity, as milp_model writes them
    scaled = sp.diags_array(1.0 / problem.capacity[used]) @ problem.use_csr[used]
    a = sp.csc_array(sp.vstack([assign, scaled]).tocsc())
    build_s = time.perf_counter() - t0
    # The same driver, options and row scaling as ``milp`` (seed 0 there too), no warm start.
    res = solve_arrays(
        cost=problem.col_cost,
        a=a,
        row_lower=np.r_[np.ones(n_items), np.full(used.size, -np.inf)],
        row_upper=np.ones(n_items + used.size),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integer=np.ones(n, dtype=bool),
        options=HighsOptions(
            time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads, seed=seed
        ),
    )
    return {
        "status": res.termination,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "build_s": build_s + res.load_s,
        "solve_s": res.solve_s,
        "nodes": res.nodes,
    }


def _group(name: str) -> str:
    stem = name.split("-")[0]
    return "gap1-12" if re.fullmatch(r"gap\d+", stem) else stem


def run_problem(
    problem: Problem,
    *,
    published: float | None,
    time_limit_s: float,
    threads: int | None,
    warm_start: str | None,
    mip_gap: float = DEFAULT_MIP_GAP,
) -> Row:
    """Solve one problem both ways and make its table row."""
    res = get_solver("milp")(
        problem,
        seed=0,
        time_limit_s=time_limit_s,
        threads=threads,
        warm_start=warm_start or "none",
        mip_gap=mip_gap,
    )
    d = direct_highs(problem, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads)
    src = problem.source_objective
    ours = None if res.objective is None else src(res.objective)
    bound = None if res.bound is None else src(res.bound)
    reached = (
        published is not None
        and ours is not None
        and res.status == "optimal"
        and objectives_agree(ours, published)
    )
    st = res.stats
    ws_obj = st.get("warm_start_objective")
    return Row(
        instance=problem.name,
        group=_group(problem.name),
        n_columns=problem.n_columns,
        published=published,
        ours=ours,
        bound=bound,
        status=res.status,
        reached=bool(reached),
        build_s=float(st.get("build_s", 0.0)),
        solve_s=float(st.get("solve_s", 0.0)),
        total_s=res.wall_s,
        build_us_per_col=1e6 * float(st.get("build_s", 0.0)) / max(problem.n_columns, 1),
        nodes=st.get("nodes"),
        gap=res.gap if res.status != "optimal" else 0.0,
        warm_start=str(st.get("warm_start", "none")),
        warm_start_obj=None if ws_obj is None else src(ws_obj),
        direct=None if d["objective"] is None else src(d["objective"]),
        direct_bound=None if d["bound"] is None else src(d["bound"]),
        direct_status=d["status"],
        direct_s=d["solve_s"],
        direct_gap=d["gap"] if d["status"] != "Optimal" else 0.0,
        ratio=res.wall_s / d["solve_s"] if d["solve_s"] > 0 else None,
    )


def _files(files: Sequence[str | os.PathLike[str]] | None, folder_name: str | None) -> list[Path]:
    if files:
        return [Path(f) for f in files]

    def key(p: Path) -> tuple[int, int, str]:
        tail = p.stem[3:]
        return (0, int(tail), "") if tail.isdigit() else (1, 0, tail)

    folder = orlib_dir(folder_name)
    found = sorted(folder.glob("gap*.txt"), key=key) if folder.is_dir() else []
    if not found:
        raise InputError(f"--orlib-dir: no gap*.txt files in {printable(str(folder))}")
    return found


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if x.is_integer() and abs(x) >= 10:
            return f"{x:.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.3f}%"


def summarise(rows: list[Row]) -> list[str]:
    """Summary lines: optima reached per group, gaps at the limit, build cost, time ratios."""
    out = []
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    out.append(
        "| group | problems | optimal (proven) | published optimum reached | median build µs/col | median ratio (all) | median ratio (direct ≥ 1 s) | max ratio (direct ≥ 1 s) |"
    )
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for g, rs in groups.items():
        big = [r.ratio for r in rs if r.ratio is not None and r.direct_s >= 1.0]
        ratios = [r.ratio for r in rs if r.ratio is not None]
        out.append(
            f"| {g} | {len(rs)} | {sum(r.status == 'optimal' for r in rs)} | "
            f"{sum(r.reached for r in rs)} | {np.median([r.build_us_per_col for r in rs]):.1f} | "
            f"{_fmt(float(np.median(ratios)) if ratios else None)} | "
            f"{_fmt(float(np.median(big)) if big else None)} | {_fmt(max(big) if big else None)} |"
        )
    limited = [r for r in rows if r.status != "optimal" or r.direct_status != "Optimal"]
    if limited:
        out.append("")
        out.append(
            "Problems stopped by the time limit (either side): final relative gap, ours vs direct."
        )
        out.append("")
        out.append(
            "| instance | ours | bound | gap | direct | direct bound | direct gap | ours no worse |"
        )
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in limited:
            better = r.gap is not None and (r.direct_gap is None or r.gap <= r.direct_gap + TINY)
            out.append(
                f"| {r.instance} | {_fmt(r.ours)} | {_fmt(r.bound)} | {_pct(r.gap)} | "
                f"{_fmt(r.direct)} | {_fmt(r.direct_bound)} | {_pct(r.direct_gap)} | {_fmt(better)} |"
            )
    return out


def render_markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = ["# OR-Library GAP: edgeopt milp vs published optima and direct HiGHS", ""]
    for k, v in meta.items():
        lines.append(f"- **{k}**: {v}")
    lines += [
        "",
        "Objectives and bounds are in each file's own sense (gap1–gap12 maximise, "
        "gapa–gapd minimise). *ours total* is the whole `milp` call (reduction, warm "
        "start, Pyomo build + compile, HiGHS); *ratio* = ours total / direct HiGHS "
        "solve. *reached* = status optimal and objective equal to the published optimum.",
        "",
        "## Summary",
        "",
        *summarise(rows),
        "",
        "## All problems",
        "",
        "| instance | cols | published | ours | bound | status | reached | build s | solve s | total s | build µs/col | nodes | warm start | direct | direct status | direct s | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ws = (
            r.warm_start if r.warm_start_obj is None else f"{r.warm_start} {_fmt(r.warm_start_obj)}"
        )
        lines.append(
            f"| {r.instance} | {r.n_columns} | {_fmt(r.published)} | {_fmt(r.ours)} | {_fmt(r.bound)} | "
            f"{r.status} | {_fmt(r.reached)} | {r.build_s:.3f} | {r.solve_s:.2f} | {r.total_s:.2f} | "
            f"{r.build_us_per_col:.1f} | {_fmt(r.nodes)} | {ws} | {_fmt(r.direct)} | {r.direct_status} | "
            f"{r.direct_s:.2f} | {_fmt(r.ratio)} |"
        )
    return "\n".join(lines) + "\n"


def render_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    fields = list(Row.__dataclass_fields__)
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in asdict(r).items()})
    return buf.getvalue()


def _warm_up() -> None:
    """Import Pyomo and HiGHS and build one tiny model, so the first row does not pay for it."""
    p = Problem.from_columns(
        name="warm-up",
        item_ids=["i"],
        bin_ids=["b"],
        option_ids=["-"],
        resource_ids=["b"],
        col_item=[0],
        col_bin=[0],
        col_option=[0],
        col_cost=[1.0],
        use_rows=[0],
        use_cols=[0],
        use_vals=[1.0],
        capacity=[1.0],
    )
    get_solver("milp")(p, warm_start="none")
    direct_highs(p, time_limit_s=None, mip_gap=DEFAULT_MIP_GAP, threads=None)


def run(
    *,
    files: Sequence[str | os.PathLike[str]] | None = None,
    data_dir: str | None = None,
    problems: Sequence[str] | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    warm_start: str | None = "none",
    optima_path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "reports/orlib",
    quick: bool = False,
    progress: bool = True,
    command: str = "edgeopt bench orlib",
) -> int:
    """Solve the GAP problems (``files``, default every gap*.txt of the OR-Library folder; only
    ``problems`` if named) with milp and direct HiGHS, and write ``out/results.md`` and
    ``results.csv``; returns 0 (the table says how it went). ``time_limit_s`` defaults to 60 s
    (``quick``: a handful of problems, a short limit)."""
    from tqdm import tqdm

    started = time.perf_counter()
    wanted = set(problems or [])
    time_limit = time_limit_s
    if quick:
        wanted = wanted or set(QUICK["problems"])
        time_limit = time_limit if time_limit is not None else QUICK["time_limit_s"]
    time_limit = 60.0 if time_limit is None else time_limit
    warm = None if warm_start in ("none", "", None) else warm_start
    if warm is not None:  # an unknown solver is refused before any problem runs
        from edgeopt.solvers.registry import get_solver

        get_solver(warm)
    for f in files or []:
        if not str(f).strip():
            raise InputError("--files: an empty file name", field="--files")
    optima_file = optima_path or (
        files and Path(files[0]).with_name("OPTIMA.md") or orlib_dir(data_dir) / "OPTIMA.md"
    )
    optima = published_optima(optima_file) if optima_path or Path(optima_file).exists() else {}
    every = [p for f in _files(files, data_dir) for p in read_gap_file(f)]
    chosen = [p for p in every if not wanted or p.name in wanted]
    unknown = sorted(set(problems or []) - {p.name for p in every})
    if unknown or not chosen:  # a benchmark that would run nothing fails
        raise InputError(
            f"--problems: no problem {', '.join(map(printable, unknown))} in the GAP files read"
            if unknown
            else "--problems: none of the problems is in the GAP files read"
        )
    _warm_up()
    rows: list[Row] = []
    bar = tqdm(chosen, desc="orlib", unit="problem", disable=not progress, file=sys.stderr)
    for p in bar:
        bar.set_postfix_str(p.name)
        rows.append(
            run_problem(
                p,
                published=optima.get(p.name),
                time_limit_s=time_limit,
                threads=threads,
                warm_start=warm,
            )
        )
    bar.close()
    from importlib.metadata import version

    meta = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "versions": f"Pyomo {version('pyomo')}, highspy {version('highspy')}",
        "settings": f"time limit {time_limit:g} s per solve (each side), mip_rel_gap {DEFAULT_MIP_GAP:g} (both sides), "
        f"threads {threads or 'HiGHS default'}, milp warm start {warm or 'none'} (direct: none)",
        "run time": f"{time.perf_counter() - started:.0f} s",
    }
    folder = Path(out)
    write_text_atomic(folder / "results.csv", render_csv(rows))
    write_text_atomic(folder / "results.md", render_markdown(rows, meta))
    print("\n".join(summarise(rows)))
    print(f"wrote {folder / 'results.md'} and {folder / 'results.csv'}")
    return 0
