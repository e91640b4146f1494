"""Carried state → one-round problem (docs/model.md §9.2–§9.3): the compiled round plus a
migration term per column and, under a cap, a migration-count resource row.

Every existing solver plans the result unchanged: it is an ordinary core problem whose
column costs already price moving a kept request's deployed model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from edgeopt.core.problem import CLOUD, Problem
from edgeopt.scenario.model import Scenario
from edgeopt.scenario.topology import route_from

__all__ = [
    "Deployment",
    "State",
    "RoundProblem",
    "host_hops",
    "round_problem",
    "next_state",
    "MIGRATION_ROW",
    "with_cap",
]

#: Resource id of the migration-count row a cap adds (capacity = the cap).
MIGRATION_ROW = "migrations"


@dataclass(frozen=True)
class Deployment:
    """Where a request's model is after a round: its configuration, host and model size."""

    config: str
    host: str
    model_mb: float


#: request id → its deployment after the last round
State = dict[str, Deployment]


def host_hops(s: Scenario, bin_ids: list[str]) -> np.ndarray:
    """(B, B) hop counts |P(a, b)| between the hosts (bins) of a compiled problem under the fixed
    routing of docs/model.md §2 (the bin ``cloud`` is the scenario's cloud node)."""
    node = [s.cloud if b == CLOUD else b for b in bin_ids]
    out = np.zeros((len(node), len(node)), dtype=np.int64)
    for a, u in enumerate(node):
        paths = route_from(s.graph, str(u))
        out[a] = [len(paths[str(v)]) - 1 for v in node]
    return out


@dataclass(eq=False)
class RoundProblem:
    """One round's problem with the carried state priced in.

    ``problem``: the core problem solvers see (columns = ``base``'s, or those allowed under a
    cap of 0); ``prev_bin``: each item's host bin last round (-1: arrived this round);
    ``keep``: the column that leaves the item on its host and configuration (-1: none);
    ``moved``: the column moves a kept request to another host; ``capped``: it counts against
    the cap; ``migration_mb`` / ``migration_gbl``: model MB moved and GB·links (MB·hops/1000).
    """

    problem: Problem
    prev_bin: np.ndarray
    keep: np.ndarray
    moved: np.ndarray
    capped: np.ndarray
    migration_mb: np.ndarray
    migration_gbl: np.ndarray
    weight: float
    cap: int | None

    @property
    def kept(self) -> np.ndarray:
        return self.prev_bin >= 0

    def migrations(self, assignment: np.ndarray) -> int:
        """How many kept requests ``assignment`` moves to another host."""
        return int(self.moved[np.asarray(assignment, dtype=np.int64)].sum())

    def summary(self, assignment: np.ndarray) -> dict[str, Any]:
        """Migration count, model MB moved and GB·links of ``assignment``."""
        a = np.asarray(assignment, dtype=np.int64)
        return {
            "migrations": self.migrations(a),
            "migration_mb": float(self.migration_mb[a].sum()),
            "migration_gb_links": float(self.migration_gbl[a].sum()),
        }


def round_problem(
    base: Problem,
    state: State,
    *,
    weight: float,
    cap: int | None,
    hops: np.ndarray,
) -> RoundProblem:
    """The round's problem: ``base`` (``compile_scenario(scenario)``) with, for every request kept
    from ``state``, the migration term w_M·|P(h', h)|·model_mb'/1000 on each column whose host h
    differs from its deployed host h' (model_mb' is its deployed model's size), and a
    ``migrations`` row (capacity ``cap``) counting the voluntary moves: those of a request that
    still has a column on its old host. ``cap == 0`` drops those columns instead (a capacity of 0
    is no resource). docs/model.md §9.3.
    """
    n_i = base.n_items
    bin_ix = {b: k for k, b in enumerate(base.bin_ids)}
    opt_ix = {o: k for k, o in enumerate(base.option_ids)}
    prev_bin = np.full(n_i, -1, dtype=np.int64)
    prev_opt = np.full(n_i, -1, dtype=np.int64)
    prev_mb = np.zeros(n_i)
    for i, rid in enumerate(base.item_ids):
        d = state.get(rid)
        if d is not None:
            prev_bin[i] = bin_ix[d.host]
            prev_opt[i] = opt_ix.get(d.config, -1)
            prev_mb[i] = d.model_mb
    ci, cb = base.col_item, base.col_bin
    kept_col = prev_bin[ci] >= 0
    on_old = kept_col & (cb == prev_bin[ci])
    moved = kept_col & ~on_old
    hop = np.where(kept_col, hops[np.maximum(prev_bin[ci], 0), cb], 0)
    migration_mb = np.where(moved, prev_mb[ci], 0.0)
    migration_gbl = hop * migration_mb / 1000.0
    # a request with a column on its old host may stay: moving it is a choice the cap counts
    stays_possible = np.bincount(ci[on_old], minlength=n_i) > 0
    capped = moved & stays_possible[ci]
    mig_cost = float(weight) * migration_gbl
    info = dict(base.col_info)
    info.update(
        migration_mb=migration_mb,
        migration_gb_links=migration_gbl,
        moved=moved,
        capped=capped,
    )
    p = Problem(
        name=base.name,
        sense=base.sense,
        item_ids=base.item_ids,
        bin_ids=base.bin_ids,
        option_ids=base.option_ids,
        resource_ids=base.resource_ids,
        item_ptr=base.item_ptr,
        col_item=ci,
        col_bin=cb,
        col_option=base.col_option,
        col_cost=base.col_cost + mig_cost,
        col_terms=np.column_stack([base.col_terms, mig_cost]),
        term_names=(*base.term_names, "migration"),
        use=base.use,
        capacity=base.capacity,
        balanced=base.balanced,
        balance_weight=base.balance_weight,
        meta={**base.meta, "kind": "round", "migration_weight": float(weight), "cap": cap},
        col_info=info,
    )
    p, sel = with_cap(p, capped, cap)
    keep = np.full(n_i, -1, dtype=np.int64)
    same = on_old[sel] & (p.col_option == prev_opt[p.col_item])
    cols = np.flatnonzero(same)
    keep[p.col_item[cols]] = cols  # at most one column per (item, option, bin)
    return RoundProblem(
        problem=p,
        prev_bin=prev_bin,
        keep=keep,
        moved=moved[sel],
        capped=capped[sel],
        migration_mb=migration_mb[sel],
        migration_gbl=migration_gbl[sel],
        weight=float(weight),
        cap=cap,
    )


def with_cap(p: Problem, capped: np.ndarray, cap: int | None) -> tuple[Problem, np.ndarray]:
    """``p`` with at most ``cap`` of the ``capped`` columns in a plan (None: ``p`` itself), and
    the indices of ``p``'s columns kept: a ``migrations`` row of capacity ``cap`` using 1 per
    capped column, or for ``cap == 0`` the capped columns dropped."""
    every = np.arange(p.n_columns)
    if cap is None or not capped.any():
        return p, every
    if cap == 0:
        keep = ~capped
        return p.subset(keep), every[keep]
    row = sp.csr_array(capped.astype(np.float64)[None, :])
    out = Problem(
        name=p.name,
        sense=p.sense,
        item_ids=p.item_ids,
        bin_ids=p.bin_ids,
        option_ids=p.option_ids,
        resource_ids=[*p.resource_ids, MIGRATION_ROW],
        item_ptr=p.item_ptr,
        col_item=p.col_item,
        col_bin=p.col_bin,
        col_option=p.col_option,
        col_cost=p.col_cost,
        col_terms=p.col_terms,
        term_names=p.term_names,
        use=sp.csc_array(sp.vstack([sp.csr_array(p.use), row])),
        capacity=np.r_[p.capacity, float(cap)],
        balanced=np.r_[p.balanced, False],
        balance_weight=p.balance_weight,
        meta=dict(p.meta),
        col_info=dict(p.col_info),
    )
    return out, every


def next_state(
    problem: Problem,
    assignment: np.ndarray,
    model_mb: dict[str, dict[str, float]],
    families: dict[str, str],
) -> State:
    """The deployments a plan leaves: request → (configuration, host, model size).

    ``model_mb[family][config]`` is the catalog's model size; ``families[request]`` its family.
    """
    a = np.asarray(assignment, dtype=np.int64)
    out: State = {}
    for i, j in enumerate(a.tolist()):
        rid = problem.item_ids[i]
        cfg = problem.option_ids[int(problem.col_option[j])]
        out[rid] = Deployment(
            cfg, problem.bin_ids[int(problem.col_bin[j])], model_mb[families[rid]][cfg]
        )
    return out
