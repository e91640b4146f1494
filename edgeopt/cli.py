"""The ``edgeopt`` command: thin argument parsing over the library.

Every ``EdgeoptError`` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time
from pathlib import Path
from typing import Any

from edgeopt.argcheck import (
    COUNT,
    MAX_COLUMNS,
    MIP_GAP,
    SAMPLES,
    SEED,
    THREADS,
    TIME_LIMIT_S,
    Parser,
    Range,
    check_options,
)
from edgeopt.errors import EdgeoptError, InputError, SolverError
from edgeopt.jsonio import printable, shown
from edgeopt.paths import check_output, plain_name

__all__ = ["main"]


def _fail_line(msg: str) -> None:
    # shown(): a name with an escape sequence or a newline in it stays one inert line
    print(f"edgeopt: error: {shown(msg)}", file=sys.stderr)


# ----------------------------------------------------------------- generate
def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write a seeded scenario file (or a whole suite)",
        description="Write a scenario file from a seed and size knobs. Same seed and knobs give "
        "byte-identical files.",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help="output scenario file (.json)")
    p.add_argument(
        "--suite", help="fill instances/SUITE/ with a named suite instead (e.g. 'default')"
    )
    p.add_argument("--suite-dir", default=None, help="folder for --suite (default instances/SUITE)")
    p.add_argument(
        "--if-absent", action="store_true", help="with --suite: keep files that already exist"
    )
    p.add_argument(
        "--controllers", type=int, default=6, help="number of IoT controllers (default 6)"
    )
    p.add_argument("--gnbs", type=int, default=2, help="number of gNBs (default 2)")
    p.add_argument("--requests", type=int, default=24, help="number of requests (default 24)")
    p.add_argument(
        "--device-mix",
        default="raspberry-pi-4:1,jetson-nano:2,jetson-tx2:1,jetson-xavier-nx:1",
        help="profile:weight,... relative frequency of device profiles",
    )
    p.add_argument(
        "--capacity-scale", type=float, default=1.0, help="multiply controller gflops and memory"
    )
    p.add_argument(
        "--families", default=None, help="comma-separated families (default: all in the catalog)"
    )
    p.add_argument(
        "--load-factor", type=float, default=0.9, help="demand of best configs / capacity"
    )
    p.add_argument("--no-cloud", action="store_true", help="no cloud node (no fallback)")
    p.add_argument("--window-s", type=float, default=3600.0, help="round length in seconds")
    p.add_argument("--name", default=None, help="scenario name (default gen-cC-rR-sSEED)")
    p.add_argument("--catalog", default=None, help="catalog file (default models/catalog.json)")
    p.add_argument("--devices", default=None, help="device profiles (default models/devices.json)")
    p.set_defaults(func=_cmd_generate)


def _cmd_generate(a: argparse.Namespace) -> int:
    from edgeopt.jsonio import read_json
    from edgeopt.scenario import suites
    from edgeopt.scenario.generate import GeneratorConfig, generate, parse_mix
    from edgeopt.scenario.model import save_scenario
    from edgeopt.scenario.schema import (
        DEFAULT_CATALOG,
        DEFAULT_DEVICES,
        load_devices,
        validate_catalog,
    )

    cat_path = a.catalog or DEFAULT_CATALOG
    dev_path = a.devices or DEFAULT_DEVICES
    check_options(
        a,
        seed=SEED,
        controllers=Range(1, 100_000, integer=True),
        gnbs=Range(1, 100_000, integer=True),
        requests=COUNT,
        capacity_scale=Range(1e-6, 1e6),
        load_factor=Range(0, 100, lo_open=True),
        window_s=Range(0, 1e9, lo_open=True),
    )
    if a.suite:
        out_dir = Path(a.suite_dir or Path("instances") / a.suite)
        check_output(out_dir, option="--suite-dir", inputs=[cat_path, dev_path], folder=True)
        written = suites.write_suite(
            a.suite, out_dir, catalog_path=cat_path, devices_path=dev_path, if_absent=a.if_absent
        )
        print(f"suite {a.suite}: {len(written)} file(s) written to {out_dir}")
        return 0
    if not a.out:
        raise InputError("give --out FILE (or --suite NAME)", field="out")
    if a.name is not None and (not a.name.strip() or shown(a.name) != a.name):
        raise InputError(f"--name {shown(a.name)!r}: must be a non-blank printable name")
    check_output(a.out, option="--out", inputs=[cat_path, dev_path])
    catalog = validate_catalog(read_json(cat_path), source=str(cat_path))
    cfg = GeneratorConfig(
        seed=a.seed,
        controllers=a.controllers,
        gnbs=a.gnbs,
        requests=a.requests,
        device_mix=parse_mix(a.device_mix),
        capacity_scale=a.capacity_scale,
        families=[x.strip() for x in a.families.split(",") if x.strip()] if a.families else None,
        load_factor=a.load_factor,
        cloud=not a.no_cloud,
        window_s=a.window_s,
        name=a.name,
    )
    s = generate(cfg, catalog, load_devices(dev_path), catalog_source=str(cat_path))
    save_scenario(s, a.out)
    print(f"{a.out}: {s.name}: {len(s.controllers)} controllers, {len(s.requests)} requests")
    return 0


# ----------------------------------------------------------------- validate
def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check an instance file (and optionally a solution against it)",
        description="Check a scenario or core-problem file: print sizes, admissible columns per "
        "request and requests with no admissible option. With --solution, re-evaluate a solution "
        "and check its objective and feasibility (exit 1 if they disagree).",
    )
    p.add_argument("file", help="scenario or core-problem file")
    p.add_argument("--solution", help="solution file to re-check against FILE")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary line")
    _add_max_columns(p)
    p.set_defaults(func=_cmd_validate)


def _cmd_validate(a: argparse.Namespace) -> int:
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


# ----------------------------------------------------------------- solve
def _add_solve(sub: argparse._SubParsersAction) -> None:
    from edgeopt.solvers.registry import solver_descriptions

    lines = "\n".join(f"  {k:<14} {v}" for k, v in solver_descriptions().items())
    p = sub.add_parser(
        "solve",
        help="solve one instance file with one solver",
        description="Solve a scenario or core-problem file and write an edgeopt-solution/1 file.\n\nsolvers:\n"
        + lines,
        epilog=SOLVE_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="scenario or core-problem file")
    p.add_argument("--solver", default="greedy", help="solver name (default greedy)")
    p.add_argument("--out", help="solution file to write (default: print only)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--mip-gap", type=float, default=None, help="milp: relative gap tolerance")
    p.add_argument("--threads", type=int, default=None, help="milp: solver threads")
    p.add_argument(
        "--warm-start", default=None, help="milp: solver whose plan starts the search (e.g. greedy)"
    )
    p.add_argument("--samples", type=int, default=None, help="drl: best of N sampled plans")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra solver option (repeatable)",
    )
    _add_max_columns(p)
    p.set_defaults(func=_cmd_solve)


def _add_max_columns(p: argparse.ArgumentParser) -> None:
    from edgeopt.core.size import DEFAULT_MAX_COLUMNS

    p.add_argument(
        "--max-columns",
        type=int,
        default=DEFAULT_MAX_COLUMNS,
        help="refuse a scenario whose compiled problem could exceed this many candidate columns "
        f"(default {DEFAULT_MAX_COLUMNS:,})",
    )


#: ``solve``'s exit status per outcome (also in README's "Errors and exit codes").
SOLVE_EXIT = {"plan": 0, "infeasible": 3, "no_plan": 4}
SOLVE_EXIT_CODES = """exit status:
  0  a plan (optimal, feasible, or the best one when the time limit stopped the search),
     or a bound for a bound-only solver (lp)
  1  internal error (a solver failed the referee, or a bug)
  2  bad input (file, field or option named in one line)
  3  proven infeasible (an item without an admissible column, or the MILP's proof)
  4  no plan within the limits (the solver stopped or got stuck without one)"""


def _solve_exit(status: str) -> int:
    if status in ("optimal", "feasible", "bound") or status == "time_limit_plan":
        return SOLVE_EXIT["plan"]
    return SOLVE_EXIT["infeasible"] if status == "infeasible" else SOLVE_EXIT["no_plan"]


def _cmd_solve(a: argparse.Namespace) -> int:
    from edgeopt.core.instance import load_instance
    from edgeopt.core.result import Interrupted, SolveResult
    from edgeopt.core.solution import save_solution, solution_to_dict
    from edgeopt.solvers.registry import check_solver_options, get_solver, parse_options

    check_options(
        a,
        time_limit=TIME_LIMIT_S,
        seed=SEED,
        mip_gap=MIP_GAP,
        threads=THREADS,
        samples=SAMPLES,
        max_columns=MAX_COLUMNS,
    )
    if a.out:
        check_output(a.out, option="--out", inputs=[a.file])
    solver = get_solver(a.solver)
    parsed = parse_options(a.set)
    for other in sorted(set(parsed) - {"*", a.solver}):
        key = next(iter(parsed[other]))
        raise InputError(
            f"--set {printable(other)}.{printable(key)}: an option of solver {printable(other)!r}, "
            f"but --solver is {a.solver!r} (write --set {printable(key)}=...)"
        )
    opts = {**parsed.get("*", {}), **parsed.get(a.solver, {})}
    for key in ("mip_gap", "threads", "warm_start", "samples"):
        if getattr(a, key) is not None:
            opts[key] = getattr(a, key)
    check_solver_options(a.solver, opts)
    inst = load_instance(a.file, max_columns=a.max_columns)
    try:
        res = solver(inst.problem, seed=a.seed, time_limit_s=a.time_limit, **opts)
        interrupted = False
    except Interrupted as exc:  # Ctrl-C: keep the best plan so far, then exit 130
        if not (isinstance(exc.partial, SolveResult) and exc.partial.has_plan):
            raise
        res, interrupted = exc.partial, True
    data = solution_to_dict(inst.problem, res, instance_sha256=inst.sha256)
    if a.out:
        save_solution(a.out, data)
    print(_summary(inst.problem.name, data, a.out))
    if interrupted:
        _fail_line("interrupted; the best plan so far is " + ("written" if a.out else "above"))
        return 130
    return _solve_exit(
        "time_limit_plan" if res.status == "time_limit" and res.has_plan else res.status
    )


def _summary(name: str, d: dict[str, Any], out: str | None) -> str:
    z = d["objective"]
    parts = [f"{shown(name)}: {d['solver']} {d['status']}"]
    if z is not None:
        parts.append(f"Z={z:.6g}")
        if d["terms"]:
            parts.append("(" + ", ".join(f"{k} {v:.4g}" for k, v in d["terms"].items()) + ")")
    if d.get("bound") is not None:
        parts.append(f"bound={d['bound']:.6g}")
    parts.append(f"in {d['wall_s']:.3g} s")
    if d.get("message"):
        parts.append(f"[{d['message']}]")
    if out:
        parts.append(f"→ {out}")
    return " ".join(parts)


# ----------------------------------------------------------------- other commands
def _add_solvers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solvers", help="list the registered solvers", description="List the registered solvers."
    )
    p.set_defaults(func=_cmd_solvers)


def _cmd_solvers(a: argparse.Namespace) -> int:
    from edgeopt.solvers.registry import solver_descriptions

    for k, v in solver_descriptions().items():
        print(f"{k:<14} {v}")
    return 0


def _add_profile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profile",
        help="measure the DNN cost catalog on this host (TensorFlow)",
        description="Build every family's Keras model at each width, measure FLOPs, times, memory and "
        "accuracy, and write a complete new catalog atomically.",
    )
    p.add_argument("--out", default="models/catalog.json", help="catalog file to write")
    p.add_argument("--families", default=None, help="comma-separated families (default all)")
    p.add_argument("--quick", action="store_true", help="tiny data, few repeats (< 1 minute)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=_cmd_profile)


def _cmd_profile(a: argparse.Namespace) -> int:
    from edgeopt.profiling.run import profile_catalog

    check_options(a, seed=SEED)
    check_output(a.out, option="--out")
    fams = [x.strip() for x in a.families.split(",") if x.strip()] if a.families else None
    t0 = time.perf_counter()
    cat = profile_catalog(a.out, families=fams, quick=a.quick, seed=a.seed, progress=True)
    n = sum(len(f["configs"]) for f in cat["families"].values())
    print(
        f"{a.out}: {len(cat['families'])} families, {n} configs, host {cat['host_gflops']:.1f} GFLOP/s, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return 0


def _add_import_gap(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-gap",
        help="turn a GAP file (OR-Library or single-problem) into core-problem files",
        description="Write one edgeopt-problem/1 file per problem of a GAP file: an OR-Library "
        "gap*.txt file (problems gap1-1 ...) or a single-problem file in the format of Yagiura, "
        "Ibaraki and Glover (c10400, e05100 ...; one problem named after the file). The format is "
        "told by counting the numbers in the file.",
    )
    p.add_argument(
        "file",
        help="GAP file, e.g. ../shared/data/orlib-gap/gap1.txt or ../shared/data/gap-large/e05100",
    )
    p.add_argument("--out", required=True, help="output folder")
    from edgeopt.core.orlib import DEFAULT_GAP_MAX_COLUMNS

    p.add_argument(
        "--max-columns",
        type=int,
        default=DEFAULT_GAP_MAX_COLUMNS,
        help="refuse a file of more columns (agents × jobs, over its problems) "
        f"(default {DEFAULT_GAP_MAX_COLUMNS:,})",
    )
    p.set_defaults(func=_cmd_import_gap)


def _cmd_import_gap(a: argparse.Namespace) -> int:
    from edgeopt.core.orlib import import_gap

    check_options(a, max_columns=MAX_COLUMNS)
    check_output(a.out, option="--out", inputs=[a.file], folder=True)
    paths = import_gap(a.file, a.out, max_columns=a.max_columns)
    print(f"{a.file}: {len(paths)} problem file(s) written to {a.out}")
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run a benchmark (orlib, drl, scale, symmetry, heuristics, gap-large)",
        description="Run a benchmark; arguments after the name go to it (see 'edgeopt bench NAME --help').",
    )
    p.add_argument(
        "name", help="benchmark name: orlib, drl, scale, symmetry, heuristics, gap-large"
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the benchmark")
    p.set_defaults(func=_cmd_bench)


#: The benchmarks ``edgeopt bench NAME`` runs (modules of ``edgeopt.bench``; no other module).
BENCHMARKS = ("orlib", "drl", "scale", "symmetry", "heuristics", "gap-large")


def _cmd_bench(a: argparse.Namespace) -> int:
    import importlib

    if a.name not in BENCHMARKS:
        raise InputError(
            f"unknown benchmark {printable(a.name)!r} (one of {', '.join(BENCHMARKS)})",
            field="name",
        )
    mod = importlib.import_module(f"edgeopt.bench.{a.name.replace('-', '_')}")
    return int(mod.main(a.args) or 0)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job on the embedded default configuration",
        description="Generate the default suite if absent, solve it with every available solver, "
        "and print a summary table.",
    )
    p.add_argument("--suite", default="default", help="suite name (default 'default')")
    p.add_argument("--time-limit", type=float, default=60.0, help="per-solve time limit in seconds")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(a: argparse.Namespace) -> int:
    from edgeopt.demo import run_demo

    check_options(a, time_limit=TIME_LIMIT_S)
    plain_name(a.suite, option="--suite")
    return run_demo(suite=a.suite, time_limit_s=a.time_limit)


# Commands whose arguments are parsed by their own module's ``main(argv)``.
PASS_THROUGH = {
    "train": (
        "edgeopt.rl.train",
        "train the learned planner (imitation of MILP optima, DAgger, RL)",
    ),
    "batch": ("edgeopt.batch.cli", "solve many instance files with several solvers into SQLite"),
    "compare": (
        "edgeopt.report.compare",
        "compare solvers' gaps and times from a results database",
    ),
    "report": (
        "edgeopt.report.build",
        "write a Markdown report with plots from a results database",
    ),
    "experiment": ("edgeopt.experiments", "run a named experiment (e.g. capacity-sweep)"),
}


def _add_pass_through(sub: argparse._SubParsersAction) -> None:
    for name, (module, help_text) in PASS_THROUGH.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}. See 'edgeopt {name} -h' once installed; "
            "arguments are passed to the command's own parser.",
            add_help=False,
        )
        p.add_argument("args", nargs=argparse.REMAINDER)
        p.set_defaults(func=_cmd_pass_through, module=module, prog=f"edgeopt {name}")


def _cmd_pass_through(a: argparse.Namespace) -> int:
    import importlib

    try:
        mod = importlib.import_module(a.module)
    except ModuleNotFoundError as exc:
        if exc.name and a.module.startswith(exc.name):
            raise InputError(
                f"'{a.prog}' is not available in this installation", field="command"
            ) from None
        raise
    return int(mod.main(a.args, prog=a.prog) or 0)


COMMANDS = (
    _add_generate,
    _add_validate,
    _add_solve,
    _add_solvers,
    _add_profile,
    _add_import_gap,
    _add_bench,
    _add_demo,
    _add_pass_through,
)


def build_parser() -> argparse.ArgumentParser:
    from edgeopt import __version__

    ap = Parser(
        prog="edgeopt",
        description="Plan DNN-model maintenance on 5G edge resources, and measure how far planners "
        "are from the proven optimum.",
    )
    ap.add_argument("--version", action="version", version=f"edgeopt {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return ap


#: OS errors that mean an output cannot be written (disk full, quota, read-only, device error):
#: one line and exit 2, like bad input, not an internal error.
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``edgeopt`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASS_THROUGH:
        # These commands own their argument parsing (argparse.REMAINDER cannot pass --help on).
        module, _ = PASS_THROUGH[argv[0]]
        a = argparse.Namespace(
            func=_cmd_pass_through, module=module, prog=f"edgeopt {argv[0]}", args=argv[1:]
        )
    else:
        try:
            a = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a refused option (one line, exit 2)
            return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        code = int(a.func(a) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at interpreter exit
        return code
    except SolverError as exc:  # a solver failed the referee: its bug, not the user's input
        _fail_line(f"solver error: {exc}")
        return 1
    except EdgeoptError as exc:
        _fail_line(str(exc))
        return 2
    except KeyboardInterrupt:
        _fail_line("interrupted")
        return 130
    except SystemExit as exc:  # a command's own parser: --help, or a refused option
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        _silence_stdout()
        return 0
    except Exception as exc:  # pragma: no cover - a bug: one line, full trace on request
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            _silence_stdout()
            where = f" ({printable(str(exc.filename))})" if exc.filename else ""
            _fail_line(f"cannot write output{where}: {exc.strerror or exc}")
            return 2
        if os.environ.get("EDGEOPT_DEBUG"):
            raise
        _fail_line(
            f"internal error: {type(exc).__name__}: {exc} (set EDGEOPT_DEBUG=1 for the traceback)"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
