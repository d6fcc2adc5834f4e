"""`graphdsl lock` and `graphdsl build --locked`: sources by content, exports checked after a build.

The example specs are copied with their sources into a temporary directory, so locks and changed
sources never touch the repository.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from graphdsl.assemble.lock import combined_hash, sha256_file
from graphdsl.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of specs/ (the working directory of each test)."""
    root = tmp_path / "specs"
    shutil.copytree(REPO / "specs", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    return root


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lock(spec: str, capsys: pytest.CaptureFixture) -> dict:
    assert main(["lock", spec]) == 0
    assert capsys.readouterr().out == f"wrote {spec}.lock\n"
    return yaml.safe_load(Path(f"{spec}.lock").read_text())


def test_lock_names_every_source_file_and_export_file_by_hash(specs: Path, capsys) -> None:
    lock = _lock("transfer.gcomp", capsys)
    assert lock["params"] == {}
    assert lock["graphdsl"] == "0.1.0" and lock["tensorflow"].startswith("2.21")
    a, b = lock["sources"]["a"], lock["sources"]["b"]
    assert (a["kind"], a["path"], a["options"]) == ("metagraph", "models/mlp_a.meta",
                                                    {"checkpoint": "models/mlp_a.ckpt"})
    assert sorted(a["files"]) == ["models/mlp_a.ckpt.data-00000-of-00001", "models/mlp_a.ckpt.index",
                                  "models/mlp_a.meta"]
    for name, digest in a["files"].items():
        assert digest == _sha256(specs / name)
    assert a["sha256"] == combined_hash(a["files"])
    assert (b["kind"], b["path"], b["options"]) == ("python", "builders/mlp.py:build", {"seed": 2})
    assert b["files"] == {"builders/mlp.py": _sha256(specs / "builders" / "mlp.py")}

    # the exports' hashes are those of a real build
    assert main(["build", "transfer.gcomp", "-o", "out"]) == 0
    exports = lock["exports"]
    assert sorted(exports) == ["model", "transfer"]
    assert "model/saved_model.pb" in exports["model"]["files"]
    assert "transfer.ckpt.index" in exports["transfer"]["files"]
    for entry in exports.values():
        for name, digest in entry["files"].items():
            assert digest == _sha256(specs / "out" / name)


def test_a_savedmodel_source_is_every_file_of_its_directory(specs: Path, capsys) -> None:
    lock = _lock("assembly.gcomp", capsys)
    files = sorted(p.relative_to(specs).as_posix() for p in (specs / "models" / "encoder").rglob("*")
                   if p.is_file())
    assert sorted(lock["sources"]["encoder"]["files"]) == files


def test_relocking_unchanged_inputs_rewrites_the_same_bytes(specs: Path, capsys) -> None:
    shutil.copytree(REPO / "tests" / "data" / "repro", specs / "repro")
    for spec in ("crossover.gcomp", "repro/counters.gcomp"):  # the latter full of counted names
        _lock(spec, capsys)
        first = Path(f"{spec}.lock").read_bytes()
        _lock(spec, capsys)
        assert Path(f"{spec}.lock").read_bytes() == first


def test_locked_build_of_unchanged_sources_builds_and_checks(specs: Path, capsys) -> None:
    _lock("crossover.gcomp", capsys)
    assert main(["build", "--locked", "crossover.gcomp", "-o", "out"]) == 0
    out = capsys.readouterr().out
    assert "wrote out/child.pb" in out
    assert "the exports match crossover.gcomp.lock" in out


def test_locked_build_refuses_a_changed_source(specs: Path, capsys) -> None:
    lock = _lock("transfer.gcomp", capsys)
    assert main(["build", "transfer.gcomp", "-o", "out"]) == 0
    before = {p: p.read_bytes() for p in (specs / "out").rglob("*") if p.is_file()}
    data = specs / "models" / "mlp_a.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:-4] + b"\0\0\0\0")
    capsys.readouterr()
    assert main(["build", "--locked", "transfer.gcomp", "-o", "out"]) == 1
    err = capsys.readouterr().err
    locked = lock["sources"]["a"]["files"]["models/mlp_a.ckpt.data-00000-of-00001"]
    assert ("source 'a': file 'models/mlp_a.ckpt.data-00000-of-00001' changed: "
            f"locked sha256 {locked}, now sha256 {_sha256(data)}") in err
    assert "nothing was built" in err
    assert "help: restore the locked sources, or lock the new ones" in err
    assert {p: p.read_bytes() for p in (specs / "out").rglob("*") if p.is_file()} == before


def test_locked_build_refuses_a_changed_builder_or_argument(specs: Path, capsys) -> None:
    _lock("crossover.gcomp", capsys)
    builder = specs / "builders" / "combiner.py"
    builder.write_text(builder.read_text() + "\n# changed\n")
    assert main(["build", "--locked", "crossover.gcomp", "-o", "out"]) == 1
    assert "source 'combine': file 'builders/combiner.py' changed" in capsys.readouterr().err
    shutil.copy(REPO / "specs" / "builders" / "combiner.py", builder)
    spec = specs / "crossover.gcomp"
    spec.write_text(spec.read_text().replace('op = "add"', 'op = "mul"'))
    assert main(["build", "--locked", "crossover.gcomp", "-o", "out"]) == 1
    assert "source 'combine': its options is {'op': 'mul'}, the lock says {'op': 'add'}" in \
        capsys.readouterr().err
    assert not (specs / "out").exists()


def test_locked_build_refuses_a_missing_source_file(specs: Path, capsys) -> None:
    _lock("assembly.gcomp", capsys)
    (specs / "models" / "encoder" / "fingerprint.pb").unlink()
    assert main(["build", "--locked", "assembly.gcomp", "-o", "out"]) == 1
    assert "source 'encoder': file 'models/encoder/fingerprint.pb' is missing (locked sha256" in \
        capsys.readouterr().err


def test_locked_build_says_which_exports_differ(specs: Path, capsys) -> None:
    _lock("crossover.gcomp", capsys)
    path = Path("crossover.gcomp.lock")
    lock = yaml.safe_load(path.read_text())
    lock["exports"]["child.pb"]["files"]["child.pb"] = "0" * 64
    path.write_text(yaml.safe_dump(lock, sort_keys=False))
    assert main(["build", "--locked", "crossover.gcomp", "-o", "out"]) == 1
    captured = capsys.readouterr()
    assert "wrote out/child.pb" in captured.out  # built, then checked
    built = _sha256(specs / "out" / "child.pb")
    assert (f"export 'child.pb': file 'child.pb' differs: locked sha256 {'0' * 64}, "
            f"built sha256 {built}") in captured.err
    assert "export 'child'" not in captured.err  # the SavedModel matches


def test_locked_build_without_a_lock_says_how_to_make_one(specs: Path, capsys) -> None:
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    err = capsys.readouterr().err
    assert "error: linear.gcomp.lock: no lock file" in err
    assert "help: write it with 'graphdsl lock linear.gcomp'" in err
    Path("linear.gcomp.lock").write_text("- not a lock\n")
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    assert "linear.gcomp.lock: not a graphdsl lock" in capsys.readouterr().err
    Path("linear.gcomp.lock").write_text("sources: [1,\n")
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    err = capsys.readouterr().err
    assert "linear.gcomp.lock: cannot read the lock: line 2, column 1: not valid YAML (expected the node content" in err
    assert "help: write it again with 'graphdsl lock linear.gcomp'" in err and "<unicode string>" not in err
    # YAML also ends a line at U+2028 (a parameter's string may hold one); the file does not
    Path("linear.gcomp.lock").write_text('params: {note: "a\u2028b"}\nsources: [1,\n', encoding="utf-8")
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    assert "cannot read the lock: line 3, column 1: not valid YAML" in capsys.readouterr().err
    Path("linear.gcomp.lock").write_bytes(b"sources: \xff\n")
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    assert "linear.gcomp.lock: cannot read the lock: it is not UTF-8 text (byte 9)" in capsys.readouterr().err


def test_a_lock_gets_the_usual_permissions_and_a_failed_write_leaves_nothing(specs: Path, capsys) -> None:
    import os

    _lock("linear.gcomp", capsys)
    mask = os.umask(0o022)
    os.umask(mask)
    assert Path("linear.gcomp.lock").stat().st_mode & 0o777 == 0o666 & ~mask
    Path("linear.gcomp.lock").unlink()
    Path("linear.gcomp.lock").mkdir()
    before = sorted(p.name for p in specs.iterdir())
    assert main(["lock", "linear.gcomp"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write linear.gcomp.lock: Is a directory\n")
    assert sorted(p.name for p in specs.iterdir()) == before  # no temporary file left beside the spec


@pytest.mark.parametrize("edit, message", [
    (lambda lock: lock["sources"]["linear"].update(files=["builders/linear.py"]),
     "'sources.linear.files' is not a map of file names to sha256 hashes"),
    (lambda lock: lock.update(params=[1]), "'params' is not a map of parameters to values"),
    (lambda lock: lock.update(includes="lib.gcomp"), "'includes' is not a map of file names"),
    (lambda lock: lock["exports"].update(model=5), "'exports.model' is not a map"),
    (lambda lock: lock["exports"]["model"].update(files=7), "'exports.model.files' is not a map"),
    (lambda lock: lock["sources"]["linear"]["files"].update({"builders/linear.py": [1, 2]}),
     "'sources.linear.files' holds 'builders/linear.py', not a file name with its sha256 hash"),
], ids=["files a list", "params a list", "includes text", "export a number", "files a number", "hash a list"])
def test_a_lock_edited_out_of_shape_is_named_not_a_traceback(specs: Path, capsys, edit, message: str) -> None:
    # A hand edit or a merge gone wrong: each raised AttributeError or TypeError.
    lock = _lock("linear.gcomp", capsys)
    edit(lock)
    Path("linear.gcomp.lock").write_text(yaml.safe_dump(lock))
    assert main(["build", "--locked", "linear.gcomp", "-o", "out"]) == 1
    err = capsys.readouterr().err
    assert f"error: linear.gcomp.lock: not a graphdsl lock: {message}" in err and "Traceback" not in err
    assert not Path("out").exists()


def test_hashing_streams_large_files_to_the_same_digest(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (5 * 4096 + 7))  # over 5 MiB, not a multiple of a chunk
    assert sha256_file(big) == hashlib.sha256(big.read_bytes()).hexdigest()


# -- templates: parameters and included files ------------------------------------------------------


def _text_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_text(encoding="utf-8").encode("utf-8")).hexdigest()


def test_lock_records_a_templates_parameters_and_included_files(specs: Path, capsys) -> None:
    args = ["towers.gcomp", "--params", "params/towers-fresh.yaml", "--param", "layers=1"]
    assert main(["lock", *args]) == 0
    first = Path("towers.gcomp.lock").read_bytes()
    lock = yaml.safe_load(first)
    assert lock["params"] == {"layers": 1, "mode": "init"}  # every parameter, as the build used it
    assert lock["includes"] == {"lib/blocks.gcomp": _text_sha256(specs / "lib" / "blocks.gcomp")}
    assert lock["sources"]["mlp"]["path"] == "models/mlp_a.meta"  # as the spec it makes names it
    assert list(lock)[:5] == ["graphdsl", "tensorflow", "params", "includes", "sources"]
    # the same values given another way lock the same bytes; other values do not
    Path("one.yaml").write_text("mode: init\nlayers: 1\n")
    assert main(["lock", "towers.gcomp", "--params", "one.yaml"]) == 0
    assert Path("towers.gcomp.lock").read_bytes() == first
    assert main(["lock", "towers.gcomp", "--param", "layers=1"]) == 0
    assert yaml.safe_load(Path("towers.gcomp.lock").read_text())["params"] == {"layers": 1, "mode": "value"}
    assert main(["lock", "towers.gcomp", "--param", "layers=0"]) == 2  # a bad value locks nothing
    assert "parameter 'layers' must be at least 1, not 0" in capsys.readouterr().err


def test_locked_build_refuses_other_parameters_naming_both_values(specs: Path, capsys) -> None:
    assert main(["lock", "towers.gcomp", "--param", "layers=1"]) == 0
    assert main(["build", "--locked", "towers.gcomp", "-o", "out", "--param", "layers=2"]) == 1
    err = capsys.readouterr().err
    assert "error: the parameters no longer match towers.gcomp.lock; nothing was built:" in err
    assert ("parameter 'layers' is 2 (from the command-line argument --param layers=2), "
            "the lock says 1") in err
    assert "help: build with the locked parameters (--param layers=1)" in err
    assert main(["build", "--locked", "towers.gcomp", "-o", "out"]) == 1
    assert "parameter 'layers' is 3 (its default), the lock says 1" in capsys.readouterr().err
    Path("p.yaml").write_text("mode: init\n")
    assert main(["build", "--locked", "towers.gcomp", "-o", "out", "--params", "p.yaml",
                 "--param", "layers=1"]) == 1
    assert 'parameter \'mode\' is "init" (from p.yaml:1:7), the lock says "value"' in capsys.readouterr().err
    assert not (specs / "out").exists()
    # the locked values, however given, build what was locked
    Path("p.yaml").write_text("layers: 1\n")
    assert main(["build", "--locked", "towers.gcomp", "-o", "out", "--params", "p.yaml"]) == 0
    assert "the exports match towers.gcomp.lock" in capsys.readouterr().out


def test_locked_build_refuses_a_changed_included_file(specs: Path, capsys) -> None:
    assert main(["lock", "towers.gcomp", "--param", "layers=1"]) == 0
    blocks = specs / "lib" / "blocks.gcomp"
    locked = _text_sha256(blocks)
    blocks.write_text(blocks.read_text().replace("(8 features in", "(eight features in"))
    assert main(["build", "--locked", "towers.gcomp", "-o", "out", "--param", "layers=1"]) == 1
    err = capsys.readouterr().err
    assert "error: the included files no longer match towers.gcomp.lock; nothing was built:" in err
    assert (f"included file 'lib/blocks.gcomp' changed: locked sha256 {locked}, "
            f"now sha256 {_text_sha256(blocks)}") in err
    assert "help: restore the locked included files, or lock the new ones" in err
    assert not (specs / "out").exists()


def test_a_changed_source_of_an_included_file_is_drawn_there(specs: Path, capsys) -> None:
    assert main(["lock", "towers.gcomp", "--param", "layers=1"]) == 0
    index = specs / "models" / "mlp_a.ckpt.index"
    index.write_bytes(index.read_bytes() + b"\0")
    assert main(["build", "--locked", "towers.gcomp", "-o", "out", "--param", "layers=1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lib/blocks.gcomp:5:1: error: the sources no longer match towers.gcomp.lock")
    assert "source 'mlp': file 'models/mlp_a.ckpt.index' changed" in err
    assert "included from towers.gcomp:7:1" in err
    assert "lock the new ones with 'graphdsl lock towers.gcomp' and the parameters to build with" in err
