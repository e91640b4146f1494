"""The catalog file format (``edgeopt-catalog/1``): configuration ids and strict validation.

``validate_catalog`` checks every field MODEL.md §8 and the profiler define and raises
``InputError`` naming the file and the field; ``load_catalog`` reads and validates a file.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

from edgeopt.errors import InputError
from edgeopt.jsonio import read_json

__all__ = [
    "CATALOG_FORMAT",
    "CONFIG_REQUIRED",
    "CONFIG_OPTIONAL",
    "config_id",
    "validate_catalog",
    "load_catalog",
]

CATALOG_FORMAT = "edgeopt-catalog/1"
CONFIG_REQUIRED = (
    "id", "width", "batch", "epochs", "accuracy", "host_infer_ms",
    "host_train_ms_per_sample", "infer_mem_mb", "train_mem_mb", "model_mb",
)  # fmt: skip
CONFIG_OPTIONAL = (
    "params", "infer_mflop", "infer_mflop_analytic", "train_mem_mb_analytic",
    "infer_mem_mb_analytic", "memory_source",
)  # fmt: skip
FAMILY_FIELDS = ("data", "input_shape", "classes", "architecture", "configs")
TOP_FIELDS = ("format", "host_gflops", "provenance", "families")
MEMORY_SOURCES = ("measured", "analytic")
_ID = re.compile(r"^w(\d\.\d\d)-b(\d+)-e(\d+)$")
_POSITIVE = ("host_infer_ms", "host_train_ms_per_sample", "infer_mem_mb", "train_mem_mb",
             "model_mb", "infer_mflop", "infer_mflop_analytic", "train_mem_mb_analytic",
             "infer_mem_mb_analytic")  # fmt: skip


def config_id(width: float, batch: int, epochs: int) -> str:
    """Configuration id: width with two decimals, batch, epochs.

    >>> config_id(0.5, 32, 3)
    'w0.50-b32-e3'
    """
    return f"w{width:.2f}-b{batch}-e{epochs}"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_config(cfg: Any, source: str, where: str) -> None:
    if not isinstance(cfg, dict):
        raise InputError("must be an object", source=source, field=where)
    for key in cfg:
        if key not in CONFIG_REQUIRED and key not in CONFIG_OPTIONAL:
            raise InputError("unknown field", source=source, field=f"{where}.{key}")
    for key in CONFIG_REQUIRED:
        if key not in cfg:
            raise InputError("missing field", source=source, field=f"{where}.{key}")

    def bad(key: str, why: str) -> InputError:
        return InputError(f"{why} (got {cfg[key]!r})", source=source, field=f"{where}.{key}")

    if not isinstance(cfg["id"], str):
        raise bad("id", "must be a string")
    for key in ("batch", "epochs"):
        if not _is_int(cfg[key]) or cfg[key] < 1:
            raise bad(key, "must be a positive integer")
    if "params" in cfg and (not _is_int(cfg["params"]) or cfg["params"] < 1):
        raise bad("params", "must be a positive integer")
    for key in ("width", "accuracy", *_POSITIVE):
        if key in cfg and not _is_number(cfg[key]):
            raise bad(key, "must be a finite number")
    if not 0 < cfg["width"] <= 1:
        raise bad("width", "must be in (0, 1]")
    if not 0 <= cfg["accuracy"] <= 1:
        raise bad("accuracy", "must be in [0, 1]")
    for key in _POSITIVE:
        if key in cfg and cfg[key] <= 0:
            raise bad(key, "must be > 0")
    if "memory_source" in cfg and cfg["memory_source"] not in MEMORY_SOURCES:
        raise bad("memory_source", f"must be one of {', '.join(MEMORY_SOURCES)}")
    if config_id(cfg["width"], cfg["batch"], cfg["epochs"]) != cfg["id"] or not _ID.match(
        cfg["id"]
    ):
        raise bad("id", "must read w<width .2f>-b<batch>-e<epochs> and match those fields")


def validate_catalog(obj: Any, *, source: str = "<catalog>") -> dict:
    """Check a catalog object strictly; returns it unchanged or raises ``InputError``."""
    if not isinstance(obj, dict):
        raise InputError("a catalog must be a JSON object", source=source)
    if obj.get("format") != CATALOG_FORMAT:
        raise InputError(f"unknown format {obj.get('format')!r}, expected {CATALOG_FORMAT!r}",
                         source=source, field="format")  # fmt: skip
    for key in obj:
        if key not in TOP_FIELDS:
            raise InputError("unknown field", source=source, field=key)
    for key in TOP_FIELDS:
        if key not in obj:
            raise InputError("missing field", source=source, field=key)
    if not _is_number(obj["host_gflops"]) or obj["host_gflops"] <= 0:
        raise InputError("must be a finite number > 0", source=source, field="host_gflops")
    if not isinstance(obj["provenance"], dict):
        raise InputError("must be an object", source=source, field="provenance")
    families = obj["families"]
    if not isinstance(families, dict) or not families:
        raise InputError("must be a non-empty object", source=source, field="families")
    for name, fam in families.items():
        where = f"families.{name}"
        if not isinstance(fam, dict):
            raise InputError("must be an object", source=source, field=where)
        for key in fam:
            if key not in FAMILY_FIELDS:
                raise InputError("unknown field", source=source, field=f"{where}.{key}")
        for key in FAMILY_FIELDS:
            if key not in fam:
                raise InputError("missing field", source=source, field=f"{where}.{key}")
        for key in ("data", "architecture"):
            if not isinstance(fam[key], str) or not fam[key]:
                raise InputError("must be a non-empty string", source=source,
                                 field=f"{where}.{key}")  # fmt: skip
        shape = fam["input_shape"]
        if not isinstance(shape, list) or not shape or not all(_is_int(d) and d > 0 for d in shape):
            raise InputError("must be a list of positive integers", source=source,
                             field=f"{where}.input_shape")  # fmt: skip
        if not _is_int(fam["classes"]) or fam["classes"] < 2:
            raise InputError("must be an integer >= 2", source=source, field=f"{where}.classes")
        configs = fam["configs"]
        if not isinstance(configs, list) or not configs:
            raise InputError("must be a non-empty list", source=source, field=f"{where}.configs")
        seen: set[str] = set()
        for i, cfg in enumerate(configs):
            _check_config(cfg, source, f"{where}.configs[{i}]")
            if cfg["id"] in seen:
                raise InputError(f"duplicate configuration id {cfg['id']!r}", source=source,
                                 field=f"{where}.configs[{i}].id")  # fmt: skip
            seen.add(cfg["id"])
    return obj


def load_catalog(path: str | os.PathLike[str]) -> dict:
    """Read and validate a catalog file; ``InputError`` names the file and the field."""
    return validate_catalog(read_json(path), source=str(path))
