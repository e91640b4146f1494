"""Metamorphic properties of the proven optimum Z* (MILP on tiny scenarios).

We cannot know Z* of a random scenario by hand, but we know how it must move
when the scenario changes: scaling every weight by k scales Z* by k, adding a
controller never worsens it, removing the cloud never improves it, and
renaming controllers leaves it unchanged. Z* = inf for a proven-infeasible
scenario, so "never improves" covers "may become infeasible".
"""

from __future__ import annotations

import copy
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeopt.core.compile import compile_scenario
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.testing import proven_optimum, scenario_dicts

#: The MILP proves optimality to a relative gap of 1e-6 (absolute 1e-6 near zero).
TOL = 1e-5

SMALL = dict(max_controllers=2, max_requests=3, max_configs=2)
META = settings(max_examples=max(10, settings.default.max_examples // 2))


def z_star(d: dict) -> float:
    return proven_optimum(compile_scenario(scenario_from_dict(d)), allow_infeasible=True)


def slack(*zs: float) -> float:
    return TOL * max([1.0, *(abs(z) for z in zs if math.isfinite(z))])


@META
@given(d=scenario_dicts(**SMALL), k=st.sampled_from([0.5, 2.0, 3.0, 10.0]))
def test_scaling_every_weight_by_k_scales_the_optimum_by_k(d, k):
    scaled = copy.deepcopy(d)
    scaled["weights"] = {name: w * k for name, w in d["weights"].items()}
    z, zk = z_star(d), z_star(scaled)
    if math.isinf(z):
        assert math.isinf(zk)
    else:
        assert abs(zk - k * z) <= slack(zk, k * z), (z, zk)


@st.composite
def with_extra_controller(draw: st.DrawFn) -> tuple[dict, dict]:
    d = draw(scenario_dicts(**SMALL))
    more = copy.deepcopy(d)
    more["topology"]["nodes"].append(
        {
            "id": "cx",
            "kind": "controller",
            "profile": "test",
            "gflops": float(draw(st.integers(5, 100))),
            "memory_mb": float(draw(st.integers(200, 2000))),
            "vm_overhead_mb": 0.0,
            "max_util": draw(st.sampled_from([0.5, 1.0])),
        }
    )
    more["topology"]["edges"].append(
        {
            "source": "g0",
            "target": "cx",
            "bandwidth_mbps": float(draw(st.integers(1, 100))),
            "latency_ms": 1.0,
        }
    )
    return d, more


@META
@given(pair=with_extra_controller())
def test_adding_a_controller_never_worsens_the_optimum(pair):
    d, more = pair
    z, z_more = z_star(d), z_star(more)
    assert z_more <= z + slack(z, z_more), (z, z_more)


@META
@given(d=scenario_dicts(**SMALL, cloud=True))
def test_removing_the_cloud_never_improves_the_optimum(d):
    no_cloud = copy.deepcopy(d)
    topo = no_cloud["topology"]
    topo["nodes"] = [n for n in topo["nodes"] if n["kind"] != "cloud"]
    topo["edges"] = [e for e in topo["edges"] if "cloud" not in (e["source"], e["target"])]
    z, z_none = z_star(d), z_star(no_cloud)
    assert z_none >= z - slack(z, z_none), (z, z_none)


@st.composite
def relabelled(draw: st.DrawFn) -> tuple[dict, dict]:
    """A scenario and a copy whose controllers are renamed by a permutation and listed in another order."""
    d = draw(scenario_dicts(**SMALL))
    ids = [n["id"] for n in d["topology"]["nodes"] if n["kind"] == "controller"]
    new = dict(zip(ids, draw(st.permutations([f"ctl-{k}" for k in range(len(ids))]))))
    r = copy.deepcopy(d)
    topo = r["topology"]
    for n in topo["nodes"]:
        n["id"] = new.get(n["id"], n["id"])
    for e in topo["edges"]:
        e["source"], e["target"] = (
            new.get(e["source"], e["source"]),
            new.get(e["target"], e["target"]),
        )
    for q in r["requests"]:
        q["origin"] = new[q["origin"]]
    topo["nodes"] = draw(st.permutations(topo["nodes"]))
    return d, r


@META
@given(pair=relabelled())
def test_relabelling_controllers_leaves_the_optimum_unchanged(pair):
    d, r = pair
    z, z_r = z_star(d), z_star(r)
    if math.isinf(z):
        assert math.isinf(z_r)
    else:
        assert abs(z - z_r) <= slack(z, z_r), (z, z_r)
