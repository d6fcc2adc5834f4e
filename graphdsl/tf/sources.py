"""Load a source graph into a ``tf.Graph`` of its own, with a session holding its variables' values.

One entry point, :func:`load_source`, for the four kinds a spec can name:

``graphdef``
    A ``.pb`` (binary) or ``.pbtxt`` (text) GraphDef. No variable values, so no session.
``metagraph``
    A ``.meta`` MetaGraphDef (binary, or text if the content is text), imported with
    ``tf.compat.v1.train.import_meta_graph``. With the option ``checkpoint`` (a checkpoint prefix, or
    a directory whose ``checkpoint`` file names the latest one) the variables are restored into a
    session; without it there are no values to hold, so no session. Device placements are cleared.
``savedmodel``
    A SavedModel directory (TF1 or TF2), loaded with ``tf.compat.v1.saved_model.loader.load`` into a
    fresh graph and session. Options ``tags`` (default ``["serve"]``) and ``signature`` (default
    ``"serving_default"``, or ``"*"`` for all of them); the signature's inputs and outputs
    (key -> tensor name) are recorded in :attr:`LoadedSource.signature`, every offered signature in
    :attr:`LoadedSource.signatures`. With ``inline = true`` the signatures' function calls are
    inlined into the graph (see :mod:`.inline`), so the ops inside them can be named.
``python``
    ``"file.py:function"``: the file is imported by path and ``function(**options)`` is called inside
    a fresh default graph. It returns a ``tf.Graph``, a ``(tf.Graph, Session)`` pair or a ``Session``.

Sources are read only: nothing is written next to them (a Python builder is imported without
writing ``__pycache__``).

What a TF2 SavedModel looks like once loaded in graph mode (checked on TF 2.21; a SavedModel written
by ``tf.saved_model.save`` of a ``tf.Module`` with ``tf.function`` signatures):

- Each variable is a ``VarHandleOp`` (resource variable) at the top level of the graph, named after the
  variable's ``name`` argument, *not* its object path: two variables both named ``"w"`` in different
  sub-modules become ``w`` and ``w_1``. ``shared_name`` equals the op name, ``container`` is empty.
  Each has a ``<name>/Read/ReadVariableOp`` beside it.
- No collection lists them: ``GLOBAL_VARIABLES`` and ``TRAINABLE_VARIABLES`` are empty and the
  MetaGraph carries no ``VariableDef`` (the only collection is ``saved_model_main_op``, a ``NoOp``).
  So there is no initializer op: a copier can only copy them by value.
- The loader restores them: right after :func:`load_source` every variable is initialized in the
  session with the saved value (the restore runs the MetaGraph's ``saver_def``, whose
  ``restore_op_name`` is a ``StatefulPartitionedCall`` of ``__inference__traced_restore_N``).
- Each signature is one ``StatefulPartitionedCall`` op taking the signature's ``Placeholder`` inputs
  (named ``<signature>_<key>``, e.g. ``serving_default_x``) followed by every variable handle it
  captures. The calls are numbered ``StatefulPartitionedCall``, ``StatefulPartitionedCall_1``, ...
  in an order that depends on how the model was saved (not the signature names' order), and the
  save and restore calls come last: take tensor names from :attr:`LoadedSource.signature`, never
  guess them. Output tensors are ``StatefulPartitionedCall_K:i``.
- The function library holds, per signature, ``__inference_signature_wrapper_<fn>_N`` (which is a
  ``StatefulPartitionedCall`` of the traced body ``__inference_<fn>_M``, whose nodes do the work:
  ``ReadVariableOp`` of its resource arguments, ``MatMul``, ...), plus ``__inference__traced_save_N``
  and ``__inference__traced_restore_N``. The graph's own ops are only the handles, reads, placeholders,
  the calls, a ``saver_filename`` placeholder, a ``Const`` and a ``NoOp``: the computation lives
  entirely inside the functions.
- ``MetaGraphDef.signature_def`` also lists ``__saved_model_init_op`` (not a real signature; it is
  left out of the names offered when a signature is unknown).
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tensorflow as tf
from google.protobuf import message, text_format
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.collector import paused
from graphdsl.errors import SourceError, did_you_mean
from graphdsl.lang import schema
from graphdsl.tf import checkpoints, effects, inline, tables
from graphdsl.tf.checkpoints import CheckpointValues
from graphdsl.tf.initial_values import LateValues
from graphdsl.tf.index import VARIABLE_OPS
from graphdsl.tf.messages import reason

KINDS = tuple(schema.SOURCE_KINDS)



@dataclass
class LoadedSource:
    """A source graph, loaded.

    ``session`` holds the variables' values (None when there are no values to hold); a MetaGraph's
    checkpoint is restored into it when it is first asked for (:attr:`values` reads single values
    from the checkpoint without it). ``signature`` is ``{"inputs": {key: tensor name}, "outputs":
    {key: tensor name}}`` for a SavedModel, else None.
    """

    kind: str
    path: Path
    graph: tf.Graph
    _session: tf.compat.v1.Session | None = None
    signature: dict[str, dict[str, str]] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    signatures: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # name -> signature
    signature_name: str | None = None  # the chosen signature's name; None when all are offered
    restore: Callable[[], tf.compat.v1.Session] | None = None  # makes the session when first needed
    checkpoint: CheckpointValues | None = None  # where single values are read without the session

    @property
    def session(self) -> tf.compat.v1.Session | None:
        """The session holding the source's values (restored now if it was not yet), or None."""
        if self._session is None and self.restore is not None:
            restore, self.restore = self.restore, None
            self._session = restore()
        return self._session

    @property
    def has_values(self) -> bool:
        """Whether the source holds variable values, without restoring them."""
        return self._session is not None or self.restore is not None

    @property
    def values(self) -> LateValues | None:
        """The source's values for copies that read them late (when the target is initialized)."""
        if not self.has_values:
            return None
        return LateValues(self.graph, lambda: self.session, self.checkpoint)

    def signature_tensor(self, source_name: str, key: str) -> str:
        """The tensor name ``@key`` stands for: input or output ``key`` of the chosen signature, or
        ``key`` of signature ``SIG`` when written ``SIG/key``. Raises SourceError saying what exists."""
        if not self.signatures:
            raise SourceError(f"source '{source_name}' has no signature, so no '@{key}'",
                              hint="signature keys name tensors of savedmodel sources; name the tensor itself")
        chosen, slash, rest = key.partition("/")
        if slash and chosen in self.signatures:
            return _signature_key(self.signatures[chosen], rest, f"the signature '{chosen}'", source_name)
        if self.signature_name is not None:
            return _signature_key(self.signatures[self.signature_name], key, "the signature", source_name)
        found = {name: sig for name, sig in self.signatures.items()
                 if key in sig["inputs"] or key in sig["outputs"]}
        if len(found) == 1:
            name, sig = found.popitem()
            return _signature_key(sig, key, f"the signature '{name}'", source_name)
        written = [f"@{name}/{key}" for name in sorted(found)] or [
            f"@{name}/{k}" for name, sig in sorted(self.signatures.items())
            for k in sorted({*sig["inputs"], *sig["outputs"]})]
        what = "several signatures" if found else "no signature"
        raise SourceError(f"{what} of source '{source_name}' {'have' if found else 'has'} an input or "
                          f"output '{key}'", hint=did_you_mean(f"@{key}", written)
                          or f"write one of: {', '.join(written)}")

    def close(self) -> None:
        """Closes the session, if any. The graph stays usable for reading."""
        self.restore = None
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> "LoadedSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signature_key(signature: dict[str, dict[str, str]], key: str, what: str, source_name: str) -> str:
    found = {name for part in ("inputs", "outputs") for k, name in signature[part].items() if k == key}
    if not found:
        keys = [*signature["inputs"], *signature["outputs"]]
        raise SourceError(f"{what} of source '{source_name}' has no input or output '{key}'",
                          hint=did_you_mean(key, keys) or f"its keys: {', '.join(sorted(keys))}")
    if len(found) > 1:
        raise SourceError(f"'{key}' is both an input and an output of {what} of source '{source_name}'",
                          hint=f"name the tensor: one of {sorted(found)}")
    return found.pop()


def load_source(kind: str, path: str | Path, options: dict[str, Any] | None, base_dir: Path, *,
                builder_timeout: float | None = None) -> LoadedSource:
    """Loads the source ``path`` (relative to ``base_dir``) of the given ``kind`` with ``options``.

    Raises :class:`SourceError` naming the path and what would fix it when the file is missing, has
    the wrong extension, cannot be parsed or imported, or a Python builder fails, exits or takes
    longer than ``builder_timeout`` seconds (default :data:`BUILDER_TIMEOUT`; 0: no limit).
    """
    loader = _LOADERS.get(kind)
    if loader is None:
        raise SourceError(
            f"unknown source kind '{kind}'",
            hint=did_you_mean(kind, KINDS) or f"use one of: {', '.join(KINDS)}",
        )
    options = dict(options or {})
    if kind == "python":
        timeout = BUILDER_TIMEOUT if builder_timeout is None else builder_timeout
        return _load_python(path, options, Path(base_dir), timeout)
    _check_options(kind, path, options, _OPTIONS[kind])
    for flag in _FLAGS:
        _check_flag(path, options, flag)
    with paused():  # a big graph's import makes an object per node; a builder's code is not paused
        loaded = loader(path, options, Path(base_dir))
    if not options.get("allow_side_effects"):
        effects.guard(loaded.graph, f"source '{path}'")
    return loaded


# -- graphdef --------------------------------------------------------------------------------------


def _load_graphdef(path: str | Path, options: dict[str, Any], base_dir: Path) -> LoadedSource:
    file = _existing_file(_resolve(path, base_dir), "graphdef", schema.SOURCE_KINDS["graphdef"].suffixes)
    graph_def = _parse(file, graph_pb2.GraphDef, text=file.suffix == schema.TEXT_SUFFIX)
    graph = tf.Graph()
    with graph.as_default():
        try:
            tf.graph_util.import_graph_def(graph_def, name="")
        except (ValueError, tf.errors.OpError, message.DecodeError) as e:
            raise SourceError(
                f"{file}: the GraphDef does not import: {reason(e)}",
                hint="regenerate the file with tf.io.write_graph from a working graph",
            ) from e
    return LoadedSource("graphdef", file, graph)


# -- metagraph -------------------------------------------------------------------------------------


def _load_metagraph(path: str | Path, options: dict[str, Any], base_dir: Path) -> LoadedSource:
    file = _existing_file(_resolve(path, base_dir), "metagraph", schema.SOURCE_KINDS["metagraph"].suffixes)
    meta = _parse_binary_or_text(file, meta_graph_pb2.MetaGraphDef)
    checkpoint = options.get("checkpoint")
    prefix = _checkpoint_prefix(file, checkpoint, base_dir) if checkpoint is not None else None
    graph = tf.Graph()
    with graph.as_default():
        try:
            saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        except (ValueError, KeyError, tf.errors.OpError, message.DecodeError) as e:
            raise SourceError(
                f"{file}: the MetaGraph does not import: {reason(e)}",
                hint="regenerate the file with tf.compat.v1.train.export_meta_graph",
            ) from e
    if prefix is None:
        return LoadedSource("metagraph", file, graph, options=options)
    if saver is None:
        raise SourceError(
            f"{file}: a checkpoint was given but the MetaGraph has no variables to restore",
            hint="drop the 'checkpoint' option",
        )
    if not options.get("allow_side_effects"):
        _refuse_effect(file, "restoring its variables", effects.meta_effect(meta, [saver.saver_def.restore_op_name]))

    def restore() -> tf.compat.v1.Session:
        session = tf.compat.v1.Session(graph=graph)
        try:
            with graph.as_default():  # outside a graph, Saver.restore would run eagerly
                saver.restore(session, str(prefix))
        except (ValueError, tf.errors.OpError) as e:
            session.close()
            raise _not_restoring(file, prefix, e) from e
        return session

    variables = _variables(graph)
    values = _checkpoint_values(graph, saver, prefix, variables)
    if values is None:  # a restore op other than a Saver's plain one: restore now, as it says
        return LoadedSource("metagraph", file, graph, restore(), options=options)
    try:
        values.check(variables)
    except (ValueError, tf.errors.OpError) as e:
        raise _not_restoring(file, prefix, e) from e
    return LoadedSource("metagraph", file, graph, options=options, restore=restore, checkpoint=values)


def _checkpoint_values(graph: tf.Graph, saver: Any, prefix: Path,
                       variables: dict[str, tuple[tf.DType, tf.TensorShape]]) -> CheckpointValues | None:
    """Single values of checkpoint ``prefix``, when ``saver`` restores every variable of
    ``variables`` (those of ``graph``) plainly."""
    if any(op.type == "_VarHandlesOp" for op in graph.get_operations()):
        return None
    keys = checkpoints.restored_keys(graph, saver.saver_def.restore_op_name)
    if keys is None or not set(variables) <= set(keys):
        return None
    return CheckpointValues(prefix, keys)


def _variables(graph: tf.Graph) -> dict[str, tuple[tf.DType, tf.TensorShape]]:
    """Every variable op of ``graph`` by name, with its dtype and shape."""
    found = {}
    for op in graph.get_operations():
        if op.type in VARIABLE_OPS:
            found[op.name] = (tf.as_dtype(op.get_attr("dtype")), tf.TensorShape(op.get_attr("shape")))
    return found


def _not_restoring(file: Path, prefix: Path, error: BaseException) -> SourceError:
    return SourceError(
        f"{file}: checkpoint '{prefix}' does not restore into this MetaGraph: {reason(error)}",
        hint="give the checkpoint written together with this .meta file",
    )


def _checkpoint_prefix(meta_file: Path, checkpoint: Any, base_dir: Path) -> Path:
    if not isinstance(checkpoint, (str, Path)):
        raise SourceError(
            f"{meta_file}: option 'checkpoint' must be a path, not {checkpoint!r}",
            hint='write checkpoint: "model.ckpt" (the prefix of model.ckpt.index)',
        )
    prefix = _resolve(checkpoint, base_dir)
    if prefix.is_dir():
        _regular(prefix / "checkpoint")
        latest = tf.train.latest_checkpoint(str(prefix))
        if latest is None:
            raise SourceError(
                f"{meta_file}: checkpoint directory '{prefix}' names no checkpoint",
                hint="give the checkpoint's prefix, e.g. 'model.ckpt' for model.ckpt.index",
            )
        prefix = Path(latest)
    for file in [Path(f"{prefix}.index"), *prefix.parent.glob(f"{glob.escape(prefix.name)}.data-*")]:
        _regular(file)
    if not Path(f"{prefix}.index").is_file():
        raise SourceError(
            f"{meta_file}: checkpoint '{prefix}' not found (no file '{prefix}.index')",
            hint="give the checkpoint's prefix, e.g. 'model.ckpt' for model.ckpt.index",
        )
    return prefix


# -- savedmodel ------------------------------------------------------------------------------------


def _load_savedmodel(path: str | Path, options: dict[str, Any], base_dir: Path) -> LoadedSource:
    directory = _resolve(path, base_dir)
    _check_savedmodel_dir(directory)
    tags = _string_list(directory, "tags", options.get("tags", list(schema.DEFAULT_TAGS)))
    signature_name = options.get("signature", schema.DEFAULT_SIGNATURE)
    meta = _find_metagraph(directory, tags)
    if signature_name == "*":
        names = [k for k in sorted(meta.signature_def) if not k.startswith("__")]
        signatures = {name: _find_signature(directory, meta, name) for name in names}
    else:
        signatures = {signature_name: _find_signature(directory, meta, signature_name)}
    if not options.get("allow_side_effects"):
        _refuse_effect(directory, "restoring its variables",
                       effects.meta_effect(meta, [meta.saver_def.restore_op_name]))
        _refuse_effect(directory, "its main op", effects.meta_effect(meta, effects.main_op_names(meta)))

    late = _late_savedmodel(meta, directory)
    session = None
    if late is None:
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph)
        try:
            with graph.as_default():
                tf.compat.v1.saved_model.loader.load(session, tags, str(directory))
        except (ValueError, KeyError, RuntimeError, OSError, tf.errors.OpError, message.DecodeError) as e:
            session.close()
            raise _not_loading(directory, e) from e
    else:
        graph = late[0]
    tables.declare_savedmodel(graph, meta, directory)
    if options.get("inline"):
        signatures = inline.inline_signatures(graph, signatures)
    chosen = None if signature_name == "*" else signature_name
    loaded = LoadedSource("savedmodel", directory, graph, session, signatures.get(chosen), options,
                          signatures, chosen)
    if late is not None:
        _, loaded.restore, loaded.checkpoint = late
    if not _has_state(graph):
        loaded.close()
    return loaded


def _late_savedmodel(meta: meta_graph_pb2.MetaGraphDef, directory: Path
                     ) -> tuple[tf.Graph, Callable[[], tf.compat.v1.Session], CheckpointValues] | None:
    """Imports a SavedModel whose loading is only an import and a restore, restoring it later.

    That is one with variables, no main op, init op or assets: the SavedModel loader would import
    its MetaGraph (as done here) and restore ``variables/variables`` with its Saver, nothing more.
    The restore then waits until something needs the session (as for a MetaGraph source): value
    copies read single values from the checkpoint when the target is initialized. Returns (the
    graph, what restores its session, the checkpoint's values), or None for any other SavedModel,
    which the loader then loads at once.
    """
    prefix = directory / "variables" / "variables"
    if (effects.main_op_names(meta) or meta.asset_file_def or "saved_model_assets" in meta.collection_def
            or not meta.HasField("saver_def") or not prefix.with_name("variables.index").is_file()):
        return None
    graph = tf.Graph()
    try:
        with graph.as_default():
            saver = tf.compat.v1.train.import_meta_graph(meta)
        variables = _variables(graph)
        values = _checkpoint_values(graph, saver, prefix, variables) if saver is not None else None
        if values is None:
            return None
        values.check(variables)
    except (ValueError, KeyError, tf.errors.OpError, message.DecodeError):
        return None  # the loader, loading it whole, says what is wrong

    def restore() -> tf.compat.v1.Session:
        session = tf.compat.v1.Session(graph=graph)
        try:
            with graph.as_default():
                saver.restore(session, str(prefix))
        except (ValueError, tf.errors.OpError) as e:
            session.close()
            raise _not_loading(directory, e) from e
        return session

    return graph, restore, values


def _not_loading(directory: Path, error: BaseException) -> SourceError:
    return SourceError(
        f"{directory}: the SavedModel does not load: {reason(error)}",
        hint="check that the directory holds a complete SavedModel (saved_model.pb and variables/)",
    )


def _check_savedmodel_dir(directory: Path) -> None:
    if directory.is_file():
        raise SourceError(
            f"{directory}: a SavedModel source is a directory, not a file",
            hint=f"name the directory '{directory.parent}'" if directory.name.startswith("saved_model.")
            else "use kind 'graphdef' or 'metagraph' for a single file",
        )
    if not directory.is_dir():
        raise SourceError(f"{directory}: no such SavedModel directory", hint="check the path")
    if not any((directory / n).is_file() for n in ("saved_model.pb", "saved_model.pbtxt")):
        raise SourceError(
            f"{directory}: not a SavedModel directory (no saved_model.pb in it)",
            hint="name the directory written by tf.saved_model.save or SavedModelBuilder",
        )
    _regular_tree(directory)


def _find_metagraph(directory: Path, tags: list[str]) -> meta_graph_pb2.MetaGraphDef:
    binary = directory / "saved_model.pb"
    if binary.is_file():
        saved = _parse(binary, saved_model_pb2.SavedModel, text=False)
    else:
        saved = _parse(directory / "saved_model.pbtxt", saved_model_pb2.SavedModel, text=True)
    for meta in saved.meta_graphs:
        if set(meta.meta_info_def.tags) == set(tags):
            return meta
    found = [sorted(m.meta_info_def.tags) for m in saved.meta_graphs]
    raise SourceError(
        f"{directory}: the SavedModel has no MetaGraph tagged {sorted(tags)}",
        hint=f"set option 'tags' to one of: {', '.join(map(str, found))}",
    )


def _find_signature(directory: Path, meta: meta_graph_pb2.MetaGraphDef, name: Any) -> dict[str, dict[str, str]]:
    known = sorted(k for k in meta.signature_def if not k.startswith("__"))
    if not isinstance(name, str) or name.startswith("__") or name not in meta.signature_def:
        listing = ", ".join(f"'{k}'" for k in known) or "none"
        hint = did_you_mean(str(name), known, "signature")
        raise SourceError(
            f"{directory}: the SavedModel has no signature '{name}' (it has: {listing})",
            hint=hint or "set option 'signature' to one of the signatures it has",
        )
    sig = meta.signature_def[name]
    return {
        "inputs": {k: v.name for k, v in sorted(sig.inputs.items())},
        "outputs": {k: v.name for k, v in sorted(sig.outputs.items())},
    }


# -- python ----------------------------------------------------------------------------------------

_module_ids = itertools.count()

BUILDER_TIMEOUT = 600.0
"""Seconds a Python builder may take (importing its file and calling it), unless told otherwise.

Generous, as a builder may train a small model; ``None`` or ``0`` sets no limit."""


class _BuilderTimeout(BaseException):
    """Raised into a builder that overran its time; a BaseException, so ``except Exception`` in the
    builder does not swallow it."""


def _load_python(path: str | Path, options: dict[str, Any], base_dir: Path,
                 timeout: float | None = BUILDER_TIMEOUT) -> LoadedSource:
    file_part, sep, function_name = str(path).rpartition(":")
    if not sep or not file_part or not function_name.isidentifier():
        raise SourceError(
            f"python source '{path}' does not name a function",
            hint="write it as 'file.py:function'",
        )
    file = _existing_file(_resolve(file_part, base_dir), "python", schema.SOURCE_KINDS["python"].suffixes)
    where = f"{file}:{function_name}"
    # One deadline for the import and the call: either may run the builder's code for ever.
    try:
        with _time_limit(timeout):
            module = _import_file(file)
            function = getattr(module, function_name, None)
            if not callable(function):
                names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
                raise SourceError(
                    f"{file}: defines no function '{function_name}'",
                    hint=did_you_mean(function_name, names, "function") or "define it, or name another function",
                )
            result = _call_builder(where, file, function, options)
    except _BuilderTimeout:
        raise SourceError(
            f"{where}: the builder did not return within {timeout:g} s",
            hint="make it return sooner, or give it more time with --builder-timeout SECONDS "
            "(0: no limit)",
        ) from None
    graph, session = _graph_and_session(where, result)
    return LoadedSource("python", file, graph, session, options=options)


def _import_file(file: Path) -> Any:
    """Imports ``file`` under a fresh module name, with its directory on ``sys.path`` only meanwhile."""
    name = f"_graphdsl_source_{next(_module_ids)}_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file.resolve())
    assert spec is not None and spec.loader is not None  # a .py path always yields a spec
    module = importlib.util.module_from_spec(spec)
    with _imported_from(file.parent):
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise SourceError(
                f"{file}: importing the file failed: {_raised(e)}",
                hint="fix the error in the builder file",
            ) from e
        except SystemExit as e:
            raise SourceError(f"{file}: importing the file called {_exit_call(e)}",
                              hint=_EXIT_HINT) from None
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"while importing the builder file {file}") from None
        except _BuilderTimeout:
            raise
        except BaseException as e:  # GeneratorExit, a BaseException of the builder's own, ...
            raise SourceError(f"{file}: importing the file failed: {_raised(e)}",
                              hint="fix the error in the builder file") from None
        finally:
            del sys.modules[name]
    return module


def _call_builder(where: str, file: Path, function: Callable[..., Any], options: dict[str, Any]) -> Any:
    graph = tf.Graph()
    with _imported_from(file.parent), graph.as_default():
        try:
            return function(**options)
        except Exception as e:
            raise SourceError(
                f"{where}: the builder raised {_raised(e)}",
                hint="fix the builder, or the options the spec passes to it",
            ) from e
        except SystemExit as e:  # a builder's exit must not end graphdsl (exit 0 would fake success)
            raise SourceError(f"{where}: the builder called {_exit_call(e)}", hint=_EXIT_HINT) from None
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"while running the builder {where}") from None
        except _BuilderTimeout:
            raise
        except BaseException as e:  # GeneratorExit, a BaseException of the builder's own, ...
            raise SourceError(
                f"{where}: the builder raised {_raised(e)}",
                hint="fix the builder, or the options the spec passes to it",
            ) from None


def _raised(error: BaseException) -> str:
    """``TYPE: MESSAGE`` of an exception a builder raised; ``TYPE`` alone when it has no message."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


_EXIT_HINT = "a builder returns its graph; to fail, it raises an exception that says why"


def _exit_call(exit_: SystemExit) -> str:
    if isinstance(exit_, _ProcessExit):
        return f"os._exit({exit_.code!r})"
    return "sys.exit()" if exit_.code is None else f"sys.exit({exit_.code!r})"


class _ProcessExit(SystemExit):
    """What ``os._exit`` raises in graphdsl's process while a builder runs (see :class:`_imported_from`)."""


# setitimer refuses a time it cannot hold (about 292 years in nanoseconds, less with a 32-bit
# time_t): 2**31 s, 68 years, fits every platform.
_LONGEST_TIMER = 2.0 ** 31


class _time_limit:
    """Raises :class:`_BuilderTimeout` into the ``with`` block after ``seconds``.

    It relies on ``SIGALRM``, so it works in the main thread of a POSIX process; elsewhere the block
    runs without a limit. A builder blocked inside one TensorFlow op is interrupted once that op
    returns. A timer the caller had set gets back what is left of it.
    """

    def __init__(self, seconds: float | None) -> None:
        # None, 0 (or less) and a limit too long for the timer to hold (it is never reached) set none.
        self.seconds: float = seconds if seconds is not None and 0 < seconds < _LONGEST_TIMER else 0.0
        self.active = self.seconds > 0 and hasattr(signal, "setitimer") \
            and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if not self.active:
            return
        self.previous = signal.signal(signal.SIGALRM, _expire)
        self.started = time.monotonic()
        self.outer = signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if not self.active:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        remaining, interval = self.outer
        if remaining > 0:
            left = remaining - (time.monotonic() - self.started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), interval)


def _expire(signum: int, frame: Any) -> None:
    raise _BuilderTimeout()


def _graph_and_session(where: str, result: Any) -> tuple[tf.Graph, tf.compat.v1.Session | None]:
    if isinstance(result, tf.Graph):
        return result, None
    if isinstance(result, tf.compat.v1.Session):
        return result.graph, result
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], tf.Graph)
        and isinstance(result[1], tf.compat.v1.Session)
    ):
        if result[1].graph is not result[0]:
            raise SourceError(
                f"{where}: the builder returned a session of another graph",
                hint="return (graph, tf.compat.v1.Session(graph=graph))",
            )
        return result
    raise SourceError(
        f"{where}: the builder returned {_describe(result)}",
        hint="return a tf.Graph, a (tf.Graph, tf.compat.v1.Session) pair, or a Session",
    )


class _imported_from:
    """For a ``with`` block: a directory first on ``sys.path``, no bytecode written, and what the
    builder's code may change of graphdsl's process put back afterwards: the working directory (a
    builder that changes it, or removes it, must not move the sources after it), ``sys.stdout`` and
    ``sys.stderr`` (replaced or closed, graphdsl could not report), and ``os._exit``, which raises
    :class:`_ProcessExit` in this process meanwhile (ending it there would fake a success; a
    process the builder forked still exits with it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory.resolve())

    def __enter__(self) -> None:
        self.saved_flag = sys.dont_write_bytecode
        self.saved_cwd = os.getcwd()
        self.saved_streams = sys.stdout, sys.stderr
        self.saved_exit = os._exit
        sys.dont_write_bytecode = True
        sys.path.insert(0, self.directory)
        os._exit = _exit_in(os.getpid(), self.saved_exit)  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        os._exit = self.saved_exit
        sys.dont_write_bytecode = self.saved_flag
        try:
            moved = os.getcwd() != self.saved_cwd
        except OSError:  # the builder removed the directory it moved to
            moved = True
        if moved:
            os.chdir(self.saved_cwd)
        sys.stdout, sys.stderr = (_open_again(stream) for stream in self.saved_streams)
        try:
            sys.path.remove(self.directory)
        except ValueError:  # the builder removed it itself
            pass


def _exit_in(pid: int, exit_: Callable[[int], Any]) -> Callable[[int], Any]:
    """``os._exit`` that raises :class:`_ProcessExit` in process ``pid`` and exits anywhere else."""
    def guarded(code: int) -> Any:
        if os.getpid() != pid:
            exit_(code)
        raise _ProcessExit(code)

    return guarded


def _open_again(stream: Any) -> Any:
    """``stream`` (sys.stdout or sys.stderr), or a new one on its file descriptor if it was closed."""
    if stream is None or not getattr(stream, "closed", False):
        return stream
    fd = {"<stdout>": 1, "<stderr>": 2}.get(getattr(stream, "name", ""))
    if fd is None:
        return stream
    try:
        return open(fd, "w", encoding=getattr(stream, "encoding", None), errors=getattr(stream, "errors", None),
                    closefd=False, buffering=1)
    except (OSError, ValueError):
        return stream


# -- shared helpers --------------------------------------------------------------------------------

_LOADERS = {
    "graphdef": _load_graphdef,
    "metagraph": _load_metagraph,
    "savedmodel": _load_savedmodel,
    "python": _load_python,
}
_OPTIONS = {k.name: k.option_names for k in schema.SOURCE_KINDS.values() if k.options is not None}
_FLAGS = tuple(sorted({o.key for k in schema.SOURCE_KINDS.values() for o in k.options or () if o.type is schema.ValueType.BOOL}))


def _check_flag(path: str | Path, options: dict[str, Any], name: str) -> None:
    if name in options and not isinstance(options[name], bool):
        raise SourceError(f"{path}: option '{name}' must be true or false, not {options[name]!r}",
                          hint=f"write {name} = true")


def _refuse_effect(where: Path, what: str, found: str | None) -> None:
    if found is not None:
        raise SourceError(f"{where}: {what} would run {found}, which acts outside the session",
                          hint=effects.HINT)


def _check_options(kind: str, path: str | Path, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for name in options:
        if name not in allowed:
            hint = did_you_mean(name, allowed, "option")
            known = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
            raise SourceError(
                f"{path}: unknown option '{name}' for a {kind} source ({known})",
                hint=hint or "remove the option",
            )


def _resolve(path: str | Path, base_dir: Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else base_dir / path


def _existing_file(file: Path, kind: str, suffixes: tuple[str, ...]) -> Path:
    if not file.exists():
        raise SourceError(f"{file}: no such file", hint="check the path (relative paths start at the spec's directory)")
    if file.is_dir():
        hint = "use kind 'savedmodel' for a SavedModel directory" if (file / "saved_model.pb").exists() \
            else f"name a {' or '.join(suffixes)} file"
        raise SourceError(f"{file}: is a directory, not a {kind} file", hint=hint)
    _regular(file)
    if file.suffix not in suffixes:
        raise SourceError(
            f"{file}: a {kind} source must be a {' or '.join(suffixes)} file",
            hint=_kind_for_suffix(file.suffix) or f"rename the file or use the kind that fits '{file.suffix}'",
        )
    return file


def _regular(file: Path) -> None:
    """Refuse ``file`` (an existing path, followed through links) unless it is a regular file or a
    directory: reading a device or a pipe to its end may never end (/dev/zero, a FIFO)."""
    if not file.is_file() and not file.is_dir() and file.exists():
        raise SourceError(f"{file}: not a regular file (a device, a pipe or a socket)",
                          hint="a source's files are read whole: name a file")


def _regular_tree(directory: Path) -> None:
    """:func:`_regular` for everything under ``directory`` (a SavedModel's variables and assets)."""
    for folder, folders, files in os.walk(directory):
        for name in files + folders:
            _regular(Path(folder, name))


def _kind_for_suffix(suffix: str) -> str | None:
    kind = schema.kind_for_suffix(suffix)
    return f"a '{suffix}' file is loaded with kind '{kind}'" if kind else None


def _parse(file: Path, proto_type: type, text: bool) -> Any:
    proto = proto_type()
    try:
        data = file.read_bytes()
        if text:
            text_format.Parse(data.decode("utf-8"), proto)
        else:
            proto.ParseFromString(data)
    except OSError as e:
        raise SourceError(f"{file}: cannot be read: {e.strerror}", hint="check the file's permissions") from e
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as e:
        form = "text" if text else "binary"
        raise SourceError(
            f"{file}: not a {form} {proto_type.__name__} ({reason(e)})",
            hint="the file is corrupt or of another kind; "
            + ("'.pbtxt' files must be text, '.pb' files binary" if proto_type is graph_pb2.GraphDef
               else "regenerate it"),
        ) from e
    return proto


def _parse_binary_or_text(file: Path, proto_type: type) -> Any:
    try:
        return _parse(file, proto_type, text=False)
    except SourceError as binary_error:
        try:
            return _parse(file, proto_type, text=True)
        except SourceError:
            raise binary_error from binary_error.__cause__


def _string_list(where: Path, option: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise SourceError(f"{where}: option '{option}' must be a list of strings, not {value!r}",
                      hint=f'write tags: ["{schema.DEFAULT_TAG}"]')


def _has_state(graph: tf.Graph) -> bool:
    """Whether the session holds values a copy in mode 'value' may read: variables or mutable tables."""
    return any(op.type in VARIABLE_OPS or op.type in tables.MUTABLE_TABLE_OPS for op in graph.get_operations())


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__name__}"
