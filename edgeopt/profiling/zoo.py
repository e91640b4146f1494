"""The Keras model zoo of the catalog: one builder per DNN family, scaled by a width multiplier.

Each builder takes ``width`` (α) and scales every hidden layer's channel or unit count by it
(rounded, at least 1); the input shape and the number of classes never change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FamilySpec", "FAMILIES", "scaled", "build_model"]


def scaled(channels: int, width: float) -> int:
    """Channel count ``channels`` scaled by the width multiplier (rounded, at least 1).

    >>> scaled(32, 0.25), scaled(6, 0.25), scaled(3, 0.1)
    (8, 2, 1)
    """
    return max(1, int(round(channels * width)))


def _keras():
    import keras  # lazy: TensorFlow loads only when a model is built

    return keras


def build_lenet(width: float, input_shape=(28, 28, 1), classes: int = 10):
    """LeNet-5 style: conv 6@5×5 → pool → conv 16@5×5 → pool → FC 120 → FC 84 → classes."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input(input_shape)
    x = L.Conv2D(scaled(6, width), 5, padding="same", activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(scaled(16, width), 5, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(scaled(120, width), activation="relu")(x)
    x = L.Dense(scaled(84, width), activation="relu")(x)
    out = L.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"lenet_w{width:.2f}")


# MobileNet v1 (Howard et al. 2017, Table 1) at full depth: (filters, stride) of the 13
# depthwise-separable blocks. On a 32×32 input the stride-2 first convolution and the four
# stride-2 blocks bring the map to 1×1 before global pooling (the 224×224 network ends at 7×7).
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def build_mobilenet_v1(width: float, input_shape=(32, 32, 3), classes: int = 10):
    """MobileNet v1 (all 13 blocks) with width multiplier α on every layer, 32×32 input."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input(input_shape)
    x = L.Conv2D(scaled(32, width), 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    for filters, stride in MOBILENET_V1_BLOCKS:
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(momentum=0.9)(x)
        x = L.ReLU(6.0)(x)
        x = L.Conv2D(scaled(filters, width), 1, use_bias=False)(x)
        x = L.BatchNormalization(momentum=0.9)(x)
        x = L.ReLU(6.0)(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"mobilenet_v1_w{width:.2f}")


def build_wisdm_cnn1d(width: float, input_shape=(80, 3), classes: int = 6):
    """WISDM 1-D CNN: Conv1D(100,10)×2 → MaxPool(3) → Conv1D(160,10)×2 → GAP → Dropout → Dense."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input(input_shape)
    x = L.Conv1D(scaled(100, width), 10, activation="relu")(inp)
    x = L.Conv1D(scaled(100, width), 10, activation="relu")(x)
    x = L.MaxPooling1D(3)(x)
    x = L.Conv1D(scaled(160, width), 10, activation="relu")(x)
    x = L.Conv1D(scaled(160, width), 10, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dropout(0.5)(x)
    out = L.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"wisdm_cnn1d_w{width:.2f}")


def build_ecg_resnet1d(width: float, input_shape=(187, 1), classes: int = 5):
    """Kachuee et al. 2018: Conv1D(32,5) → 5 residual blocks with MaxPool(5,2) → FC 32 → FC 32."""
    keras = _keras()
    L = keras.layers
    c = scaled(32, width)
    inp = keras.Input(input_shape)
    x = L.Conv1D(c, 5, padding="same")(inp)
    for _ in range(5):
        y = L.Conv1D(c, 5, padding="same", activation="relu")(x)
        y = L.Conv1D(c, 5, padding="same")(y)
        x = L.Activation("relu")(L.Add()([x, y]))
        x = L.MaxPooling1D(5, strides=2)(x)
    x = L.Flatten()(x)
    x = L.Dense(scaled(32, width), activation="relu")(x)
    x = L.Dense(scaled(32, width), activation="relu")(x)
    out = L.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"ecg_resnet1d_w{width:.2f}")


def build_fdcnn(width: float, input_shape=(20, 20, 3), classes: int = 2):
    """He et al. 2019 FD-CNN: conv 32@5×5 → pool → conv 64@5×5 → pool → FC 512 → Dropout."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input(input_shape)
    x = L.Conv2D(scaled(32, width), 5, padding="same", activation="relu")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(scaled(64, width), 5, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(scaled(512, width), activation="relu")(x)
    x = L.Dropout(0.5)(x)
    out = L.Dense(classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"fdcnn_w{width:.2f}")


@dataclass(frozen=True)
class FamilySpec:
    """A DNN family of the catalog: how to build it and what it is trained on."""

    name: str
    builder: Callable[..., Any]
    input_shape: tuple[int, ...]
    classes: int
    data: str
    """Which data the catalog's accuracy was measured on (real or synthetic: said here)."""
    architecture: str
    real_data: str
    """The real data set of the family and its loader (used when a path is supplied)."""

    def build(self, width: float):
        return self.builder(width, input_shape=self.input_shape, classes=self.classes)


FAMILIES: dict[str, FamilySpec] = {
    "mnist-lenet": FamilySpec(
        name="mnist-lenet",
        builder=build_lenet,
        input_shape=(28, 28, 1),
        classes=10,
        data="sklearn digits (real, 1797 images), upscaled 8x8 -> 28x28x1 (bilinear)",
        architecture=(
            "LeNet-5 style: Conv2D 6@5x5 same, ReLU -> MaxPool 2 -> Conv2D 16@5x5 valid, ReLU -> "
            "MaxPool 2 -> Dense 120 -> Dense 84 -> Dense 10 softmax; width scales 6/16/120/84"
        ),
        real_data="MNIST .npz (x_train, y_train, x_test, y_test): data.load_mnist_npz",
    ),
    "svhn-mobilenet": FamilySpec(
        name="svhn-mobilenet",
        builder=build_mobilenet_v1,
        input_shape=(32, 32, 3),
        classes=10,
        data=(
            "sklearn digits (real, 1797 images), upscaled 8x8 -> 32x32 and coloured with a "
            "seeded random foreground/background per image (SVHN-like RGB)"
        ),
        architecture=(
            "MobileNet v1 (Howard et al. 2017) at full depth on 32x32 input: Conv 3x3 32 stride 2, "
            "13 depthwise-separable blocks (64/1, 128/2, 128/1, 256/2, 256/1, 512/2, 5x 512/1, "
            "1024/2, 1024/1), BatchNorm + ReLU6, global average pool (the map is 1x1 by then), "
            "Dense 10 softmax; width alpha scales every layer's channels"
        ),
        real_data="SVHN cropped digits .mat (X 32x32x3xN, y with 10 for 0): data.load_svhn_mat",
    ),
    "wisdm-cnn1d": FamilySpec(
        name="wisdm-cnn1d",
        builder=build_wisdm_cnn1d,
        input_shape=(80, 3),
        classes=6,
        data=(
            "synthetic (seeded): 6 activities (walking, jogging, upstairs, downstairs, sitting, "
            "standing) as 80x3 accelerometer windows at 20 Hz with class-specific gravity "
            "orientation, gait frequency/amplitude and harmonics, plus per-window jitter and noise"
        ),
        architecture=(
            "1-D CNN: Conv1D 100@10 x2, ReLU -> MaxPool 3 -> Conv1D 160@10 x2, ReLU -> "
            "global average pool -> Dropout 0.5 -> Dense 6 softmax; width scales 100/160"
        ),
        real_data="WISDM v1.1 raw text (user,activity,timestamp,x,y,z;): data.load_wisdm_raw",
    ),
    "ecg-resnet1d": FamilySpec(
        name="ecg-resnet1d",
        builder=build_ecg_resnet1d,
        input_shape=(187, 1),
        classes=5,
        data=(
            "synthetic (seeded): 187-sample heartbeats at 125 Hz from P-QRS-T templates of the 5 "
            "AAMI classes (N, S, V, F, Q) with amplitude/time warp, baseline wander and noise, "
            "scaled to [0,1] and zero-padded like the Kaggle MIT-BIH CSV"
        ),
        architecture=(
            "Kachuee et al. 2018 (arXiv 1805.00794): Conv1D 32@5 -> 5 residual blocks "
            "[Conv 32@5 -> ReLU -> Conv 32@5 + skip -> ReLU -> MaxPool 5 stride 2] -> Flatten -> "
            "Dense 32 -> Dense 32 -> Dense 5 softmax; width scales every 32"
        ),
        real_data="Kaggle MIT-BIH heartbeat CSV (187 values + label per row): data.load_ecg_csv",
    ),
    "fall-fdcnn": FamilySpec(
        name="fall-fdcnn",
        builder=build_fdcnn,
        input_shape=(20, 20, 3),
        classes=2,
        data=(
            "synthetic (seeded): 400-sample 3-axis acceleration traces (100 Hz) of falls "
            "(free-fall dip, impact spike, lying orientation) and daily activities (walking, "
            "sitting down, jumping, bending), each axis's FFT magnitude (log) as a 20x20 plane"
        ),
        architecture=(
            "FD-CNN (He et al., IEEE Sensors J. 2019): Conv2D 32@5x5 same, ReLU -> MaxPool 2 -> "
            "Conv2D 64@5x5 same, ReLU -> MaxPool 2 -> Dense 512 -> Dropout 0.5 -> Dense 2 softmax; "
            "width scales 32/64/512"
        ),
        real_data="none shipped; build bitmaps with data.fft_bitmap from (400, 3) traces",
    ),
}


def build_model(family: str, width: float):
    """Build family ``family`` at width ``width`` (KeyError names the known families)."""
    try:
        spec = FAMILIES[family]
    except KeyError:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}") from None
    return spec.build(width)
