"""Strategic-oscillation tabu search on the plan state: shift, swap and ejection chains.

The search walks complete plans that may break capacities. It minimises the
penalised objective

    Z(x) + Σ_ℓ w_ℓ · max(0, load_ℓ / cap_ℓ − 1)

where Z is docs/model.md §5's objective (column costs plus w_U · U, U the largest
balanced load) and the weights w_ℓ adapt: a resource that stays over capacity
gets dearer every step, and while the plan is feasible every weight relaxes. So
the search oscillates across the feasibility boundary, where the good plans of
tight instances live (Yagiura, Ibaraki & Glover's ejection-chain tabu search
for the GAP; Glover's strategic oscillation).

Moves, each evaluated exactly and incrementally (only the rows a move touches;
U from the top three balanced loads):

- *shift*: one item takes another of its columns;
- *swap*: two items on different bins exchange bins, each keeping its option;
- *ejection chain* (depth 2): an item moves onto a resource and pushes it over
  capacity, and an item using that resource leaves it for another column.

Each step takes the best admissible move by penalised value. A move back onto a
column an item left less than ``tenure`` steps ago is tabu, unless it gives a
feasible plan better than the best so far (aspiration). After ``restart`` steps
without a new best the search returns to the best plan with fresh weights.

The kernels are numba-compiled loops over the problem's CSC arrays (no Python
object per column); the driver :func:`oscillate` runs them in chunks so it can
honour a deadline, referees every new best with the evaluator, and records a
trace of (seconds, Z) improvements.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import scipy.sparse as sp

from edgeopt.core.evaluate import FEAS_TOL, evaluate, objectives_agree
from edgeopt.core.problem import Problem
from edgeopt.core.tolerances import ASPIRATION_RTOL, IMPROVE_TOL, POSITIVE_FLOOR, TINY
from edgeopt.errors import SolverError

__all__ = ["OscillationArrays", "Search", "oscillate", "penalised_state", "start_search"]

_LIM = 1.0 + FEAS_TOL
_NEG = -np.inf

# slots of the scalar state vectors (float ``sf`` and int ``si``)
_F_COST, _F_BEST_Z, _F_ALPHA, _F_BETA, _F_WMIN, _F_W0, _F_FLOOR, _F_UMAX = range(8)
_I_IT, _I_NVIOL, _I_STALL, _I_SEED, _I_TMIN, _I_TMAX, _I_RESTART = range(7)
_I_SWAPK, _I_CHAINK, _I_SAMPLE, _I_NEWBEST, _I_MOVES_SHIFT, _I_MOVES_SWAP = range(7, 13)
_I_MOVES_CHAIN, _I_RESTARTS, _I_FEAS_STEPS, _I_SINCE_RESTART, _I_STALL_LIMIT = range(13, 18)


@dataclass
class OscillationArrays:
    """The problem's arrays as the kernels read them (built once per problem)."""

    item_ptr: np.ndarray
    col_item: np.ndarray
    col_bin: np.ndarray
    col_key: np.ndarray  # option · n_bins + bin
    sorted_key: np.ndarray  # per item: its columns' keys sorted ...
    sorted_col: np.ndarray  # ... and the column of each sorted key
    cost: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    vals: np.ndarray
    cap: np.ndarray
    is_bal: np.ndarray
    bal_rows: np.ndarray
    w_u: float
    n_bins: int  # the divisor of col_key

    @classmethod
    def of(cls, p: Problem) -> OscillationArrays:
        use = sp.csc_array(p.use)
        use.sort_indices()
        n_bins = max(p.n_bins, 1)
        key = p.col_option.astype(np.int64) * n_bins + p.col_bin.astype(np.int64)
        order = np.lexsort((key, p.col_item))  # columns are grouped by item already
        w_u = float(p.balance_weight) if p.balanced.any() else 0.0
        return cls(
            item_ptr=p.item_ptr.astype(np.int64),
            col_item=p.col_item.astype(np.int64),
            col_bin=p.col_bin.astype(np.int64),
            col_key=key,
            sorted_key=key[order],
            sorted_col=order.astype(np.int64),
            cost=p.col_cost.astype(np.float64),
            indptr=use.indptr.astype(np.int64),
            rows=use.indices.astype(np.int64),
            vals=use.data.astype(np.float64),
            cap=p.capacity.astype(np.float64),
            is_bal=p.balanced.astype(np.bool_),
            bal_rows=np.flatnonzero(p.balanced).astype(np.int64),
            w_u=w_u,
            n_bins=n_bins,
        )


# ----------------------------------------------------------------- kernels


@nb.njit(cache=True)
def _exc(load, cap):
    x = load / cap - 1.0
    return x if x > 0.0 else 0.0


@nb.njit(cache=True)
def _viol(load, cap):
    return 1 if load / cap > _LIM else 0


@nb.njit(cache=True)
def _aspire(best_z):
    return ASPIRATION_RTOL * max(1.0, abs(best_z)) if best_z < np.inf else 0.0


@nb.njit(cache=True)
def _loads(assign, indptr, rows, vals, n_rows, base):
    load = base.copy()
    for i in range(assign.size):
        j = assign[i]
        if j < 0:
            continue
        for k in range(indptr[j], indptr[j + 1]):
            load[rows[k]] += vals[k]
    return load


@nb.njit(cache=True)
def _top3(load, bal_rows):
    v0 = v1 = v2 = _NEG
    r0 = r1 = r2 = -1
    for r in bal_rows:
        x = load[r]
        if x > v0:
            v2, r2, v1, r1 = v1, r1, v0, r0
            v0, r0 = x, r
        elif x > v1:
            v2, r2 = v1, r1
            v1, r1 = x, r
        elif x > v2:
            v2, r2 = x, r
    return v0, r0, v1, r1, v2, r2


@nb.njit(cache=True)
def _max_unmarked(load, bal_rows, mark, top):
    """Largest balanced load among rows not marked (touched by the move being evaluated)."""
    v0, r0, v1, r1, v2, r2 = top
    if r0 < 0:
        return _NEG
    if mark[r0] == 0:
        return v0
    if r1 < 0:
        return _NEG
    if mark[r1] == 0:
        return v1
    if r2 < 0:
        return _NEG
    if mark[r2] == 0:
        return v2
    best = _NEG
    for r in bal_rows:
        if mark[r] == 0 and load[r] > best:
            best = load[r]
    return best


@nb.njit(cache=True)
def _find_col(item, key, item_ptr, sorted_key, sorted_col):
    lo, hi = item_ptr[item], item_ptr[item + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_key[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < item_ptr[item + 1] and sorted_key[lo] == key:
        return sorted_col[lo]
    return -1


@nb.njit(cache=True)
def _eval_set(outs, ins, n_out, n_in, load, pw, A, dl, mark, touched, top, u_now, floor):
    """Exact change of (cost, penalty, violated rows) and the new U when the columns ``outs``
    leave and ``ins`` enter. Scratch ``dl``/``mark`` are left clean."""
    (_, _, _, _, cost, indptr, rows, vals, cap, is_bal, bal_rows, w_u) = A
    nt = 0
    dcost = 0.0
    for q in range(n_out):
        j = outs[q]
        dcost -= cost[j]
        for k in range(indptr[j], indptr[j + 1]):
            r = rows[k]
            if mark[r] == 0:
                mark[r] = 1
                touched[nt] = r
                nt += 1
            dl[r] -= vals[k]
    for q in range(n_in):
        j = ins[q]
        dcost += cost[j]
        for k in range(indptr[j], indptr[j + 1]):
            r = rows[k]
            if mark[r] == 0:
                mark[r] = 1
                touched[nt] = r
                nt += 1
            dl[r] += vals[k]
    dpen = 0.0
    dnv = 0
    ut = _NEG
    for q in range(nt):
        r = touched[q]
        old = load[r]
        new = old + dl[r]
        dpen += pw[r] * (_exc(new, cap[r]) - _exc(old, cap[r]))
        dnv += _viol(new, cap[r]) - _viol(old, cap[r])
        if is_bal[r] and new > ut:
            ut = new
    u_new = u_now
    if w_u != 0.0:
        un = _max_unmarked(load, bal_rows, mark, top)
        u_new = max(max(ut, un), floor)
    for q in range(nt):
        r = touched[q]
        dl[r] = 0.0
        mark[r] = 0
    return dcost + w_u * (u_new - u_now), dpen, dnv


@nb.njit(cache=True)
def _apply(j_out, j_in, assign, load, indptr, rows, vals, col_item):
    if j_out >= 0:
        for k in range(indptr[j_out], indptr[j_out + 1]):
            load[rows[k]] -= vals[k]
    for k in range(indptr[j_in], indptr[j_in + 1]):
        load[rows[k]] += vals[k]
    assign[col_item[j_in]] = j_in


@nb.njit(cache=True)
def _best_shift(
    i, assign, load, pw, A, dl, mark, top, u_now, floor, tabu, it, z_now, best_z, nviol
):
    """Best admissible shift of item ``i``: (score, column, ΔZ, Δviolations); column -1: none."""
    (item_ptr, _, _, _, cost, indptr, rows, vals, cap, is_bal, bal_rows, w_u) = A
    a = assign[i]
    pen_rem = 0.0
    nv_rem = 0
    ut = _NEG
    for k in range(indptr[a], indptr[a + 1]):
        r = rows[k]
        dl[r] -= vals[k]
        mark[r] = 1
    for k in range(indptr[a], indptr[a + 1]):
        r = rows[k]
        old = load[r]
        new = old + dl[r]
        pen_rem += pw[r] * (_exc(new, cap[r]) - _exc(old, cap[r]))
        nv_rem += _viol(new, cap[r]) - _viol(old, cap[r])
        if is_bal[r] and new > ut:
            ut = new
    u_rem = u_now
    if w_u != 0.0:
        u_rem = max(max(ut, _max_unmarked(load, bal_rows, mark, top)), floor)
    best_s = np.inf
    best_j = -1
    best_dz = 0.0
    best_dnv = 0
    for b in range(item_ptr[i], item_ptr[i + 1]):
        if b == a:
            continue
        dpen = pen_rem
        dnv = nv_rem
        ub = u_rem
        for k in range(indptr[b], indptr[b + 1]):
            r = rows[k]
            base = load[r] + dl[r]
            new = base + vals[k]
            if new > cap[r]:  # else (uses are ≥ 0) neither load exceeds cap: no change
                dpen += pw[r] * (_exc(new, cap[r]) - _exc(base, cap[r]))
                dnv += _viol(new, cap[r]) - _viol(base, cap[r])
            if is_bal[r] and new > ub:
                ub = new
        dz = cost[b] - cost[a] + w_u * (ub - u_now)
        s = dz + dpen
        if s < best_s:
            if tabu[b] > it and not (nviol + dnv == 0 and z_now + dz < best_z - _aspire(best_z)):
                continue
            best_s, best_j, best_dz, best_dnv = s, b, dz, dnv
    for k in range(indptr[a], indptr[a + 1]):
        r = rows[k]
        dl[r] = 0.0
        mark[r] = 0
    return best_s, best_j, best_dz, best_dnv


@nb.njit(cache=True)
def _run(
    A,
    item_ptr,
    col_item,
    col_bin,
    col_key,
    n_bins_key,
    sorted_key,
    sorted_col,
    r_ptr,
    r_col,
    assign,
    load,
    pw,
    tabu,
    best,
    sf,
    si,
    n_steps,
):
    """``n_steps`` steps of the search from the state in (assign, load, pw, tabu, sf, si)."""
    (_, _, _, _, cost, indptr, rows, vals, cap, is_bal, bal_rows, w_u) = A
    n_items = assign.size
    n_rows = load.size
    dl = np.zeros(n_rows)
    mark = np.zeros(n_rows, np.int8)
    touched = np.empty(n_rows, np.int64)
    outs = np.empty(2, np.int64)
    ins = np.empty(2, np.int64)
    prio = np.empty(n_items, np.int64)
    cand = np.empty(n_items, np.int64)
    if si[_I_IT] == 0:  # one stream per search, whatever the chunk sizes: same seed, same plan
        np.random.seed(si[_I_SEED])
    tmin, tmax = si[_I_TMIN], si[_I_TMAX]
    alpha, beta, wmin = sf[_F_ALPHA], sf[_F_BETA], sf[_F_WMIN]
    sample = si[_I_SAMPLE]
    for _step in range(n_steps):
        if si[_I_STALL_LIMIT] > 0 and si[_I_STALL] >= si[_I_STALL_LIMIT]:
            break  # the stall stop, exactly here: the steps run never depend on chunk sizes
        it = si[_I_IT]
        nviol = si[_I_NVIOL]
        top = _top3(load, bal_rows)
        floor = sf[_F_FLOOR]
        u_now = max(top[0], floor) if w_u != 0.0 else 0.0
        z_now = sf[_F_COST] + w_u * u_now
        best_z = sf[_F_BEST_Z]
        # ---- items to look at: those on violated rows or the bottleneck row, then a sample
        n_prio = 0
        u_row = top[1] if w_u != 0.0 else -1
        for i in range(n_items):
            j = assign[i]
            for k in range(indptr[j], indptr[j + 1]):
                r = rows[k]
                if r == u_row or (nviol > 0 and load[r] / cap[r] > _LIM):
                    prio[n_prio] = i
                    n_prio += 1
                    break
        n_cand = 0
        if sample >= n_items:
            for i in range(n_items):
                cand[n_cand] = i
                n_cand += 1
        else:
            if n_prio <= sample:
                for q in range(n_prio):
                    cand[n_cand] = prio[q]
                    n_cand += 1
            else:  # many items on violated rows (a hub link): a random half-sample of them
                for _ in range(sample // 2):
                    cand[n_cand] = prio[np.random.randint(n_prio)]
                    n_cand += 1
            want = min(n_items, n_cand + sample)
            while n_cand < want:
                cand[n_cand] = np.random.randint(n_items)
                n_cand += 1
        # ---- shift
        m_kind = 0
        m_s = np.inf
        m_dnv = 0
        m_i1 = m_j1 = m_i2 = m_j2 = -1
        for q in range(n_cand):
            i = cand[q]
            s, j, dz, dnv = _best_shift(
                i, assign, load, pw, A, dl, mark, top, u_now, floor, tabu, it, z_now, best_z, nviol
            )
            if j >= 0 and s < m_s:
                m_kind, m_s, m_dnv, m_i1, m_j1 = 1, s, dnv, i, j
        # ---- swap: a few items (bottleneck / violated ones first) against every other item
        n_swap = min(si[_I_SWAPK], n_items)
        for q in range(n_swap):
            if n_prio > 0 and q < n_swap // 2 + 1:
                i1 = prio[np.random.randint(n_prio)]
            else:
                i1 = np.random.randint(n_items)
            a1 = assign[i1]
            b1 = col_bin[a1]
            o1 = col_key[a1] // n_bins_key
            for i2 in range(n_items):
                a2 = assign[i2]
                b2 = col_bin[a2]
                if b2 == b1:
                    continue
                j1 = _find_col(i1, o1 * n_bins_key + b2, item_ptr, sorted_key, sorted_col)
                if j1 < 0:
                    continue
                o2 = col_key[a2] // n_bins_key
                j2 = _find_col(i2, o2 * n_bins_key + b1, item_ptr, sorted_key, sorted_col)
                if j2 < 0:
                    continue
                outs[0], outs[1], ins[0], ins[1] = a1, a2, j1, j2
                dz, dpen, dnv = _eval_set(
                    outs, ins, 2, 2, load, pw, A, dl, mark, touched, top, u_now, floor
                )
                s = dz + dpen
                if s < m_s:
                    if (tabu[j1] > it or tabu[j2] > it) and not (
                        nviol + dnv == 0 and z_now + dz < best_z - _aspire(best_z)
                    ):
                        continue
                    m_kind, m_s, m_dnv = 2, s, dnv
                    m_i1, m_j1, m_i2, m_j2 = i1, j1, i2, j2
        # ---- ejection chains: i1 shifts in, pushing a row over; an item on that row leaves
        n_chain = min(si[_I_CHAINK], n_items)
        for _q in range(n_chain):
            i1 = np.random.randint(n_items)
            a1 = assign[i1]
            lo, hi = item_ptr[i1], item_ptr[i1 + 1]
            if hi - lo < 2:
                continue
            j1 = lo + np.random.randint(hi - lo)
            if j1 == a1 or tabu[j1] > it:
                continue
            outs[0], ins[0] = a1, j1
            dz1, dpen1, dnv1 = _eval_set(
                outs, ins, 1, 1, load, pw, A, dl, mark, touched, top, u_now, floor
            )
            # apply tentatively, find the best item to eject from a row j1 overflows
            _apply(a1, j1, assign, load, indptr, rows, vals, col_item)
            top2 = _top3(load, bal_rows)
            u2 = max(top2[0], floor) if w_u != 0.0 else 0.0
            z2 = z_now + dz1
            e_s = np.inf
            e_i = e_j = -1
            e_dnv = 0
            for k in range(indptr[j1], indptr[j1 + 1]):
                r = rows[k]
                if load[r] / cap[r] <= _LIM or r_ptr[r + 1] - r_ptr[r] > 4 * n_items:
                    continue
                for t in range(r_ptr[r], r_ptr[r + 1]):
                    c = r_col[t]
                    i2 = col_item[c]
                    if assign[i2] != c or i2 == i1:
                        continue
                    s2, j2, _dz2, dnv2 = _best_shift(
                        i2,
                        assign,
                        load,
                        pw,
                        A,
                        dl,
                        mark,
                        top2,
                        u2,
                        floor,
                        tabu,
                        it,
                        z2,
                        best_z,
                        nviol + dnv1,
                    )
                    if j2 >= 0 and s2 < e_s:
                        e_s, e_i, e_j, e_dnv = s2, i2, j2, dnv2
            _apply(j1, a1, assign, load, indptr, rows, vals, col_item)
            if e_j >= 0:
                s = dz1 + dpen1 + e_s
                if s < m_s:
                    m_kind, m_s, m_dnv = 3, s, dnv1 + e_dnv
                    m_i1, m_j1, m_i2, m_j2 = i1, j1, e_i, e_j
        if m_kind == 0:
            si[_I_IT] = it + 1
            si[_I_STALL] += 1
            si[_I_SINCE_RESTART] += 1
            continue
        # ---- apply the chosen move; the columns left become tabu to come back to
        a1 = assign[m_i1]
        if m_kind == 2:
            a2 = assign[m_i2]
            for k in range(indptr[a1], indptr[a1 + 1]):
                load[rows[k]] -= vals[k]
            for k in range(indptr[a2], indptr[a2 + 1]):
                load[rows[k]] -= vals[k]
            for k in range(indptr[m_j1], indptr[m_j1 + 1]):
                load[rows[k]] += vals[k]
            for k in range(indptr[m_j2], indptr[m_j2 + 1]):
                load[rows[k]] += vals[k]
            assign[m_i1] = m_j1
            assign[m_i2] = m_j2
            sf[_F_COST] += cost[m_j1] + cost[m_j2] - cost[a1] - cost[a2]
            tabu[a1] = it + tmin + np.random.randint(tmax - tmin + 1)
            tabu[a2] = it + tmin + np.random.randint(tmax - tmin + 1)
            si[_I_MOVES_SWAP] += 1
        else:
            _apply(a1, m_j1, assign, load, indptr, rows, vals, col_item)
            sf[_F_COST] += cost[m_j1] - cost[a1]
            tabu[a1] = it + tmin + np.random.randint(tmax - tmin + 1)
            if m_kind == 3:
                a2 = assign[m_i2]
                _apply(a2, m_j2, assign, load, indptr, rows, vals, col_item)
                sf[_F_COST] += cost[m_j2] - cost[a2]
                tabu[a2] = it + tmin + np.random.randint(tmax - tmin + 1)
                si[_I_MOVES_CHAIN] += 1
            else:
                si[_I_MOVES_SHIFT] += 1
        nviol += m_dnv
        si[_I_NVIOL] = nviol
        si[_I_IT] = it + 1
        # ---- a new best (feasible) plan?
        if nviol == 0:
            # the running Z drifts with rounding: recompute it exactly before keeping the plan
            top = _top3(load, bal_rows)
            z_exact = sf[_F_COST] + (w_u * max(top[0], 0.0) if w_u != 0.0 else 0.0)
            if best_z == np.inf or z_exact < best_z - IMPROVE_TOL * max(1.0, abs(best_z)):
                sf[_F_BEST_Z] = z_exact
                best[:] = assign
                si[_I_STALL] = 0
                si[_I_SINCE_RESTART] = 0
                si[_I_NEWBEST] += 1
            else:
                si[_I_STALL] += 1
                si[_I_SINCE_RESTART] += 1
        else:
            si[_I_STALL] += 1
            si[_I_SINCE_RESTART] += 1
        # ---- adapt the penalty weights: over-capacity rows dearer, all cheaper while feasible
        if nviol > 0:
            for r in range(n_rows):
                if load[r] / cap[r] > _LIM:
                    pw[r] *= 1.0 + alpha
        else:
            si[_I_FEAS_STEPS] += 1
            for r in range(n_rows):
                w = pw[r] * (1.0 - beta)
                pw[r] = w if w > wmin else wmin
        # ---- restart from the best plan after a long stall
        if si[_I_RESTART] > 0 and si[_I_SINCE_RESTART] >= si[_I_RESTART] and sf[_F_BEST_Z] < np.inf:
            assign[:] = best
            load[:] = _loads(assign, indptr, rows, vals, n_rows, np.zeros(n_rows))
            c = 0.0
            nv = 0
            for i in range(n_items):
                c += cost[assign[i]]
            for r in range(n_rows):
                nv += _viol(load[r], cap[r])
                pw[r] = sf[_F_W0]
            sf[_F_COST] = c
            si[_I_NVIOL] = nv
            tabu[:] = 0
            si[_I_SINCE_RESTART] = 0
            si[_I_RESTARTS] += 1
            # every other restart explores a higher bottleneck level: loads up to the floor
            # cost no U, so moves that buy accuracy with load are not blocked by the first
            # one paying the whole rise of the max (a min-max plateau)
            if w_u != 0.0 and si[_I_RESTARTS] % 2 == 1:
                u_best = max(_top3(load, bal_rows)[0], 0.0)
                hi = max(sf[_F_UMAX], u_best)
                sf[_F_FLOOR] = u_best + np.random.random() * (hi - u_best)
            else:
                sf[_F_FLOOR] = 0.0
    return si[_I_IT]


# ------------------------------------------------------------------ driver


class Search:
    """The search's state (plan, running loads, weights, tabu list, best plan, counters) and
    the kernels that move it; :func:`oscillate` drives it, tests check it step by step."""

    def __init__(self, a, assign, load, pw, tabu, best, sf, si):
        self.a, self.assign, self.load, self.pw, self.tabu = a, assign, load, pw, tabu
        self.best, self.sf, self.si = best, sf, si
        self.r_ptr, self.r_col = _row_index(a, load.size)
        self.A = (
            a.item_ptr,
            a.col_item,
            a.col_bin,
            a.col_key,
            a.cost,
            a.indptr,
            a.rows,
            a.vals,
            a.cap,
            a.is_bal,
            a.bal_rows,
            a.w_u,
        )

    @property
    def cost(self) -> float:
        return float(self.sf[_F_COST])

    @property
    def best_z(self) -> float:
        return float(self.sf[_F_BEST_Z])

    @property
    def n_violated(self) -> int:
        return int(self.si[_I_NVIOL])

    def run(self, steps: int) -> None:
        """``steps`` steps of the search, with the running (incremental) loads and cost."""
        a = self.a
        _run(
            self.A,
            a.item_ptr,
            a.col_item,
            a.col_bin,
            a.col_key,
            a.n_bins,
            a.sorted_key,
            a.sorted_col,
            self.r_ptr,
            self.r_col,
            self.assign,
            self.load,
            self.pw,
            self.tabu,
            self.best,
            self.sf,
            self.si,
            steps,
        )

    def resync(self) -> None:
        """Recompute loads, cost and violated rows from the plan (clears rounding drift)."""
        a = self.a
        self.load[:] = _loads(
            self.assign, a.indptr, a.rows, a.vals, self.load.size, np.zeros(self.load.size)
        )
        self.sf[_F_COST] = float(a.cost[self.assign].sum())
        self.si[_I_NVIOL] = int((self.load / a.cap > _LIM).sum())

    def move_delta(self, outs: np.ndarray, ins: np.ndarray) -> tuple[float, float, int]:
        """(ΔZ, Δpenalty, Δviolated rows) if columns ``outs`` left and ``ins`` entered."""
        n = self.load.size
        top = _top3(self.load, self.a.bal_rows)
        u = max(top[0], 0.0) if self.a.w_u != 0.0 else 0.0
        o = np.asarray(outs, dtype=np.int64)
        i = np.asarray(ins, dtype=np.int64)
        dz, dpen, dnv = _eval_set(
            o,
            i,
            o.size,
            i.size,
            self.load,
            self.pw,
            self.A,
            np.zeros(n),
            np.zeros(n, np.int8),
            np.empty(n, np.int64),
            top,
            u,
            0.0,
        )
        return float(dz), float(dpen), int(dnv)

    def best_shift(self, item: int) -> tuple[float, int, float, int]:
        """(penalised score, column, ΔZ, Δviolated rows) of item's best non-tabu shift."""
        n = self.load.size
        top = _top3(self.load, self.a.bal_rows)
        u = max(top[0], 0.0) if self.a.w_u != 0.0 else 0.0
        s, j, dz, dnv = _best_shift(
            item,
            self.assign,
            self.load,
            self.pw,
            self.A,
            np.zeros(n),
            np.zeros(n, np.int8),
            top,
            u,
            0.0,
            self.tabu,
            int(self.si[_I_IT]),
            0.0,
            -np.inf,  # no aspiration: tabu columns stay out
            self.n_violated,
        )
        return float(s), int(j), float(dz), int(dnv)


def _row_index(a: OscillationArrays, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    csr = sp.csr_array(sp.csc_array((a.vals, a.rows, a.indptr), shape=(n_rows, a.col_item.size)))
    csr.sort_indices()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)


def _initial_weight(a: OscillationArrays) -> float:
    """A penalty weight at which pushing one item's typical share over capacity costs about
    what choosing among its columns costs (the adaptation takes it from there)."""
    ptr = a.item_ptr
    nonempty = ptr[1:] > ptr[:-1]
    if not nonempty.any() or a.vals.size == 0:
        return 1.0
    mx = np.maximum.reduceat(a.cost, ptr[:-1][nonempty])
    mn = np.minimum.reduceat(a.cost, ptr[:-1][nonempty])
    spread = float(np.mean(mx - mn)) + 1e-3 * float(np.mean(np.abs(a.cost)) + TINY)
    share = float(np.mean(a.vals / a.cap[a.rows]))
    return max(spread / max(share, TINY), POSITIVE_FLOOR)


def penalised_state(
    problem: Problem, assignment: np.ndarray, weights: np.ndarray
) -> tuple[float, float, int]:
    """(Z, penalty, violated rows) of a complete ``assignment`` recomputed from scratch: the
    slow, clearly-correct reference the kernels' incremental values are tested against."""
    ev = evaluate(problem, assignment)
    util = ev.loads / problem.capacity
    exc = np.maximum(util - 1.0, 0.0)
    cost = float(problem.col_cost[assignment].sum())
    u = max(float(ev.loads[problem.balanced].max()), 0.0) if problem.balanced.any() else 0.0
    w_u = float(problem.balance_weight) if problem.balanced.any() else 0.0
    return cost + w_u * u, float((weights * exc).sum()), int((util > _LIM).sum())


def start_search(
    problem: Problem,
    assignment: np.ndarray,
    *,
    seed: int | None = None,
    tenure: tuple[int, int] | None = None,
    swaps: int = 8,
    chains: int = 8,
    alpha: float = 0.3,
    beta: float = 0.1,
    restart: int | None = None,
    sample_columns: int = 100_000,
    arrays: OscillationArrays | None = None,
) -> Search:
    """A :class:`Search` at the complete ``assignment`` (options as in :func:`oscillate`)."""
    a = arrays if arrays is not None else OscillationArrays.of(problem)
    n, n_rows = problem.n_items, problem.n_resources
    start = np.asarray(assignment, dtype=np.int64).copy()
    if start.shape != (n,) or (start < 0).any():
        raise ValueError("oscillate needs a complete assignment (one column per item)")
    ev0 = evaluate(problem, start)
    if restart is None:
        restart = max(300, 5 * n)
    lo_t, hi_t = tenure if tenure is not None else (3, 3 + max(7, int(0.7 * math.sqrt(n))))
    if not (1 <= lo_t <= hi_t):
        raise ValueError(f"tenure must be 1 <= lo <= hi, got {tenure}")
    w0 = _initial_weight(a)
    load = _loads(start, a.indptr, a.rows, a.vals, n_rows, np.zeros(n_rows))
    pw = np.full(n_rows, w0)
    tabu = np.zeros(problem.n_columns, dtype=np.int64)
    best = start.copy()
    sf = np.zeros(8)
    sf[_F_UMAX] = float(a.cap[a.bal_rows].max()) if a.bal_rows.size else 0.0
    sf[_F_COST] = float(a.cost[start].sum())
    sf[_F_BEST_Z] = ev0.objective if ev0.feasible else np.inf
    sf[_F_ALPHA], sf[_F_BETA], sf[_F_WMIN], sf[_F_W0] = alpha, beta, w0 * 1e-3, w0
    si = np.zeros(18, dtype=np.int64)
    si[_I_NVIOL] = int((load / a.cap > _LIM).sum())
    si[_I_SEED] = (0 if seed is None else int(seed)) % (2**31 - 1)
    si[_I_TMIN], si[_I_TMAX], si[_I_RESTART] = lo_t, hi_t, restart
    si[_I_SWAPK], si[_I_CHAINK] = max(swaps, 0), max(chains, 0)
    cols_per_item = problem.n_columns / max(n, 1)
    si[_I_SAMPLE] = (
        n if problem.n_columns <= sample_columns else max(8, int(sample_columns / cols_per_item))
    )
    return Search(a, start, load, pw, tabu, best, sf, si)


def oscillate(
    problem: Problem,
    assignment: np.ndarray,
    *,
    seed: int | None = None,
    deadline: Any = None,
    max_steps: int | None = None,
    stall: int | None = None,
    tenure: tuple[int, int] | None = None,
    swaps: int = 8,
    chains: int = 8,
    alpha: float = 0.3,
    beta: float = 0.1,
    restart: int | None = None,
    sample_columns: int = 100_000,
    arrays: OscillationArrays | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Strategic-oscillation tabu search from a complete ``assignment`` (feasible or not).

    Returns the best feasible plan seen (``assignment`` itself when it is feasible and nothing
    better was found; the input when no feasible plan was seen) and statistics, among them
    ``trace``: (seconds, Z) at each new best.

    :param deadline: a :class:`~edgeopt.solvers.registry.Deadline` (None: no time limit).
    :param max_steps: stop after this many steps (None: no cap).
    :param stall: stop after this many steps without a new best (default: 40 · items, at
        least 2000; 0 disables it when a deadline or ``max_steps`` bounds the run).
    :param tenure: tabu tenure range (default 3 … 3 + max(7, 0.7·√items)).
    :param swaps: items tried against every other item for swaps per step.
    :param chains: ejection chains tried per step.
    :param alpha, beta: penalty weight growth per step over capacity / decay per feasible step.
    :param restart: steps without a new best before returning to the best plan (default
        5 · items, at least 300).
    :param sample_columns: look at every item each step while the problem has at most this many
        columns; above it, a random sample of items plus those on violated or bottleneck rows.
    """
    t0 = time.perf_counter()
    n = problem.n_items
    if stall is None:
        stall = max(2000, 40 * n)
    search = start_search(
        problem,
        assignment,
        seed=seed,
        tenure=tenure,
        swaps=swaps,
        chains=chains,
        alpha=alpha,
        beta=beta,
        restart=restart,
        sample_columns=sample_columns,
        arrays=arrays,
    )
    best, sf, si = search.best, search.sf, search.si
    si[_I_STALL_LIMIT] = max(int(stall), 0)
    trace: list[list[float]] = []
    if np.isfinite(search.best_z):
        trace.append([round(time.perf_counter() - t0, 4), search.best_z])
    chunk = 8
    steps = 0
    stopped = "stall"
    while True:
        if deadline is not None and deadline.passed():
            stopped = "time"
            break
        if max_steps is not None and steps >= max_steps:
            stopped = "steps"
            break
        if stall and si[_I_STALL] >= stall:
            break
        k = chunk if max_steps is None else min(chunk, max_steps - steps)
        seen = int(si[_I_NEWBEST])
        c0 = time.perf_counter()
        search.run(k)
        took = time.perf_counter() - c0
        steps += k
        # resynchronise the running loads and cost (rounding drift) and referee a new best
        search.resync()
        if int(si[_I_NEWBEST]) != seen:
            ev = evaluate(problem, best)
            if not ev.feasible or not objectives_agree(ev.objective, float(sf[_F_BEST_Z])):
                raise SolverError(
                    f"oscillation: kernel's best Z {sf[_F_BEST_Z]:.9g} disagrees with the "
                    f"referee ({ev.objective:.9g}, feasible={ev.feasible})"
                )
            sf[_F_BEST_Z] = ev.objective
            trace.append([round(time.perf_counter() - t0, 4), ev.objective])
        # aim for chunks of ~20 ms so the deadline is honoured closely
        if took < 0.01:
            chunk = min(chunk * 2, 1 << 16)
        elif took > 0.04 and chunk > 1:
            chunk //= 2
    found = np.isfinite(sf[_F_BEST_Z])
    stats = {
        "so_steps": int(si[_I_IT]),
        "so_shift": int(si[_I_MOVES_SHIFT]),
        "so_swap": int(si[_I_MOVES_SWAP]),
        "so_chain": int(si[_I_MOVES_CHAIN]),
        "so_restarts": int(si[_I_RESTARTS]),
        "so_new_best": int(si[_I_NEWBEST]),
        "so_feasible_steps": int(si[_I_FEAS_STEPS]),
        "so_stopped_by": stopped,
        "so_s": round(time.perf_counter() - t0, 6),
        "trace": trace,
    }
    return (best.copy() if found else np.asarray(assignment, dtype=np.int64).copy()), stats
