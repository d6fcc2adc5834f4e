"""The interpreter: composing specs, build-time errors pointing at the spec, plan, build and run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml

from graphdsl.assemble.compose import build, compose
from graphdsl.assemble.manifest import BUILD_MANIFEST
from graphdsl.lang.load import load_spec_text
from graphdsl.errors import BuildError, GraphDslError
from graphdsl.assemble.plan import render
from graphdsl.errors import RunError
from graphdsl.run import open_runnable

from fixtures import ASSEMBLY  # tests/fixtures.py
from golden import compare  # tests/golden.py

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
BAD = sorted((DATA / "build_bad").glob("*.gcomp"))

tf1 = tf.compat.v1


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "assembly.gcomp"
    path.write_text(ASSEMBLY)
    return path


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_build_errors_point_at_the_spec(path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(BuildError) as info:
        compose(path.relative_to(REPO).as_posix())
    compare(path.with_suffix(".err"), info.value.render() + "\n")


def test_every_build_golden_has_its_spec() -> None:
    assert sorted(p.stem for p in (DATA / "build_bad").glob("*.err")) == [p.stem for p in BAD]


def test_a_composition_wires_value_copies_into_init_copies(spec_file: Path) -> None:
    with compose(spec_file) as composition:
        x, logits = composition.tensor("x"), composition.tensor("logits")
        assert logits.name == "Head/logits:0"
        assert composition.tensor('Head["logits:0"]') is logits
        assert composition.tensor("Head/logits:0") is logits
        feature_input = composition.graph.get_operation_by_name("Head/MatMul").inputs[0]
        assert feature_input is composition.tensor('Enc["out:0"]')
        # W was doubled in the source's session: value mode carries that; the head's bias is fresh.
        result = composition.session.run(logits, {x: [[1.0, 0.0]]})
        np.testing.assert_allclose(result, [[2.0 + 4.0 + 0.5]])
        np.testing.assert_allclose(composition.session.run(composition.tensor("W")),
                                   [[2.0, 4.0], [6.0, 8.0]])


def test_plan_lists_namespaces_variables_bindings_and_exports(spec_file: Path) -> None:
    with compose(spec_file) as composition:
        text = render(composition)
    lines = text.splitlines()
    assert lines[0] == f"plan for {spec_file}"
    assert "namespace  source  kind    ops  variables" in lines
    # 7 ops: with the constant that holds the copied value
    assert any(line.split() == ["Enc", "enc", "python", "7", "1", "(1", "value)"] for line in lines)
    assert any(line.split() == ["Head", "head", "python", "8", "1", "(1", "init)"] for line in lines)
    assert "  bind features:0 <- Enc/out:0" in lines
    assert "    serving_default out logits = Head/logits:0" in lines
    assert "  graphdef    frozen.pb" in lines


def test_build_writes_every_export_and_a_manifest(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = build(spec_file, out)
    assert [p.name for p in paths] == ["model", "graph", "frozen.pb"]
    manifest = yaml.safe_load((out / BUILD_MANIFEST).read_text())
    assert manifest["aliases"]["logits"] == {"kind": "tensor", "name": "Head/logits:0"}
    assert manifest["aliases"]["W"] == {"kind": "variable", "name": "Enc/W"}
    served = tf.saved_model.load(str(out / "model")).signatures["serving_default"]
    result = served(x=tf.constant([[1.0, 0.0]]))["logits"].numpy()
    np.testing.assert_allclose(result, [[6.5]])


@pytest.mark.parametrize("export", ["model", "graph", "frozen.pb"])
def test_run_a_build_by_alias_and_signature_key(spec_file: Path, tmp_path: Path, export) -> None:
    out = tmp_path / "out"
    build(spec_file, out)
    runnable = open_runnable(out, export=export)
    try:
        (result,) = runnable.run({"x": "[[1.0, 0.0]]"}, ["logits"])
        np.testing.assert_allclose(result, [[6.5]])
    finally:
        runnable.close()


def test_run_a_spec_with_references_and_repeats(spec_file: Path) -> None:
    runnable = open_runnable(spec_file)
    try:
        result, W = runnable.run({'Enc["x:0"]': "[[0, 1]]"}, ["logits", "W"], repeat=3)
        np.testing.assert_allclose(result, [[14.5]])
        np.testing.assert_allclose(W, [[2.0, 4.0], [6.0, 8.0]])
    finally:
        runnable.close()


def test_run_says_what_names_exist_and_checks_values(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(spec_file, out)
    runnable = open_runnable(out)
    try:
        with pytest.raises(RunError, match="did you mean 'logits'"):
            runnable.run({"x": "[[1.0, 0.0]]"}, ["logit"])
        with pytest.raises(RunError, match=r"shape \[3\] does not fit"):
            runnable.run({"x": "[1, 2, 3]"}, ["logits"])
        with pytest.raises(RunError, match="not a float32 value"):
            runnable.run({"x": "[[a, b]]"}, ["logits"])
        with pytest.raises(RunError, match="feed every placeholder"):
            runnable.run({}, ["logits"])
        with pytest.raises(RunError, match="cannot feed 'Head/logits': it is not a tensor") as info:
            runnable.run({"Head/logits": "1"}, ["logits"])
        assert "feed a placeholder" in str(info.value)
    finally:
        runnable.close()


def test_a_failed_build_leaves_earlier_outputs_and_the_sources_intact(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(spec_file, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    sources_before = {p: p.read_bytes() for p in (DATA / "builders").rglob("*") if p.is_file()}
    broken = spec_file.read_text().replace('"frozen.pb"', '"frozen.txt"')
    spec_file.write_text(broken)
    with pytest.raises(BuildError, match="'.pb' \\(binary\\) or '.pbtxt'") as info:
        build(spec_file, out)
    assert info.value.span is not None and info.value.span.line == 22
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert {p: p.read_bytes() for p in (DATA / "builders").rglob("*") if p.is_file()} == sources_before


def test_run_loads_a_savedmodel_with_the_tags_it_was_built_with(spec_file: Path, tmp_path: Path) -> None:
    spec_file.write_text(spec_file.read_text().replace(
        'export savedmodel "model" {', 'export savedmodel "model" {\n    tags = ["train"]'))
    out = tmp_path / "out"
    build(spec_file, out)
    runnable = open_runnable(out)
    try:
        (result,) = runnable.run({"x": "[[1.0, 0.0]]"}, ["logits"])
        np.testing.assert_allclose(result, [[6.5]])
    finally:
        runnable.close()
    with pytest.raises(RunError, match="no export named 'modle'") as info:
        open_runnable(out, export="modle")
    assert "did you mean 'model'" in str(info.value)
    (out / BUILD_MANIFEST).unlink()  # as a SavedModel not built by graphdsl: tags must be given
    with pytest.raises(RunError, match=r"the SavedModel has no MetaGraph tagged \['serve'\]") as info:
        open_runnable(out, export="model")
    assert info.value.hint == "give --tags one of: train"
    with pytest.raises(RunError, match=r"the SavedModel has no MetaGraph tagged \['serve', 'train'\]") as info:
        open_runnable(out, export="model", tags=["train", "serve"])
    assert info.value.hint == "give --tags one of: train"
    runnable = open_runnable(out, export="model", tags=["train"])
    try:
        np.testing.assert_allclose(runnable.run({"x": "[[1.0, 0.0]]"}, ["logits"])[0], [[6.5]])
    finally:
        runnable.close()


def test_a_spec_given_as_text_resolves_sources_from_the_working_directory(monkeypatch) -> None:
    monkeypatch.chdir(DATA)
    text = 'graphdsl 1\nsource enc = python("builders/pieces.py:encoder")\ncopy Enc from enc { take = "out" }\n'
    with compose(load_spec_text(text)) as composition:
        assert composition.spec.path == "<string>"
        assert composition.copy_of("Enc", "out:0").name == "Enc/out:0"
        with pytest.raises(GraphDslError, match="no copy went into a namespace 'Enx'") as info:
            composition.copy_of("Enx", "out:0")
        assert "did you mean 'Enc'" in str(info.value)


def test_a_variable_named_where_a_tensor_is_needed_stands_for_its_value(spec_file: Path, tmp_path: Path) -> None:
    spec_file.write_text(spec_file.read_text().replace(
        "outputs = {{ logits: logits }}".replace("{{", "{").replace("}}", "}"),
        "outputs = { logits: logits, W: W }"))
    out = tmp_path / "out"
    build(spec_file, out)
    served = tf.saved_model.load(str(out / "model")).signatures["serving_default"]
    result = served(x=tf.constant([[1.0, 0.0]]))
    np.testing.assert_allclose(result["W"].numpy(), [[2.0, 4.0], [6.0, 8.0]])


def test_a_let_sees_the_copies_made_above_it_only(tmp_path: Path) -> None:
    """Statements run top to bottom: a reference resolves against the copies above it."""
    spec = tmp_path / "order.gcomp"
    spec.write_text(f'graphdsl 1\nsource enc = python("{(DATA / "builders").as_posix()}/pieces.py:encoder")\n'
                    'copy Enc from enc { take = "unused" }\n'
                    'let out = Enc["out:0"]\n'
                    'copy Enc from enc { take = "out" }\n')
    with pytest.raises(BuildError, match="'out:0' of source 'enc' was not copied into namespace 'Enc'") as info:
        compose(spec)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (4, 15)  # the element named
    spec.write_text(spec.read_text().replace('let out = Enc["out:0"]\ncopy Enc from enc { take = "out" }\n',
                                             'copy Enc from enc { take = "out" }\nlet out = Enc["out:0"]\n'))
    with compose(spec) as composition:
        assert composition.tensor("out").name == "Enc/out:0"


def test_the_api_and_run_answer_to_the_same_names(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(spec_file, out)
    names = ["logits", 'Head["logits:0"]', "Head/logits:0", "Head/logits", "W", "Enc/W"]
    with compose(spec_file) as composition:
        composed = [composition.tensor(n).name for n in names]
    assert composed == ["Head/logits:0"] * 3 + ["Head/logits"] + ["Enc/W:0"] * 2
    runnable = open_runnable(out, export="graph")
    try:
        built = [runnable.element(n).name for n in names if "[" not in n]
        assert built == ["Head/logits:0"] * 2 + ["Head/logits"] + ["Enc/W:0"] * 2
        with pytest.raises(RunError, match="references name the copies of a spec"):
            runnable.element('Head["logits:0"]')
    finally:
        runnable.close()
