"""Function libraries: which functions a copy needs, and names that clash in the target.

Graphs saved by separate processes often hold different functions under one name
(``__inference_call_123``). A function whose name the target already uses for a different
definition is renamed, and every reference to it in the copied nodes and functions follows.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Iterator, Mapping

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2, function_pb2, graph_pb2, node_def_pb2

from graphdsl.tf import internals
from graphdsl.tf.registry import Registry
from graphdsl.tf.index import SourceIndex


def _attr_functions(attr: attr_value_pb2.AttrValue) -> Iterator[attr_value_pb2.NameAttrList]:
    kind = attr.WhichOneof("value")
    if kind == "func":
        yield attr.func
        yield from (f for a in attr.func.attr.values() for f in _attr_functions(a))
    elif kind == "list":
        for func in attr.list.func:
            yield func
            yield from (f for a in func.attr.values() for f in _attr_functions(a))


def holds_function(attr: attr_value_pb2.AttrValue) -> bool:
    """Whether attribute value ``attr`` names a function (what :func:`_attr_functions` reads),
    asked without a generator: most attributes hold none."""
    kind = attr.WhichOneof("value")
    return kind == "func" or (kind == "list" and len(attr.list.func) > 0)


def _node_functions(node: node_def_pb2.NodeDef, library: Mapping[str, object]) -> Iterator[str]:
    if node.op in library:
        yield node.op
    for attr in node.attr.values():
        for func in _attr_functions(attr):
            yield func.name


def node_functions(node: node_def_pb2.NodeDef, library: Mapping[str, object]) -> list[str]:
    """Names of the functions of ``library`` that ``node`` calls directly: its op or its attributes."""
    return [name for name in _node_functions(node, library) if name in library]


def needed_functions(nodes: Iterable[node_def_pb2.NodeDef], index: SourceIndex) -> list[str]:
    """Names of the source's library functions ``nodes`` call, directly or through other functions."""
    return reachable_functions(nodes, index.functions, index.gradients)


def reachable_functions(nodes: Iterable[node_def_pb2.NodeDef], library: dict,
                        gradients: dict[str, str]) -> list[str]:
    """Names of the functions of ``library`` (name -> FunctionDef) that ``nodes`` call.

    Follows calls through function bodies, function-valued attributes (also nested ones), and
    each reached function's gradient function (``gradients``: name -> gradient name).
    """
    if not library:
        return []
    pending = [name for node in nodes for name in _node_functions(node, library)]
    seen: dict[str, None] = {}
    while pending:
        name = pending.pop()
        if name in seen or name not in library:
            continue
        seen[name] = None
        fdef = library[name]
        pending.extend(n for node in fdef.node_def for n in _node_functions(node, library))
        pending.extend(
            f.name for attr in fdef.attr.values() for f in _attr_functions(attr)
        )
        if name in gradients:
            pending.append(gradients[name])
    return list(seen)


def _fingerprint(fdef: function_pb2.FunctionDef) -> bytes:
    return fdef.SerializeToString(deterministic=True)


def _existing_definition(graph: tf.Graph, registry: Registry, name: str) -> bytes | None:
    if name in registry.functions:
        return registry.functions[name]
    found, definition = internals.function_def(graph, name)
    if not found:
        return None
    return _fingerprint(definition) if definition is not None else b"<unknown>"


def attach_library(
    sub: graph_pb2.GraphDef,
    names: list[str],
    index: SourceIndex,
    graph: tf.Graph,
    registry: Registry,
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Puts the functions ``names`` into ``sub.library``, renamed where the target clashes.

    Functions the target already holds with the same definition are not sent again. Returns the
    functions added, name -> definition, for the registry to keep once the import succeeded, and
    the added ones that were renamed, source name -> target name.
    """
    added: dict[str, bytes] = {}
    if not names:
        return added, {}
    fdefs = {name: _copy(index.functions[name]) for name in names}
    renames: dict[str, str] = {}
    while True:  # renaming one function changes its callers' definitions: repeat to a fixed point
        fresh = {}
        for name, fdef in fdefs.items():
            if name in renames:
                continue
            existing = _existing_definition(graph, registry, name)
            if existing is not None and existing != _fingerprint(fdef):
                fresh[name] = _free_name(name, fdef, graph, registry)
        if not fresh:
            break
        renames.update(fresh)
        _rename_references(sub.node, fdefs.values(), fresh)

    for old, fdef in fdefs.items():
        new = renames.get(old, old)
        fdef.signature.name = new
        definition = _fingerprint(fdef)
        if registry.functions.get(new) == definition or (
            old not in renames and _existing_definition(graph, registry, new) == definition
        ):
            continue
        sub.library.function.append(fdef)
        added[new] = definition
        if old in index.gradients:
            grad = index.gradients[old]
            sub.library.gradient.add(function_name=new, gradient_func=renames.get(grad, grad))
    return added, {old: new for old, new in renames.items() if new in added}


def _free_name(name: str, fdef, graph: tf.Graph, registry: Registry) -> str:
    """A name for ``fdef`` that the target does not use, or uses for this same function.

    A later copy of the same function finds the name an earlier copy gave it, and reuses it.
    """
    digest = hashlib.sha1(_fingerprint(fdef)).hexdigest()[:10]
    candidate, n = f"{name}_{digest}", 1
    while _existing_definition(graph, registry, candidate) not in (None, _named(fdef, candidate)):
        candidate, n = f"{name}_{digest}_{n}", n + 1
    return candidate


def _named(fdef: function_pb2.FunctionDef, name: str) -> bytes:
    """The fingerprint ``fdef`` has once called ``name``."""
    renamed = _copy(fdef)
    renamed.signature.name = name
    return _fingerprint(renamed)


def _rename_references(nodes, fdefs, renames: dict[str, str]) -> None:
    def fix_node(node: node_def_pb2.NodeDef) -> None:
        if node.op in renames:
            node.op = renames[node.op]
        for attr in node.attr.values():
            for func in _attr_functions(attr):
                if func.name in renames:
                    func.name = renames[func.name]

    for node in nodes:
        fix_node(node)
    for fdef in fdefs:
        for node in fdef.node_def:
            fix_node(node)
        for attr in fdef.attr.values():
            for func in _attr_functions(attr):
                if func.name in renames:
                    func.name = renames[func.name]


def _copy(fdef: function_pb2.FunctionDef) -> function_pb2.FunctionDef:
    clone = function_pb2.FunctionDef()
    clone.CopyFrom(fdef)
    return clone
