"""The DRL planner: env dynamics against the evaluator, training, checkpoints, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from edgeopt.core.batch import ITEM_RULES, item_order
from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import FEAS_TOL, evaluate
from edgeopt.core.problem import Problem
from edgeopt.errors import InputError
from edgeopt.policy.features import FEATURES, PolicyBatch
from edgeopt.rl.env import PlanningEnv
from edgeopt.scenario.generate import GeneratorConfig, generate
from tests.helpers import FIXTURE_CATALOG, TINY_DEVICES, gap_problem

MIX = {"small": 1.0, "large": 1.0}


def scenario_problems(
    n: int, *, controllers: int = 3, requests: int = 10, seed0: int = 0
) -> list[Problem]:
    cat = json.loads(FIXTURE_CATALOG.read_text())
    out = []
    for s in range(seed0, seed0 + n):
        cfg = GeneratorConfig(
            seed=s, controllers=controllers, requests=requests, device_mix=MIX, load_factor=1.1
        )
        out.append(compile_scenario(generate(cfg, cat, TINY_DEVICES["profiles"])))
    return out


def random_rollout(batch: PolicyBatch, rng: np.random.Generator) -> np.ndarray:
    ret = np.zeros(batch.B)
    while not batch.done.all():
        m = batch.observe()["mask"]
        g = np.where(m, rng.random(m.shape), -1.0)
        ret += batch.step(g.argmax(axis=1))[0]
    return ret


# ------------------------------------------------------------------ env
@pytest.mark.parametrize("order", ITEM_RULES)
@pytest.mark.parametrize(
    "make", [lambda s: scenario_problems(1, seed0=s)[0], lambda s: gap_problem(s)]
)
def test_action_mask_is_exactly_the_set_of_columns_the_evaluator_accepts(make, order):
    rng = np.random.default_rng(0)
    checked = 0
    for s in range(4):
        p = make(s)
        batch = PolicyBatch([p], order=order)
        while not batch.done.all():
            obs = batch.observe()
            partial = batch.assignment(0)
            item = int(batch.current_item()[0])
            cols = list(p.columns_of(item))
            for k, j in enumerate(cols):
                trial = partial.copy()
                trial[item] = j
                ev = evaluate(
                    p, trial
                )  # unassigned items count nothing: loads of the partial plan + j
                assert bool(obs["mask"][0, k]) == bool((ev.utilisation <= 1.0 + FEAS_TOL).all())
                checked += 1
            assert not obs["mask"][0, len(cols) :].any()  # padding rows are never allowed
            m = obs["mask"][0]
            if not m.any():
                break
            batch.step(np.array([rng.choice(np.flatnonzero(m))]))
    assert checked > 50


def test_merged_choices_are_exactly_the_candidates_the_network_cannot_tell_apart():
    """Every fitting candidate points at a chosen representative with the same observation
    (features, edges); two chosen candidates never have the same observation."""
    rng = np.random.default_rng(3)
    probs = scenario_problems(3, seed0=20) + [gap_problem(2)]
    batch = PolicyBatch(probs)
    seen = 0
    while not batch.done.all():
        o = batch.observe()
        for b in np.flatnonzero(~batch.done):
            m, ch, rep = o["mask"][b], o["choice"][b], o["rep"][b]
            assert not (ch & ~m).any()
            sig = [
                (o["candidates"][b, k].tobytes(), o["edge_feats"][b, k].tobytes())
                for k in range(len(m))
            ]
            for k in np.flatnonzero(m):
                assert ch[rep[k]] and sig[rep[k]] == sig[k]
            chosen = [sig[k] for k in np.flatnonzero(ch)]
            assert len(set(chosen)) == len(chosen)
            seen += int(m.sum())
        m = o["mask"]
        batch.step(np.where(m, rng.random(m.shape), -1.0).argmax(axis=1))
    assert seen > 100


def test_lagrangian_prices_give_a_valid_bound_and_equal_prices_to_twin_resources():
    from edgeopt.core.lagrange import lagrangian_prices
    from edgeopt.solvers.cg import lagrangian_bound
    from edgeopt.solvers.registry import get_solver

    for p in scenario_problems(3, seed0=90) + [gap_problem(6)]:
        y, nu, lb = lagrangian_prices(p)
        assert (y >= 0).all() and (nu >= 0).all()
        again, _ = lagrangian_bound(p, y, nu)  # cg's independent formula
        assert again == pytest.approx(lb, rel=1e-9, abs=1e-12)
        opt = get_solver("milp")(p, time_limit_s=30)
        if opt.status == "optimal":
            assert lb <= opt.objective + 1e-9
    twins = gap_problem(1, n_agents=2)
    twins.use = sp.csc_array(twins.use[[0, 0], :])  # both bins: agent 0's use and capacity
    twins.capacity = twins.capacity[[0, 0]]
    twins.col_cost = np.repeat(twins.col_cost[0::2], 2)
    y, _, _ = lagrangian_prices(twins)
    assert y[0] == y[1]


def test_decoding_on_fixed_loads_completes_a_partial_plan_exactly():
    """The LNS repair's set-up: the freed items decoded on the others' loads give the
    evaluator's Z of the combined plan, and the episode's return is exactly its rise."""
    from edgeopt.solvers.lns import restrict
    from edgeopt.solvers.registry import get_solver

    for p in scenario_problems(2, seed0=30):
        plan = get_solver("greedy")(p).assignment
        free = np.arange(0, p.n_items, 2)
        fixed = np.asarray(p.use @ np.bincount(np.delete(plan, free), minlength=p.n_columns))
        sub, cols = restrict(p, free, np.ones(p.n_columns, dtype=bool))
        batch = PolicyBatch([sub], loads=[fixed])
        ret = random_rollout(batch, np.random.default_rng(0))
        assert not batch.stuck[0]
        combined = plan.copy()
        combined[free] = cols[batch.assignment(0)]
        ev = evaluate(p, combined)
        fixed_cost = float(p.col_cost[np.delete(plan, free)].sum())
        # the sub-plan's Z counts the fixed loads in U but not the fixed columns' cost
        assert ev.feasible
        assert batch.states[0].z() + fixed_cost == pytest.approx(ev.objective, rel=1e-9)
        u0 = max(float(fixed[p.balanced].max()), 0.0)
        base_z = fixed_cost + p.balance_weight * u0
        assert -ret[0] == pytest.approx(ev.objective - base_z, rel=1e-9, abs=1e-12)


def test_a_complete_episode_returns_minus_the_evaluators_objective():
    probs = scenario_problems(3) + [gap_problem(5, tight=1.5)]
    batch = PolicyBatch(probs)
    ret = random_rollout(batch, np.random.default_rng(1))
    for b, p in enumerate(probs):
        if not batch.stuck[b]:
            ev = evaluate(p, batch.assignment(b))
            assert ev.feasible
            assert ret[b] == pytest.approx(-ev.objective, rel=1e-9, abs=1e-12)


def test_getting_stuck_costs_more_than_any_complete_plan():
    # Two items that each need the whole single resource: the second never fits.
    p = Problem.from_columns(
        name="stuck",
        item_ids=["a", "b"],
        bin_ids=["x"],
        option_ids=["-"],
        resource_ids=["x"],
        col_item=[0, 1],
        col_bin=[0, 0],
        col_option=[0, 0],
        col_cost=[1.0, 3.0],
        use_rows=[0, 0],
        use_cols=[0, 1],
        use_vals=[1.0, 1.0],
        capacity=[1.0],
    )
    env = PlanningEnv(p)
    obs, info = env.reset(seed=0)
    assert info["action_mask"][0]
    obs, r1, term, trunc, info = env.step(0)
    assert (r1, term) == (-1.0, False) and not info["action_mask"].any()
    obs, r2, term, trunc, info = env.step(0)
    assert term and info["stuck"] and -r1 - r2 > 1.0 + 3.0


def test_the_env_asks_first_about_the_item_with_one_fitting_column_then_by_largest_regret():
    # Two bins of one resource each. c has a single column; b's best and second-best
    # differ by 4, a's by 1: the regret rule asks about c, then b, then a.
    p = Problem.from_columns(
        name="regret",
        item_ids=["a", "b", "c"],
        bin_ids=["x", "y"],
        option_ids=["-"],
        resource_ids=["x", "y"],
        col_item=[0, 0, 1, 1, 2],
        col_bin=[0, 1, 0, 1, 0],
        col_option=[0] * 5,
        col_cost=[1.0, 2.0, 1.0, 5.0, 3.0],
        use_rows=[0, 1, 0, 1, 0],
        use_cols=[0, 1, 2, 3, 4],
        use_vals=[1.0] * 5,
        capacity=[10.0, 10.0],
    )
    batch = PolicyBatch([p])
    asked = []
    while not batch.done.all():
        asked.append(int(batch.current_item()[0]))
        batch.step(np.array([0]))
    assert asked == [2, 1, 0]
    assert (
        batch.observe()["state"][0, -2] == 0.0 and not batch.stuck[0]
    )  # regret global of a finished episode
    fixed = PolicyBatch([p], order="fixed")
    assert int(fixed.current_item()[0]) == int(item_order(p)[0])


@pytest.mark.parametrize("make", [lambda s: scenario_problems(1, seed0=s)[0], gap_problem])
def test_always_taking_the_least_dz_column_is_the_regret_greedy_pass(make):
    # The env's item rule and ΔZ come from the same plan state as greedy: decoding with the
    # least-ΔZ fitting column (lowest index on ties) must rebuild greedy's first pass exactly.
    from edgeopt.solvers.heuristics import regret_pass

    for seed in range(3):
        p = make(seed)
        batch = PolicyBatch([p])
        while not batch.done[0]:
            o = batch.observe()
            dz = np.where(o["mask"][0], o["dz"][0], np.inf)
            batch.step(np.array([int(np.argmin(dz))]))
        want = regret_pass(p)
        if want is None:
            assert batch.stuck[0]
        else:
            np.testing.assert_array_equal(batch.assignment(0), want)


def test_action_masks_is_the_observed_mask():
    env = PlanningEnv(scenario_problems(1)[0])
    obs, info = env.reset(seed=0)
    while True:
        m = env.action_masks()
        assert m.dtype == bool and np.array_equal(m, obs["action_mask"].astype(bool))
        obs, _, done, _, info = env.step(int(np.flatnonzero(m)[0]))
        if done:
            break


def test_env_passes_gymnasium_check_env():
    from gymnasium.utils.env_checker import check_env

    check_env(PlanningEnv(scenario_problems(1)[0]), skip_render_check=True)
    check_env(PlanningEnv(gap_problem(3)), skip_render_check=True)


@pytest.mark.parametrize("which", ["scenario", "gap"])
def test_the_shipped_policy_runs_through_the_gymnasium_env(which):
    """The env's observation is all the network reads: the shipped policy, fed the env's
    observations with a batch axis, plans exactly what the ``drl`` solver's greedy decoding plans, and the
    episode returns -Z of that plan."""
    from edgeopt.policy.checkpoint import load_policy
    from edgeopt.solvers.registry import get_solver

    p = (
        scenario_problems(1, controllers=4, requests=14)[0]
        if which == "scenario"
        else gap_problem(5, tight=1.5)
    )
    policy, order = load_policy()
    env = PlanningEnv(p, order=order)
    obs, info = env.reset(seed=0)
    ret, done = 0.0, False
    while not done:
        logits = policy.logits({k: v[None] for k, v in obs.items()})[0]
        action = int(np.argmax(np.where(obs["choice"].astype(bool), logits, -np.inf)))
        obs, reward, done, _, info = env.step(action)
        ret += reward
    want = get_solver("drl")(p, seed=0, beam=1, samples=0)  # greedy decoding
    assert not info["stuck"] and want.assignment is not None
    np.testing.assert_array_equal(info["assignment"], want.assignment)
    assert ret == pytest.approx(-want.objective, rel=1e-9)


def test_features_come_from_core_arrays_only():
    p = gap_problem(2)
    obs = PolicyBatch([p]).observe()
    assert obs["candidates"].shape == (1, 8, len(FEATURES)) and np.isfinite(obs["candidates"]).all()


def test_interchangeable_columns_are_one_choice_and_ties_do_not_split_probability():
    """Two bins with identical capacities and costs: their columns are merged into one choice
    (the first), and every column in a class points at that representative."""
    cost = np.array([[3.0, 3.0, 5.0]] * 4)  # job x agent: agents 0 and 1 interchangeable
    n_jobs, n_agents = cost.shape
    jj, aa = np.meshgrid(np.arange(n_jobs), np.arange(n_agents), indexing="ij")
    p = Problem.from_columns(
        name="twins",
        item_ids=[f"j{k}" for k in range(n_jobs)],
        bin_ids=[f"a{k}" for k in range(n_agents)],
        option_ids=["-"],
        resource_ids=[f"a{k}" for k in range(n_agents)],
        col_item=jj.ravel(),
        col_bin=aa.ravel(),
        col_option=np.zeros(jj.size),
        col_cost=cost.ravel(),
        use_rows=aa.ravel(),
        use_cols=np.arange(jj.size),
        use_vals=np.full(jj.size, 4.0),
        capacity=np.array([10.0, 10.0, 10.0]),
    )
    batch = PolicyBatch([p])
    obs = batch.observe()
    assert obs["choice"][0, :3].tolist() == [True, False, True]
    assert obs["rep"][0, :3].tolist() == [0, 0, 2]
    batch.step(np.array([0]))  # now bin 0 has load: the twins differ
    obs = batch.observe()
    assert obs["choice"][0, :3].tolist() == [True, True, True]
    unmerged = PolicyBatch([p], merge=False).observe()
    assert np.array_equal(unmerged["choice"], unmerged["mask"])


# ------------------------------------------------------------------ agent, training, checkpoints
TINY_DIST = {
    "min_controllers": 2,
    "max_controllers": 3,
    "min_requests_per_controller": 3,
    "max_requests_per_controller": 4,
}


def tiny_problems(devices: Path, seeds: range) -> list[Problem]:
    from edgeopt.rl.data import Distribution, Sources

    d = Distribution(controllers=(2, 3), requests_per_controller=(3.0, 4.0))
    return d.problems(Sources.resolve(str(FIXTURE_CATALOG), str(devices)), seeds)


class FirstPass:
    """The regret greedy's first pass as a policy: the least-ΔZ column of the env's item."""

    def logits(self, obs):
        return np.where(obs["choice"], -obs["dz"], -np.inf)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from edgeopt.rl.agent import load_checkpoint
    from edgeopt.rl.train import Args, train

    d = tmp_path_factory.mktemp("drl")
    (d / "devices.json").write_text(json.dumps(TINY_DEVICES))
    args = Args(
        name="tiny",
        out_dir=str(d),
        curve="",
        seed=3,
        catalog=str(FIXTURE_CATALOG),
        devices=str(d / "devices.json"),
        teacher_instances=100,
        teacher_cache=str(d / "teachers.json"),
        large_every=0,
        epochs=30,
        dagger_rounds=1,
        dagger_epochs=5,
        rl_updates=2,
        rl_instances=4,
        rollouts=4,
        hidden=32,
        val_instances=8,
        val_cache=str(d / "val.json"),
        val_every=10,
        milp_time_limit=20,
        progress=False,
        **TINY_DIST,
    )
    summary = train(args)
    return d / "tiny", load_checkpoint(d / "tiny")[0], d / "devices.json", summary


def _mean_z(policy, probs):
    from edgeopt.policy.decode import rollout

    batch = rollout(policy, probs)
    assert not batch.stuck.any()
    return float(np.mean([evaluate(p, batch.assignment(b)).objective for b, p in enumerate(probs)]))


def test_short_seeded_training_beats_the_untrained_network_and_the_heuristic_first_pass(trained):
    """On fresh instances of its own (tiny) distribution, greedy decoding of the trained
    network has a lower mean Z than the same network untrained and than the regret
    greedy's first pass (the least-ΔZ column in the same item order)."""
    from edgeopt.policy.checkpoint import AgentConfig
    from edgeopt.rl.agent import Agent

    probs = tiny_problems(trained[2], range(700, 730))
    z_trained = _mean_z(trained[1].numpy_policy(), probs)
    z_untrained = _mean_z(Agent(AgentConfig(hidden=32), seed=3).numpy_policy(), probs)
    z_first = _mean_z(FirstPass(), probs)
    assert z_trained < z_first and z_trained < z_untrained, (z_trained, z_first, z_untrained)
    t = trained[3]["teachers"]
    assert t["proven"] == t["instances"] > 90 and trained[3]["dagger"][0]["states"] > 90


def test_numpy_forward_equals_the_keras_forward_for_both_heads(trained):
    agent = trained[1]
    probs = tiny_problems(trained[2], range(740, 746)) + [gap_problem(4)]
    batch = PolicyBatch(probs)
    policy = agent.numpy_policy()
    for _ in range(5):
        obs = batch.observe()
        (k, kv), (n, nv) = agent.heads(obs), policy.heads(obs)
        on = obs["choice"]
        np.testing.assert_allclose(n[on], k[on], rtol=1e-5, atol=1e-5)
        assert (n[~on] == k[~on]).all()
        np.testing.assert_allclose(nv, kv, rtol=1e-5, atol=1e-5)
        assert np.abs(nv).max() > 1e-3  # a trained critic, not a zero output
        np.testing.assert_array_equal(policy.logits(obs), n)
        np.testing.assert_array_equal(policy.value(obs), nv)
        batch.step(np.argmax(n, axis=1))


def test_the_critics_cost_to_go_is_zero_on_a_complete_plan_whatever_the_weights(trained):
    from edgeopt.policy.decode import rollout
    from edgeopt.rl.agent import Agent

    probs = tiny_problems(trained[2], range(750, 754)) + [gap_problem(2)]
    for policy in (trained[1].numpy_policy(), Agent(seed=9).numpy_policy()):
        batch = rollout(policy, probs)
        assert batch.done.all() and (~batch.stuck).sum() >= 4  # complete (a stuck one is done too)
        obs = batch.observe()
        assert (obs["left"] == 0).all()
        assert policy.value(obs).shape == (len(probs),)
        np.testing.assert_array_equal(policy.cost_to_go(obs), 0.0)
        # and not zero before the end: the output is the network's, gated only by open items
        start = PolicyBatch(probs)
        o0 = start.observe()
        assert (o0["left"] == [p.n_items for p in probs]).all()
        assert np.all(policy.cost_to_go(o0) != 0.0)


def _z_of_partial(p, plan, items):
    """Z of the plan restricted to ``items``, computed here from the problem's arrays: column
    costs plus w_U times the largest load on a balanced resource."""
    load = np.zeros(p.n_resources)
    cost = 0.0
    for i in items:
        j = int(plan[i])
        cost += float(p.col_cost[j])
        a, b = p.use.indptr[j], p.use.indptr[j + 1]
        load[p.use.indices[a:b]] += p.use.data[a:b]
    u = float(load[p.balanced].max()) if p.balanced.any() else 0.0
    return cost + p.balance_weight * u


def test_the_critics_target_on_a_dagger_state_is_the_exact_completions_cost(trained):
    from edgeopt.core.batch import cost_scale
    from edgeopt.policy.decode import rollout
    from edgeopt.rl.imitation import collect, exact_completions
    from edgeopt.solvers.highs import HighsOptions
    from edgeopt.solvers.lns import restrict
    from edgeopt.solvers.milp import solve_model

    probs = tiny_problems(trained[2], range(760, 766))
    policy = trained[1].numpy_policy()
    ps, plans, ts, counts = exact_completions(policy, probs, np.random.default_rng(4))
    assert counts["states"] == len(ps) >= 4 and counts["proven"] == counts["states"]
    samples = collect(ps, plans, record_from=ts)
    checked = 0
    for b, (p, plan, t) in enumerate(zip(ps, plans, ts)):
        first = [s for s in samples if s["problem"] == b]
        assert len(first) == p.n_items - t  # every state from the cut on, one per open item
        # the cut: the policy's first t decisions, in the env's order, are fixed
        batch = rollout(policy, [p])
        fixed_items = batch.items[0, :t]
        assert np.array_equal(plan[fixed_items], batch.assignment(0)[fixed_items])
        z_full = evaluate(p, plan).objective
        expected = (z_full - _z_of_partial(p, plan, fixed_items)) / cost_scale(p)
        assert first[0]["v_target"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert first[0]["left"] == p.n_items - t
        # and the exact completion is optimal: no other completion of the prefix is cheaper
        free = np.sort(batch.items[0, t : p.n_items])
        sub, cols = restrict(p, free, np.ones(p.n_columns, dtype=bool))
        fixed_load = np.zeros(p.n_resources)
        for i in fixed_items:
            j = int(plan[i])
            a, c = p.use.indptr[j], p.use.indptr[j + 1]
            fixed_load[p.use.indices[a:c]] += p.use.data[a:c]
        res, sub_a, _ = solve_model(
            sub, HighsOptions(time_limit_s=20, threads=1), fixed_load=fixed_load
        )
        assert res.proven_optimal
        best = plan.copy()
        best[free] = cols[sub_a]
        assert evaluate(p, best).objective == pytest.approx(z_full, rel=1e-6, abs=1e-9)
        checked += 1
    assert checked >= 4


def test_saved_and_loaded_checkpoint_reproduces_decisions_exactly(trained, tmp_path):
    from edgeopt.policy.checkpoint import read_checkpoint
    from edgeopt.policy.decode import rollout
    from edgeopt.rl.agent import load_checkpoint, save_checkpoint

    agent = trained[1]
    save_checkpoint(agent, tmp_path / "copy")
    again = load_checkpoint(tmp_path / "copy")[0]
    numpy_again = read_checkpoint(tmp_path / "copy")[0]
    probs = scenario_problems(3, seed0=40) + [gap_problem(7)]
    a = rollout(agent.numpy_policy(), probs)
    for other in (again.numpy_policy(), numpy_again, again):
        assert np.array_equal(a.actions, rollout(other, probs).actions)
    for w1, w2 in zip(agent.model.get_weights(), again.model.get_weights(), strict=True):
        assert np.array_equal(w1, w2)


def test_same_seed_twice_gives_identical_actions(trained):
    from edgeopt.policy.decode import rollout
    from edgeopt.rl.agent import Agent

    probs = scenario_problems(4, seed0=60)
    pol = trained[1].numpy_policy()
    r1 = rollout(pol, probs, np.random.default_rng(11))
    r2 = rollout(pol, probs, np.random.default_rng(11))
    assert np.array_equal(r1.actions, r2.actions)
    fresh = [
        rollout(Agent(seed=5).numpy_policy(), probs, np.random.default_rng(2)).actions
        for _ in range(2)
    ]
    assert np.array_equal(fresh[0], fresh[1])


def _break(path: Path, how: str) -> None:
    cfg = path / "config.json"
    if how == "weights":
        (path / "policy.npz").write_bytes(b"not an npz file")
    elif how == "json":
        cfg.write_text("{ nope")
    elif how == "features":
        d = json.loads(cfg.read_text())
        d["agent"]["features"] = d["agent"]["features"][:-1]
        cfg.write_text(json.dumps(d))
    elif how == "hidden":
        d = json.loads(cfg.read_text())
        d["agent"]["hidden"] = d["agent"]["hidden"] * 2
        cfg.write_text(json.dumps(d))
    elif how == "shape":
        with np.load(path / "policy.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays["res1/kernel"] = arrays["res1/kernel"][:-1]
        np.savez(path / "policy.npz", **arrays)
    elif how == "nan":
        with np.load(path / "policy.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays["score/bias"] = arrays["score/bias"] * np.nan
        np.savez(path / "policy.npz", **arrays)
    elif how == "format":
        d = json.loads(cfg.read_text())
        d["format"] = "edgeopt-drl-checkpoint/1"
        cfg.write_text(json.dumps(d))
    elif how == "missing":
        (path / "policy.npz").unlink()
    elif how == "critic":  # an actor without its critic
        with np.load(path / "policy.npz") as z:
            arrays = {k: z[k] for k in z.files if not k.startswith("value")}
        np.savez(path / "policy.npz", **arrays)


BREAKS = ["weights", "json", "features", "hidden", "shape", "nan", "format", "missing", "critic"]


@pytest.mark.parametrize("how", BREAKS)
def test_a_corrupt_or_mismatched_checkpoint_is_one_clear_input_error(trained, tmp_path, how):
    import shutil

    from edgeopt.policy.checkpoint import read_checkpoint
    from edgeopt.rl.agent import load_checkpoint

    d = tmp_path / "ck"
    shutil.copytree(trained[0], d)
    _break(d, how)
    for load in (read_checkpoint, load_checkpoint):
        with pytest.raises(InputError) as exc:
            load(d)
        assert "\n" not in str(exc.value) and str(d) in str(exc.value)


@pytest.mark.parametrize("how", ["weights", "shape", "format"])
def test_cli_reports_a_bad_checkpoint_in_one_line_with_exit_2(trained, tmp_path, how):
    """In a fresh process: stderr is exactly one line (no TensorFlow start-up lines before it)."""
    import shutil

    from edgeopt.core.io import save_problem

    d = tmp_path / "ck"
    shutil.copytree(trained[0], d)
    _break(d, how)
    f = save_problem(gap_problem(1), tmp_path / "p.json")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeopt.cli",
            "solve",
            str(f),
            "--solver",
            "drl",
            "--set",
            f"checkpoint={d}",
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert str(d) in p.stderr


def test_drl_solver_is_refereed_and_never_claims_optimality(trained):
    from edgeopt.solvers.registry import get_solver

    p = scenario_problems(1, seed0=77)[0]
    ck = str(trained[0])
    r = get_solver("drl")(p, seed=0, checkpoint=ck)
    assert (
        r.status == "feasible" and r.evaluation.feasible and r.objective == r.evaluation.objective
    )
    assert r.stats["beam_widths"] == [1, 2, 4, 8, 16]
    greedy = get_solver("drl")(p, seed=0, beam=1, samples=0, checkpoint=ck)
    assert r.objective <= greedy.objective + 1e-12 and greedy.stats["beam_widths"] == [1]
    assert greedy.objective == pytest.approx(r.stats["greedy_objective"], rel=1e-12)
    assert r.stats["sampled_plans"] == 64
    best = get_solver("drl")(p, seed=0, beam=1, samples=8, checkpoint=ck)
    assert best.objective <= greedy.objective + 1e-12 and best.stats["sampled_plans"] == 8
    again = get_solver("drl")(p, seed=0, beam=1, samples=8, checkpoint=ck)
    assert np.array_equal(best.assignment, again.assignment)
    polished = get_solver("drl+ls")(p, seed=0, checkpoint=ck)
    assert polished.status == "feasible" and polished.objective <= r.objective + 1e-12
    repaired = get_solver("drl+lns")(p, seed=0, checkpoint=ck, time_limit_s=20)
    assert repaired.objective <= r.objective + 1e-12 and "lns_repair" in repaired.stats
    # under a time limit drl spends its share on more search: its plan is at least as good
    assert repaired.stats["base_objective"] <= r.objective + 1e-12


def test_a_larger_budget_never_returns_a_worse_plan_on_the_same_seed(trained):
    """Work budgets (beam width, samples in rounds of 16) and time budgets: the schedule is one
    sequence, so more budget only goes further along it."""
    from edgeopt.solvers.registry import get_solver

    drl = get_solver("drl")
    ck = str(trained[0])
    for seed, p in enumerate(scenario_problems(3, seed0=90) + tiny_problems(trained[2], [91])):
        zs = [
            drl(p, seed=seed, checkpoint=ck, beam=w, samples=n).objective
            for w, n in ((1, 0), (2, 0), (4, 0), (16, 0), (16, 16), (16, 32), (16, 64))
        ]
        assert all(b <= a + 1e-12 for a, b in zip(zs, zs[1:])), zs
        timed = [drl(p, seed=seed, checkpoint=ck, time_limit_s=t) for t in (0.02, 0.3, 1.5)]
        z_t = [r.objective for r in timed]
        assert all(b <= a + 1e-12 for a, b in zip(z_t, z_t[1:])), z_t
        assert all(r.evaluation.feasible for r in timed)  # refereed, and always a plan
        assert timed[-1].stats["sampled_plans"] >= timed[0].stats["sampled_plans"]


def test_importing_the_drl_solver_does_not_import_tensorflow():
    code = "import sys, edgeopt.solvers.drl, edgeopt.cli; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_batch_reruns_drl_when_the_checkpoint_at_the_same_path_changes(trained, tmp_path):
    """Stored drl results are keyed by the checkpoint's weights, not only its path."""
    import shutil

    from edgeopt.batch.runner import run_batch
    from edgeopt.core.io import save_problem
    from edgeopt.policy.checkpoint import AgentConfig
    from edgeopt.rl.agent import Agent, save_checkpoint

    ck = tmp_path / "ck"
    shutil.copytree(trained[0], ck)
    (tmp_path / "in").mkdir()
    save_problem(scenario_problems(1, seed0=5)[0], tmp_path / "in" / "p.json")
    db = tmp_path / "r.sqlite"

    def run():
        return run_batch(
            [str(tmp_path / "in")],
            ["drl"],
            db,
            workers=1,
            progress=False,
            options={"drl": {"checkpoint": str(ck)}},
        )

    assert run().stored == 1
    assert run().stored == 0  # same weights: already done
    from edgeopt.batch.store import read_rows

    save_checkpoint(Agent(AgentConfig(hidden=32), seed=9), ck)  # retrained in place
    assert run().stored == 1
    z = sorted(r["objective"] for r in read_rows(db))
    assert z[0] != z[1]  # the new weights were used, not the old ones cached in this process


def test_milp_optima_reads_a_shipped_cache_and_writes_only_its_own(tmp_path):
    from edgeopt.rl.data import milp_optima

    shipped, mine = tmp_path / "shipped.json", tmp_path / "out" / "mine.json"
    a, b = gap_problem(11), gap_problem(12)
    milp_optima([a], shipped, time_limit_s=20)
    before = shipped.read_bytes()
    got = milp_optima([a], mine, time_limit_s=20, shipped=shipped)
    assert got[a.name]["status"] == "optimal" and not mine.exists()  # a hit: nothing written
    got = milp_optima([a, b], mine, time_limit_s=20, shipped=shipped)
    assert set(got) == {a.name, b.name} and shipped.read_bytes() == before
    assert set(json.loads(mine.read_text())["optima"]) >= {b.name}


@pytest.mark.parametrize("bad", [True, 3, "features", None])
def test_a_checkpoint_whose_feature_list_is_not_a_list_is_one_line(tmp_path, bad):
    """Found by hypothesis: ``"edge_features": true`` once crashed the error message itself."""
    import json
    import shutil

    from edgeopt.policy.checkpoint import CONFIG_FILE, DEFAULT_CHECKPOINT, read_checkpoint

    ck = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, ck)
    meta = json.loads((ck / CONFIG_FILE).read_text())
    meta["agent"]["edge_features"] = bad
    (ck / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(InputError, match="edge features") as err:
        read_checkpoint(ck)
    assert "\n" not in str(err.value)


def test_when_greedy_decoding_gets_stuck_the_greedy_heuristic_is_the_repair_at_every_budget(
    monkeypatch,
):
    """A policy that always takes the heaviest fitting column gets stuck on a tight problem: the
    documented repair (``greedy``'s plan) is the answer, refereed; a budget that decodes a
    better complete plan returns that instead, never a worse one; repair=False says error."""
    import edgeopt.solvers.drl as drl_mod
    from edgeopt.solvers.registry import get_solver

    class Heaviest:
        def logits(self, obs):
            return np.where(obs["choice"], obs["candidates"][..., 7], -np.inf)  # capacity_share

    assert FEATURES[7] == "capacity_share"
    monkeypatch.setattr(drl_mod, "load_policy", lambda checkpoint=None: (Heaviest(), "regret"))
    drl = get_solver("drl")
    for seed in range(20):
        p = gap_problem(seed, tight=0.9)
        r = drl(p, seed=0, beam=1, samples=0)
        if "repair" not in r.stats:
            continue
        g = get_solver("greedy")(p, seed=0)
        assert r.objective == pytest.approx(g.objective) and r.evaluation.feasible
        more = drl(p, seed=0, beam=4, samples=16)
        assert more.objective <= r.objective + 1e-12
        bare = drl(p, seed=0, beam=1, samples=0, repair=False)
        assert bare.status == "error" and bare.assignment is None and "stuck" in bare.message
        return
    pytest.fail("no tight problem made the heaviest-column policy stuck")
