"""``graphdsl inspect SOURCE``: what a source graph holds, in the words a spec uses.

:func:`inspect` loads a source the way a spec's ``source`` statement does (through
:func:`~graphdsl.tf.sources.load_source`), or every export of a build's output directory, and
returns a report as plain data (the structure ``--json`` prints and the README documents): the
signatures with their ``"@KEY"`` references, the placeholders, the variables and the copy modes
each allows, the ops grouped by name scope, and for one element its inputs, consumers and what
copying it brings along (found by the copier's own walk, on a throwaway target).
:mod:`graphdsl.tools.inspect_text` renders the report as text.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from graphdsl.errors import CopyError, GraphDslError, SourceError, did_you_mean
from graphdsl.lang import schema
from graphdsl.tf.copier import Copier
from graphdsl.tf.variables import MODES, mode_rule
from graphdsl.tf.functions import needed_functions
from graphdsl.tf.index import VARIABLE_OPS, SourceIndex, index_of
from graphdsl.tf.sources import LoadedSource, load_source
from graphdsl.tools import progress
from graphdsl.assemble.manifest import is_build_output
from graphdsl.tools.outdir import describe, export_source, open_build_output, read_savedmodel, select_exports

REPORT_VERSION = 1
PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderWithDefault", "PlaceholderV2"})


def inspect(source: str, *, checkpoint: str | None = None, tags: list[str] | None = None,
            args: dict[str, Any] | None = None, export: str | None = None, depth: int = 1,
            match: str | None = None, op: str | None = None) -> dict[str, Any]:
    """The report of ``source``: a graph file, a SavedModel, ``FILE.py:FUNCTION`` or a build's OUTDIR.

    ``checkpoint`` goes with a ``.meta``, ``tags`` with a SavedModel (default: its only MetaGraph,
    else ``serve``), ``args`` are a builder's keyword arguments; ``export`` picks one export of an
    OUTDIR. ``depth`` and ``match`` shape the ops by name scope; ``op`` asks for one element.
    """
    if depth < 0:
        raise GraphDslError(f"--depth must be 0 or more, not {depth}")
    if op is not None and not schema.GLOB_CHARS.isdisjoint(op):
        raise GraphDslError(f"--op takes one name, not the pattern '{op}'",
                            hint="list the ops a pattern matches with --match")
    kind, path = classify(source)
    _check_flags(source, kind, checkpoint=checkpoint, tags=tags, args=args, export=export)
    settings = {"depth": depth, "match": match, "op": op}
    if kind == "outdir":
        manifest = open_build_output(path)
        graphs = []
        for entry in select_exports(path, manifest.exports, export):
            export_kind, export_path, export_options = export_source(path, entry)
            graphs.append(_inspect_one(export_kind, export_path, export_options, entry.path, settings))
        return {"version": REPORT_VERSION, "target": source, "outdir": describe(path, manifest), "graphs": graphs}
    options: dict[str, Any] = {}
    if kind == "metagraph" and checkpoint is not None:
        options["checkpoint"] = checkpoint
    elif kind == "savedmodel" and tags is not None:
        options["tags"] = tags
    elif kind == "python":
        options = dict(args or {})
    graph = _inspect_one(kind, path, options, None, settings)
    return {"version": REPORT_VERSION, "target": source, "outdir": None, "graphs": [graph]}


def classify(source: str) -> tuple[str, Path]:
    """The kind of ``source`` (a source kind, or ``outdir``) and its path, from its name alone."""
    file, sep, function = source.rpartition(":")
    if sep and file.endswith(schema.PYTHON_SUFFIX):
        if not Path(file).is_file():
            raise SourceError(f"{file}: no such file", hint="check the path")
        return "python", Path(source)
    path = Path(source)
    if path.is_dir():
        if is_build_output(path):
            return "outdir", path
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "savedmodel", path
        raise SourceError(f"{path}: neither a SavedModel directory nor a build's output directory",
                          hint="name a SavedModel directory (with saved_model.pb) or a directory "
                          "'graphdsl build -o' wrote (with graphdsl-build.yaml)")
    if path.suffix == schema.PYTHON_SUFFIX:
        raise SourceError(f"'{source}' names no function of the Python file",
                          hint=f"write '{source}:FUNCTION', the function that builds the graph")
    kind = schema.kind_for_suffix(path.suffix)
    if kind is not None:
        if not path.is_file():
            raise SourceError(f"{path}: no such file", hint="check the path")
        return kind, path
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory", hint="check the path")
    hint = ("inspect a source it names, or draw it with 'graphdsl graph'" if path.suffix == schema.SPEC_SUFFIX
            else "give a .pb or .pbtxt GraphDef, a .meta MetaGraph, a SavedModel directory, "
            "FILE.py:FUNCTION or a build's output directory")
    raise SourceError(f"{path}: not a source graphdsl can inspect", hint=hint)


def _check_flags(source: str, kind: str, **given: Any) -> None:
    """Refuses an option the kind of ``source`` would silently ignore."""
    allowed = {"checkpoint": ("metagraph",), "tags": ("savedmodel",), "args": ("python",),
               "export": ("outdir",)}
    flag = {"args": "--arg"}
    for name, value in given.items():
        if value and kind not in allowed[name]:
            what = "a build's output directory" if kind == "outdir" else f"a {kind} source"
            raise GraphDslError(f"{flag.get(name, '--' + name)} does not apply to {what} ('{source}')",
                                hint=f"{flag.get(name, '--' + name)} goes with "
                                f"{' or '.join(_KIND_WORDS[k] for k in allowed[name])}")


_KIND_WORDS = {"metagraph": "a .meta file", "savedmodel": "a SavedModel directory",
               "python": "FILE.py:FUNCTION", "outdir": "a build's output directory"}


# -- one graph ------------------------------------------------------------------------------------


def _inspect_one(kind: str, path: Path, options: dict[str, Any], export: str | None,
                 settings: dict[str, Any]) -> dict[str, Any]:
    meta = None
    if kind == "savedmodel":
        meta, tags = read_savedmodel(path, options.get("tags"))
        options = {**options, "tags": tags}
        names = [k for k in meta.signature_def if not k.startswith("__")]
        if names and schema.DEFAULT_SIGNATURE not in names:
            options["signature"] = sorted(names)[0]  # the loader needs one it has
    with progress.task(f"loading {kind} {path}"):
        try:
            loaded = load_source(kind, path, options, Path.cwd())
        except GraphDslError as e:  # name the path as the user wrote it
            e.message = e.message.replace(str(Path.cwd()) + os.sep, "")
            raise
    try:
        return _report(loaded, path, meta, export, settings)
    finally:
        loaded.close()


def _report(loaded: LoadedSource, path: Path, meta: meta_graph_pb2.MetaGraphDef | None, export: str | None,
            settings: dict[str, Any]) -> dict[str, Any]:
    index = index_of(loaded.graph)
    options = {k: v for k, v in loaded.options.items() if k != "signature"}
    if "checkpoint" in options:
        options["checkpoint"] = str(options["checkpoint"])
    variables = _variables(loaded, index)
    match = settings["match"]
    report = {
        "kind": loaded.kind,
        "path": str(path),
        "export": export,
        "options": options,
        "counts": {"ops": len(index.nodes), "variables": len(variables), "functions": len(index.functions)},
        "values": loaded.has_values,
        "signatures": _signatures(loaded, meta) if meta is not None else [],
        "placeholders": [_tensor(loaded.graph, n + ":0") for n, node in index.nodes.items()
                         if node.op in PLACEHOLDER_OPS and _matches(n, match)],
        "variables": [v for v in variables if _matches(v["name"], match)],
        "functions": [{"name": name, "nodes": len(f.node_def)} for name, f in sorted(index.functions.items())],
        "scopes": scopes(index, settings["depth"], match),
        "op": _element(loaded, path, index, settings["op"]) if settings["op"] is not None else None,
    }
    return report


def _matches(name: str, pattern: str | None) -> bool:
    return pattern is None or fnmatch.fnmatchcase(name, pattern)


def _signatures(loaded: LoadedSource, meta: meta_graph_pb2.MetaGraphDef) -> list[dict[str, Any]]:
    found = []
    for name in sorted(meta.signature_def, key=lambda n: (n != schema.DEFAULT_SIGNATURE, n)):
        if name.startswith("__"):  # __saved_model_init_op is not a signature
            continue
        sig = meta.signature_def[name]
        both = set(sig.inputs) & set(sig.outputs)  # "@KEY" cannot name those
        entry: dict[str, Any] = {
            "name": name,
            "method": sig.method_name,
            "option": None if name == schema.DEFAULT_SIGNATURE else f'signature = "{name}"',
        }
        for side, infos in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            entry[side] = [{"key": key, "ref": None if key in both else f"@{key}",
                            **_tensor_info(infos[key])} for key in sorted(infos)]
        found.append(entry)
    return found


def _tensor_info(info: meta_graph_pb2.TensorInfo) -> dict[str, Any]:
    shape = tf.TensorShape(info.tensor_shape)
    return {"tensor": info.name, "dtype": tf.as_dtype(info.dtype).name, "shape": _shape(shape)}


def _tensor(graph: tf.Graph, name: str) -> dict[str, Any]:
    tensor = graph.get_tensor_by_name(name)
    return {"tensor": name, "dtype": tensor.dtype.name, "shape": _shape(tensor.shape)}


def _shape(shape: tf.TensorShape) -> list[int | None] | None:
    return None if shape.rank is None else shape.as_list()


def _variables(loaded: LoadedSource, index: SourceIndex) -> list[dict[str, Any]]:
    found = []
    for name, node in index.nodes.items():
        if node.op not in VARIABLE_OPS:
            continue
        vdef = index.variable_defs.get(name)
        initializer = bool(vdef is not None and vdef.initializer_name)
        modes = ([schema.INIT_MODE] if initializer else []) + ([schema.VALUE_MODE] if loaded.has_values else [])
        found.append({
            "name": name,
            "dtype": tf.as_dtype(node.attr["dtype"].type).name,
            "shape": _shape(tf.TensorShape(node.attr["shape"].shape)),
            "initializer": initializer,
            "modes": modes,
        })
    return found


def scopes(index: SourceIndex, depth: int, match: str | None) -> dict[str, Any]:
    """The ops matching ``match``, counted per name scope down to ``depth`` levels, in tree order.

    Each group is ``{"name", "level", "ops", "type"}``: ``ops`` counts the op called ``name`` (if
    any; ``type`` is its type) and every op below it.
    """
    counts: dict[str, int] = {}
    types: dict[str, str] = {}
    matched = 0
    for name, node in index.nodes.items():
        if not _matches(name, match):
            continue
        matched += 1
        parts = name.split("/")
        for level in range(1, min(depth, len(parts)) + 1):
            key = "/".join(parts[:level])
            counts[key] = counts.get(key, 0) + 1
        if len(parts) <= depth:
            types[name] = node.op
    groups = [{"name": key, "level": key.count("/") + 1, "ops": counts[key], "type": types.get(key)}
              for key in sorted(counts, key=lambda k: ([p.lower() for p in k.split("/")], k))]
    return {"depth": depth, "match": match, "ops": matched, "groups": groups}


# -- one element ----------------------------------------------------------------------------------


def _element(loaded: LoadedSource, path: Path, index: SourceIndex, text: str) -> dict[str, Any]:
    op = _find_op(loaded, path, index, text)
    graph = loaded.graph
    control_consumers = [n for n, node in index.nodes.items() if f"^{op.name}" in node.input]
    return {
        "name": op.name,
        "asked": text,
        "type": op.type,
        "inputs": [{**_tensor(graph, t.name), "op_type": t.op.type} for t in op.inputs],
        "control_inputs": [c.name for c in op.control_inputs],
        "outputs": [{**_tensor(graph, t.name), "consumers": [c.name for c in t.consumers()]}
                    for t in op.outputs],
        "control_consumers": control_consumers,
        "brings": {mode: _brings(loaded, index, op.name, mode) for mode in MODES},
    }


def _find_op(loaded: LoadedSource, path: Path, index: SourceIndex, text: str) -> tf.Operation:
    """The op ``text`` names: an op, a tensor (``op:0``), a variable or a signature key (``@key``)."""
    # "@key" and "@SIGNATURE/key" mean what they mean in a spec.
    name = loaded.signature_tensor(str(path), text[1:]) if text.startswith("@") else text
    op_name, colon, output = name.partition(":")
    if op_name not in index.nodes:
        raise GraphDslError(f"{path}: no op '{op_name}'",
                            hint=did_you_mean(op_name, index.nodes) or "list the ops with --depth or --match")
    op = loaded.graph.get_operation_by_name(op_name)
    if colon and (not output.isdigit() or int(output) >= len(op.outputs)):
        raise GraphDslError(f"{path}: op '{op_name}' has {len(op.outputs)} output(s), so no '{name}'",
                            hint=f"use an index below {len(op.outputs)}" if op.outputs else f"name the op '{op_name}'")
    return op


def _brings(loaded: LoadedSource, index: SourceIndex, op_name: str, mode: str) -> dict[str, Any]:
    """What ``take = "op_name"`` copies in ``mode``: the copier's walk, on an empty target."""
    entry: dict[str, Any] = {"possible": True, "reason": None, "ops": 0, "variables": [],
                             "placeholders": [], "functions": 0}
    copier = Copier(loaded.graph, tf.Graph(), "inspect", modes=mode_rule(mode))
    try:
        walk = copier.walk([op_name])
    except CopyError as e:  # a variable without initializer, in mode init
        return {**entry, "possible": False, "reason": e.message}
    nodes = index.nodes
    entry["ops"] = len(walk.needed)
    entry["variables"] = list(walk.variables)
    entry["placeholders"] = [n for n in walk.needed if nodes[n].op in PLACEHOLDER_OPS]
    entry["functions"] = len(needed_functions((nodes[n] for n in walk.needed), index))
    if mode == schema.VALUE_MODE and walk.variables and not loaded.has_values:
        entry["possible"] = False
        entry["reason"] = "the source holds no variable values (give a .meta its checkpoint)"
    return entry
