"""Row copies in the plan-state engine and value-guided beam search over them."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeopt.core.compile import compile_scenario
from edgeopt.core.evaluate import evaluate
from edgeopt.core.problem import Problem
from edgeopt.policy import decode
from edgeopt.policy.decode import FirstPass, beam_search, best_plan, rollout
from edgeopt.policy.features import PolicyBatch
from edgeopt.scenario.generate import GeneratorConfig, generate
from tests import helpers
from tests.helpers import FIXTURE_CATALOG, TINY_DEVICES


# ------------------------------------------------------------------ problems
def scenario_problem(seed: int, *, controllers: int = 3, requests: int = 8) -> Problem:
    cat = json.loads(FIXTURE_CATALOG.read_text())
    cfg = GeneratorConfig(
        seed=seed,
        controllers=controllers,
        requests=requests,
        device_mix={"small": 1.0, "large": 1.0},
        load_factor=1.1,
    )
    return compile_scenario(generate(cfg, cat, TINY_DEVICES["profiles"]))


def gap_problem(seed: int, n_jobs: int = 8, **kw) -> Problem:
    """:func:`tests.helpers.gap_problem`, 8 jobs unless told."""
    return helpers.gap_problem(seed, n_jobs, **kw)


_SCENARIOS: dict[int, Problem] = {}


def make_problem(kind: str, seed: int) -> Problem:
    if kind in ("gap", "twins"):
        return gap_problem(seed, tight=0.9 + 0.1 * (seed % 3), twins=kind == "twins")
    if seed not in _SCENARIOS:  # compiling is the slow part: once per seed
        _SCENARIOS[seed] = scenario_problem(seed)
    return _SCENARIOS[seed]


# ------------------------------------------------------------------ copy_rows
_STATE = ("assignment", "overflow_count", "open", "best", "best_col", "second", "second_col")
_BATCH = ("load", "demand", "u", "done", "stuck", "actions", "chosen", "items", "open", "rest_cost")
_BATCH += ("cur", "cur_cand")


def assert_same(a: PolicyBatch, b: PolicyBatch) -> None:
    """Two batches over the same rows are in exactly the same state, and observe the same."""
    assert a.t == b.t and a.k_step == b.k_step
    for name in _BATCH:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.fit_mask(), b.fit_mask())
    oa, ob = a.observe(), b.observe()
    assert oa.keys() == ob.keys()
    for k in oa:
        np.testing.assert_array_equal(oa[k], ob[k], err_msg=k)
    np.testing.assert_array_equal(a.current_item(), b.current_item())
    for r in range(a.B):
        sa, sb = a.states[r], b.states[r]
        assert np.shares_memory(sa.load, a.load) and sa.load.base is a.load
        lo, hi = a.res_off[r], a.res_off[r + 1]
        np.testing.assert_array_equal(sa.load, a.load[lo:hi])
        for name in _STATE:
            np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name), err_msg=name)
        assert sa.cost == sb.cost and sa._u_seen == sb._u_seen
        assert not sa._mark.any()
        assert a.z(r) == b.z(r)
        np.testing.assert_array_equal(a.assignment(r), b.assignment(r))


def replay(problem: Problem, history: list[list[int]]) -> PolicyBatch:
    """A fresh batch whose row r took the actions ``history[r]``."""
    fresh = PolicyBatch([problem] * len(history))
    for s in range(len(history[0])):
        fresh.step(np.array([h[s] for h in history]))
    return fresh


@settings(max_examples=25)
@given(
    kind=st.sampled_from(["gap", "scenario"]),
    seed=st.integers(0, 3),
    B=st.integers(1, 5),
    rseed=st.integers(0, 2**32 - 1),
)
def test_copied_rows_behave_exactly_like_rows_that_replayed_the_same_actions(kind, seed, B, rseed):
    p = make_problem(kind, seed)
    rng = np.random.default_rng(rseed)
    batch = PolicyBatch([p] * B)
    history: list[list[int]] = [[] for _ in range(B)]
    while True:
        if rng.random() < 0.5:
            src = rng.integers(0, B, size=B)
            batch.copy_rows(src)
            history = [list(history[s]) for s in src]
        assert_same(batch, replay(p, history))
        if batch.done.all():
            break
        m = batch.observe()["mask"]
        act = np.where(m, rng.random(m.shape), -1.0).argmax(axis=1)
        act[rng.random(B) < 0.05] = -1  # now and then an action outside the mask: stuck
        batch.step(act)
        for r in range(B):
            history[r].append(int(act[r]))


def test_copy_rows_is_a_gather_all_at_once_and_keeps_the_loads_shared():
    p = gap_problem(4)
    batch = PolicyBatch([p] * 3)
    batch.step(np.array([0, 1, 2]))
    before = [batch.assignment(r) for r in range(3)]
    batch.copy_rows(np.array([2, 0, 1]))  # a rotation: every source is overwritten
    assert [batch.assignment(r).tolist() for r in range(3)] == [
        before[2].tolist(),
        before[0].tolist(),
        before[1].tolist(),
    ]
    batch.states[1].load[0] += 0.0  # still the batch's own loads
    for r in range(3):
        assert batch.states[r].load.base is batch.load


def test_copy_rows_refuses_a_batch_of_different_problems_or_a_wrong_shape():
    a, b = gap_problem(1), gap_problem(2)
    with pytest.raises(ValueError, match="uniform"):
        PolicyBatch([a, b]).copy_rows(np.array([0, 0]))
    with pytest.raises(ValueError, match="uniform"):
        PolicyBatch([a, a], loads=[None, np.ones(a.n_resources)]).copy_rows(np.array([0, 0]))
    with pytest.raises(ValueError):
        PolicyBatch([a, a]).copy_rows(np.array([0]))
    with pytest.raises(ValueError):
        PolicyBatch([a, a]).copy_rows(np.array([0, 2]))


# ------------------------------------------------------------------ beam search
@pytest.fixture(scope="module")
def shipped():
    from edgeopt.policy.checkpoint import load_policy

    return load_policy(None)


class ZeroCritic:
    """The policy's logits and a critic predicting nothing more to pay."""

    def __init__(self, policy):
        self.policy = policy

    def logits(self, obs):
        return self.policy.logits(obs)

    def cost_to_go(self, obs):
        return np.zeros(obs["mask"].shape[0])


class Recording(PolicyBatch):
    """A PolicyBatch that remembers itself (so a test critic can read the plan states)."""

    made: list[PolicyBatch] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Recording.made.append(self)


def record(monkeypatch) -> None:
    """Beam search builds :class:`Recording` batches (for critics reading plan states)."""
    Recording.made.clear()
    monkeypatch.setattr(decode, "PolicyBatch", Recording)


class CheapestLeft(ZeroCritic):
    """A lower bound: every open item at its cheapest column, in cost-scale units."""

    def cost_to_go(self, obs):
        batch = Recording.made[-1]
        p = batch.problems[0]
        cheapest = np.minimum.reduceat(p.col_cost, p.item_ptr[:-1])
        left = np.array([float(cheapest[st.open].sum()) for st in batch.states])
        return left / batch.scale


def ties_and_merges(policy, p: Problem, order: str) -> tuple[int, int]:
    """Along the greedy decode: steps where the best score is shared by several fitting
    candidates, and steps where interchangeable candidates were merged."""
    batch = PolicyBatch([p], order=order, merge=True)
    ties = merges = 0
    while not batch.done.all():
        obs = batch.observe()
        lg = policy.logits(obs)[0]
        ch = obs["choice"][0]
        if ch.any():
            ties += int((lg[ch] == lg[ch].max()).sum() > 1)
        merges += int((obs["mask"][0] & ~ch).any())
        batch.step(decode.choose(lg[None], ch[None]))
    return ties, merges


PROBLEMS = [("gap", s) for s in range(5)] + [("twins", s) for s in range(4)]
PROBLEMS += [("scenario", s) for s in range(4)]


@pytest.mark.parametrize("which", ["first-pass", "shipped", "shipped+critic", "shipped+bound"])
def test_width_one_is_greedy_decoding(which, shipped, monkeypatch):
    policy, order = shipped
    record(monkeypatch)
    pol = {
        "first-pass": FirstPass(),
        "shipped": policy,
        "shipped+critic": ZeroCritic(policy),
        "shipped+bound": CheapestLeft(policy),
    }[which]
    ties = merges = stuck = 0
    for kind, seed in PROBLEMS + [("gap", 100)]:
        p = gap_problem(100, tight=0.3) if seed == 100 else make_problem(kind, seed)
        greedy = rollout(pol, [p], order=order)
        for value in (True, False):
            beam = beam_search(pol, p, 1, order=order, value=value)
            want, got = best_plan([greedy]), best_plan([beam])
            if want[0] is None:
                assert got[0] is None and got[2] == 1
                stuck += 1
            else:
                np.testing.assert_array_equal(got[0], want[0])
                assert got[1:] == want[1:] and beam.finished
            np.testing.assert_array_equal(beam.batch.chosen[0], greedy.chosen[0])
        if want[0] is not None:
            t, m = ties_and_merges(pol, p, order)
            ties, merges = ties + t, merges + m
    assert stuck >= 1 and merges > 0  # the cases that could differ did occur
    if which == "first-pass":
        assert ties > 0


@pytest.mark.parametrize("width", [2, 3, 5])
@pytest.mark.parametrize("which", ["first-pass", "shipped+critic", "shipped+bound"])
def test_a_wider_beam_returns_a_plan_the_evaluator_accepts(which, width, shipped, monkeypatch):
    policy, order = shipped
    record(monkeypatch)
    pol = {"first-pass": FirstPass(), "shipped+critic": ZeroCritic(policy)}.get(
        which, CheapestLeft(policy)
    )
    found = 0
    for kind, seed in [("gap", 1), ("gap", 3), ("twins", 2), ("scenario", 0), ("scenario", 2)]:
        p = make_problem(kind, seed)
        res = beam_search(pol, p, width, order=order)
        plan, z, _ = best_plan([res])
        if plan is None:  # every child of some depth got stuck (gap-3 is tight)
            assert not res.finished and res.stuck.all() and res.n_stuck >= res.B > 0
            continue
        found += 1
        assert res.finished and res.depth == p.n_items
        assert 1 <= res.B <= width and res.done.all() and not res.stuck.any()
        ev = evaluate(p, plan)
        assert ev.feasible and ev.objective == pytest.approx(z, rel=1e-9, abs=1e-9)
        # the final beam: distinct complete plans, best score first
        plans = {tuple(res.assignment(b)) for b in range(res.B)}
        assert len(plans) == res.B and (np.diff(res.scores) >= 0).all()
    assert found >= 4


class ExactCritic(ZeroCritic):
    """The exact cost to go, by enumerating every plan of a tiny problem."""

    def __init__(self, policy, p: Problem):
        super().__init__(policy)
        cols = [list(p.columns_of(i)) for i in range(p.n_items)]
        self.plans = np.array(list(itertools.product(*cols)), dtype=np.int64)
        evs = [evaluate(p, a) for a in self.plans]
        self.z = np.array([e.objective if e.feasible else np.inf for e in evs])

    def cost_to_go(self, obs):
        batch = Recording.made[-1]
        A = np.stack([batch.assignment(r) for r in range(batch.B)])
        fits = ((A[:, None, :] < 0) | (A[:, None, :] == self.plans[None])).all(axis=2)
        best = np.where(fits, self.z[None], np.inf).min(axis=1)
        z = np.array([batch.z(r) for r in range(batch.B)])
        return np.where(batch.done, 0.0, (best - z) / batch.scale)


# tiny problems where greedy decoding gets stuck or misses the optimum
@pytest.mark.parametrize(
    "tight, seed", [(1.1, 3), (1.1, 7), (1.1, 8), (1.1, 10), (0.9, 1), (0.9, 6)]
)
def test_an_exact_critic_and_a_beam_as_wide_as_the_choices_find_the_optimum(
    tight, seed, monkeypatch
):
    record(monkeypatch)
    p = gap_problem(seed, n_jobs=6, n_agents=3, tight=tight)
    critic = ExactCritic(FirstPass(), p)
    optimum = float(critic.z.min())
    assert np.isfinite(optimum) and best_plan([rollout(critic, [p])])[1] > optimum
    res = beam_search(critic, p, 3)
    plan, z, _ = best_plan([res])
    assert plan is not None and z == pytest.approx(optimum, abs=1e-9)
    assert evaluate(p, plan).objective == pytest.approx(optimum, abs=1e-9)


def test_the_deadline_stops_the_search(shipped):
    policy, order = shipped
    p = make_problem("scenario", 1)
    res = beam_search(ZeroCritic(policy), p, 4, order=order, deadline=time.perf_counter())
    assert not res.finished and res.depth == 0 and best_plan([res]) == (None, np.inf, 1)
    big = scenario_problem(5, controllers=6, requests=30)
    t_full = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        full = beam_search(FirstPass(), big, 6)
        t_full = min(t_full, time.perf_counter() - t0)
    assert full.finished
    t0 = time.perf_counter()
    cut = beam_search(FirstPass(), big, 6, deadline=t0 + 0.3 * t_full)
    took = time.perf_counter() - t0
    assert not cut.finished and 0 < cut.depth < big.n_items and not cut.done.any()
    assert best_plan([cut]) == (None, np.inf, cut.B)
    assert took < 0.3 * t_full + 0.25  # at most one depth past the deadline (and slack)


def test_without_a_critic_the_beam_ranks_by_log_probability(shipped):
    """value=True on a policy without ``cost_to_go`` is the classic beam (value=False); with a
    critic the value-guided beam is a different search."""
    policy, order = shipped

    class ActorOnly:
        def logits(self, obs):
            return policy.logits(obs)

    p = make_problem("scenario", 3)
    for w in (2, 4):
        a = beam_search(ActorOnly(), p, w, order=order)
        b = beam_search(policy, p, w, order=order, value=False)
        c = beam_search(ZeroCritic(policy), p, w, order=order, value=False)
        for other in (b, c):
            np.testing.assert_array_equal(a.rows, other.rows)
            np.testing.assert_array_equal(a.scores, other.scores)
            np.testing.assert_array_equal(a.batch.chosen, other.batch.chosen)
        assert (a.scores > 0).all()  # −log-probabilities
        # the shipped network has a critic: its scores are Z so far + predicted cost-to-go
        v = beam_search(policy, p, w, order=order)
        assert v.finished and np.allclose(v.scores, [v.z(b) for b in range(v.B)], rtol=1e-9)


def test_a_width_below_one_is_refused():
    with pytest.raises(ValueError, match="width"):
        beam_search(FirstPass(), gap_problem(0), 0)


# ------------------------------------------------------------------ particle search
@pytest.mark.parametrize("which", ["first-pass", "shipped"])
def test_particles_without_resampling_are_plain_sampling(which, shipped):
    """resample=0 draws exactly the plans rollout samples with the same generator."""
    from edgeopt.policy.decode import particle_search

    policy = FirstPass() if which == "first-pass" else shipped[0]
    for seed in range(3):
        p = scenario_problem(seed, controllers=3, requests=9)
        a = particle_search(policy, p, 6, np.random.default_rng(seed), resample=0)
        b = rollout(policy, [p] * 6, np.random.default_rng(seed))
        assert np.array_equal(a.chosen, b.chosen)


def test_an_exact_critic_steers_the_particles_to_the_optimum(monkeypatch):
    """With the exact cost-to-go as its weight, resampling keeps the prefixes that can still
    end best: from a policy that samples uniformly (every fitting column equally likely),
    particles find the optimum clearly more often than plain sampling."""
    from edgeopt.policy.decode import particle_search

    record(monkeypatch)

    class Uniform(ExactCritic):
        def logits(self, obs):
            return np.where(obs["choice"], 0.0, -np.inf)

    hits = {0: 0, 5: 0}
    for seed in (3, 7, 8, 10):
        p = gap_problem(seed, n_jobs=6, n_agents=3, tight=1.1)
        critic = Uniform(FirstPass(), p)
        optimum = float(critic.z.min())
        for resample in hits:
            for r in range(5):
                res = particle_search(critic, p, 8, np.random.default_rng(r), resample=resample)
                plan, z, _ = best_plan([res])
                assert plan is None or evaluate(p, plan).objective == pytest.approx(z)
                hits[resample] += plan is not None and z <= optimum + 1e-9
    assert hits[5] > hits[0] + 4, hits


def test_particles_with_a_critic_are_seeded_and_refereed(shipped):
    from edgeopt.policy.decode import particle_search

    class Lower(ZeroCritic):
        def cost_to_go(self, obs):  # any deterministic critic: the open items' count / 10
            return obs["left"].astype(np.float64) / 10

    p = scenario_problem(4, controllers=3, requests=10)
    runs = [
        particle_search(Lower(shipped[0]), p, 8, np.random.default_rng(1), resample=3)
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].chosen, runs[1].chosen)
    plan, z, _ = best_plan(runs[:1])
    assert plan is not None and evaluate(p, plan).feasible
    assert evaluate(p, plan).objective == pytest.approx(z, rel=1e-12)
