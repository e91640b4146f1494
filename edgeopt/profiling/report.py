"""Human-readable views of a catalog: a Markdown table per family and an accuracy-vs-cost plot.

``write_catalog_report(catalog, out_dir)`` writes ``catalog.md`` and ``accuracy_vs_cost.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgeopt.jsonio import write_text_atomic

__all__ = ["catalog_markdown", "plot_accuracy_vs_cost", "write_catalog_report"]


def catalog_markdown(catalog: dict) -> str:
    """One table per family: config, params, MFLOP, host times, memory, accuracy."""
    prov = catalog["provenance"]
    lines = [
        "# Measured DNN cost catalog",
        "",
        f"Host: {prov.get('host')} ({prov.get('cpu_count')} cores), TensorFlow "
        f"{prov.get('tensorflow')}, Keras {prov.get('keras')}, {prov.get('date')}, "
        f"seed {prov.get('seed')}.",
        f"Host GEMM: **{catalog['host_gflops']} GFLOP/s** ({prov.get('gemm')}). "
        f"MobileNetV2-300 batch 1 on the host: {prov.get('mobilenet_v2_300_host_ms')} ms "
        f"({prov.get('mobilenet_v2_300_mflop')} MFLOP).",
        "",
        "Columns: MFLOP = forward FLOPs per sample / 1e6 counted by the TF profiler (analytic "
        "count in brackets); infer ms = batch-1 inference on the host; train ms/sample = one "
        "training step / batch; memory in MiB (peak RSS deltas when `memory_source` is "
        "measured); accuracy on the held-out split.",
        "",
    ]
    if prov.get("flop_disagreements"):
        lines += ["FLOP disagreements over 5 %: " + "; ".join(prov["flop_disagreements"]), ""]
    for name, fam in catalog["families"].items():
        lines += [
            f"## {name}",
            "",
            f"- Architecture: {fam['architecture']}",
            f"- Data: {fam['data']}",
            f"- Input {fam['input_shape']}, {fam['classes']} classes",
            "",
            "| config | params | MFLOP | infer ms | train ms/sample | infer MiB | train MiB "
            "| model MiB | memory | accuracy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for c in fam["configs"]:
            mflop = c.get("infer_mflop", "")
            if "infer_mflop_analytic" in c:
                mflop = f"{mflop} ({c['infer_mflop_analytic']})"
            lines.append(
                f"| {c['id']} | {c.get('params', '')} | {mflop} | {c['host_infer_ms']} | "
                f"{c['host_train_ms_per_sample']} | {c['infer_mem_mb']} | {c['train_mem_mb']} | "
                f"{c['model_mb']} | {c.get('memory_source', '')} | {c['accuracy']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot_accuracy_vs_cost(catalog: dict, path: str | os.PathLike[str]) -> Path:
    """Accuracy vs training compute (host ms per training sample × epochs), one panel a family."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(catalog["families"].items())
    ncols = min(3, len(families))
    nrows = -(-len(families) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    markers: dict[str, Any] = {}
    for ax, (name, fam) in zip(axes.flat, families, strict=False):
        widths = sorted({c["width"] for c in fam["configs"]}, reverse=True)
        cmap = plt.get_cmap("viridis", max(len(widths), 2))
        for i, width in enumerate(widths):
            for c in (c for c in fam["configs"] if c["width"] == width):
                marker = markers.setdefault(c["batch"], "osD^v"[len(markers) % 5])
                ax.scatter(c["epochs"] * c["host_train_ms_per_sample"], c["accuracy"],
                           color=cmap(i), marker=marker, s=28)  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(name)
        ax.set_xlabel("training compute: epochs × host train time (ms per training sample)")
        ax.set_ylabel("held-out accuracy (fraction)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        for i, width in enumerate(widths):
            ax.scatter([], [], color=cmap(i), label=f"width {width:.2f}")
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    shapes = ", ".join(f"{m} batch {b}" for b, m in markers.items())
    fig.suptitle(f"Accuracy vs training cost per family (markers: {shapes})")
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def write_catalog_report(catalog: dict, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``catalog.md`` and ``accuracy_vs_cost.png`` into ``out_dir``."""
    out = Path(out_dir)
    md = write_text_atomic(out / "catalog.md", catalog_markdown(catalog))
    png = plot_accuracy_vs_cost(catalog, out / "accuracy_vs_cost.png")
    return [md, png]
