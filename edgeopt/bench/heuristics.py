"""Heuristics on the OR-Library GAP problems: deviation from the published optima per group.

Runs each named solver (default greedy, greedy+ls, greedy+lns) on every problem
of the shared OR-Library files with one time limit per solve, and writes a table
of mean and worst deviation, plans found and mean time per group.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from edgeopt.argcheck import Parser
from edgeopt.core.gaps import gap_to_reference

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = Parser(prog="edgeopt bench heuristics", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--solvers", default="greedy,greedy+ls,greedy+lns", help="comma-separated solvers"
    )
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    ap.add_argument(
        "--groups", default=None, help="comma-separated file stems, e.g. gapa,gapd (default all)"
    )
    ap.add_argument(
        "--orlib-dir",
        default=None,
        help="OR-Library folder (default $EDGEOPT_ORLIB_DIR, else ../shared/data/orlib-gap)",
    )
    ap.add_argument(
        "--out", default="reports/heuristics", help="report folder (default reports/heuristics)"
    )
    a = ap.parse_args(argv)
    from tqdm import tqdm

    from edgeopt.argcheck import TIME_LIMIT_S, check_options
    from edgeopt.core.orlib import orlib_dir, published_optima, read_gap_file
    from edgeopt.errors import InputError
    from edgeopt.jsonio import write_text_atomic
    from edgeopt.paths import check_output
    from edgeopt.solvers.registry import get_solver

    check_options(a, time_limit=TIME_LIMIT_S)
    out = check_output(a.out, option="--out", folder=True)
    solvers = [s.strip() for s in a.solvers.split(",") if s.strip()]
    if not solvers:  # a benchmark that would run nothing fails
        raise InputError(f"--solvers: no solver named ({a.solvers!r})", field="--solvers")
    runs = {s: get_solver(s) for s in solvers}  # unknown names fail here, before any work
    data = orlib_dir(a.orlib_dir)
    files = sorted(data.glob("gap*.txt"))
    if a.groups:
        wanted = {g.strip() for g in a.groups.split(",")}
        unknown = sorted(wanted - {f.stem for f in files})
        if unknown:
            raise InputError(
                f"--groups: no OR-Library file {', '.join(unknown)}.txt in {data}", field="--groups"
            )
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise InputError(f"no gap*.txt files in {data}", field="--orlib-dir")
    optima = published_optima(data / "OPTIMA.md")
    groups: dict[str, list] = {}
    for f in files:
        groups.setdefault("gap1-12" if f.stem[3:].isdigit() else f.stem, []).extend(
            read_gap_file(f)
        )
    started = time.perf_counter()
    table: dict[tuple[str, str], tuple[list[float], int, list[float]]] = {}
    total = sum(len(v) for v in groups.values()) * len(solvers)
    with tqdm(total=total, desc="solves", unit="solve") as bar:
        for g, probs in groups.items():
            for s in solvers:
                devs, found, walls = [], 0, []
                for p in probs:
                    res = runs[s](p, seed=0, time_limit_s=a.time_limit)
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
        f"Command: `edgeopt bench heuristics --solvers {a.solvers} --time-limit {a.time_limit:g}` "
        f"({(time.perf_counter() - started) / 60:.1f} min). Deviation = |Z − published| / |published| in "
        "each file's own sense; mean over the problems where the solver found a plan.",
        "",
        "| group | problems | "
        + " | ".join(f"{s} mean | {s} max | {s} plans | {s} mean s" for s in solvers)
        + " |",
        "|---|---|" + "---|---|---|---|" * len(solvers),
    ]
    for g, probs in groups.items():
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
