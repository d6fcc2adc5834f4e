"""Consecutive copy statements go through one import together, as if each ran alone.

A spec with many copy statements imports them together (the importer's cost grows
with the target, so one import per copy grows with the number of copies). What a user sees must
not change: the same graph (names, order, attributes), the same values, the same reports, a later
copy wiring to an earlier one in the same run, and errors naming the statement that failed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble import compose as compose_module
from graphdsl.assemble.compose import Composition, compose
from graphdsl.errors import BuildError
from graphdsl.lang.load import load_spec_text
from graphdsl.tf import internals
from imports import compose_both_ways, copies_alone, count_imports, refuse_merged_imports  # tests/imports.py

tf1 = tf.compat.v1

X = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)


def _source(directory: Path, names: tuple[str, ...] = ("s",)) -> str:
    """A MetaGraph + checkpoint of three dense layers (resource variables, colocated reads)."""
    graph = tf.Graph()
    with graph.as_default():
        h = tf1.placeholder(tf.float32, [None, 3], name="x")
        for i in range(3):
            with tf1.variable_scope(f"layer{i}"):
                w = tf1.get_variable("w", initializer=np.full([3, 3], 0.25 * (i + 1), np.float32),
                                     use_resource=True)
                b = tf1.get_variable("b", initializer=np.arange(3, dtype=np.float32) * (i + 1),
                                     use_resource=True)
                with tf1.colocate_with(w.handle.op):
                    scaled = tf.identity(w * 2.0, name="scaled")
                h = tf.nn.relu(tf.matmul(h, scaled) + b, name="out")
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(session, str(directory / "m.ckpt"), write_meta_graph=False)
        tf1.train.export_meta_graph(str(directory / "m.meta"))
    meta, checkpoint = (directory / "m.meta").as_posix(), (directory / "m.ckpt").as_posix()
    return "".join(f'source {name} = metagraph("{meta}", checkpoint = "{checkpoint}")\n' for name in names)


def _spec(directory: Path) -> str:
    """Copies that can go together, a copy wired to one of them, a let among them, a copy wired to it."""
    return ("graphdsl 1\n" + _source(directory)
            + 'copy A from s { take = "layer0/out" }\n'
            + 'copy B from s { take = "layer1/out"  stop_at = "layer0/out:0"  variables = value }\n'
            + 'copy C from s {\n    take = "layer2/out"\n    bind "layer1/out:0" = B["layer1/out:0"]\n}\n'
            + 'let top = C["layer2/out:0"]\n'
            + 'copy D from s { take = ["layer2/out", "layer0/w"]  variables = value }\n'
            + 'copy E from s { take = "layer1/out"  bind "layer0/out:0" = top }\n'
            + 'copy F from s { take = "layer2/out"  stop_at = "layer1/out:0" }\n'
            + 'copy G from s { take = "layer2/out"  stop_at = "layer1/out:0"  variables = value }\n')


ONES = np.ones([1, 3], np.float32)
# what each copy of _spec computes: (the tensor fed, the tensor fetched, the value fed)
_RUNS = {
    "A": ('A["x:0"]', 'A["layer0/out:0"]', X),
    "B": ('B["layer0/out:0"]', 'B["layer1/out:0"]', ONES),
    "C": ('B["layer0/out:0"]', 'C["layer2/out:0"]', ONES),
    "D": ('D["x:0"]', 'D["layer2/out:0"]', X),
    "E": ('B["layer0/out:0"]', 'E["layer1/out:0"]', ONES),
    "F": ('F["layer1/out:0"]', 'F["layer2/out:0"]', ONES),
    "G": ('G["layer1/out:0"]', 'G["layer2/out:0"]', ONES),
}


def _seen(composition: Composition) -> dict:
    graph = composition.graph
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        if node.op == "PyFunc":  # a value copy's callback: its token counts up in the process
            del node.attr["token"]
    nodes = [n.SerializeToString(deterministic=True) for n in graph_def.node]
    collections = {key: [getattr(item, "name", repr(item)) for item in graph.get_collection(key)]
                   for key in graph.get_all_collection_keys()}
    reports = [(r.namespace, r.ops, r.variables, r.binds, r.stops) for r in composition.reports]
    session = composition.session
    values = {ns: session.run(composition.tensor(out), {composition.tensor(feed): value}).tobytes()
              for ns, (feed, out, value) in _RUNS.items()}
    with graph.as_default():
        variables = {v.op.name: session.run(v).tobytes() for v in tf1.global_variables()}
    return {"nodes": nodes, "collections": collections, "reports": reports, "values": values,
            "variables": variables}


@pytest.mark.usefixtures("copy_path")
def test_copies_imported_together_give_what_copies_one_by_one_give(tmp_path: Path, monkeypatch) -> None:
    seen, expected, grouped, alone = compose_both_ways(monkeypatch, load_spec_text(_spec(tmp_path)), _seen)
    for key in expected:
        assert seen[key] == expected[key], key
    if internals.fast_import_works():
        # all in one: C reads B's output and E reads C's (through the let) within the import
        assert len(grouped) == 1 and len(alone) == 7
        assert sum(grouped) == sum(alone)
    else:
        assert len(grouped) == len(alone) == 7


def test_a_copy_wired_to_a_copy_of_the_same_run_reads_it(tmp_path: Path) -> None:
    with compose(load_spec_text(_spec(tmp_path))) as composition:
        graph = composition.graph
        # C's stop at layer1/out is bound to B's copy, which was imported just before C
        matmul = graph.get_operation_by_name("C/layer2/MatMul")
        assert matmul.inputs[0] is composition.tensor('B["layer1/out:0"]')
        session = composition.session
        b_in = composition.tensor('B["layer0/out:0"]')
        ones = np.ones([1, 3], np.float32)
        via_c = session.run(composition.tensor('C["layer2/out:0"]'), {b_in: ones})
        via_g = session.run(composition.tensor('G["layer2/out:0"]'),
                            {composition.tensor('G["layer1/out:0"]'):
                             session.run(composition.tensor('B["layer1/out:0"]'), {b_in: ones})})
        np.testing.assert_array_equal(via_c, via_g)


def _bad(directory: Path, first: str, second: str) -> str:
    return ("graphdsl 1\n" + _source(directory)
            + 'copy A from s { take = "layer0/out" }\n' + first + second)


def test_the_first_failing_copy_of_a_group_is_the_one_named(tmp_path: Path) -> None:
    # B fails once imported (its stop_at is never reached); C fails before any import (no such
    # op). Copies run in order, so B's error is the one a user sees.
    text = _bad(tmp_path, 'copy B from s { take = "layer0/out"  stop_at = "layer1/out:0" }\n',
                'copy C from s { take = "nothing/here" }\n')
    with pytest.raises(BuildError) as info:
        compose(load_spec_text(text, "bad.gcomp"))
    assert "stop_at 'layer1/out:0': the walk never reaches it" in info.value.message
    assert info.value.span is not None and info.value.span.line == 4


def test_an_error_in_a_group_names_its_own_statement(tmp_path: Path) -> None:
    text = _bad(tmp_path, 'copy B from s { take = "layer1/out" }\n',
                'copy C from s { take = "layer1/out"  stop_at = "layer2/out:0" }\n')
    with pytest.raises(BuildError) as info:
        compose(load_spec_text(text, "bad.gcomp"))
    assert "stop_at 'layer2/out:0'" in info.value.message
    assert info.value.span is not None and info.value.span.line == 5


def test_a_refused_group_is_imported_copy_by_copy(tmp_path: Path, monkeypatch) -> None:
    """When TensorFlow refuses the copies together, each goes alone: the same graph results."""
    text = _spec(tmp_path)
    with compose(load_spec_text(text)) as alone_first:
        expected = [n.name for n in alone_first.graph.as_graph_def().node]
    refuse_merged_imports(monkeypatch)
    with compose(load_spec_text(text)) as composition:
        assert [n.name for n in composition.graph.as_graph_def().node] == expected


def test_a_let_among_queued_copies_fails_before_the_copies_after_it(tmp_path: Path) -> None:
    text = _bad(tmp_path, 'let wrong = A["layer2/out:0"]\n', 'copy C from s { take = "nothing/here" }\n')
    with pytest.raises(BuildError) as info:
        compose(load_spec_text(text, "bad.gcomp"))
    assert "'layer2/out:0' of source 's' was not copied into namespace 'A'" in info.value.message
    assert info.value.span is not None and info.value.span.line == 4


@pytest.mark.usefixtures("copy_path")
def test_copies_from_several_sources_go_together(tmp_path: Path, monkeypatch) -> None:
    text = ("graphdsl 1\n" + _source(tmp_path, ("s", "t"))
            + 'copy A from s { take = "layer1/out" }\n'
            + 'copy B from t { take = "layer2/out"  stop_at = "layer1/out:0"  variables = value }\n'
            + 'copy C from s { take = "layer2/out"  variables = value }\n')
    def read(composition: Composition) -> tuple[list[str], list[tuple]]:
        return ([n.name for n in composition.graph.as_graph_def().node],
                [(r.namespace, r.ops, r.variables, r.stops) for r in composition.reports])

    seen, expected, grouped, _ = compose_both_ways(monkeypatch, load_spec_text(text), read)
    assert seen == expected
    assert len(grouped) == (1 if internals.fast_import_works() else 3)


def test_copies_tensorflow_refuses_together_are_imported_one_by_one(tmp_path: Path, monkeypatch) -> None:
    # The second copy into A brings op A/layer0/w, while A/layer0/w/Initializer/... is in the
    # target already: TensorFlow refuses a name that is a scope of the target when it imports
    # without a prefix, as a merged import does, and accepts it under a prefix.
    text = ("graphdsl 1\n" + _source(tmp_path)
            + 'copy A from s { take = "layer0/w/Initializer/initial_value" }\n'
            + 'copy A from s { take = "layer0/out" }\n'
            + 'copy B from s { take = "layer1/out"  stop_at = "layer0/out:0" }\n')
    counts = count_imports(monkeypatch)
    with compose(load_spec_text(text)) as together:
        nodes = [n.SerializeToString(deterministic=True) for n in together.graph.as_graph_def().node]
        value = together.session.run(together.tensor('A["layer0/out:0"]'), {together.tensor('A["x:0"]'): X})
    if internals.fast_import_works():
        # the first copy into A alone; then the second and B together, refused; then each alone
        assert len(counts) == 4 and counts[1] == counts[2] + counts[3]
    copies_alone(monkeypatch)
    with compose(load_spec_text(text)) as alone:
        assert [n.SerializeToString(deterministic=True) for n in alone.graph.as_graph_def().node] == nodes
        np.testing.assert_array_equal(
            alone.session.run(alone.tensor('A["layer0/out:0"]'), {alone.tensor('A["x:0"]'): X}), value)


def test_a_queue_holds_a_bounded_number_of_nodes(tmp_path: Path, monkeypatch) -> None:
    text = _spec(tmp_path)
    monkeypatch.setattr(compose_module, "QUEUED_NODES", 1)  # every copy goes alone
    counts = count_imports(monkeypatch)
    with compose(load_spec_text(text)) as composition:
        assert [r.namespace for r in composition.reports] == list("ABCDEFG")
    assert len(counts) == 7


def _ensemble(composition: Composition) -> tuple[list[bytes], bytes, bytes, int]:
    graph_def = composition.graph.as_graph_def()
    for node in graph_def.node:
        if node.op == "PyFunc":  # a value copy's callback: its token counts up in the process
            del node.attr["token"]
    inputs, outputs = composition.exported[0]["serving_default"]
    x = inputs["x"]
    feed = np.ones([2] + [d or 1 for d in x.shape.as_list()[1:]], x.dtype.as_numpy_dtype)
    value = composition.session.run(outputs["features"], {x: feed})
    return ([n.SerializeToString(deterministic=True) for n in graph_def.node],
            graph_def.library.SerializeToString(deterministic=True), value.tobytes(),
            len(composition.reports))


def test_copies_of_a_source_with_functions_go_together(monkeypatch) -> None:
    # The members of specs/ensemble.gcomp copy a TF2 SavedModel (its signature calls functions):
    # each needs the same functions; imported together, they are added once, as one by one.
    spec = Path(__file__).resolve().parents[1] / "specs" / "ensemble.gcomp"
    seen, expected, grouped, alone = compose_both_ways(monkeypatch, spec, _ensemble, {"members": 4})
    assert seen == expected
    assert len(alone) == 6 and len(grouped) == 2  # Input and the four members (wired to it); the mean


def test_import_together_reports_what_one_import_per_copy_reports() -> None:
    """Copies imported together say what each added, as if each had been imported alone."""
    from graphdsl.tf.copier import Copier, import_together
    from graphdsl.tf.variables import mode_rule

    def functional_graph() -> tuple[tf.Graph, tf.Tensor]:
        graph = tf.Graph()
        with graph.as_default():
            x = tf1.placeholder(tf.float32, [], name="x")

            @tf.function
            def double(v):
                return v * 2.0

            out = tf.identity(double(x) + 1.0, name="out")
        return graph, out

    def copies(target: tf.Graph, source: tf.Graph, together: bool) -> list:
        def copier(namespace: str) -> Copier:
            return Copier(source, target, namespace, modes=mode_rule("init"))

        if not together:
            return [copier(ns).copy(["out"]) for ns in ("A", "B", "C")]
        return list(import_together([copier(ns).prepare(["out"]) for ns in ("A", "B", "C")]))

    source, _ = functional_graph()
    results = {}
    for together in (False, True):
        target = tf.Graph()
        results[together] = [(r.ops, dict(r.functions_renamed), dict(r.variables))
                             for r in copies(target, source, together)]
        # the function went into the target once, with the first copy
        assert len(target.as_graph_def().library.function) == 1
    assert results[True] == results[False]


def test_copies_of_two_sources_with_functions_import_apart(monkeypatch) -> None:
    encoder = (Path(__file__).resolve().parents[1] / "specs" / "models" / "encoder").as_posix()
    text = (f'graphdsl 1\nsource e1 = savedmodel("{encoder}")\nsource e2 = savedmodel("{encoder}")\n'
            + "".join(f'copy {ns} from {source} {{ take = "@features"  variables = value }}\n'
                      for ns, source in (("A", "e1"), ("B", "e1"), ("C", "e2"), ("D", "e2"), ("E", "e1"))))
    def read(composition: Composition) -> tuple[list[str], bytes]:
        graph_def = composition.graph.as_graph_def()
        return [n.name for n in graph_def.node], graph_def.library.SerializeToString(deterministic=True)

    seen, expected, grouped, alone = compose_both_ways(monkeypatch, load_spec_text(text), read)
    assert seen == expected
    assert len(alone) == 5 and len(grouped) == 3  # A and B; C and D; E
