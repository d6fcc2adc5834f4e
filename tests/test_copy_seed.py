"""The blog post's two examples, run as written through graphdsl's API."""

import numpy as np
import tensorflow as tf

from graphdsl import copy_to_graph, copy_variable_to_graph, get_copied

tf1 = tf.compat.v1


def _linear_model():
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(7)
        rng = np.random.RandomState(0)
        x_data = np.float32(rng.rand(2, 100))
        y_data = np.dot([0.100, 0.200], x_data) + 0.300
        b = tf1.Variable(tf.zeros([1]))
        W = tf1.Variable(tf1.random_uniform([1, 2], -1.0, 1.0))
        y = tf.matmul(W, x_data) + b
        loss = tf.reduce_mean(tf.square(y - y_data))
        optimizer = tf1.train.GradientDescentOptimizer(0.5)
        train = optimizer.minimize(loss)
    return graph, b, W, loss, train


def test_walkthrough_trains_the_copy_to_the_plane(copy_path):
    graph, b, W, loss, train = _linear_model()
    to_graph = tf.Graph()
    namespace = "CopiedOps"
    copied_variables = {}
    b1 = copy_variable_to_graph(b, to_graph, namespace, copied_variables)
    W1 = copy_variable_to_graph(W, to_graph, namespace, copied_variables)
    train_copy = copy_to_graph(train, to_graph, copied_variables, namespace)
    copy_to_graph(loss, to_graph, copied_variables, namespace)
    loss_copy = get_copied(loss, to_graph, copied_variables, namespace)

    assert sorted(copied_variables) == ["CopiedOps/Variable:0", "CopiedOps/Variable_1:0"]
    assert train_copy.graph is to_graph and train_copy.name == "CopiedOps/" + train.name
    with to_graph.as_default():
        init1 = tf1.global_variables_initializer()
        sess1 = tf1.Session()
        sess1.run(init1)
        first_loss = sess1.run(loss_copy)
        for _ in range(201):
            sess1.run(train_copy)
        np.testing.assert_allclose(sess1.run(W1), [[0.1, 0.2]], atol=1e-3)
        np.testing.assert_allclose(sess1.run(b1), [0.3], atol=1e-3)
        assert sess1.run(loss_copy) < first_loss * 1e-4


def test_walkthrough_leaves_the_source_untouched():
    graph, b, W, loss, train = _linear_model()
    before = graph.as_graph_def().SerializeToString(deterministic=True)
    to_graph = tf.Graph()
    copy_to_graph(train, to_graph, {}, "CopiedOps")
    assert graph.as_graph_def().SerializeToString(deterministic=True) == before


def test_feeding_example_as_written(copy_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder("float")
        a = tf.constant(3, "float")
        y = tf.add(x, a)
    namespace = "CopiedOps"
    to_graph = tf.Graph()
    y1 = copy_to_graph(y, to_graph, namespace)
    x1 = get_copied(x, to_graph, namespace)
    assert x1.name == "CopiedOps/Placeholder:0"
    with to_graph.as_default():
        sess = tf1.Session()
        assert sess.run(y1, feed_dict={x1: 5}) == 8.0
