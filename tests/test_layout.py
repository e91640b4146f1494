"""The repository layout and the wheel's agree: the catalog and device profiles live in
``models/``, solver artefacts in ``solvers/``, and pyproject.toml ships every file of both
inside the package (``edgeopt.models``, ``edgeopt.artefacts``), where ``edgeopt.data`` finds them.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import numpy as np

from edgeopt.data import SHIPPED, artefact_path, display_path, model_path
from edgeopt.scenario.schema import DEFAULT_CATALOG, DEFAULT_DEVICES

REPO = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_catalog_devices_and_default_checkpoint_resolve_to_the_top_level_folders():
    assert model_path("catalog.json") == REPO / "models" / "catalog.json"
    assert model_path("devices.json") == REPO / "models" / "devices.json"
    assert DEFAULT_CATALOG == model_path("catalog.json") and DEFAULT_DEVICES.is_file()
    ckpt = artefact_path("drl", "default")
    assert ckpt == REPO / "solvers" / "drl" / "default"
    assert json.loads(model_path("catalog.json").read_text())["format"] == "edgeopt-catalog/1"
    assert json.loads(model_path("devices.json").read_text())["format"] == "edgeopt-devices/1"
    assert (ckpt / "config.json").is_file()
    with np.load(ckpt / "policy.npz") as weights:
        assert len(weights.files) > 0
    assert (artefact_path("drl", "teacher") / "optima.json").is_file()


def test_reports_name_shipped_files_by_their_repository_folder():
    assert display_path(model_path("catalog.json")) == "models/catalog.json"
    assert display_path(artefact_path("drl", "default")) == "solvers/drl/default"


def test_no_data_is_left_inside_the_edgeopt_package():
    left = [p for p in (REPO / "edgeopt").rglob("*") if p.suffix in (".json", ".npz")]
    assert left == []


def test_package_dir_maps_the_shipped_packages_to_the_top_level_folders():
    assert (
        CONFIG["package-dir"]
        == SHIPPED
        == {"edgeopt.models": "models", "edgeopt.artefacts": "solvers"}
    )


def test_packages_list_every_code_package_and_every_data_folder():
    # code: every folder of edgeopt/ with an __init__.py
    code = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "edgeopt").rglob("__init__.py")
    }
    # data: each mapped folder and every folder below it that holds a file
    data = set()
    for package, folder in SHIPPED.items():
        data.add(package)
        for f in (REPO / folder).rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                rel = f.parent.relative_to(REPO / folder).parts
                data.update(".".join((package, *rel[: k + 1])) for k in range(len(rel)))
    assert sorted(CONFIG["packages"]) == sorted(code | data)


def test_package_data_ships_every_file_of_models_and_solvers():
    globs = CONFIG["package-data"]
    for package, folder in SHIPPED.items():
        root = REPO / folder
        files = [
            f
            for f in root.rglob("*")
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".py"
        ]
        assert files, folder
        for f in files:
            rel = f.relative_to(root).as_posix()
            assert any(fnmatch.fnmatch(rel, g) for g in globs.get(package, [])), (folder, rel)
