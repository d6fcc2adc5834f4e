"""Graphs graphdsl copies into or out of are freed once the user drops them."""

import gc
import weakref
from pathlib import Path

import tensorflow as tf

import graphdsl
from graphdsl import copy_to_graph, get_copied
from graphdsl.tf import index
from graphdsl.tf.registry import registry_of

tf1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]


def _source():
    """Variables, a tf.function call, a collection, a training op: what a copy keeps track of."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = tf1.get_variable("w", initializer=[[1.0], [2.0]], use_resource=True)
        b = tf1.get_variable("b", initializer=[0.5], use_resource=False)

        @tf.function
        def scale(v):
            return v * 3.0

        y = tf.add(scale(tf.matmul(x, w)), b, name="y")
        loss = tf.reduce_mean(tf.square(y), name="loss")
        train = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
        tf1.add_to_collection("outputs", y)
    return graph, x, y, loss, train


def _copy_out_of(graph, train, loss, target) -> None:
    with tf1.Session(graph=graph) as sess:
        with graph.as_default():
            sess.run(tf1.global_variables_initializer())
        copy_to_graph(train, target, namespace="Init")
        copy_to_graph(train, target, namespace="Value", variables="value", session=sess)
    get_copied(loss, target, namespace="Init")  # completes the copy of the loss


def test_a_dropped_target_is_freed():
    graph, x, y, loss, train = _source()
    target = tf.Graph()
    _copy_out_of(graph, train, loss, target)
    with tf1.Session(graph=target) as sess:
        with target.as_default():
            sess.run(tf1.global_variables_initializer())
        sess.run(get_copied(y, target, namespace="Value"), {get_copied(x, target, namespace="Value"): [[1.0, 1.0]]})
    dropped = weakref.ref(target)
    del target, sess
    gc.collect()
    assert dropped() is None


def test_a_dropped_source_is_freed_and_forgotten_by_the_targets_it_was_copied_into():
    graph, x, y, loss, train = _source()
    target = tf.Graph()
    _copy_out_of(graph, train, loss, target)
    copies = get_copied(y, target, namespace="Init")
    assert registry_of(target).namespace_known("Init")
    dropped = weakref.ref(graph)
    del graph, x, y, loss, train
    gc.collect()
    assert dropped() is None
    assert not registry_of(target).namespace_known("Init")  # its records went with it
    assert copies.graph is target  # the copies stay, as ops of the target


def test_release_index_drops_the_sources_graphdef_and_later_copies_still_work():
    graph, x, y, loss, train = _source()
    target = tf.Graph()
    copy_to_graph(y, target, namespace="A")
    held = weakref.ref(index.index_of(graph))  # it holds the source's GraphDef
    index.release_index(graph)
    gc.collect()
    assert held() is None
    copy_to_graph(train, target, namespace="A")
    assert get_copied(train, target, namespace="A").name == "A/" + train.name


def test_a_build_releases_the_indexes_of_its_sources(monkeypatch):
    monkeypatch.chdir(REPO)
    with graphdsl.compose("specs/linear.gcomp") as composition:
        assert composition.sources
        for source in composition.sources.values():
            assert getattr(source.graph, index._ATTRIBUTE, None) is None
