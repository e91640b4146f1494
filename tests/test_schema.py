"""One catalog validator and one devices validator (edgeopt.scenario.schema): every catalog
the project makes or ships passes it, and a bad file fails with one line naming the field."""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import given, settings

from edgeopt.errors import InputError
from edgeopt.profiling.catalog import validate_measured_catalog
from edgeopt.profiling.devices import validate_measured_devices
from edgeopt.scenario.model import scenario_from_dict
from edgeopt.scenario.schema import (
    CATALOG_FORMAT,
    DEFAULT_CATALOG,
    DEFAULT_DEVICES,
    load_catalog,
    load_devices,
    validate_catalog,
    validate_devices,
)
from edgeopt.testing.strategies import catalogs, scenario_dicts
from tests.helpers import FIXTURE_CATALOG, TINY_DEVICES, toy


# ------------------------------------------------------------------ every catalog passes
def test_the_fixture_and_the_shipped_catalog_pass_the_one_validator():
    assert list(load_catalog(FIXTURE_CATALOG)["families"]) == ["toy-vision", "toy-series"]
    assert len(load_catalog()["families"]) == 5  # default: the shipped measured catalog
    assert load_catalog() == json.loads(DEFAULT_CATALOG.read_text())


def test_the_shipped_catalog_also_meets_the_measured_requirements():
    validate_measured_catalog(load_catalog(DEFAULT_CATALOG), source=str(DEFAULT_CATALOG))


@settings(deadline=None)
@given(cat=catalogs(max_families=3, max_configs=4))
def test_drawn_catalogs_pass_the_one_validator_standalone_and_in_a_scenario(cat):
    assert validate_catalog(cat) is cat
    assert validate_catalog({"format": CATALOG_FORMAT, **cat})["families"] == cat["families"]


@settings(deadline=None)
@given(d=scenario_dicts())
def test_drawn_scenarios_embed_a_catalog_the_validator_accepts(d):
    assert scenario_from_dict(d).catalog == validate_catalog(d["catalog"])


def test_a_scenario_names_the_embedded_catalog_field(fixture_catalog):
    d = toy(fixture_catalog)
    d["catalog"]["families"]["toy-series"]["configs"][1]["accuracy"] = 2
    with pytest.raises(InputError) as err:
        scenario_from_dict(d, source="s.json")
    assert "field 'catalog.families.toy-series.configs[1].accuracy'" in str(err.value)


# ------------------------------------------------------------------ bad catalogs
def _cfg0(c: dict) -> dict:
    return c["families"]["toy-vision"]["configs"][0]


BAD_CATALOGS = [
    ("format", lambda c: c.update(format="edgeopt-catalog/9"), "unknown format"),
    ("host_gflops", lambda c: c.update(host_gflops=0), "must be > 0"),
    ("host_gflops", lambda c: c.pop("host_gflops"), "missing"),
    ("families", lambda c: c.update(families={}), "must not be empty"),
    ("colour", lambda c: c.update(colour="red"), "unknown field"),
    ("families.toy-vision.configs", lambda c: c["families"]["toy-vision"].update(configs=[]), "must not be empty"),
    ("families.toy-vision.classes", lambda c: c["families"]["toy-vision"].update(classes=1), "must be >= 2"),
    ("families.toy-vision.input_shape[1]", lambda c: c["families"]["toy-vision"].update(input_shape=[8, 0]),
     "must be >= 1"),  # fmt: skip
    ("families.toy-vision.configs[0].width", lambda c: _cfg0(c).update(width=1.5), "must be <= 1"),
    ("families.toy-vision.configs[0].accuracy", lambda c: _cfg0(c).update(accuracy=-0.1), "must be >= 0"),
    ("families.toy-vision.configs[0].batch", lambda c: _cfg0(c).update(batch=0.5), "expected an integer"),
    ("families.toy-vision.configs[0].model_mb", lambda c: _cfg0(c).pop("model_mb"), "missing"),
    ("families.toy-vision.configs[0].host_infer_ms", lambda c: _cfg0(c).update(host_infer_ms="2"),
     "expected a number"),  # fmt: skip
    ("families.toy-vision.configs[0].memory_source", lambda c: _cfg0(c).update(memory_source="guess"),
     "must be one of measured, analytic"),  # fmt: skip
    ("families.toy-vision.configs[1].id",
     lambda c: c["families"]["toy-vision"]["configs"][1].update(id=_cfg0(c)["id"]), "duplicate config id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "damage", "message"), BAD_CATALOGS, ids=[f"{b[0]}:{b[2]}" for b in BAD_CATALOGS]
)
def test_a_bad_catalog_fails_with_one_line_naming_the_field(
    tmp_path, fixture_catalog, field, damage, message
):
    damage(fixture_catalog)
    path = tmp_path / "cat.json"
    path.write_text(json.dumps(fixture_catalog))
    with pytest.raises(InputError) as err:
        load_catalog(path)
    text = str(err.value)
    assert text.startswith(f"{path}: field '{field}': ") and message in text and "\n" not in text


def _lenet0(c: dict) -> dict:
    return c["families"]["mnist-lenet"]["configs"][0]


def test_free_training_is_a_valid_catalog_but_not_a_measured_one():
    cat = copy.deepcopy(load_catalog())
    _lenet0(cat).update(epochs=0, host_train_ms_per_sample=0)
    validate_catalog(cat)
    with pytest.raises(
        InputError, match=re.escape("field 'families.mnist-lenet.configs[0].epochs'")
    ):
        validate_measured_catalog(cat)


def test_the_fixture_catalog_is_valid_but_not_measured(fixture_catalog):
    validate_catalog(fixture_catalog)
    with pytest.raises(
        InputError, match=re.escape("field 'families.toy-vision.input_shape': missing")
    ):
        validate_measured_catalog(fixture_catalog)


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda c: c.pop("provenance"), "provenance"),
        (
            lambda c: c["families"]["mnist-lenet"].pop("architecture"),
            "families.mnist-lenet.architecture",
        ),
        (lambda c: _lenet0(c).update(id="k0"), "families.mnist-lenet.configs[0].id"),
        (
            lambda c: _lenet0(c).update(infer_mem_mb=0),
            "families.mnist-lenet.configs[0].infer_mem_mb",
        ),
    ],
)
def test_the_measured_extension_names_what_a_profiled_catalog_lacks(damage, field):
    cat = copy.deepcopy(load_catalog())
    damage(cat)
    validate_catalog(cat)  # still a usable catalog
    with pytest.raises(InputError, match=re.escape(f"measured.json: field '{field}': ")):
        validate_measured_catalog(cat, source="measured.json")


# ------------------------------------------------------------------ devices
def test_the_shipped_and_the_test_devices_pass_the_one_validator():
    shipped = load_devices()
    assert set(shipped) == {"jetson-nano", "jetson-tx2", "jetson-xavier-nx", "raspberry-pi-4"}
    assert shipped == json.loads(DEFAULT_DEVICES.read_text())["profiles"]
    assert validate_measured_devices(json.loads(DEFAULT_DEVICES.read_text())) == shipped
    assert validate_devices(TINY_DEVICES) == TINY_DEVICES["profiles"]


BAD_DEVICES = [
    ("format", lambda d: d.update(format="edgeopt-devices/0"), "unknown format"),
    ("profiles", lambda d: d.update(profiles={}), "must not be empty"),
    ("profiles.small.gflops", lambda d: d["profiles"]["small"].update(gflops=0), "must be > 0"),
    (
        "profiles.small.max_util",
        lambda d: d["profiles"]["small"].update(max_util=1.2),
        "must be <= 1",
    ),
    (
        "profiles.small.vm_overhead_mb",
        lambda d: d["profiles"]["small"].update(vm_overhead_mb=-1),
        "must be >= 0",
    ),
    ("profiles.large.memory_mb", lambda d: d["profiles"]["large"].pop("memory_mb"), "missing"),
    (
        "profiles.large.colour",
        lambda d: d["profiles"]["large"].update(colour="red"),
        "unknown field",
    ),
    (
        "profiles.large.source.gflops",
        lambda d: d["profiles"]["large"].update(source={"gflops": ""}),
        "must not be empty",
    ),  # fmt: skip
]


@pytest.mark.parametrize(
    ("field", "damage", "message"), BAD_DEVICES, ids=[f"{b[0]}:{b[2]}" for b in BAD_DEVICES]
)
def test_a_bad_devices_file_fails_with_one_line_naming_the_field(tmp_path, field, damage, message):
    devices = copy.deepcopy(TINY_DEVICES)
    damage(devices)
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(devices))
    with pytest.raises(InputError) as err:
        load_devices(path)
    text = str(err.value)
    assert text.startswith(f"{path}: field '{field}': ") and message in text and "\n" not in text


def test_the_measured_devices_extension_requires_peak_gflops_and_source():
    with pytest.raises(InputError, match=r"field 'profiles.small.peak_gflops': missing"):
        validate_measured_devices(TINY_DEVICES, source="dev.json")
