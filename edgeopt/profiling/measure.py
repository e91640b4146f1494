"""Measurements on the host: GEMM speed, compiled inference time, training steps, accuracy, memory.

Every timing is a median over repeated runs after warm-up. Peak memory is measured in a fresh
subprocess (``edgeopt.profiling.memprobe``); the analytic estimates of PROFILING.md sit beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

from edgeopt.profiling.flops import activation_elements

__all__ = [
    "MIB",
    "gemm_gflops",
    "time_call_ms",
    "Trainer",
    "evaluate",
    "analytic_memory_mb",
    "probe_memory",
    "mobilenet_v2_calibration",
]

MIB = 2**20
"""Memory figures are in MiB (2^20 bytes), written ``_mb`` like the device memory sizes."""


def gemm_gflops(n: int = 2048, repeats: int = 7) -> float:
    """Median float32 GFLOP/s of an n×n×n numpy matmul (2·n³ FLOPs per product)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b  # warm-up: thread pool start, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2.0 * n**3 / float(np.median(times)) / 1e9


def time_call_ms(fn: Any, x: Any, *, repeats: int, warmup: int = 3) -> float:
    """Median wall time (ms) of ``fn(x)`` including the fetch of the result to numpy."""
    for _ in range(warmup):
        np.asarray(fn(x))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.asarray(fn(x))
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


class Trainer:
    """Mini-batch Adam training of one model, re-run from the same initial state per batch size.

    The step is one ``tf.function`` with a batch-agnostic signature, traced once per model
    (or eager when ``eager``). Adam is TensorFlow's fused ``ResourceApplyAdam`` kernel (the
    update of ``keras.optimizers.Adam``: lr 1e-3, β 0.9/0.999, ε 1e-7) because tracing the
    Keras optimizer costs ~10 s per MobileNet; sparse categorical cross-entropy loss.
    """

    def __init__(self, model: Any, *, eager: bool = False, learning_rate: float = 1e-3):
        import keras
        import tensorflow as tf

        self.model = model
        self.initial = model.get_weights()  # weights and batch-norm statistics
        self.vars = [v.value for v in model.trainable_variables]
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.t = tf.Variable(0.0, trainable=False)
        loss_fn = keras.losses.SparseCategoricalCrossentropy()

        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, self.vars)
            self.t.assign_add(1.0)
            b1p, b2p = tf.pow(0.9, self.t), tf.pow(0.999, self.t)
            for var, m, v, g in zip(self.vars, self.m, self.v, grads, strict=True):
                tf.raw_ops.ResourceApplyAdam(
                    var=var.handle, m=m.handle, v=v.handle, beta1_power=b1p, beta2_power=b2p,
                    lr=learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-7, grad=g,
                )  # fmt: skip
            return loss

        if not eager:
            sig = [
                tf.TensorSpec([None, *model.input_shape[1:]], tf.float32),
                tf.TensorSpec([None], tf.int64),
            ]
            step = tf.function(step, input_signature=sig)
        self.step = step
        self.traced = eager  # the first call of a fresh graph traces it: not timed

    def reset(self) -> None:
        """Back to the initial weights and a fresh optimizer state."""
        self.model.set_weights(self.initial)
        for slot in (*self.m, *self.v):
            slot.assign(np.zeros(slot.shape, np.float32))
        self.t.assign(0.0)

    def train(
        self, data: Any, *, batch: int, epoch_counts: tuple[int, ...], seed: int = 0
    ) -> tuple[dict[int, float], float]:
        """Train from the initial state up to max(epoch_counts), evaluating at each count.

        Returns ``({epochs: held-out accuracy}, median step ms per sample)``; the median is
        over every full batch (partial batches and the step that traces are left out).
        """
        import tensorflow as tf

        self.reset()
        rng = np.random.default_rng(seed)
        n = len(data.y_train)
        accuracy: dict[int, float] = {}
        step_s: list[float] = []
        for epoch in range(1, max(epoch_counts) + 1):
            order = rng.permutation(n)
            for start in range(0, n, batch):
                idx = order[start : start + batch]
                xb, yb = tf.constant(data.x_train[idx]), tf.constant(data.y_train[idx])
                t0 = time.perf_counter()
                float(self.step(xb, yb))  # fetching the loss waits for the step to finish
                dt = time.perf_counter() - t0
                if self.traced and len(idx) == batch:
                    step_s.append(dt)
                self.traced = True
            if epoch in epoch_counts:
                accuracy[epoch] = evaluate(self.model, data.x_test, data.y_test)
        if not step_s:
            raise RuntimeError(f"no full training batch of {batch} was timed (too little data?)")
        return accuracy, 1000.0 * float(np.median(step_s)) / batch


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, chunk: int = 256) -> float:
    """Top-1 accuracy of ``model`` (inference mode) on ``x``, ``y``."""
    hits = 0
    for start in range(0, len(y), chunk):
        probs = np.asarray(model(x[start : start + chunk], training=False))
        hits += int(np.sum(np.argmax(probs, axis=1) == y[start : start + chunk]))
    return hits / len(y)


def analytic_memory_mb(model: Any, batch: int) -> tuple[float, float]:
    """(inference at batch 1, training at ``batch``) memory estimates in MiB, per PROFILING.md.

    Inference: float32 weights + the largest layer output twice (input and output buffers
    alive together). Training: 16 bytes per parameter (Adam: weights, gradients, two moments)
    + every layer's output × batch × 4 bytes × 2 (what back-propagation keeps).
    """
    params = model.count_params()
    total_act, max_act = activation_elements(model)
    infer = (4 * params + 4 * 2 * max_act) / MIB
    train = (16 * params + 2 * 4 * batch * total_act) / MIB
    return infer, train


def probe_memory(
    family: str, width: float, batch: int, *, timeout_s: float = 600.0
) -> dict[str, float]:
    """Peak RSS deltas (MiB) of inference and training, measured in a fresh Python process."""
    cmd = [
        sys.executable,
        "-m",
        "edgeopt.profiling.memprobe",
        json.dumps({"family": family, "width": width, "batch": batch}),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mobilenet_v2_calibration(repeats: int) -> dict[str, float]:
    """Batch-1 host time (ms) and counted FLOPs of MobileNetV2 at 300×300 (random weights)."""
    import keras

    from edgeopt.profiling.flops import graph_flops

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(300, 300, 3))
    flops, concrete = graph_flops(model)
    x = np.random.default_rng(0).random((1, 300, 300, 3), dtype=np.float32)
    ms = time_call_ms(concrete, x, repeats=repeats)
    keras.backend.clear_session()
    return {"ms": ms, "mflop": flops / 1e6}
