"""``edgeopt generate``: a seeded scenario file, or a whole named suite."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edgeopt.argcheck import COUNT, SEED, Range, check_options
from edgeopt.errors import InputError
from edgeopt.jsonio import shown
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Write a scenario file from a seed and size knobs. Same seed and knobs give "
        "byte-identical files."
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
    p.add_argument(
        "--catalog",
        default=None,
        help="catalog file (default: the measured catalog shipped with edgeopt)",
    )
    p.add_argument(
        "--devices",
        default=None,
        help="device profiles (default: the measured profiles shipped with edgeopt)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="write a rounds file (edgeopt-rounds/1) of this many maintenance rounds instead",
    )
    p.add_argument(
        "--churn", type=float, default=0.1, help="with --rounds: P(a request leaves) per round"
    )
    p.add_argument(
        "--drift", type=float, default=0.1, help="with --rounds: σ of the log data-volume drift"
    )
    p.add_argument(
        "--migration-weight", type=float, default=1.0, help="with --rounds: w_M (per GB·link)"
    )
    p.add_argument(
        "--max-migrations", type=int, default=None, help="with --rounds: cap on moves per round"
    )


def run(a: argparse.Namespace) -> int:
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
    if a.rounds is not None:
        return _rounds(a, cfg, catalog, load_devices(dev_path), str(cat_path))
    s = generate(cfg, catalog, load_devices(dev_path), catalog_source=str(cat_path))
    save_scenario(s, a.out)
    print(f"{a.out}: {s.name}: {len(s.controllers)} controllers, {len(s.requests)} requests")
    return 0


def _rounds(a: argparse.Namespace, cfg: Any, catalog: Any, devices: Any, source: str) -> int:
    """``--rounds T``: the rounds file of docs/model.md §9.1."""
    from edgeopt.rounds.generate import generate_rounds
    from edgeopt.rounds.scenario import save_rounds

    check_options(
        a,
        rounds=Range(1, 100_000, integer=True),
        churn=Range(0, 1),
        drift=Range(0, 5),
        migration_weight=Range(0, 1e9),
        max_migrations=Range(0, 10**9, integer=True),
    )
    rs = generate_rounds(
        cfg,
        catalog,
        devices,
        rounds=a.rounds,
        churn=a.churn,
        drift=a.drift,
        migration_weight=a.migration_weight,
        max_migrations=a.max_migrations,
        catalog_source=source,
    )
    save_rounds(rs, a.out)
    print(f"{a.out}: {rs.name}: {len(rs.rounds)} rounds, {a.requests} requests per round")
    return 0
