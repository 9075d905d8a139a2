"""`pip install .`: a `gan-zoo` command equal to `python cli.py`, the paper configs inside the package,
and lmdb as the optional extra `lsun`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import cli
from datamodules import MissingExtraError
from datamodules.lsun import import_lmdb

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_checkout_is_installed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    not_installed = ("tests", "benchmarks", "scripts", "build", "dist", "runs", "results", "configs")
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in ROOT.glob("*/**/__init__.py")
             if init.relative_to(ROOT).parts[0] not in not_installed and not init.relative_to(ROOT).parts[0].startswith(".")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


def test_lmdb_is_the_lsun_extra_and_its_absence_names_the_extra(monkeypatch):
    project = PYPROJECT["project"]
    assert not any(dependency.startswith("lmdb") for dependency in project["dependencies"])
    assert any(dependency.startswith("lmdb") for dependency in project["optional-dependencies"]["lsun"])
    monkeypatch.setitem(sys.modules, "lmdb", None)  # import lmdb raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'gan-zoo\[lsun\]'"):
        import_lmdb()
    assert MissingExtraError in cli.USER_ERRORS  # one `error:` line on the command line


def test_the_wheel_gives_gan_zoo_with_the_paper_configs(tmp_path):
    source, wheels = tmp_path / "source", tmp_path / "wheels"  # built from a copy: setuptools writes build/
    for name in ("pyproject.toml", "README.md", "cli.py"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("zoo", "datamodules", "callbacks", "reproduction", "configs"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("gan_zoo-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(name).decode() for name in names if name.endswith("entry_points.txt"))
    assert "gan-zoo = cli:run_command_line" in entry_points
    assert "cli.py" in names and "gan_zoo_configs/aim/grid25.yaml" in names
    assert {f"gan_zoo_configs/{path.relative_to(ROOT / 'configs').as_posix()}"
            for path in (ROOT / "configs").rglob("*.yaml")} <= names
    # The installed files alone, from a folder without configs/: the command the console script runs.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-c", "import sys, cli; sys.exit(cli.run_command_line())", "fit",
                             "--config", "aim/grid25", "--print_config"],
                            cwd=elsewhere, env={**os.environ, "PYTHONPATH": str(site)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["model"]["class_path"] == "zoo.AIM" and config["data"]["class_path"] == "datamodules.Grid25"
    assert config["trainer"]["max_epochs"] == 10  # configs/aim/grid25.yaml's own settings


def test_ci_tests_the_floors_pyproject_declares():
    import importlib.util

    spec = importlib.util.spec_from_file_location("floor_versions", ROOT / "scripts" / "floor_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pins = module.floors((ROOT / "pyproject.toml").read_text())
    assert [pin.split("==")[0] for pin in pins] == ["lightning", "torchmetrics"]
    assert all(pin.split("==")[1][0].isdigit() for pin in pins)
    assert "scripts/floor_versions.py" in (ROOT / ".ci" / "run").read_text()
    with pytest.raises(SystemExit, match="no 'lightning>=' floor"):
        module.floors('dependencies = ["torch>=2.4"]')
