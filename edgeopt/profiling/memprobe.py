"""Peak-memory probe: run in a fresh process, print one JSON line of peak RSS deltas (MiB).

``python -m edgeopt.profiling.memprobe '{"family": F, "width": W, "batch": B}'``. The baseline is the
resident set after TensorFlow is imported and its runtime warmed up on a throwaway model
(thread pools, lazily imported trainer code); the peak high-water mark is then reset
(``/proc/self/clear_refs``), so the deltas cover this model's weights, traced graphs,
activations and (for training) gradients and Adam state. Falls back to ``ru_maxrss``.
"""

from __future__ import annotations

import gc
import json
import re
import resource
import sys
from typing import Any

import numpy as np

MIB = 2**20


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            m = re.search(rf"^{key}:\s+(\d+) kB", fh.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # Linux ≥ 4.0: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def _peak_kib(use_hwm: bool) -> int:
    if use_hwm:
        hwm = _status_kib("VmHWM")
        if hwm is not None:
            return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def probe(family: str, width: float, batch: int, steps: int = 3) -> dict[str, Any]:
    """Peak RSS deltas (MiB) of one model's inference and ``steps`` training steps, in this
    process (run it in a fresh one: :func:`edgeopt.profiling.measure.probe_memory`)."""

    import keras
    import tensorflow as tf

    from edgeopt.profiling.measure import Trainer
    from edgeopt.profiling.zoo import FAMILIES

    spec = FAMILIES[family]
    rng = np.random.default_rng(0)
    x = rng.random((batch, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, spec.classes, batch).astype(np.int64)

    # warm the runtime up on a throwaway model so its one-off costs stay in the baseline
    tiny = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    tiny.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tiny.train_on_batch(np.zeros((2, 4), np.float32), np.zeros(2, np.int64))
    tiny.predict_on_batch(np.zeros((1, 4), np.float32))
    del tiny
    keras.backend.clear_session()
    gc.collect()

    use_hwm = _reset_peak()
    base = (_status_kib("VmRSS") if use_hwm else None) or _peak_kib(False)

    keras.utils.set_random_seed(0)
    model = spec.build(width)
    infer = tf.function(lambda t: model(t, training=False))
    for _ in range(3):
        infer(tf.constant(x[:1])).numpy()
    infer_kib = _peak_kib(use_hwm) - base

    trainer = Trainer(model)  # the same compiled step the catalog times
    for _ in range(steps):
        float(trainer.step(tf.constant(x), tf.constant(y)))
    train_kib = _peak_kib(use_hwm) - base

    return {
        "infer_mem_mb": infer_kib * 1024 / MIB,
        "train_mem_mb": train_kib * 1024 / MIB,
        "baseline_mb": base * 1024 / MIB,
        "method": "VmHWM reset" if use_hwm else "ru_maxrss",
    }


if __name__ == "__main__":  # the child of probe_memory(): one JSON line
    print(json.dumps(probe(**json.loads(sys.argv[1]))))
