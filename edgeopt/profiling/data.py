"""Training data of the catalog families: offline stand-ins and loaders for the real data sets.

Real data sets cannot be downloaded here, so the catalog trains the vision families on
scikit-learn's bundled digits (real images) and the time-series families on seeded
synthetic generators with real class structure. The loaders for the real files (MNIST .npz,
SVHN .mat, WISDM raw text, Kaggle MIT-BIH CSV) take a user-supplied path; malformed files
raise ``InputError`` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgeopt.errors import InputError

__all__ = [
    "Dataset",
    "family_dataset",
    "digits_28",
    "digits_rgb32",
    "synthetic_wisdm",
    "synthetic_ecg",
    "synthetic_fall",
    "fft_bitmap",
    "load_mnist_npz",
    "load_svhn_mat",
    "load_wisdm_raw",
    "load_ecg_csv",
    "WISDM_ACTIVITIES",
]

WISDM_ACTIVITIES = ("Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing")


class Dataset(NamedTuple):
    """A train/test split: inputs float32 with the family's input shape, labels int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _split(x: np.ndarray, y: np.ndarray, n_test: int, rng: np.random.Generator) -> Dataset:
    """Stratified shuffle split with ``n_test`` test samples."""
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    classes = np.unique(y)
    test_idx: list[int] = []
    for c in classes:  # round-robin over classes keeps the test split stratified
        idx = np.flatnonzero(y == c)
        test_idx.extend(idx[: int(round(n_test * len(idx) / len(y)))])
    test = np.zeros(len(y), dtype=bool)
    test[test_idx] = True
    return Dataset(
        x[~test].astype(np.float32),
        y[~test].astype(np.int64),
        x[test].astype(np.float32),
        y[test].astype(np.int64),
    )


# --------------------------------------------------------------------------- vision (digits)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)


def _upscale(images: np.ndarray, size: int) -> np.ndarray:
    from scipy.ndimage import zoom

    factor = size / images.shape[1]
    return np.clip(zoom(images, (1, factor, factor), order=1), 0.0, 1.0)


def digits_28(rng: np.random.Generator, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real 8×8 digits upscaled (bilinear) to 28×28×1 in [0, 1], MNIST-like."""
    x, y = _digits()
    if n is not None:
        keep = rng.choice(len(y), size=min(n, len(y)), replace=False)
        x, y = x[keep], y[keep]
    return _upscale(x, 28)[..., None], y


def digits_rgb32(rng: np.random.Generator, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real digits upscaled to 32×32 and coloured per image (random ink and background), SVHN-like."""
    x, y = _digits()
    if n is not None:
        keep = rng.choice(len(y), size=min(n, len(y)), replace=False)
        x, y = x[keep], y[keep]
    g = _upscale(x, 32)[..., None]
    bg = rng.uniform(0.0, 1.0, size=(len(y), 1, 1, 3))
    ink = rng.uniform(0.0, 1.0, size=(len(y), 1, 1, 3))
    # keep the digit visible: push the ink away from the background where they are close
    close = np.abs(ink - bg).mean(axis=-1, keepdims=True) < 0.3
    ink = np.where(close, 1.0 - bg, ink)
    img = bg + (ink - bg) * g + rng.normal(0.0, 0.03, size=g.shape[:3] + (3,))
    return np.clip(img, 0.0, 1.0).astype(np.float32), y


# --------------------------------------------------------------------- synthetic time series

_G = 9.81


def synthetic_wisdm(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer windows (80 samples at 20 Hz, 3 axes, m/s²) of the 6 WISDM activities.

    Each activity has a gravity orientation (pocket phone: upright vs seated), a gait
    frequency and amplitude and a harmonic signature; every window draws its own jitter,
    phase and sensor noise, so walking / upstairs / downstairs overlap as in the real set.
    """
    # (gravity direction, gait Hz, amplitude m/s², 2nd-harmonic ratio, axis mix of the motion)
    protos = [
        ((0.15, 0.97, 0.20), 1.9, 3.0, 0.35, (0.4, 1.0, 0.5)),  # walking
        ((0.20, 0.95, 0.25), 2.7, 7.5, 0.50, (0.6, 1.0, 0.6)),  # jogging
        ((0.10, 0.93, 0.35), 1.6, 2.6, 0.55, (0.3, 1.0, 0.8)),  # upstairs
        ((0.20, 0.96, 0.10), 2.1, 3.6, 0.25, (0.5, 1.0, 0.3)),  # downstairs
        ((0.25, 0.35, 0.90), 0.0, 0.15, 0.0, (1.0, 1.0, 1.0)),  # sitting
        ((0.10, 0.99, 0.10), 0.0, 0.25, 0.0, (1.0, 1.0, 1.0)),  # standing
    ]
    t = np.arange(80) / 20.0
    y = rng.integers(0, 6, size=n)
    x = np.empty((n, 80, 3), dtype=np.float32)
    for i, c in enumerate(y):
        g_dir, hz, amp, h2, mix = protos[c]
        g = np.asarray(g_dir) + rng.normal(0.0, 0.15, 3)
        g = _G * g / np.linalg.norm(g)
        f = hz * rng.uniform(0.85, 1.15)
        a = amp * rng.uniform(0.7, 1.3)
        phase = rng.uniform(0, 2 * np.pi, 3)
        motion = np.stack(
            [
                m * (np.sin(2 * np.pi * f * t + p) + h2 * np.sin(4 * np.pi * f * t + 2 * p + 0.7))
                for m, p in zip(mix, phase, strict=True)
            ],
            axis=1,
        )
        sway = 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t)[:, None]
        x[i] = g + a * motion + sway + rng.normal(0.0, 1.0, (80, 3))
    return x, y.astype(np.int64)


def _gauss(t: np.ndarray, mu: float, sigma: float, amp: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - mu) / sigma) ** 2)


def synthetic_ecg(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Heartbeats (187 samples at 125 Hz, in [0, 1], zero-padded) of the 5 AAMI classes.

    0 N normal, 1 S supraventricular premature (early, abnormal P), 2 V ventricular (no P, wide
    QRS, inverted T), 3 F fusion (between N and V), 4 Q paced (pacing spike, wide QRS). A beat
    starts at its R peak and runs to ~1.2 RR like the Kaggle MIT-BIH segments.
    """
    t = np.arange(187, dtype=np.float64)
    y = rng.integers(0, 5, size=n)
    x = np.zeros((n, 187, 1), dtype=np.float32)
    for i, c in enumerate(y):
        warp = rng.uniform(0.85, 1.15)
        rr = {0: 100, 1: 70, 2: 85, 3: 95, 4: 100}[int(c)] * rng.uniform(0.9, 1.1)
        length = int(min(187, 1.2 * rr + rng.integers(-5, 6)))
        s = np.zeros_like(t)
        qrs_w = {0: 2.0, 1: 2.0, 2: 6.0, 3: 4.0, 4: 6.5}[int(c)] * warp
        t_amp = {0: 0.30, 1: 0.25, 2: -0.45, 3: -0.10, 4: -0.30}[int(c)]
        s += _gauss(t, 2.0, qrs_w, 1.0)  # R peak (the beat starts on it)
        s += _gauss(t, 2.0 + 2.5 * qrs_w, 1.2 * qrs_w, -0.25)  # S wave
        s += _gauss(t, 40.0 * warp, 9.0 * warp, t_amp)  # T wave
        p_pos = rr - 20.0 * warp  # P wave of the next beat
        p_amp = {0: 0.15, 1: -0.12, 2: 0.0, 3: 0.08, 4: 0.0}[int(c)]
        s += _gauss(t, p_pos, 4.0 * warp, p_amp)
        if c == 4:  # pacing spike just before the next QRS
            s += _gauss(t, rr - 4.0, 0.6, 0.6)
        s += _gauss(t, rr, qrs_w, 0.9 if c != 1 else 0.7)  # next R peak
        s *= rng.uniform(0.8, 1.2)
        s += 0.08 * np.sin(2 * np.pi * t / rng.uniform(150, 400) + rng.uniform(0, 2 * np.pi))
        s += rng.normal(0.0, 0.05, t.shape)
        seg = s[:length]
        seg = (seg - seg.min()) / (seg.max() - seg.min() + 1e-9)
        x[i, :length, 0] = seg
    return x, y.astype(np.int64)


def fft_bitmap(trace: np.ndarray) -> np.ndarray:
    """He et al. 2019: a (400, 3) acceleration trace → 20×20×3 bitmap of log FFT magnitudes.

    >>> fft_bitmap(np.zeros((400, 3))).shape
    (20, 20, 3)
    """
    trace = np.asarray(trace, dtype=np.float64)
    if trace.shape != (400, 3):
        raise ValueError(f"expected a (400, 3) trace, got {trace.shape}")
    mag = np.log1p(np.abs(np.fft.fft(trace, axis=0)))
    mag /= mag.max() + 1e-9
    return mag.T.reshape(3, 20, 20).transpose(1, 2, 0).astype(np.float32)


def synthetic_fall(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fall (1) vs daily activity (0) traces, 400 samples at 100 Hz in g, as FFT bitmaps.

    Falls: upright, a free-fall dip, an impact spike with ringing, then lying still (gravity
    on another axis); soft falls have small impacts. Daily activities: walking, sitting down,
    jumping (free fall + landing: the hard negative) and bending.
    """
    t = np.arange(400) / 100.0
    y = (rng.random(n) < 0.5).astype(np.int64)
    x = np.empty((n, 20, 20, 3), dtype=np.float32)
    for i, c in enumerate(y):
        up = np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.1, 3)
        acc = np.tile(up / np.linalg.norm(up), (400, 1))
        start = int(rng.integers(80, 220))
        if c == 1:
            lying = np.array([rng.choice([-1.0, 1.0]), 0.0, rng.normal(0, 0.5)]) + rng.normal(
                0, 0.2, 3
            )
            lying /= np.linalg.norm(lying)
            fall_len = int(rng.integers(25, 50))
            acc[start : start + fall_len] *= rng.uniform(0.05, 0.4)
            hit = start + fall_len
            impact = rng.uniform(1.5, 6.0)
            ring = impact * np.exp(-np.arange(400 - hit) / rng.uniform(3, 8))
            ring *= np.cos(2 * np.pi * rng.uniform(8, 15) * np.arange(400 - hit) / 100.0)
            acc[hit:] = lying
            acc[hit:] += ring[:, None] * rng.normal(0, 1, 3)
        else:
            kind = rng.integers(0, 4)
            if kind == 0:  # walking
                f = rng.uniform(1.6, 2.4)
                acc += 0.3 * np.sin(2 * np.pi * f * t)[:, None] * rng.normal(0, 1, 3)
            elif kind == 1:  # sitting down: a bump and a tilt
                acc[start:] = acc[start:] * 0.8 + np.array([0.0, 0.0, 0.5])
                acc[start : start + 20] += rng.uniform(0.5, 1.5) * rng.normal(0, 1, 3)
            elif kind == 2:  # jumping: short free fall, landing spike, upright again
                jl = int(rng.integers(15, 35))
                acc[start : start + jl] *= rng.uniform(0.1, 0.4)
                land = start + jl
                ring = rng.uniform(1.5, 4.0) * np.exp(-np.arange(400 - land) / 4.0)
                acc[land:] += ring[:, None] * rng.normal(0, 1, 3)
            else:  # bending: slow tilt forward and back
                bend = np.sin(np.pi * np.clip((t - start / 100.0) / 1.5, 0, 1))
                acc[:, 2] += 0.8 * bend
                acc[:, 1] -= 0.5 * bend
        acc += rng.normal(0.0, 0.05, acc.shape)
        x[i] = fft_bitmap(acc)
    return x, y


# ----------------------------------------------------------------------- the catalog's data


def family_dataset(family: str, seed: int, *, quick: bool = False) -> Dataset:
    """The offline train/test split used to measure a family's accuracy (seeded)."""
    rng = np.random.default_rng([seed, sum(map(ord, family))])
    if family in ("mnist-lenet", "svhn-mobilenet"):
        n = 96 if quick else None
        x, y = (digits_28 if family == "mnist-lenet" else digits_rgb32)(rng, n)
        return _split(x, y, n_test=32 if quick else 360, rng=rng)
    generators = {"wisdm-cnn1d": synthetic_wisdm, "ecg-resnet1d": synthetic_ecg,
                  "fall-fdcnn": synthetic_fall}  # fmt: skip
    if family not in generators:
        raise KeyError(f"no data for family {family!r}")
    n_train, n_test = (64, 32) if quick else (2000, 500)
    x, y = generators[family](rng, n_train + n_test)
    return _split(x, y, n_test=n_test, rng=rng)


# ------------------------------------------------------------------ loaders of the real sets


def _path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", source=str(p))
    return p


def load_mnist_npz(path: str | os.PathLike[str]) -> Dataset:
    """MNIST as shipped by Keras (``mnist.npz``: x_train, y_train, x_test, y_test; uint8 28×28)."""
    p = _path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test") if k in z}
    except Exception as exc:  # zipfile / pickle / format errors all mean a malformed file
        raise InputError(f"not a readable .npz archive ({exc})", source=str(p)) from None
    for key in ("x_train", "y_train", "x_test", "y_test"):
        if key not in arrays:
            raise InputError("missing array", source=str(p), field=key)
    out = []
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise InputError(f"expected shape (N, 28, 28), got {x.shape}", source=str(p),
                             field=f"x_{part}")  # fmt: skip
        if y.shape != (x.shape[0],):
            raise InputError(f"expected {x.shape[0]} labels, got shape {y.shape}", source=str(p),
                             field=f"y_{part}")  # fmt: skip
        if y.size and (y.min() < 0 or y.max() > 9):
            raise InputError("labels must be 0..9", source=str(p), field=f"y_{part}")
        out += [(x.astype(np.float32) / 255.0)[..., None], y.astype(np.int64)]
    return Dataset(*out)


def load_svhn_mat(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """SVHN cropped digits (``train_32x32.mat``): X is 32×32×3×N uint8, y is N×1 with 10 for '0'.

    Returns images N×32×32×3 in [0, 1] and labels 0..9.
    """
    from scipy.io import loadmat

    p = _path(path)
    try:
        mat = loadmat(p)
    except Exception as exc:
        raise InputError(f"not a readable MATLAB file ({exc})", source=str(p)) from None
    for key in ("X", "y"):
        if key not in mat:
            raise InputError("missing variable", source=str(p), field=key)
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise InputError(f"expected shape (32, 32, 3, N), got {x.shape}", source=str(p), field="X")
    if y.shape[0] != x.shape[3]:
        raise InputError(f"{x.shape[3]} images but {y.shape[0]} labels", source=str(p), field="y")
    if y.size and (y.min() < 1 or y.max() > 10):
        raise InputError("labels must be 1..10 (10 means digit 0)", source=str(p), field="y")
    images = np.transpose(x, (3, 0, 1, 2)).astype(np.float32) / 255.0
    return images, np.where(y == 10, 0, y).astype(np.int64)


def load_wisdm_raw(
    path: str | os.PathLike[str], *, window: int = 80, step: int = 40
) -> tuple[np.ndarray, np.ndarray]:
    """WISDM v1.1 raw accelerometer text (``user,activity,timestamp,x,y,z;`` records).

    Records are cut into windows of ``window`` consecutive samples of one user doing one
    activity (hop ``step``); labels index ``WISDM_ACTIVITIES``. Returns (N×window×3, N).
    """
    p = _path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot read as UTF-8 text ({exc})", source=str(p)) from None
    runs: list[tuple[tuple[str, int], list[tuple[float, float, float]]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for record in line.split(";"):
            record = record.strip()
            if not record:
                continue
            fields = [f.strip() for f in record.split(",")]
            if len(fields) != 6:
                raise InputError(f"line {lineno}: expected 6 comma-separated fields, got "
                                 f"{len(fields)}", source=str(p))  # fmt: skip
            user, activity, _, *xyz = fields
            if activity not in WISDM_ACTIVITIES:
                raise InputError(f"line {lineno}: unknown activity {activity!r}", source=str(p),
                                 field="activity")  # fmt: skip
            try:
                sample = tuple(float(v) for v in xyz)
                int(user)
            except ValueError:
                raise InputError(f"line {lineno}: non-numeric user or acceleration",
                                 source=str(p)) from None  # fmt: skip
            if not all(np.isfinite(sample)):
                raise InputError(f"line {lineno}: non-finite acceleration", source=str(p))
            key = (user, WISDM_ACTIVITIES.index(activity))
            if not runs or runs[-1][0] != key:
                runs.append((key, []))
            runs[-1][1].append(sample)  # type: ignore[arg-type]
    xs, ys = [], []
    for (_, label), samples in runs:
        arr = np.asarray(samples, dtype=np.float32)
        for start in range(0, len(arr) - window + 1, step):
            xs.append(arr[start : start + window])
            ys.append(label)
    if not xs:
        raise InputError(f"no run of {window} consecutive samples of one activity", source=str(p))
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def load_ecg_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Kaggle MIT-BIH heartbeat CSV (``mitbih_train.csv``): 187 values then the label (0..4).

    Returns beats N×187×1 and labels.
    """
    p = _path(path)
    rows: list[np.ndarray] = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot read as UTF-8 text ({exc})", source=str(p)) from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != 188:
            raise InputError(f"line {lineno}: expected 188 values (187 + label), got "
                             f"{len(parts)}", source=str(p))  # fmt: skip
        try:
            row = np.asarray([float(v) for v in parts])
        except ValueError:
            raise InputError(f"line {lineno}: non-numeric value", source=str(p)) from None
        if not np.all(np.isfinite(row)):
            raise InputError(f"line {lineno}: non-finite value", source=str(p))
        label = row[-1]
        if label != int(label) or not 0 <= label <= 4:
            raise InputError(f"line {lineno}: label must be 0..4, got {label}", source=str(p),
                             field="label")  # fmt: skip
        rows.append(row)
    if not rows:
        raise InputError("no heartbeat rows", source=str(p))
    data = np.stack(rows)
    return data[:, :187, None].astype(np.float32), data[:, 187].astype(np.int64)
