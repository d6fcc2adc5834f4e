"""A graph whose functions TensorFlow names with process-wide counters.

``build(steps=3)`` makes ``y = (x @ w) * 1.5**steps`` through a ``tf.function`` call and a TF2
``while_loop``, ``z``, the same loop on ``x`` alone, and a ``train`` op whose gradients add
backward and ``_rewritten`` functions. Every function name carries a counter (``__inference_scale_122``,
``while_body_18``), so building it twice in one process gives other names the second time.
"""

import tensorflow as tf

tf1 = tf.compat.v1


def build(steps: int = 3) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = tf1.get_variable("w", initializer=[[0.5], [0.25]], use_resource=True)

        @tf.function
        def scale(v):
            return tf.matmul(v, w)

        def loop(v):
            return tf.while_loop(lambda i, v: i < steps, lambda i, v: (i + 1, v * 1.5), [0, v])[1]

        y = tf.identity(loop(scale(x)), name="y")
        tf.identity(loop(x), name="z")
        loss = tf.reduce_sum(y * y, name="loss")
        tf1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    return graph
