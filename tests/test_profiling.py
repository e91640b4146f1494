"""The measured DNN cost catalog: quick profile, physical sense, FLOP counting, data loaders."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edgeopt.errors import InputError
from edgeopt.profiling import data as D
from edgeopt.profiling.catalog import config_id, load_measured_catalog, validate_measured_catalog
from edgeopt.profiling.devices import build_devices, load_measured_devices, write_devices
from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES

COMMITTED = DEFAULT_CATALOG
QUICK_FAMILIES = ["mnist-lenet", "fall-fdcnn"]

# Per-sample training time must not grow with the batch size "beyond noise". The host is a
# shared 2-core VM and the quick run times only a handful of steps, so the tolerance is wide
# there; the committed catalog takes medians over tens to hundreds of steps.
QUICK_TIME_TOLERANCE = 2.5
COMMITTED_TIME_TOLERANCE = 1.5


# ------------------------------------------------------------------------------ helpers


def _by_width(family: dict) -> dict[float, list[dict]]:
    out: dict[float, list[dict]] = defaultdict(list)
    for c in family["configs"]:
        out[c["width"]].append(c)
    return out


def assert_physical_sense(catalog: dict, *, time_tolerance: float, mem_slack: float) -> None:
    """FLOPs/params shrink with width; train memory grows with batch; ms/sample does not."""
    for name, fam in catalog["families"].items():
        widths = _by_width(fam)
        assert sorted(widths) == [0.25, 0.5, 0.75, 1.0], name
        per_width = {w: cs[0] for w, cs in widths.items()}
        ordered = [per_width[w] for w in sorted(per_width, reverse=True)]
        for big, small in zip(ordered, ordered[1:], strict=False):
            assert small["params"] < big["params"], (name, small["id"])
            assert small["infer_mflop"] < big["infer_mflop"], (name, small["id"])
            assert small["model_mb"] < big["model_mb"], (name, small["id"])
        for w, cs in widths.items():
            per_batch = {c["batch"]: c for c in cs}
            batches = sorted(per_batch)
            for lo, hi in zip(batches, batches[1:], strict=False):
                a, b = per_batch[lo], per_batch[hi]
                assert b["train_mem_mb"] >= a["train_mem_mb"] * (1 - mem_slack), (name, w, lo, hi)
                assert b["train_mem_mb_analytic"] > a["train_mem_mb_analytic"], (name, w)
                assert (
                    b["host_train_ms_per_sample"] <= time_tolerance * a["host_train_ms_per_sample"]
                ), (name, w, lo, hi)
            # the inference figures of a width do not depend on batch or epochs
            assert len({c["host_infer_ms"] for c in cs}) == 1
            assert len({c["infer_mflop"] for c in cs}) == 1


# --------------------------------------------------------------------- the quick profile


@pytest.fixture(scope="module")
def quick_catalog(tmp_path_factory) -> tuple[Path, dict]:
    from edgeopt.profiling.run import profile_catalog

    out = tmp_path_factory.mktemp("catalog") / "catalog.json"
    cat = profile_catalog(out, families=QUICK_FAMILIES, quick=True, seed=0, progress=False)
    return out, cat


def test_quick_profile_writes_a_loadable_catalog_of_36_configs_per_family(quick_catalog):
    path, cat = quick_catalog
    loaded = load_measured_catalog(path)
    assert loaded == json.loads(path.read_text())
    assert loaded["format"] == "edgeopt-catalog/1"
    assert list(loaded["families"]) == QUICK_FAMILIES
    for fam in loaded["families"].values():
        configs = fam["configs"]
        assert len(configs) == 36
        assert {c["width"] for c in configs} == {1.0, 0.75, 0.5, 0.25}
        for w in (1.0, 0.75, 0.5, 0.25):
            assert sum(c["width"] == w for c in configs) == 9
        assert all(c["memory_source"] == "analytic" for c in configs)
    prov = loaded["provenance"]
    for key in ("host", "cpu_count", "tensorflow", "keras", "date", "seed", "command", "gemm"):
        assert key in prov
    assert prov["mobilenet_v2_300_host_ms"] > 0
    # MobileNetV2 at 300x300 is ~0.6 GMACs (the 224x224 network's 300 M MACs x (300/224)^2)
    assert 1000 < prov["mobilenet_v2_300_mflop"] < 1400


def test_quick_profile_makes_physical_sense(quick_catalog):
    _, cat = quick_catalog
    assert_physical_sense(cat, time_tolerance=QUICK_TIME_TOLERANCE, mem_slack=0.0)


def test_reprofiling_rewrites_the_whole_file(quick_catalog, tmp_path):
    from edgeopt.profiling.run import profile_catalog

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"stale": True}))
    cat = profile_catalog(path, families=["mnist-lenet"], quick=True, progress=False)
    assert list(load_measured_catalog(path)["families"]) == ["mnist-lenet"]
    assert "stale" not in json.loads(path.read_text())
    assert cat["families"]["mnist-lenet"]["configs"][0]["id"] == "w1.00-b16-e1"


def test_unknown_family_is_an_input_error(tmp_path):
    from edgeopt.profiling.run import profile_catalog

    with pytest.raises(InputError, match="families"):
        profile_catalog(tmp_path / "x.json", families=["no-such-net"], quick=True)
    assert not (tmp_path / "x.json").exists()


# ------------------------------------------------------------------ the committed catalog


def test_committed_catalog_is_complete_and_makes_physical_sense():
    cat = load_measured_catalog(COMMITTED)
    assert set(cat["families"]) == {
        "mnist-lenet", "svhn-mobilenet", "wisdm-cnn1d", "ecg-resnet1d", "fall-fdcnn",
    }  # fmt: skip
    for fam in cat["families"].values():
        assert len(fam["configs"]) == 36
        assert all(c["memory_source"] == "measured" for c in fam["configs"])
        # accuracy really varies with the training configuration
        accs = [c["accuracy"] for c in fam["configs"]]
        assert max(accs) - min(accs) > 0.05
    # measured RSS peaks carry allocator noise of a few percent
    assert_physical_sense(cat, time_tolerance=COMMITTED_TIME_TOLERANCE, mem_slack=0.05)
    assert cat["provenance"]["quick"] is False


def test_committed_mobilenet_flops_scale_roughly_with_width_squared():
    fam = load_measured_catalog(COMMITTED)["families"]["svhn-mobilenet"]
    flops = {c["width"]: c["infer_mflop"] for c in fam["configs"]}
    ratio = flops[0.5] / flops[1.0]
    assert 0.22 < ratio < 0.32  # α² = 0.25, plus terms linear in α (depthwise, first conv)


# ----------------------------------------------------------------------- FLOP counting


def test_graph_flop_count_equals_a_hand_count_on_conv2d_plus_dense():
    import keras

    from edgeopt.profiling.flops import analytic_flops, graph_flops

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3),  # valid: 8x8x1 -> 6x6x4
            keras.layers.Flatten(),  # 144
            keras.layers.Dense(10),
        ]
    )
    conv_macs = 6 * 6 * (3 * 3 * 1) * 4  # H_out W_out k^2 C_in C_out = 1296
    conv_bias = 6 * 6 * 4  # one add per output element = 144
    dense_macs = 144 * 10  # 1440
    dense_bias = 10
    hand = 2 * conv_macs + conv_bias + 2 * dense_macs + dense_bias
    assert hand == 5626
    counted, _ = graph_flops(model)
    assert counted == hand
    assert analytic_flops(model) == hand


def test_graph_and_analytic_flops_agree_within_5_percent_on_the_zoo():
    from edgeopt.profiling.flops import analytic_flops, disagreement, graph_flops
    from edgeopt.profiling.zoo import FAMILIES

    for name in ("mnist-lenet", "wisdm-cnn1d", "ecg-resnet1d", "fall-fdcnn"):
        model = FAMILIES[name].build(0.5)
        assert disagreement(graph_flops(model)[0], analytic_flops(model)) < 0.05, name


def test_width_scales_channels_with_rounding_and_a_floor_of_one():
    from edgeopt.profiling.zoo import scaled

    assert [scaled(32, w) for w in (1.0, 0.75, 0.5, 0.25)] == [32, 24, 16, 8]
    assert scaled(6, 0.25) == 2 and scaled(1, 0.25) == 1


# ----------------------------------------------------------------------- catalog format


def _tiny_catalog() -> dict:
    cfg = {
        "id": "w0.50-b32-e3", "width": 0.5, "batch": 32, "epochs": 3, "accuracy": 0.91,
        "host_infer_ms": 1.2, "host_train_ms_per_sample": 3.4, "infer_mem_mb": 20.0,
        "train_mem_mb": 180.0, "model_mb": 3.2, "params": 834666, "infer_mflop": 12.0,
        "memory_source": "measured",
    }  # fmt: skip
    return {
        "format": "edgeopt-catalog/1",
        "host_gflops": 85.3,
        "provenance": {"host": "x"},
        "families": {
            "svhn-mobilenet": {
                "data": "d",
                "input_shape": [32, 32, 3],
                "classes": 10,
                "architecture": "a",
                "configs": [cfg],
            },
        },  # fmt: skip
    }


def test_config_id_format():
    assert config_id(0.5, 32, 3) == "w0.50-b32-e3"
    assert config_id(1.0, 16, 10) == "w1.00-b16-e10"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c["families"]["svhn-mobilenet"]["configs"][0].update(accuracy=1.5), "accuracy"),
        (lambda c: c["families"]["svhn-mobilenet"]["configs"][0].update(extra=1), "extra"),
        (lambda c: c["families"]["svhn-mobilenet"]["configs"][0].pop("model_mb"), "model_mb"),
        (lambda c: c["families"]["svhn-mobilenet"]["configs"][0].update(id="w0.5-b32-e3"), "id"),
        (lambda c: c["families"]["svhn-mobilenet"]["configs"][0].update(train_mem_mb=0), "train"),
        (lambda c: c.update(format="edgeopt-catalog/9"), "format"),
        (lambda c: c.update(host_gflops=-1), "host_gflops"),
    ],
)
def test_load_catalog_rejects_bad_fields_naming_file_and_field(tmp_path, mutate, field):
    cat = _tiny_catalog()
    validate_measured_catalog(cat)  # the untouched example (docs/model.md §8) is valid
    mutate(cat)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cat))
    with pytest.raises(InputError) as err:
        load_measured_catalog(path)
    assert "bad.json" in str(err.value)
    assert field in str(err.value)


# --------------------------------------------------------------------------- devices


def test_devices_are_calibrated_against_the_host_mobilenet_v2_time(tmp_path):
    cat = _tiny_catalog()
    cat["provenance"].update(mobilenet_v2_300_host_ms=40.0, tf_runtime_baseline_mb=600.0)
    devices = write_devices(cat, tmp_path / "devices.json")
    assert load_measured_devices(tmp_path / "devices.json") == devices["profiles"]
    p = devices["profiles"]
    assert set(p) == {"jetson-nano", "jetson-tx2", "jetson-xavier-nx", "raspberry-pi-4"}
    assert p["jetson-nano"]["gflops"] == pytest.approx(85.3 * 40.0 / 309.0, rel=1e-3)
    assert p["raspberry-pi-4"]["gflops"] == pytest.approx(85.3 * 40.0 / 484.0, rel=1e-3)
    nano = p["jetson-nano"]["gflops"]
    assert p["jetson-tx2"]["gflops"] == pytest.approx(nano * 665 / 236, rel=1e-3)
    for prof in p.values():
        assert prof["vm_overhead_mb"] == 728.0
        assert 0 < prof["max_util"] <= 1
        assert prof["gflops"] < prof["peak_gflops"]
        assert set(prof["source"]) >= {"peak_gflops", "gflops", "memory_mb", "vm_overhead_mb"}


def test_committed_devices_match_the_committed_catalog():
    devices = load_measured_devices(DEFAULT_DEVICES)
    assert devices == build_devices(load_measured_catalog(COMMITTED))["profiles"]


def test_load_devices_rejects_a_missing_figure(tmp_path):
    devices = build_devices({**_tiny_catalog(), "provenance": {"mobilenet_v2_300_host_ms": 40.0}})
    del devices["profiles"]["jetson-nano"]["memory_mb"]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(devices))
    with pytest.raises(InputError, match=r"dev\.json.*memory_mb"):
        load_measured_devices(path)


# ----------------------------------------------------------------------------- report


def test_report_writes_markdown_and_plot(tmp_path):
    from edgeopt.profiling.report import write_catalog_report

    md, png = write_catalog_report(_tiny_catalog(), tmp_path)
    text = md.read_text()
    assert "## svhn-mobilenet" in text and "w0.50-b32-e3" in text
    assert png.stat().st_size > 1000


# -------------------------------------------------------------------------- data


def test_offline_datasets_have_the_family_shapes():
    from edgeopt.profiling.zoo import FAMILIES

    for name, spec in FAMILIES.items():
        ds = D.family_dataset(name, seed=0, quick=True)
        assert ds.x_train.shape[1:] == spec.input_shape, name
        assert ds.x_train.dtype == np.float32
        assert set(np.unique(ds.y_train)) <= set(range(spec.classes))
        assert len(ds.y_test) > 0


def test_synthetic_data_is_seeded():
    a = D.family_dataset("ecg-resnet1d", seed=3, quick=True)
    b = D.family_dataset("ecg-resnet1d", seed=3, quick=True)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_mnist_npz_loader(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_train=np.array([0, 1, 2, 3, 9]), x_test=np.zeros((2, 28, 28), np.uint8),
             y_test=np.array([4, 5]))  # fmt: skip
    ds = D.load_mnist_npz(path)
    assert ds.x_train.shape == (5, 28, 28, 1) and ds.x_train.max() <= 1.0
    assert ds.y_test.tolist() == [4, 5]


def test_svhn_mat_loader_maps_label_10_to_0(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "train_32x32.mat"
    x = np.zeros((32, 32, 3, 3), np.uint8)
    x[0, 0, 0, 1] = 255
    savemat(path, {"X": x, "y": np.array([[10], [1], [9]], np.uint8)})
    images, labels = D.load_svhn_mat(path)
    assert images.shape == (3, 32, 32, 3) and images[1, 0, 0, 0] == 1.0
    assert labels.tolist() == [0, 1, 9]


def test_wisdm_raw_loader_windows_runs_of_one_activity(tmp_path):
    lines = [f"33,Jogging,{i},{i * 0.1:.3f},9.8,0.5;" for i in range(100)]
    lines += [f"33,Sitting,{i},0.1,0.2,9.7;" for i in range(85)]
    path = tmp_path / "WISDM_ar_v1.1_raw.txt"
    path.write_text("\n".join(lines) + "\n")
    x, y = D.load_wisdm_raw(path, window=80, step=20)
    assert x.shape == (3, 80, 3)  # jogging windows at 0 and 20, sitting at 0
    assert y.tolist() == [1, 1, 4]
    assert x[1, 0, 0] == pytest.approx(2.0)


def test_ecg_csv_loader(tmp_path):
    rows = [",".join(["0.5"] * 187 + [str(float(k))]) for k in (0, 3)]
    path = tmp_path / "mitbih_train.csv"
    path.write_text("\n".join(rows) + "\n")
    x, y = D.load_ecg_csv(path)
    assert x.shape == (2, 187, 1) and y.tolist() == [0, 3]


@pytest.mark.parametrize(
    ("loader", "name", "content"),
    [
        (D.load_ecg_csv, "beats.csv", "0.1,0.2,3\n"),
        (D.load_ecg_csv, "beats.csv", ",".join(["x"] * 188) + "\n"),
        (D.load_ecg_csv, "beats.csv", ",".join(["0"] * 187 + ["7"]) + "\n"),
        (D.load_wisdm_raw, "wisdm.txt", "33,Jogging,1,0.1,0.2;\n"),
        (D.load_wisdm_raw, "wisdm.txt", "33,Flying,1,0.1,0.2,0.3;\n"),
        (D.load_wisdm_raw, "wisdm.txt", "33,Jogging,1,a,0.2,0.3;\n"),
        (D.load_mnist_npz, "mnist.npz", "not a zip archive"),
        (D.load_svhn_mat, "svhn.mat", "not a MATLAB file"),
    ],
)
def test_malformed_files_raise_input_error_naming_the_file(tmp_path, loader, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as err:
        loader(path)
    assert name in str(err.value) and err.value.source == str(path)


def test_structurally_wrong_arrays_raise_input_error(tmp_path):
    from scipy.io import savemat

    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=np.zeros((2, 8, 8)), y_train=np.zeros(2))
    with pytest.raises(InputError, match=r"mnist\.npz.*x_test"):
        D.load_mnist_npz(npz)
    mat = tmp_path / "svhn.mat"
    savemat(mat, {"X": np.zeros((32, 32, 3, 2)), "y": np.array([[1], [11]])})
    with pytest.raises(InputError, match=r"svhn\.mat.*'y'"):
        D.load_svhn_mat(mat)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        D.load_ecg_csv(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- hygiene


def test_profiling_modules_import_without_tensorflow():
    code = (
        "import sys; import edgeopt.profiling, edgeopt.profiling.run, edgeopt.profiling.devices,"
        " edgeopt.profiling.report, edgeopt.profiling.catalog, edgeopt.profiling.data,"
        " edgeopt.profiling.zoo, edgeopt.profiling.flops, edgeopt.profiling.measure;"
        " print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
