"""Variables: init and value modes, resource and ref variables, collections, independence."""

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph, copy_variable_to_graph, get_copied
from graphdsl.errors import CopyError

tf1 = tf.compat.v1

KINDS = {"resource": True, "ref": False}


def _model(use_resource):
    """y = x @ W + b, W drawn with a fixed seed; `step` moves W and b."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        W = tf1.get_variable("W", [2, 1], use_resource=use_resource,
                             initializer=tf1.random_uniform_initializer(-1.0, 1.0, seed=3))
        b = tf1.get_variable("b", [1], use_resource=use_resource,
                             initializer=tf1.zeros_initializer())
        steps = tf1.get_variable("steps", [], tf.int32, use_resource=use_resource, trainable=False,
                                 initializer=tf1.zeros_initializer())
        y = tf.add(tf.matmul(x, W), b, name="y")
        step = tf.group(W.assign_add(tf.ones([2, 1])), b.assign_add([5.0]), steps.assign_add(1),
                        name="step")
    return graph, x, W, b, steps, y, step


def _trained(use_resource):
    parts = _model(use_resource)
    graph, step = parts[0], parts[-1]
    sess = tf1.Session(graph=graph)
    with graph.as_default():
        sess.run(tf1.global_variables_initializer())
    sess.run(step)
    return parts, sess


@pytest.mark.parametrize("kind", KINDS)
def test_init_mode_draws_values_afresh_as_the_source_would(kind):
    graph, x, W, b, steps, y, step = _model(KINDS[kind])
    sess = tf1.Session(graph=graph)
    with graph.as_default():
        sess.run(tf1.global_variables_initializer())
    initial_W = sess.run(W)  # the source's first draw
    sess.run(step)
    target = tf.Graph()
    copy_to_graph(y, target, namespace="N", variables="init")
    W1 = get_copied(W, target, namespace="N")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(W1), initial_W)  # the seeded draw, not the trained value
        assert not np.allclose(s.run(W1), sess.run(W))
        assert s.run(get_copied(b, target, namespace="N")) == [0.0]


@pytest.mark.parametrize("kind", KINDS)
def test_value_mode_starts_from_the_sources_current_values(kind, copy_path):
    (graph, x, W, b, steps, y, step), sess = _trained(KINDS[kind])
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="N", variables="value", session=sess)
    x1 = get_copied(x, target, namespace="N")
    feed = np.array([[1.0, 2.0]], np.float32)
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(get_copied(W, target, namespace="N")), sess.run(W))
        np.testing.assert_allclose(s.run(y1, {x1: feed}), sess.run(y, {x: feed}))


def test_modes_can_differ_per_variable_by_pattern():
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    target = tf.Graph()
    copy_to_graph(y, target, namespace="N", variables={"*": "value", "b": "init"}, session=sess)
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(get_copied(W, target, namespace="N")), sess.run(W))
        assert s.run(get_copied(b, target, namespace="N")) == [0.0]  # drawn afresh: zeros


@pytest.mark.parametrize("kind", KINDS)
def test_copied_variables_are_real_variables_of_the_target(kind, tmp_path):
    (graph, x, W, b, steps, y, step), sess = _trained(KINDS[kind])
    target = tf.Graph()
    copy_to_graph(step, target, namespace="N", variables="value", session=sess)
    def names(key):
        return sorted(v.op.name for v in target.get_collection(key))

    assert names(tf1.GraphKeys.GLOBAL_VARIABLES) == ["N/W", "N/b", "N/steps"]
    assert names(tf1.GraphKeys.TRAINABLE_VARIABLES) == ["N/W", "N/b"]
    with target.as_default():
        saver = tf1.train.Saver()
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            s.run(get_copied(step, target, namespace="N"))
            path = saver.save(s, str(tmp_path / "ckpt"))
        with tf1.Session() as s:
            saver.restore(s, path)
            assert s.run(get_copied(steps, target, namespace="N")) == 2
            np.testing.assert_allclose(s.run(get_copied(b, target, namespace="N")), [10.0])


def test_copy_variable_to_graph_returns_the_variable_and_fills_the_dict():
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    target = tf.Graph()
    copied: dict[str, tf.Variable] = {}
    W1 = copy_variable_to_graph(W, target, "N", copied, mode="value", session=sess)
    assert copied == {"N/W:0": W1}
    assert W1.graph is target and W1.name == "N/W:0" and W1.trainable
    assert copy_variable_to_graph(W, target, "N", copied) is W1  # already copied: reused
    assert get_copied(W, target, copied, "N") is W1
    with pytest.raises(CopyError, match="is not a Variable"):
        copy_variable_to_graph(y, target, "N")


def test_variables_read_by_an_op_are_copied_even_when_not_copied_first():
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    target = tf.Graph()
    copy_to_graph(y, target, namespace="N")
    assert {v.op.name for v in target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)} == {"N/W", "N/b"}


def test_the_seeds_dict_of_variables_is_honoured():
    """A variable the caller already made in the target, listed in copied_variables, is used."""
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    target = tf.Graph()
    with target.as_default():
        mine = tf1.get_variable("N/W", [2, 1], use_resource=True,
                                initializer=tf1.constant_initializer(7.0))
    y1 = copy_to_graph(y, target, {"N/W:0": mine}, "N")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        x1 = get_copied(x, target, namespace="N")
        assert s.run(y1, {x1: [[1.0, 1.0]]}) == [[14.0]]


@pytest.mark.parametrize("args, kwargs, message", [
    ((), {"namespace": None}, "the namespace must be a string, not None"),
    (({},), {"namespace": 3}, "the namespace must be a string, not 3"),
    ((["N/W:0"], "N"), {}, r"copied_variables must be a dict of the variables copied so far, not \['N/W:0'\]"),
])
def test_get_copied_refuses_arguments_of_the_wrong_type_with_a_copy_error(args, kwargs, message):
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    target = tf.Graph()
    copy_to_graph(y, target, namespace="N")
    with pytest.raises(CopyError, match=message):
        get_copied(W, target, *args, **kwargs)
    with pytest.raises(CopyError, match=message):
        copy_to_graph(y, target, *args, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_copies_in_two_namespaces_do_not_share_state(kind):
    graph, x, W, b, steps, y, step = _model(KINDS[kind])
    target = tf.Graph()
    step_a = copy_to_graph(step, target, namespace="A")
    copy_to_graph(step, target, namespace="B")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        s.run(step_a)
        s.run(step_a)
        assert s.run(get_copied(steps, target, namespace="A")) == 2
        assert s.run(get_copied(steps, target, namespace="B")) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_copy_into_the_source_graph_does_not_share_the_originals_state(kind):
    graph, x, W, b, steps, y, step = _model(KINDS[kind])
    step_copy = copy_to_graph(step, graph, namespace="copy")
    with tf1.Session(graph=graph) as s, graph.as_default():
        s.run(tf1.global_variables_initializer())
        s.run(step_copy)
        assert s.run(steps) == 0
        assert s.run(get_copied(steps, graph, namespace="copy")) == 1


def test_value_mode_without_a_session_says_what_to_pass():
    graph, x, W, b, steps, y, step = _model(True)
    with pytest.raises(CopyError, match="no session was given") as info:
        copy_to_graph(y, tf.Graph(), namespace="N", variables="value")
    assert "session=" in str(info.value)


def test_value_mode_with_uninitialized_variables_is_a_clear_error():
    graph, x, W, b, steps, y, step = _model(True)
    with tf1.Session(graph=graph) as sess:
        with pytest.raises(CopyError, match="has no value in the session"):
            copy_to_graph(y, tf.Graph(), namespace="N", variables="value", session=sess)


def test_a_later_copy_reaching_a_value_copied_variables_initializer_reuses_it():
    (graph, x, W, b, steps, y, step), sess = _trained(True)
    with graph.as_default():
        init = tf1.global_variables_initializer()
    target = tf.Graph()
    copy_to_graph(y, target, namespace="N", variables="value", session=sess)
    init1 = copy_to_graph(init, target, namespace="N", variables="value", session=sess)
    with tf1.Session(graph=target) as s:
        s.run(init1)  # the copied init op runs the value initializers
        np.testing.assert_allclose(s.run(get_copied(W, target, namespace="N")), sess.run(W))


def test_an_adam_training_op_brings_its_slot_variables_and_trains_the_copy():
    graph, x, W, b, steps, y, step = _model(True)
    with graph.as_default():
        loss = tf.reduce_mean(tf.square(y - 1.0))
        train = tf1.train.AdamOptimizer(0.1).minimize(loss)
    target = tf.Graph()
    train1 = copy_to_graph(train, target, namespace="N")
    loss1 = copy_to_graph(loss, target, namespace="N")
    names = {v.op.name for v in target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)}
    assert {"N/W/Adam", "N/W/Adam_1", "N/beta1_power", "N/beta2_power"} <= names
    x1 = get_copied(x, target, namespace="N")
    feed = {x1: np.ones((4, 2), np.float32)}
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        before = s.run(loss1, feed)
        for _ in range(50):
            s.run(train1, feed)
        assert s.run(loss1, feed) < before / 100


@pytest.mark.parametrize("kind", KINDS)
def test_a_variable_initialized_from_another_copies_in_init_mode(kind):
    """TensorFlow assigns such an initial value through a guard (a cond on whether the other is
    initialized); the VariableDef, and the copy's ``initial_value``, name the value as given."""
    graph = tf.Graph()
    was_v2 = tf1.control_flow_v2_enabled()
    tf1.disable_control_flow_v2()  # the guard reads a ref variable, which a v2 cond cannot
    try:
        with graph.as_default():
            first = tf1.Variable(np.arange(3, dtype=np.float32), name="first", use_resource=False)
            second = tf1.Variable(first.initialized_value() * 2.0, name="second", use_resource=KINDS[kind])
            y = tf.identity(second.read_value() + 1.0, name="y")
    finally:
        if was_v2:
            tf1.enable_control_flow_v2()
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="N")
    second1 = get_copied(second, target, namespace="N")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_array_equal(s.run(y1), [1.0, 3.0, 5.0])
        assert second1.initial_value.name == "N/mul:0"
        np.testing.assert_array_equal(s.run(second1.initial_value), [0.0, 2.0, 4.0])
