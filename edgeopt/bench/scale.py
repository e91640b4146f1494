"""Scale benchmark: compile, construction, search and MILP time and peak memory against size.

Instances come from the generator (``--seed``, C controllers, R requests,
ceil(C/6) gNBs, the shipped catalog and devices). Each size runs in a child
process, so its peak RSS is its own; finished sizes are kept in
``results.jsonl`` and a rerun resumes after them. The report (``README.md``,
``scale.png``) gives the table, the log-log plot and each stage's fitted growth
exponent (time ∝ columns^k), and every plan's gap to the best proven bound.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeopt.core.compile import compile_scenario
from edgeopt.core.size import DEFAULT_MAX_COLUMNS, check_generated_size, estimate_columns
from edgeopt.jsonio import write_text_atomic
from edgeopt.scenario.generate import GeneratorConfig, generate
from edgeopt.scenario.schema import load_catalog, load_devices
from edgeopt.solvers.registry import get_solver

__all__ = ["run", "check_sizes", "SIZES", "QUICK", "run_size"]

#: (controllers, requests) of the full run.
SIZES = ((6, 24), (25, 150), (50, 400), (100, 1000), (200, 3000))
QUICK = ((6, 24), (12, 60))
#: Solvers per size, in order; the MILP and LP run only up to ``--milp-max-columns``, the
#: pattern bound (``dw``) only up to its own column limit (above it, it would be ``cg``).
PLANNERS = ("greedy", "greedy+ls", "greedy+lns", "cg", "dw", "milp", "lp")
DW_MAX_COLUMNS = 400_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_size(
    controllers: int, requests: int, *, seed: int, time_limit_s: float, milp_max_columns: int
) -> dict[str, Any]:
    """Generate, compile and solve one size in this process; one result row."""

    cfg = GeneratorConfig(
        seed=seed, controllers=controllers, requests=requests, gnbs=math.ceil(controllers / 6)
    )
    scenario = generate(cfg, load_catalog(), load_devices())
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    problem = compile_scenario(scenario)
    compile_s = time.perf_counter() - t0
    row: dict[str, Any] = {
        "size": f"c{controllers}-r{requests}",
        "controllers": controllers,
        "requests": requests,
        "seed": seed,
        "candidates": estimate_columns(scenario),
        "columns": problem.n_columns,
        "compile_s": round(compile_s, 3),
        "compile_rss_mb": round(_rss_mb(), 1),
        "rss_before_compile_mb": round(rss0, 1),
        "time_limit_s": time_limit_s,
        "solvers": {},
    }
    for name in PLANNERS:
        if name in ("milp", "lp") and problem.n_columns > milp_max_columns:
            row["solvers"][name] = {
                "status": "skipped",
                "message": f"{problem.n_columns:,} columns > --milp-max-columns",
            }
            continue
        if name == "dw" and problem.n_columns > DW_MAX_COLUMNS:
            row["solvers"][name] = {
                "status": "skipped",
                "message": f"{problem.n_columns:,} columns > dw_max_columns",
            }
            continue
        res = get_solver(name)(problem, seed=0, time_limit_s=time_limit_s)
        row["solvers"][name] = {
            "status": res.status,
            "objective": res.objective,
            "bound": res.bound,
            "wall_s": round(res.wall_s, 3),
            "message": res.message,
            "rss_mb": round(_rss_mb(), 1),
        }
    row["peak_rss_mb"] = round(_rss_mb(), 1)
    return row


def _best_bound(row: dict[str, Any]) -> float | None:
    return _best_bound_from(row)[0]


def _best_bound_from(row: dict[str, Any]) -> tuple[float | None, str]:
    """The largest proven bound of the row and the solver that proved it."""
    bounds = [(s["bound"], n) for n, s in row["solvers"].items() if s.get("bound") is not None]
    if not bounds:
        return None, "—"
    return max(bounds, key=lambda t: t[0])


def _gap(z: float | None, bound: float | None) -> float | None:
    if z is None or bound is None:
        return None
    return (z - bound) / max(abs(z), 1.0)


def _fit(xs: list[float], ys: list[float]) -> float | None:
    """Slope of log y against log x (the growth exponent), None with fewer than 3 points."""
    import numpy as np

    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y is not None and y > 0]
    if len(pts) < 3:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def _fmt(v: Any, spec: str = ".3g") -> str:
    return "—" if v is None else format(v, spec)


def _pct(g: float | None) -> str:
    return "—" if g is None else f"{100 * g:.2f} %"


def report(rows: list[dict[str, Any]], out: Path, command: str, run_s: float) -> str:
    """Markdown report and the log-log plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["columns"])
    lines = [
        "# Scale benchmark",
        "",
        f"Command: `{command}` ({run_s / 60:.1f} min of benchmark time for the sizes run in that call; "
        "every size runs in its own process on this 2-core machine).",
        "",
        "Instances: `edgeopt generate --seed 11 --controllers C --requests R --gnbs ceil(C/6)` on the shipped "
        "catalog and devices. Columns are after the compile-time dominance reduction; *candidates* is the "
        "size estimate checked before compiling. Gap = (Z − best proven bound) / max(|Z|, 1), the best "
        "bound being the largest proven one (MILP, LP relaxation, column generation, pattern bound `dw`), "
        "named in *bound from*.",
        "",
        "| size | candidates | columns | compile s | compile RSS MB | peak RSS MB | greedy s | greedy Z | "
        "greedy+ls s | greedy+ls Z | greedy+lns s | greedy+lns Z | cg s | cg Z | cg bound | dw Z | dw bound | "
        "milp | milp s | milp Z | best bound | bound from | greedy gap | greedy+lns gap | cg gap |",
        "|" + "---|" * 25,
    ]
    for r in rows:
        s = r["solvers"]
        b, b_from = _best_bound_from(r)

        def z(name: str, s: dict[str, Any] = s) -> Any:
            return s.get(name, {}).get("objective")

        def w(name: str, s: dict[str, Any] = s) -> Any:
            return s.get(name, {}).get("wall_s")

        gap_g, gap_l, gap_c = _gap(z("greedy"), b), _gap(z("greedy+lns"), b), _gap(z("cg"), b)
        cg_bound = s.get("cg", {}).get("bound")
        dw_bound = s.get("dw", {}).get("bound")
        lines.append(
            f"| {r['size']} | {r['candidates']:,} | {r['columns']:,} | {r['compile_s']:.2f} | "
            f"{r['compile_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} | {_fmt(w('greedy'))} | {_fmt(z('greedy'), '.5g')} | "
            f"{_fmt(w('greedy+ls'))} | {_fmt(z('greedy+ls'), '.5g')} | {_fmt(w('greedy+lns'))} | "
            f"{_fmt(z('greedy+lns'), '.5g')} | {_fmt(w('cg'))} | {_fmt(z('cg'), '.5g')} | {_fmt(cg_bound, '.5g')} | "
            f"{_fmt(z('dw'), '.5g')} | {_fmt(dw_bound, '.5g')} | "
            f"{s.get('milp', {}).get('status', '—')} | {_fmt(w('milp'))} | "
            f"{_fmt(z('milp'), '.5g')} | {_fmt(b, '.5g')} | {b_from} | "
            f"{_pct(gap_g)} | {_pct(gap_l)} | {_pct(gap_c)} |"
        )
    cols = [float(r["columns"]) for r in rows]
    stages = {
        "compile": [r["compile_s"] for r in rows],
        "greedy": [r["solvers"].get("greedy", {}).get("wall_s") for r in rows],
        "greedy+ls": [r["solvers"].get("greedy+ls", {}).get("wall_s") for r in rows],
        "compile RSS": [r["compile_rss_mb"] - r["rss_before_compile_mb"] for r in rows],
    }
    lines += [
        "",
        "Growth exponents k in cost ∝ columns^k (least squares on log-log, sizes with a value):",
        "",
    ]
    for name, ys in stages.items():
        k = _fit(cols, ys)
        lines.append(f"- {name}: {'—' if k is None else f'{k:.2f}'}")
    per_col = [
        1e6 * (r["compile_rss_mb"] - r["rss_before_compile_mb"]) / max(r["columns"], 1)
        for r in rows
    ]
    lines += [
        "",
        "Compile memory per column (RSS growth during compile / columns): "
        + ", ".join(f"{r['size']} {b:.0f} B" for r, b in zip(rows, per_col)),
        "",
    ]
    lines += ["Statuses and messages:", ""]
    for r in rows:
        for name, s in r["solvers"].items():
            lines.append(
                f"- {r['size']} {name}: {s['status']}"
                + (f" — {s['message']}" if s.get("message") else "")
            )
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for name, ys in list(stages.items())[:3]:
        pts = [(x, y) for x, y in zip(cols, ys) if y]
        if pts:
            ax[0].loglog(*zip(*pts), "o-", label=f"{name} (k={_fmt(_fit(cols, ys), '.2f')})")
    milp = [
        (x, r["solvers"]["milp"]["wall_s"])
        for x, r in zip(cols, rows)
        if r["solvers"].get("milp", {}).get("wall_s")
    ]
    if milp:
        ax[0].loglog(*zip(*milp), "s--", label="milp (to optimality or the limit)")
    ax[0].set_xlabel("columns")
    ax[0].set_ylabel("seconds")
    ax[0].legend(fontsize=8)
    ax[0].set_title("time against size")
    ax[1].loglog(cols, [r["peak_rss_mb"] for r in rows], "o-", label="peak RSS (whole run)")
    ax[1].loglog(cols, [r["compile_rss_mb"] for r in rows], "s--", label="RSS after compile")
    ax[1].set_xlabel("columns")
    ax[1].set_ylabel("MB")
    ax[1].legend(fontsize=8)
    ax[1].set_title("memory against size")
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=110)
    plt.close(fig)
    lines += ["", "![time and memory against size](scale.png)", ""]
    return "\n".join(lines)


def _die_with_parent(parent: int) -> Any:
    """A ``preexec_fn``: on Linux the kernel kills the child when ``parent`` dies (however: a
    SIGKILL runs no cleanup), and a child whose parent is already gone exits at once."""

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
            except (OSError, AttributeError):  # pragma: no cover
                pass
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def check_sizes(sizes: Sequence[tuple[int, int]], max_columns: int | None = None) -> None:
    """Each size within the size guard (checked before any child starts)."""

    catalog = load_catalog()
    for c, r in sizes:
        check_generated_size(
            c, r, catalog, max_columns or DEFAULT_MAX_COLUMNS, source=f"--sizes c{c}-r{r}"
        )


def run(
    *,
    sizes: Sequence[tuple[int, int]] = SIZES,
    seed: int = 11,
    time_limit_s: float = 60.0,
    milp_max_columns: int = 2_000_000,
    max_columns: int | None = None,
    out: str | os.PathLike[str] = "reports/scale",
    fresh: bool = False,
    command: str = "edgeopt bench scale",
) -> int:
    """Run every (controllers, requests) size in a child process (milp and lp only up to
    ``milp_max_columns``), keep its row in ``out/results.jsonl`` (kept across runs unless
    ``fresh``) and write ``out/README.md``; returns 1 when a child failed or hung, else 0."""

    check_sizes(sizes, max_columns)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "results.jsonl"
    rows: dict[str, dict[str, Any]] = {}
    if store.exists() and not fresh:
        for line in store.read_text().splitlines():
            try:  # a line cut short by a kill is simply run again
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[r["size"]] = r
    elif fresh and store.exists():
        store.unlink()
    started = time.perf_counter()
    for c, r in sizes:
        key = f"c{c}-r{r}"
        if (
            key in rows
            and rows[key].get("time_limit_s") == time_limit_s
            and rows[key].get("seed") == seed
        ):
            print(f"{key}: kept from {store}", flush=True)
            continue
        print(f"{key}: running …", flush=True)
        child = {
            "controllers": c,
            "requests": r,
            "seed": seed,
            "time_limit_s": time_limit_s,
            "milp_max_columns": milp_max_columns,
        }
        cmd = [sys.executable, "-m", "edgeopt.bench.scale", json.dumps(child)]
        # The child is in our process group: Ctrl-C ends it too; a SIGKILL of this process
        # ends it through PR_SET_PDEATHSIG.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent(os.getpid())
        )
        # Every solver honours its limit; a child far past all of them is stuck (a solver bug).
        budget = len(PLANNERS) * (time_limit_s * 1.1 + 1.0) + 600.0
        try:
            stdout, _ = proc.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(
                f"{key}: killed after {budget:.0f} s (a solver ignored its time limit); the rows before it "
                "are kept",
                file=sys.stderr,
            )
            return 1
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
        if proc.returncode != 0:
            print(
                f"{key}: failed (exit {proc.returncode}); the rows before it are kept",
                file=sys.stderr,
            )
            return 1
        row = json.loads(stdout.strip().splitlines()[-1])
        rows[key] = row
        with store.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        s = row["solvers"]
        print(
            f"{key}: {row['columns']:,} columns, compile {row['compile_s']:.1f} s, greedy "
            f"{s['greedy'].get('wall_s')} s, peak {row['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    run_s = time.perf_counter() - started
    write_text_atomic(
        out / "README.md", report(list(rows.values()), out, command.strip(), run_s) + "\n"
    )
    print(f"report: {out / 'README.md'}")
    return 0


if __name__ == "__main__":  # pragma: no cover - the child of run(): one size, one JSON line
    os.environ.setdefault("PYTHONHASHSEED", "0")
    kwargs = json.loads(sys.argv[1])
    print(json.dumps(run_size(kwargs.pop("controllers"), kwargs.pop("requests"), **kwargs)))
