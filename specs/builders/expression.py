"""Parent expression graphs for the symbolic regression example (``specs/regression.yaml``).

``build(form)`` makes, in a fresh ``tf.Graph``, a placeholder ``x`` (``[None]``, float32) and an
expression of it named ``y``, one of:

- ``"line"``: ``y = 0.5 * x + 1``
- ``"cube"``: ``y = x * x * x``
- ``"wave"``: ``y = sin(x) * cos(x)``

No variables and no randomness: the same form always gives the same graph.
"""

import tensorflow as tf

tf1 = tf.compat.v1


def _line(x: tf.Tensor) -> tf.Tensor:
    return tf.add(tf.multiply(0.5, x, name="half"), 1.0, name="y")


def _cube(x: tf.Tensor) -> tf.Tensor:
    return tf.multiply(tf.multiply(x, x, name="square"), x, name="y")


def _wave(x: tf.Tensor) -> tf.Tensor:
    return tf.multiply(tf.sin(x, name="sin"), tf.cos(x, name="cos"), name="y")


FORMS = {"line": _line, "cube": _cube, "wave": _wave}


def build(form: str = "line") -> tf.Graph:
    if form not in FORMS:
        raise ValueError(f"form must be one of {sorted(FORMS)}, not {form!r}")
    graph = tf.Graph()
    with graph.as_default():
        FORMS[form](tf1.placeholder(tf.float32, [None], name="x"))
    return graph
