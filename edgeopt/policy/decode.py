"""Decoding: turn a policy's scores into plans over a :class:`~edgeopt.policy.features.PolicyBatch`.

A policy is anything with ``logits(obs) -> (B, K)`` (:class:`~edgeopt.policy.network.Policy`):
the learned network, or :class:`FirstPass`, the regret greedy's own choice. :func:`beam_search`
also reads ``cost_to_go(obs) -> (B,)`` (a critic) when the policy has one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import IMPROVE_TOL
from edgeopt.policy.features import PolicyBatch
from edgeopt.policy.network import NumpyPolicy

__all__ = [
    "particle_search",
    "Policy",
    "Critic",
    "Plans",
    "FirstPass",
    "BeamResult",
    "choose",
    "rollout",
    "beam_search",
    "best_plan",
]


class Policy(Protocol):
    """What decoding needs of a policy: scores per candidate, ``-inf`` or NEG outside
    ``obs['choice']``."""

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


class Critic(Protocol):
    """A policy with a value head: per row, the cost still to come from its partial plan, in
    units of the row's cost scale (``batch.scale``), 0 for a row that is done."""

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...

    def cost_to_go(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


class Plans(Protocol):
    """What :func:`best_plan` reads: rows of plans (a :class:`PolicyBatch`, a :class:`BeamResult`)."""

    @property
    def B(self) -> int: ...

    @property
    def stuck(self) -> np.ndarray: ...

    @property
    def done(self) -> np.ndarray: ...

    def z(self, b: int) -> float: ...

    def assignment(self, b: int) -> np.ndarray: ...


class FirstPass:
    """The regret greedy's first pass as a policy: the least-ΔZ fitting column of the env's item
    (the ablation the learned policy is measured against)."""

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.where(obs["choice"], -obs["dz"], -np.inf)


def choose(
    logits: np.ndarray, choice: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """One action per row: the best choice (``rng`` None) or a sample (Gumbel-max) from the
    softmax over ``choice``; 0 for a row without any (the env then marks it stuck)."""
    z = logits if rng is None else logits.astype(np.float64) + rng.gumbel(size=logits.shape)
    action = np.argmax(np.where(choice, z, -np.inf), axis=1)
    return np.where(choice[np.arange(choice.shape[0]), action], action, 0)


def rollout(
    policy: Policy,
    problems: list[Problem],
    rng: np.random.Generator | None = None,
    *,
    order: str = "regret",
    loads: list[np.ndarray | None] | None = None,
    deadline: float | None = None,
) -> PolicyBatch:
    """Decode ``problems`` with ``policy`` (anything with ``logits(obs)``): greedy when ``rng`` is
    None, else one sample per problem; ``loads`` as in :class:`~edgeopt.core.batch.PlanBatch`.
    Returns the :class:`~edgeopt.policy.features.PolicyBatch`, finished unless ``deadline`` (a
    ``time.perf_counter()`` value) passed first: rows not done then have no plan."""
    batch = PolicyBatch(problems, order=order, merge=rng is not None, loads=loads)
    while not batch.done.all():
        if deadline is not None and time.perf_counter() >= deadline:
            break
        obs = batch.observe()
        batch.step(choose(policy.logits(obs), obs["choice"], rng))
    return batch


def particle_search(
    policy: Policy,
    problem: Problem,
    n: int,
    rng: np.random.Generator,
    *,
    order: str = "regret",
    loads: np.ndarray | None = None,
    deadline: float | None = None,
    resample: int = 4,
) -> PolicyBatch:
    """``n`` plans of ``problem`` sampled from the policy together, the critic pruning them on the
    way (sequential Monte Carlo with the critic as the weight).

    At ``resample`` evenly spaced depths the partial plans are ranked by Z so far + the critic's
    predicted cost-to-go (``scale * policy.cost_to_go``); the better half goes on twice (each
    copy then samples on its own) and the worse half, the stuck ones first, is dropped. With
    ``resample=0``, or a policy without ``cost_to_go``, it is plain sampling. Returns the
    batch (:func:`best_plan` reads it), finished unless ``deadline`` passed first."""
    batch = PolicyBatch(
        [problem] * n, order=order, merge=True, loads=None if loads is None else [loads] * n
    )
    critic = getattr(policy, "cost_to_go", None)
    T = problem.n_items
    at = (
        set(np.linspace(0, T, resample + 2)[1:-1].round().astype(int).tolist())
        if critic is not None and resample > 0 and n >= 2
        else set()
    )
    while not batch.done.all():
        if deadline is not None and time.perf_counter() >= deadline:
            break
        obs = batch.observe()
        if batch.t in at:  # the critic only (no scores): the copies observe afresh
            ctg = np.asarray(critic(obs), dtype=np.float64)  # type: ignore[misc]
            z = np.array([st.z() for st in batch.states])
            score = np.where(batch.stuck, np.inf, z + batch.scale * ctg)
            keep = np.lexsort((np.arange(n), score))[: -(-n // 2)]
            batch.copy_rows(np.sort(np.concatenate([keep, keep])[:n]))
            obs = batch.observe()
        logits = policy.logits(obs)
        batch.step(choose(logits, obs["choice"], rng))
    return batch


def best_plan(batches: Sequence[Plans]) -> tuple[np.ndarray | None, float, int]:
    """Over every row of the ``batches`` (:class:`PolicyBatch` or :class:`BeamResult`): the plan
    of least Z (the env's exact Z, fixed loads included), that Z, and how many rows got stuck
    (or were stopped unfinished)."""
    best, best_z, stuck = None, np.inf, 0
    for batch in batches:
        for b in range(batch.B):
            if batch.stuck[b] or not batch.done[b]:
                stuck += 1
                continue
            z = batch.z(b)
            if z < best_z - IMPROVE_TOL:
                best, best_z = batch.assignment(b), z
    return best, best_z, stuck


@dataclass
class BeamResult:
    """The final beam of :func:`beam_search`, row-like for :func:`best_plan`: row ``b`` is
    ``batch`` row ``rows[b]``, best score first.

    After a complete search the rows are the (at most ``width``) complete plans kept at the last
    depth; when every child of some depth got stuck, they are those stuck children; when the
    deadline stopped the search, the live partial plans (not done: no plan).
    """

    #: the search's batch (``width**2`` rows of the problem)
    batch: PolicyBatch
    #: the batch rows of the final beam, best score first
    rows: np.ndarray
    #: their scores (value-guided: Z + predicted cost to go; classic: −log-probability)
    scores: np.ndarray
    #: children dropped as stuck over the whole search
    n_stuck: int
    #: steps taken (items assigned in every live plan)
    depth: int
    #: whether the search reached the last item (False: deadline, or every child stuck)
    finished: bool

    @property
    def B(self) -> int:
        return int(self.rows.size)

    @property
    def stuck(self) -> np.ndarray:
        return self.batch.stuck[self.rows]

    @property
    def done(self) -> np.ndarray:
        return self.batch.done[self.rows]

    def z(self, b: int) -> float:
        return self.batch.z(int(self.rows[b]))

    def assignment(self, b: int) -> np.ndarray:
        return self.batch.assignment(int(self.rows[b]))


def _state_keys(batch: PolicyBatch, rows: np.ndarray) -> np.ndarray:
    """Per row, what its future depends on: loads, open items and Σ cost (two plans with equal
    keys differ only by items with identical columns trading places)."""
    n_res, n_it = int(batch.res_off[-1]), int(batch.item_off[-1])
    cost = np.array([batch.states[r].cost for r in rows.tolist()])
    return np.concatenate(
        [
            batch.load[:n_res].reshape(batch.B, -1)[rows],
            batch.open[:n_it].reshape(batch.B, -1)[rows].astype(np.float64),
            cost[:, None],
        ],
        axis=1,
    )


def beam_search(
    policy: Policy,
    problem: Problem,
    width: int,
    *,
    order: str = "regret",
    loads: np.ndarray | None = None,
    deadline: float | None = None,
    value: bool = True,
    expand: int | None = None,
) -> BeamResult:
    """Beam search over the policy's choices, guided by its critic.

    One uniform :class:`PolicyBatch` of ``width * e`` rows, ``e = min(width, expand)``
    (interchangeable columns merged into one choice). At each depth every live plan (at most
    ``width``) is expanded into its ``e`` best choices by the policy's logits (fewer when it has fewer; the first of equal
    scores first, as :func:`choose`); the children are made with
    :meth:`~edgeopt.core.batch.PlanBatch.copy_rows` and one step, then scored by
    ``Z(child) + scale * policy.cost_to_go(obs)`` — or, with ``value=False`` or a policy
    without ``cost_to_go``, by their cumulative log-probability (the classic beam). Stuck
    children are dropped; the ``width`` best distinct children (equal loads, open items and
    cost are one state; ties by row) are the next depth's plans. The children's observation is
    computed once and its logits serve the next expansion. ``width=1`` is greedy decoding
    (:func:`rollout` with ``rng`` None).

    ``loads``: fixed loads as in :class:`~edgeopt.core.batch.PlanBatch`. ``deadline`` (a
    ``time.perf_counter()`` value): when it passes the search stops and returns the live
    partial plans (no plan). :func:`best_plan` ``([result])`` gives the best complete plan.
    """
    w = int(width)
    if w < 1:
        raise ValueError(f"beam width must be at least 1, got {width}")
    e = w if expand is None else max(1, min(w, int(expand)))
    B = w * e
    batch = PolicyBatch(
        [problem] * B, order=order, merge=True, loads=None if loads is None else [loads] * B
    )
    critic = getattr(policy, "cost_to_go", None) if value else None
    live = np.zeros(1, dtype=np.int64)  # the root, row 0
    score = np.zeros(1)
    logp = np.zeros(1)
    n_stuck, depth = 0, 0
    # the network's own critic: both heads in one encoder pass (a subclass or wrapper with its
    # own cost_to_go is asked through it)
    own = isinstance(policy, NumpyPolicy) and type(policy).cost_to_go is NumpyPolicy.cost_to_go
    heads = policy.heads if isinstance(policy, NumpyPolicy) and own and critic else None

    def forward(o: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores and, with a critic, the cost-to-go: one encoder pass when the policy has both."""
        if critic is None:
            return policy.logits(o), None
        if heads is not None:
            lg_, v_ = heads(o)
            return lg_, np.where(o["left"] > 0, np.asarray(v_, dtype=np.float64), 0.0)
        return policy.logits(o), np.asarray(critic(o), dtype=np.float64)

    obs = batch.observe()
    logits, choice = policy.logits(obs), obs["choice"]
    while not batch.done[live].all():  # one problem: every live plan finishes at the same step
        if deadline is not None and time.perf_counter() >= deadline:
            return BeamResult(batch, live, score, n_stuck, depth, False)
        n = live.size
        ch = choice[live]
        lg = np.where(ch, logits[live].astype(np.float64), -np.inf)
        k = min(e, lg.shape[1])
        top = np.argsort(-lg, axis=1, kind="stable")[:, :k]  # (n, k): best first, ties by position
        ok = np.take_along_axis(ch, top, axis=1)
        # a plan without any choice gets one child stepped outside the mask: stuck, as in rollout
        dead_end = ~ok.any(axis=1)
        is_child = ok.copy()
        is_child[dead_end, 0] = True
        slot = np.arange(n)[:, None] * e + np.arange(k)[None, :]
        parent = np.broadcast_to(np.arange(n)[:, None], (n, k))
        src = np.arange(B)
        src[slot[is_child]] = live[parent[is_child]]
        actions = np.full(B, -1, dtype=np.int64)
        actions[slot[ok]] = top[ok]
        if critic is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                m = lg.max(axis=1, keepdims=True)
                lse = m + np.log(
                    np.exp(lg - np.where(np.isfinite(m), m, 0.0)).sum(axis=1, keepdims=True)
                )
                child_logp = np.full(B, -np.inf)
                child_logp[slot[ok]] = (logp[:, None] + np.take_along_axis(lg, top, axis=1) - lse)[
                    ok
                ]
        batch.copy_rows(src)
        batch.step(actions)
        depth += 1
        child = np.zeros(B, dtype=bool)
        child[slot[is_child]] = True
        good = child & ~batch.stuck
        n_stuck += int((child & batch.stuck).sum())
        if not good.any():
            return BeamResult(
                batch,
                np.flatnonzero(child),
                np.full(int(child.sum()), np.inf),
                n_stuck,
                depth,
                False,
            )
        obs = batch.observe() if (critic is not None or not batch.done[good].all()) else {}
        next_logits = None
        if critic is not None:
            next_logits, ctg_ = forward(obs)
            assert ctg_ is not None
            ctg = ctg_.reshape(B)
            z = np.array([st.z() for st in batch.states])
            sc = z + batch.scale * np.where(batch.done, 0.0, ctg)
        else:
            sc = -child_logp
        sc = np.where(good, sc, np.inf)
        cand = np.flatnonzero(good)
        cand = cand[np.lexsort((cand, sc[cand]))]  # by score, ties by row
        _, first = np.unique(_state_keys(batch, cand), axis=0, return_index=True)
        live = cand[np.sort(first)][:w]
        score = sc[live]
        if critic is None:
            logp = child_logp[live]
        if not batch.done[live].all():
            logits = policy.logits(obs) if next_logits is None else next_logits
            choice = obs["choice"]
    return BeamResult(batch, live, score, n_stuck, depth, True)
