"""A small copy into a big target creates its ops one by one, and the graph is the import's.

TensorFlow's importer reads every op of the target on each import, so ``copy_to_graph`` called
many times into one target would cost more and more per copy; a copy much smaller than its
target creates each op from its NodeDef instead (``internals.create_nodes``). Whichever way,
the target must come out byte for byte the same: NodeDefs (default attributes, devices,
colocation, control inputs), op order, functions, collections, and what the copies compute.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph
from graphdsl.tf import copier as copier_module
from graphdsl.tf import internals

tf1 = tf.compat.v1


def _dense() -> tf.Graph:
    """Resource and ref variables, a colocated read, a device, control inputs, a v1 cond."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        w = tf1.get_variable("w", initializer=np.full([3, 3], 0.5, np.float32), use_resource=True)
        r = tf1.Variable(np.arange(3, dtype=np.float32), name="r", use_resource=False)
        with tf1.colocate_with(w.handle.op), tf.device("/cpu:0"):
            scaled = tf.identity(w * 2.0, name="scaled")
        first = tf.identity(x, name="first")
        with tf.control_dependencies([first.op, scaled.op]):
            h = tf.add(tf.matmul(x, scaled), r, name="h")
        tf.concat([h, h, x], 1, name="out")
    return graph


def _control_flow_v1(loop: bool) -> tf.Graph:
    """A v1 cond (Switch and Merge), and with ``loop`` a v1 while loop (a cycle in the graph)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        was_v2 = tf1.control_flow_v2_enabled()
        tf1.disable_control_flow_v2()
        try:
            y = tf1.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
            if loop:
                i = tf1.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])
                y = y * tf.cast(i, tf.float32)
        finally:
            if was_v2:
                tf1.enable_control_flow_v2()
        tf.identity(y, name="out")
    return graph


def _cond_v1() -> tf.Graph:
    return _control_flow_v1(loop=False)


def _while_v1() -> tf.Graph:
    return _control_flow_v1(loop=True)


def _control_flow_v2() -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)
        i = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])
        tf.identity(y * tf.cast(i, tf.float32), name="out")
    return graph


def _functions() -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")

        @tf.function
        def double(v):
            return v * 2.0

        tf.identity(double(x) + 1.0, name="out")
    return graph


SOURCES: dict[str, Callable[[], tf.Graph]] = {
    "dense": _dense, "cond_v1": _cond_v1, "while_v1": _while_v1, "control_flow_v2": _control_flow_v2,
    "functions": _functions,
}


def _taken(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Counts the calls of ``internals.<name>`` that took their route (gave something, not None):
    the list's one item."""
    taken = [0]
    real = getattr(internals, name)

    def counting(*args, **kwargs):
        made = real(*args, **kwargs)
        taken[0] += made is not None
        return made

    monkeypatch.setattr(internals, name, counting)
    return taken


def _copies(source: tf.Graph, create: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[tf.Graph, int]:
    """Copies into one target: whole, cut at the input, again into a namespace that holds a copy."""
    monkeypatch.setattr(copier_module, "CREATE_RATIO", 0 if create else 10**9)
    created = _taken(monkeypatch, "create_nodes")
    target = tf.Graph()
    out, x = source.get_tensor_by_name("out:0"), source.get_tensor_by_name("x:0")
    copy_to_graph(out, target, namespace="A")
    for k in range(3):
        copy_to_graph(out, target, namespace=f"B{k}", stop_at=[x])
    with target.as_default(), tf.device("/cpu:0"):
        feed = tf.identity(target.get_tensor_by_name("A/x:0"), name="feed")
    copy_to_graph(out, target, namespace="C", replacements={x: feed})
    monkeypatch.undo()
    return target, created[0]


def _seen(target: tf.Graph) -> dict:
    graph_def = target.as_graph_def()
    ones = np.ones([2, 3], np.float32)
    with tf1.Session(graph=target) as session:
        session.run(tf1.global_variables_initializer())
        outs = [target.get_tensor_by_name(f"{ns}/out:0") for ns in ("A", "B0", "B2", "C")]
        feeds = {target.get_tensor_by_name(f"{ns}/x:0"): ones for ns in ("A", "B0", "B2")}
        values = [v.tobytes() for v in session.run(outs, feeds)]
    return {
        "nodes": [n.SerializeToString(deterministic=True) for n in graph_def.node],
        "library": graph_def.library.SerializeToString(deterministic=True),
        "versions": graph_def.versions.SerializeToString(deterministic=True),
        "ops": [op.name for op in target.get_operations()],
        "collections": {key: [getattr(item, "name", repr(item)) for item in target.get_collection(key)]
                        for key in target.get_all_collection_keys()},
        "values": values,
    }


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_ops_created_one_by_one_give_the_graph_the_import_gives(name: str, monkeypatch) -> None:
    source = SOURCES[name]()
    imported, _ = _copies(source, False, monkeypatch)
    created, count = _copies(source, True, monkeypatch)
    expected, seen = _seen(imported), _seen(created)
    for key in expected:
        assert seen[key] == expected[key], key
    if internals.fast_import_works() and name != "while_v1":  # a v1 while loop goes through the import
        assert count >= 3  # the copies after the first, into a target that holds one already


def test_the_order_of_creation_is_the_importers() -> None:
    """A GraphDef whose nodes come before their inputs: both ways give the same op order."""
    graph_def = tf.Graph().as_graph_def()
    for name, op, inputs in (("c", "AddV2", ["b", "a"]), ("b", "Neg", ["a"]), ("d", "NoOp", ["^c"]),
                             ("a", "Const", [])):
        node = graph_def.node.add(name=name, op=op, input=inputs)
        if op == "Const":
            node.attr["dtype"].type = tf.float32.as_datatype_enum
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(1.0))
        elif op != "NoOp":
            node.attr["T"].type = tf.float32.as_datatype_enum
    names = [node.name for node in graph_def.node]
    graphs = []
    for create in (False, True):
        target = tf.Graph()
        with target.as_default():
            tf.constant(0.0, name="there")
        made = (internals.create_nodes(target, graph_def, "ns", {}, {}, names) if create
                else internals.import_nodes(target, graph_def, "ns", {}, {}, names))
        assert made is not None and [op.name for op in made.ops] == [f"ns/{n}" for n in names]
        graphs.append([n.SerializeToString(deterministic=True) for n in target.as_graph_def().node])
    assert graphs[0] == graphs[1]


def test_what_only_the_importer_does_alike_is_left_to_it() -> None:
    """Shape attributes, a v1 while loop's back edge: create_nodes creates nothing and says so."""
    source = _while_v1()
    with_shapes = source.as_graph_def(add_shapes=True)
    loop = source.as_graph_def()  # every input in it: only the loop's back edge stops the creation
    for graph_def in (with_shapes, loop):
        target = tf.Graph()
        with target.as_default():
            tf.constant(0.0, name="there")
        names = [node.name for node in graph_def.node]
        assert internals.create_nodes(target, graph_def, "ns", {}, {}, names) is None
        assert [op.name for op in target.get_operations()] == ["there"]


def _whole_copy(source: tf.Graph, namespace: str, monkeypatch: pytest.MonkeyPatch,
                from_bytes: bool) -> tuple[dict, int]:
    """A copy of every op of ``source`` into an empty target, with or without the bytes route;
    what the target holds, and how many imports went from the source's bytes."""
    from graphdsl.tf import index

    index.release_index(source)  # a first copy: its index is made, with the bytes
    taken = _taken(monkeypatch, "import_serialized")
    if not from_bytes:
        monkeypatch.setattr(copier_module.Copier, "_copy_bytes", lambda *args: None)
    target = tf.Graph()
    copy_to_graph(source.get_operation_by_name("every"), target, namespace=namespace)
    monkeypatch.undo()
    assert len(target.get_operations()) == len(source.get_operations())
    graph_def = target.as_graph_def()
    # TensorFlow lists a graph's functions in the order of its own table, which two graphs
    # holding the same functions need not share: compared by name.
    functions = sorted(graph_def.library.function, key=lambda f: f.signature.name)
    del graph_def.library.function[:]
    graph_def.library.function.extend(functions)
    prefix = namespace + "/" if namespace else ""
    with tf1.Session(graph=target) as session:
        session.run(tf1.global_variables_initializer())
        out = session.run(target.get_tensor_by_name(prefix + "out:0"),
                          {target.get_tensor_by_name(prefix + "x:0"): np.ones([2, 3], np.float32)})
    return {
        "graph": graph_def.SerializeToString(deterministic=True),
        "ops": [op.name for op in target.get_operations()],
        "collections": {key: [getattr(item, "name", repr(item)) for item in target.get_collection(key)]
                        for key in target.get_all_collection_keys()},
        "variables": [v.name for v in target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)],
        "out": out.tobytes(),
    }, taken[0]


@pytest.mark.parametrize("namespace", ["A", ""])
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_whole_graph_copy_from_the_sources_bytes_gives_the_graph_the_import_gives(
        name: str, namespace: str, monkeypatch) -> None:
    """A whole-graph copy that only renames state and frames imports the bytes its index was
    made from (sparing a copy and a serialization of the GraphDef): the target is the same."""
    source = SOURCES[name]()
    with source.as_default(), tf.control_dependencies(source.get_operations()):
        tf.no_op(name="every")  # needs every op
    expected, _ = _whole_copy(source, namespace, monkeypatch, from_bytes=False)
    seen, taken = _whole_copy(source, namespace, monkeypatch, from_bytes=True)
    assert seen == expected
    if internals.fast_import_works():
        assert taken == (name not in ("control_flow_v2", "functions"))  # functions: attached, renamed
    if name in ("dense", "while_v1") and namespace:  # state and frame names got the namespace
        node = {n.name: n for n in tf.compat.v1.GraphDef.FromString(seen["graph"]).node}
        renamed = [n for n in node.values() if n.op in ("VarHandleOp", "Enter")]
        assert renamed and all((n.attr["shared_name"].s if n.op != "Enter" else n.attr["frame_name"].s)
                               .startswith(b"A/") for n in renamed)


def test_a_whole_graph_copy_imports_tensorflows_own_buffer_of_the_source(monkeypatch) -> None:
    """The bytes route hands TensorFlow the buffer its serialization of the source filled, as it
    is: no buffer made from a copy of the GraphDef's bytes (only the few renamed attributes)."""
    from tensorflow.python.client import pywrap_tf_session

    from graphdsl.tf import index

    if not internals.fast_import_works():
        pytest.skip("the fast import is off: the public import copies")
    source = _dense()
    with source.as_default(), tf.control_dependencies(source.get_operations()):
        tf.no_op(name="every")
    size = len(source.as_graph_def().SerializeToString())
    sizes: list[int] = []
    real = pywrap_tf_session.TF_NewBufferFromString

    def recording(data):
        sizes.append(len(data))
        return real(data)

    index.release_index(source)
    taken = _taken(monkeypatch, "import_serialized")
    monkeypatch.setattr(pywrap_tf_session, "TF_NewBufferFromString", recording)
    copy_to_graph(source.get_operation_by_name("every"), tf.Graph(), namespace="A")
    monkeypatch.undo()
    assert taken == [1]
    assert sizes and max(sizes) < size / 4  # the renamed state names only
