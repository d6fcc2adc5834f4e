"""The recursive copy: what follows a top node, reuse, names, collections, devices, lookups."""

import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2

from graphdsl import copy_to_graph, get_copied
from graphdsl.errors import CopyError, GraphDslError, NameClashError, NotCopiedError
from graphdsl.tf import copier, index
from graphdsl.tf.variables import mode_rule

tf1 = tf.compat.v1


def _small_graph():
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        with tf.name_scope("block"):
            scale = tf.constant([1.0, 2.0, 3.0], name="scale")
            side = tf.identity(x, name="side")
            with tf.control_dependencies([side]):
                out = tf.reduce_sum(x * scale, axis=1, name="out")
    return graph, x, side, out


def _run(tensor, feeds):
    with tf1.Session(graph=tensor.graph) as sess:
        return sess.run(tensor, feeds)


def test_copying_a_tensor_brings_inputs_control_inputs_and_placeholders():
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    out1 = copy_to_graph(out, target, namespace="N")
    names = {op.name for op in target.get_operations()}
    assert {"N/x", "N/block/scale", "N/block/side", "N/block/out"} <= names
    for op in graph.get_operations():
        copy = target.get_operation_by_name("N/" + op.name)
        assert [c.name for c in copy.control_inputs] == ["N/" + c.name for c in op.control_inputs]
    assert any(op.control_inputs for op in target.get_operations())
    x1 = get_copied(x, target, namespace="N")
    feed = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(_run(out1, {x1: feed}), _run(out, {x: feed}))


def test_copying_twice_adds_nothing_and_returns_the_same_copy():
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    first = copy_to_graph(out, target, namespace="N")
    count = len(target.get_operations())
    second = copy_to_graph(out, target, namespace="N")
    again = copy_to_graph(out.op, target, namespace="N")
    assert second is first and again is first.op
    assert len(target.get_operations()) == count


def test_a_later_copy_reuses_what_an_earlier_one_brought(copy_path):
    graph, x, side, out = _small_graph()
    with graph.as_default():
        other = tf.add(side, 1.0, name="other")
    target = tf.Graph()
    copy_to_graph(out, target, namespace="N")
    count = len(target.get_operations())
    other1 = copy_to_graph(other, target, namespace="N")
    assert len(target.get_operations()) == count + 2  # "other" and its constant
    assert other1.op.inputs[0] is get_copied(side, target, namespace="N")


def test_a_list_of_tops_is_copied_in_one_pass():
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    side1, out1 = copy_to_graph([side, out], target, namespace="N")
    assert side1.name == "N/block/side:0" and out1.name == "N/block/out:0"


def _chain_graph_def(length: int) -> tf.compat.v1.GraphDef:
    """``x + 1.0 + 1.0 ...`` (``length`` additions, each of its own constant) written as a GraphDef:
    importing it costs a quarter of what building it op by op with ``y = y + 1.0`` does."""
    graph_def = tf1.GraphDef()
    float32 = tf.float32.as_datatype_enum
    x = graph_def.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = float32
    x.attr["shape"].shape.SetInParent()  # a scalar
    one = tf.make_tensor_proto(1.0, tf.float32)
    previous = "x"
    for i in range(length):
        constant = graph_def.node.add(name=f"one_{i}", op="Const")
        constant.attr["dtype"].type = float32
        constant.attr["value"].tensor.CopyFrom(one)
        add = graph_def.node.add(name=f"add_{i}", op="AddV2", input=[previous, constant.name])
        add.attr["T"].type = float32
        previous = add.name
    return graph_def


def test_a_30000_op_chain_copies_without_hitting_the_recursion_limit():
    graph = tf.Graph()
    with graph.as_default():
        tf1.import_graph_def(_chain_graph_def(15000), name="")
    x, y = graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("add_14999:0")
    assert len(graph.get_operations()) > 30000
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="chain")
    assert len(target.get_operations()) == len(graph.get_operations())
    x1 = get_copied(x, target, namespace="chain")
    assert _run(y1, {x1: 2.0}) == 15002.0


def test_copying_into_the_root_namespace_keeps_names():
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    out1 = copy_to_graph(out, target)
    assert out1.name == "block/out:0"
    assert get_copied(x, target).name == "x:0"


def test_collections_become_namespaced_in_the_target(copy_path):
    graph, x, side, out = _small_graph()
    with graph.as_default():
        tf1.add_to_collection("outputs", out)
        tf1.add_to_collection("outputs", side)
        tf1.add_to_collection("unrelated", tf.constant(0.0, name="lonely"))
    target = tf.Graph()
    copy_to_graph(out, target, namespace="N")
    assert [t.name for t in target.get_collection("N/outputs")] == ["N/block/out:0", "N/block/side:0"]
    assert target.get_collection("N/unrelated") == []
    copy_to_graph(out, target, namespace="N")
    assert len(target.get_collection("N/outputs")) == 2  # not added twice


def test_device_fields_are_kept():
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/device:CPU:0"):
            a = tf.constant(1.0, name="a")
        b = tf.identity(a, name="b")
    target = tf.Graph()
    copy_to_graph(b, target, namespace="N")
    assert target.get_operation_by_name("N/a").device == "/device:CPU:0"
    assert target.get_operation_by_name("N/b").device == ""


def test_colocation_points_at_the_copies():
    graph = tf.Graph()
    with graph.as_default():
        a = tf.constant(1.0, name="a")
        with tf1.colocate_with(a.op):
            b = tf.identity(a, name="b")
    assert b.op.get_attr("_class") == [b"loc:@a"]
    target = tf.Graph()
    copy_to_graph(b, target, namespace="N")
    assert target.get_operation_by_name("N/b").get_attr("_class") == [b"loc:@N/a"]


def _colocated_graph(text: bool = False):
    """Ops colocated with a short and a long name (a two-byte length); ``text``: and a string
    that reads like an entry."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf.constant(1.0, name="a")
        long = tf.constant(2.0, name="l" * 200)
        if text:
            tf.constant("loc:@not_an_entry", name="text")
        with tf1.colocate_with(a.op), tf1.colocate_with(long.op):
            b = tf.add(a, long, name="b")
    return graph, b


def test_the_colocation_names_read_from_the_bytes_hold_every_entry():
    graph, b = _colocated_graph()
    assert sorted(b.op.get_attr("_class")) == [b"loc:@a", b"loc:@" + b"l" * 200]
    named = index.colocation_names(graph.as_graph_def().SerializeToString())
    assert named == {"a", "l" * 200}
    graph, b = _colocated_graph(text=True)  # not an entry's bytes: cannot tell
    assert index.colocation_names(graph.as_graph_def().SerializeToString()) is None
    assert index.colocation_names(b"\x12\x06loc:@a\x2a" + b"\x12\x07loc:@ab2") == {"a", "ab"}
    assert index.colocation_names(b"\x13\x06loc:@a") is None  # not a string of a list: unknown
    assert index.colocation_names(b"\x12\x0bloc:@ab\x12\x07loc:@cd") is None  # runs into the next one
    assert index.colocation_names(b"\x12\x05loc:@\x12\x07loc:@cd") == {"", "cd"}


@pytest.mark.parametrize("text", [False, True])
def test_a_whole_graph_copy_keeps_the_colocations_of_what_it_copies_and_drops_the_others(text):
    graph, b = _colocated_graph(text)
    target = tf.Graph()
    copy_to_graph(b, target, namespace="N")
    assert sorted(target.get_operation_by_name("N/b").get_attr("_class")) == [
        b"loc:@N/a", b"loc:@N/" + b"l" * 200]
    with graph.as_default(), tf.control_dependencies(graph.get_operations()):  # needs every op
        c = tf.identity(b, name="c")
    entries = [b"loc:@a", b"loc:@gone"]  # an op the graph no longer has
    c.op._set_attr("_class", attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(s=entries)))
    target = tf.Graph()
    copy_to_graph(c, target, namespace="N")
    assert len(target.get_operations()) == len(graph.get_operations())  # every op
    assert target.get_operation_by_name("N/c").get_attr("_class") == [b"loc:@N/a"]


def test_the_op_types_whose_copies_may_need_a_new_state_name():
    assert index.may_rename("VarHandleOp") and index.may_rename("HashTableV2")
    assert index.may_rename("Enter")  # a v1 loop's frame
    assert index.may_rename("a_function_called_as_an_op")  # unknown: its attributes say
    assert not index.may_rename("Const") and not index.may_rename("MatMul")


def test_an_unrelated_element_with_the_needed_name_is_an_error(copy_path):
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    with target.as_default():
        tf.constant(0.0, name="N/x")
    with pytest.raises(NameClashError) as info:
        copy_to_graph(out, target, namespace="N")
    assert "'N/x'" in str(info.value) and "of 'x' from this source" in str(info.value)
    assert "another namespace" in str(info.value)
    assert isinstance(info.value, GraphDslError)


def test_names_that_differ_in_case_or_name_only_a_scope_do_not_clash(copy_path):
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    with target.as_default():
        tf.constant(0.0, name="N/X")  # op names are case-sensitive
        with tf.name_scope("N/block/out"):  # a name scope is no op
            tf.constant(0.0, name="inner")
    out1 = copy_to_graph(out, target, namespace="N")
    assert get_copied(x, target, namespace="N").name == "N/x:0"
    assert get_copied(out, target, namespace="N") is out1
    # import_graph_def (the public path) renames an op named like a scope that has ops
    assert out1.name == ("N/block/out:0" if copy_path == "fast" else "N/block/out_1:0")


def test_two_sources_into_one_namespace_clash_instead_of_merging():
    first, *_ , out_a = _small_graph()
    second, *_, out_b = _small_graph()
    target = tf.Graph()
    copy_to_graph(out_a, target, namespace="N")
    with pytest.raises(NameClashError, match="not the copy of"):
        copy_to_graph(out_b, target, namespace="N")


def test_a_failed_copy_adds_nothing():
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    with target.as_default():
        tf.constant(0.0, name="N/block/out")
    with pytest.raises(NameClashError):
        copy_to_graph(out, target, namespace="N")
    assert [op.name for op in target.get_operations()] == ["N/block/out"]
    with pytest.raises(NotCopiedError, match="nothing from this source graph"):
        get_copied(out, target, namespace="N")


def test_get_copied_finds_ops_tensors_and_says_what_is_close():
    graph, x, side, out = _small_graph()
    with graph.as_default():  # reads a placeholder the copy lacks: get_copied cannot complete it
        never = tf.add(out, tf1.placeholder(tf.float32, name="other"), name="block/outs")
    target = tf.Graph()
    copy_to_graph(out, target, namespace="N")
    assert get_copied(out.op, target, namespace="N").name == "N/block/out"
    assert get_copied(out, target, namespace="N").name == "N/block/out:0"
    with pytest.raises(NotCopiedError) as info:
        get_copied(never, target, namespace="N")
    message = str(info.value)
    assert "no copy of 'block/outs:0' in namespace 'N'" in message
    assert "did you mean 'block/out" in message
    with pytest.raises(NotCopiedError, match="nothing from this source graph"):
        get_copied(out, target, namespace="Elsewhere")


def test_get_copied_finds_copies_by_name_in_a_graph_loaded_from_a_file(tmp_path):
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    copy_to_graph(out, target, namespace="N")
    reloaded = tf.Graph()
    with reloaded.as_default():
        tf1.import_graph_def(target.as_graph_def(), name="")
    assert get_copied(out, reloaded, namespace="N").name == "N/block/out:0"


def test_bad_arguments_are_clear_errors():
    graph, x, side, out = _small_graph()
    with pytest.raises(CopyError, match="must be a tf.Graph"):
        copy_to_graph(out, "not a graph", namespace="N")
    with pytest.raises(CopyError, match="variables is 'fresh'"):
        copy_to_graph(out, tf.Graph(), namespace="N", variables="fresh")
    other, *_ = _small_graph()
    with pytest.raises(CopyError, match="one source graph per call"):
        copy_to_graph([out, other.get_tensor_by_name("x:0")], tf.Graph(), namespace="N")


def test_the_targets_device_and_control_dependency_scopes_apply_to_the_copy(copy_path):
    graph, x, side, out = _small_graph()
    target = tf.Graph()
    with target.as_default():
        gate = tf.no_op(name="gate")
        with tf.device("/device:CPU:0"), tf.control_dependencies([gate]):
            out1 = copy_to_graph(out, target, namespace="N")
    copied = [op for op in target.get_operations() if op.name.startswith("N/")]
    assert copied and all(op.device == "/device:CPU:0" for op in copied)
    # As with import_graph_def, the copied ops wait for the scope's control dependencies.
    assert gate in target.get_operation_by_name("N/x").control_inputs
    assert gate in target.get_operation_by_name("N/block/out").control_inputs
    x1 = get_copied(x, target, namespace="N")
    feed = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(_run(out1, {x1: feed}), _run(out, {x: feed}))


def _random_graph(rng: random.Random) -> tf.Graph:
    """About 60 ops: constants, two-output ops (their second output read as "x:1"), sums of
    earlier tensors, and control inputs (read as "^x"), some ops reached through nothing else."""
    graph = tf.Graph()
    with graph.as_default():
        tensors = [tf.constant(rng.random(), name=f"c{i}") for i in range(3)]
        ops = [t.op for t in tensors]
        for i in range(57):
            shape = rng.random()
            if shape < 0.2:
                first, second = tf.split(tf.stack([rng.choice(tensors)] * 2), 2, name=f"s{i}")
                tensors += [tf.reshape(first, [], name=f"a{i}"), tf.reshape(second, [], name=f"b{i}")]
                made = first.op
            else:
                controls = rng.sample(ops, k=min(len(ops), rng.choice([0, 0, 1, 2])))
                with tf.control_dependencies(controls):
                    made = tf.add_n(rng.sample(tensors, k=min(len(tensors), rng.randint(1, 3))),
                                    name=f"n{i}").op
                tensors.append(made.outputs[0])
            ops.append(made)
    return graph


def _reached(graph: tf.Graph, roots: list[str]) -> set[str]:
    """Every op the roots need, through data and control inputs (TensorFlow's own view)."""
    found: set[str] = set()
    stack = [graph.get_operation_by_name(r) for r in roots]
    while stack:
        op = stack.pop()
        if op.name not in found:
            found.add(op.name)
            stack += [t.op for t in op.inputs] + list(op.control_inputs)
    return found


@pytest.mark.parametrize("seed", range(8))
def test_the_walk_reaches_the_same_ops_in_the_same_order_whenever_it_changes_over(seed, monkeypatch):
    # The walk changes over to a table of the ops not reached yet once it has reached a part
    # of the source (copier.CHANGE_OVER): at once, early, late or never, it reaches what the
    # roots need, in one order (the order of the copied nodes, so of the built bytes).
    rng = random.Random(seed)
    graph = _random_graph(rng)
    names = [op.name for op in graph.get_operations()]
    consumed = {t.op.name for op in graph.get_operations() for t in op.inputs}
    consumed |= {c.name for op in graph.get_operations() for c in op.control_inputs}
    sinks = [n for n in names if n not in consumed]
    for roots in (sinks, rng.sample(names, 1), rng.sample(names, 3), rng.sample(sinks, 1)):
        expected = _reached(graph, roots)
        orders = {}
        for change_over in (0.0, 0.1, 0.5, 1.0):
            monkeypatch.setattr(copier, "CHANGE_OVER", change_over)
            walker = copier.Copier(graph, tf.Graph(), "N", modes=mode_rule("init"))
            needed = walker.walk(roots).needed
            assert set(needed) == expected and len(needed) == len(expected)
            assert [n for n in names if n in needed] == [n for n in names if n in expected]
            assert "N/" + roots[0] not in needed and "^" + roots[0] not in needed
            orders[change_over] = list(needed)
        assert len(set(map(tuple, orders.values()))) == 1, orders
    # The sinks need every op: a whole-graph walk.
    assert _reached(graph, sinks) == set(names)
