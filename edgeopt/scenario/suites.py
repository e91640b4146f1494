"""Named instance suites: lists of generator settings written into a folder."""

from __future__ import annotations

import os
from pathlib import Path

from edgeopt.errors import InputError
from edgeopt.jsonio import write_files_atomic
from edgeopt.scenario.generate import GeneratorConfig, generate
from edgeopt.scenario.model import scenario_bytes
from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES, load_catalog, load_devices

__all__ = ["SUITES", "suite_configs", "write_suite"]

LOW = {"raspberry-pi-4": 2.0, "jetson-nano": 2.0}
MIXED = {"raspberry-pi-4": 1.0, "jetson-nano": 2.0, "jetson-tx2": 1.0, "jetson-xavier-nx": 1.0}


def _default() -> list[GeneratorConfig]:
    """Small, tight instances: MILP proves them in seconds, greedy leaves a measurable gap."""
    out = []
    for seed, (c, r, mix, scale) in enumerate(
        [
            (4, 12, MIXED, 1.0),
            (4, 16, LOW, 1.0),
            (6, 24, MIXED, 1.0),
            (6, 24, LOW, 0.75),
            (8, 32, MIXED, 1.0),
            (8, 40, MIXED, 0.75),
        ],
        start=1,
    ):
        out.append(
            GeneratorConfig(
                seed=seed,
                controllers=c,
                gnbs=2,
                requests=r,
                device_mix=dict(mix),
                capacity_scale=scale,
                name=f"default-c{c}-r{r}-s{seed}",
            )
        )
    return out


SUITES = {"default": _default}


def suite_configs(name: str) -> list[GeneratorConfig]:
    if name not in SUITES:
        raise InputError(f"unknown suite {name!r} (known: {', '.join(SUITES)})", field="suite")
    return SUITES[name]()


def write_suite(
    name: str,
    out_dir: str | os.PathLike[str],
    *,
    catalog_path: str | os.PathLike[str] = DEFAULT_CATALOG,
    devices_path: str | os.PathLike[str] = DEFAULT_DEVICES,
    if_absent: bool = False,
) -> list[Path]:
    """Generate every scenario of suite ``name`` into ``out_dir``: all the files or none."""
    configs = suite_configs(name)
    out = Path(out_dir)
    todo = [(cfg, out / f"{cfg.name}.json") for cfg in configs]
    if if_absent:
        todo = [(cfg, p) for cfg, p in todo if not p.exists()]
    if not todo:
        return []
    catalog = load_catalog(catalog_path)
    devices = load_devices(devices_path)
    files = {
        path.name: scenario_bytes(generate(cfg, catalog, devices, catalog_source=str(catalog_path)))
        for cfg, path in todo
    }
    return write_files_atomic(out, files, inputs=[catalog_path, devices_path])
