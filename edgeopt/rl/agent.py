"""The policy network in Keras (training) and its checkpoints (``policy.npz`` + JSON config).

The architecture is described in :mod:`edgeopt.policy.network`, whose NumPy forward
pass runs the exported weights at inference; this module is the same network in
Keras, used to train it. A checkpoint stores the weights once, as ``policy.npz``:
the NumPy planner reads it without importing TensorFlow, and :func:`load_checkpoint`
loads it back into Keras to continue training.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.jsonio import write_json_atomic
from edgeopt.policy.checkpoint import (
    CHECKPOINT_FORMAT,
    CONFIG_FILE,
    SIZES,
    WEIGHTS_FILE,
    AgentConfig,
    read_checkpoint,
)
from edgeopt.policy.network import INPUTS, LAYERS, NEG, NumpyPolicy, layer_shapes

__all__ = ["Agent", "save_checkpoint", "load_checkpoint", "quiet_tensorflow"]


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


class Agent:
    """The policy in Keras: ``model(inputs) -> (logits (B, K), value (B,))`` with the layers of
    :data:`edgeopt.policy.network.LAYERS`; :meth:`numpy_policy` exports the weights."""

    def __init__(self, config: AgentConfig | None = None, *, seed: int = 0):
        quiet_tensorflow()
        import keras

        self.config = config or AgentConfig()
        keras.utils.set_random_seed(seed)
        self.model = _build(self.config.hidden)
        self._forward: Any = None

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Keras forward pass (B, K), as :meth:`NumpyPolicy.logits`."""
        return self.heads(obs)[0]

    def value(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The critic's raw output (B,), as :meth:`NumpyPolicy.value`."""
        return self.heads(obs)[1]

    def heads(self, obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Keras forward pass of both heads: scores (B, K) and the critic's raw value (B,)."""
        if self._forward is None:
            import tensorflow as tf

            model = self.model

            @tf.function(reduce_retracing=True)
            def fwd(*xs: Any) -> Any:
                return model(dict(zip(INPUTS, xs)), training=False)

            self._forward = fwd
        s, v = self._forward(*(obs[k] for k in INPUTS))
        return np.asarray(s), np.asarray(v)

    def numpy_policy(self) -> NumpyPolicy:
        w: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for name in LAYERS:
            layer = self.model.get_layer(name)
            vs = [np.asarray(v) for v in layer.get_weights()]
            w[name] = (vs[0], vs[1] if len(vs) > 1 else None)
        return NumpyPolicy(w, self.config.hidden)

    def set_numpy_policy(self, policy: NumpyPolicy) -> None:
        for name in LAYERS:
            k, b = policy.weights[name]
            self.model.get_layer(name).set_weights([k] if b is None else [k, b])


def _build(hidden: int) -> Any:
    """The Keras model: dense layers named as in :data:`LAYERS`, wired as :meth:`NumpyPolicy.heads`."""
    import keras
    import tensorflow as tf

    shapes = layer_shapes(*SIZES, hidden)

    class PolicyNet(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="policy")
            self.dense = {}
            for name in LAYERS:
                n_in, n_out, bias = shapes[name]
                layer = keras.layers.Dense(n_out, use_bias=bias, name=name)
                layer.build((None, n_in))
                self.dense[name] = layer
                setattr(self, "l_" + name, layer)

        def call(self, x: dict[str, Any], training: bool = False) -> Any:
            d = self.dense
            relu = tf.nn.relu

            def mean_max(h: Any, mask: Any) -> tuple[Any, Any]:
                m = tf.cast(mask, h.dtype)[:, :, None]
                hm = h * m
                n = tf.maximum(tf.reduce_sum(m, axis=1), 1.0)
                return tf.reduce_sum(hm, axis=1) / n, tf.reduce_max(hm, axis=1)

            r = relu(d["res2"](relu(d["res1"](x["resources"]))))
            r_mean, r_max = mean_max(r, x["res_mask"])
            g = relu(d["state"](tf.concat([x["state"], r_mean, r_max], axis=1)))
            p = d["edge_h"](r)
            e = tf.gather(p, x["edge_res"], batch_dims=1)  # (B, K, R, H)
            e = relu(e + d["edge_f"](x["edge_feats"]))
            e = e * tf.cast(x["edge_mask"], e.dtype)[..., None]
            e_max = tf.reduce_max(e, axis=2)
            c = d["cand1_x"](x["candidates"]) + d["cand1_e"](e_max) + d["cand1_g"](g)[:, None, :]
            c = relu(d["cand2"](relu(c)))
            c_mean, c_max = mean_max(c, x["mask"])
            m = d["mix_h"](c) + d["mix_ctx"](tf.concat([c_mean, c_max], axis=1))[:, None, :]
            s = tf.squeeze(d["score"](relu(m)), -1)
            v = relu(d["value_h"](tf.concat([g, c_mean, c_max], axis=1)))
            return tf.where(x["choice"], s, NEG), tf.squeeze(d["value"](v), -1)

    return PolicyNet()


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(
    agent: Agent | NumpyPolicy,
    directory: str | os.PathLike[str],
    *,
    config: AgentConfig | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``policy.npz`` and ``config.json`` into ``directory`` (weights first, config last)."""
    from edgeopt.jsonio import write_text_atomic

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(agent, Agent):
        policy, config = agent.numpy_policy(), agent.config
    else:
        policy, config = agent, config or AgentConfig(hidden=agent.hidden)
    write_text_atomic(d / WEIGHTS_FILE, policy.to_bytes())
    write_json_atomic(
        d / CONFIG_FILE, {"format": CHECKPOINT_FORMAT, "agent": asdict(config), **(extra or {})}
    )
    return d


def load_checkpoint(directory: str | os.PathLike[str]) -> tuple[Agent, dict[str, Any]]:
    """The checkpoint as a Keras :class:`Agent` (to continue training) and its ``config.json``."""
    policy, cfg, meta = read_checkpoint(directory)
    agent = Agent(cfg)
    agent.set_numpy_policy(policy)
    return agent, meta
