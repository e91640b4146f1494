"""``edgeopt report``: a Markdown report with the comparison table and PNG plots from a results database.

Everything is drawn in memory first, then written as one set (temporary folder +
rename): a failed report leaves no file behind, and ``report.md`` never points at
a plot that is not there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgeopt import __version__
from edgeopt.batch.store import read_rows
from edgeopt.errors import EdgeoptError, InputError
from edgeopt.jsonio import write_files_atomic
from edgeopt.report import plots
from edgeopt.report.compare import Comparison, compare, format_markdown, has_plan

__all__ = ["build_report", "choose_instance"]

GAP_PNG, TIME_PNG, UTIL_PNG, TOPO_PNG = (
    "gap_by_solver.png",
    "time_vs_size.png",
    "utilisation.png",
    "topology.png",
)


def choose_instance(rows: Sequence[dict[str, Any]], name: str | None = None) -> str | None:
    """The sha256 of the instance to draw: ``name`` (instance name or path), else the largest scenario with a plan."""
    with_plan = [r for r in rows if has_plan(r) and r.get("utilisation")]
    if name is not None:
        hits = [r for r in rows if name in (r["instance_name"], r["instance_path"])]
        if not hits:
            raise InputError(f"no instance {name!r} in the database", field="instance")
        hits_plan = [r for r in hits if r in with_plan]
        return (hits_plan or hits)[-1]["instance_sha256"]
    if not with_plan:
        return None
    best = max(
        with_plan,
        key=lambda r: (r.get("kind") == "scenario", r.get("n_columns") or 0, r["instance_name"]),
    )
    return best["instance_sha256"]


def _src(row: dict[str, Any], z: float) -> float:
    return -z if row.get("sense") == "max" else z


def _instance_table(rows: Sequence[dict[str, Any]], c: Comparison) -> str:
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.get("kind") is not None:
            first.setdefault(r["instance_sha256"], r)
    labels = [s.label for s in c.summaries if s.gaps]
    head = ["instance", "kind", "items", "columns", "Z*", "reference"] + [
        f"{lab} gap" for lab in labels
    ]
    out = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---", ":---"] + ["---:"] * 3 + [":---"] + ["---:"] * len(labels)) + "|",
    ]
    for sha, r in sorted(
        first.items(), key=lambda kv: (kv[1].get("n_columns") or 0, kv[1]["instance_name"])
    ):
        ref = c.references.get(sha)
        z = "—" if ref is None else f"{_src(r, ref.value):.6g}"
        how = "—" if ref is None else f"{ref.kind} ({ref.solver})"
        name = r["instance_name"]
        gaps = []
        for s in c.summaries:
            if s.gaps:
                g = s.gaps.get(name)
                gaps.append("—" if g is None else f"{100 * g:.2f}%")
        out.append(
            "| "
            + " | ".join([name, r["kind"], str(r["n_items"]), str(r["n_columns"]), z, how, *gaps])
            + " |"
        )
    return "\n".join(out)


def build_report(
    db: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    instance: str | None = None,
    instances: Iterable[str] | None = None,
    title: str | None = None,
) -> list[Path]:
    """Write ``report.md`` and its PNG plots into ``out_dir``; returns the files written.

    :param instance: instance (name or path) whose utilisation and topology are drawn
        (default: the largest scenario instance with a feasible plan).
    :param instances: keep only rows of these instance sha256s.
    """
    from edgeopt.core.instance import load_instance

    rows = read_rows(db)
    if instances is not None:
        keep = set(instances)
        rows = [r for r in rows if r["instance_sha256"] in keep]
    if not rows:
        raise InputError("no results to report", source=str(db))
    out = Path(out_dir)
    sha = choose_instance(rows, instance)  # an unknown --instance fails here, before any drawing
    c = compare(rows)
    labels = {(s.solver, s.settings_hash): s.label for s in c.summaries}
    files: dict[str, bytes | str] = {}
    notes: list[str] = []

    files[GAP_PNG] = plots.gap_plot(c)
    files[TIME_PNG] = plots.time_plot(rows, labels)

    inst_name = None
    util_done = topo_done = False
    if sha is not None:
        inst_rows = [r for r in rows if r["instance_sha256"] == sha]
        inst_name = inst_rows[0]["instance_name"]
        order = {s.label: k for k, s in enumerate(c.summaries)}
        plans = sorted(
            (
                (labels[(r["solver"], r["settings_hash"])], r["utilisation"])
                for r in inst_rows
                if has_plan(r) and r.get("utilisation")
            ),
            key=lambda p: order.get(p[0], 99),
        )
        if plans:
            files[UTIL_PNG] = plots.utilisation_plot(inst_name, plans)
            util_done = True
            best = min(
                (r for r in inst_rows if has_plan(r) and r.get("utilisation")),
                key=lambda r: r["objective_internal"],
            )
            if best.get("kind") == "scenario":
                try:
                    inst = load_instance(best["instance_path"])
                except EdgeoptError as exc:
                    notes.append(f"topology not drawn: {exc}")
                else:
                    if inst.sha256 != sha or inst.scenario is None:
                        notes.append(
                            f"topology not drawn: {best['instance_path']} changed since the batch"
                        )
                    else:
                        label = labels[(best["solver"], best["settings_hash"])]
                        png = plots.topology_plot(
                            inst.scenario.graph, inst_name, label, best["utilisation"]
                        )
                        files[TOPO_PNG] = png
                        topo_done = True
            else:
                notes.append(f"topology not drawn: {inst_name} is a core problem (no network)")

    errors = [r for r in rows if r["status"] == "error"]
    n_inst = len({r["instance_sha256"] for r in rows})
    md = [
        f"# {title or 'edgeopt report'}",
        "",
        f"Results database `{db}`: {len(rows)} runs ({len(errors)} errors) on {n_inst} instance files, "
        f"{len(c.summaries)} solver settings. Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} "
        f"by edgeopt {__version__}.",
        "",
        "## Comparison",
        "",
        format_markdown(c),
        "",
        f"Gap = (Z − Z*)/|Z*| in the minimisation sense, over each solver's feasible runs; {c.reference_note()}. "
        "*runs*: rows stored; *solved*: finished without error (a plan, a bound or an infeasibility proof); "
        "*feasible*: with a plan the evaluator accepts; *optimal*: optimality proven. "
        f"*time / milp*: median over instances of the run's wall time divided by {c.milp_label or 'milp'}'s.",
        "",
        "## Per instance",
        "",
        _instance_table(rows, c),
        "",
        "## Figures",
        "",
        f"![Gap to the reference per solver]({GAP_PNG})",
        "",
        f"![Solve time against instance size]({TIME_PNG})",
        "",
    ]
    if util_done:
        md += [
            f"Utilisation and topology are drawn for instance **{inst_name}**.",
            "",
            f"![Per-controller utilisation on {inst_name}]({UTIL_PNG})",
            "",
        ]
    if topo_done:
        md += [f"![Topology of {inst_name}]({TOPO_PNG})", ""]
    md += [f"*{n}*" for n in notes]
    if errors:
        md += ["", "## Errors", ""]
        md += [f"- {r['instance_name']} / {r['solver']}: {r['error']}" for r in errors[:30]]
        if len(errors) > 30:
            md.append(f"- ... and {len(errors) - 30} more")
    files["report.md"] = "\n".join(md) + "\n"
    return write_files_atomic(out, files, inputs=[db])
