"""Writes the model files the example specs read; every run writes the same models.

    python specs/models/make_models.py [OUTDIR]     # OUTDIR defaults to this file's directory

- ``encoder/``: a TF2 SavedModel (``tf.saved_model.save`` of a ``tf.Module``), a dense encoder
  ``features = tanh(x @ w + b)`` from ``x`` (``[None, 4]``) to 3 features, trained for a few steps.
  Signature ``serving_default``: input ``x``, output ``features``. (assembly.gcomp)
- ``head.meta``: a TF1-style head as a MetaGraph without checkpoint: placeholder ``features``
  (``[None, 3]``), variables ``head/w`` (seeded Glorot) and ``head/b`` (constant 0.1), outputs
  ``logits`` and ``probs`` (softmax). (assembly.gcomp)
- ``mlp_a.meta`` + ``mlp_a.ckpt``: ``builders/mlp.py`` with seed 1, trained for 200 steps on a
  fixed toy task; the checkpoint holds the trained values. (transfer.gcomp)
- ``p1.pbtxt``, ``p2.pbtxt``: two parent expression graphs on ``x`` (``[None]``):
  P1 ``y = a + b`` with ``a = 3 sin(x)``, ``b = x * x``; P2 ``y = c * d`` with ``c = x + 1``,
  ``d = cos(x) - 0.5``. (crossover.gcomp)

Fixed seeds throughout; run in a fresh process, since TensorFlow numbers traced functions per
process and the specs name the encoder's call op.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
HERE = Path(__file__).resolve().parent
BUILDERS = HERE.parent / "builders"


def toy_task(seed: int, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The fixed training data of model A: 4 inputs, label 1 where x0 + x1 * x2 > 0."""
    x = np.random.RandomState(seed).normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int32)


class Encoder(tf.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        rng = np.random.RandomState(seed)
        self.w = tf.Variable(rng.normal(scale=0.5, size=(4, 3)).astype(np.float32), name="w")
        self.b = tf.Variable(np.zeros(3, np.float32), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"features": tf.tanh(tf.matmul(x, self.w) + self.b)}


def write_encoder(out: Path) -> None:
    encoder = Encoder(seed=0)
    rng = np.random.RandomState(1)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    target = np.tanh(x @ rng.normal(size=(4, 3)).astype(np.float32))
    for _ in range(50):  # "trained": the saved values are not the initial ones
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(encoder(x)["features"] - target))
        for var, grad in zip((encoder.w, encoder.b), tape.gradient(loss, (encoder.w, encoder.b))):
            var.assign_sub(0.5 * grad)
    tf.saved_model.save(encoder, str(out / "encoder"), signatures={"serving_default": encoder.__call__})


def write_head(out: Path) -> None:
    graph = tf.Graph()
    with graph.as_default():
        features = tf1.placeholder(tf.float32, [None, 3], name="features")
        with tf1.variable_scope("head"):
            w = tf1.get_variable("w", [3, 2], initializer=tf1.glorot_uniform_initializer(seed=7))
            b = tf1.get_variable("b", [2], initializer=tf1.constant_initializer(0.1))
        logits = tf.add(tf.matmul(features, w), b, name="logits")
        tf.nn.softmax(logits, name="probs")
        tf1.train.export_meta_graph(str(out / "head.meta"), graph=graph, strip_default_attrs=True)


def write_mlp_a(out: Path) -> None:
    graph = _builder("mlp").build(seed=1)
    x, labels = toy_task(seed=1)
    with graph.as_default(), tf1.Session(graph=graph) as session:
        session.run(tf1.global_variables_initializer())
        feed = {"x:0": x, "labels:0": labels}
        for _ in range(200):
            session.run("train", feed)
        saver = tf1.train.Saver()
        saver.save(session, str(out / "mlp_a.ckpt"), write_meta_graph=False, write_state=False)
        saver.export_meta_graph(str(out / "mlp_a.meta"), strip_default_attrs=True)


def write_parents(out: Path) -> None:
    p1 = tf.Graph()
    with p1.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
        tf.add(tf.multiply(3.0, tf.sin(x), name="a"), tf.multiply(x, x, name="b"), name="y")
    p2 = tf.Graph()
    with p2.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
        tf.multiply(tf.add(x, 1.0, name="c"), tf.subtract(tf.cos(x), 0.5, name="d"), name="y")
    for name, graph in (("p1.pbtxt", p1), ("p2.pbtxt", p2)):
        tf.io.write_graph(graph.as_graph_def(), str(out), name, as_text=True)


def _builder(name: str):
    spec = importlib.util.spec_from_file_location(f"builder_{name}", BUILDERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "encoder", ignore_errors=True)  # tf.saved_model.save adds, never replaces
    write_encoder(out)
    write_head(out)
    write_mlp_a(out)
    write_parents(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
