"""The catalog (``edgeopt-catalog/1``) and device-profile (``edgeopt-devices/1``) formats:
the one validator and loader of each, errors naming file and field (docs/model.md §2, §6, §8).

A catalog is valid here when a scenario can embed it and the generator can read it; the
profiler adds what a *measured* catalog must also record (``edgeopt.profiling.catalog``).
The shipped measured catalog and device profiles are the loaders' defaults.
"""

from __future__ import annotations

import math
import os
from typing import Any

from edgeopt.data import model_path
from edgeopt.fields import Fields
from edgeopt.jsonio import read_json

__all__ = [
    "CATALOG_FORMAT",
    "DEVICES_FORMAT",
    "CONFIG_REQUIRED",
    "CONFIG_OPTIONAL",
    "CONFIG_COSTS",
    "FAMILY_OPTIONAL",
    "PROFILE_REQUIRED",
    "PROFILE_OPTIONAL",
    "MEMORY_SOURCES",
    "DEFAULT_CATALOG",
    "DEFAULT_DEVICES",
    "validate_catalog",
    "load_catalog",
    "validate_devices",
    "load_devices",
]

CATALOG_FORMAT = "edgeopt-catalog/1"
DEVICES_FORMAT = "edgeopt-devices/1"
#: The measured catalog and device profiles shipped from ``models/``.
DEFAULT_CATALOG = model_path("catalog.json")
DEFAULT_DEVICES = model_path("devices.json")

CONFIG_REQUIRED = (
    "id", "width", "batch", "epochs", "accuracy", "host_infer_ms",
    "host_train_ms_per_sample", "infer_mem_mb", "train_mem_mb", "model_mb",
)  # fmt: skip
CONFIG_OPTIONAL = (
    "params", "infer_mflop", "infer_mflop_analytic", "train_mem_mb_analytic",
    "infer_mem_mb_analytic", "memory_source",
)  # fmt: skip
#: Costs a configuration may have for free (0: e.g. no training) but never below.
CONFIG_COSTS = (
    "host_infer_ms", "host_train_ms_per_sample", "infer_mem_mb", "train_mem_mb", "model_mb",
    "infer_mflop", "infer_mflop_analytic", "train_mem_mb_analytic", "infer_mem_mb_analytic",
)  # fmt: skip
FAMILY_OPTIONAL = ("data", "input_shape", "classes", "architecture")
MEMORY_SOURCES = ("measured", "analytic")

PROFILE_REQUIRED = ("gflops", "memory_mb", "vm_overhead_mb", "max_util")
PROFILE_OPTIONAL = ("peak_gflops", "sigma", "sigma_peak", "assumptions", "source")


# ---------------------------------------------------------------------- catalog
def validate_catalog(data: Any, *, source: str = "<catalog>", field: str = "") -> dict[str, Any]:
    """Check a catalog object (a standalone file, or ``field`` of a scenario); returns it.

    ``format`` and ``provenance`` are optional (a scenario's embedded catalog may drop
    them); every other rule is the same wherever the catalog comes from.

    >>> validate_catalog({"host_gflops": 0, "families": {}}, source="c.json")
    Traceback (most recent call last):
    ...
    edgeopt.errors.InputError: c.json: field 'host_gflops': must be > 0, got 0
    """
    f = Fields(source)

    def p(key: str) -> str:
        return f"{field}.{key}" if field else key

    c = f.obj(data, field)
    if "format" in c and c["format"] != CATALOG_FORMAT:
        raise f.fail(p("format"), f"unknown format {c['format']!r}, expected {CATALOG_FORMAT!r}")
    f.keys(c, field, ["host_gflops", "families"], ["format", "provenance"])
    f.number(c["host_gflops"], p("host_gflops"), min=0.0, min_exclusive=True)
    f.obj(c.get("provenance", {}), p("provenance"))
    fams = f.obj(c["families"], p("families"))
    if not fams:
        raise f.fail(p("families"), "must not be empty")
    for name, fam in fams.items():
        _family(f, fam, p(f"families.{name}"))
    return c


def _family(f: Fields, fam: Any, where: str) -> None:
    fam = f.obj(fam, where)
    f.keys(fam, where, ["configs"], FAMILY_OPTIONAL)
    for key in ("data", "architecture"):
        if key in fam:
            f.string(fam[key], f"{where}.{key}")
    if "classes" in fam:
        f.integer(fam["classes"], f"{where}.classes", min=2)
    if "input_shape" in fam:  # the generator derives sample_kb from it
        shape = f.arr(fam["input_shape"], f"{where}.input_shape")
        dims = [f.integer(x, f"{where}.input_shape[{k}]", min=1) for k, x in enumerate(shape)]
        if not dims or math.prod(dims) > 10**12:
            raise f.fail(
                f"{where}.input_shape", "must be 1 to 10^12 elements: a list of positive integers"
            )
    configs = f.arr(fam["configs"], f"{where}.configs")
    if not configs:
        raise f.fail(f"{where}.configs", "must not be empty")
    ids: set[str] = set()
    for k, cfg in enumerate(configs):
        cf = f"{where}.configs[{k}]"
        cfg = f.obj(cfg, cf)
        f.keys(cfg, cf, CONFIG_REQUIRED, CONFIG_OPTIONAL)
        cid = f.string(cfg["id"], f"{cf}.id")
        if cid in ids:
            raise f.fail(f"{cf}.id", f"duplicate config id {cid!r}")
        ids.add(cid)
        f.number(cfg["width"], f"{cf}.width", min=0.0, max=1.0, min_exclusive=True)
        f.integer(cfg["batch"], f"{cf}.batch", min=1)
        f.integer(cfg["epochs"], f"{cf}.epochs", min=0)
        f.number(cfg["accuracy"], f"{cf}.accuracy", min=0.0, max=1.0)
        for key in CONFIG_COSTS:
            if key in cfg:
                f.number(cfg[key], f"{cf}.{key}", min=0.0)
        if "params" in cfg:
            f.integer(cfg["params"], f"{cf}.params", min=1)
        if "memory_source" in cfg and cfg["memory_source"] not in MEMORY_SOURCES:
            raise f.fail(
                f"{cf}.memory_source",
                f"must be one of {', '.join(MEMORY_SOURCES)}, got {cfg['memory_source']!r}",
            )


def load_catalog(path: str | os.PathLike[str] = DEFAULT_CATALOG) -> dict[str, Any]:
    """Read and validate a catalog file (default: the shipped measured catalog)."""
    return validate_catalog(read_json(path), source=str(path))


# ---------------------------------------------------------------------- devices
def validate_devices(data: Any, *, source: str = "<devices>") -> dict[str, dict[str, Any]]:
    """Check a devices object; returns its profiles by name.

    A profile meets the rules of a scenario's controllers (gflops > 0, memory_mb > 0,
    vm_overhead_mb ≥ 0, max_util in (0, 1]); the figures' sources are optional here.

    >>> validate_devices({"format": DEVICES_FORMAT, "profiles": {"pi": {"gflops": 8,
    ...     "memory_mb": 4096, "vm_overhead_mb": 256}}}, source="d.json")
    Traceback (most recent call last):
    ...
    edgeopt.errors.InputError: d.json: field 'profiles.pi.max_util': missing
    """
    f = Fields(source)
    d = f.obj(data, "")
    if d.get("format") != DEVICES_FORMAT:
        raise f.fail("format", f"unknown format {d.get('format')!r}, expected {DEVICES_FORMAT!r}")
    f.keys(d, "", ["format", "profiles"])
    profiles = f.obj(d["profiles"], "profiles")
    if not profiles:
        raise f.fail("profiles", "must not be empty")
    for name, prof in profiles.items():
        where = f"profiles.{name}"
        prof = f.obj(prof, where)
        f.keys(prof, where, PROFILE_REQUIRED, PROFILE_OPTIONAL)
        f.number(prof["gflops"], f"{where}.gflops", min=0.0, min_exclusive=True)
        f.number(prof["memory_mb"], f"{where}.memory_mb", min=0.0, min_exclusive=True)
        f.number(prof["vm_overhead_mb"], f"{where}.vm_overhead_mb", min=0.0)
        f.number(prof["max_util"], f"{where}.max_util", min=0.0, max=1.0, min_exclusive=True)
        for key in ("peak_gflops", "sigma", "sigma_peak"):
            if key in prof:
                f.number(prof[key], f"{where}.{key}", min=0.0, min_exclusive=True)
        if "assumptions" in prof:
            for k, a in enumerate(f.arr(prof["assumptions"], f"{where}.assumptions")):
                f.string(a, f"{where}.assumptions[{k}]")
        if "source" in prof:
            _source(f, prof["source"], f"{where}.source")
    return profiles


def _source(f: Fields, value: Any, where: str) -> None:
    """A figure's source: one non-empty string, or non-empty strings by figure name."""
    if isinstance(value, str):
        f.string(value, where)
        return
    by_figure = f.obj(value, where)
    if not by_figure:
        raise f.fail(where, "must not be empty")
    for key, text in by_figure.items():
        f.string(text, f"{where}.{key}")


def load_devices(path: str | os.PathLike[str] = DEFAULT_DEVICES) -> dict[str, dict[str, Any]]:
    """Read and validate a devices file (default: the shipped profiles); profiles by name."""
    return validate_devices(read_json(path), source=str(path))
