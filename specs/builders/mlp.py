"""A three-layer perceptron in TF1 style, for the transfer example.

``build(seed=0)`` makes, in a fresh ``tf.Graph``, ``x`` (``[None, 4]``) -> ``layer1`` (8 units, tanh)
-> ``layer2`` (8 units, tanh) -> ``layer3`` (2 units) -> ``logits``, with a softmax cross-entropy
``loss`` against the placeholder ``labels`` (``[None]``, int32) and a ``train`` op
(GradientDescent(0.5)). Each layer's output is the op ``layerN/out``, its variables ``layerN/w`` and
``layerN/b``. Every initializer is seeded, so a seed gives the same initial values in any session.
"""

import tensorflow as tf

tf1 = tf.compat.v1

SIZES = (4, 8, 8, 2)


def _dense(name: str, x: tf.Tensor, units: int, seed: int, activation=None) -> tf.Tensor:
    with tf1.variable_scope(name):
        w = tf1.get_variable("w", [int(x.shape[-1]), units],
                             initializer=tf1.glorot_uniform_initializer(seed=seed))
        b = tf1.get_variable("b", [units],
                             initializer=tf1.random_uniform_initializer(-0.1, 0.1, seed=seed + 1))
        y = tf.matmul(x, w) + b
        return tf.identity(activation(y) if activation else y, name="out")


def build(seed: int = 0) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        x = tf1.placeholder(tf.float32, [None, SIZES[0]], name="x")
        labels = tf1.placeholder(tf.int32, [None], name="labels")
        h1 = _dense("layer1", x, SIZES[1], seed * 10 + 1, tf.tanh)
        h2 = _dense("layer2", h1, SIZES[2], seed * 10 + 3, tf.tanh)
        logits = tf.identity(_dense("layer3", h2, SIZES[3], seed * 10 + 5), name="logits")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
        tf1.train.GradientDescentOptimizer(0.5).minimize(loss, name="train")
    return graph
