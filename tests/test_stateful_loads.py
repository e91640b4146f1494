"""State machines: incremental load bookkeeping equals a from-scratch evaluation after every step.

``LoadsMachine`` drives the heuristics' running loads (``Loads``) with random
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
from edgeopt.solvers.heuristics import Loads
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


class LoadsMachine(RuleBasedStateMachine):
    """Assign, unassign and reassign items; loads, U and fit tests track the evaluator."""

    @initialize(problem=problems)
    def start(self, problem):
        self.p = problem
        self.loads = Loads(problem)
        self.plan = np.full(problem.n_items, -1, dtype=np.int64)

    @rule(data=st.data())
    def assign(self, data):
        """Give an item a (new) column; a reassigned item's old column is taken off first."""
        i = data.draw(st.sampled_from([i for i in range(self.p.n_items) if self.p.item_ptr[i + 1] > self.p.item_ptr[i]]))
        j = data.draw(st.integers(int(self.p.item_ptr[i]), int(self.p.item_ptr[i + 1]) - 1))
        if self.plan[i] >= 0:
            self.loads.add(int(self.plan[i]), -1.0)
        self.loads.add(j)
        self.plan[i] = j

    @precondition(lambda self: (self.plan >= 0).any())
    @rule(data=st.data())
    def unassign(self, data):
        i = data.draw(st.sampled_from(np.flatnonzero(self.plan >= 0).tolist()))
        self.loads.add(int(self.plan[i]), -1.0)
        self.plan[i] = -1

    @invariant()
    def loads_equal_a_fresh_evaluation(self):
        ev = evaluate(self.p, self.plan)
        np.testing.assert_allclose(self.loads.load, ev.loads, rtol=1e-9, atol=1e-9)
        assert self.loads.u_max() == pytest.approx(ev.max_balanced, rel=1e-9, abs=1e-9)

    @invariant()
    def fit_test_agrees_with_the_evaluator(self):
        # A column "fits" iff adding it (on top of the current plan) keeps every load within capacity.
        fits = self.loads.fits()
        counts = np.bincount(self.plan[self.plan >= 0], minlength=self.p.n_columns)
        base = self.p.use @ counts
        for j in range(self.p.n_columns):
            lo, hi = self.p.use.indptr[j], self.p.use.indptr[j + 1]
            rows = self.p.use.indices[lo:hi]
            after = base[rows] + self.p.use.data[lo:hi]
            want = bool((after <= self.p.capacity[rows] * (1 + FEAS_TOL)).all())
            assert fits[j] == want, self.p.column_label(j)


LoadsMachine.TestCase.settings = STATEFUL
test_loads_track_the_evaluator = LoadsMachine.TestCase


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
