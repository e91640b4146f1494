"""Large GAP instances (types C, D, E): deviation of each solver from the best known values.

Runs each named solver (default greedy, greedy+ls, greedy+lns) once per instance
of the shared single-problem GAP files (Yagiura, Ibaraki & Glover; minimisation)
with one time limit per solve, and writes into ``--out``: ``results.json`` (one
row per solve, rewritten after every solve), ``README.md`` (per-type and
per-instance tables) and ``deviation_vs_time.png``. ``--resume`` keeps the rows
already in ``results.json`` for the same instance, solver, time limit and seed.
"""

from __future__ import annotations

import io
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeopt.core.orlib import best_known, gap_large_dir, read_gap_file
from edgeopt.errors import InputError, SolverError
from edgeopt.jsonio import read_json, write_json_atomic, write_text_atomic
from edgeopt.solvers.registry import get_solver, solver_names, solver_options

__all__ = ["FORMAT", "DEFAULT_SOLVERS", "TYPES", "run", "deviation"]

#: ``format`` of results.json.
FORMAT = "edgeopt-bench-gap-large/1"
#: ``--solvers`` when not given.
DEFAULT_SOLVERS = "greedy,greedy+ls,best"
#: Instance types by the first letter of the name.
TYPES = ("C", "D", "E")
RESULTS = "results.json"
README = "README.md"
PLOT = "deviation_vs_time.png"

Row = dict[str, Any]


def deviation(z: float | None, ref: float | None) -> float | None:
    """(z − ref) / |ref| × 100, in percent (None when either is missing or ref is 0)."""
    if z is None or ref is None or ref == 0:
        return None
    return (z - ref) / abs(ref) * 100.0


def run(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    instances: Sequence[str] | None = None,
    solvers: Sequence[str] = tuple(DEFAULT_SOLVERS.split(",")),
    time_limit_s: float = 60.0,
    threads: int = 1,
    seed: int = 0,
    out: str | os.PathLike[str] = "reports/gap-large",
    resume: bool = False,
    progress: bool = True,
    command: str = "edgeopt bench gap-large",
) -> int:
    """Solve every named instance (default: every file of ``data_dir`` that its BEST.md lists)
    with every solver, ``threads`` given to those that take it, and write ``out``'s results.json,
    README.md and plot; ``resume`` keeps the rows already there. Returns 1 when a solve failed
    with a solver error, else 0."""

    out = Path(out)
    solvers = list(solvers)
    try:
        runs = {s: get_solver(s) for s in solvers}  # unknown names fail here, before any work
    except InputError as exc:
        raise InputError(f"--solvers: {exc.bare_message}") from None
    options = {s: ({"threads": threads} if _takes_threads(s) else {}) for s in solvers}
    data = gap_large_dir(data_dir)
    if not data.is_dir():
        raise InputError(
            f"--dir {data}: not a folder (expected the large GAP files c10400 ... and BEST.md)"
        )
    best = best_known(data / "BEST.md")
    names = _select(instances, best, data)
    problems = {n: _read_one(data / n) for n in names}  # malformed files fail before any solve

    results = out / RESULTS
    rows: list[Row] = _previous_rows(results) if resume else []
    done = {_key(r) for r in rows if r.get("status") != "error"}
    rows = [
        r for r in rows if _key(r) in done or not _selected(r, names, solvers, time_limit_s, seed)
    ]
    todo = [(n, s) for n in names for s in solvers if (n, s, float(time_limit_s), seed) not in done]
    total = len(names) * len(solvers)
    started = time.perf_counter()
    interrupted = solver_errors = 0
    from tqdm import tqdm

    with tqdm(
        total=total,
        initial=total - len(todo),
        desc="gap-large",
        unit="solve",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        try:
            for n, s in todo:
                bar.set_postfix_str(f"{n} {s}")
                row = _solve(problems[n], n, s, runs[s], options[s], best[n], time_limit_s, seed)
                solver_errors += row.pop("_solver_error", False)
                rows.append(row)
                _write_results(results, rows, command)
                bar.update()
        except KeyboardInterrupt:
            interrupted = 1
    table = [r for r in rows if _selected(r, names, solvers, time_limit_s, seed)]
    if interrupted and not table:  # nothing of this selection finished: no empty report
        raise KeyboardInterrupt
    if not todo:
        _write_results(results, rows, command)  # --resume with all done: still a valid file
    note = ""
    if interrupted:
        note = (
            f"Interrupted after {len(table)} of {total} solves; run again with --resume to "
            "finish.\n\n"
        )
    readme = _readme(
        table, names, solvers, time_limit_s, seed, command, time.perf_counter() - started, note
    )

    write_text_atomic(out / PLOT, _plot(table, solvers, time_limit_s))
    write_text_atomic(out / README, readme)
    if interrupted:
        raise KeyboardInterrupt
    print(_type_table(table, names, solvers), end="")
    print(f"report: {out / README}")
    if solver_errors:
        print(f"{solver_errors} solve(s) failed with a solver error (see {out / README})")
        return 1
    return 0


# ------------------------------------------------------------------ options and inputs
def _takes_threads(name: str) -> bool:
    """Whether solver ``name`` accepts a ``threads`` option (a composite ``X+ls`` hands its
    options to its base ``X``)."""

    if "threads" in solver_options(name):
        return True
    if name in solver_names() or "+" not in name:
        return False
    return _takes_threads(name.rsplit("+", 1)[0])


def _select(instances: Sequence[str] | None, best: dict[str, Any], data: Path) -> list[str]:
    """The instances to run: those named (each listed in BEST.md and present), else every file
    of ``data`` that BEST.md lists, in BEST.md's order."""

    if instances is None:
        names = [n for n in best if (data / n).is_file()]
        if not names:
            raise InputError(
                f"--dir {data}: none of the {len(best)} instances listed in BEST.md "
                f"({', '.join(list(best)[:3])}, ...) is in the folder"
            )
        return names
    names = list(instances)
    unknown = [n for n in names if n not in best]
    if unknown:
        raise InputError(
            f"--instances: unknown instance(s) {', '.join(map(repr, unknown))} "
            f"(BEST.md lists: {', '.join(best)})"
        )
    missing = [n for n in names if not (data / n).is_file()]
    if missing:
        raise InputError(f"--instances: no file {', '.join(missing)} in {data}")
    return names


def _read_one(path: Path) -> Any:

    probs = read_gap_file(path)
    if len(probs) != 1:
        raise InputError(
            f"expected a single-problem file, found an OR-Library file of {len(probs)} problems",
            source=str(path),
        )
    return probs[0]


def _key(row: Row) -> tuple[Any, ...]:
    return (row.get("instance"), row.get("solver"), row.get("time_limit_s"), row.get("seed"))


def _selected(
    row: Row, names: list[str], solvers: list[str], time_limit_s: float, seed: int
) -> bool:
    return (
        row.get("instance") in names
        and row.get("solver") in solvers
        and row.get("time_limit_s") == float(time_limit_s)
        and row.get("seed") == seed
    )


def _previous_rows(path: Path) -> list[Row]:
    """The rows of an earlier results.json (none when it does not exist yet)."""

    if not path.exists():
        return []
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"--resume: not a {FORMAT} file", source=str(path))
    rows = doc.get("rows")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and isinstance(r.get("instance"), str) for r in rows
    ):
        raise InputError("--resume: field 'rows' must be a list of result rows", source=str(path))
    return rows


def _write_results(path: Path, rows: list[Row], command: str) -> None:

    write_json_atomic(path, {"format": FORMAT, "command": command, "rows": rows})


# ------------------------------------------------------------------ one solve
def _solve(
    problem: Any,
    name: str,
    solver: str,
    run: Any,
    options: dict[str, Any],
    best: dict[str, float | None],
    time_limit_s: float,
    seed: int,
) -> Row:
    """Solve ``problem`` once and return its row (objectives in the file's own sense)."""

    row: Row = {
        "instance": name,
        "type": name[:1].upper(),
        "agents": problem.n_bins,
        "jobs": problem.n_items,
        "solver": solver,
        "time_limit_s": float(time_limit_s),
        "seed": seed,
        "threads": options.get("threads"),
        "best_known": best["best"],
        "best_known_bound": best["bound"],
        "optimum": best["optimum"],
    }
    t0 = time.perf_counter()
    try:
        res = run(problem, seed=seed, time_limit_s=time_limit_s, **options)
    except SolverError as exc:
        row.update(
            status="error",
            objective=None,
            bound=None,
            wall_s=time.perf_counter() - t0,
            dev_best_pct=None,
            dev_bound_pct=None,
            trace=None,
            message=f"solver error: {exc}",
            _solver_error=True,
        )
        return row
    z = problem.source_objective(res.objective) if res.has_plan else None
    bound = None
    if res.bound is not None and math.isfinite(res.bound):
        bound = problem.source_objective(res.bound)
    row.update(
        status=res.status,
        objective=z,
        bound=bound,
        wall_s=res.wall_s,
        dev_best_pct=deviation(z, best["best"]),
        dev_bound_pct=deviation(z, bound),
        trace=_trace(res.stats, problem),
        message=res.message,
    )
    return row


def _trace(stats: Any, problem: Any) -> list[list[float]] | None:
    """``stats["trace"]`` as [[seconds, objective in the file's sense], ...] sorted by time, or
    None when the solver reports none (or something that is not such a list)."""
    raw = stats.get("trace") if isinstance(stats, dict) else None
    if raw is None:
        return None
    try:
        pts = [[float(t), float(problem.source_objective(float(z)))] for t, z in raw]
    except (TypeError, ValueError):
        return None
    pts = [p for p in pts if math.isfinite(p[0]) and math.isfinite(p[1]) and p[0] >= 0]
    return sorted(pts, key=lambda p: p[0]) or None


# ------------------------------------------------------------------ report
def _fmt(x: float | None, spec: str = ".2f", unit: str = "") -> str:
    """``x`` formatted (``spec`` "n": a whole number without decimals, else 6 digits); None: —."""
    if x is None:
        return "—"
    if spec == "n":
        return str(int(x)) if float(x).is_integer() else f"{x:.6g}"
    return f"{x:{spec}}{unit}"


def _type_table(rows: list[Row], names: list[str], solvers: list[str]) -> str:
    """Markdown table: per type (and all), per solver the mean and worst deviation from the best
    known values over the instances where the solver found a plan, and how many it found."""
    types = [t for t in TYPES if any(n[:1].upper() == t for n in names)]
    types += sorted({n[:1].upper() for n in names} - set(types))
    lines = [
        "| type | instances | "
        + " | ".join(f"{s} mean | {s} max | {s} plans" for s in solvers)
        + " |",
        "|---|---|" + "---|---|---|" * len(solvers),
    ]
    for t in [*types, "all"]:
        group = [n for n in names if t == "all" or n[:1].upper() == t]
        cells = []
        for s in solvers:
            got = [r for r in rows if r["solver"] == s and r["instance"] in group]
            devs = [r["dev_best_pct"] for r in got if r.get("dev_best_pct") is not None]
            mean = statistics.fmean(devs) if devs else None
            worst = max(devs) if devs else None
            cells.append(
                f"{_fmt(mean, '.2f', ' %')} | {_fmt(worst, '.2f', ' %')} | {len(devs)}/{len(group)}"
            )
        label = "**all**" if t == "all" else t
        lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _readme(
    rows: list[Row],
    names: list[str],
    solvers: list[str],
    time_limit_s: float,
    seed: int,
    command: str,
    elapsed_s: float,
    note: str,
) -> str:
    order = {n: i for i, n in enumerate(names)}
    sorder = {s: i for i, s in enumerate(solvers)}
    rows = sorted(rows, key=lambda r: (order[r["instance"]], sorder[r["solver"]]))
    threads = ", ".join(f"{s}: {t}" for s in solvers if (t := _threads_of(rows, s)) is not None)
    lines = [
        "# Large GAP instances: deviation from the best known values",
        "",
        note + f"Command: `{command}`",
        "",
        f"Machine: {_machine()}. Threads per solve: {threads or '1 (no solver takes a threads option)'}. "
        f"Time limit {time_limit_s:g} s per solve, seed {seed}; this run took "
        f"{elapsed_s / 60:.1f} min (rows kept by --resume are not re-timed).",
        "",
        "Minimisation. Deviation from the best known value = (Z − best) / best × 100 %, with "
        "the best known values of BEST.md; 0 % means the best known value was reached. "
        "Deviation from the own bound = (Z − bound) / bound × 100 % for solvers that prove a "
        "lower bound. Means and worst cases are over the instances where the solver found a "
        "plan (`plans`).",
        "",
        "## By type",
        "",
        _type_table(rows, names, solvers).rstrip("\n"),
        "",
        "## Per instance",
        "",
        "| instance | m×n | best known | solver | status | Z | dev. from best | bound | "
        "dev. from bound | time s | trace points |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        trace = r.get("trace")
        lines.append(
            f"| {r['instance']} | {r['agents']}×{r['jobs']} | {_fmt(r['best_known'], 'n')} | "
            f"{r['solver']} | {r['status']} | {_fmt(r.get('objective'), 'n')} | "
            f"{_fmt(r.get('dev_best_pct'), '.2f', ' %')} | {_fmt(r.get('bound'), 'n')} | "
            f"{_fmt(r.get('dev_bound_pct'), '.2f', ' %')} | {r['wall_s']:.2f} | "
            f"{len(trace) if trace else '—'} |"
        )
    failed = [r for r in rows if r.get("message") and r["status"] not in ("optimal", "feasible")]
    if failed:
        lines += ["", "## Messages", ""]
        lines += [f"- {r['instance']} / {r['solver']}: {r['message']}" for r in failed]
    lines += [
        "",
        f"![deviation from the best known value against time]({PLOT})",
        "",
        f"`{PLOT}`: mean deviation from the best known value over the instances where the "
        "solver found a plan, against time (log scale); from the solver's time-to-best trace "
        "where it reports one, else one point at (wall time, final deviation) per instance.",
        "",
    ]
    return "\n".join(lines)


def _threads_of(rows: list[Row], solver: str) -> int | None:
    for r in rows:
        if r["solver"] == solver and r.get("threads") is not None:
            return int(r["threads"])
    return None


def _steps(row: Row) -> list[tuple[float, float]]:
    """(time, deviation %) steps of one solve: its trace, ending at the final deviation."""
    best, final = row["best_known"], row["dev_best_pct"]
    pts: list[tuple[float, float]] = []
    for t, z in row.get("trace") or []:
        d = deviation(z, best)
        if d is not None:
            pts.append((t, d))
    end = max(float(row["wall_s"]), pts[-1][0] if pts else 0.0)
    if not pts or pts[-1] != (end, final):
        pts.append((end, final))
    return pts


def _mean_curve(rows: list[Row]) -> tuple[list[float], list[float]]:
    """Mean over ``rows`` of their step functions, from the time every one of them has a plan."""
    steps = [_steps(r) for r in rows]
    start = max(s[0][0] for s in steps)
    times = sorted({t for s in steps for t, _ in s if t >= start} | {start})
    means = []
    for t in times:
        vals = []
        for s in steps:
            cur = s[0][1]
            for ts, d in s:
                if ts <= t:
                    cur = d
                else:
                    break
            vals.append(cur)
        means.append(statistics.fmean(vals))
    return times, means


def _plot(rows: list[Row], solvers: list[str], time_limit: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_inst = len({r["instance"] for r in rows})
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    try:
        drawn = 0
        for s in solvers:
            got = [r for r in rows if r["solver"] == s and r.get("dev_best_pct") is not None]
            if not got:
                continue
            times, means = _mean_curve(got)
            times = [max(t, 1e-3) for t in times]
            ax.plot(
                times,
                means,
                drawstyle="steps-post",
                marker="o",
                markersize=3,
                label=f"{s} ({len(got)}/{n_inst} instances)",
            )
            drawn += 1
        ax.set_xscale("log")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("deviation from best known (%)")
        ax.set_title(f"Large GAP: mean deviation from best known, {time_limit:g} s per solve")
        ax.grid(True, which="both", alpha=0.3)
        if drawn:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no solver found a plan", ha="center", transform=ax.transAxes)
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=120)
    finally:
        plt.close(fig)
    return buf.getvalue()
