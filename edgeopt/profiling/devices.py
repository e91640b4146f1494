"""IoT-controller device profiles (``edgeopt-devices/1``) from published figures and the catalog.

Effective speed is calibrated, not taken from peak FLOPS: a device's ``gflops`` is the host's
GEMM GFLOP/s scaled by how much slower the device runs MobileNetV2-300 than this host
(σ = device_ms / host_ms, both batch 1 with TensorFlow). Every constant carries its source.
"""

from __future__ import annotations

import os
from typing import Any

from edgeopt.fields import Fields
from edgeopt.jsonio import read_json, write_json_atomic
from edgeopt.scenario.schema import DEFAULT_DEVICES, DEVICES_FORMAT, validate_devices

__all__ = [
    "PUBLISHED",
    "build_devices",
    "write_devices",
    "validate_measured_devices",
    "load_measured_devices",
]

# Published batch-1 MobileNetV2 (300×300) latencies with TensorFlow, ms:
# github.com/aallan/benchmarking-ml-on-the-edge (A. Allan, 2019; TensorRT 72 ms / TFLite 113 ms
# on the same boards show how much an optimised runtime would gain).
MOBILENET_V2_300_TF_MS = {
    "jetson-nano": (309.0, "aallan/benchmarking-ml-on-the-edge: Jetson Nano, TensorFlow, 309 ms"),
    "raspberry-pi-4": (
        484.0,
        "aallan/benchmarking-ml-on-the-edge: Raspberry Pi 4, TensorFlow, 484 ms",
    ),  # fmt: skip
}

PUBLISHED: dict[str, dict[str, Any]] = {
    "jetson-nano": {
        "peak_gflops": 236.0,
        "peak_source": "NVIDIA Jetson Nano module: 128-core Maxwell @ 921.6 MHz, 472 GFLOPS FP16; "
        "FP32 = FP16/2 = 236 (derived)",
        "memory_mb": 4096,
        "memory_source": "NVIDIA Jetson Nano module: 4 GB 64-bit LPDDR4, 25.6 GB/s",
    },
    "jetson-tx2": {
        "peak_gflops": 665.0,
        "peak_source": "NVIDIA Jetson TX2: 256-core Pascal, 1.33 TFLOPS FP16; FP32 = FP16/2 = "
        "665 (derived; 750 at the 1.465 GHz max-N clock)",
        "memory_mb": 8192,
        "memory_source": "NVIDIA Jetson TX2: 8 GB 128-bit LPDDR4, 58.4 GB/s",
    },
    "jetson-xavier-nx": {
        "peak_gflops": 845.0,
        "peak_source": "NVIDIA Jetson Xavier NX datasheet DA-09366-001: 384 CUDA cores @ 1.1 GHz; "
        "FP32 = 384 x 2 FLOP (FMA) x 1.1 GHz = 845 (derived; 21 TOPS is INT8)",
        "memory_mb": 8192,
        "memory_source": "NVIDIA Jetson Xavier NX datasheet DA-09366-001: 8 GB 128-bit LPDDR4x",
    },
    "raspberry-pi-4": {
        "peak_gflops": 48.0,
        "peak_source": "Raspberry Pi 4 Model B: 4x Cortex-A72 @ 1.5 GHz; FP32 = 4 cores x 1.5 GHz "
        "x 8 FLOP/cycle (one 128-bit NEON FMA) = 48 (derived, not published; community HPL "
        "runs reach ~8 GFLOPS FP64)",
        "memory_mb": 4096,
        "memory_source": "Raspberry Pi 4 Model B product brief: 1, 2, 4 or 8 GB LPDDR4-3200; "
        "the 4 GB variant is profiled",
    },
}

CONTAINER_MB = 128
"""Assumption: a minimal container / micro-VM (init, Python, libc, page cache of the image)."""
DEFAULT_TF_RUNTIME_MB = 610.0
"""Fallback TensorFlow runtime footprint when the catalog has no measured baseline."""
MAX_UTIL = 0.9
"""Operating policy: leave 10 % of compute for the OS, the 5G modem stack and bursts."""


def _calibrated(host_gflops: float, host_ms: float, device: str) -> tuple[float, float, str]:
    device_ms, src = MOBILENET_V2_300_TF_MS[device]
    sigma = device_ms / host_ms
    return host_gflops / sigma, sigma, src


def build_devices(catalog: dict) -> dict:
    """Device profiles calibrated against the host figures measured in ``catalog``."""
    prov = catalog["provenance"]
    host_gflops = float(catalog["host_gflops"])
    host_ms = float(prov["mobilenet_v2_300_host_ms"])
    runtime_mb = prov.get("tf_runtime_baseline_mb") or DEFAULT_TF_RUNTIME_MB
    vm_mb = float(round(CONTAINER_MB + runtime_mb))
    host_note = (f"host: GEMM {host_gflops} GFLOP/s, MobileNetV2-300 {host_ms} ms (catalog of "
                 f"{prov.get('date')}, {prov.get('host')})")  # fmt: skip
    nano_gflops, nano_sigma, _ = _calibrated(host_gflops, host_ms, "jetson-nano")
    profiles: dict[str, Any] = {}
    for name, pub in PUBLISHED.items():
        if name in MOBILENET_V2_300_TF_MS:
            gflops, sigma, src = _calibrated(host_gflops, host_ms, name)
            how = (f"calibrated: sigma = device_ms / host_ms = {MOBILENET_V2_300_TF_MS[name][0]} "
                   f"/ {host_ms} = {sigma:.3g}; gflops = host_gflops / sigma ({src}; {host_note})")  # fmt: skip
        else:
            ratio = pub["peak_gflops"] / PUBLISHED["jetson-nano"]["peak_gflops"]
            gflops, sigma = nano_gflops * ratio, host_gflops / (nano_gflops * ratio)
            how = (f"derived: Jetson Nano calibrated {nano_gflops:.3g} GFLOP/s x peak ratio "
                   f"{pub['peak_gflops']:.0f}/{PUBLISHED['jetson-nano']['peak_gflops']:.0f} = "
                   f"{ratio:.3g} (no published TensorFlow MobileNetV2-300 latency used)")  # fmt: skip
        profiles[name] = {
            "peak_gflops": pub["peak_gflops"],
            "gflops": float(f"{gflops:.4g}"),
            "memory_mb": pub["memory_mb"],
            "vm_overhead_mb": vm_mb,
            "max_util": MAX_UTIL,
            "sigma": float(f"{sigma:.4g}"),
            "sigma_peak": float(f"{host_gflops / pub['peak_gflops']:.4g}"),
            "assumptions": ["vm_overhead_mb", "max_util"],
            "source": {
                "peak_gflops": pub["peak_source"],
                "gflops": how,
                "memory_mb": pub["memory_source"],
                "vm_overhead_mb": (
                    f"assumption: {CONTAINER_MB} MB minimal container/micro-VM + "
                    f"{runtime_mb:.0f} MB TensorFlow runtime (peak RSS after importing TF and "
                    "warming it up, measured on the host by the catalog's memory probes; the "
                    "catalog's per-request infer/train memory excludes it)"
                ),
                "max_util": "operating policy, not a hardware figure: 10 % headroom for the OS, "
                "the 5G modem stack and bursts",
                "sigma": "speed factor G_host / gflops (docs/model.md section 3)",
                "sigma_peak": "raw peak-ratio scaling G_host / peak_gflops, for comparison: it "
                "overstates small devices",
            },
        }
    return {"format": DEVICES_FORMAT, "profiles": profiles}


def write_devices(catalog: dict, out: str | os.PathLike[str]) -> dict:
    """Build the device profiles from ``catalog`` and write them atomically to ``out``."""
    devices = build_devices(catalog)
    write_json_atomic(out, devices)
    return devices


def validate_measured_devices(data: Any, *, source: str = "<devices>") -> dict[str, dict[str, Any]]:
    """:func:`~edgeopt.scenario.schema.validate_devices`, then require what this module
    writes for every profile: ``peak_gflops`` and the figures' ``source``. Profiles by name."""
    profiles = validate_devices(data, source=source)
    f = Fields(source)
    for name, prof in profiles.items():
        for key in ("peak_gflops", "source"):
            f.get(prof, key, f"profiles.{name}")
    return profiles


def load_measured_devices(
    path: str | os.PathLike[str] = DEFAULT_DEVICES,
) -> dict[str, dict[str, Any]]:
    """Read a devices file and check it as :func:`validate_measured_devices` does."""
    return validate_measured_devices(read_json(path), source=str(path))
