"""A chain of copies, each wired to the one before it, goes through one import, as if each ran alone.

A ``bind`` to a tensor that a queued copy makes is read as a future tensor: the merged import
names it as the copy's node, where one import per copy would map it to the live tensor. What a
user sees must not change: the graph (bytes of every NodeDef, control inputs in their order), the
reports, the values, and the errors of a bind, which name the bind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble.compose import Composition, compose
from graphdsl.errors import BuildError
from graphdsl.lang.load import load_spec_text
from graphdsl.tf import internals
from imports import compose_both_ways, copies_alone, refuse_merged_imports  # tests/imports.py

tf1 = tf.compat.v1

X = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)


def _source(directory: Path) -> str:
    """A MetaGraph + checkpoint: a dense layer, an op with a control input, a wide and an int output."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        w = tf1.get_variable("w", initializer=np.full([3, 3], 0.5, np.float32), use_resource=True)
        tf.nn.relu(tf.matmul(x, w) + 1.0, name="out")
        first = tf.identity(x, name="first")
        side = tf.identity(x, name="side")
        with tf.control_dependencies([first.op]):
            tf.identity(side * 2.0, name="after")  # reads side, waits for first
        tf.concat([x, x], 1, name="wide")
        tf.cast(x, tf.int32, name="int")
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(session, str(directory / "m.ckpt"), write_meta_graph=False)
        tf1.train.export_meta_graph(str(directory / "m.meta"))
    meta, checkpoint = (directory / "m.meta").as_posix(), (directory / "m.ckpt").as_posix()
    return f'graphdsl 1\nsource s = metagraph("{meta}", checkpoint = "{checkpoint}")\n'


def _chain(directory: Path, length: int = 4) -> str:
    """A stack of layers, a copy waiting on the one before it, a chain through lets."""
    lines = [_source(directory), 'copy L0 from s { take = "out" }\n']
    for k in range(1, length):
        mode = "  variables = value" if k % 2 else ""
        lines.append(f'copy L{k} from s {{ take = "out"  bind "x:0" = L{k - 1}["out:0"]{mode} }}\n')
    last = f"L{length - 1}"
    lines += [f'copy W from s {{ take = "after"  bind "first:0" = {last}["out:0"]  bind "x:0" = L0["out:0"] }}\n',
              'let top = W["after:0"]\n', 'let again = top\n',
              'copy T from s { take = "out"  bind "x:0" = again }\n']
    return "".join(lines)


def _seen(composition: Composition) -> dict:
    graph_def = composition.graph.as_graph_def()
    for node in graph_def.node:
        if node.op == "PyFunc":  # a value copy's callback: its token counts up in the process
            del node.attr["token"]
    session = composition.session
    fetch = [composition.tensor(f'{ns}["out:0"]') for ns in ("L0", "L1", "L2", "L3", "T")]
    return {"nodes": [n.SerializeToString(deterministic=True) for n in graph_def.node],
            "reports": [(r.namespace, r.ops, r.variables, r.binds, r.stops) for r in composition.reports],
            "values": [v.tobytes() for v in session.run(fetch, {composition.tensor('L0["x:0"]'): X})]}


@pytest.mark.usefixtures("copy_path")
def test_a_chain_of_copies_imports_together_as_one_by_one(tmp_path: Path, monkeypatch) -> None:
    def read(composition: Composition) -> dict:
        # the control input on the bound op reaches the copy bound in its place
        waiting = [op for op in composition.graph.get_operations()
                   if op.name.startswith("W/") and op.control_inputs]
        assert waiting and all([c.name for c in op.control_inputs] == ["L3/out"] for op in waiting)
        return _seen(composition)

    seen, expected, grouped, alone = compose_both_ways(monkeypatch, load_spec_text(_chain(tmp_path)), read)
    for key in expected:
        assert seen[key] == expected[key], key
    assert len(alone) == 6
    assert len(grouped) == (1 if internals.fast_import_works() else 6)


def test_a_chain_refused_together_is_imported_copy_by_copy(tmp_path: Path, monkeypatch) -> None:
    text = _chain(tmp_path)
    with compose(load_spec_text(text)) as first:
        expected = [n.SerializeToString(deterministic=True) for n in first.graph.as_graph_def().node
                    if n.op != "PyFunc"]
    refuse_merged_imports(monkeypatch)
    with compose(load_spec_text(text)) as composition:
        assert [n.SerializeToString(deterministic=True) for n in composition.graph.as_graph_def().node
                if n.op != "PyFunc"] == expected


def _error(text: str) -> BuildError:
    with pytest.raises(BuildError) as info:
        compose(load_spec_text(text, "bad.gcomp"))
    return info.value


def _error_as_alone(text: str, monkeypatch: pytest.MonkeyPatch) -> BuildError:
    """The error composing ``text`` raises, checked to be the one (message, line, column) it
    raises with every copy imported alone."""
    together = _error(text)
    copies_alone(monkeypatch)
    alone = _error(text)
    assert together.span is not None and alone.span is not None
    assert (together.message, together.span.line, together.span.column) == (
        alone.message, alone.span.line, alone.span.column)
    return together


@pytest.mark.parametrize("bind, message", [
    ('bind "x:0" = A["wide:0"]', "the shapes are incompatible"),
    ('bind "x:0" = A["int:0"]', "the dtypes differ"),
    ('bind "x:0" = wide', "the shapes are incompatible"),
])
def test_a_bind_to_a_queued_copy_fails_as_alone(tmp_path: Path, monkeypatch, bind: str, message: str) -> None:
    text = (_source(tmp_path) + 'copy A from s { take = ["wide", "int"] }\n' + 'let wide = A["wide:0"]\n'
            + f'copy B from s {{\n    take = "out"\n    {bind}\n}}\n'
            + 'copy C from s { take = "nothing" }\n')
    together = _error_as_alone(text, monkeypatch)
    assert message in together.message
    assert together.span is not None and together.span.line == 7  # the bind's own line


def test_a_bind_to_a_queued_copy_fails_before_what_the_copier_refuses(tmp_path: Path, monkeypatch) -> None:
    # the bind's shapes differ (known once A is imported); the walk is told to stop at an op it needs
    text = (_source(tmp_path) + 'copy A from s { take = "wide" }\n'
            + 'copy B from s {\n    take = ["out", "side"]\n    stop_at = "side:0"\n'
            + '    bind "x:0" = A["wide:0"]\n}\n')
    assert "the shapes are incompatible" in _error_as_alone(text, monkeypatch).message


def test_a_bad_take_is_named_before_a_bad_bind_to_a_queued_copy(tmp_path: Path, monkeypatch) -> None:
    text = (_source(tmp_path) + 'copy A from s { take = "wide" }\n'
            + 'copy B from s {\n    take = "nothing"\n    bind "x:0" = A["nowhere:0"]\n}\n')
    assert "has no op 'nothing'" in _error_as_alone(text, monkeypatch).message


def test_binds_no_future_can_stand_for_import_the_queue_first(tmp_path: Path, monkeypatch) -> None:
    # a variable, a placeholder made at a stop (also through a let): resolved once the queue is imported
    text = (_source(tmp_path)
            + 'copy A from s { take = "out"  stop_at = "x:0" }\n'
            + 'copy B from s { take = "out"  bind "x:0" = A["x:0"] }\n'
            + 'copy C from s { take = "out"  bind "w:0" = A["w"] }\n'
            + 'copy D from s { take = "out"  stop_at = "x:0"  variables = value }\n'
            + 'let a = A["x:0"]\n'
            + 'copy E from s { take = "out"  bind "x:0" = a }\n')
    def read(composition: Composition) -> list[bytes]:
        assert composition.tensor('B["x:0"]') is composition.tensor('A["x:0"]')
        return [n.SerializeToString(deterministic=True) for n in composition.graph.as_graph_def().node
                if n.op != "PyFunc"]

    seen, expected, grouped, _ = compose_both_ways(monkeypatch, load_spec_text(text), read)
    assert seen == expected
    if internals.fast_import_works():
        assert len(grouped) == 4  # A; B; C and D; E (after the lets, which the queue holds)
