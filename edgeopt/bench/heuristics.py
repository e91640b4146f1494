"""Heuristics on the OR-Library GAP problems: deviation from the published optima per group.

Runs each named solver (default greedy, greedy+ls, greedy+lns) on every problem
of the shared OR-Library files with one time limit per solve, and writes a table
of mean and worst deviation, plans found and mean time per group.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from edgeopt.core.gaps import gap_to_reference
from edgeopt.core.orlib import orlib_dir as find_orlib_dir
from edgeopt.core.orlib import published_optima, read_gap_file
from edgeopt.errors import InputError
from edgeopt.jsonio import write_text_atomic
from edgeopt.solvers.registry import get_solver

__all__ = ["run"]


def run(
    *,
    solvers: Sequence[str] = ("greedy", "greedy+ls", "greedy+lns"),
    time_limit_s: float = 10.0,
    groups: Sequence[str] | None = None,
    orlib_dir: str | None = None,
    out: str | os.PathLike[str] = "reports/heuristics",
    command: str = "edgeopt bench heuristics",
) -> int:
    """Run every solver on the OR-Library files (``groups``: their stems, default all) and write
    ``out/README.md``; ``command`` is quoted in the report."""
    from tqdm import tqdm

    solvers = list(solvers)
    if not solvers:  # a benchmark that would run nothing fails
        raise InputError("--solvers: no solver named", field="--solvers")
    runs = {s: get_solver(s) for s in solvers}  # unknown names fail here, before any work
    data = find_orlib_dir(orlib_dir)
    files = sorted(data.glob("gap*.txt"))
    if groups:
        wanted = set(groups)
        unknown = sorted(wanted - {f.stem for f in files})
        if unknown:
            raise InputError(
                f"--groups: no OR-Library file {', '.join(unknown)}.txt in {data}", field="--groups"
            )
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise InputError(f"no gap*.txt files in {data}", field="--orlib-dir")
    optima = published_optima(data / "OPTIMA.md")
    by_group: dict[str, list] = {}
    for f in files:
        by_group.setdefault("gap1-12" if f.stem[3:].isdigit() else f.stem, []).extend(
            read_gap_file(f)
        )
    started = time.perf_counter()
    table: dict[tuple[str, str], tuple[list[float], int, list[float]]] = {}
    total = sum(len(v) for v in by_group.values()) * len(solvers)
    with tqdm(total=total, desc="solves", unit="solve") as bar:
        for g, probs in by_group.items():
            for s in solvers:
                devs, found, walls = [], 0, []
                for p in probs:
                    res = runs[s](p, seed=0, time_limit_s=time_limit_s)
                    walls.append(res.wall_s)
                    if res.has_plan:
                        found += 1
                        pub = optima.get(p.name)
                        if pub is not None:
                            devs.append(
                                abs(gap_to_reference(p.source_objective(res.objective), pub))
                            )
                    bar.update()
                table[(g, s)] = (devs, found, walls)
    lines = [
        "# Heuristics on the OR-Library GAP problems",
        "",
        f"Command: `{command}` "
        f"({(time.perf_counter() - started) / 60:.1f} min). Deviation = |Z − published| / |published| in "
        "each file's own sense; mean over the problems where the solver found a plan.",
        "",
        "| group | problems | "
        + " | ".join(f"{s} mean | {s} max | {s} plans | {s} mean s" for s in solvers)
        + " |",
        "|---|---|" + "---|---|---|---|" * len(solvers),
    ]
    for g, probs in by_group.items():
        cells = []
        for s in solvers:
            devs, found, walls = table[(g, s)]
            mean = f"{100 * statistics.fmean(devs):.2f} %" if devs else "—"
            worst = f"{100 * max(devs):.2f} %" if devs else "—"
            cells.append(f"{mean} | {worst} | {found}/{len(probs)} | {statistics.fmean(walls):.2f}")
        lines.append(f"| {g} | {len(probs)} | " + " | ".join(cells) + " |")
    write_text_atomic(Path(out) / "README.md", "\n".join(lines) + "\n")
    print("\n".join(lines[6:]))
    print(f"report: {Path(out) / 'README.md'}")
    return 0
