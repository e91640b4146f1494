"""The report's figures, each returned as PNG bytes (matplotlib ``Figure``, no pyplot state).

Every figure states what it shows in its title, has axis labels with units and
a legend, so it reads without the surrounding text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeopt.report.compare import Comparison

__all__ = ["gap_plot", "time_plot", "utilisation_plot", "topology_plot", "controller_of"]

DPI = 110


def _figure(w: float, h: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=DPI, layout="constrained")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _colours(labels: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {s: cmap(k % 10) for k, s in enumerate(labels)}


def gap_plot(c: Comparison) -> bytes:
    """Box plot of each solver's gaps (%) with one dot per instance; symlog y so 0.1 % and 500 % both show."""
    rows = [s for s in c.summaries if s.gaps]
    fig = _figure(max(6.0, 1.0 + 0.9 * len(rows)), 4.5)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)  # fixed jitter: the same database gives the same picture
    data = [100.0 * np.array([g for g in s.gaps.values() if np.isfinite(g)]) for s in rows]
    if rows:
        ax.boxplot(
            data,
            positions=range(1, len(rows) + 1),
            widths=0.55,
            showfliers=False,
            medianprops={"color": "black"},
            boxprops={"color": "0.4"},
            whiskerprops={"color": "0.4"},
        )
        for k, d in enumerate(data, start=1):
            ax.scatter(
                k + rng.uniform(-0.15, 0.15, d.size),
                d,
                s=18,
                alpha=0.75,
                color="tab:blue",
                zorder=3,
                label="one instance" if k == 1 else None,
            )
        ax.set_xticks(range(1, len(rows) + 1), [s.label for s in rows], rotation=30, ha="right")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.plot([], [], color="black", label="median (box: quartiles, whiskers: 1.5 IQR)")
        ax.legend(loc="upper left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no feasible runs", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("solver")
    ax.set_ylabel("gap to reference Z* (%, symlog scale)")
    ax.set_title(f"Gap to the best reference per instance\n({c.reference_note()})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def time_plot(rows: Sequence[dict[str, Any]], labels: dict[tuple[str, str], str]) -> bytes:
    """Wall time against instance size (admissible columns), log–log, one series per solver."""
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        lab = labels.get((r["solver"], r["settings_hash"]))
        if (
            lab is None
            or r["status"] == "error"
            or not r.get("n_columns")
            or r.get("wall_s") is None
        ):
            continue
        series.setdefault(lab, []).append((float(r["n_columns"]), max(float(r["wall_s"]), 1e-5)))
    colours = _colours(list(labels.values()))
    markers = "osD^v<>pP*X"
    for k, (lab, pts) in enumerate(sorted(series.items())):
        pts.sort()
        x, y = zip(*pts)
        ax.plot(
            x,
            y,
            marker=markers[k % len(markers)],
            linestyle="-",
            linewidth=1,
            color=colours[lab],
            label=lab,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax, sorted({x for pts in series.values() for x, _ in pts}))
    ax.set_xlabel("instance size (admissible columns, log scale)")
    ax.set_ylabel("wall time (s, log scale)")
    ax.set_title("Solve time against instance size")
    ax.grid(which="both", alpha=0.25)
    if series:
        ax.legend(fontsize=8, ncols=2)
    return _png(fig)


def _plain_log_ticks(ax: Any, sizes: list[float]) -> None:
    """Label a log x axis with plain numbers; with few sizes, tick exactly those."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    if 0 < len(sizes) <= 8:
        ax.set_xticks(sizes)
        ax.tick_params(axis="x", labelrotation=45 if len(sizes) > 4 else 0)
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def controller_of(resource_id: str) -> str:
    """``compute:c3`` → ``c3`` (core problems keep their resource id)."""
    return resource_id.split(":", 1)[1] if ":" in resource_id else resource_id


def utilisation_plot(
    instance: str, plans: Sequence[tuple[str, dict[str, dict[str, float]]]]
) -> bytes:
    """Grouped bars: compute utilisation of each controller (x) under each solver's plan (bars).

    ``plans`` holds (solver label, utilisation dict of the row); the cap ρ_c of
    each controller is drawn as a black tick above its group.
    """
    resources = list(plans[0][1]) if plans else []
    n, m = len(resources), max(len(plans), 1)
    fig = _figure(max(7.0, 0.55 * n * (1 + 0.25 * m)), 4.8)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.8 / m
    colours = _colours([lab for lab, _ in plans])
    for k, (lab, util) in enumerate(plans):
        vals = [util.get(r, {}).get("load", 0.0) for r in resources]
        ax.bar(x - 0.4 + width * (k + 0.5), vals, width=width, color=colours[lab], label=lab)
    if resources:
        caps = [plans[0][1][r]["capacity"] for r in resources]
        ax.hlines(caps, x - 0.45, x + 0.45, colors="black", linewidth=2, label="cap ρ_c (max_util)")
        ax.set_xticks(x, [controller_of(r) for r in resources], rotation=45 if n > 12 else 0)
    ax.set_xlabel("IoT controller")
    ax.set_ylabel("compute utilisation u_c (share of the round)")
    ax.set_title(f"Per-controller compute utilisation on {instance}, by solver")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncols=min(4, m + 1), loc="upper right")
    ax.set_ylim(
        0, max([1.25] + [1.15 * max((v["load"] for v in u.values()), default=0) for _, u in plans])
    )
    return _png(fig)


def _natural(s: str) -> tuple[Any, ...]:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def _layered_layout(g: Any) -> dict[str, tuple[float, float]]:
    """Cloud on top, then edge, gNBs, controllers; each controller placed under its gNB."""
    layer = {"cloud": 0, "edge": 1, "gnb": 2, "controller": 3}
    rows: dict[int, list[str]] = {}
    for n, a in g.nodes(data=True):
        rows.setdefault(layer.get(a.get("kind"), 4), []).append(n)
    order: dict[str, float] = {}
    pos = {}
    for lv in sorted(rows):

        def key(n: str) -> tuple[Any, ...]:
            # under the mean position of the neighbours already placed
            up = [order[m] for m in g.neighbors(n) if m in order]
            return (sum(up) / len(up) if up else 0.0, _natural(str(n)))

        nodes = sorted(rows[lv], key=key)
        for k, n in enumerate(nodes):
            order[n] = (k + 0.5) / len(nodes)
            pos[n] = (order[n], -float(lv))
    return pos


def topology_plot(
    graph: Any, instance: str, solver: str, util: dict[str, dict[str, float]]
) -> bytes:
    """The network drawn in layers (cloud, UPF, gNBs, controllers); controllers coloured by u_c."""
    import networkx as nx
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    g = nx.Graph(graph)
    pos = _layered_layout(g)
    u_of = {controller_of(r): v["load"] for r, v in util.items()}
    ctrl = [n for n, a in g.nodes(data=True) if a.get("kind") == "controller"]
    others = [n for n in g.nodes if n not in ctrl]
    vmax = max([1.0] + list(u_of.values()))
    norm = Normalize(0.0, vmax)
    cmap = colormaps["YlOrRd"]
    n_nodes = g.number_of_nodes()
    fig = _figure(max(7.0, 0.45 * len(ctrl) + 2), 5.5)
    ax = fig.add_subplot()
    size = 500 if n_nodes < 30 else 250
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="0.6")
    shapes = {"cloud": "s", "edge": "D", "gnb": "^"}
    for kind, shape in shapes.items():
        nodes = [n for n in others if g.nodes[n].get("kind") == kind]
        nx.draw_networkx_nodes(
            g,
            pos,
            nodelist=nodes,
            node_shape=shape,
            node_color="lightsteelblue",
            edgecolors="0.3",
            node_size=size,
            ax=ax,
        )
    nx.draw_networkx_nodes(
        g,
        pos,
        nodelist=ctrl,
        node_color=[cmap(norm(u_of.get(n, 0.0))) for n in ctrl],
        edgecolors="0.2",
        node_size=size,
        ax=ax,
    )
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7 if n_nodes < 30 else 5)
    for n in ctrl:
        x, y = pos[n]
        ax.annotate(
            f"{u_of.get(n, 0.0):.2f}",
            (x, y),
            xytext=(0, -14 if n_nodes < 30 else -10),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7 if n_nodes < 30 else 5,
        )
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        label="compute utilisation u_c (share of the round)",
    )
    handles = [
        Line2D(
            [],
            [],
            marker=shapes[k],
            linestyle="",
            markerfacecolor="lightsteelblue",
            markeredgecolor="0.3",
            markersize=9,
            label=lab,
        )
        for k, lab in (("cloud", "cloud"), ("edge", "edge (UPF)"), ("gnb", "gNB"))
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor=cmap(0.6),
            markeredgecolor="0.2",
            markersize=9,
            label="IoT controller (colour = u_c)",
        )
    )
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    ax.margins(0.06, 0.12)
    ax.set_title(
        f"Topology of {instance}: controllers coloured by utilisation\nunder the {solver} plan",
        fontsize=10,
    )
    ax.set_axis_off()
    return _png(fig)
