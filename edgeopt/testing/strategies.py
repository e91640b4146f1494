"""Hypothesis strategies for edgeopt scenarios and core problems (public API).

They build *small* inputs with round, readable numbers. Repeated parts
(configurations, controllers, requests, columns) are drawn with ``st.lists`` so
hypothesis shrinks a counterexample toward one controller, one request and one
configuration, and every number toward the first value of its range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from edgeopt.core.compile import compile_scenario
from edgeopt.core.problem import Problem
from edgeopt.scenario.model import SCENARIO_FORMAT, Scenario, scenario_from_dict

__all__ = [
    "catalogs",
    "scenario_dicts",
    "scenarios",
    "core_problems",
    "assignments",
    "compiled",
]

_small = st.integers(min_value=1, max_value=9)


# ------------------------------------------------------------------ catalog
@st.composite
def _config(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": "",  # numbered by the caller
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


@st.composite
def catalogs(
    draw: st.DrawFn,
    *,
    min_families: int = 1,
    max_families: int = 2,
    max_configs: int = 3,
    families: list[str] | None = None,
) -> dict[str, Any]:
    """A small catalog (docs/model.md §2): families of 1..``max_configs`` configurations.

    Parameters
    ----------
    min_families, max_families : int
        Bounds on the number of families, named ``fam0``, ``fam1``, ...
    max_configs : int
        At most this many configurations per family, ids ``k0``, ``k1``, ...
    families : list of str, optional
        Exact family names to use instead of the bounds.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None, deadline=None)
    ... @given(catalogs(families=["vision"], max_configs=2))
    ... def check(cat):
    ...     assert list(cat["families"]) == ["vision"]
    ...     assert 1 <= len(cat["families"]["vision"]["configs"]) <= 2
    >>> check()
    """
    configs = st.lists(_config(), min_size=1, max_size=max_configs)
    if families is not None:
        per_family = [draw(configs) for _ in families]
        names = list(families)
    else:
        per_family = draw(st.lists(configs, min_size=min_families, max_size=max_families))
        names = [f"fam{f}" for f in range(len(per_family))]
    fams = {
        name: {"configs": [{**c, "id": f"k{k}"} for k, c in enumerate(cfgs)]}
        for name, cfgs in zip(names, per_family)
    }
    return {
        "host_gflops": float(draw(st.integers(20, 100))),
        "provenance": {"note": "hypothesis"},
        "families": fams,
    }


# ------------------------------------------------------------------ scenario
@st.composite
def _controller(draw: st.DrawFn, tightness: float) -> dict[str, Any]:
    return {
        "gflops": float(draw(st.integers(5, 100))),
        "memory_mb": float(draw(st.integers(200, 2000)) / tightness),
        "vm_overhead_mb": float(draw(st.sampled_from([0, 64, 256]))),
        "max_util": draw(st.sampled_from([0.5, 0.8, 1.0])),
        # radio link to its gNB
        "gnb": draw(st.integers(0, 1)),
        "bandwidth_mbps": float(draw(st.integers(1, 100))) / tightness,
        "latency_ms": float(draw(st.integers(1, 10))),
    }


@st.composite
def _request(
    draw: st.DrawFn, n_controllers: int, families: list[str], max_draw: int
) -> dict[str, Any]:
    # Indices are drawn from a fixed range and wrapped, so deleting a controller or
    # a family while shrinking does not shift every later draw.
    return {
        "id": "",  # numbered by the caller
        "family": families[draw(st.integers(0, max_draw)) % len(families)],
        "origin": f"c{draw(st.integers(0, max_draw)) % n_controllers}",
        "inference_rate_hz": float(draw(st.integers(0, 5))),
        "train_samples": draw(st.integers(0, 50000)),
        "sample_kb": float(draw(st.integers(1, 50))),
        "min_accuracy": draw(st.integers(0, 99)) / 100,
        "max_latency_ms": float(draw(st.integers(20, 500))),
        "weight": draw(st.sampled_from([0.5, 1.0, 2.0])),
    }


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
    families: list[str] | None = None,
    max_families: int = 2,
    max_configs: int = 3,
) -> dict[str, Any]:
    """A scenario file's JSON (docs/model.md §8) with a small random tree topology.

    The topology is ``cloud — upf — g0[, g1] — c0..cN`` (the cloud only when
    drawn or asked for), so every path is unique and relabelling controllers
    cannot change a route.

    Parameters
    ----------
    min_controllers, max_controllers, min_requests, max_requests : int
        Size bounds (controllers ``c0, c1, ...``, requests ``r0, r1, ...``).
    cloud : bool, optional
        With (True) or without (False) a cloud node; None draws it.
    tightness : float
        > 1 divides controller memory and radio bandwidth by it, so capacities
        bind more often; < 1 loosens them.
    catalog : dict, optional
        A fixed catalog (e.g. ``edgeopt.scenario.schema.load_catalog()``); drawn from
        :func:`catalogs` otherwise.
    families : list of str, optional
        Family names of the drawn catalog.
    max_families, max_configs : int
        Bounds of the drawn catalog when ``families`` is not given.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from edgeopt.scenario.model import scenario_from_dict
    >>> @settings(max_examples=5, database=None, deadline=None)
    ... @given(scenario_dicts(min_controllers=2, max_requests=4, cloud=False))
    ... def check(d):
    ...     s = scenario_from_dict(d)
    ...     assert s.cloud is None and len(s.controllers) >= 2 and len(s.requests) <= 4
    >>> check()
    """
    cat = (
        catalog
        if catalog is not None
        else draw(catalogs(max_families=max_families, max_configs=max_configs, families=families))
    )
    has_cloud = draw(st.booleans()) if cloud is None else cloud
    ctrls = draw(
        st.lists(_controller(tightness), min_size=min_controllers, max_size=max_controllers)
    )
    n_c = len(ctrls)
    n_gnb = min(draw(st.integers(1, 2)), n_c)
    fams = list(cat["families"])
    max_draw = max(max_controllers, len(fams), 1) - 1
    reqs = draw(
        st.lists(_request(n_c, fams, max_draw), min_size=min_requests, max_size=max_requests)
    )
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
    for c, a in enumerate(ctrls):
        nodes.append(
            {
                "id": f"c{c}",
                "kind": "controller",
                "profile": "test",
                **{k: a[k] for k in ("gflops", "memory_mb", "vm_overhead_mb", "max_util")},
            }
        )
        edges.append(
            {
                "source": f"g{min(a['gnb'], n_gnb - 1)}",
                "target": f"c{c}",
                "bandwidth_mbps": a["bandwidth_mbps"],
                "latency_ms": a["latency_ms"],
                "max_util": 0.8,
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
        "topology": {
            "directed": False,
            "multigraph": False,
            "graph": {},
            "nodes": nodes,
            "edges": edges,
        },
        "catalog": cat,
        "requests": [{**r, "id": f"r{k}"} for k, r in enumerate(reqs)],
    }


def scenarios(**kwargs: Any) -> st.SearchStrategy[Scenario]:
    """Validated :class:`~edgeopt.scenario.model.Scenario` objects.

    Keyword arguments as :func:`scenario_dicts`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None, deadline=None)
    ... @given(scenarios(cloud=True, max_controllers=2))
    ... def check(s):
    ...     assert s.cloud == "cloud" and 1 <= len(s.controllers) <= 2
    >>> check()
    """
    return scenario_dicts(**kwargs).map(lambda d: scenario_from_dict(d, source="<hypothesis>"))


def compiled(**kwargs: Any) -> st.SearchStrategy[Problem]:
    """Core problems compiled from :func:`scenarios` (keyword arguments as :func:`scenario_dicts`)."""
    return scenarios(**kwargs).map(compile_scenario)


# ------------------------------------------------------------------ core problems
@st.composite
def _item_columns(draw: st.DrawFn, n_opts: int, n_bins: int) -> list[tuple[int, int, float, float]]:
    """(option, bin, cost, use) of one item's columns, at least one, no (option, bin) twice."""
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_opts - 1), st.integers(0, n_bins - 1)),
            min_size=1,
            max_size=n_opts * n_bins,
            unique=True,
        )
    )
    return [
        (o, b, float(draw(st.integers(-5, 20))), float(draw(st.integers(1, 10)))) for o, b in pairs
    ]


@st.composite
def core_problems(
    draw: st.DrawFn,
    *,
    min_items: int = 1,
    max_items: int = 4,
    min_bins: int = 1,
    max_bins: int = 3,
    max_options: int = 2,
    balanced: bool | None = None,
    sense: str = "min",
    tightness: float = 1.0,
) -> Problem:
    """A small core problem (docs/model.md §5).

    Every item has at least one column ``(option, bin)`` with an integer cost in
    [-5, 20] and an integer use in [1, 10] of its bin's one capacity resource
    ``cap:bN`` (capacity in [5, 30] / ``tightness``).

    Parameters
    ----------
    min_items, max_items, min_bins, max_bins : int
        Size bounds (items ``i0, ...``, bins ``b0, ...``).
    max_options : int
        Options per (item, bin) at most (ids ``o0, ...``).
    balanced : bool, optional
        Whether the capacity resources enter the bottleneck term (with a drawn
        weight w_U); None draws it.
    sense : {"min", "max"}
        Sense recorded on the problem (costs are internal minimisation costs).
    tightness : float
        > 1 shrinks capacities so they bind more often.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None, deadline=None)
    ... @given(core_problems(max_items=3, balanced=False))
    ... def check(p):
    ...     assert 1 <= p.n_items <= 3 and not p.balanced.any() and p.empty_items == []
    >>> check()
    """
    n_bins = draw(st.integers(min_bins, max_bins))
    n_opts = draw(st.integers(1, max_options))
    bal = draw(st.booleans()) if balanced is None else balanced
    per_item = draw(st.lists(_item_columns(n_opts, n_bins), min_size=min_items, max_size=max_items))
    c_item, c_bin, c_opt, cost, vals = [], [], [], [], []
    for i, cols in enumerate(per_item):
        for o, b, c, u in cols:
            c_item.append(i)
            c_bin.append(b)
            c_opt.append(o)
            cost.append(c)
            vals.append(u)
    caps = [float(draw(st.integers(5, 30))) / tightness for _ in range(n_bins)]
    w_u = float(draw(st.sampled_from([0.0, 1.0, 3.0]))) if bal else 0.0
    return Problem.from_columns(
        name="hyp-core",
        item_ids=[f"i{i}" for i in range(len(per_item))],
        bin_ids=[f"b{b}" for b in range(n_bins)],
        option_ids=[f"o{o}" for o in range(n_opts)],
        resource_ids=[f"cap:b{b}" for b in range(n_bins)],
        col_item=np.array(c_item),
        col_bin=np.array(c_bin),
        col_option=np.array(c_opt),
        col_cost=np.array(cost),
        use_rows=np.array(c_bin),
        use_cols=np.arange(len(c_item)),
        use_vals=np.array(vals),
        capacity=np.array(caps),
        balanced=np.full(n_bins, bal),
        balance_weight=w_u,
        sense=sense,
    )


def assignments(problem: Problem, *, partial: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Assignments of ``problem``: one of its columns per item, feasible or not.

    With ``partial`` some entries may be -1 (unassigned). Items without a
    column are always -1. Shrinks toward each item's first column.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from edgeopt.core.evaluate import evaluate
    >>> @settings(max_examples=5, database=None, deadline=None)
    ... @given(core_problems().flatmap(lambda p: st.tuples(st.just(p), assignments(p))))
    ... def check(pa):
    ...     p, a = pa
    ...     assert evaluate(p, a).complete
    >>> check()
    """
    per_item = []
    for i in range(problem.n_items):
        lo, hi = int(problem.item_ptr[i]), int(problem.item_ptr[i + 1])
        col = st.integers(lo, hi - 1) if hi > lo else st.just(-1)
        per_item.append(st.one_of(col, st.just(-1)) if partial and hi > lo else col)
    return st.tuples(*per_item).map(lambda t: np.array(t, dtype=np.int64))
