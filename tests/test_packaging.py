"""The built wheel works on its own: shipped data (catalog and devices from models/, the DRL
checkpoint from solvers/) is in the wheel and found through the installed package, not through
the repository checkout (~20 s)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def test_installed_wheel_generates_and_solves_with_drl_outside_the_repository(tmp_path):
    # Build from a copy of the sources, so no build/ or egg-info lands in the working tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in ("edgeopt", "models", "solvers"):
        shutil.copytree(
            REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), "."],
        cwd=src,
    )
    [wheel] = (tmp_path / "dist").glob("edgeopt-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for shipped in (
        "edgeopt/models/catalog.json",
        "edgeopt/models/devices.json",
        "edgeopt/artefacts/drl/default/policy.npz",
        "edgeopt/artefacts/drl/default/config.json",
        "edgeopt/artefacts/drl/teacher/optima.json",
    ):
        assert shipped in names, shipped
    site = tmp_path / "site"
    _run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    # -s: no user site; PYTHONPATH puts the installed copy ahead of the venv's editable install.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "EDGEOPT_"))}
    env.update(PYTHONPATH=str(site), TF_CPP_MIN_LOG_LEVEL="2")
    py = [sys.executable, "-s"]
    where = _run(
        [*py, "-c", "import edgeopt; print(edgeopt.__file__)"], cwd=work, env=env
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where
    # the shipped data comes from the installed packages, through importlib.resources
    found = _run(
        [*py, "-c", "from edgeopt.data import model_path as m, artefact_path as a; "
         "print(m('catalog.json')); print(a('drl', 'default', 'policy.npz'))"],
        cwd=work,
        env=env,
    ).stdout.split()  # fmt: skip
    assert [Path(f).relative_to(site).as_posix() for f in found] == [
        "edgeopt/models/catalog.json",
        "edgeopt/artefacts/drl/default/policy.npz",
    ]

    _run([*py, "-m", "edgeopt.cli", "generate", "--seed", "1", "--out", "x.json", "--controllers", "3",
          "--requests", "6"], cwd=work, env=env)  # fmt: skip
    _run(
        [*py, "-m", "edgeopt.cli", "solve", "x.json", "--solver", "drl", "--out", "s.json"],
        cwd=work,
        env=env,
    )
    assert (work / "x.json").is_file() and (work / "s.json").is_file()
