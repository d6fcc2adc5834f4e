"""Tiny TensorFlow models for tests, built in graph mode (or saved from eager, for TF2 SavedModels).

Every model computes the same thing, ``y = x @ [[2], [3]] + [1]`` on ``x`` of shape ``[None, 2]``,
so ``y`` is ``[[6.0]]`` for ``x = [[1.0, 1.0]]`` whatever format it went through. Import these from
any test: ``from models import linear_graph``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

X = np.array([[1.0, 1.0]], dtype=np.float32)
Y = np.array([[6.0]], dtype=np.float32)
W = [[2.0], [3.0]]
B = [1.0]


@dataclass
class Linear:
    """A linear model in its own graph, with a session whose variables hold ``W`` and ``B``."""

    graph: tf.Graph
    session: tf.compat.v1.Session
    x: tf.Tensor
    y: tf.Tensor
    w: tf.Variable
    b: tf.Variable

    def run(self, x: np.ndarray = X) -> np.ndarray:
        return self.session.run(self.y, {self.x: x})


def linear_graph(resource: bool = True, initialize: bool = True) -> Linear:
    """``y = x @ w + b`` with resource variables (or ref variables with ``resource=False``)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(W), use_resource=resource)
        b = tf.compat.v1.get_variable("b", initializer=tf.constant(B), use_resource=resource)
        y = tf.identity(tf.matmul(x, w) + b, name="y")
    session = tf.compat.v1.Session(graph=graph)
    if initialize:
        with graph.as_default():
            session.run(tf.compat.v1.global_variables_initializer())
    return Linear(graph, session, x, y, w, b)


def constant_graph() -> tuple[tf.Graph, tf.Tensor, tf.Tensor]:
    """``y = x * 2 + 1`` with no variables: ``(graph, x, y)``."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        y = tf.identity(x * 2.0 + 1.0, name="y")
    return graph, x, y


def save_tf1_savedmodel(path: Path, signature: str = "serving_default") -> Path:
    """Writes the linear model as a TF1 SavedModel (SavedModelBuilder) with tag 'serve'."""
    model = linear_graph()
    builder = tf.compat.v1.saved_model.Builder(str(path))
    with model.graph.as_default():
        sig = tf.compat.v1.saved_model.predict_signature_def({"x": model.x}, {"y": model.y})
        builder.add_meta_graph_and_variables(model.session, ["serve"], {signature: sig})
    builder.save()
    model.session.close()
    return path


class _LinearModule(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(W, name="w")
        self.b = tf.Variable(B, name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"y": tf.matmul(x, self.w) + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def double(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"z": 2.0 * x}


def save_tf2_savedmodel(path: Path) -> Path:
    """Writes a ``tf.Module`` with ``tf.saved_model.save``: signatures 'serving_default' and 'double'."""
    module = _LinearModule()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__,
                                                      "double": module.double})
    return path


def save_metagraph(directory: Path, name: str = "model") -> tuple[Path, Path]:
    """Writes the linear model as ``name.meta`` and checkpoint ``name.ckpt``: (meta, prefix)."""
    model = linear_graph()
    with model.graph.as_default():
        saver = tf.compat.v1.train.Saver()
        prefix = directory / f"{name}.ckpt"
        saver.save(model.session, str(prefix), write_meta_graph=False, write_state=False)
        meta = directory / f"{name}.meta"
        saver.export_meta_graph(str(meta))
    model.session.close()
    return meta, prefix


def save_graphdef(path: Path) -> Path:
    """Writes :func:`constant_graph` as a GraphDef, text if ``path`` ends in '.pbtxt'."""
    graph, _, _ = constant_graph()
    tf.io.write_graph(graph.as_graph_def(), str(path.parent), path.name, as_text=path.suffix == ".pbtxt")
    return path
