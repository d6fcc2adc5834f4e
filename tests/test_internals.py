"""TensorFlow's private internals: one module uses them, each is checked, and copies work without them."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph, get_copied
from graphdsl.tf import internals

tf1 = tf.compat.v1
PACKAGE = Path(internals.__file__).resolve().parents[1]


def test_the_running_tensorflow_has_every_internal_graphdsl_uses():
    missing = internals.missing()
    assert not missing, "TensorFlow lacks internals graphdsl uses:\n" + "\n".join(
        f"  {name} (in {internals.INTERNALS[name].where}): {internals.INTERNALS[name].use}"
        for name in missing)


def test_the_fast_import_is_used_on_the_tested_tensorflow():
    assert internals.fast_import_works()


def test_missing_names_each_internal_the_running_tensorflow_lacks(monkeypatch):
    monkeypatch.setitem(internals.INTERNALS, "Graph._no_such_thing",
                        internals.Internal("tensorflow.python.framework.ops.Graph", "a test", True))
    monkeypatch.setitem(internals.INTERNALS, "no_such_module.thing",
                        internals.Internal("tensorflow.python.no_such_module", "a test"))
    internals._missing.cache_clear()
    try:
        assert internals.missing() == ["Graph._no_such_thing", "no_such_module.thing"]
        assert not internals.fast_import_works()
    finally:
        monkeypatch.undo()
        internals._missing.cache_clear()


def _private_names_defined_by_graphdsl() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {n for n in names if n.startswith("_")}


# Standard library names that start with '_' and are documented public API.
_PUBLIC_STDLIB = {"argparse._SubParsersAction", "os._exit"}


def _foreign_private_uses(path: Path, own: set[str]) -> list[str]:
    """``x._name`` where ``_name`` is no name of graphdsl's own (the standard library's public ones excepted)."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.attr not in own
                and ast.unparse(node) not in _PUBLIC_STDLIB):
            uses.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    return uses


def test_no_module_but_internals_touches_tensorflow_internals():
    own = _private_names_defined_by_graphdsl()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "internals.py":
            continue
        found += _foreign_private_uses(path, own)
        found += [f"{path.relative_to(PACKAGE.parent)}: imports {m}" for m in
                  re.findall(r"^\s*(?:from|import) (tensorflow\.python\S*)", path.read_text(), re.M)]
    assert not found, "TensorFlow internals used outside graphdsl/tf/internals.py:\n" + "\n".join(found)


def test_internals_lists_every_private_name_it_uses():
    path = PACKAGE / "tf" / "internals.py"
    listed = {name.rpartition(".")[2] for name in internals.INTERNALS}
    own = _private_names_defined_by_graphdsl()
    unlisted = [use for use in _foreign_private_uses(path, own)
                if use.rpartition(".")[2] not in listed]
    modules = {entry.where for entry in internals.INTERNALS.values()}
    imported = re.findall(r"^\s*from (tensorflow\.python\S*) import (\w+)", path.read_text(), re.M)
    unlisted += [f"{m}.{name}" for m, name in imported if f"{m}.{name}" not in modules
                 and not any(key.startswith(name + ".") for key in internals.INTERNALS)]
    assert not unlisted, "private names used by internals.py but not in INTERNALS:\n" + "\n".join(unlisted)


def _graph_with_a_control_input_on_an_op_without_outputs():
    graph = tf.Graph()
    with graph.as_default():
        counter = tf1.get_variable("counter", initializer=0.0, use_resource=True)
        bump = counter.assign_add(1.0, read_value=False)
        with tf.control_dependencies([bump]):
            after = tf.identity(counter.read_value(), name="after")
    return graph, bump, after


def test_a_later_copy_waits_for_an_earlier_copys_op_without_outputs(copy_path):
    graph, bump, after = _graph_with_a_control_input_on_an_op_without_outputs()
    assert not bump.outputs
    target = tf.Graph()
    bump1 = copy_to_graph(bump, target, namespace="N")
    after1 = copy_to_graph(after, target, namespace="N")
    assert after1.name == "N/after:0" and get_copied(bump, target, namespace="N") is bump1
    with tf1.Session(graph=target) as sess:
        sess.run(tf1.global_variables_initializer())
        assert [sess.run(after1) for _ in range(3)] == [1.0, 2.0, 3.0]  # each run bumps first


def _copy_runs() -> None:
    """A small graph copied with copy_to_graph computes what the original computes."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [2], name="x")
        y = tf.multiply(x, 3.0, name="y")
    target = tf.Graph()
    y1 = copy_to_graph(y, target, namespace="N")
    with tf1.Session(graph=target) as sess:
        np.testing.assert_allclose(sess.run(y1, {get_copied(x, target, namespace="N"): [1, 2]}),
                                   [3.0, 6.0])


def test_a_fast_import_that_fails_its_trial_leaves_copies_to_the_public_path(monkeypatch):
    def broken(*args):
        raise TypeError("TF_ImportGraphDefOptionsSetPrefix(): incompatible function arguments")

    monkeypatch.setattr(internals, "_import_fast", broken)
    internals._fast_trial.cache_clear()
    try:
        assert not internals.fast_import_works()
        _copy_runs()
    finally:
        monkeypatch.undo()
        internals._fast_trial.cache_clear()
    assert internals.fast_import_works()


@pytest.mark.parametrize("fast", [True, False])
def test_both_paths_make_the_same_ops(fast, monkeypatch):
    """The op names, types, inputs and attributes of a copy do not depend on the path taken."""
    monkeypatch.setattr(internals, "FAST_PATH", fast)
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = tf1.get_variable("w", initializer=[[1.0], [2.0]], use_resource=True)
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w)), name="loss")
        train = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
    target = tf.Graph()
    copy_to_graph(train, target, namespace="N")
    nodes = {n.name: n for n in target.as_graph_def().node}
    for op in graph.get_operations():
        copy = nodes.pop("N/" + op.name, None)
        if copy is not None:
            assert copy.op == op.type
            assert list(copy.input) == [("^N/" + i[1:]) if i.startswith("^") else "N/" + i
                                        for i in op.node_def.input]
    assert not nodes


def _wrapped_ops(monkeypatch, lean: bool) -> list[tf.Operation]:
    """A GraphDef with ops of several dtypes and output counts, imported through import_nodes."""
    monkeypatch.setattr(internals, "_lean_wrappers_work", lambda: lean)
    source = tf.Graph()
    with source.as_default():
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        parts = tf.split(x, 2, axis=1, name="split")  # two outputs
        n = tf.shape(x, out_type=tf.int64, name="n")
        flag = tf.greater(parts[0], parts[1], name="flag")
        tf.group(flag, n, name="done")  # no outputs
    target = tf.Graph()
    imported = internals.import_nodes(target, source.as_graph_def(), "N", {}, {})
    assert imported.names == [f"N/{op.name}" for op in source.get_operations()]
    return imported.ops


def _described(op: tf.Operation) -> tuple:
    """Everything ``Operation._from_c_op`` sets on a wrapper, but its graph and ids."""
    return (op.name, op.type, op._original_op, op._inputs_val, op._device_code_locations,
            op._colocation_code_locations, op._control_flow_context, op._gradient_function,
            [(type(t), t.op is op, t.value_index, t.dtype, t.shape.as_list() if t.shape.rank is not None
              else None) for t in op.outputs])


def test_the_lean_wrappers_make_what_tensorflows_own_make(monkeypatch):
    assert internals._lean_wrappers_work()  # on the tested TensorFlow
    lean, own = _wrapped_ops(monkeypatch, True), _wrapped_ops(monkeypatch, False)
    assert [_described(op) for op in lean] == [_described(op) for op in own]
    graph = lean[0].graph
    assert all(op.graph is graph for op in lean)
    assert graph.get_operations() == lean and all(graph.get_operation_by_name(op.name) is op for op in lean)
    assert [op._id for op in lean] == sorted(op._id for op in lean)  # creation order
    tensors = [t for op in lean for t in op.outputs]
    assert len({t._id for t in tensors}) == len(tensors)  # each tensor its own id
    assert graph.get_tensor_by_name("N/split:1") is graph.get_operation_by_name("N/split").outputs[1]
    with tf1.Session(graph=graph) as sess:
        assert sess.run(graph.get_tensor_by_name("N/n:0"), {"N/x:0": np.zeros([3, 4])}).tolist() == [3, 4]


def test_the_lean_wrappers_step_aside_when_tensorflow_changes_what_a_wrapper_holds(monkeypatch):
    internals._lean_wrappers_work.cache_clear()
    monkeypatch.setattr(internals, "_INIT_NAMES", internals._INIT_NAMES + ("_new_field",))
    try:
        assert not internals._lean_wrappers_work()
        _copy_runs()
    finally:
        monkeypatch.undo()
        internals._lean_wrappers_work.cache_clear()
    assert internals._lean_wrappers_work()


def _variables_graph():
    """Resource variables: plain, partitioned (slice info), not trainable, and one read through an Identity."""
    graph = tf.Graph()
    with graph.as_default():
        w = tf1.get_variable("w", [3, 2], use_resource=True)
        parts = tf1.get_variable("p", [4, 2], use_resource=True,
                                 partitioner=tf1.fixed_size_partitioner(2))
        step = tf1.get_variable("step", [], tf.int64, trainable=False, use_resource=True)
        total = tf.add(tf.reduce_sum(w) + tf.reduce_sum(parts), tf.cast(step, tf.float32), name="total")
    return graph, total


def _fields(var) -> dict:
    fields = dict(vars(var))
    info = fields.pop("_save_slice_info")
    fields["slice"] = info.to_proto().SerializeToString() if info is not None else None
    return fields


@pytest.mark.parametrize("mode", ["init", "value"])
def test_the_lean_variables_are_what_tensorflows_from_proto_makes(mode):
    assert internals._lean_variables_work()  # on the tested TensorFlow
    graph, total = _variables_graph()
    with tf1.Session(graph=graph) as sess:
        sess.run(tf1.global_variables_initializer())
        target = tf.Graph()
        copy_to_graph(total, target, namespace="N", variables=mode, session=sess)
    made = target.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
    assert len(made) == 4 and any(v._save_slice_info is not None for v in made)
    with target.as_default():
        own = [type(v).from_proto(v.to_proto()) for v in made]
    assert [type(v) for v in made] == [type(v) for v in own]
    assert [_fields(v) for v in made] == [_fields(v) for v in own]
    assert [list(_fields(v)) for v in made] == [list(_fields(v)) for v in own]  # in the same order


def test_the_lean_variables_step_aside_when_tensorflow_changes_what_a_variable_holds(monkeypatch):
    internals._lean_variables_work.cache_clear()
    monkeypatch.setattr(internals, "_VARIABLE_INIT_NAMES", internals._VARIABLE_INIT_NAMES + ("_new",))
    made = []
    monkeypatch.setattr(internals, "_lean_resource_variable", lambda *a: made.append(a))
    try:
        assert not internals._lean_variables_work()
        graph, total = _variables_graph()
        target = tf.Graph()
        copy_to_graph(total, target, namespace="N")
        assert not made and len(target.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES)) == 3
    finally:
        monkeypatch.undo()
        internals._lean_variables_work.cache_clear()
    assert internals._lean_variables_work()


@pytest.mark.parametrize("others", [0, 10])
def test_imported_names_are_marked_used_and_a_used_name_keeps_its_count(others):
    in_use = {"n/a": 3, **{f"x{i}": 1 for i in range(others)}}  # the table larger or smaller
    internals._mark_used(in_use, ["N/a", "N/B", "N/c"])
    assert in_use == {"n/a": 3, **{f"x{i}": 1 for i in range(others)}, "n/b": 1, "n/c": 1}
    assert list(in_use)[0] == "n/a"
