"""Properties on tiny generated scenarios, against an independent brute force.

The brute force below re-derives docs/model.md §2–§4 from the scenario JSON with
plain Python: paths by enumerating every simple path, coefficients by the
formulas, feasibility and Z by summing loads itself. It shares no code with
edgeopt's compiler or evaluator.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.scenario.model import scenario_bytes, scenario_from_dict, scenario_to_dict
from edgeopt.solvers.registry import get_solver
from edgeopt.testing import scenario_dicts


def best_path(g: nx.Graph, s: str, t: str) -> list[str]:
    if s == t:
        return [s]
    cands = []
    for p in nx.all_simple_paths(g, s, t):
        lat = sum(g.edges[u, v]["latency_ms"] for u, v in zip(p, p[1:]))
        cands.append((round(lat, 9), len(p), p))
    return min(cands)[2]


def brute_options(d: dict) -> dict[str, list[dict]]:
    """Every admissible (config, host) of every request with its loads and cost."""
    g = nx.Graph()
    for n in d["topology"]["nodes"]:
        g.add_node(n["id"], **n)
    for e in d["topology"]["edges"]:
        g.add_edge(e["source"], e["target"], **e)
    ctrls = [n for n in d["topology"]["nodes"] if n["kind"] == "controller"]
    cloud = [n["id"] for n in d["topology"]["nodes"] if n["kind"] == "cloud"]
    T = d["window_s"]
    w = d["weights"]
    hg = d["catalog"]["host_gflops"]
    out: dict[str, list[dict]] = {}
    for r in d["requests"]:
        cfgs = d["catalog"]["families"][r["family"]]["configs"]
        a_star = max(c["accuracy"] for c in cfgs)
        D = (r["train_samples"] + r["inference_rate_hz"] * T) * r["sample_kb"] / 1000
        opts = []
        for c in cfgs:
            for h in ctrls:
                sig = hg / h["gflops"]
                path = best_path(g, r["origin"], h["id"])
                links = list(zip(path, path[1:]))
                u = r["inference_rate_hz"] * c["host_infer_ms"] * sig / 1000 + r[
                    "train_samples"
                ] * c["epochs"] * c["host_train_ms_per_sample"] * sig / (1000 * T)
                m = h["vm_overhead_mb"] + c["infer_mem_mb"] + c["train_mem_mb"]
                lat = sig * c["host_infer_ms"] + sum(
                    2 * g.edges[a, b]["latency_ms"]
                    + 8 * r["sample_kb"] / g.edges[a, b]["bandwidth_mbps"]
                    for a, b in links
                )
                t = (
                    8
                    * r["train_samples"]
                    * r["sample_kb"]
                    / (1000 * min(g.edges[a, b]["bandwidth_mbps"] for a, b in links))
                    if links
                    else 0.0
                ) + r["train_samples"] * c["epochs"] * c["host_train_ms_per_sample"] * sig / 1000
                if (
                    c["accuracy"] >= r["min_accuracy"]
                    and lat <= r["max_latency_ms"]
                    and t <= T
                    and m <= h["memory_mb"]
                    and u <= h["max_util"]
                ):
                    cost = r["weight"] * (
                        w["accuracy"] * (a_star - c["accuracy"])
                        + w["network"] * len(links) * D / 1000
                    )
                    opts.append(
                        {
                            "config": c["id"],
                            "host": h["id"],
                            "u": u,
                            "m": m,
                            "links": links,
                            "D": D,
                            "cost": cost,
                        }
                    )
        if cloud:
            best = next(c for c in cfgs if c["accuracy"] == a_star)
            path = best_path(g, r["origin"], cloud[0])
            links = list(zip(path, path[1:]))
            cost = r["weight"] * (w["network"] * len(links) * D / 1000 + w["cloud"])
            opts.append(
                {
                    "config": best["id"],
                    "host": "cloud",
                    "u": 0,
                    "m": 0,
                    "links": links,
                    "D": D,
                    "cost": cost,
                }
            )
        out[r["id"]] = opts
    return out


def brute_evaluate(d: dict, choice: list[dict]) -> tuple[bool, float]:
    T = d["window_s"]
    ctrls = {n["id"]: n for n in d["topology"]["nodes"] if n["kind"] == "controller"}
    u = {c: 0.0 for c in ctrls}
    m = {c: 0.0 for c in ctrls}
    link = {}
    for o in choice:
        if o["host"] != "cloud":
            u[o["host"]] += o["u"]
            m[o["host"]] += o["m"]
        for a, b in o["links"]:
            key = tuple(sorted((a, b)))
            link[key] = link.get(key, 0.0) + o["D"]
    ok = all(u[c] <= ctrls[c]["max_util"] * (1 + 1e-9) for c in ctrls)
    ok &= all(m[c] <= ctrls[c]["memory_mb"] * (1 + 1e-9) for c in ctrls)
    for e in d["topology"]["edges"]:
        key = tuple(sorted((e["source"], e["target"])))
        cap = e.get("max_util", 0.8) * e["bandwidth_mbps"] * T / 8
        ok &= link.get(key, 0.0) <= cap * (1 + 1e-9)
    z = d["weights"]["balance"] * max(u.values()) + sum(o["cost"] for o in choice)
    return bool(ok), z


def brute_dominated(d: dict) -> set[tuple[str, str]]:
    """(family, config id) that some other config of the family beats everywhere (docs/model.md §3 is
    monotone in accuracy, per-sample inference ms, training ms × epochs and memory); the full
    model stays."""
    out = set()
    for name, fam in d["catalog"]["families"].items():
        cfgs = fam["configs"]
        full = max(range(len(cfgs)), key=lambda k: (cfgs[k]["accuracy"], -k))
        key = [
            (
                -c["accuracy"],
                c["host_infer_ms"],
                c["host_train_ms_per_sample"] * c["epochs"],
                c["infer_mem_mb"] + c["train_mem_mb"],
            )
            for c in cfgs
        ]
        for k in range(len(cfgs)):
            for k2 in range(len(cfgs)):
                if (
                    k2 != k
                    and k != full
                    and all(a <= b for a, b in zip(key[k2], key[k]))
                    and (key[k2] != key[k] or k2 < k)
                ):
                    out.add((name, cfgs[k]["id"]))
    return out


@given(scenario_dicts(max_controllers=3, max_requests=3))
def test_columns_are_exactly_the_admissible_undominated_options(d):
    p = compile_scenario(scenario_from_dict(d))
    got = sorted(
        (p.item_ids[p.col_item[j]], p.option_ids[p.col_option[j]], p.bin_ids[p.col_bin[j]])
        for j in range(p.n_columns)
    )
    dominated = brute_dominated(d)
    family = {r["id"]: r["family"] for r in d["requests"]}
    want = sorted(
        (r, o["config"], o["host"])
        for r, opts in brute_options(d).items()
        for o in opts
        if o["host"] == "cloud" or (family[r], o["config"]) not in dominated
    )
    assert got == want


@given(scenario_dicts(max_controllers=2, max_requests=3, tightness=4.0))
def test_compile_reduction_keeps_the_optimum(d):
    # The enumerated optimum over every admissible option, dominated ones included,
    # equals the MILP optimum of the compiled (reduced) problem.
    opts = brute_options(d)
    rids = [r["id"] for r in d["requests"]]
    feasible = [
        z
        for combo in itertools.product(*(opts[r] for r in rids))
        for ok, z in [brute_evaluate(d, list(combo))]
        if ok
    ]
    res = get_solver("milp")(compile_scenario(scenario_from_dict(d)), seed=0)
    if not feasible:
        assert res.status == "infeasible"
    else:
        assert res.status == "optimal"
        assert math.isclose(res.objective, min(feasible), rel_tol=1e-6, abs_tol=1e-9)


@given(scenario_dicts(max_controllers=2, max_requests=3, tightness=4.0))
def test_evaluator_agrees_with_brute_force_on_every_assignment(d):
    p = compile_scenario(scenario_from_dict(d))
    index = {
        (p.item_ids[p.col_item[j]], p.option_ids[p.col_option[j]], p.bin_ids[p.col_bin[j]]): j
        for j in range(p.n_columns)
    }
    opts = {
        r: [o for o in v if (r, o["config"], o["host"]) in index]
        for r, v in brute_options(d).items()
    }
    rids = [r["id"] for r in d["requests"]]
    best_brute = math.inf
    for combo in itertools.product(*(opts[r] for r in rids)):
        a = np.array([index[(r, o["config"], o["host"])] for r, o in zip(rids, combo)])
        ev = evaluate(p, a)
        ok, z = brute_evaluate(d, list(combo))
        assert ev.feasible == ok
        assert math.isclose(ev.objective, z, rel_tol=1e-9, abs_tol=1e-9)
        if ok:
            best_brute = min(best_brute, z)
    # greedy is feasible whenever it claims so, and never beats the enumerated optimum
    res = get_solver("greedy")(p)
    if res.has_plan:
        assert res.evaluation.feasible and res.objective >= best_brute - 1e-9


@given(scenario_dicts())
def test_scenario_json_round_trip_is_lossless(d):
    s = scenario_from_dict(d)
    back = scenario_to_dict(s)
    assert back == d
    assert scenario_bytes(scenario_from_dict(back)) == scenario_bytes(s)


@given(
    scenario_dicts(max_controllers=4, max_requests=6),
    st.sampled_from(["greedy", "random"]),
    st.integers(0, 3),
)
def test_constructive_solvers_pass_the_evaluator(d, name, seed):
    p = compile_scenario(scenario_from_dict(d))
    res = get_solver(name)(p, seed=seed)
    if p.empty_items:
        assert res.status == "infeasible" and res.assignment is None
        return
    if res.assignment is not None:
        ev = evaluate(p, res.assignment)
        assert ev.feasible and res.status in ("feasible", "optimal")
        assert math.isclose(res.objective, ev.objective, rel_tol=1e-9, abs_tol=1e-12)
    else:
        assert res.status == "error"
