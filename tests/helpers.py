"""Test data and builders shared by several test modules (fixtures live in conftest.py).

Test modules import from here, never from each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.problem import Problem

DATA = Path(__file__).resolve().parent / "data"
#: Hand-made catalog (round numbers; not measurements), docs/model.md §2.
FIXTURE_CATALOG = DATA / "fixture_catalog.json"
#: Two made-up device profiles for generated test scenarios.
TINY_DEVICES: dict[str, Any] = {
    "format": "edgeopt-devices/1",
    "profiles": {
        "small": {"gflops": 20.0, "memory_mb": 2048, "vm_overhead_mb": 128, "max_util": 0.9},
        "large": {"gflops": 80.0, "memory_mb": 8192, "vm_overhead_mb": 128, "max_util": 0.9},
    },
}
#: The start of a scenario file, cut off: every loader must refuse it.
BAD_TEXT = '{"format": "edgeopt-scenario/1", '


def toy(catalog: dict) -> dict:
    """cloud — upf — g0 — {c0, c1}. c0: 50 GFLOP/s (σ = 100/50 = 2), c1: 25 GFLOP/s (σ = 4)."""
    return {
        "format": "edgeopt-scenario/1",
        "name": "toy",
        "window_s": 3600,
        "weights": {"balance": 1.0, "accuracy": 1.0, "network": 0.05, "cloud": 1.0},
        "topology": {
            "directed": False,
            "multigraph": False,
            "graph": {},
            "nodes": [
                {"id": "cloud", "kind": "cloud"},
                {"id": "upf", "kind": "edge"},
                {"id": "g0", "kind": "gnb"},
                {
                    "id": "c0",
                    "kind": "controller",
                    "profile": "x",
                    "gflops": 50,
                    "memory_mb": 1000,
                    "vm_overhead_mb": 100,
                    "max_util": 0.9,
                },
                {
                    "id": "c1",
                    "kind": "controller",
                    "profile": "x",
                    "gflops": 25,
                    "memory_mb": 550,
                    "vm_overhead_mb": 100,
                    "max_util": 0.9,
                },
            ],
            "edges": [
                {"source": "cloud", "target": "upf", "bandwidth_mbps": 1000, "latency_ms": 20},
                {"source": "upf", "target": "g0", "bandwidth_mbps": 10000, "latency_ms": 1},
                {"source": "g0", "target": "c0", "bandwidth_mbps": 100, "latency_ms": 5},
                {"source": "g0", "target": "c1", "bandwidth_mbps": 100, "latency_ms": 5},
            ],
        },
        "catalog": catalog,
        "requests": [
            {
                "id": "r0",
                "family": "toy-vision",
                "origin": "c0",
                "inference_rate_hz": 2,
                "train_samples": 5000,
                "sample_kb": 3,
                "min_accuracy": 0.6,
                "max_latency_ms": 200,
                "weight": 1,
            },
            {
                "id": "r1",
                "family": "toy-series",
                "origin": "c1",
                "inference_rate_hz": 1,
                "train_samples": 20000,
                "sample_kb": 1,
                "min_accuracy": 0.9,
                "max_latency_ms": 100,
                "weight": 2,
            },
            {
                "id": "r2",
                "family": "toy-vision",
                "origin": "c1",
                "inference_rate_hz": 1,
                "train_samples": 1000,
                "sample_kb": 3,
                "min_accuracy": 0.7,
                "max_latency_ms": 10,
                "weight": 1,
            },
        ],
    }


def labels(p) -> list[str]:
    """Every column's label (``Problem.column_label``), in column order."""
    return [p.column_label(j) for j in range(p.n_columns)]


def col(p, label: str) -> int:
    """The column index of ``label``."""
    return labels(p).index(label)


def make_instances(folder: Path, n: int, *, requests: int = 8, bad: bool = False) -> list[Path]:
    """``n`` tiny scenarios (4 controllers) written by ``edgeopt generate``, plus a malformed file if asked."""
    from edgeopt.cli import main as edgeopt_main

    folder.mkdir(parents=True, exist_ok=True)
    dev = folder / "devices.json.txt"  # not *.json: folder expansion must not pick it up
    dev.write_text(json.dumps(TINY_DEVICES))
    out = []
    for seed in range(1, n + 1):
        p = folder / f"tiny-{seed}.json"
        code = edgeopt_main(["generate", "--seed", str(seed), "--out", str(p), "--catalog", str(FIXTURE_CATALOG),
                             "--devices", str(dev), "--device-mix", "small:2,large:1", "--controllers", "4",
                             "--requests", str(requests)])  # fmt: skip
        assert code == 0
        out.append(p)
    if bad:
        p = folder / "broken.json"
        p.write_text(BAD_TEXT)
        out.append(p)
    return out


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    """Run ``edgeopt argv`` in this process: (exit code, stdout, stderr)."""
    from edgeopt.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv: object, says: str = "") -> str:
    """Run ``edgeopt argv``; it must exit 2 with exactly one ``edgeopt: error:`` line containing
    ``says`` (and no internal error). Returns that line."""
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert (
        len(lines) == 1 and lines[0].startswith("edgeopt: error: ") and "internal error" not in err
    ), err
    assert says in lines[0], lines[0]
    return lines[0]


def gap_problem(
    seed: int, n_jobs: int = 12, n_agents: int = 3, tight: float = 0.8, twins: bool = False
) -> Problem:
    """A random GAP-like core problem: no balanced resource, one column per (job, agent);
    ``twins``: agents 0 and 1 identical (their columns interchangeable while loads are equal)."""
    rng = np.random.default_rng(seed)
    use = rng.integers(5, 25, size=(n_agents, n_jobs)).astype(float)
    cost = rng.integers(10, 50, size=(n_agents, n_jobs)).astype(float)
    if twins:
        use[1], cost[1] = use[0], cost[0]
    cap = tight * use.sum(axis=1) / n_agents
    jj, aa = np.meshgrid(np.arange(n_jobs), np.arange(n_agents), indexing="ij")
    return Problem.from_columns(
        name=f"gap-{seed}",
        item_ids=[f"j{k}" for k in range(n_jobs)],
        bin_ids=[f"a{k}" for k in range(n_agents)],
        option_ids=["-"],
        resource_ids=[f"a{k}" for k in range(n_agents)],
        col_item=jj.ravel(),
        col_bin=aa.ravel(),
        col_option=np.zeros(n_jobs * n_agents),
        col_cost=cost.T.ravel(),
        use_rows=aa.ravel(),
        use_cols=np.arange(n_jobs * n_agents),
        use_vals=use.T.ravel(),
        capacity=cap,
    )
