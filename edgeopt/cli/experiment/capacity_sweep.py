"""``edgeopt experiment capacity-sweep``: solvers' plans as controller capacity shrinks and grows."""

from __future__ import annotations

import argparse

from edgeopt.argcheck import TIME_LIMIT_S, Range, check_options
from edgeopt.cli.options import names
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.experiments import capacity_sweep
    from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES

    p.description = (capacity_sweep.__doc__ or "").split("\n\n")[0]
    p.add_argument(
        "--preset",
        choices=sorted(capacity_sweep.PRESETS),
        default="full",
        help="sweep size (quick: for tests)",
    )
    p.add_argument(
        "--out", default=None, help="output folder (default reports/paper or reports/paper-quick)"
    )
    p.add_argument(
        "--solvers", default=None, help="comma-separated solvers (default: the preset's)"
    )
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (1..N)")
    p.add_argument("--time-limit", type=float, default=None, help="per-solve time limit (s)")
    p.add_argument("--catalog", default=str(DEFAULT_CATALOG), help="catalog file")
    p.add_argument("--devices", default=str(DEFAULT_DEVICES), help="device profiles")
    p.add_argument("--fresh", action="store_true", help="ignore rows of an earlier run in --out")
    p.add_argument(
        "--compute-only", action="store_true", help="scale only compute; keep the reference memory"
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.experiments.capacity_sweep import default_out
    from edgeopt.experiments.capacity_sweep import run as sweep

    check_options(a, seeds=Range(1, 10**4, integer=True), time_limit=TIME_LIMIT_S)
    out = a.out or default_out(a.preset)
    check_output(out, option="--out", inputs=[a.catalog, a.devices], folder=True)
    rows, path = sweep(
        preset=a.preset,
        out=out,
        solvers=names(a.solvers),
        seeds=a.seeds,
        time_limit_s=a.time_limit,
        catalog_path=a.catalog,
        devices_path=a.devices,
        fresh=a.fresh,
        scale_memory=not a.compute_only,
        command=" ".join(["edgeopt experiment capacity-sweep", *a.argv]),
    )
    print(f"{len(rows)} rows → {path}")
    return 0
