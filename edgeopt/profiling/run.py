"""Profile the model zoo on this host and write the measured catalog (``edgeopt-catalog/1``).

``profile_catalog`` measures every family × width × batch × epochs configuration and writes a
complete new file atomically; ``python -m edgeopt.profiling.run --out models/catalog.json``.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from edgeopt.argcheck import Parser
from edgeopt.errors import InputError
from edgeopt.jsonio import write_json_atomic
from edgeopt.profiling.catalog import config_id, validate_measured_catalog
from edgeopt.profiling.zoo import FAMILIES
from edgeopt.scenario.schema import CATALOG_FORMAT

__all__ = ["Settings", "FULL", "QUICK", "profile_catalog", "main"]

FAMILY_OVERRIDES: dict[str, dict[str, Any]] = {
    # MobileNet v1 is a deep plain network: trained from scratch on 1.4k digit images it barely
    # leaves chance level in 4 epochs at lr 1e-3, so it gets more epochs and a larger step.
    "svhn-mobilenet": {"epochs": (2, 4, 8), "learning_rate": 3e-3},
}
"""Per-family training settings of the full run (the quick run uses its own epochs for all)."""

FLOP_TOLERANCE = 0.05
"""Graph and analytic FLOP counts further apart than this (relative) are flagged."""


@dataclass(frozen=True)
class Settings:
    """What one profiling run measures and how often it repeats each timing."""

    widths: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
    """Width multipliers α (all four are always profiled)."""
    batches: tuple[int, ...] = (16, 32, 64)
    """Training batch sizes."""
    epochs: tuple[int, ...] = (1, 2, 4)
    """Epoch counts at which accuracy is read off a single training run."""
    infer_repeats: int = 50
    """Timed batch-1 inference calls per width (median)."""
    gemm_n: int = 2048
    """Matrix size of the float32 GEMM benchmark."""
    gemm_repeats: int = 9
    mnv2_repeats: int = 20
    """Timed batch-1 calls of the MobileNetV2-300 calibration model."""
    eager: bool = False
    """Train eagerly (no graph tracing): only for the quick smoke run."""
    measure_memory: bool = True
    """Peak RSS in fresh subprocesses (else the analytic estimate)."""
    memory_workers: int = 2
    """Memory probes run side by side (nothing is timed meanwhile)."""
    quick: bool = False


FULL = Settings()
QUICK = Settings(
    epochs=(1, 2, 3),
    infer_repeats=5,
    gemm_n=1024,
    gemm_repeats=3,
    mnv2_repeats=2,
    measure_memory=False,
    quick=True,
)


def _sig(x: float, digits: int = 4) -> float:
    """Round to ``digits`` significant digits (keeps small positive values positive)."""
    return float(f"{x:.{digits}g}")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _measure_family(name: str, settings: Settings, seed: int, bar: Any) -> dict[str, Any]:
    """All in-process measurements of one family: per width and per (width, batch)."""
    import keras
    import numpy as np

    from edgeopt.profiling.data import family_dataset
    from edgeopt.profiling.flops import analytic_flops, graph_flops
    from edgeopt.profiling.measure import MIB, Trainer, analytic_memory_mb, time_call_ms

    spec = FAMILIES[name]
    data = family_dataset(name, seed, quick=settings.quick)
    override = {} if settings.quick else FAMILY_OVERRIDES.get(name, {})
    epochs = override.get("epochs", settings.epochs)
    learning_rate = override.get("learning_rate", 1e-3)
    out: dict[str, Any] = {"widths": {}, "split": [len(data.y_train), len(data.y_test)],
                          "epochs": epochs, "learning_rate": learning_rate}  # fmt: skip
    for width in settings.widths:
        bar.set_postfix_str(f"{name} w{width:.2f} flops+infer")
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model = spec.build(width)
        flops, concrete = graph_flops(model)
        x1 = np.ascontiguousarray(data.x_test[:1])
        infer_ms = time_call_ms(concrete, x1, repeats=settings.infer_repeats)
        infer_an, _ = analytic_memory_mb(model, 1)
        w = {
            "params": int(model.count_params()),
            "flops": flops,
            "flops_analytic": analytic_flops(model),
            "infer_ms": infer_ms,
            "model_mb": 4 * model.count_params() / MIB,
            "infer_mem_analytic": infer_an,
            "batches": {},
        }
        del concrete
        bar.update(1)
        trainer = Trainer(model, eager=settings.eager, learning_rate=learning_rate)
        for batch in settings.batches:
            bar.set_postfix_str(f"{name} w{width:.2f} b{batch} train")
            acc, ms = trainer.train(data, batch=batch, epoch_counts=epochs, seed=seed)
            _, train_an = analytic_memory_mb(model, batch)
            w["batches"][batch] = {"accuracy": acc, "train_ms": ms, "train_mem_analytic": train_an}
            bar.update(1)
        del model, trainer
        out["widths"][width] = w
    keras.backend.clear_session()
    return out


def _probe_all(jobs: list[tuple[str, float, int]], settings: Settings, progress: bool) -> dict:
    """Peak-memory probes, each in a fresh subprocess, ``memory_workers`` at a time."""
    from tqdm.auto import tqdm

    from edgeopt.profiling.measure import probe_memory

    results: dict[tuple[str, float, int], dict] = {}
    with (
        ThreadPoolExecutor(settings.memory_workers) as pool,
        tqdm(total=len(jobs), desc="memory probes", file=sys.stderr, disable=not progress) as bar,
    ):
        futures = {job: pool.submit(probe_memory, *job) for job in jobs}
        for job, fut in futures.items():
            results[job] = fut.result()
            bar.update(1)
    return results


def profile_catalog(
    out: str | os.PathLike[str],
    families: list[str] | tuple[str, ...] | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    *,
    command: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Measure the catalog on this host and write it to ``out`` atomically (never merging).

    :param out: catalog file to (re)write.
    :param families: family names (default: every family of the zoo).
    :param quick: tiny data, small epoch counts, analytic memory, few repeats (a smoke run of
        every width × batch × epochs; its numbers are not for planning).
    :param seed: seeds data generation, splits, weight init and shuffling.
    :param progress: show a tqdm bar on stderr.
    :param command: the command line to record in provenance (default: reconstructed).
    :param settings: override the measurement settings (default ``QUICK`` or ``FULL``).
    :return: the catalog dict that was written.
    """
    names = list(FAMILIES) if families is None else list(families)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown or not names:
        raise InputError(f"unknown families {unknown}; known: {', '.join(FAMILIES)}",
                         field="families")  # fmt: skip
    settings = settings or (QUICK if quick else FULL)
    t_start = time.perf_counter()
    load_start = os.getloadavg()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf
    from tqdm.auto import tqdm

    from edgeopt.profiling.measure import gemm_gflops, mobilenet_v2_calibration

    host_gflops = gemm_gflops(settings.gemm_n, settings.gemm_repeats)
    mnv2 = mobilenet_v2_calibration(settings.mnv2_repeats)

    steps = len(names) * len(settings.widths) * (1 + len(settings.batches))
    measured: dict[str, dict] = {}
    with tqdm(total=steps, desc="profiling", file=sys.stderr, disable=not progress) as bar:
        for name in names:
            measured[name] = _measure_family(name, settings, seed, bar)
    t_measured = time.perf_counter()

    probes: dict = {}
    if settings.measure_memory:
        jobs = [(n, w, b) for n in names for w in settings.widths for b in settings.batches]
        probes = _probe_all(jobs, settings, progress)
    gemm_after = gemm_gflops(settings.gemm_n, settings.gemm_repeats)

    families_out: dict[str, Any] = {}
    disagreements = []
    for name in names:
        spec = FAMILIES[name]
        configs = []
        for width, w in measured[name]["widths"].items():
            gap = abs(w["flops"] - w["flops_analytic"]) / w["flops_analytic"]
            if gap > FLOP_TOLERANCE:
                disagreements.append(
                    f"{name} w{width:.2f}: graph {w['flops'] / 1e6:.4g} MFLOP vs analytic "
                    f"{w['flops_analytic'] / 1e6:.4g} MFLOP ({100 * gap:.1f}%)"
                )
            infer_probe = [probes[(name, width, b)]["infer_mem_mb"] for b in settings.batches
                           if (name, width, b) in probes]  # fmt: skip
            for batch, b in w["batches"].items():
                probe = probes.get((name, width, batch))
                if probe is not None:
                    infer_mem, train_mem = statistics.median(infer_probe), probe["train_mem_mb"]
                    source = "measured"
                else:
                    infer_mem, train_mem = w["infer_mem_analytic"], b["train_mem_analytic"]
                    source = "analytic"
                for epochs in measured[name]["epochs"]:
                    configs.append({
                        "id": config_id(width, batch, epochs),
                        "width": width,
                        "batch": batch,
                        "epochs": epochs,
                        "accuracy": _sig(b["accuracy"][epochs]),
                        "host_infer_ms": _sig(w["infer_ms"]),
                        "host_train_ms_per_sample": _sig(b["train_ms"]),
                        "infer_mem_mb": _sig(infer_mem),
                        "train_mem_mb": _sig(train_mem),
                        "model_mb": _sig(w["model_mb"]),
                        "params": w["params"],
                        "infer_mflop": _sig(w["flops"] / 1e6),
                        "infer_mflop_analytic": _sig(w["flops_analytic"] / 1e6),
                        "train_mem_mb_analytic": _sig(b["train_mem_analytic"]),
                        "infer_mem_mb_analytic": _sig(w["infer_mem_analytic"]),
                        "memory_source": source,
                    })  # fmt: skip
        families_out[name] = {
            "data": spec.data,
            "input_shape": list(spec.input_shape),
            "classes": spec.classes,
            "architecture": spec.architecture,
            "configs": configs,
        }

    wall_s = time.perf_counter() - t_start
    if command is None:
        fams = "" if families is None else " --families " + " ".join(names)
        command = (f"edgeopt profile --out {shlex.quote(str(out))}{fams}"
                   f"{' --quick' if quick else ''} --seed {seed}"
                   f"  (argv: {shlex.join(sys.argv)})")  # fmt: skip
    load_end = os.getloadavg()
    baselines = [p["baseline_mb"] for p in probes.values()]
    notes = [
        "Times: host_infer_ms is the median of the batch-1 call of the traced (compiled) "
        "tf.function in inference mode; host_train_ms_per_sample is the median wall time of "
        "one compiled training step (tf.function: forward, gradients, Adam via TF's fused "
        "ResourceApplyAdam, lr 1e-3, sparse categorical cross-entropy) over all full batches "
        "of the accuracy run (the tracing step excluded) divided by the batch size.",
        "Accuracy: one training run per (width, batch) up to max(epochs), evaluated on the "
        "held-out split after each epoch count; same seed and initial weights for every run. "
        "svhn-mobilenet trains with epochs 2/4/8 at lr 3e-3 (deep plain network, little data: "
        "it learns slowly from scratch, so its accuracies are low and not representative of "
        "MobileNet on the real SVHN).",
        "FLOPs: infer_mflop is the TF profiler's float-op count of the batch-1 inference graph "
        "(counts Conv/DepthwiseConv/MatMul and bias adds; skips pooling, ReLU, softmax, and "
        "batch norm in inference form); infer_mflop_analytic = 2*MACs + bias adds of "
        "Conv/Depthwise/Dense layers. Training compute ~ 3x forward (approximation).",
        "Memory in MiB. "
        + (
            "memory_source 'measured': peak RSS delta in a fresh Python process per "
            "(family, width, batch) over a baseline taken after importing TensorFlow and warming "
            "its runtime up on a throwaway model (the peak mark is reset via "
            "/proc/self/clear_refs); the delta includes the model's weights, traced graphs and "
            "activations, plus gradients and Adam state for training. infer_mem_mb is the "
            "median over the three probes of a width. The TensorFlow runtime baseline itself "
            "(tf_runtime_baseline_mb) is NOT in these numbers: it belongs to the host VM."
            if settings.measure_memory
            else "memory_source 'analytic' (quick run: no subprocess probes)."
        ),
        "Analytic memory (PROFILING.md): inference = 4 B/param + 2 x largest layer output; "
        "training = 16 B/param (Adam) + 2 x 4 B x batch x all layer outputs.",
        f"Load: 1-minute load average {load_start[0]:.2f} at the start and {load_end[0]:.2f} "
        f"at the end of the run, on {os.cpu_count()} CPUs (os.cpu_count); a load above the CPU "
        "count means other processes competed for the cores while times were measured.",
    ]
    if settings.quick:
        notes.append("QUICK run: tiny data (64 train / 32 test), epochs 1-3, few repeats; "
                     "smoke test only, not for planning.")  # fmt: skip
    if disagreements:
        notes.append("FLOP disagreements over 5%: " + "; ".join(disagreements))
    provenance = {
        "host": f"{_cpu_model()}, {platform.platform()}",
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": seed,
        "command": command,
        "quick": settings.quick,
        "gemm": (
            f"numpy float32 matmul {settings.gemm_n}x{settings.gemm_n}x{settings.gemm_n} "
            f"(2n^3 FLOP), median of {settings.gemm_repeats} after warm-up, at the start "
            f"of the run; repeated at the end: {gemm_after:.1f} GFLOP/s"
        ),  # fmt: skip
        "host_gflops_end": _sig(gemm_after),
        "mobilenet_v2_300_host_ms": _sig(mnv2["ms"]),
        "mobilenet_v2_300_mflop": _sig(mnv2["mflop"]),
        "mobilenet_v2_300": (
            f"keras.applications.MobileNetV2(weights=None, input_shape="
            f"(300,300,3)), batch 1, traced tf.function, median of "
            f"{settings.mnv2_repeats} calls; FLOPs by the TF profiler"
        ),  # fmt: skip
        "data": {n: FAMILIES[n].data for n in names},
        "data_split": {
            n: {"train": measured[n]["split"][0], "test": measured[n]["split"][1]} for n in names
        },  # fmt: skip
        "training": {
            n: {
                "epochs": list(measured[n]["epochs"]),
                "learning_rate": measured[n]["learning_rate"],
                "optimizer": "Adam",
            }
            for n in names
        },  # fmt: skip
        "settings": {k: v for k, v in asdict(settings).items()},
        "flop_disagreements": disagreements,
        "tf_runtime_baseline_mb": _sig(statistics.median(baselines)) if baselines else None,
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in load_end],
        "measure_s": round(t_measured - t_start, 1),
        "wall_s": round(wall_s, 1),
        "notes": " ".join(notes),
    }
    catalog = {
        "format": CATALOG_FORMAT,
        "host_gflops": _sig(host_gflops),
        "provenance": provenance,
        "families": families_out,
    }
    validate_measured_catalog(catalog, source=str(out))
    write_json_atomic(out, catalog)
    return catalog


def main(argv: list[str] | None = None) -> None:
    """``python -m edgeopt.profiling.run``: the same options as ``edgeopt profile``."""
    ap = Parser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--families", nargs="+", default=None, choices=list(FAMILIES))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    command = "python -m edgeopt.profiling.run " + shlex.join(sys.argv[1:] if argv is None
                                                              else argv)  # fmt: skip
    cat = profile_catalog(args.out, args.families, args.quick, args.seed, command=command)
    print(f"wrote {args.out}: {sum(len(f['configs']) for f in cat['families'].values())} "
          f"configurations, host_gflops {cat['host_gflops']}, "
          f"wall {cat['provenance']['wall_s']} s")  # fmt: skip


if __name__ == "__main__":
    main()
