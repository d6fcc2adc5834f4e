"""The ensemble example's combiner: the mean of ``inputs`` float tensors of ``width`` features.

``build(inputs=2, width=3)`` makes, in a fresh ``tf.Graph``, placeholders ``in_0`` ... ``in_{N-1}``
(``[None, width]``, float32) and ``mean``, their element-wise mean. It has no variables: a spec
binds each placeholder to a tensor copied from elsewhere.
"""

import tensorflow as tf

tf1 = tf.compat.v1


def build(inputs: int = 2, width: int = 3) -> tf.Graph:
    if inputs < 1:
        raise ValueError(f"inputs must be 1 or more, not {inputs}")
    graph = tf.Graph()
    with graph.as_default():
        placeholders = [tf1.placeholder(tf.float32, [None, width], name=f"in_{i}") for i in range(inputs)]
        tf.divide(tf.add_n(placeholders), float(inputs), name="mean")
    return graph
