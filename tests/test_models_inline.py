"""Taking from inside a TF2 SavedModel: ``inline = true`` and ``signature = "*"``.

With ``inline = true`` a savedmodel source's signature calls are inlined, so every op inside them
(every Keras layer) can be taken, bound and stopped at, and computes bit for bit what the original
computes. ``signature = "*"`` offers every signature of one loaded model, as ``@SIGNATURE/KEY``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import graphdsl
from graphdsl import BuildError

tf1 = tf.compat.v1
README = Path(__file__).resolve().parent.parent / "README.md"
X = np.random.RandomState(5).rand(3, 4).astype(np.float32)


class Classifier(tf.Module):
    """probs = softmax(relu(x @ w1 + b1) @ w2 + b2); signatures serving_default (probs), logits."""

    def __init__(self) -> None:
        super().__init__()
        r = np.random.RandomState(0)
        self.w1 = tf.Variable(r.randn(4, 3).astype("float32"), name="w1")
        self.b1 = tf.Variable(r.randn(3).astype("float32"), name="b1")
        self.w2 = tf.Variable(r.randn(3, 2).astype("float32"), name="w2")
        self.b2 = tf.Variable(r.randn(2).astype("float32"), name="b2")

    def _logits(self, x):
        with tf.name_scope("hidden"):
            h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1, name="relu")
        with tf.name_scope("head"):
            return tf.add(tf.matmul(h, self.w2), self.b2, name="logits")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return {"probs": tf.nn.softmax(self._logits(x), name="probs")}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def logits(self, x):
        return {"logits": self._logits(x)}


def save_classifier(path: Path) -> Path:
    module = Classifier()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__,
                                                       "logits": module.logits})
    return path


def save_keras_cnn(path: Path) -> Path:
    """A small Keras CNN whose signature returns its penultimate features and its probabilities."""
    import keras

    keras.utils.set_random_seed(1)
    image = keras.Input((8, 8, 3), name="image")
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    features = keras.layers.Dense(5, activation="relu", name="features")(h)
    probs = keras.layers.Dense(2, activation="softmax", name="probs")(features)
    keras.Model(image, {"features": features, "probs": probs}).export(str(path), verbose=False)
    return path


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The classifier saved once for the module; a test copies it where its spec looks (copy_to)."""
    return save_classifier(tmp_path_factory.mktemp("classifier") / "clf")


def copy_to(model: Path, path: Path) -> Path:
    """A copy of the SavedModel ``model`` at ``path`` (its parents made)."""
    shutil.copytree(model, path)
    return path


def run_original(path: Path, feeds: dict, fetches: list[str], signature="serving_default") -> list:
    """The source SavedModel's signature, run in graph mode as TensorFlow's loader loads it."""
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        sig = tf1.saved_model.loader.load(session, ["serve"], str(path)).signature_def[signature]
        return session.run([sig.outputs[k].name for k in fetches],
                           {sig.inputs[k].name: v for k, v in feeds.items()})


def write_spec(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "spec.gcomp"
    spec.write_text("graphdsl 1\n" + text)
    return spec


def test_a_keras_layer_inside_a_savedmodel_can_be_taken_and_the_model_cut(tmp_path: Path) -> None:
    save_keras_cnn(tmp_path / "cnn")
    images = np.random.RandomState(2).rand(2, 8, 8, 3).astype(np.float32)
    features, probs = run_original(tmp_path / "cnn", {"image": images}, ["features", "probs"])
    spec = write_spec(tmp_path, '''
source cnn = savedmodel("cnn", inline = true)
copy Body from cnn { take = "serving_default/*/features*/Relu" variables = value }
''')
    with graphdsl.compose(spec) as composition:  # find the names the layers got inside the body
        graph = composition.graph
        (relu,) = [op for op in graph.get_operations() if op.type == "Relu" and "features" in op.name]
        inner = relu.name[len("Body/"):] + ":0"
        assert {op.type for op in graph.get_operations()} >= {"Conv2D", "MatMul", "Mean"}
        got = composition.session.run(relu.outputs[0], {composition.copy_of("Body", "@image"): images})
    np.testing.assert_array_equal(got, features)  # the layer inside computes what the original does

    spec.write_text(spec.read_text() + f'''
copy Head from cnn {{
    take = "@probs"
    variables = value
    bind "{inner}" = Body["{inner}"]
}}
copy Tail from cnn {{ take = "@probs" stop_at = ["{inner}"] variables = value }}
export savedmodel "model" {{
    signature serving_default {{ inputs = {{ image: Body["@image"] }} outputs = {{ probs: Head["@probs"] }} }}
    signature tail {{ inputs = {{ features: Tail["{inner}"] }} outputs = {{ probs: Tail["@probs"] }} }}
}}
''')
    graphdsl.build(spec, tmp_path / "out")
    (whole,) = run_original(tmp_path / "out" / "model", {"image": images}, ["probs"])
    np.testing.assert_array_equal(whole, probs)
    (cut,) = run_original(tmp_path / "out" / "model", {"features": features}, ["probs"], "tail")
    np.testing.assert_array_equal(cut, probs)
    with graphdsl.compose(spec) as composition:
        head_ops = [op for op in composition.graph.get_operations() if op.name.startswith("Head/")]
        assert head_ops and not any(op.type == "Conv2D" for op in head_ops)  # the bind cut it


def test_without_inline_the_layers_are_not_ops_of_the_source(tmp_path: Path, classifier: Path) -> None:
    copy_to(classifier, tmp_path / "clf")
    spec = write_spec(tmp_path, 'source clf = savedmodel("clf")\n'
                                'copy C from clf { take = "serving_default/hidden/relu" }\n')
    with pytest.raises(BuildError, match="has no op 'serving_default/hidden/relu'"):
        graphdsl.compose(spec)


def test_every_signature_of_one_source_shares_its_variables(tmp_path: Path, classifier: Path) -> None:
    model = copy_to(classifier, tmp_path / "clf")
    (probs,) = run_original(model, {"x": X}, ["probs"])
    (logits,) = run_original(model, {"x": X}, ["logits"], "logits")
    spec = write_spec(tmp_path, '''
source clf = savedmodel("clf", signature = "*")
copy C from clf { take = ["@serving_default/probs", "@logits"] variables = value }
''')
    with graphdsl.compose(spec) as composition:
        handles = [op for op in composition.graph.get_operations() if op.type == "VarHandleOp"]
        assert len(handles) == 4  # w1, b1, w2, b2 once, though both signatures read them
        session = composition.session
        got = session.run([composition.copy_of("C", "@serving_default/probs"), composition.copy_of("C", "@logits")],
                          {composition.copy_of("C", "@serving_default/x"): X,
                           composition.copy_of("C", "@logits/x"): X})
    np.testing.assert_array_equal(got[0], probs)
    np.testing.assert_array_equal(got[1], logits)


def test_a_key_in_several_signatures_must_name_its_signature(tmp_path: Path, classifier: Path) -> None:
    copy_to(classifier, tmp_path / "clf")
    spec = write_spec(tmp_path, 'source clf = savedmodel("clf", signature = "*")\n'
                                'copy C from clf { take = "@x" }\n')
    with pytest.raises(BuildError) as error:
        graphdsl.compose(spec)
    assert "several signatures of source 'clf' have an input or output 'x'" in error.value.message
    assert error.value.hint is not None and "@logits/x, @serving_default/x" in error.value.hint


def test_the_readme_example_of_inlining_builds_and_computes_the_original(tmp_path: Path, classifier: Path) -> None:
    blocks = re.findall(r"^```gcomp\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    (text,) = [b for b in blocks if "inline = true" in b]
    model = copy_to(classifier, tmp_path / "models" / "classifier")
    (probs,) = run_original(model, {"x": X}, ["probs"])
    (logits,) = run_original(model, {"x": X}, ["logits"], "logits")
    spec = tmp_path / "readme.gcomp"
    spec.write_text(text)
    graphdsl.build(spec, tmp_path / "out")
    out = tmp_path / "out" / "split"
    (hidden,) = run_original(out, {"x": X}, ["h"], "features")
    (from_hidden,) = run_original(out, {"h": hidden}, ["probs"], "head")
    np.testing.assert_array_equal(from_hidden, probs)
    (got,) = run_original(out, {"x": X}, ["logits"], "logits")
    np.testing.assert_array_equal(got, logits)
