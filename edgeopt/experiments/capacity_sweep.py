"""Capacity sweep: does per-request downsizing keep low-capacity controllers balanced?

Requests are generated once per (size, seed) at the reference capacity (one
Jetson Nano per controller); only the controllers' compute and memory then
shrink or grow, so every point of the sweep plans the *same* demand. Each
instance is solved by every solver; metrics are aggregated over seeds with 95%
confidence intervals (Student t).

Finished rows are appended to ``rows.jsonl`` as they complete, so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.core.compile import compile_scenario
from edgeopt.core.gaps import gap_to_reference
from edgeopt.core.problem import CLOUD, Problem
from edgeopt.core.result import SolveResult
from edgeopt.jsonio import write_text_atomic
from edgeopt.scenario.generate import GeneratorConfig, generate
from edgeopt.scenario.model import Scenario, scenario_from_dict, scenario_to_dict
from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES, load_catalog, load_devices
from edgeopt.solvers.registry import get_solver, solver_names

__all__ = ["SweepConfig", "PRESETS", "run_sweep", "plan_metrics", "run", "default_out"]

METRICS = {
    "max_util": "max controller utilisation u_c (share of the round)",
    "jain": "Jain's fairness index of u_c",
    "acc_loss": "mean accuracy given up per request (fraction)",
    "cloud_share": "share of requests in the cloud",
    "traffic_gb": "traffic (GB·links)",
    "gap": "objective gap to the MILP optimum (relative; 1 = 100%)",
    "time_s": "planning time (s)",
}


@dataclass
class SweepConfig:
    """What to sweep (every field is a CLI flag)."""

    #: controller capacity as a multiple of a Jetson Nano (compute and memory)
    capacities: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.35, 0.5, 1.0, 2.0])
    #: (controllers, requests) pairs
    sizes: list[tuple[int, int]] = field(default_factory=lambda: [(4, 16), (8, 32)])
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    solvers: list[str] = field(
        default_factory=lambda: [
            "milp",
            "drl",
            "greedy",
            "greedy+ls",
            "no-downsizing",
            "cloud-only",
        ]
    )
    time_limit_s: float = 30.0
    #: demand of the most accurate configs relative to the reference capacity (scale 1.0)
    load_factor: float = 0.9
    reference_profile: str = "jetson-nano"
    #: also add a point at Xavier-NX class capacity (its gflops over the reference's)
    include_top_device: str | None = "jetson-xavier-nx"
    #: scale memory with compute (True) or keep the reference device's memory (False)
    scale_memory: bool = True


PRESETS: dict[str, SweepConfig] = {
    "full": SweepConfig(),
    "quick": SweepConfig(
        capacities=[0.25, 1.0],
        sizes=[(3, 8)],
        seeds=[1, 2],
        solvers=["milp", "greedy", "no-downsizing", "cloud-only"],
        time_limit_s=20.0,
        include_top_device=None,
    ),
}


def _scaled(
    base: Scenario, scale: float, ref: dict[str, Any], name: str, *, memory: bool = True
) -> Scenario:
    d = scenario_to_dict(base)
    for n in d["topology"]["nodes"]:
        if n["kind"] == "controller":
            n["gflops"] = round(float(ref["gflops"]) * scale, 4)
            n["memory_mb"] = round(float(ref["memory_mb"]) * (scale if memory else 1.0), 1)
            n["profile"] = f"{n['profile']}x{scale:g}"
    d["name"] = name
    return scenario_from_dict(d, source=f"<{name}>")


def plan_metrics(s: Scenario, p: Problem, res: SolveResult) -> dict[str, float]:
    """Scenario-level metrics of a solved plan (NaN where the solver found none)."""
    nan = float("nan")
    out = {k: nan for k in METRICS}
    out["time_s"] = float(res.wall_s)
    if res.assignment is None or res.evaluation is None or not res.evaluation.feasible:
        return out
    ev = res.evaluation
    a = res.assignment
    u = ev.loads[p.balanced]
    out["max_util"] = float(u.max()) if u.size else 0.0
    tot = float(u.sum())
    out["jain"] = (tot * tot / (u.size * float((u * u).sum()))) if tot > 0 else nan
    best = {f: max(c["accuracy"] for c in s.configs(f)) for f in {r.family for r in s.requests}}
    acc = p.col_info["accuracy"][a]
    out["acc_loss"] = float(np.mean([best[r.family] for r in s.requests] - acc))
    cloud = p.bin_ids.index(CLOUD) if CLOUD in p.bin_ids else -1
    out["cloud_share"] = float(np.mean(p.col_bin[a] == cloud))
    links = np.array([rid.startswith("link:") for rid in p.resource_ids])
    out["traffic_gb"] = float(ev.loads[links].sum()) / 1000.0
    return out


def _key(row: dict[str, Any]) -> tuple:
    return (row["controllers"], row["requests"], row["seed"], row["capacity"], row["solver"])


def run_sweep(
    cfg: SweepConfig,
    out_dir: Path,
    *,
    catalog_path: Path = DEFAULT_CATALOG,
    devices_path: Path = DEFAULT_DEVICES,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run (or resume) the sweep; returns every row."""
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    rows_path = out_dir / "rows.jsonl"
    done: dict[tuple, dict[str, Any]] = {}
    if rows_path.exists():
        for line in rows_path.read_text().splitlines():
            try:
                r = json.loads(line)
                done[_key(r)] = r
            except json.JSONDecodeError:
                continue  # a line cut by an interruption: that solve is redone
    catalog = load_catalog(catalog_path)
    devices = load_devices(devices_path)
    ref = devices[cfg.reference_profile]
    caps = list(cfg.capacities)
    if cfg.include_top_device:
        caps.append(
            round(float(devices[cfg.include_top_device]["gflops"]) / float(ref["gflops"]), 3)
        )
    caps = sorted(set(caps))
    known = set(solver_names())
    solvers = [s for s in cfg.solvers if s in known or "+" in s]
    total = len(cfg.sizes) * len(cfg.seeds) * len(caps) * len(solvers)
    bar = tqdm(total=total, desc="capacity-sweep", unit="solve", disable=not progress)
    with rows_path.open("a") as fh:
        for C, R in cfg.sizes:
            for seed in cfg.seeds:
                gcfg = GeneratorConfig(
                    seed=seed,
                    controllers=C,
                    requests=R,
                    gnbs=max(1, C // 4),
                    device_mix={cfg.reference_profile: 1.0},
                    load_factor=cfg.load_factor,
                )
                base = generate(gcfg, catalog, devices, catalog_source=str(catalog_path))
                for cap in caps:
                    keys = [(C, R, seed, cap, sv) for sv in solvers]
                    if all(k in done for k in keys):
                        bar.update(len(keys))
                        continue
                    s = _scaled(
                        base, cap, ref, f"sweep-c{C}-r{R}-s{seed}-x{cap:g}", memory=cfg.scale_memory
                    )
                    p = compile_scenario(s)
                    for k, sv in zip(keys, solvers):
                        if k in done:
                            bar.update()
                            continue
                        t0 = time.perf_counter()
                        res = get_solver(sv)(p, seed=seed, time_limit_s=cfg.time_limit_s)
                        row = {
                            "controllers": C,
                            "requests": R,
                            "seed": seed,
                            "capacity": cap,
                            "solver": sv,
                            "status": res.status,
                            "objective": res.objective,
                            "bound": res.bound,
                            "wall_s": time.perf_counter() - t0,
                            **plan_metrics(s, p, res),
                        }
                        done[k] = row
                        fh.write(json.dumps(row, allow_nan=True) + "\n")
                        fh.flush()
                        bar.update()
    bar.close()
    rows = list(done.values())
    _add_gaps(rows)
    return rows


def _add_gaps(rows: list[dict[str, Any]]) -> None:
    """Gap of each row to the proven MILP optimum of its instance (NaN when not proven)."""
    opt = {}
    for r in rows:
        if r["solver"] == "milp" and r["status"] == "optimal":
            opt[_key(r)[:4]] = r["objective"]
    for r in rows:
        z_star = opt.get(_key(r)[:4])
        ok = r["objective"] is not None and r["status"] in ("optimal", "feasible", "time_limit")
        r["gap"] = (
            gap_to_reference(r["objective"], z_star)
            if (z_star is not None and ok)
            else float("nan")
        )


def _mean_ci(x: list[float]) -> tuple[float, float, int]:
    from scipy import stats

    v = np.array([a for a in x if a is not None and not math.isnan(a)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    if v.size == 1:
        return float(v[0]), float("nan"), 1
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return float(v.mean()), half, int(v.size)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["controllers"], r["requests"], r["capacity"], r["solver"]), []).append(
            r
        )
    out = []
    for (C, R, cap, sv), rs in sorted(groups.items()):
        agg: dict[str, Any] = {
            "controllers": C,
            "requests": R,
            "capacity": cap,
            "solver": sv,
            "runs": len(rs),
            "feasible": sum(
                1
                for r in rs
                if not math.isnan(r["time_s"])
                and r["status"] in ("optimal", "feasible", "time_limit")
            ),
        }
        for m in METRICS:
            agg[m], agg[m + "_ci"], agg[m + "_n"] = _mean_ci([r[m] for r in rs])
        out.append(agg)
    return out


def write_report(
    rows: list[dict[str, Any]], out_dir: Path, cfg: SweepConfig, *, command: str, run_s: float
) -> Path:
    """summary.md, results.csv and one PNG per metric under ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = aggregate(rows)
    sizes = sorted({(a["controllers"], a["requests"]) for a in agg})
    solvers = [s for s in cfg.solvers if any(a["solver"] == s for a in agg)]
    pngs = []
    for m, label in METRICS.items():
        fig, axes = plt.subplots(
            1, len(sizes), figsize=(max(6.4, 5.2 * len(sizes)), 4.4), squeeze=False
        )
        for ax, (C, R) in zip(axes[0], sizes):
            for sv in solvers:
                pts = [
                    a
                    for a in agg
                    if a["solver"] == sv and (a["controllers"], a["requests"]) == (C, R)
                ]
                xs = [a["capacity"] for a in pts if not math.isnan(a[m])]
                ys = [a[m] for a in pts if not math.isnan(a[m])]
                es = [
                    0.0 if math.isnan(a[m + "_ci"]) else a[m + "_ci"]
                    for a in pts
                    if not math.isnan(a[m])
                ]
                if xs:
                    ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=sv)
            ax.set_xscale("log")
            caps = sorted({a["capacity"] for a in agg})
            ax.set_xticks(caps)
            ax.set_xticklabels([f"{c:g}" for c in caps], rotation=45)
            ax.minorticks_off()
            ax.set_xlabel(
                "controller capacity (× Jetson Nano"
                + ("" if cfg.scale_memory else " compute; memory fixed")
                + ")"
            )
            ax.set_ylabel(label)
            ax.set_title(f"{C} controllers, {R} requests")
            ax.grid(True, alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"{label}\nagainst controller capacity (mean, 95% CI over seeds)", fontsize=11)
        fig.tight_layout()
        path = out_dir / f"{m}.png"
        tmp = out_dir / f".{m}.png.tmp"
        fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        tmp.replace(path)
        pngs.append(path.name)
    # CSV of the aggregate
    cols = ["controllers", "requests", "capacity", "solver", "runs", "feasible"] + [
        x for m in METRICS for x in (m, m + "_ci")
    ]
    lines = [",".join(cols)] + [
        ",".join(
            ""
            if (isinstance(a[c], float) and math.isnan(a[c]))
            else f"{a[c]:.6g}"
            if isinstance(a[c], float)
            else str(a[c])
            for c in cols
        )
        for a in agg
    ]
    write_text_atomic(out_dir / "results.csv", "\n".join(lines) + "\n")
    # Markdown
    md = [
        "# Capacity sweep: load balancing with very low controller capacity",
        "",
        f"Command: `{command}`  ",
        f"Run time: {run_s:.0f} s for this invocation; the rows' solve times add up to "
        f"{sum(r['wall_s'] for r in rows):.0f} s ({os.cpu_count()} CPUs; a resumed run re-solves nothing).  ",
        f"Sweep: capacities {sorted({a['capacity'] for a in agg})} × Jetson Nano; sizes {sizes}; "
        f"seeds {cfg.seeds}; solvers {solvers}; MILP time limit {cfg.time_limit_s:g} s. "
        + (
            "Controller compute and memory both scale with capacity."
            if cfg.scale_memory
            else f"Only controller compute scales; memory stays at the {cfg.reference_profile}'s."
        ),
        "",
        "Each cell: mean ± 95% CI half-width over seeds (n = seeds with a feasible plan). "
        "`—`: no feasible plan at any seed.",
        "",
        "Metrics: " + "; ".join(f"`{k}` = {v}" for k, v in METRICS.items()) + ". "
        "u_c is controller c's compute share of the round (docs/model.md §3); Jain's index is "
        "(Σu)²/(n·Σu²) over controllers (1 = perfectly even; undefined when all are idle); "
        "gap is (Z − Z*)/|Z*| against the proven MILP optimum of the same instance.",
        "",
    ]
    for C, R in sizes:
        md += [f"## {C} controllers, {R} requests", ""]
        head = ["capacity", "solver", "feasible"] + list(METRICS)
        md += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for a in agg:
            if (a["controllers"], a["requests"]) != (C, R):
                continue
            cells = [f"{a['capacity']:g}", a["solver"], f"{a['feasible']}/{a['runs']}"]
            for m in METRICS:
                v, h = a[m], a[m + "_ci"]
                cells.append(
                    "—"
                    if math.isnan(v)
                    else (f"{v:.3g}" if math.isnan(h) else f"{v:.3g} ± {h:.2g}")
                )
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    md += ["## Plots", ""] + [f"![{p}]({p})" for p in pngs] + [""]
    reading = out_dir / "READING.md"
    if reading.exists():
        md += [reading.read_text()]
    write_text_atomic(out_dir / "summary.md", "\n".join(md) + "\n")
    return out_dir / "summary.md"


def default_out(preset: str) -> Path:
    """The report folder of a preset when none is given."""
    return Path("reports/paper" if preset == "full" else "reports/paper-quick")


def run(
    *,
    preset: str = "full",
    out: str | os.PathLike[str] | None = None,
    solvers: list[str] | None = None,
    seeds: int | None = None,
    time_limit_s: float | None = None,
    catalog_path: str | os.PathLike[str] = DEFAULT_CATALOG,
    devices_path: str | os.PathLike[str] = DEFAULT_DEVICES,
    fresh: bool = False,
    scale_memory: bool = True,
    command: str = "",
) -> tuple[list[dict[str, Any]], Path]:
    """Run a preset sweep (``solvers``, ``seeds`` 1..N and ``time_limit_s`` replacing the
    preset's when given) into ``out``, resuming its rows unless ``fresh``; returns the rows and
    the path of ``summary.md``."""
    cfg = SweepConfig(**asdict(PRESETS[preset]))
    if solvers:
        cfg.solvers = list(solvers)
    if seeds:
        cfg.seeds = list(range(1, seeds + 1))
    if time_limit_s:
        cfg.time_limit_s = time_limit_s
    cfg.scale_memory = scale_memory
    folder = Path(out) if out is not None else default_out(preset)
    if fresh and (folder / "rows.jsonl").exists():
        (folder / "rows.jsonl").unlink()
    t0 = time.perf_counter()
    rows = run_sweep(cfg, folder, catalog_path=Path(catalog_path), devices_path=Path(devices_path))
    path = write_report(rows, folder, cfg, command=command, run_s=time.perf_counter() - t0)
    return rows, path
