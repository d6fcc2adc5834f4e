"""The same spec and sources give the same bytes: in two processes, and twice in one process.

Every example spec in specs/ and ``tests/data/repro/counters.gcomp`` (whose functions TensorFlow
names with process-wide counters) is built by two separate processes, one of them twice; every
file of every output directory must be byte-identical.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.assemble.canonical import (
    canonical_bytes, canonicalize_graph_def, canonicalize_meta_graph, function_stem, serialize)

tf1 = tf.compat.v1

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "repro"
SPECS = {p.stem: p for p in [*sorted((REPO / "specs").glob("*.gcomp")), DATA / "counters.gcomp"]}

# Builds each (spec, outdir) pair of argv with the CLI; the first process builds everything twice.
_BUILDER = """
import sys
from graphdsl.cli import main
pairs = sys.argv[1:]
for spec, out in zip(pairs[::2], pairs[1::2]):
    assert main(["build", spec, "-o", out]) == 0, spec
"""


def _build_all(outdirs: list[Path], relative: bool, seed: str) -> None:
    args = []
    for outdir in outdirs:
        for name, spec in SPECS.items():
            args += [str(spec.relative_to(REPO)) if relative else str(spec), str(outdir / name)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", _BUILDER, *args], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three builds of every spec: two by one process (spec by absolute path, hash seed 1), one by
    another (spec by relative path, hash seed 2, its output under another directory name)."""
    root = tmp_path_factory.mktemp("repro")
    dirs = {"first": root / "a", "again": root / "b", "other": root / "elsewhere" / "c"}
    _build_all([dirs["first"], dirs["again"]], relative=False, seed="1")
    _build_all([dirs["other"]], relative=True, seed="2")
    return dirs


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _assert_same_bytes(a: Path, b: Path) -> None:
    files_a, files_b = _files(a), _files(b)
    assert sorted(files_a) == sorted(files_b)
    differ = [name for name in files_a if files_a[name] != files_b[name]]
    assert not differ, f"these files differ between {a} and {b}: {differ}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_two_processes_build_the_same_bytes(builds: dict[str, Path], name: str) -> None:
    _assert_same_bytes(builds["first"] / name, builds["other"] / name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_one_process_builds_the_same_bytes_twice(builds: dict[str, Path], name: str) -> None:
    _assert_same_bytes(builds["first"] / name, builds["again"] / name)


def test_the_builds_cover_every_export_kind(builds: dict[str, Path]) -> None:
    files = {Path(f).name for name in SPECS for f in _files(builds["first"] / name)}
    for expected in ("saved_model.pb", "variables.index", "variables.data-00000-of-00001",
                     "graph.meta", "graph.ckpt.index", "frozen.pb", "frozen.pbtxt", "child.pb",
                     "graphdsl-build.yaml"):
        assert expected in files


def test_no_output_names_where_it_was_built(builds: dict[str, Path]) -> None:
    for build in ("first", "other"):  # specs named by absolute and by relative path
        for name in SPECS:
            for file, data in _files(builds[build] / name).items():
                for path in (str(REPO), str(builds[build]), "/tmp/"):
                    assert path.encode() not in data, f"{name}/{file} holds the path {path}"


# -- canonical names and order ----------------------------------------------------------------------


def _counters_graph_def() -> tf.compat.v1.GraphDef:
    import importlib.util

    spec = importlib.util.spec_from_file_location("counters", DATA / "counters.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build().as_graph_def()


def test_canonical_graph_defs_are_equal_where_tensorflow_counted_on() -> None:
    first, second = _counters_graph_def(), _counters_graph_def()
    names = lambda g: sorted(f.signature.name for f in g.library.function)  # noqa: E731
    assert names(first) != names(second)  # TensorFlow's counters moved on
    canonicalize_graph_def(first)
    canonicalize_graph_def(second)
    assert first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True)
    assert "while_body_0" in names(first)
    assert [n.name for n in first.node] == sorted(n.name for n in first.node)


def _custom_gradient_meta_graph() -> meta_graph_pb2.MetaGraphDef:
    """A graph with two custom gradients, made after others moved TensorFlow's counter on."""
    graph = tf.Graph()
    with graph.as_default():
        @tf.custom_gradient
        def clipped(v):
            return tf.identity(v), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)

        x = tf1.placeholder(tf.float32, [2], name="x")
        for _ in range(3):  # move the counter on
            tf.gradients(clipped(x), x)
        y = clipped(clipped(x * 2.0))
        tf.gradients(y, x, name="grad")
        return tf1.train.export_meta_graph(graph=graph)


def test_canonical_bytes_are_those_of_canonicalize_then_serialize() -> None:
    """The single pass exports use (custom gradient keys renumbered only when the bytes hold
    any) writes what canonicalizing and then serializing writes."""
    meta = _custom_gradient_meta_graph()
    assert b"CustomGradient-" in meta.SerializeToString()
    reference = meta_graph_pb2.MetaGraphDef.FromString(meta.SerializeToString())
    canonicalize_meta_graph(reference)
    expected = serialize(reference)
    assert b"CustomGradient-0" in expected
    assert canonical_bytes(meta_graph_pb2.MetaGraphDef.FromString(meta.SerializeToString())) == expected
    saved = saved_model_pb2.SavedModel()
    saved.meta_graphs.add().CopyFrom(meta)
    saved.meta_graphs.add().CopyFrom(_counters_meta_graph())
    reference_saved = saved_model_pb2.SavedModel.FromString(saved.SerializeToString())
    for one in reference_saved.meta_graphs:
        canonicalize_meta_graph(one)
    assert canonical_bytes(saved) == serialize(reference_saved)


def _counters_meta_graph() -> meta_graph_pb2.MetaGraphDef:
    meta = meta_graph_pb2.MetaGraphDef()
    meta.graph_def.CopyFrom(_counters_graph_def())
    return meta


def test_function_stem_drops_counters_only() -> None:
    assert function_stem("__inference_scale_122") == "__inference_scale"
    assert function_stem("while_body_18_grad_71") == "while_body_grad"
    assert function_stem("__inference___backward_scale_122_133") == "__inference___backward_scale"
    assert function_stem("while_cond_17_rewritten") == "while_cond_rewritten"
    assert function_stem("Dense_1a2b") == "Dense_1a2b"


def test_canonical_exports_compute_what_the_source_computes(builds: dict[str, Path]) -> None:
    """The renamed functions still link: the SavedModel serves, the MetaGraph trains, the frozen
    graph runs, each giving what the source graph gives."""
    out = builds["first"] / "counters"
    x = np.array([[1.0, 2.0]], np.float32)
    expected_y = (x @ np.array([[0.5], [0.25]], np.float32)) * 1.5 ** 3
    served = tf.saved_model.load(str(out / "model")).signatures["serving_default"]
    result = served(x=tf.constant(x))
    np.testing.assert_allclose(result["y"].numpy(), expected_y, rtol=1e-6)
    np.testing.assert_allclose(result["z"].numpy(), x * 1.5 ** 3, rtol=1e-6)

    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        saver = tf1.train.import_meta_graph(str(out / "graph.meta"))
        saver.restore(session, str(out / "graph.ckpt"))
        before = session.run("C/y:0", {"C/x:0": x})
        session.run("C/train", {"C/x:0": x})  # gradients through the renamed functions
        after = session.run("C/y:0", {"C/x:0": x})
    np.testing.assert_allclose(before, expected_y, rtol=1e-6)
    assert not np.allclose(before, after)

    frozen = tf1.GraphDef()
    frozen.ParseFromString((out / "frozen.pb").read_bytes())
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        tf.graph_util.import_graph_def(frozen, name="")
        np.testing.assert_allclose(session.run("C/z:0", {"C/x:0": x}), x * 1.5 ** 3, rtol=1e-6)


# -- the README's commands --------------------------------------------------------------------------


def _readme_commands() -> list[tuple[str, str]]:
    """``(command, expected output)`` of each graphdsl line of the README's Reproducibility section;
    the expected output is the line's comment."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Reproducibility\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip().startswith("graphdsl "):
                commands.append((command.strip(), comment.strip()))
    return commands


def test_readme_reproducibility_commands_print_what_it_says(tmp_path: Path, monkeypatch, capsys) -> None:
    from graphdsl.cli import main

    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    commands = _readme_commands()
    assert len(commands) >= 2
    for command, expected in commands:
        code = main(shlex.split(command)[1:])
        out = capsys.readouterr().out
        assert code == 0, command
        assert expected in out, f"{command}: printed {out!r}, the README says {expected!r}"


# -- provenance -------------------------------------------------------------------------------------


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of specs/, the working directory of the test."""
    root = tmp_path / "specs"
    shutil.copytree(REPO / "specs", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    return root


def test_every_export_kind_carries_how_it_was_made(specs: Path, capsys) -> None:
    import yaml

    from graphdsl.assemble.provenance import read_provenance
    from graphdsl.cli import main

    for name in ("linear", "crossover"):
        assert main(["build", f"{name}.gcomp", "-o", f"out/{name}"]) == 0
        assert main(["lock", f"{name}.gcomp"]) == 0
    where = {
        "out/linear/model": "out/linear/model/assets.extra/graphdsl/provenance.yaml",
        "out/linear/linear.meta": "out/linear/linear.meta",
        "out/crossover/child.pb": "out/crossover/child.pb.graphdsl.yaml",
    }
    for artifact, expected in where.items():
        found, text = read_provenance(artifact)
        assert found == Path(expected)
        record = yaml.safe_load(text)
        spec = artifact.split("/")[1]
        assert record["spec"] == (specs / f"{spec}.gcomp").read_text()
        assert record["params"] == {}
        lock = yaml.safe_load((specs / f"{spec}.gcomp.lock").read_text())
        for key in ("graphdsl", "tensorflow", "sources"):  # the lock's content but its exports
            assert record[key] == lock[key]
    # TensorFlow's loaders keep the MetaGraph's record and ignore it
    graph = tf.Graph()
    with graph.as_default():
        tf1.train.import_meta_graph("out/linear/linear.meta")
    assert graph.get_operation_by_name("CopiedOps/train") is not None


@pytest.mark.parametrize("spec, artifact", [("assembly", "out/model"), ("linear", "out"),
                                            ("crossover", "out/child.pb")])
def test_the_spec_explain_writes_back_builds_the_same_bytes(specs: Path, capsys, spec: str,
                                                            artifact: str) -> None:
    from graphdsl.cli import main

    assert main(["build", f"{spec}.gcomp", "-o", "out"]) == 0
    capsys.readouterr()
    assert main(["explain", artifact, "--spec-out", "rebuilt.gcomp"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# the provenance of {artifact}, from ")
    assert "spec: |\n  " in printed and printed.endswith("wrote rebuilt.gcomp\n")
    assert (specs / "rebuilt.gcomp").read_text() == (specs / f"{spec}.gcomp").read_text()
    assert main(["build", "rebuilt.gcomp", "-o", "again"]) == 0
    _assert_same_bytes(specs / "out", specs / "again")


def test_explain_says_what_carries_no_provenance(specs: Path, capsys) -> None:
    from graphdsl.cli import main

    assert main(["explain", "models/encoder"]) == 1  # a SavedModel TensorFlow wrote
    err = capsys.readouterr().err
    assert "models/encoder: carries no provenance (no assets.extra/graphdsl/provenance.yaml in it)" in err
    assert "help: only builds of graphdsl record how they were made" in err
    assert main(["explain", "models/head.meta"]) == 1
    assert "its meta_info_def holds no graphdsl record" in capsys.readouterr().err
    assert main(["explain", "nowhere"]) == 1
    assert "nowhere: no such file or directory" in capsys.readouterr().err
    assert main(["build", "crossover.gcomp", "-o", "out"]) == 0
    assert main(["explain", "out/child.pb", "--spec-out", "linear.gcomp"]) == 1
    assert "linear.gcomp: exists and holds something else; not overwritten" in capsys.readouterr().err


# -- templates: parameters and included files in the provenance, written back --------------------

_EXPLAIN_AND_BUILD = """
import sys
from graphdsl.cli import main
artifact, spec, outdir = sys.argv[1:]
assert main(["explain", artifact, "--spec-out", spec]) == 0
assert main(["build", spec, "--params", spec.removesuffix(".gcomp") + ".params.yaml", "-o", outdir]) == 0
"""


def test_a_template_written_back_by_explain_builds_the_same_bytes_in_another_process(specs: Path) -> None:
    """towers.gcomp built with parameters from a file and the command line; another process
    writes back the spec, its included file and its parameters into a fresh tree holding only the
    sources, and builds that: the same bytes."""
    import yaml

    from graphdsl.assemble.provenance import read_provenance

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    Path("two.yaml").write_text("layers: 2\n")
    build = [sys.executable, "-m", "graphdsl", "build", "towers.gcomp", "--params", "two.yaml",
             "--param", "mode=value", "-o", "out"]
    done = subprocess.run(build, cwd=specs, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    record = yaml.safe_load(read_provenance("out/model")[1])
    assert record["params"] == {"layers": 2, "mode": "value"}
    blocks = (specs / "lib" / "blocks.gcomp").read_text()
    assert record["include_texts"] == {"lib/blocks.gcomp": blocks}
    assert record["includes"] == {"lib/blocks.gcomp": hashlib.sha256(blocks.encode()).hexdigest()}

    fresh = specs.parent / "fresh"
    for folder in ("models", "builders"):
        shutil.copytree(specs / folder, fresh / folder)
    done = subprocess.run([sys.executable, "-c", _EXPLAIN_AND_BUILD, str(specs / "out" / "model"),
                           "again.gcomp", "again"], cwd=fresh, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "wrote again.gcomp\nwrote lib/blocks.gcomp\nwrote again.params.yaml\n" in done.stdout
    assert "build it with: graphdsl build again.gcomp --params again.params.yaml -o OUTDIR" in done.stdout
    assert (fresh / "again.gcomp").read_text() == (specs / "towers.gcomp").read_text()
    assert (fresh / "lib" / "blocks.gcomp").read_text() == blocks
    assert yaml.safe_load((fresh / "again.params.yaml").read_text()) == {"layers": 2, "mode": "value"}
    _assert_same_bytes(specs / "out", fresh / "again")


def test_explain_writes_nothing_when_an_included_file_would_be_overwritten(specs: Path, capsys) -> None:
    from graphdsl.cli import main

    assert main(["build", "ensemble.gcomp", "--param", "members=1", "-o", "out"]) == 0
    assert main(["explain", "out", "--spec-out", "again.gcomp"]) == 0
    assert "kept lib/blocks.gcomp (it holds that text already)" in capsys.readouterr().out
    Path("elsewhere/lib").mkdir(parents=True)
    Path("elsewhere/lib/blocks.gcomp").write_text("graphdsl 1\n")
    assert main(["explain", "out", "--spec-out", "elsewhere/again.gcomp"]) == 1
    err = capsys.readouterr().err
    assert "elsewhere/lib/blocks.gcomp: exists and holds something else; not overwritten" in err
    assert sorted(p.name for p in Path("elsewhere").rglob("*")) == ["blocks.gcomp", "lib"]


def test_explain_writes_back_no_included_file_outside_the_record(specs: Path, capsys, tmp_path: Path) -> None:
    # A record changed after the build named an absolute path: explain --spec-out wrote the
    # included file's text there, wherever it was.
    from graphdsl.cli import main

    assert main(["build", "ensemble.gcomp", "--param", "members=1", "-o", "out"]) == 0
    record = Path("out/model/assets.extra/graphdsl/provenance.yaml")
    target = tmp_path / "elsewhere.gcomp"
    record.write_text(record.read_text().replace("\n  lib/blocks.gcomp: |", f"\n  {target}: |", 1))
    capsys.readouterr()
    assert main(["explain", "out", "--spec-out", "again.gcomp"]) == 1
    err = capsys.readouterr().err
    assert f"include_texts names '{target}', not a path relative to the spec; nothing was written" in err
    assert not target.exists() and not Path("again.gcomp").exists()


def test_explain_says_where_the_spec_cannot_be_written(specs: Path, capsys) -> None:
    from graphdsl.cli import main

    assert main(["build", "transfer.gcomp", "-o", "out"]) == 0
    Path("taken").write_text("a file, where a folder is needed\n")
    capsys.readouterr()
    assert main(["explain", "out", "--spec-out", "taken/again.gcomp"]) == 1  # was 66, "cannot read taken"
    assert "error: cannot write taken/again.gcomp: Not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["{outside}/planted.gcomp", "lib/../../planted.gcomp", "lib/\0x"])
def test_a_changed_record_cannot_make_explain_or_diff_write_outside_the_spec(specs: Path, capsys,
                                                                           path: str) -> None:
    """A record's included files are written relative to the spec: a record changed to name an
    absolute path (or one that is not in normal form) is refused, and nothing is written; diff,
    which writes nothing, reads such an artifact as one without a record."""
    import yaml

    from graphdsl.cli import main

    outside = specs.parent / "outside"
    outside.mkdir()
    assert main(["build", "crossover.gcomp", "-o", "out"]) == 0
    sidecar = Path("out/child.pb.graphdsl.yaml")
    record = yaml.safe_load(sidecar.read_text())
    record["include_texts"] = {path.format(outside=outside): "graphdsl 1\n"}
    sidecar.write_text(yaml.safe_dump(record))
    capsys.readouterr()
    assert main(["explain", "out/child.pb", "--spec-out", "elsewhere/again.gcomp"]) == 1
    assert "not a path relative to the spec; nothing was written" in capsys.readouterr().err
    assert main(["diff", "out/child.pb", "crossover.gcomp"]) in (0, 1)
    assert not Path("elsewhere").exists() and not list(outside.iterdir())
    assert not (specs.parent / "planted.gcomp").exists()


def test_explain_refuses_a_record_changed_out_of_shape_rather_than_print_it(specs: Path, capsys) -> None:
    # It printed whatever the file held, with exit 0, as if it told how the artifact was made.
    from graphdsl.cli import main

    assert main(["build", "linear.gcomp", "-o", "out"]) == 0
    record = Path("out/model/assets.extra/graphdsl/provenance.yaml")
    for damaged, told in (("spec: [1,\n", "the provenance record, line 2, column 1: not valid YAML"),
                          ("- a list\n", "the provenance record holds no spec")):
        record.write_text(damaged)
        capsys.readouterr()
        assert main(["explain", "out"]) == 1
        out, err = capsys.readouterr()
        assert out == "" and f"error: {record}: {told}" in err


def test_explain_says_which_file_it_cannot_write_back_and_why(specs: Path, capsys) -> None:
    from graphdsl.cli import main

    assert main(["build", "linear.gcomp", "-o", "out"]) == 0
    Path("binary.gcomp").write_bytes(b"\x9c\xff not text")
    capsys.readouterr()
    assert main(["explain", "out", "--spec-out", "binary.gcomp"]) == 1  # an existing file, not text
    assert "binary.gcomp: exists and holds something else; not overwritten" in capsys.readouterr().err
    assert Path("binary.gcomp").read_bytes() == b"\x9c\xff not text"
    assert main(["explain", "out", "--spec-out", "linear.gcomp/again.gcomp"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot write linear.gcomp/again.gcomp: Not a directory\n" in err
    assert "help: check the path: a part of it before the last is a file, not a directory" in err
