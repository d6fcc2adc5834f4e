"""Rewiring and cutting: replacements and stop_at."""

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph, get_copied
from graphdsl.errors import CopyError

tf1 = tf.compat.v1


def _head():
    """A small head: logits = relu(features) @ [[1], [2]] + 0.5, with a side effect on features."""
    graph = tf.Graph()
    with graph.as_default():
        features = tf1.placeholder(tf.float32, [None, 2], name="features")
        hidden = tf.nn.relu(features, name="hidden")
        logged = tf.identity(features, name="logged")
        with tf.control_dependencies([logged]):
            logits = tf.add(tf.matmul(hidden, [[1.0], [2.0]]), 0.5, name="logits")
    return graph, features, hidden, logits


def test_a_replacement_wires_the_copy_to_a_tensor_already_in_the_target(copy_path):
    graph, features, hidden, logits = _head()
    target = tf.Graph()
    with target.as_default():
        encoded = tf.constant([[1.0, -1.0], [2.0, 3.0]], name="encoder/out")
    logits1 = copy_to_graph(logits, target, namespace="Head", replacements={features: encoded})
    names = {op.name for op in target.get_operations()}
    assert "Head/features" not in names
    assert target.get_operation_by_name("Head/logged").inputs[0] is encoded
    assert get_copied(features, target, namespace="Head") is encoded
    with tf1.Session(graph=target) as s:
        np.testing.assert_allclose(s.run(logits1), [[1.5], [8.5]])


def test_control_inputs_follow_a_replacement(copy_path):
    graph, features, hidden, logits = _head()
    with graph.as_default():
        with tf.control_dependencies([features.op]):
            after = tf.constant(1.0, name="after")
    target = tf.Graph()
    with target.as_default():
        encoded = tf.constant([[1.0, 1.0]], name="encoded")
    after1 = copy_to_graph(after, target, namespace="Head", replacements={features: encoded})
    assert after1.op.control_inputs == [encoded.op]


def test_a_replacement_of_another_dtype_or_shape_names_both_ends():
    graph, features, hidden, logits = _head()
    target = tf.Graph()
    with target.as_default():
        ints = tf.constant([[1, 2]], name="ints")
        wide = tf.constant([[1.0, 2.0, 3.0]], name="wide")
    with pytest.raises(CopyError) as info:
        copy_to_graph(logits, target, namespace="Head", replacements={features: ints})
    assert "'ints:0' (int32)" in str(info.value) and "'features:0' (float32)" in str(info.value)
    with pytest.raises(CopyError, match=r"'wide:0' \(shape \(1, 3\)\).*'features:0' \(shape \(None, 2\)\)"):
        copy_to_graph(logits, target, namespace="Head", replacements={features: wide})


def test_stop_at_puts_a_placeholder_of_the_same_dtype_and_shape(copy_path):
    graph, features, hidden, logits = _head()
    target = tf.Graph()
    logits1 = copy_to_graph(logits, target, namespace="Head", stop_at=[hidden])
    stand_in = get_copied(hidden, target, namespace="Head")
    assert stand_in.op.type == "Placeholder" and stand_in.dtype == tf.float32
    assert stand_in.shape.as_list() == [None, 2]
    assert "Head/features" in {op.name for op in target.get_operations()}  # via the control input
    with tf1.Session(graph=target) as s:
        feeds = {stand_in: [[1.0, 1.0]], get_copied(features, target, namespace="Head"): [[0.0, 0.0]]}
        np.testing.assert_allclose(s.run(logits1, feeds), [[3.5]])


def test_stop_at_a_second_output_gets_its_own_placeholder(copy_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [4], name="x")
        left, right = tf.split(x, 2, name="halves")
        out = tf.reduce_sum(right, name="out")
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N", stop_at=[right])
    stand_in = get_copied(right, target, namespace="N")
    assert stand_in.name == "N/halves_output_1:0" and stand_in.op.type == "Placeholder"
    with tf1.Session(graph=target) as s:
        assert s.run(out1, {stand_in: [2.0, 3.0]}) == 5.0


def test_stopping_at_a_tensor_the_copy_needs_otherwise_is_an_error():
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [4], name="x")
        left, right = tf.split(x, 2, name="halves")
        out = tf.add(left, right, name="out")
    with pytest.raises(CopyError, match="op 'halves' is needed by the copy"):
        copy_to_graph(out, tf.Graph(), namespace="N", stop_at=[right])


def test_names_are_accepted_for_replacements_and_stop_at():
    graph, features, hidden, logits = _head()
    target = tf.Graph()
    copy_to_graph(logits, target, namespace="Head", stop_at=["hidden:0"])
    assert get_copied(hidden, target, namespace="Head").op.type == "Placeholder"
    with pytest.raises(CopyError, match="no tensor 'hiden:0'") as info:
        copy_to_graph(logits, tf.Graph(), namespace="Head", stop_at=["hiden"])
    assert "did you mean 'hidden'" in str(info.value)


def test_a_tensor_stopped_at_among_the_copied_elements_is_its_placeholder(copy_path):
    graph, features, hidden, logits = _head()
    target = tf.Graph()
    alone = copy_to_graph(hidden, target, namespace="Alone", stop_at=[hidden])
    assert alone.op.type == "Placeholder" and alone.shape.as_list() == [None, 2]
    assert get_copied(hidden, target, namespace="Alone") is alone
    assert [op.name for op in target.get_operations()] == ["Alone/hidden"]
    stand_in, logits1 = copy_to_graph([hidden, logits], target, namespace="Both", stop_at=[hidden])
    assert stand_in is get_copied(hidden, target, namespace="Both")
    with tf1.Session(graph=target) as s:
        feeds = {stand_in: [[1.0, 1.0]], get_copied(features, target, namespace="Both"): [[0.0, 0.0]]}
        np.testing.assert_allclose(s.run(logits1, feeds), [[3.5]])
    count = len(target.get_operations())
    assert copy_to_graph(hidden, target, namespace="Both", stop_at=[hidden]) is stand_in
    assert len(target.get_operations()) == count
