"""Small graphs for the interpreter's tests, built by `python(...)` sources."""

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


def encoder(trained=False):
    """out = x @ W (2 -> 2), W = [[1, 2], [3, 4]]; with a session whose W is doubled if trained."""
    graph = tf1.get_default_graph()
    x = tf1.placeholder(tf.float32, [None, 2], name="x")
    W = tf1.get_variable("W", initializer=tf.constant([[1.0, 2.0], [3.0, 4.0]]), use_resource=True)
    tf.matmul(x, W, name="out")
    tf.identity(x, name="unused")
    if not trained:
        return graph
    session = tf1.Session(graph=graph)
    session.run(tf1.global_variables_initializer())
    session.run(W.assign(W * 2.0))
    return graph, session


def head():
    """logits = features @ [[1], [1]] + bias (bias = 0.5); also an int input and a wider one."""
    graph = tf1.get_default_graph()
    features = tf1.placeholder(tf.float32, [None, 2], name="features")
    tf1.placeholder(tf.int32, [None, 2], name="ids")
    wide = tf1.placeholder(tf.float32, [None, 3], name="wide")
    bias = tf1.get_variable("bias", initializer=tf.constant([0.5]), use_resource=True)
    tf.add(tf.matmul(features, np.ones((2, 1), np.float32)), bias, name="logits")
    tf.reduce_sum(wide, axis=1, name="wide_sum")
    return graph


def failing():
    raise ValueError("the builder could not find its training data")


def parser():
    """number = the float a string holds (fails on a string that holds none)."""
    graph = tf1.get_default_graph()
    text = tf1.placeholder(tf.string, [None], name="text")
    tf.strings.to_number(text, tf.float32, name="number")
    return graph
