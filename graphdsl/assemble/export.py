"""Write a built graph out as TensorFlow artifacts: SavedModel, MetaGraph + checkpoint, frozen GraphDef.

Each export takes the target ``tf.Graph`` and the ``tf.compat.v1.Session`` holding its variables'
values (initialized or restored), and raises :class:`ExportError` naming the output path and the
graph element when it cannot write. Exports that save variables (SavedModel, MetaGraph) add
TensorFlow's save/restore ops (``save/...``) to the graph, as ``tf.compat.v1.train.Saver`` always does;
freezing adds a ``<variable>/graphdsl_freeze_read`` op for a resource variable the graph reads only
inside functions. Exports never change a variable's value.

A whole build writes through :class:`~graphdsl.assemble.outdir.OutputDir`, which makes "a failed
build leaves earlier outputs intact" hold; each export's ``label`` is then the path its output will
have once in place, which is what its messages name::

    with OutputDir("out") as out:
        export_savedmodel(graph, session, out.path("model"), {"serving_default": (inputs, outputs)},
                          label=out.label("model"))
        export_graphdef(graph, session, out.path("frozen.pb"), [y], label=out.label("frozen.pb"))
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence, Union

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.assemble.canonical import canonical_bytes, write_savedmodel
from graphdsl.assemble.files import write_atomically
from graphdsl.errors import ExportError
from graphdsl.lang import schema
from graphdsl.tf import effects, initial_values, tables
from graphdsl.tf.functions import reachable_functions
from graphdsl.tf.index import VARIABLE_OPS
from graphdsl.tf.messages import reason

Signature = tuple[Mapping[str, tf.Tensor], Mapping[str, tf.Tensor]]
Output = Union[tf.Tensor, tf.Operation, str]

_UNINITIALIZED_HINT = "initialize the target's variables (or copy them in mode 'value') before exporting"


# -- SavedModel ------------------------------------------------------------------------------------


def export_savedmodel(
    graph: tf.Graph,
    session: tf.compat.v1.Session,
    out_path: str | Path,
    signatures: Mapping[str, Signature],
    tags: Sequence[str] = schema.DEFAULT_TAGS,
    *,
    label: str | Path | None = None,
    saver: tf.compat.v1.train.Saver | None = None,
    canonical: bool = False,
) -> Path:
    """Writes a SavedModel with one predict signature per entry of ``signatures``.

    ``signatures`` maps a signature name to ``(inputs, outputs)``, each a dict from key to a tensor of
    ``graph``. The result loads with ``tf.saved_model.load(path).signatures[name](**inputs)`` in TF2 and
    with ``tf.compat.v1.saved_model.loader.load`` in graph mode. ``out_path`` must not exist yet.
    Messages name ``label`` (default: ``out_path``). ``saver`` writes the variables (default: the
    builder's own, over every saveable object); see :func:`shared_saver`. ``canonical`` writes
    ``saved_model.pb`` in canonical form (:mod:`~graphdsl.assemble.canonical`), as a build does.
    Returns ``out_path``.
    """
    path = Path(out_path)
    out = Path(label) if label is not None else path
    _check_session(graph, session, out)
    _check_saved_variables(graph, out)
    if path.exists():
        raise ExportError(f"{out}: already exists; a SavedModel is written into a new directory",
                          hint="remove it, or export through OutputDir, which replaces it atomically")
    if not signatures:
        raise ExportError(f"{out}: no signature to export", hint="give at least one signature")
    with graph.as_default():
        signature_defs = {name: _signature_def(out, graph, name, io) for name, io in signatures.items()}
        init_ops = graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS)
        if graph.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES):
            init_ops.append(tf.compat.v1.local_variables_initializer())
        main_op = tf.group(*init_ops, name="graphdsl_main_op") if init_ops else None
        assets = graph.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS)
        try:
            with _collections_kept(graph, _BUILDER_COLLECTIONS):
                builder = tf.compat.v1.saved_model.Builder(str(path))
                builder.add_meta_graph_and_variables(
                    session, list(tags), signature_def_map=signature_defs, main_op=main_op,
                    assets_collection=assets or None, strip_default_attrs=True, saver=saver,
                )
                builder.save()
            _rewrite_savedmodel(graph, path, canonical)
        except (ValueError, TypeError, AssertionError, OSError, tf.errors.OpError) as e:
            shutil.rmtree(path, ignore_errors=True)
            raise _export_error(out, "the SavedModel", e) from e
    return path


def _rewrite_savedmodel(graph: tf.Graph, path: Path, canonical: bool) -> None:
    """Rewrites ``saved_model.pb`` so that no op of it calls back into this process for a value,
    and in canonical form if asked, reading and writing it once.

    A value-mode copy's initial value is handed over by this process (see
    :mod:`~graphdsl.tf.initial_values`); in the file it is a placeholder, and the checkpoint in
    ``variables/`` holds the value.
    """
    if not canonical and not initial_values.values_of(graph):
        return
    file = path / "saved_model.pb"
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString(file.read_bytes())
    changed = [initial_values.without_values(m.graph_def, graph) for m in saved.meta_graphs]
    if canonical:
        write_savedmodel(path, canonical_bytes(saved))
    elif any(changed):
        write_atomically(file, saved.SerializeToString(deterministic=True))


# The SavedModel builder records the main op and the asset files in these collections of the graph
# it saves; a second SavedModel export of the same graph must not find the first one's there.
_BUILDER_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "saved_model_assets")


@contextlib.contextmanager
def _collections_kept(graph: tf.Graph, keys: Sequence[str]) -> Iterator[None]:
    """Puts the collections ``keys`` of ``graph`` back as they were when the block ends."""
    saved = {key: list(graph.get_collection(key)) for key in keys}
    try:
        yield
    finally:
        for key, items in saved.items():
            graph.clear_collection(key)
            for item in items:
                graph.add_to_collection(key, item)


def _signature_def(out: Path, graph: tf.Graph, name: str, io: Signature) -> tf.compat.v1.SignatureDef:
    try:
        inputs, outputs = io
    except (TypeError, ValueError):
        raise ExportError(f"{out}: signature '{name}' must be a pair (inputs, outputs) of dicts",
                          hint="write {name: ({'x': x}, {'y': y})}") from None
    if not outputs:
        raise ExportError(f"{out}: signature '{name}' has no outputs", hint="give it at least one output")
    infos: dict[str, dict[str, tf.compat.v1.TensorInfo]] = {}
    for side, tensors in (("input", inputs), ("output", outputs)):
        infos[side] = {}
        for key, tensor in dict(tensors).items():
            if not isinstance(tensor, tf.Tensor) or tensor.graph is not graph:
                raise ExportError(
                    f"{out}: {side} '{key}' of signature '{name}' is {_describe(tensor)}, "
                    "not a tensor of the exported graph",
                    hint="give tensors of the graph being exported",
                )
            infos[side][key] = tf.compat.v1.saved_model.build_tensor_info(tensor)
    return tf.compat.v1.saved_model.build_signature_def(
        infos["input"], infos["output"], tf.saved_model.PREDICT_METHOD_NAME
    )


# -- MetaGraph + checkpoint ------------------------------------------------------------------------


def export_metagraph(
    graph: tf.Graph, session: tf.compat.v1.Session | None, out_dir: str | Path, name: str, *,
    label: str | Path | None = None, saver: tf.compat.v1.train.Saver | None = None, canonical: bool = False,
    info: Callable[[meta_graph_pb2.MetaGraphDef], None] | None = None,
) -> list[Path]:
    """Writes ``NAME.meta`` and, when the graph has global variables, checkpoint ``NAME.ckpt``.

    Reload with ``saver = tf.compat.v1.train.import_meta_graph("NAME.meta")`` and
    ``saver.restore(session, "NAME.ckpt")``. ``session`` may be None for a graph without variables.
    Messages name the files in directory ``label`` (default: ``out_dir``). ``saver`` writes the
    checkpoint (default: a new one over the global variables); see :func:`shared_saver`.
    ``canonical`` writes ``NAME.meta`` in canonical form (:mod:`~graphdsl.assemble.canonical`),
    as a build does; ``info``, if given, is called on the MetaGraphDef before it is written (a
    build puts its provenance record there). Returns the files written.
    """
    directory = Path(out_dir)
    shown = Path(label) if label is not None else directory
    meta = directory / schema.export_file("metagraph", name)
    prefix = directory / f"{name}.ckpt"
    if not name or "/" in name or os.sep in name or name in (".", ".."):
        raise ExportError(f"{shown}: '{name}' is not a file name", hint="give a plain name like 'model'")
    _check_saved_variables(graph, shown / meta.name)
    variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    if variables:
        _check_session(graph, session, shown / prefix.name)
    before = set(directory.iterdir()) if directory.is_dir() else set()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with graph.as_default():
            saver_def = None
            if variables:
                if saver is None:
                    saver = tf.compat.v1.train.Saver(var_list=variables, save_relative_paths=True)
                saver.save(session, str(prefix), write_meta_graph=False, write_state=False)
                saver_def = saver.saver_def
            meta_graph = tf.compat.v1.train.export_meta_graph(graph=graph, saver_def=saver_def)
            initial_values.without_values(meta_graph.graph_def, graph)
            if info is not None:
                info(meta_graph)
            write_atomically(meta, canonical_bytes(meta_graph) if canonical
                             else meta_graph.SerializeToString(deterministic=True))
    except (ValueError, TypeError, OSError, tf.errors.OpError) as e:
        for path in set(directory.iterdir()) - before if directory.is_dir() else ():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise _export_error(shown / (prefix if variables else meta).name, "the MetaGraph", e) from e
    return [meta, *sorted(directory.glob(f"{name}.ckpt.*"))] if variables else [meta]


def shared_saver(graph: tf.Graph) -> tf.compat.v1.train.Saver | None:
    """One Saver that both a SavedModel and a MetaGraph export of ``graph`` can write with.

    Each export would otherwise build its own (its save and restore ops, and a new executor for
    them in the session: seconds on a large graph). None when they would save different things:
    a graph whose saveable objects other than variables (mutable tables) a SavedModel saves and a
    MetaGraph's checkpoint does not, or a graph without variables.
    """
    variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    if not variables or graph.get_collection(tf.compat.v1.GraphKeys.SAVEABLE_OBJECTS):
        return None
    try:
        with graph.as_default():
            # sharded and allowing no variables as the SavedModel builder's own; relative paths
            # as a MetaGraph's
            return tf.compat.v1.train.Saver(var_list=variables, sharded=True, allow_empty=True,
                                            save_relative_paths=True)
    except (ValueError, TypeError):
        return None  # each export then builds its own, and says what is wrong


# -- frozen GraphDef -------------------------------------------------------------------------------


def export_graphdef(
    graph: tf.Graph,
    session: tf.compat.v1.Session | None,
    out_path: str | Path,
    outputs: Iterable[Output],
    *,
    label: str | Path | None = None,
) -> Path:
    """Writes a frozen GraphDef: variables folded into constants, pruned to what ``outputs`` need.

    ``outputs`` are tensors, operations or op names of ``graph``. The file is binary for ``.pb`` and
    text for ``.pbtxt``. Resource variables, also those captured by functions, are folded too.
    ``session`` may be None when no variable is needed. Messages name ``label`` (default:
    ``out_path``). Returns ``out_path``.
    """
    path = Path(out_path)
    out = Path(label) if label is not None else path
    binary, text = schema.EXPORT_KINDS["graphdef"].suffixes
    if out.suffix not in (binary, text):
        raise ExportError(f"{out}: a GraphDef is written to a '{binary}' (binary) or '{text}' (text) file",
                          hint="change the output's extension")
    names = _output_names(out, graph, outputs)
    graph_def = graph.as_graph_def()
    if any(node.op in VARIABLE_OPS for node in graph_def.node):
        _check_session(graph, session, out)
    try:
        needed = [n.name for n in tf.compat.v1.graph_util.extract_sub_graph(graph_def, names).node]
        initializers = tables.initializers_needed(graph, needed)
        with graph.as_default():
            if session is None:
                frozen = tf.compat.v1.graph_util.extract_sub_graph(graph_def, names + initializers)
            else:
                reader = _ReadingSession(session, _resource_reads(graph, graph_def))
                frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                    reader, graph_def, names + initializers)
        if initializers:
            _drop_frozen_assigns(frozen)
            tables.add_init_all_tables(frozen, initializers)
    except (ValueError, TypeError, AssertionError, RuntimeError, tf.errors.OpError) as e:
        raise _export_error(out, "the frozen GraphDef", e) from e
    _prune_library(frozen)
    if out.suffix == text:
        data = text_format.MessageToString(frozen).encode("utf-8")
    else:
        data = frozen.SerializeToString()
    try:
        write_atomically(path, data)
    except OSError as e:
        raise ExportError(f"{out}: cannot write the frozen GraphDef: {e.strerror}",
                          hint="check that the output location is writable") from e
    return path


def items_of(kind: str, name: str) -> list[str]:
    """The names of the items an export of ``kind`` called ``name`` puts in its directory.

    A metagraph's checkpoint files are listed as TensorFlow writes them with one shard.
    """
    if kind == "metagraph":
        return [schema.export_file(kind, name), f"{name}.ckpt.index", f"{name}.ckpt.data-00000-of-00001"]
    return [name]


def _output_names(out: Path, graph: tf.Graph, outputs: Iterable[Output]) -> list[str]:
    names = []
    for output in outputs:
        if isinstance(output, (tf.Tensor, tf.Operation)):
            if output.graph is not graph:
                raise ExportError(f"{out}: output '{output.name}' belongs to another graph",
                                  hint="give tensors or operations of the graph being exported")
            names.append(output.op.name if isinstance(output, tf.Tensor) else output.name)
        elif isinstance(output, str):
            op_name = output.split(":")[0]
            try:
                graph.get_operation_by_name(op_name)
            except KeyError:
                raise ExportError(f"{out}: the graph has no operation '{op_name}'",
                                  hint="name an operation of the graph being exported") from None
            names.append(op_name)
        else:
            raise ExportError(f"{out}: output {_describe(output)} is not a tensor or an operation",
                              hint="give tensors, operations or op names")
    if not names:
        raise ExportError(f"{out}: no outputs to freeze", hint="give the tensors the frozen graph must compute")
    return list(dict.fromkeys(names))


class _ReadingSession:
    """The session as the freezer sees it, with a read op for every resource variable.

    TensorFlow's freezer reads resource variable ``v`` by fetching ``v/Read/ReadVariableOp:0``, which
    only variables built by ``tf.Variable`` have; copied variables are read by other ops. This maps
    each such fetch to a read that exists. Every other call goes to the real session.
    """

    def __init__(self, session: tf.compat.v1.Session, aliases: Mapping[str, tf.Tensor]) -> None:
        self._session = session
        self._aliases = aliases

    def run(self, fetches, *args, **kwargs):
        if isinstance(fetches, list):
            fetches = [self._aliases.get(f, f) if isinstance(f, str) else f for f in fetches]
            graph = self._session.graph
            effects.check_target_runs(graph, [graph.as_graph_element(f).op for f in fetches],
                                      "reading the variables to freeze them")
            # A scalar string comes back as bytes, which the freezer cannot fold: give it an array.
            return [np.asarray(v, dtype=object) if isinstance(v, bytes) else v
                    for v in self._session.run(fetches, *args, **kwargs)]
        return self._session.run(fetches, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._session, name)


def _resource_reads(graph: tf.Graph, graph_def: graph_pb2.GraphDef) -> dict[str, tf.Tensor]:
    """``{"v/Read/ReadVariableOp:0": a tensor reading v}`` for each handle lacking that read op."""
    aliases = {}
    for node in graph_def.node:
        if node.op != "VarHandleOp":
            continue
        expected = f"{node.name}/Read/ReadVariableOp"
        try:
            graph.get_operation_by_name(expected)
            continue
        except KeyError:
            pass
        handle = graph.get_operation_by_name(node.name).outputs[0]
        # a read with no control inputs runs nothing else (a read after an assign would assign)
        reads = [op for op in handle.consumers() if op.type == "ReadVariableOp" and not op.control_inputs]
        if reads:
            aliases[f"{expected}:0"] = reads[0].outputs[0]
        else:
            with graph.control_dependencies(None), graph.name_scope(None):
                aliases[f"{expected}:0"] = tf.raw_ops.ReadVariableOp(
                    resource=handle, dtype=node.attr["dtype"].type, name=f"{node.name}/graphdsl_freeze_read")
    return aliases


_ASSIGN_OPS = ("AssignVariableOp", "Assign")


def _drop_frozen_assigns(graph_def: graph_pb2.GraphDef) -> None:
    """Removes assignments to variables the freezer turned into constants.

    A table initializer kept in a frozen graph may wait for a variable's assignment (a TF2
    SavedModel assigns its asset paths to variables before filling its tables); once the variable
    is a constant, that assignment does not import, and its value is already in the constant.
    """
    consts = {node.name for node in graph_def.node if node.op == "Const"}
    read = {i.partition(":")[0] for node in graph_def.node for i in node.input if not i.startswith("^")}
    dropped = {node.name for node in graph_def.node
               if node.op in _ASSIGN_OPS and node.input and node.input[0].partition(":")[0] in consts
               and node.name not in read}
    if not dropped:
        return
    kept = [node for node in graph_def.node if node.name not in dropped]
    for node in kept:
        if any(i[1:] in dropped for i in node.input if i.startswith("^")):
            inputs = [i for i in node.input if not (i.startswith("^") and i[1:] in dropped)]
            del node.input[:]
            node.input.extend(inputs)
    del graph_def.node[:]
    graph_def.node.extend(kept)


def _prune_library(graph_def: graph_pb2.GraphDef) -> None:
    """Drops the functions no node calls, directly or through other functions (e.g. save/restore)."""
    library = {f.signature.name: f for f in graph_def.library.function}
    gradients = {g.function_name: g.gradient_func for g in graph_def.library.gradient}
    reached = set(reachable_functions(graph_def.node, library, gradients))
    kept = [library[name] for name in library if name in reached]
    kept_gradients = [g for g in graph_def.library.gradient if g.function_name in reached]
    del graph_def.library.function[:]
    graph_def.library.function.extend(kept)
    del graph_def.library.gradient[:]
    graph_def.library.gradient.extend(kept_gradients)


# -- shared helpers --------------------------------------------------------------------------------


def _check_session(graph: tf.Graph, session: tf.compat.v1.Session | None, out: Path) -> None:
    if session is None:
        raise ExportError(f"{out}: the graph has variables but no session holds their values",
                          hint="pass the session in which the variables were initialized")
    if session.graph is not graph:
        raise ExportError(f"{out}: the session given runs another graph than the one exported",
                          hint="pass the session created for the exported graph")


def _check_saved_variables(graph: tf.Graph, out: Path) -> None:
    """Every variable op must be in a variable collection, or its value would silently not be saved."""
    known = {v.op.name for key in (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
                                   tf.compat.v1.GraphKeys.LOCAL_VARIABLES)
             for v in graph.get_collection(key)}
    for op in graph.get_operations():
        if op.type in VARIABLE_OPS and op.name not in known:
            raise ExportError(
                f"{out}: variable '{op.name}' ({op.type}) is in no variable collection, so its value "
                "would not be saved",
                hint="copy it as a variable (it then joins GLOBAL_VARIABLES), or export a frozen GraphDef",
            )


def _export_error(out: Path, what: str, error: BaseException) -> ExportError:
    if isinstance(error, tf.errors.FailedPreconditionError):
        match = _UNINITIALIZED.search(getattr(error, "message", ""))
        if match:
            return ExportError(f"{out}: cannot write {what}: variable '{match.group(1)}' has no value "
                               "in the session (it is not initialized)", hint=_UNINITIALIZED_HINT)
        return ExportError(f"{out}: cannot write {what}: {reason(error)}", hint=_UNINITIALIZED_HINT)
    return ExportError(f"{out}: cannot write {what}: {reason(error)}",
                       hint="check that the output location is writable and the graph is complete")


# "Could not find variable w." (resource variables), "uninitialized value w" (ref variables)
_UNINITIALIZED = re.compile(r"(?:Could not find variable|uninitialized value) ([^\s.]+(?:\.[^\s.]+)*)")


def _describe(value: object) -> str:
    name = getattr(value, "name", None)
    return f"'{name}' ({type(value).__name__})" if isinstance(name, str) else f"a {type(value).__name__}"
