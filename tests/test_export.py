"""Exports reload and compute the same values; a failed build leaves earlier outputs intact."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.errors import ExportError
from graphdsl.assemble.export import export_graphdef, export_metagraph, export_savedmodel
from graphdsl.assemble.manifest import OUTPUTS_LIST as MANIFEST
from graphdsl.assemble.outdir import OutputDir
from graphdsl.lang import schema
from graphdsl.tf.sources import load_source
from models import X, Y, constant_graph, linear_graph, save_tf2_savedmodel


def snapshot(directory: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under ``directory`` with its content and modification time."""
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
    }


# -- SavedModel ------------------------------------------------------------------------------------


def test_savedmodel_serves_in_tf2_and_tf1(tmp_path):
    model = linear_graph()
    with model.graph.as_default():
        bias = tf.identity(model.b, name="bias")
    out = export_savedmodel(model.graph, model.session, tmp_path / "sm",
                            {"serving_default": ({"x": model.x}, {"y": model.y}),
                             "bias": ({}, {"b": bias})})
    loaded = tf.saved_model.load(str(out))
    result = loaded.signatures["serving_default"](x=tf.constant(X))
    np.testing.assert_allclose(result["y"].numpy(), Y)
    np.testing.assert_allclose(loaded.signatures["bias"]()["b"].numpy(), [1.0])

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(out))
        sig = meta.signature_def["serving_default"]
        y = session.run(sig.outputs["y"].name, {sig.inputs["x"].name: X})
    np.testing.assert_allclose(y, Y)


def test_savedmodel_without_variables(tmp_path):
    graph, x, y = constant_graph()
    with tf.compat.v1.Session(graph=graph) as session:
        export_savedmodel(graph, session, tmp_path / "sm", {"serving_default": ({"x": x}, {"y": y})})
    result = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"](x=tf.constant(X))
    np.testing.assert_allclose(result["y"].numpy(), [[3.0, 3.0]])


def test_savedmodel_errors(tmp_path):
    model = linear_graph()
    other, ox, oy = constant_graph()
    sig = {"serving_default": ({"x": model.x}, {"y": model.y})}
    with pytest.raises(ExportError, match="output 'y' of signature 's' is 'y:0' .*not a tensor of the exported graph"):
        export_savedmodel(model.graph, model.session, tmp_path / "a", {"s": ({"x": model.x}, {"y": oy})})
    with pytest.raises(ExportError, match="runs another graph"):
        export_savedmodel(other, model.session, tmp_path / "a", {"s": ({"x": ox}, {"y": oy})})
    (tmp_path / "exists").mkdir()
    with pytest.raises(ExportError, match=r"exists: already exists"):
        export_savedmodel(model.graph, model.session, tmp_path / "exists", sig)

    fresh = linear_graph(initialize=False)
    with pytest.raises(ExportError, match=r"uninit: cannot write the SavedModel: .*") as info:
        export_savedmodel(fresh.graph, fresh.session, tmp_path / "uninit",
                          {"serving_default": ({"x": fresh.x}, {"y": fresh.y})})
    assert info.value.hint is not None and "initialize" in info.value.hint
    assert not (tmp_path / "uninit").exists()  # no half-written SavedModel


def test_variables_outside_collections_are_refused(tmp_path):
    source = load_source("savedmodel", save_tf2_savedmodel(tmp_path / "tf2"), {}, tmp_path)
    signature = source.signature
    assert signature is not None
    y = source.graph.get_tensor_by_name(signature["outputs"]["y"])
    x = source.graph.get_tensor_by_name(signature["inputs"]["x"])
    with pytest.raises(ExportError, match=r"variable '[wb]' \(VarHandleOp\) is in no variable collection"):
        export_savedmodel(source.graph, source.session, tmp_path / "sm", {"s": ({"x": x}, {"y": y})})
    # freezing needs no collection: it folds the values read through the session, even inside functions
    export_graphdef(source.graph, source.session, tmp_path / "f.pb", [y])
    frozen = load_source("graphdef", "f.pb", {}, tmp_path)
    assert not any(op.type == "VarHandleOp" for op in frozen.graph.get_operations())
    library = [f.signature.name for f in frozen.graph.as_graph_def().library.function]
    assert not any("traced_save" in name or "traced_restore" in name for name in library)
    with tf.compat.v1.Session(graph=frozen.graph) as session:
        np.testing.assert_allclose(session.run(y.name, {x.name: X}), Y)


# -- MetaGraph -------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", [True, False])
def test_metagraph_reloads_with_checkpoint(tmp_path, resource):
    model = linear_graph(resource=resource)
    written = export_metagraph(model.graph, model.session, tmp_path / "out", "model")
    names = sorted(p.name for p in written)
    assert names[0] == "model.ckpt.data-00000-of-00001" and "model.meta" in names
    assert "checkpoint" not in os.listdir(tmp_path / "out")

    session = load_source("metagraph", "out/model.meta", {"checkpoint": "out/model.ckpt"}, tmp_path).session
    assert session is not None
    np.testing.assert_allclose(session.run("y:0", {"x:0": X}), Y)


def test_metagraph_without_variables_writes_no_checkpoint(tmp_path):
    graph, _, _ = constant_graph()
    assert export_metagraph(graph, None, tmp_path, "g") == [tmp_path / "g.meta"]
    assert os.listdir(tmp_path) == ["g.meta"]
    loaded = load_source("metagraph", "g.meta", {}, tmp_path)
    assert loaded.graph.get_operation_by_name("y").type == "Identity"


def test_metagraph_errors(tmp_path):
    model = linear_graph(initialize=False)
    with pytest.raises(ExportError, match=r"model\.ckpt: cannot write the MetaGraph") as info:
        export_metagraph(model.graph, model.session, tmp_path, "model")
    assert info.value.hint is not None and "initialize" in info.value.hint
    assert os.listdir(tmp_path) == []
    with pytest.raises(ExportError, match="no session holds their values"):
        export_metagraph(model.graph, None, tmp_path, "model")


# -- frozen GraphDef -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["frozen.pb", "frozen.pbtxt"])
def test_frozen_graphdef(tmp_path, name):
    model = linear_graph()
    with model.graph.as_default():
        tf.identity(model.x * 5.0, name="unused")
    export_graphdef(model.graph, model.session, tmp_path / name, [model.y])
    if name.endswith(".pbtxt"):
        assert (tmp_path / name).read_text().startswith("node {")
    frozen = load_source("graphdef", name, {}, tmp_path)
    ops = {op.name: op.type for op in frozen.graph.get_operations()}
    assert "unused" not in ops
    assert not {"VarHandleOp", "VariableV2"} & set(ops.values())
    with tf.compat.v1.Session(graph=frozen.graph) as session:
        np.testing.assert_allclose(session.run("y:0", {"x:0": X}), model.run())


@pytest.mark.parametrize("read", ["top-level", "in-function"])
def test_freeze_resource_variable_without_standard_read(tmp_path, read):
    """Copied variables lack the 'v/Read/ReadVariableOp' that TensorFlow's freezer fetches."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        handle = tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="v", name="v")
        assign = tf.raw_ops.AssignVariableOp(resource=handle, value=4.0, name="v/assign")
        if read == "top-level":
            y = tf.identity(x * tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32, name="v/mine"),
                            name="y")
        else:
            times = tf.function(lambda x: x * tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32))
            y = tf.identity(times(x), name="y")
    session = tf.compat.v1.Session(graph=graph)
    session.run(assign)
    export_graphdef(graph, session, tmp_path / "f.pb", [y])
    added = [op.name for op in graph.get_operations() if "graphdsl_freeze_read" in op.name]
    assert added == ([] if read == "top-level" else ["v/graphdsl_freeze_read"])
    frozen = load_source("graphdef", "f.pb", {}, tmp_path)
    assert "VarHandleOp" not in {op.type for op in frozen.graph.get_operations()}
    with tf.compat.v1.Session(graph=frozen.graph) as s:
        np.testing.assert_allclose(s.run("y:0", {"x:0": [1.0, 2.0]}), [4.0, 8.0])


def test_frozen_graphdef_errors(tmp_path):
    model = linear_graph()
    with pytest.raises(ExportError, match=r"frozen\.onnx: a GraphDef is written to a '\.pb'"):
        export_graphdef(model.graph, model.session, tmp_path / "frozen.onnx", [model.y])
    with pytest.raises(ExportError, match="the graph has no operation 'why'"):
        export_graphdef(model.graph, model.session, tmp_path / "f.pb", ["why:0"])
    with pytest.raises(ExportError, match="no session holds their values"):
        export_graphdef(model.graph, None, tmp_path / "f.pb", ["y"])
    fresh = linear_graph(initialize=False)
    with pytest.raises(ExportError, match=r"f\.pb: cannot write the frozen GraphDef"):
        export_graphdef(fresh.graph, fresh.session, tmp_path / "f.pb", [fresh.y])
    assert not (tmp_path / "f.pb").exists()


def test_the_frozen_graphdef_takes_the_suffixes_the_schema_gives(tmp_path, monkeypatch):
    graphdef = schema.EXPORT_KINDS["graphdef"]
    monkeypatch.setitem(schema.EXPORT_KINDS, "graphdef", dataclasses.replace(graphdef, suffixes=(".gdef", ".txtpb")))
    graph, x, y = constant_graph()
    with pytest.raises(ExportError, match=r"f\.pb: a GraphDef is written to a '\.gdef' \(binary\) or '\.txtpb' \(text\)"):
        export_graphdef(graph, None, tmp_path / "f.pb", [y])
    export_graphdef(graph, None, tmp_path / "f.txtpb", [y])
    assert (tmp_path / "f.txtpb").read_text().startswith("node {")


# -- OutputDir -------------------------------------------------------------------------------------


def build(out: Path, model, fail_second: bool = False, frozen_name: str = "frozen.pb") -> None:
    with OutputDir(out) as outputs:
        export_savedmodel(model.graph, model.session, outputs.path("model"),
                          {"serving_default": ({"x": model.x}, {"y": model.y})}, label=outputs.label("model"))
        export_graphdef(model.graph, model.session, outputs.path(frozen_name),
                        ["no_such_op" if fail_second else model.y], label=outputs.label(frozen_name))


def test_failed_build_leaves_previous_outputs_intact(tmp_path):
    out = tmp_path / "out"
    model = linear_graph()
    build(out, model)
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    assert {"model", "frozen.pb", MANIFEST, "notes.txt"} <= set(before)

    with pytest.raises(ExportError, match="no operation 'no_such_op'") as info:
        build(out, model, fail_second=True)
    assert info.value.message.startswith(f"{out / 'frozen.pb'}:")  # not the staging directory
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging directory left behind


def test_commit_replaces_exported_items_only(tmp_path):
    out = tmp_path / "out"
    model = linear_graph()
    build(out, model, frozen_name="old.pb")
    (out / "notes.txt").write_text("mine")
    build(out, model)
    assert sorted(os.listdir(out)) == [MANIFEST, "frozen.pb", "model", "notes.txt"]  # old.pb was ours
    assert (out / MANIFEST).read_text() == "frozen.pb\nmodel\n"
    served = tf.saved_model.load(str(out / "model")).signatures["serving_default"](x=tf.constant(X))
    np.testing.assert_allclose(served["y"].numpy(), Y)
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_output_dir_names(tmp_path):
    with pytest.raises(ExportError, match="not a plain output name"):
        with OutputDir(tmp_path / "out") as outputs:
            outputs.path("../escape")
    with pytest.raises(ExportError, match="written twice"):
        with OutputDir(tmp_path / "out") as outputs:
            outputs.path("a.pb")
            outputs.path("a.pb")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="exists and is not a directory"):
        OutputDir(tmp_path / "file").__enter__()
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_failed_commit_restores_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    model = linear_graph()
    build(out, model)
    before = snapshot(out)
    real_rename = os.rename

    def rename(src, dst):  # the new SavedModel cannot be moved in, after frozen.pb was
        if Path(src).name == "model" and ".graphdsl-new-" in Path(src).parent.name:
            raise PermissionError(13, "Permission denied")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(ExportError, match="the previous outputs were restored"):
        build(out, model)
    monkeypatch.undo()
    assert snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]
