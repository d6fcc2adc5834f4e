"""The package as installed: the wheel carries the grammar and `graphdsl check` runs from it; the
packages' lazily imported names are what they name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_and_checks_a_spec(tmp_path: Path) -> None:
    wheels, target, tree = tmp_path / "wheels", tmp_path / "site", tmp_path / "tree"
    tree.mkdir()  # a build writes beside its sources: build a copy, never the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    for name in ("graphdsl", "grammar"):
        shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(tree)],
                   check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = wheels.glob("graphdsl-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    assert (target / "graphdsl" / "grammar" / "graphdsl.lark").is_file()
    assert (target / "graphdsl" / "grammar" / "graphdsl.start.json").is_file()  # the LALR tables
    env = dict(os.environ, PYTHONPATH=str(target))
    where = subprocess.run([sys.executable, "-c", "import graphdsl; print(graphdsl.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(target))
    spec = REPO / "specs" / "linear.gcomp"
    checked = subprocess.run([sys.executable, "-m", "graphdsl", "check", str(spec)], cwd=tmp_path,
                             env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{spec}: ok")


def test_the_serving_extra_keeps_the_tested_tensorflow() -> None:
    """tensorflow-serving-api follows TensorFlow's releases: its pin must admit TensorFlow 2.21."""
    import re
    from importlib import metadata

    from packaging.requirements import Requirement

    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    pins = set(re.findall(r'"tensorflow-serving-api==([0-9.]+)"', pyproject))
    assert pins == {metadata.version("tensorflow-serving-api")}  # the serving and test extras agree
    wanted = next(Requirement(r) for r in metadata.requires("tensorflow-serving-api") or []
                  if Requirement(r).name == "tensorflow")
    installed = metadata.version("tensorflow")
    assert installed.startswith("2.21.") and wanted.specifier.contains(installed)


@pytest.mark.parametrize("package", ["graphdsl", "graphdsl.batch", "graphdsl.evolve"])
def test_a_lazy_name_stays_what_it_names_once_every_submodule_is_imported(package: str) -> None:
    # Importing a submodule sets it as an attribute of its package: a lazy name that is also a
    # submodule's name would then be the module, not the function the README documents.
    import importlib
    import pkgutil
    import types

    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name != "graphdsl.__main__":
            importlib.import_module(info.name)
    shadowed = [name for name in module.__all__ if isinstance(getattr(module, name), types.ModuleType)]
    assert not shadowed, f"{package}: these names are modules, not what they name: {shadowed}"
