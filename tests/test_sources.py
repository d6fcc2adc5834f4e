"""Loading source graphs of every kind, and the errors bad sources give."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.errors import SourceError
from graphdsl.tf.sources import LoadedSource, load_source
from models import X, Y, save_graphdef, save_metagraph, save_tf1_savedmodel, save_tf2_savedmodel


def run(loaded: LoadedSource, fetch: str, feed: str, value=X):
    session = loaded.session or tf.compat.v1.Session(graph=loaded.graph)
    return session.run(fetch, {feed: value})


def tree(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns for p in directory.rglob("*")}


@pytest.fixture(scope="module")
def tf1_savedmodel(tmp_path_factory) -> Path:
    return save_tf1_savedmodel(tmp_path_factory.mktemp("tf1") / "model")


@pytest.fixture(scope="module")
def tf2_savedmodel(tmp_path_factory) -> Path:
    return save_tf2_savedmodel(tmp_path_factory.mktemp("tf2") / "model")


# -- graphdef --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["g.pb", "g.pbtxt"])
def test_graphdef_binary_and_text(tmp_path, name):
    save_graphdef(tmp_path / name)
    loaded = load_source("graphdef", name, {}, tmp_path)
    assert loaded.session is None and loaded.signature is None
    assert loaded.path == tmp_path / name
    np.testing.assert_allclose(run(loaded, "y:0", "x:0"), [[3.0, 3.0]])


def test_graphdef_errors(tmp_path):
    with pytest.raises(SourceError, match=r"g\.pb: no such file"):
        load_source("graphdef", "g.pb", {}, tmp_path)
    (tmp_path / "g.onnx").write_bytes(b"")
    with pytest.raises(SourceError, match=r"must be a \.pb or \.pbtxt file"):
        load_source("graphdef", "g.onnx", {}, tmp_path)
    (tmp_path / "bad.pb").write_bytes(b"\xff\xff\xff garbage")
    with pytest.raises(SourceError, match=r"bad\.pb: not a binary GraphDef") as info:
        load_source("graphdef", "bad.pb", {}, tmp_path)
    assert info.value.hint
    (tmp_path / "bad.pbtxt").write_text("node { name: ")
    with pytest.raises(SourceError, match=r"bad\.pbtxt: not a text GraphDef"):
        load_source("graphdef", "bad.pbtxt", {}, tmp_path)
    (tmp_path / "dangling.pbtxt").write_text('node { name: "a" op: "Identity" input: "missing" }')
    with pytest.raises(SourceError, match=r"dangling\.pbtxt: the GraphDef does not import"):
        load_source("graphdef", "dangling.pbtxt", {}, tmp_path)


def test_unknown_kind_and_option(tmp_path):
    with pytest.raises(SourceError, match="unknown source kind 'graphdf'") as info:
        load_source("graphdf", "g.pb", {}, tmp_path)
    assert info.value.hint == "did you mean 'graphdef'?"
    save_graphdef(tmp_path / "g.pb")
    with pytest.raises(SourceError, match="unknown option 'checkpoint' for a graphdef source"):
        load_source("graphdef", "g.pb", {"checkpoint": "x"}, tmp_path)


# -- metagraph -------------------------------------------------------------------------------------


def test_metagraph_with_checkpoint(tmp_path):
    meta, prefix = save_metagraph(tmp_path)
    loaded = load_source("metagraph", "model.meta", {"checkpoint": "model.ckpt"}, tmp_path)
    assert loaded.session is not None
    assert {v.op.name for v in loaded.graph.get_collection("variables")} == {"w", "b"}
    np.testing.assert_allclose(run(loaded, "y:0", "x:0"), Y)
    loaded.close()
    assert loaded.session is None


def test_metagraph_without_checkpoint_has_no_session(tmp_path):
    save_metagraph(tmp_path)
    loaded = load_source("metagraph", tmp_path / "model.meta", {}, Path("/nonexistent"))
    assert loaded.session is None
    assert loaded.graph.get_operation_by_name("w").type == "VarHandleOp"


def test_metagraph_text_content(tmp_path):
    meta, _ = save_metagraph(tmp_path)
    text = tmp_path / "text.meta"
    proto = tf.compat.v1.MetaGraphDef.FromString(meta.read_bytes())
    text.write_text(str(proto))
    loaded = load_source("metagraph", "text.meta", {"checkpoint": "model.ckpt"}, tmp_path)
    np.testing.assert_allclose(run(loaded, "y:0", "x:0"), Y)


def test_metagraph_checkpoint_errors(tmp_path):
    save_metagraph(tmp_path)
    with pytest.raises(SourceError, match=r"checkpoint '.*nope\.ckpt' not found"):
        load_source("metagraph", "model.meta", {"checkpoint": "nope.ckpt"}, tmp_path)
    with pytest.raises(SourceError, match="unknown option 'chekpoint'") as info:
        load_source("metagraph", "model.meta", {"chekpoint": "model.ckpt"}, tmp_path)
    assert info.value.hint == "did you mean option 'checkpoint'?"
    # a checkpoint of another graph
    other = tmp_path / "other"
    other.mkdir()
    with tf.Graph().as_default():
        v = tf.compat.v1.get_variable("unrelated", initializer=1.0)
        with tf.compat.v1.Session() as s:
            s.run(v.initializer)
            tf.compat.v1.train.Saver().save(s, str(other / "c.ckpt"), write_meta_graph=False)
    with pytest.raises(SourceError, match="does not restore into this MetaGraph"):
        load_source("metagraph", "model.meta", {"checkpoint": "other/c.ckpt"}, tmp_path)
    # a directory stands for the latest checkpoint its 'checkpoint' state file names
    with pytest.raises(SourceError, match=r"checkpoint '.*other/c\.ckpt' does not restore"):
        load_source("metagraph", "model.meta", {"checkpoint": "other"}, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="names no checkpoint"):
        load_source("metagraph", "model.meta", {"checkpoint": "empty"}, tmp_path)


def test_metagraph_corrupt(tmp_path):
    (tmp_path / "bad.meta").write_bytes(b"\x00\x01\xff\xfe not a proto")
    with pytest.raises(SourceError, match=r"bad\.meta: not a binary MetaGraphDef"):
        load_source("metagraph", "bad.meta", {}, tmp_path)


# -- savedmodel ------------------------------------------------------------------------------------


def test_tf1_savedmodel(tf1_savedmodel):
    loaded = load_source("savedmodel", tf1_savedmodel, {}, Path("."))
    assert loaded.signature == {"inputs": {"x": "x:0"}, "outputs": {"y": "y:0"}}
    assert loaded.session is not None
    np.testing.assert_allclose(run(loaded, "y:0", "x:0"), Y)
    assert {v.op.name for v in loaded.graph.get_collection("variables")} == {"w", "b"}


def test_tf2_savedmodel_in_graph_mode(tf2_savedmodel):
    """The facts the module docstring states about TF2 SavedModels; the copier relies on them."""
    loaded = load_source("savedmodel", tf2_savedmodel, {"tags": ["serve"]}, Path("."))
    graph, session, signature = loaded.graph, loaded.session, loaded.signature
    assert session is not None and signature is not None
    assert signature["inputs"] == {"x": "serving_default_x:0"}
    output = signature["outputs"]["y"]
    assert output.startswith("StatefulPartitionedCall")  # which one depends on the save
    np.testing.assert_allclose(session.run(output, {"serving_default_x:0": X}), Y)

    assert graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES) == []
    handles = {op.name: op for op in graph.get_operations() if op.type == "VarHandleOp"}
    assert set(handles) == {"w", "b"}
    assert handles["w"].get_attr("shared_name") == b"w"
    w = session.run("w/Read/ReadVariableOp:0")
    np.testing.assert_allclose(w, [[2.0], [3.0]])  # restored by the loader, no initializer ran

    call = graph.get_tensor_by_name(output).op
    assert [t.name for t in call.inputs] == ["serving_default_x:0", "w:0", "b:0"]
    library = {f.signature.name: f for f in graph.as_graph_def().library.function}
    wrapper = library[call.get_attr("f").name]
    assert wrapper.signature.name.startswith("__inference_signature_wrapper___call___")
    inner = [n for n in wrapper.node_def if n.op == "StatefulPartitionedCall"]
    body = library[inner[0].attr["f"].func.name]
    assert {"ReadVariableOp", "MatMul", "AddV2"} <= {n.op for n in body.node_def}
    assert any(name.startswith("__inference__traced_restore_") for name in library)


def test_savedmodel_other_signature(tf2_savedmodel):
    signature = load_source("savedmodel", tf2_savedmodel, {"signature": "double"}, Path(".")).signature
    assert signature is not None
    assert signature["inputs"] == {"x": "double_x:0"}
    assert list(signature["outputs"]) == ["z"]


def test_savedmodel_errors(tf2_savedmodel, tmp_path):
    with pytest.raises(SourceError, match=r"no signature 'serving_defualt' \(it has: 'double', 'serving_default'\)") as info:
        load_source("savedmodel", tf2_savedmodel, {"signature": "serving_defualt"}, Path("."))
    assert info.value.hint == "did you mean signature 'serving_default'?"
    with pytest.raises(SourceError, match=r"no MetaGraph tagged \['train'\]") as info:
        load_source("savedmodel", tf2_savedmodel, {"tags": ["train"]}, Path("."))
    assert info.value.hint is not None and "['serve']" in info.value.hint
    with pytest.raises(SourceError, match="no such SavedModel directory"):
        load_source("savedmodel", "missing", {}, tmp_path)
    with pytest.raises(SourceError, match="not a SavedModel directory"):
        load_source("savedmodel", ".", {}, tmp_path)
    with pytest.raises(SourceError, match="is a directory, not a file") as info:
        load_source("savedmodel", tf2_savedmodel / "saved_model.pb", {}, Path("."))
    assert info.value.hint is not None and str(tf2_savedmodel) in info.value.hint


def test_savedmodel_left_unchanged(tf1_savedmodel):
    before = tree(tf1_savedmodel)
    load_source("savedmodel", tf1_savedmodel, {}, Path(".")).close()
    assert tree(tf1_savedmodel) == before


# -- python ----------------------------------------------------------------------------------------

BUILDERS = '''
import tensorflow as tf
import helper  # a module beside the builder file

def graph_only(scale=2.0):
    x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
    tf.identity(x * scale, name="y")
    return tf.compat.v1.get_default_graph()

def with_session():
    g = tf.Graph()
    with g.as_default():
        v = tf.compat.v1.get_variable("v", initializer=helper.VALUE)
        s = tf.compat.v1.Session(graph=g)
        s.run(v.initializer)
    return g, s

def session_only():
    g, s = with_session()
    return s

def wrong():
    return 42

def mismatched():
    g, s = with_session()
    return tf.Graph(), s

def broken(n):
    raise ValueError(f"cannot build with n={n}")
'''


@pytest.fixture
def builder_dir(tmp_path) -> Path:
    (tmp_path / "build.py").write_text(textwrap.dedent(BUILDERS))
    (tmp_path / "helper.py").write_text("VALUE = 7.0\n")
    return tmp_path


def test_python_builders(builder_dir):
    path_before = list(sys.path)
    loaded = load_source("python", "build.py:graph_only", {"scale": 3.0}, builder_dir)
    assert loaded.session is None
    np.testing.assert_allclose(run(loaded, "y:0", "x:0"), [[3.0, 3.0]])

    session = load_source("python", "build.py:with_session", {}, builder_dir).session
    assert session is not None and session.run("v/Read/ReadVariableOp:0") == 7.0
    loaded = load_source("python", "build.py:session_only", {}, builder_dir)
    session = loaded.session
    assert session is not None and session.graph is loaded.graph
    assert session.run("v/Read/ReadVariableOp:0") == 7.0

    assert sys.path == path_before
    assert not any(name.endswith("_build") for name in sys.modules if name.startswith("_graphdsl"))
    assert not (builder_dir / "__pycache__").exists()


def test_python_builder_errors(builder_dir):
    with pytest.raises(SourceError, match=r"build\.py:broken: the builder raised ValueError: cannot build with n=3") as info:
        load_source("python", "build.py:broken", {"n": 3}, builder_dir)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(SourceError, match=r"build\.py:broken: the builder raised TypeError"):
        load_source("python", "build.py:broken", {"m": 3}, builder_dir)
    with pytest.raises(SourceError, match=r"build\.py:wrong: the builder returned a int") as info:
        load_source("python", "build.py:wrong", {}, builder_dir)
    assert info.value.hint is not None and "return a tf.Graph" in info.value.hint
    with pytest.raises(SourceError, match="a session of another graph"):
        load_source("python", "build.py:mismatched", {}, builder_dir)
    with pytest.raises(SourceError, match="defines no function 'graph_onli'") as info:
        load_source("python", "build.py:graph_onli", {}, builder_dir)
    assert info.value.hint == "did you mean function 'graph_only'?"
    with pytest.raises(SourceError, match="does not name a function"):
        load_source("python", "build.py", {}, builder_dir)
    (builder_dir / "syntax.py").write_text("def f(:\n")
    with pytest.raises(SourceError, match=r"syntax\.py: importing the file failed: SyntaxError"):
        load_source("python", "syntax.py:f", {}, builder_dir)


@pytest.fixture
def _bounded() -> Any:
    # Reading a pipe or a device to its end may never end: fail instead of hanging.
    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError("reading a source did not end")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _not_regular(path: Path, kind: str) -> None:
    """Make ``path`` a FIFO (kind 'fifo') or a link to /dev/zero (kind 'device')."""
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.usefixtures("_bounded")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_source_file_that_is_a_pipe_or_a_device_is_refused(tmp_path, tf1_savedmodel, kind):
    # A graphdef, a metagraph, its checkpoint and a python builder file: each named by the spec.
    for name, source, path, options in [
        ("graph.pb", "graphdef", "graph.pb", {}),
        ("model.meta", "metagraph", "model.meta", {}),
        ("model.ckpt.index", "metagraph", "model.meta", {"checkpoint": "model.ckpt"}),
        ("build.py", "python", "build.py:build", {}),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        save_metagraph(folder)
        _not_regular(folder / name, kind)
        with pytest.raises(SourceError, match=rf"{name}: not a regular file") as info:
            load_source(source, path, options, folder)
        assert info.value.hint == "a source's files are read whole: name a file"
    # A file inside a SavedModel directory: TensorFlow would read it.
    copy = tmp_path / "saved"
    shutil.copytree(tf1_savedmodel, copy)
    index = next(copy.rglob("variables.index"))
    _not_regular(index, kind)
    with pytest.raises(SourceError, match=r"variables\.index: not a regular file"):
        load_source("savedmodel", copy, {}, Path("."))


def test_a_truncated_checkpoint_is_a_source_error(tmp_path):
    # Its index: refused as the source loads; the data under a readable index: when the value is read.
    save_metagraph(tmp_path)
    index = tmp_path / "model.ckpt.index"
    whole = index.read_bytes()
    index.write_bytes(whole[:20])
    with pytest.raises(SourceError, match=r"model\.ckpt.* cannot be read"):
        load_source("metagraph", "model.meta", {"checkpoint": "model.ckpt"}, tmp_path)
    index.write_bytes(whole)
    data = next(tmp_path.glob("model.ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:4])
    loaded = load_source("metagraph", "model.meta", {"checkpoint": "model.ckpt"}, tmp_path)
    assert loaded.checkpoint is not None
    variable = next(iter(loaded.checkpoint.keys))
    dtypes, shapes = loaded.checkpoint._maps()
    key = loaded.checkpoint.keys[variable][0]
    read = loaded.checkpoint.reader(variable, dtypes[key], tf.TensorShape(shapes[key]))
    assert read is not None
    with pytest.raises(SourceError, match=rf"the value of '{key}' cannot be read from the checkpoint") as info:
        read()
    assert info.value.hint == "the checkpoint is truncated or corrupt: write it again"
