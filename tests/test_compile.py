"""Compilation (docs/model.md §3–§5) checked against numbers worked out by hand."""

from __future__ import annotations

import copy

import networkx as nx
import numpy as np
import pytest

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.scenario.topology import route_from
from tests.helpers import col, labels, toy


def test_admissible_columns_match_hand_filtering(fixture_catalog):
    p = compile_scenario(scenario_from_dict(toy(fixture_catalog)))
    # r0: k0 needs 600 MB > 550 on c1 (memory filter); everything else fits; cloud last.
    # r1: both series configs reach 0.9; both controllers fit.
    # r2: 10 ms latency keeps it on its origin c1; accuracy 0.7 drops w0.25; memory drops w1.00 on c1.
    assert labels(p) == [
        "r0/w1.00-b32-e2@c0",
        "r0/w0.50-b32-e2@c0",
        "r0/w0.50-b32-e2@c1",
        "r0/w0.25-b32-e1@c0",
        "r0/w0.25-b32-e1@c1",
        "r0/w1.00-b32-e2@cloud",
        "r1/w1.00-b16-e4@c0",
        "r1/w1.00-b16-e4@c1",
        "r1/w0.50-b16-e4@c0",
        "r1/w0.50-b16-e4@c1",
        "r1/w1.00-b16-e4@cloud",
        "r2/w0.50-b32-e2@c1",
        "r2/w1.00-b32-e2@cloud",
    ]
    assert list(p.item_ptr) == [0, 6, 11, 13]


def test_coefficients_worked_by_hand(fixture_catalog):
    p = compile_scenario(scenario_from_dict(toy(fixture_catalog)))
    res = {r: i for i, r in enumerate(p.resource_ids)}
    use = p.use.toarray()
    # r0 full model on its origin c0 (σ = 2):
    # u = 2 Hz·2 ms·2/1000 + 5000·2 epochs·5 ms·2/(1000·3600) = 0.008 + 0.0277… = 0.035777…
    j = col(p, "r0/w1.00-b32-e2@c0")
    assert use[res["compute:c0"], j] == pytest.approx(0.008 + 100000 / 3.6e6)
    assert use[res["memory:c0"], j] == pytest.approx(100 + 100 + 400)
    assert p.col_cost[j] == pytest.approx(0.0)  # best accuracy, no traffic, no cloud
    assert use[[res[k] for k in res if k.startswith("link:")], j].sum() == 0
    # r0 half model moved to c1 (σ = 4): u = 2·1·4/1000 + 5000·2·2·4/3.6e6
    j = col(p, "r0/w0.50-b32-e2@c1")
    assert use[res["compute:c1"], j] == pytest.approx(0.008 + 80000 / 3.6e6)
    assert use[res["memory:c1"], j] == pytest.approx(100 + 50 + 150)
    # D = (5000 + 2·3600)·3 kB/1000 = 36.6 MB on links c0–g0 and g0–c1.
    assert use[res["link:c0--g0"], j] == pytest.approx(36.6)
    assert use[res["link:c1--g0"], j] == pytest.approx(36.6)
    assert use[res["link:g0--upf"], j] == 0
    # cost = ω·(w_A·(0.9 − 0.8) + w_N·2 hops·36.6/1000) = 0.1 + 0.05·0.0732
    assert p.col_cost[j] == pytest.approx(0.1 + 0.05 * 0.0732)
    assert p.col_terms[j] == pytest.approx([0.1, 0.05 * 0.0732, 0.0])
    # latency = σ·1 ms + 2·(5+5) + 8·3/100·2 = 4 + 20 + 0.48; training time = 1.2 s transfer + 5000·2·2·4/1000
    info = p.col_info
    assert info["latency_ms"][j] == pytest.approx(24.48)
    assert info["train_s"][j] == pytest.approx(8 * 5000 * 3 / (1000 * 100) + 80.0)
    # r1 (ω = 2) to the cloud: path c1–g0–upf–cloud, 3 hops, D = (20000 + 3600)·1/1000 = 23.6 MB.
    j = col(p, "r1/w1.00-b16-e4@cloud")
    assert p.col_cost[j] == pytest.approx(2 * (0.05 * 3 * 23.6 / 1000 + 1.0))
    for link in ("link:c1--g0", "link:g0--upf", "link:cloud--upf"):
        assert use[res[link], j] == pytest.approx(23.6)
    assert use[res["compute:c1"], j] == 0
    # capacities: ρ, memory, max_util·bw·T/8 (default max_util 0.8 on links without one)
    assert p.capacity[res["compute:c0"]] == 0.9
    assert p.capacity[res["memory:c1"]] == 550
    assert p.capacity[res["link:cloud--upf"]] == pytest.approx(0.8 * 1000 * 3600 / 8)
    assert list(p.balanced) == [True, True] + [False] * (p.n_resources - 2)


def test_evaluator_objective_worked_by_hand(fixture_catalog):
    p = compile_scenario(scenario_from_dict(toy(fixture_catalog)))
    a = np.array(
        [col(p, "r0/w1.00-b32-e2@c0"), col(p, "r1/w0.50-b16-e4@c1"), col(p, "r2/w0.50-b32-e2@c1")]
    )
    ev = evaluate(p, a)
    # c0: r0 → 0.035777…; c1: r1 half (σ 4): 1·0.5·4/1000 + 20000·4·1.25·4/3.6e6, r2 half: 1·1·4/1000 + 1000·2·2·4/3.6e6
    u0 = 0.008 + 100000 / 3.6e6
    u1 = (0.002 + 400000 / 3.6e6) + (0.004 + 16000 / 3.6e6)
    assert ev.feasible
    assert ev.max_balanced == pytest.approx(max(u0, u1))
    # accuracy: r1 gives up 0.05 with ω = 2, r2 gives up 0.1 → 0.2; no traffic, no cloud.
    assert ev.terms == pytest.approx({"balance": u1, "accuracy": 0.2, "network": 0.0, "cloud": 0.0})
    assert ev.objective == pytest.approx(u1 + 0.2)


def test_evaluator_names_violations(fixture_catalog):
    d = toy(fixture_catalog)
    d["topology"]["nodes"][4]["memory_mb"] = 560  # c1 now holds only one VM of ≥ 280 MB
    p = compile_scenario(scenario_from_dict(d))
    # r0 half on c1 (300 MB) and r2 half on c1 (300 MB): 600 > 560
    a = np.array(
        [col(p, "r0/w0.50-b32-e2@c1"), col(p, "r1/w0.50-b16-e4@c0"), col(p, "r2/w0.50-b32-e2@c1")]
    )
    ev = evaluate(p, a)
    assert not ev.feasible
    assert ev.violations == ("memory:c1: load 600 > capacity 560",)
    a[0] = -1
    ev = evaluate(p, a)
    assert ev.violations == ("item r0: unassigned",) and not ev.complete


def test_training_time_filter(fixture_catalog):
    d = toy(fixture_catalog)
    d["window_s"] = (
        150  # r0 full model: 100 s on c0; on c1 1.2 s + 200 s > 150 (and too much memory anyway)
    )
    d["requests"][0]["min_accuracy"] = 0.8
    p = compile_scenario(scenario_from_dict(d))
    got = [x for x in labels(p) if x.startswith("r0/")]
    # half model on c1: 1.2 + 5000·2·2·4/1000 = 81.2 s ≤ 150, kept; u = 0.008 + 80/150 ≤ 0.9
    assert got == [
        "r0/w1.00-b32-e2@c0",
        "r0/w0.50-b32-e2@c0",
        "r0/w0.50-b32-e2@c1",
        "r0/w1.00-b32-e2@cloud",
    ]


def test_item_without_admissible_column_is_named(fixture_catalog):
    d = toy(fixture_catalog)
    d["topology"]["nodes"] = [n for n in d["topology"]["nodes"] if n["id"] != "cloud"]
    d["topology"]["edges"] = [e for e in d["topology"]["edges"] if e["source"] != "cloud"]
    d["requests"][2]["min_accuracy"] = 0.95  # no toy-vision config reaches 0.95
    p = compile_scenario(scenario_from_dict(d))
    assert p.empty_items == ["r2"]
    assert "cloud" not in p.bin_ids


def test_routing_tie_breaks():
    g = nx.Graph()
    # two equal-latency routes a→d: via b (2 hops) and via c (2 hops); and a 3-hop one of equal latency
    g.add_edge("a", "c", latency_ms=1.0)
    g.add_edge("c", "d", latency_ms=1.0)
    g.add_edge("a", "b", latency_ms=1.0)
    g.add_edge("b", "d", latency_ms=1.0)
    g.add_edge("a", "x", latency_ms=0.5)
    g.add_edge("x", "y", latency_ms=0.5)
    g.add_edge("y", "d", latency_ms=1.0)
    assert route_from(g, "a")["d"] == ("a", "b", "d")  # fewest hops first, then smallest ids
    g["y"]["d"]["latency_ms"] = 0.9  # now strictly shortest by latency, despite 3 hops
    assert route_from(g, "a")["d"] == ("a", "x", "y", "d")
    # float sums that differ only in the last bit still tie: 0.1+0.2 vs 0.3
    h = nx.Graph()
    h.add_edge("s", "p", latency_ms=0.1)
    h.add_edge("p", "t", latency_ms=0.2)
    h.add_edge("s", "q", latency_ms=0.2)
    h.add_edge("q", "t", latency_ms=0.1)
    assert route_from(h, "s")["t"] == ("s", "p", "t")


def test_compile_does_not_depend_on_key_order(fixture_catalog):
    d = toy(fixture_catalog)
    e = copy.deepcopy(d)
    e["requests"] = [dict(reversed(list(r.items()))) for r in e["requests"]]
    p, q = compile_scenario(scenario_from_dict(d)), compile_scenario(scenario_from_dict(e))
    assert labels(p) == labels(q) and np.array_equal(p.col_cost, q.col_cost)
