"""Write a picture (``.dot``, ``.svg``, ``.png``) or a TensorBoard event file of a composed graph.

``.dot`` is DOT text and needs nothing. ``.svg`` and ``.png`` are drawn by Graphviz's ``dot``
program, through the ``graphviz`` Python package when it is installed (``pip install
'graphdsl[view]'``), else by running ``dot`` directly; without ``dot`` the error says how to
install it. A file is written whole or not at all: a failed drawing leaves an earlier one intact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tensorflow.core.framework import graph_pb2, node_def_pb2

from graphdsl.assemble.files import write_atomically
from graphdsl.errors import GraphDslError, unwritable

FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
LARGE_CONSTANT = 256  # bytes: bigger constants are elided from a TensorBoard graph
INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
                "graphviz) and its Python package (pip install 'graphdsl[view]'), or write a .dot file")


def write_picture(dot_text: str, out: str | os.PathLike) -> Path:
    """Writes ``dot_text`` to ``out`` in the format its suffix names; returns the path."""
    path = Path(out)
    form = FORMATS.get(path.suffix.lower())
    if form is None:
        raise GraphDslError(f"{path}: cannot draw a '{path.suffix or 'suffix-less'}' file",
                            hint="name the output FILE.dot, FILE.svg or FILE.png")
    data = dot_text.encode() if form == "dot" else run_dot(dot_text, form)
    _write_whole(path, data)
    return path


def run_dot(dot_text: str, form: str) -> bytes:
    """The drawing of ``dot_text`` in ``form`` (``svg``, ``png``), by Graphviz's ``dot``."""
    try:
        import graphviz
    except ImportError:
        return _run_dot_program(dot_text, form)
    try:
        return graphviz.Source(dot_text).pipe(format=form)
    except graphviz.ExecutableNotFound:
        raise GraphDslError(f"drawing a .{form} needs Graphviz's 'dot' program, which is not installed",
                            hint=INSTALL_HINT) from None
    except graphviz.CalledProcessError as e:
        raise GraphDslError(f"Graphviz's dot failed: {_first_line(e.stderr)}",
                            hint="write a .dot file and report the problem") from None


def _run_dot_program(dot_text: str, form: str) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise GraphDslError(f"drawing a .{form} needs Graphviz's 'dot' program, which is not installed",
                            hint=INSTALL_HINT)
    result = subprocess.run([dot, f"-T{form}"], input=dot_text.encode(), capture_output=True)
    if result.returncode != 0:
        raise GraphDslError(f"Graphviz's dot failed: {_first_line(result.stderr)}",
                            hint="write a .dot file and report the problem")
    return result.stdout


def _first_line(stderr: bytes | str | None) -> str:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    return text.strip().splitlines()[0] if text.strip() else "no message"


def _write_whole(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise GraphDslError(f"{path}: is a directory", hint="name a file to write")
    try:  # as a build's outputs are written: whole, with the usual permissions, under a short temporary name
        write_atomically(path, data)
    except OSError as e:
        raise unwritable(e, path) from None


# -- TensorBoard -----------------------------------------------------------------------------------


def write_tensorboard(graph_def: graph_pb2.GraphDef, logdir: str | os.PathLike) -> Path:
    """Writes ``graph_def`` (large constants elided) as an event file TensorBoard's graph dashboard
    shows; returns the event file. Name scopes, so namespaces, are TensorBoard's groups."""
    import tensorflow as tf

    directory = Path(logdir)
    if directory.exists() and not directory.is_dir():
        raise GraphDslError(f"{directory}: not a directory", hint="give --tensorboard a log directory")
    before = set(directory.iterdir()) if directory.is_dir() else set()
    slim = elide_constants(graph_def)
    try:
        # FileWriter refuses eager mode; inside a graph context it writes a plain graph event.
        with tf.Graph().as_default():
            writer = tf.compat.v1.summary.FileWriter(str(directory))
            writer.add_graph(None, graph_def=slim)
            writer.close()
    except (OSError, tf.errors.OpError) as e:
        raise GraphDslError(f"{directory}: cannot write a TensorBoard event file: {e}",
                            hint="check the directory") from None
    written = sorted(set(directory.iterdir()) - before)
    return written[-1] if written else directory


def elide_constants(graph_def: graph_pb2.GraphDef, limit: int = LARGE_CONSTANT) -> graph_pb2.GraphDef:
    """A copy of ``graph_def`` whose constants over ``limit`` bytes keep their dtype and shape only.

    An elided constant's node gets the attribute ``_graphdsl_elided_bytes`` (its size), which
    TensorBoard shows among the node's attributes. Function bodies are treated the same way.
    """
    slim = graph_pb2.GraphDef()
    slim.CopyFrom(graph_def)
    for node in slim.node:
        _elide(node, limit)
    for function in slim.library.function:
        for node in function.node_def:
            _elide(node, limit)
    return slim


def _elide(node: node_def_pb2.NodeDef, limit: int) -> None:
    if node.op != "Const" or "value" not in node.attr:
        return
    tensor = node.attr["value"].tensor
    size = tensor.ByteSize()
    if size <= limit:
        return
    shape, dtype = type(tensor.tensor_shape)(), tensor.dtype
    shape.CopyFrom(tensor.tensor_shape)
    tensor.Clear()
    tensor.dtype = dtype
    tensor.tensor_shape.CopyFrom(shape)
    node.attr["_graphdsl_elided_bytes"].i = size
