"""``edgeopt devices``: the device profiles fitted to a measured catalog (was
``python -m edgeopt.profiling.devices``)."""

from __future__ import annotations

import argparse

from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    from edgeopt.profiling import devices
    from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES

    p.description = (devices.__doc__ or "").splitlines()[0]
    p.add_argument(
        "--catalog",
        default=str(DEFAULT_CATALOG),
        help="measured catalog (default: the one shipped with edgeopt)",
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_DEVICES),
        help="devices file to write (default: the one shipped with edgeopt)",
    )


def run(a: argparse.Namespace) -> int:
    from edgeopt.profiling.catalog import load_measured_catalog
    from edgeopt.profiling.devices import write_devices

    check_output(a.out, option="--out", inputs=[a.catalog])
    devices = write_devices(load_measured_catalog(a.catalog), a.out)
    for name, p in devices["profiles"].items():
        print(f"{name}: gflops {p['gflops']} (sigma {p['sigma']}), memory {p['memory_mb']} MB")
    return 0
