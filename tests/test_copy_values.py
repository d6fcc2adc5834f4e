"""Value-mode copies carry their values beside the graph: no GraphDef or export file holds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import graphdsl
from graphdsl import copy_to_graph, get_copied
from graphdsl.assemble.compose import build, compose

tf1 = tf.compat.v1


def _source(rows: int, resource: bool = True, seed: int = 0):
    """A graph reading a [rows, 16] variable and a scalar one, initialized to random values."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 16], name="x")
        w = tf1.get_variable("w", shape=[rows, 16], use_resource=resource)
        s = tf1.get_variable("s", shape=[], use_resource=resource)
        y = tf.identity(tf.reduce_sum(w, axis=0) * s + x, name="y")
    session = tf1.Session(graph=graph)
    with graph.as_default():
        session.run(tf1.global_variables_initializer())
        w.load(np.random.default_rng(seed).standard_normal([rows, 16]).astype(np.float32), session)
        s.load(np.float32(1.0 / 3.0), session)
    return graph, session, x, w, s, y


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("resource", [True, False], ids=["resource", "ref"])
def test_the_copied_graph_holds_no_value_and_both_initializers_set_it(resource: bool, copy_path: str) -> None:
    """Through both paths: the public one registers the value's function with tf.compat.v1.py_func."""
    sizes = {}
    for rows in (4, 4096):
        graph, session, x, w, s, y = _source(rows, resource)
        target = tf.Graph()
        y1 = copy_to_graph(y, target, namespace="N", variables="value", session=session)
        sizes[rows] = target.as_graph_def().ByteSize()
        expected = session.run(w)
        session.close()  # the values were read when copying: the source may go
        w1 = get_copied(w, target, namespace="N")
        for initialize in ("tf", "graphdsl"):
            with tf1.Session(graph=target) as fresh:
                if initialize == "tf":
                    fresh.run(tf1.variables_initializer(target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)))
                else:
                    graphdsl.initialize(fresh)
                assert _same_bits(fresh.run(w1), expected)
                assert fresh.run(get_copied(s, target, namespace="N")) == np.float32(1.0 / 3.0)
                assert fresh.run(y1, {get_copied(x, target, namespace="N"): np.zeros([1, 16], np.float32)}).shape == (1, 16)
    # 256 KiB more of values; only the shape's digits (and a function's number) grow
    assert abs(sizes[4096] - sizes[4]) < 16


def _spec(tmp_path: Path, rows: int) -> Path:
    graph, session, *_ = _source(rows)
    directory = tmp_path / f"src{rows}"
    directory.mkdir()
    with graph.as_default():
        tf1.train.Saver().save(session, str(directory / "m.ckpt"), write_meta_graph=False)
        tf1.train.export_meta_graph(str(directory / "m.meta"))
    session.close()
    spec = directory / "spec.gcomp"
    spec.write_text('graphdsl 1\n\nsource s = metagraph("m.meta", checkpoint = "m.ckpt")\n\n'
                    'copy N from s {\n    take = "y"\n    variables = value\n}\n\n'
                    'export savedmodel "model" {\n'
                    '    signature serving_default { inputs = { x: N["x:0"] } outputs = { y: N["y:0"] } }\n'
                    '}\nexport metagraph "graph"\n')
    return spec


def test_exports_hold_no_values_and_load_back_bit_identical(tmp_path: Path) -> None:
    sizes = {}
    for rows in (4, 4096):
        spec = _spec(tmp_path, rows)
        out = tmp_path / f"out{rows}"
        build(spec, out)
        sizes[rows] = ((out / "model" / "saved_model.pb").stat().st_size, (out / "graph.meta").stat().st_size)
        reader = tf1.train.NewCheckpointReader(str(spec.parent / "m.ckpt"))
        with tf.Graph().as_default() as graph, tf1.Session() as session:
            tf1.saved_model.loader.load(session, ["serve"], str(out / "model"))
            for name in ("w", "s"):
                assert _same_bits(session.run(f"N/{name}/Read/ReadVariableOp:0"), reader.get_tensor(name))
        with tf.Graph().as_default() as graph, tf1.Session() as session:
            tf1.train.import_meta_graph(str(out / "graph.meta")).restore(session, str(out / "graph.ckpt"))
            for name in ("w", "s"):
                assert _same_bits(session.run(f"N/{name}/Read/ReadVariableOp:0"), reader.get_tensor(name))
            # the file asks for the value rather than calling back into the process that wrote it
            assert graph.get_operation_by_name("N/w/copied_value").type == "Placeholder"
            # both exports wrote with one Saver: one set of save ops
            assert not [op for op in graph.get_operations() if op.name.startswith("save_1/")]
    assert all(abs(big - small) < 16 for big, small in zip(sizes[4096], sizes[4]))  # the shapes' digits


def test_a_composition_reads_checkpoint_values_when_it_initializes(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 64)
    reader = tf1.train.NewCheckpointReader(str(spec.parent / "m.ckpt"))
    with compose(spec) as composition:
        w = composition.copy_of("N", "w")
        assert _same_bits(composition.session.run(w), reader.get_tensor("w"))
        with tf1.Session(graph=composition.graph) as fresh:  # the initializer alone sets it too
            fresh.run(w.initializer)
            assert _same_bits(fresh.run(w), reader.get_tensor("w"))


def _savedmodel_spec(tmp_path: Path, main_op: bool) -> Path:
    graph, session, x, w, s, y = _source(64, seed=1)
    directory = tmp_path / ("with_main_op" if main_op else "plain")
    with graph.as_default():
        builder = tf1.saved_model.Builder(str(directory / "sm"))
        signature = tf1.saved_model.predict_signature_def({"x": x}, {"y": y})
        builder.add_meta_graph_and_variables(session, ["serve"], {"serving_default": signature},
                                             main_op=tf.no_op(name="main") if main_op else None)
        builder.save()
    session.close()
    spec = directory / "spec.gcomp"
    spec.write_text('graphdsl 1\n\nsource s = savedmodel("sm")\n\n'
                    'copy N from s {\n    take = "y"\n    variables = value\n}\n')
    return spec


@pytest.mark.parametrize("main_op", [False, True], ids=["import_and_restore", "main_op"])
def test_a_savedmodel_source_is_restored_only_when_it_must_be(tmp_path: Path, main_op: bool) -> None:
    """A SavedModel the loader would only import and restore is imported, and its values read from
    variables/ when the target is initialized; one with a main op is loaded whole, at once."""
    from graphdsl.tf.sources import load_source

    spec = _savedmodel_spec(tmp_path, main_op)
    loaded = load_source("savedmodel", "sm", {}, spec.parent)
    assert (loaded.restore is not None) == (not main_op) and loaded.has_values
    loaded.close()
    reader = tf1.train.NewCheckpointReader(str(spec.parent / "sm" / "variables" / "variables"))
    with compose(spec) as composition:
        for name in ("w", "s"):
            value = composition.session.run(composition.copy_of("N", name))
            assert _same_bits(value, reader.get_tensor(name))
