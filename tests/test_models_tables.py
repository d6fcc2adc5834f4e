"""Lookup tables keep their initialization through a copy and every export.

Three shapes of source: a TF2 SavedModel with a ``tf.lookup.StaticHashTable``, Keras
``StringLookup`` / ``TextVectorization`` layers reading vocabulary files (assets), and a TF1
SavedModel whose main op runs ``tables_initializer`` on a table read from an asset file. Each
export must compute what the original computes, run as TensorFlow's own loaders run it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import graphdsl
from graphdsl.run import open_runnable

tf1 = tf.compat.v1

EXPORTS = '''
export savedmodel "model" {{ signature serving_default {{ inputs = {{ {inputs} }} outputs = {{ {outputs} }} }} }}
export metagraph "graph"
export graphdef "frozen.pb" {{ outputs = [{frozen}] }}
'''


# -- the models ------------------------------------------------------------------------------------


class _Static(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        init = tf.lookup.KeyValueTensorInitializer(tf.constant(["a", "b", "c"]),
                                                   tf.constant([1, 2, 3], tf.int64))
        self.table = tf.lookup.StaticHashTable(init, default_value=-1)
        self.scale = tf.Variable(10, dtype=tf.int64)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
    def __call__(self, s):
        return {"ids": self.table.lookup(s) * self.scale}


def save_static(path: Path) -> Path:
    module = _Static()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    return path


def save_keras(path: Path, vocab_dir: Path) -> Path:
    """StringLookup and TextVectorization from vocabulary files, then embeddings drawn at random."""
    import keras

    keras.utils.set_random_seed(3)
    (vocab_dir / "words.txt").write_text("cat\ndog\nbird\n")
    (vocab_dir / "text.txt").write_text("the\nquick\nfox\njumps\n")
    words = keras.Input(shape=(None,), dtype="string", name="words")
    text = keras.Input(shape=(), dtype="string", name="text")
    ids = keras.layers.StringLookup(vocabulary=str(vocab_dir / "words.txt"))(words)
    tokens = keras.layers.TextVectorization(vocabulary=str(vocab_dir / "text.txt"),
                                            output_sequence_length=5)(text)
    pooled = [keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(8, 3)(t))
              for t in (ids, tokens)]
    model = keras.Model({"words": words, "text": text},
                        {"features": keras.layers.Concatenate()(pooled), "ids": ids})
    model.export(str(path), verbose=False)
    return path


def save_tf1(path: Path, vocab_dir: Path) -> Path:
    """A TF1 SavedModel: a table read from an asset file, filled by the main op."""
    vocab = vocab_dir / "colors.txt"
    vocab.write_text("red\ngreen\nblue\n")
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        words = tf1.placeholder(tf.string, [None], name="words")
        initializer = tf1.lookup.TextFileInitializer(
            str(vocab), tf.string, tf1.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf1.lookup.TextFileIndex.LINE_NUMBER)
        table = tf1.lookup.StaticHashTable(initializer, -1)
        ids = tf.identity(table.lookup(words) + 100, name="ids")
        session.run(tf1.tables_initializer())
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session, ["serve"],
            {"serving_default": tf1.saved_model.predict_signature_def({"words": words}, {"ids": ids})},
            main_op=tf1.saved_model.main_op.main_op(),
            assets_collection=tf1.get_collection(tf1.GraphKeys.ASSET_FILEPATHS))
        builder.save()
    return path


# -- running the original and the exports, in graph mode -------------------------------------------


def run_savedmodel(path: Path, feeds: Mapping[str, object], fetches: list[str],
                   signature: str = "serving_default") -> list[np.ndarray]:
    """Runs signature keys of a SavedModel loaded with TensorFlow's graph-mode loader."""
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        meta = tf1.saved_model.loader.load(session, ["serve"], str(path))
        sig = meta.signature_def[signature]
        feed = {sig.inputs[k].name: v for k, v in feeds.items()}
        return session.run([sig.outputs[k].name for k in fetches], feed)


def run_metagraph(directory: Path, feeds: dict[str, object], fetches: list[str]) -> list[np.ndarray]:
    """Runs tensors of ``graph.meta`` as its users do: import, restore, ``tables_initializer()``."""
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        saver = tf1.train.import_meta_graph(str(directory / "graph.meta"))
        if saver is not None:
            saver.restore(session, str(directory / "graph.ckpt"))
        session.run(tf1.tables_initializer())
        return session.run(fetches, feeds)


def run_frozen(path: Path, feeds: dict[str, object], fetches: list[str]) -> list[np.ndarray]:
    """Runs tensors of a frozen GraphDef after its ``init_all_tables`` op, if it has one."""
    graph_def = tf1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        tf1.import_graph_def(graph_def, name="")
        if any(node.name == "init_all_tables" for node in graph_def.node):
            session.run("init_all_tables")
        return session.run(fetches, feeds)


def build(tmp_path: Path, source: str, copies: str, exports: str) -> Path:
    spec = tmp_path / "spec.gcomp"
    spec.write_text(f"graphdsl 1\n{source}\n{copies}\n{exports}")
    graphdsl.build(spec, tmp_path / "out")
    return tmp_path / "out"


def check_all_exports(out: Path, expected: list[np.ndarray], signature_feeds: dict, keys: list[str],
                      tensor_feeds: dict, tensors: list[str]) -> None:
    for got in (run_savedmodel(out / "model", signature_feeds, keys),
                run_metagraph(out, tensor_feeds, tensors),
                run_frozen(out / "frozen.pb", tensor_feeds, tensors)):
        for value, want in zip(got, expected):
            np.testing.assert_array_equal(value, want)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Keras and TF1 models saved once for the tests that only read them (a test that removes or
    shadows a model's files saves its own): copy_to puts a copy where a test's spec looks."""
    root = tmp_path_factory.mktemp("tables")
    return {"keras": save_keras(root / "keras", root), "tf1": save_tf1(root / "tf1", root)}


def copy_to(model: Path, path: Path) -> Path:
    shutil.copytree(model, path)
    return path


# -- the tests -------------------------------------------------------------------------------------


def test_a_tf2_static_hash_table_is_initialized_in_every_export(tmp_path: Path) -> None:
    model = save_static(tmp_path / "static")
    words = np.array([b"c", b"a", b"zz"])
    expected = run_savedmodel(model, {"s": words}, ["ids"])
    np.testing.assert_array_equal(expected[0], [30, 10, -10])
    out = build(tmp_path, 'source m = savedmodel("static")',
                'copy T from m { take = "@ids" variables = value }',
                EXPORTS.format(inputs='s: T["@s"]', outputs='ids: T["@ids"]', frozen='T["@ids"]'))
    # the copies keep the source's names under the namespace: T/serving_default_s, ...
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        signature = tf1.saved_model.loader.load(session, ["serve"], str(out / "model")).signature_def
    inputs = signature["serving_default"].inputs["s"].name
    outputs = signature["serving_default"].outputs["ids"].name
    check_all_exports(out, expected, {"s": words}, ["ids"], {inputs: words}, [outputs])


def test_keras_vocabulary_files_are_exported_as_assets(tmp_path: Path) -> None:
    model = save_keras(tmp_path / "keras", tmp_path)
    feeds = {"words": np.array([[b"dog", b"cat", b"eel"]]), "text": np.array([b"the fox jumps high"])}
    keys = ["features", "ids"]
    expected = run_savedmodel(model, feeds, keys)
    np.testing.assert_array_equal(expected[1], [[2, 1, 0]])
    out = build(tmp_path, 'source m = savedmodel("keras")',
                'copy K from m { take = ["@features", "@ids"] variables = value }',
                EXPORTS.format(inputs='words: K["@words"], text: K["@text"]',
                               outputs='features: K["@features"], ids: K["@ids"]',
                               frozen='K["@features"], K["@ids"]'))
    assert sorted(p.name for p in (out / "model" / "assets").iterdir()) == ["text.txt", "words.txt"]
    # The export reads its own copies of the files: it works with the source and vocabularies gone.
    moved = tmp_path / "moved"
    shutil.copytree(out / "model", moved)
    shutil.rmtree(model)
    for name in ("words.txt", "text.txt"):
        (tmp_path / name).unlink()
    for value, want in zip(run_savedmodel(moved, feeds, keys), expected):
        np.testing.assert_array_equal(value, want)
    loaded = tf.saved_model.load(str(moved))  # and in TF2
    result = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in feeds.items()})
    np.testing.assert_array_equal(result["ids"].numpy(), expected[1])
    np.testing.assert_array_equal(result["features"].numpy(), expected[0])


def test_a_tf1_main_op_filling_a_table_from_an_asset_comes_along(tmp_path: Path) -> None:
    model = save_tf1(tmp_path / "tf1", tmp_path)
    (tmp_path / "colors.txt").write_text("stale\n")  # the loader feeds the model's own asset
    words = np.array([b"blue", b"red", b"black"])
    expected = run_savedmodel(model, {"words": words}, ["ids"])
    np.testing.assert_array_equal(expected[0], [102, 100, 99])
    out = build(tmp_path, 'source m = savedmodel("tf1")', 'copy C from m { take = "@ids" }',
                EXPORTS.format(inputs='words: C["@words"]', outputs='ids: C["@ids"]',
                               frozen='C["@ids"]'))
    assert (out / "model" / "assets" / "colors.txt").read_text() == "red\ngreen\nblue\n"
    check_all_exports(out, expected, {"words": words}, ["ids"], {"C/words:0": words}, ["C/ids:0"])
    runnable = open_runnable(out, export="graph")
    try:
        np.testing.assert_array_equal(runnable.run({"C/words:0": "[blue]"}, ["C/ids:0"])[0], [102])
    finally:
        runnable.close()


def test_two_namespaces_copying_one_table_get_a_table_and_an_asset_each(tmp_path: Path, saved) -> None:
    copy_to(saved["tf1"], tmp_path / "tf1")
    spec = tmp_path / "spec.gcomp"
    spec.write_text('graphdsl 1\nsource m = savedmodel("tf1")\n'
                    'copy A from m { take = "@ids" }\ncopy B from m { take = "@ids" }\n')
    with graphdsl.compose(spec) as composition:
        graph = composition.graph
        tables = [op for op in graph.get_operations() if op.type == "HashTableV2"]
        assert len({op.get_attr("shared_name") for op in tables}) == 2
        assets = graph.get_collection(tf1.GraphKeys.ASSET_FILEPATHS)
        assert sorted(t.op.name.split("/")[0] for t in assets) == ["A", "B"]
        assert len(graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS)) == 2
        ids = [composition.copy_of(ns, "ids:0") for ns in "AB"]
        feeds = {composition.copy_of(ns, "words:0"): [b"green"] for ns in "AB"}
        assert [v.tolist() for v in composition.session.run(ids, feeds)] == [[101], [101]]


def test_two_savedmodel_exports_of_a_graph_with_tables_both_load(tmp_path: Path, saved) -> None:
    copy_to(saved["tf1"], tmp_path / "tf1")
    one = 'export savedmodel "{}" { signature s { inputs = { w: C["@words"] } outputs = { ids: C["@ids"] } } }'
    out = build(tmp_path, 'source m = savedmodel("tf1")', 'copy C from m { take = "@ids" }',
                "\n".join(one.replace("{}", name, 1) for name in ("first", "second")))
    for name in ("first", "second"):
        (ids,) = run_savedmodel(out / name, {"w": np.array([b"green"])}, ["ids"], signature="s")
        np.testing.assert_array_equal(ids, [101])


def test_the_api_copies_a_table_with_its_initializer() -> None:
    from graphdsl import copy_to_graph, get_copied

    source = tf.Graph()
    with source.as_default():
        keys = tf1.placeholder(tf.string, [None], name="keys")
        table = tf1.lookup.StaticHashTable(
            tf1.lookup.KeyValueTensorInitializer(["x", "y"], [7, 8], tf.string, tf.int64), 0)
        found = tf.identity(table.lookup(keys), name="found")
    target = tf.Graph()
    copies = [copy_to_graph(found, target, namespace=ns) for ns in ("P", "Q")]
    with target.as_default(), tf1.Session(graph=target) as session:
        session.run(tf1.tables_initializer())
        feeds = {get_copied(keys, target, namespace=ns): [b"y", b"x"] for ns in ("P", "Q")}
        assert [v.tolist() for v in session.run(copies, feeds)] == [[8, 7], [8, 7]]


def test_plan_reports_an_asset_path_variable_as_copied_by_init(tmp_path: Path, saved) -> None:
    copy_to(saved["keras"], tmp_path / "keras")
    spec = tmp_path / "spec.gcomp"
    spec.write_text('graphdsl 1\nsource m = savedmodel("keras")\n'
                    'copy K from m { take = "@ids" variables = value }\n')
    with graphdsl.compose(spec) as composition:
        modes = {composition.graph.get_operation_by_name(name).get_attr("dtype"): mode
                 for name, mode in composition.reports[0].variables}
    # the asset path's value is a location, set afresh by each loader; the embeddings keep theirs
    assert modes == {tf.string: "init", tf.float32: "value"}


class _Counts(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, -1)
        self.table.insert(tf.constant(["a", "b"]), tf.constant([5, 6], tf.int64))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
    def __call__(self, s):
        return {"v": self.table.lookup(s)}


@pytest.mark.parametrize("mode, want", [("value", [6, 5, -1]), ("init", [-1, -1, -1])])
def test_a_mutable_table_carries_its_contents_in_mode_value(tmp_path: Path, mode: str, want) -> None:
    module = _Counts()
    tf.saved_model.save(module, str(tmp_path / "counts"), signatures={"serving_default": module.__call__})
    words = np.array([b"b", b"a", b"z"])
    (expected,) = run_savedmodel(tmp_path / "counts", {"s": words}, ["v"])
    out = build(tmp_path, 'source m = savedmodel("counts")',
                f'copy T from m {{ take = "@v" variables = {mode} }}',
                EXPORTS.format(inputs='s: T["@s"]', outputs='v: T["@v"]', frozen='T["@v"]'))
    if mode == "value":
        np.testing.assert_array_equal(expected, want)  # what the original holds, carried over
    for got in (run_savedmodel(out / "model", {"s": words}, ["v"]),
                run_frozen(out / "frozen.pb", {"T/serving_default_s:0": words}, [f"{_call(out)}:0"])):
        np.testing.assert_array_equal(got[0], want)


def _call(out: Path) -> str:
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        sig = tf1.saved_model.loader.load(session, ["serve"], str(out / "model")).signature_def
    return sig["serving_default"].outputs["v"].name.partition(":")[0]


def test_an_asset_path_variable_is_not_trainable(tmp_path: Path, saved) -> None:
    """Training a composed text model must not try to train the string holding a vocabulary's path."""
    copy_to(saved["keras"], tmp_path / "keras")
    spec = tmp_path / "spec.gcomp"
    spec.write_text('graphdsl 1\nsource m = savedmodel("keras", inline = true)\n'
                    'copy K from m { take = "@features" variables = value }\n')
    with graphdsl.compose(spec) as composition:
        graph = composition.graph
        trainable = graph.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)
        assert trainable and all(v.dtype.base_dtype == tf.float32 for v in trainable)
        assert any(v.dtype.base_dtype == tf.string for v in graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES))
        with graph.as_default():  # a training step over the copy builds
            loss = tf.reduce_sum(composition.copy_of("K", "@features"))
            tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
