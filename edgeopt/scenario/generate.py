"""Seeded scenario generator: same seed and knobs → byte-identical file.

Shape: cloud — edge (UPF) — gNBs — controllers. Device profiles (published
figures with sources) and DNN costs (the measured catalog) come from
``edgeopt.scenario.schema``'s loaders, by default the files shipped in
``models/``. Link figures and request ranges below are *scenario knobs*,
not measurements: they describe a plausible 5G deployment and are stated here
so every generated file can be traced to them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from edgeopt.errors import InputError
from edgeopt.scenario.model import Request, Scenario
from edgeopt.scenario.schema import validate_catalog

__all__ = ["GeneratorConfig", "generate", "parse_mix"]


@dataclass
class GeneratorConfig:
    """Size and shape knobs of a generated scenario (every field has a CLI flag)."""

    seed: int = 0
    controllers: int = 6
    gnbs: int = 2
    requests: int = 24
    #: device profile → relative frequency among controllers
    device_mix: dict[str, float] = field(
        default_factory=lambda: {
            "raspberry-pi-4": 1.0,
            "jetson-nano": 2.0,
            "jetson-tx2": 1.0,
            "jetson-xavier-nx": 1.0,
        }
    )
    #: multiplies every controller's gflops and memory_mb (< 1: weaker than the real device)
    capacity_scale: float = 1.0
    #: families to draw from (None: every family of the catalog)
    families: list[str] | None = None
    #: target of Σ compute demand (best config, average controller) / Σ controller capacity
    load_factor: float = 0.9
    cloud: bool = True
    window_s: float = 3600.0
    weights: dict[str, float] = field(
        default_factory=lambda: {"balance": 1.0, "accuracy": 2.0, "network": 0.05, "cloud": 1.0}
    )
    # Scenario knobs (assumptions, not measurements): 5G NR uplink per controller,
    # gNB–UPF transport, UPF–cloud backhaul.
    radio_mbps: tuple[float, float] = (50.0, 200.0)
    radio_latency_ms: tuple[float, float] = (4.0, 10.0)
    transport_mbps: float = 10000.0
    transport_latency_ms: float = 1.0
    backhaul_mbps: float = 1000.0
    backhaul_latency_ms: float = 20.0
    inference_rate_hz: tuple[float, float] = (0.2, 5.0)
    train_samples: tuple[int, int] = (2000, 20000)
    max_latency_ms: tuple[float, float] = (40.0, 400.0)
    #: min_accuracy is the family accuracy at this quantile range of its catalog
    accuracy_quantile: tuple[float, float] = (0.0, 0.6)
    request_weights: tuple[float, ...] = (0.5, 1.0, 2.0)
    name: str | None = None

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def parse_mix(text: str) -> dict[str, float]:
    """``"jetson-nano:2,raspberry-pi-4:1"`` → {"jetson-nano": 2.0, "raspberry-pi-4": 1.0}."""
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, w = part.partition(":")
        try:
            out[name.strip()] = float(w) if w else 1.0
        except ValueError:
            raise InputError(
                f"bad weight in {part!r} (expected NAME:WEIGHT)", field="device-mix"
            ) from None
        if not math.isfinite(out[name.strip()]) or out[name.strip()] < 0:
            raise InputError(f"weight in {part!r} must be a finite number >= 0", field="device-mix")
    if not out or sum(out.values()) <= 0:
        raise InputError("needs at least one profile with a positive weight", field="device-mix")
    return out


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _r(x: float, nd: int = 4) -> float:
    """Round generated reals so files stay short and byte-stable."""
    return float(round(x, nd))


def generate(
    cfg: GeneratorConfig,
    catalog: dict[str, Any],
    devices: dict[str, dict[str, Any]],
    *,
    catalog_source: str = "<catalog>",
) -> Scenario:
    """Build a scenario from ``cfg``; every random draw comes from ``default_rng(cfg.seed)``."""
    catalog = validate_catalog(catalog, source=catalog_source)
    _check(cfg, catalog, devices)
    rng = np.random.default_rng(cfg.seed)
    fams = cfg.families or list(catalog["families"])
    C = cfg.controllers
    n_gnb = min(cfg.gnbs, C)

    g = nx.Graph()
    if cfg.cloud:
        g.add_node("cloud", kind="cloud")
    g.add_node("upf", kind="edge")
    for b in range(n_gnb):
        g.add_node(f"gnb{b}", kind="gnb")
    names = sorted(cfg.device_mix)
    p = np.array([cfg.device_mix[n] for n in names], dtype=np.float64)
    p = p / p.sum()
    for c in range(C):
        prof = names[int(rng.choice(len(names), p=p))]
        dev = devices[prof]
        g.add_node(
            f"c{c}",
            kind="controller",
            profile=prof,
            gflops=_r(float(dev["gflops"]) * cfg.capacity_scale),
            memory_mb=_r(float(dev["memory_mb"]) * cfg.capacity_scale, 1),
            vm_overhead_mb=float(dev["vm_overhead_mb"]),
            max_util=float(dev["max_util"]),
        )
    for c in range(C):
        a = g.nodes[f"c{c}"]
        if not (
            a["gflops"] > 0 and a["memory_mb"] > 0 and math.isfinite(a["gflops"] * a["memory_mb"])
        ):
            raise InputError(
                f"controller c{c} ({a['profile']}) gets gflops {a['gflops']} and memory_mb "
                f"{a['memory_mb']}: outside what a scenario allows",
                field="capacity-scale",
            )
    if cfg.cloud:
        g.add_edge(
            "cloud", "upf", bandwidth_mbps=cfg.backhaul_mbps, latency_ms=cfg.backhaul_latency_ms
        )
    for b in range(n_gnb):
        g.add_edge(
            "upf", f"gnb{b}", bandwidth_mbps=cfg.transport_mbps, latency_ms=cfg.transport_latency_ms
        )
    for c in range(C):
        g.add_edge(
            f"gnb{c % n_gnb}",
            f"c{c}",
            bandwidth_mbps=_r(_uniform(rng, cfg.radio_mbps), 1),
            latency_ms=_r(_uniform(rng, cfg.radio_latency_ms), 2),
            max_util=0.8,
        )

    # Requests: family, origin, demand; then scale training volume to the load factor.
    raw: list[dict[str, Any]] = []
    for k in range(cfg.requests):
        fam = fams[int(rng.integers(len(fams)))]
        configs = catalog["families"][fam]["configs"]
        accs = np.sort(np.array([c["accuracy"] for c in configs], dtype=np.float64))
        q = _uniform(rng, cfg.accuracy_quantile)
        raw.append(
            {
                "id": f"r{k}",
                "family": fam,
                "origin": f"c{int(rng.integers(C))}",
                "inference_rate_hz": _r(_uniform(rng, cfg.inference_rate_hz), 3),
                "train_samples": int(rng.integers(cfg.train_samples[0], cfg.train_samples[1] + 1)),
                "sample_kb": _sample_kb(catalog["families"][fam]),
                "min_accuracy": _r(float(np.quantile(accs, q, method="lower")), 4),
                "max_latency_ms": _r(_uniform(rng, cfg.max_latency_ms), 1),
                "weight": float(cfg.request_weights[int(rng.integers(len(cfg.request_weights)))]),
            }
        )
    _scale_to_load(raw, cfg, catalog, g)
    name = cfg.name or f"gen-c{C}-r{cfg.requests}-s{cfg.seed}"
    s = Scenario(
        name=name,
        window_s=cfg.window_s,
        weights=dict(cfg.weights),
        graph=g,
        requests=[Request(**r) for r in raw],
        catalog=catalog,
        source="<generated>",
        extra={"meta": {"generator": "edgeopt.scenario.generate", "config": cfg.describe()}},
    )
    return _loadable(s)


def _loadable(s: Scenario) -> Scenario:
    """``s`` if the scenario reader accepts its file form, else ``InputError``: the generator
    never writes a file that ``validate`` or ``solve`` would then reject."""
    from edgeopt.jsonio import dumps, loads
    from edgeopt.scenario.model import scenario_from_dict, scenario_to_dict

    try:
        scenario_from_dict(loads(dumps(scenario_to_dict(s))), source="<generated>")
    except (InputError, ValueError) as exc:  # ValueError: a non-finite number
        raise InputError(
            f"these settings make a scenario edgeopt cannot load ({exc}); "
            "change --capacity-scale, --load-factor or --window-s"
        ) from None
    return s


def _sample_kb(fam: dict[str, Any]) -> float:
    """One float32 input sample of the family's input shape, in kB (1.0 kB if unknown)."""
    shape = fam.get("input_shape")
    if not shape:
        return 1.0
    return _r(float(np.prod(shape)) * 4.0 / 1000.0, 3)


def _scale_to_load(
    raw: list[dict[str, Any]], cfg: GeneratorConfig, catalog: dict[str, Any], g: nx.Graph
) -> None:
    """Scale train_samples so Σ demand of the most accurate configs ≈ load_factor · Σ ρ_c.

    Demand is measured on an "average" controller (mean speed factor σ).
    """
    host = float(catalog["host_gflops"])
    ctrl = [a for _, a in g.nodes(data=True) if a["kind"] == "controller"]
    sigma = float(np.mean([host / a["gflops"] for a in ctrl]))
    capacity = float(sum(a["max_util"] for a in ctrl))
    infer = train = 0.0
    for r in raw:
        configs = catalog["families"][r["family"]]["configs"]
        best = max(configs, key=lambda c: c["accuracy"])
        infer += r["inference_rate_hz"] * best["host_infer_ms"] * sigma / 1000.0
        train += (
            r["train_samples"]
            * best["epochs"]
            * best["host_train_ms_per_sample"]
            * sigma
            / (1000.0 * cfg.window_s)
        )
    if train <= 0.0:
        return  # training costs nothing in this catalog: there is no volume to scale
    target = cfg.load_factor * capacity - infer
    factor = max(target, 0.02 * capacity) / train
    for r in raw:
        r["train_samples"] = min(max(1, int(round(r["train_samples"] * factor))), 10**12)


def _check(
    cfg: GeneratorConfig, catalog: dict[str, Any], devices: dict[str, dict[str, Any]]
) -> None:
    if cfg.controllers < 1:
        raise InputError("must be >= 1", field="controllers")
    if cfg.gnbs < 1:
        raise InputError("must be >= 1", field="gnbs")
    if cfg.requests < 1:
        raise InputError("must be >= 1", field="requests")
    if not (cfg.capacity_scale > 0 and math.isfinite(cfg.capacity_scale)):
        raise InputError("must be a finite number > 0", field="capacity-scale")
    if not (cfg.load_factor > 0 and math.isfinite(cfg.load_factor)):
        raise InputError("must be a finite number > 0", field="load-factor")
    if not (cfg.window_s > 0 and math.isfinite(cfg.window_s)):
        raise InputError("must be a finite number > 0", field="window-s")
    for name in cfg.device_mix:
        if name not in devices:
            raise InputError(
                f"unknown device profile {name!r} (known: {', '.join(devices)})", field="device-mix"
            )
    for fam in cfg.families or []:
        if fam not in catalog["families"]:
            raise InputError(
                f"unknown family {fam!r} (catalog has {', '.join(catalog['families'])})",
                field="families",
            )
