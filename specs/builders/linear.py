"""The seed's walkthrough model: a plane fitted to 100 phony points by gradient descent.

``build(seed=0)`` makes, in a fresh ``tf.Graph``, the linear model of TensorFlow's old Get Started
page that the blog post copies: data ``y = [0.1, 0.2] . x + 0.3`` on 100 random points, ``W``
drawn uniformly in [-1, 1), ``b`` zeros, and ``GradientDescent(0.5)`` on the mean squared error.
Names: variables ``W`` and ``b`` (read them at ``W/Read/ReadVariableOp:0``), ops ``loss`` and
``train``. The same ``seed`` gives the same data and the same initial ``W``.
"""

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


def build(seed: int = 0) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        x_data = np.random.RandomState(seed).rand(2, 100).astype(np.float32)
        y_data = (np.dot([0.100, 0.200], x_data) + 0.300).astype(np.float32)
        b = tf1.Variable(tf.zeros([1]), name="b")
        W = tf1.Variable(tf1.random_uniform([1, 2], -1.0, 1.0, seed=seed), name="W")
        y = tf.matmul(W, x_data) + b
        loss = tf.reduce_mean(tf.square(y - y_data), name="loss")
        tf1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
    return graph
