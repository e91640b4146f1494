"""Maintenance over time (docs/model.md §9): rounds files, carried state, policies, hindsight.

Expected values are worked out by hand or recomputed from the model's formulas (docs/model.md
§3) and networkx's own shortest paths, never read back from what the code set.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.errors import InputError
from edgeopt.rounds.carry import MIGRATION_ROW, Deployment, host_hops, round_problem
from edgeopt.rounds.generate import generate_rounds
from edgeopt.rounds.hindsight import horizon_optimum, round_optima
from edgeopt.rounds.policies import POLICIES
from edgeopt.rounds.scenario import rounds_bytes, rounds_from_dict, rounds_to_dict
from edgeopt.rounds.simulate import compile_rounds, replay, simulate
from edgeopt.scenario.generate import GeneratorConfig, generate
from edgeopt.scenario.schema import load_devices
from edgeopt.solvers.registry import get_solver
from tests.helpers import TINY_DEVICES, refused, run_cli, toy


@pytest.fixture
def devices(tmp_path: Path) -> dict:
    p = tmp_path / "devices.json"
    p.write_text(json.dumps(TINY_DEVICES))
    return load_devices(p)


def _cfg(**kw: object) -> GeneratorConfig:
    base = dict(seed=5, controllers=4, gnbs=2, requests=8, device_mix={"small": 2.0, "large": 1.0})
    base.update(kw)
    return GeneratorConfig(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------ hand-made 3-controller file
def three_controllers(catalog: dict) -> dict:
    """toy's cloud — upf — g0 — {c0, c1}, plus upf — g1 — c2; one round with r0 (at c0) and
    r1 (at c1), a second round keeping both. Hops by hand (a tree, so the routes are forced):
    c0→c1 = 2 (c0–g0–c1), c0→c2 = 4 (c0–g0–upf–g1–c2), c0→cloud = 3, c1→c2 = 4."""
    sc = toy(catalog)
    topo = sc["topology"]
    c2 = dict(topo["nodes"][3], id="c2")
    topo["nodes"] += [{"id": "g1", "kind": "gnb"}, c2]
    topo["edges"] += [
        {"source": "upf", "target": "g1", "bandwidth_mbps": 10000, "latency_ms": 1},
        {"source": "g1", "target": "c2", "bandwidth_mbps": 100, "latency_ms": 5},
    ]
    r0, r1 = copy.deepcopy(sc["requests"][0]), copy.deepcopy(sc["requests"][0])
    r1.update(id="r1", origin="c1")
    return {
        "format": "edgeopt-rounds/1",
        "name": "three",
        "window_s": sc["window_s"],
        "weights": {**sc["weights"], "migration": 0.5},
        "topology": topo,
        "catalog": catalog,
        "rounds": [
            {"round": 1, "seed": 1, "arrive": [r0, r1]},
            {"round": 2, "seed": 2},
        ],
    }


def test_migration_term_is_model_bytes_over_the_path_hand_computed(fixture_catalog: dict) -> None:
    data = three_controllers(fixture_catalog)
    rs = rounds_from_dict(data, source="three.json")
    c = compile_rounds(rs)
    base = c.bases[1]
    assert base.bin_ids == ["c0", "c1", "c2", "cloud"]
    assert c.hops.tolist() == [[0, 2, 4, 3], [2, 0, 4, 3], [4, 4, 0, 3], [3, 3, 3, 0]]
    # r0's deployed model is the full toy-vision model (10 MB) on c0, r1's the 3 MB one on c1
    state = {
        "r0": Deployment("w1.00-b32-e2", "c0", 10.0),
        "r1": Deployment("w0.50-b32-e2", "c1", 3.0),
    }
    rp = c.round_problem(1, state)
    p = rp.problem
    assert p.term_names[-1] == "migration"
    want = {  # w_M · hops · model_mb / 1000
        ("r0", "c0"): 0.0,
        ("r0", "c1"): 0.5 * 2 * 10 / 1000,
        ("r0", "c2"): 0.5 * 4 * 10 / 1000,
        ("r0", "cloud"): 0.5 * 3 * 10 / 1000,
        ("r1", "c0"): 0.5 * 2 * 3 / 1000,
        ("r1", "c1"): 0.0,
        ("r1", "c2"): 0.5 * 4 * 3 / 1000,
        ("r1", "cloud"): 0.5 * 3 * 3 / 1000,
    }
    seen = set()
    for j in range(p.n_columns):
        key = (p.item_ids[p.col_item[j]], p.bin_ids[p.col_bin[j]])
        seen.add(key)
        assert p.col_terms[j, -1] == pytest.approx(want[key], abs=1e-15)
        assert p.col_cost[j] == pytest.approx(base.col_cost[j] + want[key], abs=1e-15)
        assert bool(rp.moved[j]) == (want[key] > 0)
    assert seen == set(want)  # every host is admissible for both here
    # the keep column of each request: its old configuration on its old host
    for i, rid in enumerate(p.item_ids):
        j = int(rp.keep[i])
        d = state[rid]
        assert (p.option_ids[p.col_option[j]], p.bin_ids[p.col_bin[j]]) == (d.config, d.host)


def test_cap_is_a_migration_row_and_zero_cap_keeps_requests_home(fixture_catalog: dict) -> None:
    data = three_controllers(fixture_catalog)
    state = {
        "r0": Deployment("w1.00-b32-e2", "c0", 10.0),
        "r1": Deployment("w0.50-b32-e2", "c1", 3.0),
    }
    data["max_migrations"] = 1
    c = compile_rounds(rounds_from_dict(data, source="three.json"))
    p = c.round_problem(1, state).problem
    row = p.resource_ids.index(MIGRATION_ROW)
    assert p.capacity[row] == 1.0
    use = p.use.toarray()[row]
    hosts = [p.bin_ids[b] for b in p.col_bin]
    items = [p.item_ids[i] for i in p.col_item]
    assert use.tolist() == [float(h != state[r].host) for r, h in zip(items, hosts)]
    # a plan moving both breaks the cap; the referee says so
    a = [next(j for j in p.columns_of(i) if hosts[j] == "c2") for i in range(p.n_items)]
    ev = evaluate(p, np.array(a))
    assert not ev.feasible and any(v.startswith("migrations:") for v in ev.violations)
    data["max_migrations"] = 0
    c0 = compile_rounds(rounds_from_dict(data, source="three.json"))
    p0 = c0.round_problem(1, state).problem
    assert MIGRATION_ROW not in p0.resource_ids
    assert {(p0.item_ids[i], p0.bin_ids[b]) for i, b in zip(p0.col_item, p0.col_bin)} == {
        ("r0", "c0"),
        ("r1", "c1"),
    }


# --------------------------------------------------------------------------- done means (1)
def test_churn_zero_and_zero_migration_weight_reproduce_the_one_round_plan(
    fixture_catalog: dict, devices: dict
) -> None:
    cfg = _cfg()
    rs = generate_rounds(cfg, fixture_catalog, devices, rounds=3, churn=0.0, drift=0.0,
                         migration_weight=0.0)  # fmt: skip
    one = compile_scenario(generate(cfg, fixture_catalog, devices))
    c = compile_rounds(rs)
    for t in range(3):
        assert c.bases[t].item_ids == one.item_ids
        assert np.array_equal(c.bases[t].col_cost, one.col_cost)
    expected = {
        "resolve": get_solver("greedy")(one, seed=rs.rounds[0].seed),
        "learned": get_solver("drl")(one, seed=rs.rounds[0].seed),
    }
    for policy in POLICIES:
        sim = simulate(c, policy, solver="greedy")
        assert sim.complete and [r.migrations for r in sim.records] == [0, 0, 0]
        z = [r.objective for r in sim.records]
        if policy in expected:
            assert z == pytest.approx([expected[policy].objective] * 3, rel=1e-12)
            assert all(np.array_equal(a, expected[policy].assignment) for a in sim.assignments)
        else:  # incremental's round 1 is its own one-round plan; it keeps it unchanged
            assert z == pytest.approx([z[0]] * 3, rel=1e-12)
            assert all(np.array_equal(a, sim.assignments[0]) for a in sim.assignments)
    # and the MILP: every round is the one-round optimum
    opt = get_solver("milp")(one, seed=0)
    assert opt.status == "optimal"
    sim = simulate(c, "resolve", solver="milp")
    assert [r.objective for r in sim.records] == pytest.approx([opt.objective] * 3, rel=1e-6)


# --------------------------------------------------------------------------- done means (2)
def _independent_loads(rs, t: int, plan: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """Compute share and memory per controller from docs/model.md §3's formulas and the file."""
    s = rs.scenarios()[t]
    T = float(s.window_s)
    ctrl = {c.id: c for c in s.controllers}
    out = {c: [0.0, 0.0] for c in ctrl}
    for r in s.requests:
        cfg_id, host = plan[r.id]
        if host == "cloud":
            continue
        k = next(x for x in s.configs(r.family) if x["id"] == cfg_id)
        c = ctrl[host]
        sigma = s.host_gflops / c.gflops
        out[host][0] += r.inference_rate_hz * k["host_infer_ms"] * sigma / 1000.0 + (
            r.train_samples * k["epochs"] * k["host_train_ms_per_sample"] * sigma / (1000.0 * T)
        )
        out[host][1] += c.vm_overhead_mb + k["infer_mem_mb"] + k["train_mem_mb"]
    return {c: (v[0], v[1]) for c, v in out.items()}


def test_carried_loads_and_round_costs_are_exact_round_by_round(
    fixture_catalog: dict, devices: dict
) -> None:
    rs = generate_rounds(_cfg(requests=10), fixture_catalog, devices, rounds=4, churn=0.3,
                         drift=0.2, migration_weight=0.5)  # fmt: skip
    c = compile_rounds(rs)
    sim = simulate(c, "incremental")
    assert sim.complete
    g = rs.graph
    prev: dict[str, list[str]] = {}
    for t, (rec, plan) in enumerate(zip(sim.records, sim.plans)):
        # loads: the referee's, against the formulas
        p = c.bases[t]
        a = np.array([
            next(j for j in p.columns_of(i)
                 if [p.option_ids[p.col_option[j]], p.bin_ids[p.col_bin[j]]] == plan[rid])
            for i, rid in enumerate(p.item_ids)
        ])  # fmt: skip
        ev = evaluate(p, a)
        for cid, (u, m) in _independent_loads(rs, t, plan).items():
            assert ev.loads[p.resource_ids.index(f"compute:{cid}")] == pytest.approx(u, rel=1e-9)
            assert ev.loads[p.resource_ids.index(f"memory:{cid}")] == pytest.approx(m, rel=1e-9)
        assert rec.max_load_share == pytest.approx(ev.max_balanced, rel=1e-12)
        # Z_t = one-round Z + w_M · Σ over moved kept requests of hops · deployed model MB / 1000
        mig, moves = 0.0, 0
        for rid, (_, host) in plan.items():
            if rid in prev and prev[rid][1] != host:
                moves += 1
                old_cfg, old_host = prev[rid]
                fam = c.families[rid]
                mb = next(x["model_mb"] for x in rs.catalog["families"][fam]["configs"]
                          if x["id"] == old_cfg)  # fmt: skip
                # the generator's cloud node is called "cloud", like the bin
                hops = len(nx.shortest_path(g, old_host, host, weight="latency_ms")) - 1
                mig += 0.5 * hops * mb / 1000.0
        assert rec.migrations == moves
        assert rec.objective == pytest.approx(ev.objective + mig, rel=1e-9)
        prev = plan
    # the referee agrees with the simulation round by round when the plans are replayed
    assert replay(c, sim.plans) == pytest.approx([r.objective for r in sim.records], rel=1e-12)


# --------------------------------------------------------------------------- done means (3)
def test_horizon_optimum_is_at_most_every_policy_and_at_least_the_round_optima(
    fixture_catalog: dict, devices: dict
) -> None:
    rs = generate_rounds(_cfg(requests=6, controllers=3), fixture_catalog, devices, rounds=3,
                         churn=0.3, drift=0.2, migration_weight=2.0)  # fmt: skip
    c = compile_rounds(rs)
    sims = {pol: simulate(c, pol, solver="greedy") for pol in POLICIES}
    ro = round_optima(c, time_limit_s=30)
    h = horizon_optimum(c, time_limit_s=60, round_bounds=ro.per_round_bound,
                        starts=[s.plans for s in sims.values()])  # fmt: skip
    assert ro.proven and h.proven and h.objective is not None and ro.bound is not None
    for sim in sims.values():
        assert sim.complete
        assert h.objective <= sim.total_objective + 1e-9
    assert ro.bound <= h.objective + 1e-9
    # the optimum's plans, priced by the simulation's own round problems, cost what the MILP says
    assert sum(replay(c, h.plans)) == pytest.approx(h.objective, rel=1e-9)
    # without a start too (the MILP alone finds and proves it)
    h2 = horizon_optimum(c, time_limit_s=60)
    assert h2.proven and h2.objective == pytest.approx(h.objective, rel=1e-6)


# --------------------------------------------------------------------------- done means (4)
@pytest.fixture
def rounds_file(tmp_path: Path, fixture_catalog: dict, devices: dict) -> Path:
    rs = generate_rounds(_cfg(), fixture_catalog, devices, rounds=3, churn=0.3)
    p = tmp_path / "rounds.json"
    p.write_bytes(rounds_bytes(rs))
    return p


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["rounds"][1].update(depart=["nosuch"]),
         "rounds[1].depart[0]': unknown request 'nosuch'"),
        (lambda d: d["rounds"][1]["drift"][0].update(train_samples=-5),
         "rounds[1].drift[0].train_samples': must be >= 0, got -5"),
        (lambda d: d["rounds"][1]["arrive"][0].update(sample_kb=-1.0)
         if d["rounds"][1]["arrive"] else d["rounds"][0]["arrive"][0].update(sample_kb=-1.0),
         "sample_kb': must be >= 0, got -1.0"),
        (lambda d: d["rounds"][2].update(round=2), "rounds[2].round': round 2 out of order"),
        (lambda d: d["rounds"][1]["drift"].append(d["rounds"][1]["drift"][0]),
         "a request drifts twice"),
    ],
)  # fmt: skip
def test_bad_rounds_file_is_refused_in_one_line_and_nothing_is_written(
    capsys, tmp_path: Path, rounds_file: Path, change, says: str
) -> None:
    data = json.loads(rounds_file.read_text())
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    db, rep = tmp_path / "res.sqlite", tmp_path / "rep"
    line = refused(capsys, "simulate", bad, "--db", db, "--report", rep, "--no-progress")
    assert line.startswith(f"edgeopt: error: {bad}: field '")
    assert says in line
    assert not db.exists() and not rep.exists()


def test_generator_is_seeded_and_round_one_is_the_one_round_scenario(
    capsys, tmp_path: Path, fixture_catalog: dict, devices: dict
) -> None:
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps(TINY_DEVICES))
    args = ["generate", "--seed", "4", "--controllers", "4", "--requests", "8", "--catalog",
            "tests/data/fixture_catalog.json", "--devices", dev, "--device-mix", "small:2,large:1",
            "--rounds", "4", "--churn", "0.25"]  # fmt: skip
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for o in outs:
        code, _, err = run_cli(capsys, *args, "--out", o)
        assert code == 0, err
    assert outs[0].read_bytes() == outs[1].read_bytes()
    rs = rounds_from_dict(json.loads(outs[0].read_text()), source="a")
    assert rounds_bytes(rounds_from_dict(rounds_to_dict(rs))) == outs[0].read_bytes()
    one = generate(_cfg(seed=4), fixture_catalog, devices)
    assert list(rs.rounds[0].arrive) == one.requests
    sizes = [len(x) for x in rs.present()]
    assert sizes == [8, 8, 8, 8]  # as many arrive as leave
    assert refused(capsys, *args[:-2], "--churn", "1.5", "--out", tmp_path / "c.json",
                   says="--churn")  # fmt: skip
    assert not (tmp_path / "c.json").exists()


def test_simulate_stores_runs_and_writes_a_report(
    capsys, tmp_path: Path, rounds_file: Path
) -> None:
    db, rep = tmp_path / "res.sqlite", tmp_path / "rep"
    code, out, err = run_cli(capsys, "simulate", rounds_file, "--policy", "incremental,resolve",
                             "--solver", "greedy", "--db", db, "--report", rep, "--no-progress")  # fmt: skip
    assert code == 0, err
    assert "incremental: total Z" in out and "resolve[greedy]: total Z" in out
    con = sqlite3.connect(db)
    runs = con.execute(
        "SELECT label, n_rounds, objective FROM rounds_runs ORDER BY label"
    ).fetchall()
    per_round = con.execute(
        "SELECT label, SUM(objective), COUNT(*) FROM rounds GROUP BY label ORDER BY label"
    ).fetchall()
    con.close()
    assert [r[:2] for r in runs] == [("incremental", 3), ("resolve[greedy]", 3)]
    for (label, total, n), (label2, _, z) in zip(per_round, runs):
        assert label == label2 and n == 3 and total == pytest.approx(z, rel=1e-12)
    assert {p.name for p in rep.iterdir()} == {
        "README.md",
        "z.png",
        "cumulative.png",
        "migrations.png",
        "plan_time.png",
    }
    # run again: already stored, nothing replaced
    code, out, _ = run_cli(capsys, "simulate", rounds_file, "--policy", "incremental", "--db", db,
                           "--no-progress")  # fmt: skip
    assert code == 0 and "already stored" in out


def test_same_seed_same_simulation(fixture_catalog: dict, devices: dict) -> None:
    rs = generate_rounds(_cfg(), fixture_catalog, devices, rounds=3, churn=0.3)
    a, b = (simulate(compile_rounds(rs), "incremental") for _ in range(2))
    assert a.plans == b.plans
    assert [r.objective for r in a.records] == [r.objective for r in b.records]


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(InputError, match="unknown policy"):
        from edgeopt.rounds.run import SimulateConfig, run_simulate

        run_simulate(SimulateConfig(file="x.json", policies=["oracle"], db=None))


def test_host_hops_follow_the_fixed_routing(fixture_catalog: dict) -> None:
    rs = rounds_from_dict(three_controllers(fixture_catalog), source="three.json")
    s = rs.scenarios()[0]
    want = [[len(nx.shortest_path(s.graph, a, b, weight="latency_ms")) - 1
             for b in ("c0", "c1", "c2", "cloud")] for a in ("c0", "c1", "c2", "cloud")]  # fmt: skip
    assert host_hops(s, ["c0", "c1", "c2", "cloud"]).tolist() == want
    assert round_problem  # the one-round builder is public API


def test_incremental_with_no_budget_moves_only_requests_that_cannot_stay(
    fixture_catalog: dict, devices: dict
) -> None:
    rs = generate_rounds(_cfg(requests=10), fixture_catalog, devices, rounds=4, churn=0.3,
                         drift=0.5, migration_weight=0.0)  # fmt: skip
    c = compile_rounds(rs)
    free = simulate(c, "incremental", moves=None)
    none = simulate(c, "incremental", moves=0)
    assert free.complete and none.complete
    for t in range(1, 4):
        p = c.bases[t]
        for rid, (_, host) in none.plans[t].items():
            old = none.plans[t - 1].get(rid)
            if old is not None and old[1] != host:  # moved: it had no column on its old host
                i = p.item_ids.index(rid)
                hosts = {p.bin_ids[p.col_bin[j]] for j in p.columns_of(i)}
                assert old[1] not in hosts
    assert sum(r.migrations for r in free.records) >= 1  # the budget is what held it back
