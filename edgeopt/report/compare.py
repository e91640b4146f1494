"""Solver comparison from a results database: counts, gaps to the best reference, times.

Gaps are relative, (Z − Z*)/|Z*| in the internal (minimisation) sense, against
one reference Z* per instance: the optimum when some row proved it, else the
best proven lower bound (milp or lp), else the best objective found.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeopt.core.evaluate import objectives_agree
from edgeopt.core.gaps import gap_to_reference
from edgeopt.core.result import PLAN_STATUSES

__all__ = [
    "PLAN_STATUSES",
    "has_plan",
    "Reference",
    "SolverSummary",
    "Comparison",
    "references",
    "compare",
    "format_table",
    "format_markdown",
    "to_csv",
]

#: Reference kinds, best first.
REFERENCE_KINDS = ("optimum", "bound", "best found")


@dataclass(frozen=True)
class Reference:
    """The Z* of one instance (internal sense) and where it comes from."""

    kind: str  # optimum | bound | best found
    value: float
    solver: str


@dataclass
class SolverSummary:
    """One line of the comparison table."""

    label: str
    solver: str
    settings_hash: str
    runs: int = 0
    solved: int = 0  # ran without error (a plan, a bound or an infeasibility proof)
    feasible: int = 0
    optimal: int = 0
    gap_mean: float | None = None
    gap_median: float | None = None
    gap_max: float | None = None
    time_mean_s: float | None = None
    time_median_s: float | None = None
    time_vs_milp: float | None = None  # median over instances of wall_s / milp's wall_s
    gaps: dict[str, float] = field(default_factory=dict)  # instance name -> gap


@dataclass
class Comparison:
    summaries: list[SolverSummary]
    references: dict[str, Reference]  # instance sha256 -> reference
    instance_names: dict[str, str]  # instance sha256 -> name
    milp_label: str | None

    def reference_counts(self) -> dict[str, int]:
        counts = {k: 0 for k in REFERENCE_KINDS}
        for r in self.references.values():
            counts[r.kind] += 1
        return counts

    def reference_note(self) -> str:
        c = self.reference_counts()
        parts = [f"{v} × {k}" for k, v in c.items() if v]
        return f"gap reference Z* per instance: {', '.join(parts) or 'none'} ({len(self.references)} instances)"


def has_plan(row: dict[str, Any]) -> bool:
    return row["status"] in PLAN_STATUSES and row.get("objective_internal") is not None


def proven_optimal(row: dict[str, Any]) -> bool:
    """A row counts as optimal only when its bound meets its objective (``objectives_agree``):
    a row marked ``optimal`` with a bound below Z, or none, is a plan, not a proof."""
    z, b = row.get("objective_internal"), row.get("bound_internal")
    return (
        row["status"] == "optimal"
        and z is not None
        and b is not None
        and objectives_agree(float(b), float(z))
    )


def references(rows: Iterable[dict[str, Any]]) -> dict[str, Reference]:
    """Z* per instance sha256: proven optimum, else best proven bound, else best objective found."""
    by_inst: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_inst[r["instance_sha256"]].append(r)
    out: dict[str, Reference] = {}
    for sha, rs in by_inst.items():
        opt = [r for r in rs if proven_optimal(r)]
        bounds = [r for r in rs if r["status"] != "error" and r.get("bound_internal") is not None]
        plans = [r for r in rs if has_plan(r)]
        if opt:
            best = min(opt, key=lambda r: r["objective_internal"])
            out[sha] = Reference("optimum", float(best["objective_internal"]), best["solver"])
        elif bounds:
            best = max(bounds, key=lambda r: r["bound_internal"])
            out[sha] = Reference("bound", float(best["bound_internal"]), best["solver"])
        elif plans:
            best = min(plans, key=lambda r: r["objective_internal"])
            out[sha] = Reference("best found", float(best["objective_internal"]), best["solver"])
    return out


def _median(xs: Sequence[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def _mean(xs: Sequence[float]) -> float | None:
    return float(statistics.fmean(xs)) if xs else None


def compare(
    rows: Sequence[dict[str, Any]],
    *,
    solvers: Sequence[str] | None = None,
    instances: Iterable[str] | None = None,
) -> Comparison:
    """Summarise ``rows`` (from :func:`~edgeopt.batch.store.read_rows`) per solver.

    :param solvers: show only these solvers (references still use every row).
    :param instances: keep only rows of these instance sha256s.
    """
    if instances is not None:
        keep = set(instances)
        rows = [r for r in rows if r["instance_sha256"] in keep]
    refs = references(rows)
    names = {r["instance_sha256"]: r["instance_name"] for r in rows}

    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["solver"], r["settings_hash"])].append(r)
    per_solver: dict[str, int] = defaultdict(int)
    for s, _ in groups:
        per_solver[s] += 1

    def label(s: str, h: str) -> str:
        return s if per_solver[s] == 1 else f"{s} [{h[:6]}]"

    milp_key = max(
        (k for k in groups if k[0] == "milp"), key=lambda k: len(groups[k]), default=None
    )
    milp_time = {}
    if milp_key is not None:
        milp_time = {
            r["instance_sha256"]: r["wall_s"] for r in groups[milp_key] if r["status"] != "error"
        }

    out = []
    for (s, h), rs in groups.items():
        if solvers is not None and s not in solvers:
            continue
        sm = SolverSummary(label=label(s, h), solver=s, settings_hash=h, runs=len(rs))
        ok = [r for r in rs if r["status"] != "error"]
        sm.solved = len(ok)
        sm.feasible = sum(has_plan(r) for r in rs)
        sm.optimal = sum(proven_optimal(r) for r in rs)
        for r in rs:
            ref = refs.get(r["instance_sha256"])
            if has_plan(r) and ref is not None:
                sm.gaps[r["instance_name"]] = gap_to_reference(
                    float(r["objective_internal"]), ref.value
                )
        g = list(sm.gaps.values())
        sm.gap_mean, sm.gap_median = _mean(g), _median(g)
        sm.gap_max = max(g) if g else None
        times = [float(r["wall_s"]) for r in ok if r.get("wall_s") is not None]
        sm.time_mean_s, sm.time_median_s = _mean(times), _median(times)
        ratios = [
            float(r["wall_s"]) / milp_time[r["instance_sha256"]]
            for r in ok
            if r.get("wall_s") is not None and milp_time.get(r["instance_sha256"])
        ]
        sm.time_vs_milp = _median(ratios)
        out.append(sm)
    out.sort(key=lambda x: (x.solver != "milp", x.gap_mean is None, x.gap_mean or 0.0, x.label))
    return Comparison(out, refs, names, None if milp_key is None else label(*milp_key))


# ------------------------------------------------------------------ output
HEADERS = (
    "solver",
    "runs",
    "solved",
    "feasible",
    "optimal",
    "gap mean",
    "gap median",
    "gap max",
    "time mean s",
    "time median s",
    "time / milp",
)


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    if math.isinf(x):
        return "inf"
    return f"{100 * x:.2f}%"


def _sec(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _ratio(x: float | None) -> str:
    if x is None:
        return "—"
    return "<0.001×" if x < 1e-3 else f"{x:.3g}×"


def _cells(c: Comparison) -> list[list[str]]:
    return [
        [
            s.label,
            str(s.runs),
            str(s.solved),
            str(s.feasible),
            str(s.optimal),
            _pct(s.gap_mean),
            _pct(s.gap_median),
            _pct(s.gap_max),
            _sec(s.time_mean_s),
            _sec(s.time_median_s),
            _ratio(s.time_vs_milp),
        ]
        for s in c.summaries
    ]


def format_table(c: Comparison) -> str:
    """Aligned plain-text table (first column left-aligned, numbers right-aligned) and the reference note."""
    rows = [list(HEADERS), *_cells(c)]
    widths = [max(len(r[k]) for r in rows) for k in range(len(HEADERS))]

    def fmt(r: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if k == 0 else v.rjust(w) for k, (v, w) in enumerate(zip(r, widths))
        )

    lines = [fmt(rows[0]), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows[1:])]
    lines.append("")
    lines.append(c.reference_note())
    lines.append(
        "gap = (Z − Z*)/|Z*| (minimisation sense) over feasible runs; "
        f"time / milp = median over instances of wall time / {c.milp_label or 'milp'}'s"
    )
    return "\n".join(lines)


def format_markdown(c: Comparison) -> str:
    """The same table in Markdown."""
    out = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(HEADERS) - 1)) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in _cells(c)]
    return "\n".join(out)


CSV_FIELDS = (
    "label",
    "solver",
    "settings_hash",
    "runs",
    "solved",
    "feasible",
    "optimal",
    "gap_mean",
    "gap_median",
    "gap_max",
    "time_mean_s",
    "time_median_s",
    "time_vs_milp",
)


def to_csv(c: Comparison) -> str:
    """One line per solver, unformatted numbers (gaps as fractions)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for s in c.summaries:
        d = asdict(s)
        w.writerow({k: ("" if d[k] is None else d[k]) for k in CSV_FIELDS})
    return buf.getvalue()
