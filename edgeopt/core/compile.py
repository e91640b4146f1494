"""Compile a scenario into its core problem (docs/model.md §3–§5) with numpy arrays.

For each family the coefficients of every (request, configuration, controller)
triple are computed at once as (R, K, C) arrays; the admissibility filters of
§3 pick the columns. Columns of one request are ordered by configuration (in
catalog order), then controller (topology order), with the cloud last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from edgeopt.core.problem import CLOUD, Problem
from edgeopt.scenario.model import Scenario
from edgeopt.scenario.topology import edge_key, route_from

__all__ = ["compile_scenario", "Routes", "routes", "COLUMN_INFO", "undominated_configs"]

#: Per-column arrays kept in ``problem.col_info`` by :func:`compile_scenario`:
#: config (index within the family), compute (u_rkc), memory_mb, latency_ms,
#: train_s, accuracy, data_mb (D_r), origin (controller index), full_model (the
#: family's most accurate configuration, first on a tie: the status-quo model).
COLUMN_INFO = (
    "config",
    "compute",
    "memory_mb",
    "latency_ms",
    "train_s",
    "accuracy",
    "data_mb",
    "origin",
    "full_model",
)

TERMS = ("accuracy", "network", "cloud")


@dataclass(frozen=True)
class Routes:
    """Per (origin, host) path data; host index C means the cloud.

    Rows are the distinct origins of the requests only (``row_of[c]`` is the row
    of controller ``c``, -1 when no request starts there), so routing costs one
    single-source search per origin. ``hops``, ``lat2`` (Σ 2·latency_ms),
    ``inv_bw`` (Σ 1/bandwidth_mbps), ``min_bw`` (min bandwidth_mbps, inf on an
    empty path) are (O, C+1) arrays; ``edges`` is (O, C+1, max_hops) of link
    indices padded with -1.
    """

    row_of: np.ndarray
    hosts: list[str]
    link_ids: list[tuple[str, str]]
    hops: np.ndarray
    lat2: np.ndarray
    inv_bw: np.ndarray
    min_bw: np.ndarray
    edges: np.ndarray
    paths: dict[tuple[str, str], tuple[str, ...]]


def routes(s: Scenario) -> Routes:
    """Fixed routes from every request origin to every controller and the cloud."""
    g = s.graph
    ctrl = [c.id for c in s.controllers]
    cloud = s.cloud
    hosts = ctrl + ([cloud] if cloud is not None else [])
    links = [edge_key(u, v) for u, v in s.edges]
    link_ix = {k: i for i, k in enumerate(links)}
    used = {r.origin for r in s.requests}
    origins = [c for c in ctrl if c in used]
    row_of = np.full(len(ctrl), -1, dtype=np.int64)
    row_of[[ctrl.index(c) for c in origins]] = np.arange(len(origins))
    n_c, n_h = len(origins), len(hosts)
    hops = np.zeros((n_c, n_h), dtype=np.int64)
    lat2 = np.zeros((n_c, n_h))
    inv_bw = np.zeros((n_c, n_h))
    min_bw = np.full((n_c, n_h), np.inf)
    path_edges: dict[tuple[int, int], list[int]] = {}
    paths: dict[tuple[str, str], tuple[str, ...]] = {}
    for a, o in enumerate(origins):
        best = route_from(g, o)
        for b, h in enumerate(hosts):
            p = best[h]
            paths[(o, h)] = p
            ids = []
            for u, v in zip(p[:-1], p[1:]):
                e = g.edges[u, v]
                ids.append(link_ix[edge_key(u, v)])
                lat2[a, b] += 2.0 * float(e["latency_ms"])
                inv_bw[a, b] += 1.0 / float(e["bandwidth_mbps"])
                min_bw[a, b] = min(min_bw[a, b], float(e["bandwidth_mbps"]))
            hops[a, b] = len(ids)
            path_edges[(a, b)] = ids
    width = max((len(v) for v in path_edges.values()), default=0)
    edges = np.full((n_c, n_h, max(width, 1)), -1, dtype=np.int64)
    for (a, b), ids in path_edges.items():
        edges[a, b, : len(ids)] = ids
    return Routes(row_of, hosts, links, hops, lat2, inv_bw, min_bw, edges, paths)


def _column_use(cols: dict[str, np.ndarray], rt: Routes, n_c: int) -> sp.csc_array:
    """The (resources × columns) use matrix in CSC form, built column by column without a
    COO detour: a controller column uses its compute (row c) and memory (C + c), and every
    column loads each link on its path (2C + e) with its data volume."""
    n = cols["host"].size
    on_ctrl = cols["host"] < n_c
    e = rt.edges[rt.row_of[cols["origin"]], cols["host"]]  # (n, max_hops), -1 padded
    rows = np.empty((n, 2 + e.shape[1]), dtype=np.int64)
    rows[:, 0] = np.where(on_ctrl, cols["host"], -1)
    rows[:, 1] = np.where(on_ctrl, n_c + cols["host"], -1)
    rows[:, 2:] = np.where(e >= 0, 2 * n_c + e, -1)
    del e
    vals = np.empty(rows.shape)
    vals[:, 0] = cols["compute"]
    vals[:, 1] = cols["memory"]
    vals[:, 2:] = cols["data_mb"][:, None]
    # -1 padding sorts first; the kept entries of each column come out in row order
    srt = np.argsort(rows, axis=1, kind="stable")
    rows = np.take_along_axis(rows, srt, axis=1)
    vals = np.take_along_axis(vals, srt, axis=1)
    del srt
    keep = rows >= 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    n_res = 2 * n_c + len(rt.link_ids)
    return sp.csc_array((vals[keep], rows[keep], indptr), shape=(n_res, n))


def undominated_configs(
    accuracy: np.ndarray, infer_ms: np.ndarray, train_ms: np.ndarray, memory_mb: np.ndarray
) -> np.ndarray:
    """Mask of a family's configurations that no other one dominates on every controller.

    ``k`` is dominated by ``k'`` when ``k'`` is at least as accurate and no dearer
    per sample in inference time, training time (per sample × epochs) and memory
    (inference + training), strictly better in one of them or identical with a
    lower index. Every coefficient of docs/model.md §3 is monotone in these, so
    ``k'`` is admissible wherever ``k`` is and no worse in cost and every
    resource: dropping ``k`` never changes the optimum.

    >>> undominated_configs(np.array([0.9, 0.8, 0.8]), np.array([1.0, 1.0, 0.5]),
    ...                     np.array([2.0, 3.0, 2.0]), np.array([10.0, 10.0, 10.0])).tolist()
    [True, False, True]
    """
    # better[a, b]: a is no worse than b everywhere
    acc_ok = accuracy[:, None] >= accuracy[None, :]
    le = [(x[:, None] <= x[None, :]) for x in (infer_ms, train_ms, memory_mb)]
    no_worse = acc_ok & le[0] & le[1] & le[2]
    same = (
        (accuracy[:, None] == accuracy[None, :])
        & (infer_ms[:, None] == infer_ms[None, :])
        & (train_ms[:, None] == train_ms[None, :])
        & (memory_mb[:, None] == memory_mb[None, :])
    )
    k = np.arange(accuracy.size)
    dominates = no_worse & (~same | (k[:, None] < k[None, :]))
    np.fill_diagonal(dominates, False)
    return ~dominates.any(axis=0)


def compile_scenario(s: Scenario) -> Problem:
    """Compile ``s`` into a :class:`Problem`.

    Bins are the controllers (topology order) then ``cloud`` if the topology has
    a cloud node. Resources: ``compute:<c>`` (balanced, capacity ρ_c),
    ``memory:<c>`` (capacity M_c) per controller, then ``link:<u>--<v>`` per
    topology edge (capacity max_util·bandwidth·T/8 MB). Options are
    configuration ids. ``problem.col_info`` holds the arrays named in ``COLUMN_INFO``.
    """
    ctrls = s.controllers
    n_c = len(ctrls)
    rt = routes(s)
    has_cloud = s.cloud is not None
    T = float(s.window_s)
    w = {k: float(v) for k, v in s.weights.items()}
    sigma = s.host_gflops / np.array([c.gflops for c in ctrls], dtype=np.float64)
    mem_cap = np.array([c.memory_mb for c in ctrls], dtype=np.float64)
    vm = np.array([c.vm_overhead_mb for c in ctrls], dtype=np.float64)
    rho = np.array([c.max_util for c in ctrls], dtype=np.float64)
    ctrl_ix = {c.id: i for i, c in enumerate(ctrls)}

    option_ids: list[str] = []
    option_ix: dict[str, int] = {}
    parts: list[dict[str, np.ndarray]] = []
    families = list(dict.fromkeys(r.family for r in s.requests))
    for fam in families:
        cfgs = s.configs(fam)
        for c in cfgs:
            if c["id"] not in option_ix:
                option_ix[c["id"]] = len(option_ids)
                option_ids.append(c["id"])
        opt = np.array([option_ix[c["id"]] for c in cfgs], dtype=np.int64)
        acc = np.array([c["accuracy"] for c in cfgs], dtype=np.float64)
        inf_ms = np.array([c["host_infer_ms"] for c in cfgs], dtype=np.float64)
        tr_ms = np.array([c["host_train_ms_per_sample"] for c in cfgs], dtype=np.float64)
        epochs = np.array([c["epochs"] for c in cfgs], dtype=np.float64)
        kmem = np.array([c["infer_mem_mb"] + c["train_mem_mb"] for c in cfgs], dtype=np.float64)
        best_k = int(np.argmax(acc))  # first on a tie
        a_star = acc[best_k]
        # Configurations dominated on every controller never become columns; the full
        # model stays (the cloud option and the status-quo baseline use it).
        live = undominated_configs(acc, inf_ms, tr_ms * epochs, kmem)
        live[best_k] = True
        cfg_k = np.flatnonzero(live)
        opt = opt[cfg_k]
        acc, inf_ms, tr_ms, epochs, kmem = (x[cfg_k] for x in (acc, inf_ms, tr_ms, epochs, kmem))
        best_k = int(np.flatnonzero(cfg_k == best_k)[0])

        ridx = np.array([i for i, r in enumerate(s.requests) if r.family == fam], dtype=np.int64)
        reqs = [s.requests[i] for i in ridx]
        lam = np.array([r.inference_rate_hz for r in reqs], dtype=np.float64)
        n_tr = np.array([r.train_samples for r in reqs], dtype=np.float64)
        s_kb = np.array([r.sample_kb for r in reqs], dtype=np.float64)
        a_min = np.array([r.min_accuracy for r in reqs], dtype=np.float64)
        l_max = np.array([r.max_latency_ms for r in reqs], dtype=np.float64)
        omega = np.array([r.weight for r in reqs], dtype=np.float64)
        org = np.array([ctrl_ix[r.origin] for r in reqs], dtype=np.int64)
        data_mb = (n_tr + lam * T) * s_kb / 1000.0

        # (R, K, C) coefficients, docs/model.md §3.
        train_host_ms = (n_tr[:, None] * epochs[None, :] * tr_ms[None, :])[:, :, None]
        u = (lam[:, None] * inf_ms[None, :])[:, :, None] * sigma[None, None, :] / 1000.0 + (
            train_host_ms * sigma[None, None, :] / (1000.0 * T)
        )
        m = (vm[None, :] + kmem[:, None])[None, :, :]
        orow = rt.row_of[org]
        hops = rt.hops[orow, :n_c]  # (R, C)
        lat_path = rt.lat2[orow, :n_c] + 8.0 * s_kb[:, None] * rt.inv_bw[orow, :n_c]
        lat = sigma[None, None, :] * inf_ms[None, :, None] + lat_path[:, None, :]
        with np.errstate(divide="ignore"):
            xfer = np.where(
                hops > 0,
                8.0 * n_tr[:, None] * s_kb[:, None] / (1000.0 * rt.min_bw[orow, :n_c]),
                0.0,
            )
        t = xfer[:, None, :] + train_host_ms * sigma[None, None, :] / 1000.0
        ok = (
            (acc[None, :, None] >= a_min[:, None, None])
            & (lat <= l_max[:, None, None])
            & (t <= T)
            & (m <= mem_cap[None, None, :])
            & (u <= rho[None, None, :])
        )
        r_i, k_i, c_i = np.nonzero(ok)
        g = hops[r_i, c_i] * data_mb[r_i] / 1000.0
        part = {
            "item": ridx[r_i],
            "option": opt[k_i],
            "config": cfg_k[k_i],
            "host": c_i,
            "acc_term": omega[r_i] * w["accuracy"] * (a_star - acc[k_i]),
            "net_term": omega[r_i] * w["network"] * g,
            "cloud_term": np.zeros(r_i.size),
            "compute": u[r_i, k_i, c_i],
            "memory": np.broadcast_to(m, u.shape)[r_i, k_i, c_i],
            "latency": lat[r_i, k_i, c_i],
            "train_s": t[r_i, k_i, c_i],
            "accuracy": acc[k_i],
            "data_mb": data_mb[r_i],
            "origin": org[r_i],
            "full_model": k_i == best_k,
        }
        if has_cloud:
            nr = ridx.size
            g_cloud = rt.hops[orow, n_c] * data_mb / 1000.0
            cloud_part = {
                "item": ridx,
                "option": np.full(nr, opt[best_k]),
                "config": np.full(nr, cfg_k[best_k]),
                "host": np.full(nr, n_c),
                "acc_term": np.zeros(nr),
                "net_term": omega * w["network"] * g_cloud,
                "cloud_term": omega * w["cloud"],
                "compute": np.zeros(nr),
                "memory": np.zeros(nr),
                "latency": np.zeros(nr),
                "train_s": np.zeros(nr),
                "accuracy": np.full(nr, a_star),
                "data_mb": data_mb,
                "origin": org,
                "full_model": np.ones(nr, dtype=bool),
            }
            parts.append(cloud_part)
        parts.append(part)

    # Group by item; within an item controllers' columns by config then host, the cloud last.
    host = np.concatenate([p["host"] for p in parts])
    order = np.lexsort(
        (
            host,
            np.concatenate([p["config"] for p in parts]),
            host == n_c,
            np.concatenate([p["item"] for p in parts]),
        )
    )
    del host
    # One field at a time, each part's copy released as it is used: memory stays near the
    # final arrays instead of several copies of every column field.
    cols = {k: np.concatenate([p.pop(k) for p in parts])[order] for k in list(parts[0])}
    del parts, order
    use = _column_use(cols, rt, n_c)
    link_cap = np.array(
        [
            float(s.graph.edges[u, v].get("max_util", 0.8))
            * float(s.graph.edges[u, v]["bandwidth_mbps"])
            * T
            / 8.0
            for u, v in rt.link_ids
        ],
        dtype=np.float64,
    )
    capacity = np.concatenate([rho, mem_cap, link_cap])
    balanced = np.zeros(capacity.size, dtype=bool)
    balanced[:n_c] = True
    terms = np.stack([cols["acc_term"], cols["net_term"], cols["cloud_term"]], axis=1)
    bins = [c.id for c in ctrls] + ([CLOUD] if has_cloud else [])
    res_ids = (
        [f"compute:{c.id}" for c in ctrls]
        + [f"memory:{c.id}" for c in ctrls]
        + [f"link:{u}--{v}" for u, v in rt.link_ids]
    )
    info = {
        "config": cols["config"],
        "compute": cols["compute"],
        "memory_mb": cols["memory"],
        "latency_ms": cols["latency"],
        "train_s": cols["train_s"],
        "accuracy": cols["accuracy"],
        "data_mb": cols["data_mb"],
        "origin": cols["origin"],
        "full_model": cols["full_model"],
    }
    p = Problem.from_columns(
        name=s.name,
        item_ids=[r.id for r in s.requests],
        bin_ids=bins,
        option_ids=option_ids,
        resource_ids=res_ids,
        col_item=cols["item"],
        col_bin=cols["host"],
        col_option=cols["option"],
        col_cost=terms.sum(axis=1),
        col_terms=terms,
        term_names=TERMS,
        use=use,
        capacity=capacity,
        balanced=balanced,
        balance_weight=w["balance"],
        sense="min",
        meta={"kind": "scenario", "scenario": s.name, "source": s.source, "n_controllers": n_c},
        col_info=info,
    )
    return p
