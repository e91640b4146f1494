"""Forward FLOPs of a Keras model: counted on its TensorFlow graph, and by a hand formula.

The graph count traces the model as a ``tf.function`` with a batch-1 signature and runs the
TF profiler's float-operation view over the graph (only ops with a registered FLOP
statistic count). The analytic count sums 2·MACs + bias adds of Conv/Depthwise/Dense layers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["graph_flops", "analytic_flops", "activation_elements", "disagreement"]


def graph_flops(model: Any) -> tuple[int, Any]:
    """Float ops of one batch-1 forward pass, counted by the TF profiler on the traced graph.

    Returns ``(flops, concrete_function)``; the concrete function (inference mode) is reused
    to time the compiled batch-1 call.
    """
    import tensorflow as tf

    shape = [1, *model.input_shape[1:]]
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec(shape, tf.float32))
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    prof = tf.compat.v1.profiler.profile(
        graph=concrete.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=opts
    )
    return int(prof.total_float_ops), concrete


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


def analytic_flops(model: Any) -> int:
    """Hand count of batch-1 forward FLOPs: 2·MACs of Conv1D/Conv2D/Depthwise/Dense + bias adds.

    MACs (PROFILING.md): Conv2D H_out·W_out·k²·C_in·C_out, depthwise H_out·W_out·k²·C,
    Conv1D L_out·k·C_in·C_out, Dense in·out. Activations, pooling, batch norm and residual
    adds are not counted (they are small next to the products and the graph count skips most).
    """
    import keras

    L = keras.layers
    total = 0
    for layer in model.layers:
        if not isinstance(layer, L.Conv1D | L.Conv2D | L.DepthwiseConv2D | L.Dense):
            continue
        out_shape = layer.output.shape[1:]
        in_channels = int(layer.input.shape[-1])
        out_elems = _prod(out_shape)
        if isinstance(layer, L.DepthwiseConv2D):
            macs = out_elems * _prod(layer.kernel_size)
        elif isinstance(layer, L.Conv1D | L.Conv2D):
            macs = out_elems * _prod(layer.kernel_size) * in_channels
        else:  # Dense on a flat input
            macs = out_elems * in_channels
        total += 2 * macs + (out_elems if layer.use_bias else 0)
    return total


def activation_elements(model: Any) -> tuple[int, int]:
    """(sum, max) over layers of the per-sample output element count (input included)."""
    sizes = [_prod(model.input_shape[1:])]
    for layer in model.layers[1:]:
        out = layer.output
        outs = out if isinstance(out, list | tuple) else [out]
        sizes.append(sum(_prod(o.shape[1:]) for o in outs))
    return sum(sizes), max(sizes)


def disagreement(graph: float, analytic: float) -> float:
    """Relative gap |graph − analytic| / analytic (0 when both are 0).

    >>> round(disagreement(105.0, 100.0), 3)
    0.05
    """
    if analytic == 0:
        return 0.0 if graph == 0 else float("inf")
    return abs(graph - analytic) / analytic
