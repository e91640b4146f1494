"""State machines: incremental load bookkeeping equals a from-scratch evaluation after every step.

``PlanStateMachine`` drives the plan state every planner shares with random
assign / unassign / reassign steps; ``PlanningEnvMachine`` drives the RL
environment through the Gymnasium API. After every step the trusted reference,
:func:`edgeopt.core.evaluate.evaluate` of the current (partial) plan, must
agree with the incremental state.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from edgeopt.core.evaluate import FEAS_TOL, evaluate
from edgeopt.core.plan import PlanState
from edgeopt.testing import compiled, core_problems

problems = st.one_of(
    core_problems(max_items=5, max_bins=3, max_options=2, tightness=2.0),
    compiled(max_controllers=2, max_requests=4),
).filter(lambda p: p.n_columns > 0)

STATEFUL = settings(
    max_examples=max(10, settings.default.max_examples // 3),
    stateful_step_count=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class PlanStateMachine(RuleBasedStateMachine):
    """Assign, unassign and reassign items on a tracking :class:`PlanState`; loads, U, Z,
    the fit counts and every open item's best / second-best ΔZ match a fresh computation."""

    @initialize(problem=problems)
    def start(self, problem):
        self.p = problem
        self.st = PlanState(problem, track=True)
        self.plan = np.full(problem.n_items, -1, dtype=np.int64)

    @rule(data=st.data())
    def assign(self, data):
        """Give an item a (new) column; a reassigned item's old column is taken off first."""
        i = data.draw(
            st.sampled_from(
                [i for i in range(self.p.n_items) if self.p.item_ptr[i + 1] > self.p.item_ptr[i]]
            )
        )
        j = data.draw(st.integers(int(self.p.item_ptr[i]), int(self.p.item_ptr[i + 1]) - 1))
        self.st.move(i, j)
        self.plan[i] = j

    @precondition(lambda self: (self.plan >= 0).any())
    @rule(data=st.data())
    def unassign(self, data):
        i = data.draw(st.sampled_from(np.flatnonzero(self.plan >= 0).tolist()))
        assert self.st.remove(i) == self.plan[i]
        self.plan[i] = -1

    @invariant()
    def loads_and_z_equal_a_fresh_evaluation(self):
        ev = evaluate(self.p, self.plan)
        np.testing.assert_array_equal(self.st.assignment, self.plan)
        np.testing.assert_allclose(self.st.load, ev.loads, rtol=1e-9, atol=1e-9)
        assert self.st.u() == pytest.approx(ev.max_balanced, rel=1e-9, abs=1e-9)
        assert self.st.z() == pytest.approx(ev.objective, rel=1e-9, abs=1e-9)
        fresh = PlanState(self.p, self.plan)  # built from the plan in one go
        np.testing.assert_allclose(fresh.load, ev.loads, rtol=1e-9, atol=1e-9)
        assert fresh.z() == pytest.approx(ev.objective, rel=1e-9, abs=1e-9)

    def _fresh(self):
        """(fits, ΔZ) of every column on top of the current plan, from the evaluator's loads."""
        ev = evaluate(self.p, self.plan)
        use = self.p.use.toarray()
        after = ev.loads[:, None] + use
        fits = ((after / self.p.capacity[:, None] <= 1 + FEAS_TOL) | (use == 0)).all(axis=0)
        u = ev.max_balanced
        if self.p.balanced.any():
            u_after = np.maximum(
                np.where(use[self.p.balanced] > 0, after[self.p.balanced], -np.inf).max(axis=0), u
            )
        else:
            u_after = np.full(self.p.n_columns, u)
        dz = self.p.col_cost + self.p.balance_weight * (u_after - u)
        return fits, dz

    @invariant()
    def fit_counts_agree_with_the_evaluator(self):
        fits, _ = self._fresh()
        np.testing.assert_array_equal(self.st.overflow_count == 0, fits)
        np.testing.assert_array_equal(self.st.fits(np.arange(self.p.n_columns)), fits)

    @invariant()
    def open_items_know_their_best_and_second_best(self):
        fits, dz = self._fresh()
        for i in np.flatnonzero(self.plan < 0):
            lo, hi = int(self.p.item_ptr[i]), int(self.p.item_ptr[i + 1])
            vals = np.sort(np.where(fits[lo:hi], dz[lo:hi], np.inf))
            want_best = vals[0] if vals.size else np.inf
            want_second = vals[1] if vals.size > 1 else np.inf
            assert self.st.best[i] == pytest.approx(want_best, rel=1e-9, abs=1e-12)
            assert self.st.second[i] == pytest.approx(want_second, rel=1e-9, abs=1e-12)
            if np.isfinite(want_best):
                j = self.st.best_col[i]
                assert (
                    lo <= j < hi
                    and fits[j]
                    and dz[j] == pytest.approx(want_best, rel=1e-9, abs=1e-12)
                )


PlanStateMachine.TestCase.settings = STATEFUL
test_plan_state_tracks_the_evaluator = PlanStateMachine.TestCase


# ------------------------------------------------------------------ the RL environment
try:
    from edgeopt.rl import env as env_mod
except ImportError:  # the environment is optional (needs gymnasium)
    env_mod = None


class PlanningEnvMachine(RuleBasedStateMachine):
    """Masked random actions (and resets) in ``PlanningEnv``: the partial plan stays feasible
    and the episode's summed reward is exactly -Z of the partial plan."""

    @initialize(problem=problems)
    def start(self, problem):
        self.p = problem
        self.env = env_mod.PlanningEnv(problem)
        self.reset()

    @rule()
    def reset(self):
        obs, info = self.env.reset(seed=0)
        self.ret = 0.0
        self.done = False
        self.stuck = False
        self.steps = 0
        self.mask = np.asarray(info["action_mask"], dtype=bool)
        self.plan = np.full(self.p.n_items, -1, dtype=np.int64)

    @precondition(lambda self: not self.done and self.mask.any())
    @rule(data=st.data())
    def act(self, data):
        a = data.draw(st.sampled_from(np.flatnonzero(self.mask).tolist()), label="action")
        _, reward, terminated, truncated, info = self.env.step(a)
        assert not truncated
        self.ret += reward
        self.steps += 1
        self.done = terminated
        self.mask = np.asarray(info["action_mask"], dtype=bool)
        self.stuck = bool(info.get("stuck", False))
        self.plan = np.asarray(self.env.batch.assignment(0), dtype=np.int64)
        if terminated and not self.stuck:
            np.testing.assert_array_equal(info["assignment"], self.plan)

    @invariant()
    def partial_plan_is_feasible_and_return_is_minus_z(self):
        if not hasattr(self, "plan"):
            return
        assigned = self.plan >= 0
        assert int(assigned.sum()) == self.steps
        ev = evaluate(self.p, self.plan)
        over = [v for v in ev.violations if "unassigned" not in v]
        assert over == [], over
        if not self.stuck:
            assert self.ret == pytest.approx(-ev.objective, rel=1e-6, abs=1e-9)


PlanningEnvMachine.TestCase.settings = STATEFUL
test_planning_env_tracks_the_evaluator = pytest.mark.skipif(
    env_mod is None, reason="edgeopt.rl.env is not available"
)(PlanningEnvMachine.TestCase)
