"""Canonical bytes for exported graphs: one graph gives one file, in any process, on any run.

TensorFlow names functions with process-wide counters (``__inference_scale_122``,
``while_body_18_grad_71``), so the same graph built twice in one process, or after another graph,
carries other names; and it serializes maps (node attributes, signatures, collections) in an order
that may differ between processes. An export is made canonical by

- renaming every function to ``STEM_K``: its name without TensorFlow's counters
  (:func:`function_stem`) and ``K``, the order in which a walk of the graph first reaches a
  function of that stem (nodes by name, attributes by key, then into the function's body); every
  reference follows (call ops, function-valued and nested attributes, ``forward_function_name``
  strings, the gradient table, function aliases, a SavedModel's object graph);
- renumbering ``CustomGradient-N`` gradient keys in the same walk;
- sorting the graph's nodes by name and the library's functions and gradients by name;
- serializing with ``deterministic=True`` (map entries sorted by key).

None of this changes what the graph computes: node order carries no meaning in a GraphDef, and a
function's name only links its callers to it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator

from google.protobuf import message, text_format
from tensorflow.core.framework import attr_value_pb2, function_pb2, graph_pb2, node_def_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.lang import schema
from graphdsl.tf import internals

_COUNTER = re.compile(r"_\d+(?=_|$)")
_CUSTOM_GRADIENT = re.compile(r"CustomGradient-\d+")
_GRADIENT_OP_TYPE = "_gradient_op_type"
_FUNCTION_NAME_ATTRS = ("forward_function_name", "backward_function_name")


def function_stem(name: str) -> str:
    """``name`` without TensorFlow's counters: ``while_body_18_grad_71`` -> ``while_body_grad``."""
    return _COUNTER.sub("", name) or name


# -- the walk ---------------------------------------------------------------------------------------


def _attr_names(attr: attr_value_pb2.AttrValue, library: dict) -> Iterator[str]:
    """Function names an attribute refers to: function values (nested too) and name strings."""
    kind = attr.WhichOneof("value")
    if kind == "func":
        yield attr.func.name
        for key in sorted(attr.func.attr):
            yield from _attr_names(attr.func.attr[key], library)
    elif kind == "list":
        for func in attr.list.func:
            yield func.name
            for key in sorted(func.attr):
                yield from _attr_names(func.attr[key], library)
    elif kind == "s" and attr.s.decode("utf-8", "replace") in library:
        yield attr.s.decode("utf-8")  # forward_function_name, backward_function_name


class _Scanner:
    """Which nodes name functions: the calls of a library function, and ops with function attrs.

    A registered op whose definition has no ``func`` or ``list(func)`` attribute names none, so
    most nodes are passed over by their type alone (a graph holds few types, many nodes).
    """

    def __init__(self, library: dict) -> None:
        self.library = library
        self._scan: dict[str, bool] = {}

    def _scanned(self, op: str) -> bool:
        if op not in self._scan:
            op_def = internals.op_def(op)
            self._scan[op] = op_def is None or any(a.type in ("func", "list(func)") for a in op_def.attr)
        return self._scan[op]

    def names(self, node: node_def_pb2.NodeDef) -> list[str]:
        """The functions ``node`` names, in a canonical order (its op, then attributes by key)."""
        found = [node.op] if node.op in self.library else []
        if self._scanned(node.op):
            for key in sorted(node.attr):
                found.extend(_attr_names(node.attr[key], self.library))
        return found

    def function_names(self, fdef: function_pb2.FunctionDef, gradients: dict[str, str]) -> list[str]:
        found = [n for key in sorted(fdef.attr) for n in _attr_names(fdef.attr[key], self.library)]
        for node in sorted(fdef.node_def, key=lambda n: n.name):
            found.extend(self.names(node))
        if fdef.signature.name in gradients:
            found.append(gradients[fdef.signature.name])
        return found


def _walk(nodes: list[node_def_pb2.NodeDef], library: function_pb2.FunctionDefLibrary
          ) -> tuple[dict[str, str], list[node_def_pb2.NodeDef]]:
    """The renames, walking from ``nodes`` in their order, and the nodes that name a function."""
    functions = {f.signature.name: f for f in library.function}
    gradients = {g.function_name: g.gradient_func for g in library.gradient}
    scanner = _Scanner(functions)
    order: dict[str, None] = {}

    def visit(names: Iterable[str]) -> None:
        stack = list(reversed(list(names)))
        while stack:  # depth first, in the order the names were listed
            name = stack.pop()
            if name in order or name not in functions:
                continue
            order[name] = None
            stack.extend(reversed(scanner.function_names(functions[name], gradients)))

    callers, roots = [], []
    for node in nodes:
        names = scanner.names(node)
        if names:
            callers.append(node)
            roots.extend(names)
    visit(roots)
    # Functions nothing calls: ordered by content, which holds no counter of their own name.
    visit(sorted((f for f in functions if f not in order), key=lambda f: _content_key(functions[f])))
    renames: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in order:
        stem = function_stem(name)
        renames[name] = f"{stem}_{counts.get(stem, 0)}"
        counts[stem] = counts.get(stem, 0) + 1
    return renames, callers


def _content_key(fdef: function_pb2.FunctionDef) -> tuple[str, bytes]:
    clone = function_pb2.FunctionDef()
    clone.CopyFrom(fdef)
    clone.signature.name = ""
    return function_stem(fdef.signature.name), clone.SerializeToString(deterministic=True)


# -- renaming ---------------------------------------------------------------------------------------


def _rename_attr(key: str, attr: attr_value_pb2.AttrValue, renames: dict[str, str]) -> None:
    kind = attr.WhichOneof("value")
    funcs = [attr.func] if kind == "func" else list(attr.list.func) if kind == "list" else []
    for func in funcs:
        func.name = renames.get(func.name, func.name)
        for nested_key, nested in func.attr.items():
            _rename_attr(nested_key, nested, renames)
    if kind == "s":
        text = attr.s.decode("utf-8", "replace")
        if text in renames:
            attr.s = renames[text].encode("utf-8")
        elif key in _FUNCTION_NAME_ATTRS:
            # names a function the export left out (a frozen graph keeps no backward function)
            attr.s = function_stem(text).encode("utf-8")


def _rename_node(node: node_def_pb2.NodeDef, renames: dict[str, str]) -> None:
    node.op = renames.get(node.op, node.op)
    for key, attr in node.attr.items():
        if key != _GRADIENT_OP_TYPE:
            _rename_attr(key, attr, renames)


def _renumber_gradient_keys(nodes: Iterable[node_def_pb2.NodeDef], keys: dict[str, str]) -> None:
    """``CustomGradient-N`` keys come from a process-wide counter: numbered in ``nodes``' order."""
    for node in nodes:
        if _GRADIENT_OP_TYPE in node.attr:
            attr = node.attr[_GRADIENT_OP_TYPE]
            old = attr.s.decode("utf-8", "replace")
            if _CUSTOM_GRADIENT.fullmatch(old):
                keys.setdefault(old, f"CustomGradient-{len(keys)}")
                attr.s = keys[old].encode("utf-8")


def canonicalize_graph_def(graph_def: graph_pb2.GraphDef) -> dict[str, str]:
    """Makes ``graph_def`` canonical in place (see the module docstring); returns the renames."""
    renames = _order_graph_def(graph_def)
    _renumber_graph_def(graph_def)
    return renames


def _order_graph_def(graph_def: graph_pb2.GraphDef) -> dict[str, str]:
    """Sorts ``graph_def``'s nodes, renames its functions and sorts its library; returns the renames."""
    graph_def.node.sort(key=lambda n: n.name)
    library = graph_def.library
    renames: dict[str, str] = {}
    if library.function:
        renames, callers = _walk(list(graph_def.node), library)
        for node in callers:
            _rename_node(node, renames)
        for fdef in library.function:
            fdef.signature.name = renames.get(fdef.signature.name, fdef.signature.name)
            for key, attr in fdef.attr.items():
                _rename_attr(key, attr, renames)
            for node in fdef.node_def:
                _rename_node(node, renames)
        gradients = sorted((renames.get(g.function_name, g.function_name),
                            renames.get(g.gradient_func, g.gradient_func)) for g in library.gradient)
        library.function.sort(key=lambda f: f.signature.name)
        del library.gradient[:]
        for name, grad in gradients:
            library.gradient.add(function_name=name, gradient_func=grad)
    return renames


def _renumber_graph_def(graph_def: graph_pb2.GraphDef) -> None:
    """Renumbers the ``CustomGradient-N`` keys of an ordered ``graph_def``: nodes, then functions."""
    keys: dict[str, str] = {}
    _renumber_gradient_keys(graph_def.node, keys)
    for fdef in graph_def.library.function:
        _renumber_gradient_keys(sorted(fdef.node_def, key=lambda n: n.name), keys)


def canonicalize_meta_graph(meta: meta_graph_pb2.MetaGraphDef) -> None:
    """Makes a MetaGraphDef canonical in place: its graph, function aliases and object graph."""
    _order_meta_graph(meta)
    _renumber_graph_def(meta.graph_def)


def _order_meta_graph(meta: meta_graph_pb2.MetaGraphDef) -> None:
    renames = _order_graph_def(meta.graph_def)
    aliases = meta.meta_info_def.function_aliases
    for key in list(aliases):
        aliases[key] = renames.get(aliases[key], aliases[key])
    if meta.HasField("object_graph_def"):
        _rename_object_graph(meta.object_graph_def, renames)


def canonical_bytes(proto: meta_graph_pb2.MetaGraphDef | saved_model_pb2.SavedModel) -> bytes:
    """Makes a MetaGraphDef or a SavedModel canonical in place and returns its canonical bytes.

    The same as :func:`canonicalize_meta_graph` on each MetaGraphDef, then :func:`serialize`,
    but each node is looked at for ``CustomGradient-N`` keys only when the bytes hold the
    attribute's name somewhere (few graphs do; the look costs a pass over every node).
    """
    metas = list(proto.meta_graphs) if isinstance(proto, saved_model_pb2.SavedModel) else [proto]
    for meta in metas:
        _order_meta_graph(meta)
    data = serialize(proto)
    if _GRADIENT_OP_TYPE.encode("utf-8") in data:
        for meta in metas:
            _renumber_graph_def(meta.graph_def)
        data = serialize(proto)
    return data


def _rename_object_graph(graph, renames: dict[str, str]) -> None:
    """A TF2 SavedModel's object graph names concrete functions: they follow the renames."""
    functions = graph.concrete_functions
    for old in list(functions):
        if old in renames and renames[old] != old:
            functions[renames[old]].CopyFrom(functions[old])
            del functions[old]
    for node in graph.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            names = [renames.get(n, n) for n in node.function.concrete_functions]
            del node.function.concrete_functions[:]
            node.function.concrete_functions.extend(names)
        elif kind == "bare_concrete_function":
            name = node.bare_concrete_function.concrete_function_name
            node.bare_concrete_function.concrete_function_name = renames.get(name, name)


# -- files ------------------------------------------------------------------------------------------


def serialize(proto: message.Message) -> bytes:
    """The canonical bytes of ``proto``: map entries in key order."""
    return proto.SerializeToString(deterministic=True)


def canonicalize_savedmodel(directory: Path) -> None:
    """Rewrites ``DIR/saved_model.pb`` canonically (and its fingerprint, when TensorFlow wrote one)."""
    path = directory / "saved_model.pb"
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString(path.read_bytes())
    write_savedmodel(directory, canonical_bytes(saved))


def write_savedmodel(directory: Path, data: bytes) -> None:
    """Writes ``data`` as ``DIR/saved_model.pb`` (and its fingerprint again, when TensorFlow wrote one)."""
    (directory / "saved_model.pb").write_bytes(data)
    if (directory / "fingerprint.pb").exists():  # it hashes saved_model.pb: compute it again
        internals.write_fingerprint(str(directory))


def canonicalize_metagraph_file(path: Path) -> None:
    """Rewrites a binary ``.meta`` file canonically."""
    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString(path.read_bytes())
    path.write_bytes(canonical_bytes(meta))


def canonicalize_graphdef_file(path: Path) -> None:
    """Rewrites a GraphDef file (``.pb`` binary, ``.pbtxt`` text) canonically."""
    graph_def = graph_pb2.GraphDef()
    if path.suffix == schema.TEXT_SUFFIX:
        text_format.Parse(path.read_text(encoding="utf-8"), graph_def)
        canonicalize_graph_def(graph_def)
        path.write_text(text_format.MessageToString(graph_def), encoding="utf-8")  # sorts map keys
    else:
        graph_def.ParseFromString(path.read_bytes())
        canonicalize_graph_def(graph_def)
        path.write_bytes(serialize(graph_def))


def canonicalize_exports(directory: Path, exports: Iterable[tuple[str, str]]) -> None:
    """Rewrites the graph files of ``exports`` (``(kind, path)`` pairs) under ``directory``.

    Checkpoints need nothing: TensorFlow writes their tensors sorted by name, with no timestamp.
    """
    for kind, name in exports:
        if kind == "savedmodel":
            canonicalize_savedmodel(directory / name)
        elif kind == "metagraph":
            canonicalize_metagraph_file(directory / schema.export_file(kind, name))
        else:
            canonicalize_graphdef_file(directory / name)
