"""What a copy says it added: ops, variables and modes, renamed functions, placeholders, replacements."""

import tensorflow as tf

from graphdsl.api import copy_elements
from graphdsl.tf.copier import CopyResult

tf1 = tf.compat.v1


def _model():
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        w = tf1.get_variable("w", initializer=[[1.0], [2.0]], use_resource=True)
        b = tf1.get_variable("b", initializer=[0.5], use_resource=True)
        y = tf.add(tf.matmul(x, w), b, name="y")
        z = tf.square(y, name="z")
    return graph, x, w, b, y, z


def _names(graph) -> set[str]:
    return {op.name for op in graph.get_operations()}


def test_a_copy_reports_every_op_it_added_and_its_variables_with_their_modes():
    graph, x, w, b, y, z = _model()
    target = tf.Graph()
    with graph.as_default():
        sess = tf1.Session(graph=graph)
        sess.run(tf1.global_variables_initializer())
    (y1,), result = copy_elements([y], target, "N", variables={"b": "value"}, session=sess)
    assert isinstance(result, CopyResult) and result.namespace == "N"
    assert set(result.ops) == _names(target) and len(result.ops) == len(_names(target))
    assert dict(result.variables) == {"N/w": "init", "N/b": "value"}
    assert target.get_operation_by_name("N/w").type == "VarHandleOp"
    assert y1.name == "N/y:0"
    assert not result.placeholders and not result.replacements and not result.functions_renamed


def test_a_copy_that_reuses_earlier_copies_reports_only_what_it_adds():
    graph, x, w, b, y, z = _model()
    target = tf.Graph()
    copy_elements([y], target, "N")
    before = _names(target)
    _, again = copy_elements([y], target, "N")
    assert again.empty and again.ops == () and not again.variables
    _, more = copy_elements([z], target, "N")
    assert set(more.ops) == _names(target) - before == {"N/z"}
    assert not more.variables
    _, elsewhere = copy_elements([z], target, "M")  # another namespace: all of it again
    assert dict(elsewhere.variables) == {"M/w": "init", "M/b": "init"}


def test_placeholders_and_replacements_name_both_ends():
    graph, x, w, b, y, z = _model()
    target = tf.Graph()
    with target.as_default():
        fed = tf.constant([[1.0, 1.0]], name="fed")
    _, wired = copy_elements([y], target, "Wired", replacements={x: fed})
    assert dict(wired.replacements) == {"x:0": "fed:0"} and not wired.placeholders
    assert "Wired/x" not in wired.ops
    _, cut = copy_elements([y], target, "Cut", stop_at=[x])
    assert dict(cut.placeholders) == {"x:0": "Cut/x:0"} and not cut.replacements
    _, cut_again = copy_elements([z], target, "Cut", stop_at=[x])
    assert not cut_again.placeholders and cut_again.ops == ("Cut/z",)


def test_renamed_functions_are_reported_once():
    def graph_with_function(factor):
        graph = tf.Graph()
        with graph.as_default():
            x = tf1.placeholder(tf.float32, [], name="x")

            @tf.function
            def f(v):
                return v * factor

            out = f(x)
        graph_def = graph.as_graph_def()
        (fdef,) = graph_def.library.function
        old = fdef.signature.name
        fdef.signature.name = "__inference_f_7"
        for node in graph_def.node:
            for attr in node.attr.values():
                if attr.func.name == old:
                    attr.func.name = "__inference_f_7"
        loaded = tf.Graph()
        with loaded.as_default():
            tf1.import_graph_def(graph_def, name="")
        return loaded.get_tensor_by_name(out.name)

    first, second = graph_with_function(2.0), graph_with_function(3.0)
    target = tf.Graph()
    _, a = copy_elements([first], target, "A")
    _, b = copy_elements([second], target, "B")
    _, b_again = copy_elements([second], target, "B2")
    assert not a.functions_renamed
    (old, new), = b.functions_renamed.items()
    assert old == "__inference_f_7" and new.startswith("__inference_f_7_")
    assert new in {f.signature.name for f in target.as_graph_def().library.function}
    assert not b_again.functions_renamed  # the renamed function is reused, not added again
    assert len(target.as_graph_def().library.function) == 2
