"""The crossover example's combiner: ``out = left OP right`` on two float placeholders.

``build(op="add")`` makes, in a fresh ``tf.Graph``, placeholders ``left`` and ``right`` (``[None]``,
float32) and ``out``, their sum (``op="add"``) or product (``op="mul"``). It has no variables: a
spec binds both placeholders to subtrees copied from the parents.
"""

import tensorflow as tf

tf1 = tf.compat.v1

OPS = {"add": tf.add, "mul": tf.multiply}


def build(op: str = "add") -> tf.Graph:
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}, not {op!r}")
    graph = tf.Graph()
    with graph.as_default():
        left = tf1.placeholder(tf.float32, [None], name="left")
        right = tf1.placeholder(tf.float32, [None], name="right")
        OPS[op](left, right, name="out")
    return graph
