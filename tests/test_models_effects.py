"""A spec runs no code but the builders it names: source graphs cannot make a build act outside.

Each test hides an op with an effect outside the session (writing a file, calling Python, printing)
where graphdsl used to run it while loading, reading or initializing: a SavedModel's main op, a
MetaGraph's restore op, a variable's snapshot, a control dependency of an initializer. The build is
refused with an error naming the op and the source, and the file is never written; the source
option ``allow_side_effects = true`` lets a trusted source through.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import variable_pb2

import graphdsl
from graphdsl import BuildError, GraphDslError
from graphdsl.cli import main

tf1 = tf.compat.v1


def _variable(name: str = "w") -> tf.Variable:
    return tf1.get_variable(name, initializer=[[2.0], [3.0]], use_resource=True)


def _write(marker: Path, kind: str = "write") -> tf.Operation:
    """An op that leaves a trace outside the session: ``marker`` exists once it ran."""
    if kind == "write":
        return tf.io.write_file(str(marker), "ran", name="hidden_write")
    if kind == "py_func":
        def touch():
            marker.write_text("ran")
            return np.int64(0)
        return tf1.py_func(touch, [], tf.int64, name="hidden_py").op
    with tf.control_dependencies([tf.io.write_file(str(marker), "ran")]):  # print, then write
        return tf.print("hello", name="hidden_print")


def savedmodel_with_main_op(path: Path, marker: Path, kind: str = "write", in_function: bool = False) -> Path:
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        y = tf.matmul(x, _variable(), name="y")
        session.run(tf1.global_variables_initializer())
        if in_function:
            @tf.function
            def hidden():
                tf.io.write_file(str(marker), "ran")
                return tf.constant(0)
            main_op = tf.group(hidden(), name="main")
        else:
            main_op = tf.group(_write(marker, kind), name="main")
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session, ["serve"], {"serving_default": tf1.saved_model.predict_signature_def({"x": x}, {"y": y})},
            main_op=main_op)
        builder.save()
    return path


def metagraph(directory: Path, marker: Path, hide: str) -> tuple[Path, Path]:
    """``m.meta`` and checkpoint ``m.ckpt`` of y = x @ w, with a write hidden at ``hide``."""
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = _variable()
        tf.matmul(x, w, name="y")
        write = _write(marker)
        if hide == "initializer_function":
            @tf.function
            def hidden():
                tf.io.write_file(str(marker), "ran")
                return tf.constant(0)
            call = hidden().op.name
        session.run(w.initializer)
        saver = tf1.train.Saver([w])
        saver.save(session, str(directory / "m.ckpt"), write_meta_graph=False, write_state=False)
        saver_def = saver.saver_def
        if hide == "restore":
            restore = tf.group(graph.get_operation_by_name(saver_def.restore_op_name), write,
                               name="restore_and_write")
            saver_def.restore_op_name = restore.name
        if hide == "snapshot":
            with tf.control_dependencies([write]):
                tf.identity(w.read_value(), name="snapshot")
        meta = tf1.train.export_meta_graph(graph=graph, saver_def=saver_def)
    for node in meta.graph_def.node:
        if hide == "initializer" and node.name == "w/Assign":
            node.input.append("^hidden_write")  # the initializer waits for the write
        if hide == "initializer_function" and node.name == "w/Assign":
            node.input.append(f"^{call}")  # the initializer waits for a function that writes
        if hide == "read" and node.name == "w/Read/ReadVariableOp":
            node.input.append("^hidden_write")  # the read a freezer fetches waits for the write
    if hide == "snapshot":
        values = meta.collection_def["variables"].bytes_list.value
        vdef = variable_pb2.VariableDef.FromString(values[0])
        vdef.snapshot_name = "snapshot:0"
        values[0] = vdef.SerializeToString()
    (directory / "m.meta").write_bytes(meta.SerializeToString())
    return directory / "m.meta", directory / "m.ckpt"


def spec(tmp_path: Path, source: str, copy: str = 'copy C from s { take = "y" }') -> Path:
    path = tmp_path / "spec.gcomp"
    path.write_text(f'graphdsl 1\nsource s = {source}\n{copy}\nexport metagraph "out"\n')
    return path


@pytest.mark.parametrize("kind", ["write", "py_func", "print"])
def test_a_savedmodel_main_op_with_an_effect_is_refused(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "marker"
    savedmodel_with_main_op(tmp_path / "sm", marker, kind)
    with pytest.raises(BuildError) as error:
        graphdsl.compose(spec(tmp_path, 'savedmodel("sm")'))
    message = error.value.render()
    assert "its main op would run op 'hidden_" in message and "sm" in message
    assert "allow_side_effects = true" in message
    assert not marker.exists()


def test_an_effect_inside_a_function_the_main_op_calls_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    savedmodel_with_main_op(tmp_path / "sm", marker, in_function=True)
    with pytest.raises(BuildError, match=r"through function '.*hidden.*', which runs op .*\(WriteFile\)"):
        graphdsl.compose(spec(tmp_path, 'savedmodel("sm")'))
    assert not marker.exists()


def test_plan_does_not_run_a_hidden_main_op_either(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "marker"
    savedmodel_with_main_op(tmp_path / "sm", marker)
    assert main(["plan", str(spec(tmp_path, 'savedmodel("sm")'))]) == 1
    assert "WriteFile" in capsys.readouterr().err
    assert not marker.exists()


def test_allow_side_effects_lets_a_trusted_savedmodel_run_its_main_op(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    savedmodel_with_main_op(tmp_path / "sm", marker)
    with graphdsl.compose(spec(tmp_path, 'savedmodel("sm", allow_side_effects = true)')):
        pass
    assert marker.read_text() == "ran"  # the loader ran the main op: the refusal was not a fluke


def test_a_metagraph_restore_op_with_an_effect_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    metagraph(tmp_path, marker, "restore")
    with pytest.raises(BuildError, match=r"restoring its variables would run op 'hidden_write' \(WriteFile\)"):
        graphdsl.compose(spec(tmp_path, 'metagraph("m.meta", checkpoint = "m.ckpt")'))
    assert not marker.exists()


def test_a_variable_snapshot_with_an_effect_is_not_read(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    metagraph(tmp_path, marker, "snapshot")
    path = spec(tmp_path, 'metagraph("m.meta", checkpoint = "m.ckpt")',
                'copy C from s { take = "y" variables = value }')
    with pytest.raises(BuildError) as error:
        graphdsl.compose(path)
    message = error.value.render()
    assert "reading the value of 'snapshot:0' of source 'm.meta' would run op 'hidden_write' (WriteFile)" in message
    assert "spec.gcomp:3:1" in message
    assert not marker.exists()
    path.write_text(path.read_text().replace('"m.ckpt"', '"m.ckpt", allow_side_effects = true'))
    with graphdsl.compose(path):
        pass
    assert marker.exists()


def test_an_initializer_waiting_for_an_effect_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    metagraph(tmp_path, marker, "initializer")
    path = spec(tmp_path, 'metagraph("m.meta")')
    with pytest.raises(BuildError, match=r"initializing the built graph would run op 'C/hidden_write' "
                                         r"\(WriteFile\).*namespace 'C' from source 'm.meta'"):
        graphdsl.build(path, tmp_path / "out")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_an_initializer_waiting_for_a_function_with_an_effect_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    metagraph(tmp_path, marker, "initializer_function")
    path = spec(tmp_path, 'metagraph("m.meta")')
    with pytest.raises(BuildError, match=r"initializing the built graph would run op 'C/StatefulPartitionedCall' "
                                         r"\(StatefulPartitionedCall\), through function '.*hidden.*', which runs "
                                         r"op .*\(WriteFile\).*namespace 'C' from source 'm.meta'"):
        graphdsl.build(path, tmp_path / "out")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_a_python_builder_is_trusted(tmp_path: Path) -> None:
    """The builder is code the spec names; the graph it returns may do what the builder could."""
    marker = tmp_path / "marker"
    (tmp_path / "b.py").write_text(
        "import tensorflow as tf\n"
        "def build(marker):\n"
        "    w = tf.compat.v1.get_variable('w', initializer=[[2.0], [3.0]], use_resource=True)\n"
        "    with tf.control_dependencies([tf.io.write_file(marker, 'ran')]):\n"
        "        tf.identity(w.read_value(), name='y')\n"
        "    return tf.compat.v1.get_default_graph()\n")
    path = spec(tmp_path, f'python("b.py:build", marker = "{marker}")')
    graphdsl.build(path, tmp_path / "out")
    assert (tmp_path / "out" / "out.meta").exists()


def test_the_option_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(GraphDslError, match="option 'allow_side_effects' must be true or false"):
        graphdsl.load_spec(spec(tmp_path, 'graphdef("g.pb", allow_side_effects = "yes")'))


def test_freezing_does_not_run_a_read_waiting_for_an_effect(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    metagraph(tmp_path, marker, "read")
    path = tmp_path / "spec.gcomp"
    path.write_text('graphdsl 1\nsource s = metagraph("m.meta")\ncopy C from s { take = "y" }\n'
                    'export graphdef "frozen.pb" { outputs = [C["y:0"]] }\n')
    with pytest.raises(BuildError, match=r"reading the variables to freeze them would run op "
                                         r"'C/hidden_write' \(WriteFile\)"):
        graphdsl.build(path, tmp_path / "out")
    assert not marker.exists()
