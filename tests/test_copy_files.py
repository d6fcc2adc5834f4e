"""Copying from graphs loaded from files: GraphDef, MetaGraph plus checkpoint, TF2 SavedModel."""

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph, get_copied
from graphdsl.errors import CopyError

tf1 = tf.compat.v1


def _trained_model(directory):
    """Saves y = x @ W + b with W = [[2], [3]] (after 'training') as a MetaGraph and checkpoint."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        W = tf1.get_variable("W", [2, 1], initializer=tf1.zeros_initializer(), use_resource=True)
        b = tf1.get_variable("b", [1], initializer=tf1.constant_initializer(0.5), use_resource=True)
        tf.add(tf.matmul(x, W), b, name="y")
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run(W.assign([[2.0], [3.0]]))
            prefix = tf1.train.Saver().save(sess, str(directory / "model"))
        tf1.train.write_graph(graph, str(directory), "model.pb", as_text=False)
    return prefix


def test_from_a_graphdef_file(tmp_path):
    _trained_model(tmp_path)
    graph_def = tf1.GraphDef()
    graph_def.ParseFromString((tmp_path / "model.pb").read_bytes())
    source = tf.Graph()
    with source.as_default():
        tf1.import_graph_def(graph_def, name="")
    target = tf.Graph()
    y1 = copy_to_graph(source.get_tensor_by_name("y:0"), target, namespace="N")
    # A bare GraphDef has no variable collections: initializers are found by TF's naming.
    W1, b1 = target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
    assert (W1.op.name, b1.op.name) == ("N/W", "N/b")
    x1 = get_copied(source.get_tensor_by_name("x:0"), target, namespace="N")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(y1, {x1: [[1.0, 1.0]]}), [[0.5]])  # fresh: W = 0


def test_from_a_metagraph_and_checkpoint_in_value_mode(tmp_path):
    prefix = _trained_model(tmp_path)
    source = tf.Graph()
    with source.as_default():
        saver = tf1.train.import_meta_graph(prefix + ".meta")
        sess = tf1.Session()
        saver.restore(sess, prefix)
    y = source.get_tensor_by_name("y:0")
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="N", variables="value", session=sess)
    x1 = get_copied(source.get_tensor_by_name("x:0"), target, namespace="N")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(y1, {x1: [[1.0, 1.0]]}), [[5.5]])


def _tf2_savedmodel(directory):
    class Scale(tf.Module):
        def __init__(self):
            self.w = tf.Variable([2.0, 3.0], name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def __call__(self, x):
            return {"y": tf.reduce_sum(x * self.w, axis=1)}

    module = Scale()
    module.w.assign([4.0, 5.0])  # "trained"
    path = str(directory / "tf2")
    tf.saved_model.save(module, path, signatures=module.__call__)
    return path


def _load_savedmodel(path):
    graph = tf.Graph()
    sess = tf1.Session(graph=graph)
    with graph.as_default():
        meta = tf1.saved_model.loader.load(sess, ["serve"], path)
    signature = meta.signature_def["serving_default"]
    x = graph.get_tensor_by_name(signature.inputs["x"].name)
    y = graph.get_tensor_by_name(signature.outputs["y"].name)
    return graph, sess, x, y


def test_from_a_tf2_savedmodel_in_value_mode(tmp_path):
    graph, sess, x, y = _load_savedmodel(_tf2_savedmodel(tmp_path))
    assert graph.as_graph_def().library.function  # the model's body is a function
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="M", variables="value", session=sess)
    x1 = get_copied(x, target, namespace="M")
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(y1, {x1: [[1.0, 1.0]]}), [9.0])
    assert len(target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)) == 1


def test_two_tf2_savedmodels_in_one_target(tmp_path):
    first = _load_savedmodel(_tf2_savedmodel(tmp_path / "a"))
    second = _load_savedmodel(_tf2_savedmodel(tmp_path / "b"))
    target = tf.Graph()
    outs, feeds = [], {}
    for ns, (graph, sess, x, y) in zip("AB", (first, second)):
        outs.append(copy_to_graph(y, target, namespace=ns, variables="value", session=sess))
        feeds[get_copied(x, target, namespace=ns)] = [[1.0, 0.0]]
    with tf1.Session(graph=target) as s, target.as_default():
        s.run(tf1.global_variables_initializer())
        np.testing.assert_allclose(s.run(outs, feeds), [[4.0], [4.0]])


def test_a_tf2_savedmodel_variable_cannot_be_init_copied(tmp_path):
    graph, sess, x, y = _load_savedmodel(_tf2_savedmodel(tmp_path))
    with pytest.raises(CopyError, match="no initializer in the source graph") as info:
        copy_to_graph(y, tf.Graph(), namespace="M", variables="init")
    assert "mode 'value'" in str(info.value)
