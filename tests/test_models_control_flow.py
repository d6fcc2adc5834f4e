"""Graphs with control flow v1 (``tf.compat.v1.cond``, ``tf.compat.v1.while_loop``) survive a build.

The exports must load with TensorFlow's own loaders (and ``graphdsl run``), compute what the
original computes, and keep the loops' contexts so that ``tf.gradients`` works in the loaded graph.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import graphdsl
from graphdsl.run import open_runnable

tf1 = tf.compat.v1

BUILDER = '''
import tensorflow as tf
from tensorflow.python.ops import control_flow_util

tf1 = tf.compat.v1


def build():
    """out = 3 * (x @ w * 2 if sum(x @ w) > 0 else x @ w - 1), with a v1 cond and a v1 while."""
    was_v2 = control_flow_util.ENABLE_CONTROL_FLOW_V2
    tf1.disable_control_flow_v2()
    try:
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = tf1.get_variable("w", initializer=[[1.0], [2.0]], use_resource=True)
        y = tf.matmul(x, w, name="y")
        c = tf1.cond(tf.reduce_sum(y) > 0, lambda: y * 2.0, lambda: y - 1.0, name="c")
        _, out = tf1.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + c),
                                [tf.constant(0), tf.zeros_like(c)], name="loop")
        tf.identity(out, name="out")
    finally:
        if was_v2:
            tf1.enable_control_flow_v2()
    return tf1.get_default_graph()
'''

SPEC = '''graphdsl 1
source cf = python("cf.py:build")
copy C from cf { take = "out" }
let x = C["x:0"]
let out = C["out:0"]
export savedmodel "model" { signature serving_default { inputs = { x: x } outputs = { out: out } } }
export metagraph "graph"
'''

INPUTS = [np.array([[1.0, 1.0]], np.float32), np.array([[-1.0, -2.0], [0.5, 0.0]], np.float32)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One build, loaded by each test in its own way."""
    tmp_path = tmp_path_factory.mktemp("cf")
    (tmp_path / "cf.py").write_text(BUILDER)
    (tmp_path / "cf.gcomp").write_text(SPEC)
    graphdsl.build(tmp_path / "cf.gcomp", tmp_path / "out")
    return tmp_path


@functools.lru_cache(maxsize=None)
def _original(tmp_path: Path) -> list[np.ndarray]:
    spec = importlib.util.spec_from_file_location("cf_builder", tmp_path / "cf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = tf.Graph()
    with graph.as_default():
        module.build()
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            return [session.run("out:0", {"x:0": x}) for x in INPUTS]


def _check_loaded(graph: tf.Graph, session: tf.compat.v1.Session, expected: list[np.ndarray]) -> None:
    for x, want in zip(INPUTS, expected):
        np.testing.assert_array_equal(session.run("C/out:0", {"C/x:0": x}), want)
    with graph.as_default():
        assert graph.get_collection(tf1.GraphKeys.WHILE_CONTEXT)
        assert graph.get_collection(tf1.GraphKeys.COND_CONTEXT)
        # the loaded loop has its context back: gradients flow through it
        (grad,) = tf.gradients(graph.get_tensor_by_name("C/out:0"), [graph.get_tensor_by_name("C/x:0")])
    np.testing.assert_array_equal(session.run(grad, {"C/x:0": INPUTS[0]}), [[6.0, 12.0]])


def test_a_v1_cond_and_while_savedmodel_loads_with_tensorflows_loader(built: Path) -> None:
    expected = _original(built)
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        tf1.saved_model.loader.load(session, ["serve"], str(built / "out" / "model"))
        _check_loaded(graph, session, expected)


def test_a_v1_cond_and_while_savedmodel_loads_in_tf2(built: Path) -> None:
    expected = _original(built)
    loaded = tf.saved_model.load(str(built / "out" / "model"))
    result = loaded.signatures["serving_default"](x=tf.constant(INPUTS[0]))
    np.testing.assert_array_equal(result["out"].numpy(), expected[0])


def test_a_v1_cond_and_while_metagraph_loads_with_import_meta_graph(built: Path) -> None:
    expected = _original(built)
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        saver = tf1.train.import_meta_graph(str(built / "out" / "graph.meta"))
        saver.restore(session, str(built / "out" / "graph.ckpt"))
        _check_loaded(graph, session, expected)


@pytest.mark.parametrize("export", ["model", "graph"])
def test_graphdsl_run_runs_both_v1_control_flow_exports(built: Path, export: str) -> None:
    expected = _original(built)
    runnable = open_runnable(built / "out", export=export)
    try:
        (result,) = runnable.run({"x": "[[1.0, 1.0]]"}, ["out"])
    finally:
        runnable.close()
    np.testing.assert_array_equal(result, expected[0])
