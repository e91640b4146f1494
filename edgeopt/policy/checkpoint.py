"""Checkpoints of the learned policy, read without TensorFlow: ``policy.npz`` + ``config.json``.

A checkpoint is a folder with the exported weights (:class:`~edgeopt.policy.network.NumpyPolicy`)
and a JSON config (:class:`AgentConfig` under ``"agent"``, format :data:`CHECKPOINT_FORMAT`)
that pins it to this edgeopt's feature lists and item rule. :func:`read_checkpoint` checks
every part and raises one :class:`~edgeopt.errors.InputError` line for anything wrong;
writing checkpoints (and training) is :mod:`edgeopt.rl.agent`'s.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeopt.core.batch import ITEM_RULES
from edgeopt.data import artefact_path
from edgeopt.errors import InputError
from edgeopt.jsonio import loads, read_bytes
from edgeopt.policy.features import (
    EDGE_FEATURES,
    FEATURES,
    GLOBALS,
    N_EDGE_FEATURES,
    N_FEATURES,
    N_GLOBALS,
    N_RES_FEATURES,
    RESOURCE_FEATURES,
)
from edgeopt.policy.network import NumpyPolicy

__all__ = [
    "AgentConfig",
    "CHECKPOINT_FORMAT",
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "MAX_HIDDEN",
    "SIZES",
    "DEFAULT_CHECKPOINT",
    "read_checkpoint",
    "load_policy",
    "checkpoint_sha256",
]

CHECKPOINT_FORMAT = "edgeopt-drl-checkpoint/3"
_FORMAT_STEM = "edgeopt-drl-checkpoint/"
WEIGHTS_FILE = "policy.npz"
CONFIG_FILE = "config.json"
#: Widest hidden layer a checkpoint may ask for (the shipped one uses 64; 200 000 would exhaust memory).
MAX_HIDDEN = 4096
#: Feature counts (candidate, global, resource, edge) the network's input layers are sized by.
SIZES = (N_FEATURES, N_GLOBALS, N_RES_FEATURES, N_EDGE_FEATURES)


@dataclass
class AgentConfig:
    """Shape of the network; the feature lists and item rule pin the checkpoint to this env version."""

    hidden: int = 64
    order: str = "regret"
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    globals: list[str] = field(default_factory=lambda: list(GLOBALS))
    resource_features: list[str] = field(default_factory=lambda: list(RESOURCE_FEATURES))
    edge_features: list[str] = field(default_factory=lambda: list(EDGE_FEATURES))


def _count(names: Any) -> str:
    """How many names a config field lists (``?`` when it is not a list)."""
    return str(len(names)) if isinstance(names, list) else "?"


def read_checkpoint(
    directory: str | os.PathLike[str],
) -> tuple[NumpyPolicy, AgentConfig, dict[str, Any]]:
    """The NumPy policy, its config and the whole ``config.json`` of a checkpoint, without
    TensorFlow; any missing, corrupt or mismatched part raises one-line :class:`InputError`."""
    d = Path(directory)
    src = str(d)
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    if not d.is_dir():
        raise InputError("checkpoint folder not found", source=src)
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputError(f"checkpoint needs {CONFIG_FILE} and {WEIGHTS_FILE}", source=src)
    try:
        meta = loads(read_bytes(cfg_path), source=str(cfg_path))
    except InputError as exc:
        raise InputError(f"{CONFIG_FILE}: {exc.bare_message}", source=src) from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        if isinstance(got, str) and got < CHECKPOINT_FORMAT and got.startswith(_FORMAT_STEM):
            raise InputError(
                f"{CONFIG_FILE}: format {got!r} is an older checkpoint without the critic "
                f"(this edgeopt reads {CHECKPOINT_FORMAT!r}); retrain it",
                source=src,
            )
        raise InputError(
            f"{CONFIG_FILE}: unknown format {got!r}, expected {CHECKPOINT_FORMAT!r}", source=src
        )
    a = meta.get("agent")
    if not isinstance(a, dict):
        raise InputError(f"{CONFIG_FILE}: field 'agent' must be an object", source=src)
    hidden = a.get("hidden")
    # type(...) is int: JSON true is a Python bool, which isinstance(..., int) accepts
    if type(hidden) is not int or not 1 <= hidden <= MAX_HIDDEN:
        raise InputError(
            f"{CONFIG_FILE}: field 'agent.hidden' must be an integer from 1 to {MAX_HIDDEN}, "
            f"got {json.dumps(hidden)[:40]}",
            source=src,
        )
    cfg = AgentConfig(hidden=hidden)
    for key in ("features", "globals", "resource_features", "edge_features"):
        if a.get(key) != getattr(cfg, key):
            raise InputError(
                f"{CONFIG_FILE}: checkpoint was trained on other {key.replace('_', ' ')} than this "
                f"edgeopt's env ({_count(a.get(key))} vs {len(getattr(cfg, key))}); retrain it",
                source=src,
            )
    if not isinstance(a.get("order"), str) or a["order"] not in ITEM_RULES:
        raise InputError(
            f"{CONFIG_FILE}: field 'agent.order' must be one of {list(ITEM_RULES)} (got {a.get('order')!r}); retrain it",
            source=src,
        )
    cfg.order = a["order"]
    policy = NumpyPolicy.from_file(w_path, sizes=SIZES, source=src)
    if policy.hidden != hidden:
        raise InputError(
            f"{WEIGHTS_FILE} has {policy.hidden} hidden units, {CONFIG_FILE} says {hidden}",
            source=src,
        )
    return policy, cfg, meta


#: The committed checkpoint ``--solver drl`` uses unless ``checkpoint=PATH`` is given.
DEFAULT_CHECKPOINT = artefact_path("drl", "default")
_POLICIES: dict[tuple[object, ...], tuple[NumpyPolicy, str]] = {}


def load_policy(checkpoint: str | Path | None = None) -> tuple[NumpyPolicy, str]:
    """The NumPy policy of ``checkpoint`` (default :data:`DEFAULT_CHECKPOINT`) and its item rule,
    loaded once per process."""
    path = str(Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT)
    # keyed by the files' modification times too: a checkpoint retrained in place is re-read
    stamp = []
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        try:
            stamp.append(os.stat(os.path.join(path, name)).st_mtime_ns)
        except OSError:
            stamp.append(-1)
    key = (path, *stamp)
    if key not in _POLICIES:
        policy, cfg, _ = read_checkpoint(path)
        _POLICIES[key] = (policy, cfg.order)
    return _POLICIES[key]


def checkpoint_sha256(checkpoint: str | Path | None = None) -> str:
    """Hash of a checkpoint's weights and network config: stored results of ``drl`` solvers are
    keyed by it, so a retrained checkpoint at the same path is not mistaken for the old one.
    A checkpoint that cannot be read hashes to "" (loading it then reports the problem)."""
    d = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    try:
        h = hashlib.sha256((d / WEIGHTS_FILE).read_bytes())
        agent = json.loads((d / CONFIG_FILE).read_text(encoding="utf-8")).get("agent")
        h.update(json.dumps(agent, sort_keys=True).encode())
    except (OSError, ValueError, AttributeError):
        return ""
    return h.hexdigest()[:16]
