"""``edgeopt validate``: sizes and admissible columns of an instance file; a solution re-checked."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import MAX_COLUMNS, check_options
from edgeopt.cli.options import add_max_columns
from edgeopt.jsonio import shown


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Check a scenario or core-problem file: print sizes, admissible columns per "
        "request and requests with no admissible option. With --solution, re-evaluate a solution "
        "and check its objective and feasibility (exit 1 if they disagree)."
    )
    p.add_argument("file", help="scenario or core-problem file")
    p.add_argument("--solution", help="solution file to re-check against FILE")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary line")
    add_max_columns(p)


def run(a: argparse.Namespace) -> int:
    import numpy as np

    from edgeopt.core.instance import load_instance
    from edgeopt.core.solution import check_solution, load_solution

    check_options(a, max_columns=MAX_COLUMNS)
    inst = load_instance(a.file, max_columns=a.max_columns)
    p = inst.problem
    counts = np.diff(p.item_ptr)
    print(
        f"{shown(a.file)}: {inst.kind} {p.name!r}: {p.n_items} items, {p.n_bins} bins, "
        f"{p.n_columns} admissible columns, {p.n_resources} resources "
        f"({int(p.balanced.sum())} balanced), sense {p.sense}"
    )
    if not a.quiet:
        print(
            f"  columns per item: min {counts.min()}, median {int(np.median(counts))}, max {counts.max()}"
        )
        if inst.scenario is not None and p.n_items <= 60:
            for i, rid in enumerate(p.item_ids):
                r = inst.scenario.requests[i]
                nc = int(counts[i])
                cloud_only = nc > 0 and all(
                    p.bin_ids[p.col_bin[j]] == "cloud" for j in p.columns_of(i)
                )
                note = " (cloud only)" if cloud_only else ""
                print(
                    f"  {shown(rid):>8} {shown(r.family):<16} origin {shown(r.origin):<6} "
                    f"{nc:4d} columns{note}"
                )
    empty = p.empty_items
    if empty:
        print(f"  {len(empty)} item(s) with no admissible option: {shown(', '.join(empty))}")
    if a.solution:
        sol = load_solution(a.solution)
        if sol.get("instance_sha256") and sol["instance_sha256"] != inst.sha256:
            print(f"  warning: {a.solution} was made for a different file (sha256 differs)")
        ev, issues = check_solution(p, sol)
        if sol["assignment"]:
            state = "feasible" if ev.feasible else "INFEASIBLE"
            print(
                f"  solution {a.solution}: {state}, Z = {ev.source_objective:.10g} (file says {sol.get('objective')})"
            )
        else:
            print(
                f"  solution {a.solution}: no plan, status {sol['status']}, bound {sol.get('bound')}"
            )
        for msg in issues:
            print(f"  problem: {shown(msg)}")
        return 1 if issues else 0
    return 0
