"""Hypothesis strategies for edgeopt scenarios and core problems (public API).

They build *small* inputs whose numbers are readable and that shrink toward one
controller, one request and one configuration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from edgeopt.core.compile import compile_scenario
from edgeopt.core.problem import Problem
from edgeopt.scenario.model import SCENARIO_FORMAT, Scenario, scenario_from_dict

__all__ = ["catalogs", "scenario_dicts", "scenarios", "core_problems", "assignments", "compiled"]

_small = st.integers(min_value=1, max_value=9)


@st.composite
def catalogs(draw: st.DrawFn, *, max_families: int = 2, max_configs: int = 3) -> dict[str, Any]:
    """A small catalog: 1..max_families families of 1..max_configs configurations."""
    n_fam = draw(st.integers(1, max_families))
    families = {}
    for f in range(n_fam):
        configs = []
        for k in range(draw(st.integers(1, max_configs))):
            configs.append(
                {
                    "id": f"k{k}",
                    "width": draw(st.sampled_from([1.0, 0.75, 0.5, 0.25])),
                    "batch": draw(st.sampled_from([16, 32, 64])),
                    "epochs": draw(st.integers(1, 5)),
                    "accuracy": draw(st.integers(50, 99)) / 100,
                    "host_infer_ms": float(draw(_small)),
                    "host_train_ms_per_sample": draw(_small) / 2,
                    "infer_mem_mb": float(draw(st.integers(10, 200))),
                    "train_mem_mb": float(draw(st.integers(10, 800))),
                    "model_mb": 1.0,
                }
            )
        families[f"fam{f}"] = {"configs": configs}
    return {"host_gflops": float(draw(st.integers(20, 100))), "provenance": {"note": "hypothesis"}, "families": families}


@st.composite
def scenario_dicts(
    draw: st.DrawFn,
    *,
    min_controllers: int = 1,
    max_controllers: int = 3,
    min_requests: int = 1,
    max_requests: int = 3,
    cloud: bool | None = None,
    tightness: float = 1.0,
    catalog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A scenario file's JSON (MODEL.md §8) with a small random topology.

    ``tightness`` > 1 shrinks controller memory and link bandwidth, making
    capacities bind more often. ``cloud`` None draws it.
    """
    cat = catalog if catalog is not None else draw(catalogs())
    n_c = draw(st.integers(min_controllers, max_controllers))
    has_cloud = draw(st.booleans()) if cloud is None else cloud
    n_gnb = draw(st.integers(1, max(1, min(2, n_c))))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    if has_cloud:
        nodes.append({"id": "cloud", "kind": "cloud"})
    nodes.append({"id": "upf", "kind": "edge"})
    if has_cloud:
        edges.append({"source": "cloud", "target": "upf", "bandwidth_mbps": 1000, "latency_ms": 20})
    for b in range(n_gnb):
        nodes.append({"id": f"g{b}", "kind": "gnb"})
        edges.append({"source": "upf", "target": f"g{b}", "bandwidth_mbps": 10000, "latency_ms": 1})
    for c in range(n_c):
        nodes.append(
            {
                "id": f"c{c}",
                "kind": "controller",
                "profile": "test",
                "gflops": float(draw(st.integers(5, 100))),
                "memory_mb": float(draw(st.integers(200, 2000)) / tightness),
                "vm_overhead_mb": float(draw(st.sampled_from([0, 64, 256]))),
                "max_util": draw(st.sampled_from([0.5, 0.8, 1.0])),
            }
        )
        edges.append(
            {
                "source": f"g{draw(st.integers(0, n_gnb - 1))}",
                "target": f"c{c}",
                "bandwidth_mbps": float(draw(st.integers(1, 100))) / tightness,
                "latency_ms": float(draw(st.integers(1, 10))),
                "max_util": 0.8,
            }
        )
    fams = list(cat["families"])
    requests = []
    for r in range(draw(st.integers(min_requests, max_requests))):
        requests.append(
            {
                "id": f"r{r}",
                "family": draw(st.sampled_from(fams)),
                "origin": f"c{draw(st.integers(0, n_c - 1))}",
                "inference_rate_hz": float(draw(st.integers(0, 5))),
                "train_samples": draw(st.integers(0, 50000)),
                "sample_kb": float(draw(st.integers(1, 50))),
                "min_accuracy": draw(st.integers(0, 99)) / 100,
                "max_latency_ms": float(draw(st.integers(20, 500))),
                "weight": draw(st.sampled_from([0.5, 1.0, 2.0])),
            }
        )
    return {
        "format": SCENARIO_FORMAT,
        "name": "hyp",
        "window_s": float(draw(st.sampled_from([600, 3600]))),
        "weights": {
            "balance": draw(st.sampled_from([0.0, 1.0, 5.0])),
            "accuracy": draw(st.sampled_from([0.0, 1.0, 2.0])),
            "network": draw(st.sampled_from([0.0, 0.05, 1.0])),
            "cloud": draw(st.sampled_from([0.5, 1.0, 10.0])),
        },
        "topology": {"directed": False, "multigraph": False, "graph": {}, "nodes": nodes, "edges": edges},
        "catalog": cat,
        "requests": requests,
    }


def scenarios(**kwargs: Any) -> st.SearchStrategy[Scenario]:
    """Validated :class:`Scenario` objects; keyword arguments as :func:`scenario_dicts`."""
    return scenario_dicts(**kwargs).map(lambda d: scenario_from_dict(d, source="<hypothesis>"))


@st.composite
def core_problems(
    draw: st.DrawFn,
    *,
    max_items: int = 4,
    max_bins: int = 3,
    max_options: int = 2,
    balanced: bool | None = None,
    sense: str = "min",
) -> Problem:
    """A small core problem: every item has ≥ 1 column; each bin has one capacity
    resource (balanced when ``balanced``; None draws it)."""
    n_items = draw(st.integers(1, max_items))
    n_bins = draw(st.integers(1, max_bins))
    n_opts = draw(st.integers(1, max_options))
    bal = draw(st.booleans()) if balanced is None else balanced
    rows, cols, vals, c_item, c_bin, c_opt, cost = [], [], [], [], [], [], []
    for i in range(n_items):
        triples = draw(
            st.lists(
                st.tuples(st.integers(0, n_opts - 1), st.integers(0, n_bins - 1)),
                min_size=1,
                max_size=n_opts * n_bins,
                unique=True,
            )
        )
        for o, b in triples:
            j = len(c_item)
            c_item.append(i)
            c_bin.append(b)
            c_opt.append(o)
            cost.append(float(draw(st.integers(-5, 20))))
            rows.append(b)
            cols.append(j)
            vals.append(float(draw(st.integers(1, 10))))
    caps = [float(draw(st.integers(5, 30))) for _ in range(n_bins)]
    return Problem.from_columns(
        name="hyp-core",
        item_ids=[f"i{i}" for i in range(n_items)],
        bin_ids=[f"b{b}" for b in range(n_bins)],
        option_ids=[f"o{o}" for o in range(n_opts)],
        resource_ids=[f"cap:b{b}" for b in range(n_bins)],
        col_item=np.array(c_item),
        col_bin=np.array(c_bin),
        col_option=np.array(c_opt),
        col_cost=np.array(cost),
        use_rows=np.array(rows),
        use_cols=np.array(cols),
        use_vals=np.array(vals),
        capacity=np.array(caps),
        balanced=np.full(n_bins, bal),
        balance_weight=float(draw(st.sampled_from([0.0, 1.0, 3.0]))) if bal else 0.0,
        sense=sense,
    )


def assignments(problem: Problem) -> st.SearchStrategy[np.ndarray]:
    """Complete assignments of ``problem`` (one of its columns per item), feasible or not."""
    per_item = [st.integers(int(problem.item_ptr[i]), int(problem.item_ptr[i + 1]) - 1) for i in range(problem.n_items)]
    return st.tuples(*per_item).map(lambda t: np.array(t, dtype=np.int64))


def compiled(**kwargs: Any) -> st.SearchStrategy[Problem]:
    """Core problems compiled from :func:`scenarios`."""
    return scenarios(**kwargs).map(compile_scenario)
