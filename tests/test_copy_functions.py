"""Function libraries and control flow: TF2 while/cond, tf.function calls, clashing names, v1 frames."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.ops import control_flow_util

from graphdsl import copy_to_graph, get_copied

tf1 = tf.compat.v1


def _run(tensor, feeds=None):
    with tf1.Session(graph=tensor.graph) as sess:
        with tensor.graph.as_default():
            sess.run(tf1.global_variables_initializer())
        return sess.run(tensor, feeds)


def _functional_graph():
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [], name="x")

        @tf.function
        def double(v):
            return v * 2.0

        looped = tf.while_loop(lambda i, acc: i < 5, lambda i, acc: (i + 1, acc + double(x)),
                               [tf.constant(0), tf.constant(0.0)])[1]
        out = tf.cond(x > 0, lambda: looped + 1.0, lambda: looped - 1.0, name="out")
    return graph, x, out


def test_tf2_control_flow_and_function_calls_are_copied_with_their_functions(copy_path):
    graph, x, out = _functional_graph()
    assert graph.as_graph_def().library.function  # the source does hold functions
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N")
    x1 = get_copied(x, target, namespace="N")
    used = {f.signature.name for f in target.as_graph_def().library.function}
    assert used == {f.signature.name for f in graph.as_graph_def().library.function}
    for value in (3.0, -2.0):
        assert _run(out1, {x1: value}) == _run(out, {x: value})


def test_gradients_can_be_taken_through_copied_function_calls():
    graph, x, out = _functional_graph()
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N")
    x1 = get_copied(x, target, namespace="N")
    with target.as_default():
        (grad,) = tf.gradients(out1, [x1])
    assert _run(grad, {x1: 1.5}) == 10.0  # d/dx (5 * 2x + 1)


def _graph_with_function_named(name, factor):
    """A graph calling a function called `name`, as a graph saved by another process would."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [], name="x")

        @tf.function
        def f(v):
            return v * factor

        f(x)
    graph_def = graph.as_graph_def()
    (fdef,) = graph_def.library.function
    old = fdef.signature.name
    fdef.signature.name = name
    for node in graph_def.node:
        for attr in node.attr.values():
            if attr.func.name == old:
                attr.func.name = name
    loaded = tf.Graph()
    with loaded.as_default():
        tf1.import_graph_def(graph_def, name="")
    call = [op for op in loaded.get_operations() if op.type.endswith("PartitionedCall")][0]
    return loaded, loaded.get_tensor_by_name("x:0"), call.outputs[0]


def test_different_functions_sharing_a_name_both_work_in_one_target(copy_path):
    g_a, x_a, y_a = _graph_with_function_named("__inference_f_1", 2.0)
    g_b, x_b, y_b = _graph_with_function_named("__inference_f_1", 3.0)
    target = tf.Graph()
    y_a1 = copy_to_graph(y_a, target, namespace="A")
    y_b1 = copy_to_graph(y_b, target, namespace="B")
    with tf1.Session(graph=target) as s:
        feeds = {get_copied(x_a, target, namespace="A"): 5.0,
                 get_copied(x_b, target, namespace="B"): 5.0}
        assert s.run([y_a1, y_b1], feeds) == [10.0, 15.0]
    names = sorted(f.signature.name for f in target.as_graph_def().library.function)
    assert len(names) == 2 and names[0] == "__inference_f_1"


def test_the_same_function_from_two_copies_is_added_once():
    g_a, x_a, y_a = _graph_with_function_named("__inference_f_1", 2.0)
    target = tf.Graph()
    copy_to_graph(y_a, target, namespace="A")
    copy_to_graph(y_a, target, namespace="B")
    assert len(target.as_graph_def().library.function) == 1


@pytest.fixture
def control_flow_v1():
    was_v2 = control_flow_util.ENABLE_CONTROL_FLOW_V2
    tf1.disable_control_flow_v2()
    yield
    if was_v2:
        tf1.enable_control_flow_v2()


def _v1_power(threshold):
    """out = x^4 if x > threshold else -x^4, with a v1 while loop and a v1 cond."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [], name="x")
        looped = tf1.while_loop(lambda i, acc: i < 4, lambda i, acc: (i + 1, acc * x),
                                [tf.constant(0), tf.constant(1.0)])[1]
        out = tf1.cond(x > threshold, lambda: looped, lambda: -looped)
    return graph, x, out


def test_control_flow_v1_frames_are_copied(control_flow_v1, copy_path):
    graph, x, out = _v1_power(2.0)
    assert {"Enter", "Exit", "NextIteration", "Merge", "Switch"} <= {
        op.type for op in graph.get_operations()}
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N")
    x1 = get_copied(x, target, namespace="N")
    frames = {op.get_attr("frame_name") for op in target.get_operations() if op.type == "Enter"}
    assert frames and all(f.startswith(b"N/") for f in frames)
    for value in (3.0, 1.5):
        np.testing.assert_allclose(_run(out1, {x1: value}), _run(out, {x: value}))
    out2 = copy_to_graph(out, target, namespace="M")  # a second loop in the same graph and session
    x2 = get_copied(x, target, namespace="M")
    with tf1.Session(graph=target) as s:
        np.testing.assert_allclose(s.run([out1, out2], {x1: 3.0, x2: 1.5}), [81.0, -5.0625])


def test_gradients_through_a_copied_v1_loop_and_cond(control_flow_v1, copy_path):
    graph, x, out = _v1_power(0.0)
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N")
    x1 = get_copied(x, target, namespace="N")
    assert len(target.get_collection(tf1.GraphKeys.WHILE_CONTEXT)) == 1
    with target.as_default():
        (grad,) = tf.gradients(out1, [x1])
    with tf1.Session(graph=target) as s:
        assert s.run(grad, {x1: 2.0}) == 32.0  # d/dx x^4
        assert s.run(grad, {x1: -1.0}) == 4.0  # d/dx -x^4
