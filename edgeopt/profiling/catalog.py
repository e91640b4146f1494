"""What a *measured* catalog must record beyond the catalog rules every catalog meets
(``edgeopt.scenario.schema``): its format tag, provenance, each family's data and model, and
configuration ids spelling width, batch and epochs.
"""

from __future__ import annotations

import os
from typing import Any

from edgeopt.fields import Fields
from edgeopt.jsonio import read_json
from edgeopt.scenario.schema import CONFIG_COSTS, FAMILY_OPTIONAL, validate_catalog

__all__ = ["config_id", "validate_measured_catalog", "load_measured_catalog"]


def config_id(width: float, batch: int, epochs: int) -> str:
    """Configuration id: width with two decimals, batch, epochs.

    >>> config_id(0.5, 32, 3)
    'w0.50-b32-e3'
    """
    return f"w{width:.2f}-b{batch}-e{epochs}"


def validate_measured_catalog(data: Any, *, source: str = "<catalog>") -> dict[str, Any]:
    """:func:`~edgeopt.scenario.schema.validate_catalog`, then the profiler's own requirements:
    ``format`` and ``provenance`` present, every family's ``data``, ``input_shape``,
    ``classes`` and ``architecture`` present, every configuration trained (epochs ≥ 1) with
    measured costs > 0 and id ``config_id(width, batch, epochs)``. Returns the catalog."""
    cat = validate_catalog(data, source=source)
    f = Fields(source)
    f.get(cat, "format", "")
    f.get(cat, "provenance", "")
    for name, fam in cat["families"].items():
        where = f"families.{name}"
        for key in FAMILY_OPTIONAL:
            f.get(fam, key, where)
        for k, cfg in enumerate(fam["configs"]):
            cf = f"{where}.configs[{k}]"
            f.integer(cfg["epochs"], f"{cf}.epochs", min=1)
            for key in CONFIG_COSTS:
                if key in cfg:
                    f.number(cfg[key], f"{cf}.{key}", min=0.0, min_exclusive=True)
            want = config_id(cfg["width"], cfg["batch"], cfg["epochs"])
            if cfg["id"] != want:
                raise f.fail(
                    f"{cf}.id", f"must spell width, batch and epochs: {want!r}, got {cfg['id']!r}"
                )
    return cat


def load_measured_catalog(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a catalog file and check it as :func:`validate_measured_catalog` does."""
    return validate_measured_catalog(read_json(path), source=str(path))
