"""Lookup tables and the asset files they read: what fills copied state that is not a variable.

A table (``HashTableV2``, ``MutableHashTableV2``, ...) is state without a ``VariableDef``: nothing in
the ops that read it says how it is filled. What fills it are its *initializers*: ops listed in the
source's ``table_initializer`` collection or run by its SavedModel main op, that take the table's
handle as an input (``InitializeTableV2``, ``InitializeTableFromTextFileV2``, or, in a TF2
SavedModel, a call of an ``__inference__initializer_N`` function). A copy that reaches a table brings
its initializers along, and their copies join the target's ``table_initializer`` collection, which
``tf.compat.v1.tables_initializer()`` and every export run.

A table filled from a file reads the file's path from an *asset tensor*: a ``Const`` in the
``asset_filepaths`` collection (TF1), or a tensor that the SavedModel loader feeds with the file's
location (listed in the MetaGraph's asset file definitions; a TF2 SavedModel feeds a placeholder
that initializes a string variable, which the table's initializer reads). The copy of an asset
tensor is a ``Const`` holding where the file is now, in the target's ``asset_filepaths`` collection:
a SavedModel export writes those files under ``assets/`` and its loader points the constants at
them. A variable holding an asset path is always copied in mode ``init``: its value is a location,
which the export's loader must be able to set afresh.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from graphdsl.errors import CopyError
from graphdsl.lang import schema
from graphdsl.tf import effects
from graphdsl.tf.index import MUTABLE_TABLE_OPS, VARIABLE_OPS, SourceIndex, index_of

# Collections whose members run to initialize a graph: TensorFlow's own and the SavedModel's main op.
INIT_COLLECTIONS = (tf.compat.v1.GraphKeys.TABLE_INITIALIZERS, "saved_model_main_op", "legacy_init_op")
_ASSET_OP_TYPES = ("Const", "Placeholder", "PlaceholderWithDefault")


@dataclass(frozen=True)
class Tables:
    """What one source graph says about its tables and asset files."""

    initializers: Mapping[str, tuple[str, ...]]  # state op name -> the ops that initialize it
    assets: Mapping[str, str]  # asset op name (its output 0 is the path) -> the file's location
    asset_variables: frozenset[str]  # variable op names whose initial value is an asset path


_declared: "weakref.WeakKeyDictionary[tf.Graph, dict[str, str]]" = weakref.WeakKeyDictionary()
_cache: "weakref.WeakKeyDictionary[tf.Graph, tuple[int, Tables]]" = weakref.WeakKeyDictionary()


def declare_assets(graph: tf.Graph, assets: Mapping[str, str]) -> None:
    """Records that tensor ``name`` of ``graph`` stands for the file at ``assets[name]``.

    A SavedModel's loader feeds its asset tensors with the files' locations when it runs the main
    op; the graph itself keeps the paths the files had when the model was saved.
    """
    _declared.setdefault(graph, {}).update(assets)
    _cache.pop(graph, None)


def tables_of(index: SourceIndex) -> Tables:
    """The :class:`Tables` of the indexed source graph, computed once per graph version."""
    graph = index.graph
    cached = _cache.get(graph)
    if cached is not None and cached[0] == index.version:
        return cached[1]
    assets = _assets(graph, index)
    tables = Tables(
        initializers=_initializers(graph),
        assets=assets,
        asset_variables=frozenset(
            name for name, vdef in index.variable_defs.items()
            if vdef.initial_value_name.partition(":")[0] in assets),
    )
    _cache[graph] = (index.version, tables)
    return tables


def _initializers(graph: tf.Graph) -> dict[str, tuple[str, ...]]:
    """For each non-variable state op, the initializer ops that take its handle."""
    found: dict[str, list[str]] = {}
    for unit in _init_units(graph):
        for state in _states_of(unit):
            if unit.name not in found.setdefault(state, []):
                found[state].append(unit.name)
    return {state: tuple(units) for state, units in found.items()}


def _states_of(unit: tf.Operation) -> list[str]:
    """The non-variable state ops whose handle ``unit`` takes (through ``Identity`` ops)."""
    states = []
    for tensor in unit.inputs:
        if tensor.dtype != tf.resource and tensor.dtype.base_dtype == tensor.dtype:  # neither a handle nor a ref
            continue
        state = tensor.op
        while state.type == "Identity" and state.inputs:
            state = state.inputs[0].op
        if state.type not in VARIABLE_OPS:
            states.append(state.name)
    return states


def _init_units(graph: tf.Graph) -> list[tf.Operation]:
    """The ops the graph's initialization runs, with groups (``NoOp``\\ s) opened up."""
    pending = [getattr(item, "op", item) for key in INIT_COLLECTIONS for item in graph.get_collection(key)]
    seen: dict[str, tf.Operation] = {}
    units = []
    while pending:
        op = pending.pop()
        if not isinstance(op, tf.Operation) or op.name in seen:
            continue
        seen[op.name] = op
        if op.type == "NoOp":
            pending.extend(op.control_inputs)
        else:
            units.append(op)
    return units


def _assets(graph: tf.Graph, index: SourceIndex) -> dict[str, str]:
    found = {}
    for tensor in graph.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS):
        path = _const_path(index.nodes.get(getattr(getattr(tensor, "op", None), "name", "")))
        if path is not None and tensor.name.endswith(":0"):
            found[tensor.op.name] = path
    for name, path in _declared.get(graph, {}).items():
        op_name, _, output = name.partition(":")
        node = index.nodes.get(op_name)
        if node is not None and output in ("", "0") and node.op in _ASSET_OP_TYPES:
            found[op_name] = path
    return found


def _const_path(node: node_def_pb2.NodeDef | None) -> str | None:
    if node is None or node.op != "Const" or node.attr["dtype"].type != types_pb2.DT_STRING:
        return None
    values = node.attr["value"].tensor.string_val
    return values[0].decode("utf-8", "replace") if len(values) == 1 else None


def forced_modes(modes: Callable[[str], str], tables: Tables) -> Callable[[str], str]:
    """``modes``, except that variables holding an asset path are copied in mode ``init``."""
    if not tables.asset_variables:
        return modes
    asset_variables = tables.asset_variables
    return lambda name: schema.INIT_MODE if name in asset_variables else modes(name)


def copy_modes(source: tf.Graph, modes: Callable[[str], str]) -> Callable[[str], str]:
    """The modes a copy from ``source`` gives its variables when asked for ``modes``."""
    return forced_modes(modes, tables_of(index_of(source)))


def rewrite_assets(sub: graph_pb2.GraphDef, needed: Iterable[str], tables: Tables) -> None:
    """Turns each copied asset op of ``sub`` into a ``Const`` holding the file's location."""
    wanted = {name: tables.assets[name] for name in needed if name in tables.assets}
    if not wanted:
        return
    for node in sub.node:
        if node.name in wanted:
            name, device = node.name, node.device
            node.Clear()
            node.name, node.op, node.device = name, "Const", device
            node.attr["dtype"].type = types_pb2.DT_STRING
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(wanted[name].encode("utf-8")))


def collect(target: tf.Graph, copies: Mapping[str, tf.Operation], needed: Iterable[str],
            tables: Tables) -> None:
    """Puts the copies of initializers and asset ops reached by a copy into the target's collections.

    ``copies`` maps source op names to their copies; ``needed`` are the source ops this copy added.
    """
    if not tables.initializers and not tables.assets:
        return
    init_key, asset_key = tf.compat.v1.GraphKeys.TABLE_INITIALIZERS, tf.compat.v1.GraphKeys.ASSET_FILEPATHS
    for name in needed:
        for unit in tables.initializers.get(name, ()):
            _add_once(target, init_key, copies.get(unit))
        if name in tables.assets and name in copies:
            _add_once(target, asset_key, copies[name].outputs[0])


def _add_once(target: tf.Graph, key: str, element) -> None:
    if element is not None and element not in target.get_collection(key):
        target.add_to_collection(key, element)


def declare_savedmodel(graph: tf.Graph, meta: meta_graph_pb2.MetaGraphDef, directory: Path) -> None:
    """Declares what the SavedModel loader fed into ``graph``: its asset files and its init op.

    The asset files are listed in the MetaGraph's asset file definitions (TF2, and TF1 models saved
    with ``assets_list``) or in its ``saved_model_assets`` collection (TF1 ``assets_collection``).
    An init op given as the ``__saved_model_init_op`` signature joins the ``saved_model_main_op``
    collection, where :func:`tables_of` looks for initializers.
    """
    files = list(meta.asset_file_def)
    for packed in meta.collection_def["saved_model_assets"].any_list.value:
        asset = meta_graph_pb2.AssetFileDef()
        if packed.Unpack(asset):
            files.append(asset)
    assets_dir = Path(directory) / "assets"
    declare_assets(graph, {f.tensor_info.name: str(assets_dir / f.filename) for f in files
                           if f.tensor_info.name})
    init = meta.signature_def.get("__saved_model_init_op")
    if init is not None and "__saved_model_init_op" in init.outputs:
        name = init.outputs["__saved_model_init_op"].name.partition(":")[0]
        try:
            op = graph.get_operation_by_name(name)
        except KeyError:
            return
        if op not in graph.get_collection("saved_model_main_op"):
            graph.add_to_collection("saved_model_main_op", op)


INIT_ALL_TABLES = "init_all_tables"


def initializers_needed(graph: tf.Graph, needed: Iterable[str]) -> list[str]:
    """The table initializers of ``graph`` that fill state among the op names ``needed``."""
    needed = set(needed)
    found = []
    for unit in graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS):
        op = getattr(unit, "op", unit)
        if any(state in needed for state in _states_of(op)):
            found.append(op.name)
    return found


def add_init_all_tables(graph_def: graph_pb2.GraphDef, initializers: list[str]) -> None:
    """Adds the NoOp ``init_all_tables`` running ``initializers``, the name TF1 gives that group.

    A frozen GraphDef has no collections; whoever imports it runs this op once, as
    ``graphdsl run`` does, before looking anything up.
    """
    if not initializers:
        return
    if any(node.name == INIT_ALL_TABLES for node in graph_def.node):
        raise ValueError(f"the graph already has an op named '{INIT_ALL_TABLES}'")
    graph_def.node.add(name=INIT_ALL_TABLES, op="NoOp", input=[f"^{name}" for name in initializers])


_exports: "weakref.WeakKeyDictionary[tf.Graph, dict[str, tuple]]" = weakref.WeakKeyDictionary()


def add_contents(sub: graph_pb2.GraphDef, needed: Iterable[str], index: SourceIndex, tables: Tables,
                 modes: Callable[[str], str], session, free: Callable[[str], str]) -> list[str]:
    """Gives each mutable table copied in mode ``value`` an initializer importing its contents.

    A mutable table has no initializer: its contents come from the program, or from a SavedModel's
    checkpoint. In mode ``value`` (as for a variable) the copy starts with what the source's table
    holds in ``session``; in mode ``init`` it starts empty, as the source's did. Returns the names
    (in ``sub``) of the import ops added, for :func:`collect_contents`.
    """
    wanted = [name for name in needed if index.nodes[name].op in MUTABLE_TABLE_OPS
              and name not in tables.initializers and modes(name) == schema.VALUE_MODE]
    if not wanted:
        return []
    if session is None:
        raise CopyError(f"table '{wanted[0]}' is copied in mode 'value', but no session was given to "
                        "read its contents from", hint="pass session=, or copy it in mode 'init' (empty)")
    label = effects.guarded(index.graph)
    found = label and effects.first_effect(index.nodes, index.functions, wanted)
    if found:
        raise CopyError(f"reading the contents of table {', '.join(wanted)} of {label} would run "
                        f"{found}, which acts outside the session", hint=effects.HINT)
    contents = session.run([_export_of(index.graph, name) for name in wanted])
    added = []
    for name, (keys, values) in zip(wanted, contents):
        node = index.nodes[name]
        key_dtype, value_dtype = node.attr["key_dtype"].type, node.attr["value_dtype"].type
        key_const = _const(sub, free(f"{name}/copied_keys"), keys, key_dtype)
        value_const = _const(sub, free(f"{name}/copied_values"), values, value_dtype)
        load = sub.node.add(name=free(f"{name}/copied_contents"), op="LookupTableImportV2",
                            input=[name, key_const, value_const])
        load.attr["Tin"].type, load.attr["Tout"].type = key_dtype, value_dtype
        added.append(load.name)
    return added


def collect_contents(target: tf.Graph, prefix: str, added: list[str]) -> None:
    """Puts the imported contents' ops (see :func:`add_contents`) among the table initializers."""
    for name in added:
        _add_once(target, tf.compat.v1.GraphKeys.TABLE_INITIALIZERS, target.get_operation_by_name(prefix + name))


def _export_of(graph: tf.Graph, table: str) -> tuple:
    """An op exporting ``table``'s contents, made once in the source graph (nothing else reads it)."""
    made = _exports.setdefault(graph, {})
    if table not in made:
        handle = graph.get_operation_by_name(table).outputs[0]
        node = handle.op.node_def
        with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None):
            made[table] = tuple(tf.raw_ops.LookupTableExportV2(
                table_handle=handle, Tkeys=node.attr["key_dtype"].type, Tvalues=node.attr["value_dtype"].type,
                name=f"{table}/graphdsl_export"))
    return made[table]


def _const(sub: graph_pb2.GraphDef, name: str, value, dtype: int) -> str:
    node = sub.node.add(name=name, op="Const")
    node.attr["dtype"].type = dtype
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value, dtype=dtype))
    return name
