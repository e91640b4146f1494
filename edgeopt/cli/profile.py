"""``edgeopt profile``: measure the DNN cost catalog on this host (TensorFlow, imported lazily)."""

from __future__ import annotations

import argparse
import time

from edgeopt.argcheck import SEED, check_options
from edgeopt.cli.options import names
from edgeopt.paths import check_output


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Build every family's Keras model at each width, measure FLOPs, times, memory and "
        "accuracy, and write a complete new catalog atomically."
    )
    p.add_argument(
        "--out",
        default="models/catalog.json",
        help="catalog file to write (default: models/catalog.json under the current folder)",
    )
    p.add_argument("--families", default=None, help="comma-separated families (default all)")
    p.add_argument("--quick", action="store_true", help="tiny data, few repeats (< 1 minute)")
    p.add_argument("--seed", type=int, default=0, help="random seed")


def run(a: argparse.Namespace) -> int:
    from edgeopt.profiling.run import profile_catalog

    check_options(a, seed=SEED)
    check_output(a.out, option="--out")
    t0 = time.perf_counter()
    cat = profile_catalog(
        a.out, families=names(a.families), quick=a.quick, seed=a.seed, progress=True
    )
    n = sum(len(f["configs"]) for f in cat["families"].values())
    print(
        f"{a.out}: {len(cat['families'])} families, {n} configs, host {cat['host_gflops']:.1f} GFLOP/s, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return 0
