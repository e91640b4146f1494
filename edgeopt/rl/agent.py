"""The actor-critic network (Keras) and its checkpoints (``.weights.h5`` + JSON config).

The actor scores each candidate column from its features, the pooled features
of the item's other fitting columns and the global state, so one network fits
any number of items, bins and options; the critic values the pooled state.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.errors import InputError
from edgeopt.jsonio import write_json_atomic
from edgeopt.rl.env import FEATURES, GLOBALS, ITEM_RULES, N_FEATURES, N_GLOBALS

__all__ = [
    "AgentConfig",
    "Agent",
    "rollout",
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "masked_log_softmax",
    "quiet_tensorflow",
    "MAX_HIDDEN",
]

CHECKPOINT_FORMAT = "edgeopt-drl-checkpoint/1"
WEIGHTS_FILE = "agent.weights.h5"
CONFIG_FILE = "config.json"
_NEG = -1e9
#: Initial weight of the myopic prior (logit per unit of ΔZ-above-best / scale), split
#: evenly between plain ΔZ and ΔZ above the expected bottleneck level.
PRIOR_STRENGTH = 50.0
#: Widest hidden layer a checkpoint may ask for (the shipped one uses 64; 200 000 would exhaust memory).
MAX_HIDDEN = 4096


def quiet_tensorflow() -> None:
    """Import TensorFlow and Keras with their start-up logs silenced, so an edgeopt error stays one
    line on stderr. Safe to call again (a no-op once imported).

    ``TF_CPP_MIN_LOG_LEVEL`` does not stop the absl and oneDNN notices printed while
    TensorFlow loads, so stderr (fd 2) points at ``/dev/null`` for the import only;
    Python warnings from Keras and TensorFlow are ignored. ``EDGEOPT_TF_VERBOSE=1``
    keeps everything.
    """
    if os.environ.get("EDGEOPT_TF_VERBOSE"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for module in (r"keras(\..*)?$", r"tensorflow(\..*)?$", r"absl(\..*)?$", r"h5py(\..*)?$"):
        warnings.filterwarnings("ignore", module=module)
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass


@dataclass
class AgentConfig:
    """Shape of the network; the feature lists and item rule pin the checkpoint to this env version."""

    hidden: int = 64
    order: str = "regret"
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    globals: list[str] = field(default_factory=lambda: list(GLOBALS))


def masked_log_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Log-probabilities over the masked-in candidates (−inf elsewhere), float64."""
    z = np.where(mask, logits.astype(np.float64), -np.inf)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = np.log(np.exp(z - m).sum(axis=-1, keepdims=True)) + m
        return np.where(mask, z - lse, -np.inf)


class Agent:
    """Actor-critic over candidate sets: ``get_value`` and ``get_action_and_value`` as in CleanRL.

    The Keras model maps (candidates (B, K, F), mask (B, K), state (B, G)) to
    masked logits (B, K) and a value (B,). Sampling happens in numpy with the
    caller's ``numpy.random.Generator``, so decisions are reproducible.
    """

    def __init__(self, config: AgentConfig | None = None, *, seed: int = 0):
        quiet_tensorflow()
        import keras

        self.config = config or AgentConfig()
        keras.utils.set_random_seed(seed)
        self.model = _build(self.config.hidden)
        self._forward = None

    # ---------------------------------------------------------------- forward
    def forward(self, obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Masked logits (B, K) and values (B,) as numpy arrays."""
        if self._forward is None:
            import tensorflow as tf

            model = self.model

            @tf.function(reduce_retracing=True)
            def fwd(c: Any, m: Any, s: Any) -> Any:
                return model([c, m, s], training=False)

            self._forward = fwd
        logits, value = self._forward(obs["candidates"], obs["mask"], obs["state"])
        return np.asarray(logits), np.asarray(value)

    def get_value(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return self.forward(obs)[1]

    def get_action_and_value(
        self, obs: dict[str, np.ndarray], rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actions (greedy when ``rng`` is None, else sampled), their log-probs, and values.

        Rows with an empty mask get action 0 and log-prob 0 (the env marks them stuck or done).
        """
        logits, value = self.forward(obs)
        logp = masked_log_softmax(logits, obs["mask"])
        if rng is None:
            action = np.argmax(np.where(obs["mask"], logits, -np.inf), axis=1)
        else:
            g = rng.gumbel(size=logp.shape)
            action = np.argmax(np.where(obs["mask"], logp + g, -np.inf), axis=1)
        any_fit = obs["mask"].any(axis=1)
        action = np.where(any_fit, action, 0)
        lp = np.where(any_fit, logp[np.arange(len(action)), action], 0.0)
        return action.astype(np.int64), lp, value


def _build(hidden: int) -> Any:
    """Functional Keras model: per-candidate MLP, masked mean/max pooling, score and value heads."""
    import keras
    from keras import layers, ops

    cand = keras.Input(shape=(None, N_FEATURES), name="candidates")
    mask_in = keras.Input(shape=(None,), name="mask", dtype="bool")
    state = keras.Input(shape=(N_GLOBALS,), name="state")
    mask = ops.cast(mask_in, "float32")
    ones_k = ops.ones_like(
        cand[:, :, :1]
    )  # (B, K, 1): broadcasts per-state vectors over candidates
    state_k = ones_k * ops.expand_dims(state, 1)
    h = layers.Dense(hidden, activation="relu", name="embed1")(
        ops.concatenate([cand, state_k], axis=-1)
    )
    h = layers.Dense(hidden, activation="relu", name="embed2")(h)
    m3 = ops.expand_dims(mask, -1)
    n = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
    mean = ops.sum(h * m3, axis=1) / n
    has_fit = ops.cast(ops.sum(mask, axis=1, keepdims=True) > 0.5, "float32")
    mx = ops.max(h * m3 - (1.0 - m3) * 1e4, axis=1) * has_fit  # relu ≥ 0, so padding never wins
    ctx = ops.concatenate([mean, mx, state], axis=-1)
    ctx_k = ones_k * ops.expand_dims(ctx, 1)
    g = layers.Dense(hidden, activation="relu", name="mix1")(ops.concatenate([h, ctx_k], axis=-1))
    g = layers.Dense(hidden, activation="relu", name="mix2")(g)
    # A linear prior on the raw features, initialised to prefer the column of least
    # cost-plus-bottleneck-above-level (the myopic rule); training corrects it.
    prior_w = np.zeros((N_FEATURES, 1), dtype="float32")
    prior_w[FEATURES.index("dz_above_best"), 0] = -PRIOR_STRENGTH / 2
    prior_w[FEATURES.index("dz_level_above_best"), 0] = -PRIOR_STRENGTH / 2
    prior = layers.Dense(
        1, use_bias=False, name="prior", kernel_initializer=keras.initializers.Constant(prior_w)
    )(cand)
    logits = ops.squeeze(layers.Dense(1, name="score")(g) + prior, -1)
    logits = ops.where(mask_in, logits, _NEG)
    v = layers.Dense(hidden, activation="relu", name="value1")(ctx)
    v = layers.Dense(hidden, activation="relu", name="value2")(v)
    value = ops.squeeze(layers.Dense(1, name="value")(v), -1)
    return keras.Model([cand, mask_in, state], [logits, value], name="actor_critic")


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(
    agent: Agent, directory: str | os.PathLike[str], *, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``agent.weights.h5`` and ``config.json`` into ``directory`` (weights first, config last)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / (".tmp-" + WEIGHTS_FILE)
    agent.model.save_weights(str(tmp))
    os.replace(tmp, d / WEIGHTS_FILE)
    write_json_atomic(
        d / CONFIG_FILE,
        {"format": CHECKPOINT_FORMAT, "agent": asdict(agent.config), **(extra or {})},
    )
    return d


def load_checkpoint(directory: str | os.PathLike[str]) -> tuple[Agent, dict[str, Any]]:
    """Load an agent; any missing, corrupt or mismatched part raises one-line :class:`InputError`."""
    d = Path(directory)
    src = str(d)
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    if not d.is_dir():
        raise InputError("checkpoint folder not found", source=src)
    if not cfg_path.is_file() or not w_path.is_file():
        raise InputError(f"checkpoint needs {CONFIG_FILE} and {WEIGHTS_FILE}", source=src)
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{CONFIG_FILE} is not valid JSON ({str(exc).splitlines()[0]})", source=src
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
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
    if a.get("features") != list(FEATURES) or a.get("globals") != list(GLOBALS):
        raise InputError(
            f"{CONFIG_FILE}: checkpoint was trained on other features than this edgeopt's env "
            f"({len(a.get('features') or [])} vs {len(FEATURES)} candidate features); retrain it",
            source=src,
        )
    if not isinstance(a.get("order"), str) or a["order"] not in ITEM_RULES:
        raise InputError(
            f"{CONFIG_FILE}: field 'agent.order' must be one of {list(ITEM_RULES)} (got {a.get('order')!r}); retrain it",
            source=src,
        )
    agent = Agent(AgentConfig(hidden=a["hidden"], order=a["order"]))
    try:
        agent.model.load_weights(str(w_path))
    except Exception as exc:  # h5py/Keras raise many types for corrupt or mismatched files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"cannot load {WEIGHTS_FILE}: {type(exc).__name__}: {first[:200]}", source=src
        ) from None
    return agent, meta


def rollout(agent: Agent, problems: list[Any], rng: np.random.Generator | None = None) -> Any:
    """Run ``agent`` on a :class:`~edgeopt.rl.env.PlanBatch` of ``problems`` to the end.

    Greedy when ``rng`` is None, sampled otherwise; returns the finished batch
    (``assignment(b)``, ``stuck``).
    """
    from edgeopt.rl.env import PlanBatch

    batch = PlanBatch(problems, order=agent.config.order)
    while not batch.done.all():
        action, _, _ = agent.get_action_and_value(batch.observe(), rng)
        batch.step(action)
    return batch
