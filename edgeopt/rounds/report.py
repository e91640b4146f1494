"""The simulation report: a Markdown table of every policy against the hindsight references
(competitive ratio) and time-series plots per round, from the rows stored in the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgeopt.jsonio import write_files_atomic

__all__ = ["competitive", "build_rounds_report", "format_summary"]

Z_PNG, MIG_PNG, TIME_PNG, CUM_PNG = "z.png", "migrations.png", "plan_time.png", "cumulative.png"

Run = tuple[dict[str, Any], list[dict[str, Any]]]


def competitive(runs: list[Run]) -> dict[str, Any]:
    """The references of these runs: the horizon optimum's value and whether it is proven, and the
    best proven lower bound on it (horizon MILP bound or Σ of the round optima's bounds)."""
    refs = {run["label"]: run for run, _ in runs if run["kind"] == "reference"}
    h = refs.get("horizon-optimum")
    bounds = [r["bound"] for r in refs.values() if r.get("bound") is not None]
    return {
        "optimum": h["objective"] if h is not None and h["status"] == "optimal" else None,
        "incumbent": h["objective"] if h is not None else None,
        "bound": max(bounds) if bounds else None,
    }


def shown_label(run: dict[str, Any]) -> str:
    """A run's label with its per-round time limit, when it had one (two runs of one policy with
    different limits are told apart)."""
    limit = (run.get("settings") or {}).get("time_limit_s")
    return run["label"] if limit is None else f"{run['label']} (limit {limit:g} s/round)"


def _ratio(x: float | None, y: float | None) -> str:
    return "–" if x is None or y is None or y <= 0 else f"{x / y:.4f}"


def format_summary(runs: list[Run]) -> str:
    """The Markdown table: per policy total Z, competitive ratio, migrations, traffic, time."""
    ref = competitive(runs)
    lines = [
        "| policy | rounds | total Z | ratio to horizon optimum | ratio to best bound | "
        "migrations | model MB moved | migration GB·links | plan s (mean / max per round) | "
        "plan CPU s (mean / max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run, rows in runs:
        if run["kind"] != "policy":
            continue
        t = run["totals"] or {}
        n = max(len(rows), 1)
        z = "–" if run["objective"] is None else f"{run['objective']:.6f}"
        lines.append(
            f"| {shown_label(run)} | {len(rows)} | {z} | "
            f"{_ratio(run['objective'], ref['optimum'])} | {_ratio(run['objective'], ref['bound'])} | "
            f"{t.get('migrations', 0)} | {t.get('migration_mb', 0.0):.2f} | "
            f"{t.get('migration_gb_links', 0.0):.4f} | "
            f"{t.get('plan_s', 0.0) / n:.3f} / {t.get('max_plan_s', 0.0):.3f} | "
            f"{t.get('plan_cpu_s', 0.0) / n:.3f} / {t.get('max_plan_cpu_s', 0.0):.3f} |"
        )
    for run, _ in runs:
        if run["kind"] == "reference":
            st = run["status"]
            val = "–" if run["objective"] is None else f"{run['objective']:.6f}"
            bnd = "–" if run["bound"] is None else f"{run['bound']:.6f}"
            lines.append(
                f"| *{run['label']}* ({st}) | {run['n_rounds']} | {val} | bound {bnd} | | | | | | |"
            )
    return "\n".join(lines)


def _figure(w: float, h: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def _png(fig: Any) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _series_plot(
    runs: list[Run],
    key: str,
    title: str,
    ylabel: str,
    *,
    log: bool = False,
    cumulative: bool = False,
    with_refs: bool = False,
) -> bytes:
    import numpy as np

    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    for run, rows in runs:
        if run["kind"] != "policy" and not (with_refs and run["kind"] == "reference"):
            continue
        xs = [r["round"] for r in rows if r.get(key) is not None]
        ys = np.array([float(r[key]) for r in rows if r.get(key) is not None])
        if not xs:
            continue
        if cumulative:
            ys = np.cumsum(ys)
        style = "--" if run["kind"] == "reference" else "-"
        ax.plot(xs, ys, style, marker="o", ms=3, label=shown_label(run))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def _compile_s(runs: list[Run]) -> str:
    per_round = [
        [r["compile_s"] for r in rows if r.get("compile_s") is not None]
        for run, rows in runs
        if run["kind"] == "policy"
    ]
    per_round = [x for x in per_round if x]
    if not per_round:
        return "not recorded"
    t = per_round[0]
    return f"{sum(t):.2f} s for {len(t)} rounds (max {max(t):.2f} s per round)"


def build_rounds_report(
    runs: list[Run],
    out_dir: str | os.PathLike[str],
    *,
    title: str,
    command: str = "",
    inputs: list[str | os.PathLike[str]] | None = None,
) -> list[Path]:
    """Write ``README.md`` and its plots into ``out_dir`` (all of them or none)."""
    files: dict[str, str | bytes] = {
        Z_PNG: _series_plot(
            runs, "objective", "Z per round (references dashed)", "Z_t", with_refs=True
        ),
        CUM_PNG: _series_plot(
            runs,
            "objective",
            "cumulative Z over the horizon",
            "Σ Z_t",
            cumulative=True,
            with_refs=True,
        ),
        MIG_PNG: _series_plot(
            runs, "migrations", "kept requests moved to another host", "migrations"
        ),
        TIME_PNG: _series_plot(
            runs, "plan_s", "planning time per round", "seconds (log)", log=True
        ),
    }
    ref = competitive(runs)
    text = [
        f"# {title}",
        "",
        "Maintenance over time (docs/model.md §9): per policy the total of the round costs Z_t, "
        "the competitive ratio against the whole-horizon optimum (one MILP over every round with "
        "full knowledge) when it is proven, and against the best proven lower bound on it "
        "(an upper bound on the ratio) otherwise.",
        "",
    ]
    made = list(
        dict.fromkeys(
            c
            for c in [*((run.get("totals") or {}).get("command") for run, _ in runs), command]
            if c
        )
    )
    if made:
        text += ["Made by (the runs stored for this file):", "", "```sh", *made, "```", ""]
    text += [format_summary(runs), ""]
    if not any(run["kind"] == "reference" for run, _ in runs):
        text += [
            "No hindsight reference was computed for this file (`--round-optimum`, `--horizon`): "
            "the ratio columns are empty.",
            "",
        ]
    elif ref["optimum"] is None:
        text += [
            "The whole-horizon optimum is not proven here"
            + (f" (best plan {ref['incumbent']:.6f})" if ref["incumbent"] is not None else "")
            + (f"; best proven bound {ref['bound']:.6f}." if ref["bound"] is not None else "."),
            "",
        ]
    text += [
        f"![Z per round]({Z_PNG})",
        "",
        f"![cumulative Z]({CUM_PNG})",
        "",
        f"![migrations]({MIG_PNG})",
        "",
        f"![planning time]({TIME_PNG})",
        "",
        "Planning time is the policy's own (solver and repair, refereed), wall clock and CPU "
        "seconds of the planning process; compiling the rounds (shared by every policy) is "
        f"timed apart: {_compile_s(runs)}.",
        "",
    ]
    files["README.md"] = "\n".join(text)
    return write_files_atomic(out_dir, files, inputs=inputs or ())
