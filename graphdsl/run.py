"""Run a built graph, or a spec composed in memory, on inputs given by name: ``graphdsl run``.

Names mean what :meth:`graphdsl.assemble.resolve.Resolver.text` says: a signature's input or
output key, an alias of the spec (kept in the build manifest), a reference like ``Head["logits:0"]``
(specs only), then a tensor, op or variable name of the graph. A variable's name fetches its value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import tensorflow as tf
import yaml
from google.protobuf import message, text_format

from graphdsl.assemble.manifest import BuildManifest, ExportEntry, read_manifest
from graphdsl.assemble.resolve import Resolver, signature_keys
from graphdsl.errors import RunError, did_you_mean
from graphdsl.lang import schema
from graphdsl.tf.messages import reason

tf1 = tf.compat.v1

# What loading a damaged export can raise, besides TensorFlow's own errors.
_LOAD_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError,
                message.DecodeError, text_format.ParseError, tf.errors.OpError)


@dataclass
class Runnable:
    """A graph with a session holding its values, and the names it answers to."""

    names: Resolver
    session: tf1.Session
    closer: Callable[[], None] | None = None

    @property
    def graph(self) -> tf.Graph:
        return self.names.graph

    def element(self, name: str) -> Any:
        """The graph element ``name`` stands for."""
        return self.names.text(name)

    def run(self, feeds: dict[str, str], fetches: list[str], repeat: int = 1) -> list[Any]:
        """Feeds ``feeds`` (name -> YAML literal) and runs ``fetches`` ``repeat`` times."""
        feed_dict = {}
        for name, text in feeds.items():
            tensor = self.element(name)
            if not isinstance(tensor, tf.Tensor):
                raise RunError(f"cannot feed '{name}': it is not a tensor",
                               hint="feed a placeholder or another tensor, by name or alias")
            feed_dict[tensor] = _value(name, text, tensor)
        targets = [self.element(name) for name in fetches]
        results: list[Any] = []
        try:
            for _ in range(max(repeat, 1)):
                results = self.session.run(targets, feed_dict)
        except tf.errors.OpError as e:
            text = reason(e)
            hint = ("feed every placeholder the fetches need" if "placeholder" in text
                    else "check the fed values and what the fetches need")
            raise RunError(f"running the graph failed: {text}", hint=hint) from None
        return results

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
        else:
            self.session.close()


def open_runnable(target: str | os.PathLike, signature: str = "serving_default",
                  export: str | None = None, tags: list[str] | None = None,
                  params: Any = None, max_statements: int | None = None) -> Runnable:
    """A :class:`Runnable` for a spec file (composed in memory) or a build's output directory.

    ``params`` and ``max_statements`` apply to a template (see :func:`graphdsl.assemble.compose.compose`).
    """
    path = Path(target)
    if path.is_file() and path.suffix == ".gcomp":
        from graphdsl.assemble.compose import compose

        composition = compose(path, params=params, max_statements=max_statements)
        return Runnable(composition.names, composition.session, closer=composition.close)
    if not path.is_dir():
        raise RunError(f"{path}: neither a .gcomp spec nor a build's output directory",
                       hint="give a spec file or the directory 'graphdsl build -o' wrote")
    return _open_outdir(path, signature, export, tags)


def _open_outdir(path: Path, signature: str, export: str | None, tags: list[str] | None) -> Runnable:
    manifest = read_manifest(path)
    exports = list(manifest.exports) if manifest is not None and manifest.exports else _guess_exports(path)
    if export is not None:
        known = [e.path for e in exports]
        exports = [e for e in exports if e.path == export]
        if not exports:
            raise RunError(f"{path}: no export named '{export}'",
                           hint=did_you_mean(export, known) or f"exports: {', '.join(known)}")
    if not exports:
        raise RunError(f"{path}: holds no export graphdsl can run",
                       hint="build the spec with -o into this directory first")
    chosen = exports[0]  # the first export of the spec
    if tags is not None:
        chosen = ExportEntry(chosen.kind, chosen.path, tuple(tags))
    graph = tf.Graph()
    session = tf1.Session(graph=graph)
    names = Resolver(graph, error=RunError)
    try:
        names.keys = _load_export(graph, session, path / chosen.path, chosen, signature)
    except _LOAD_ERRORS as e:
        session.close()
        raise RunError(f"{path / chosen.path}: cannot load this {chosen.kind} export: "
                       f"{reason(e)}", hint="rebuild it with 'graphdsl build'") from None
    names.aliases.update(_aliases(manifest))
    return Runnable(names, session)


def _aliases(manifest: BuildManifest | None) -> dict[str, str]:
    return {name: alias.name for name, alias in manifest.aliases.items()} if manifest else {}


def _load_export(graph: tf.Graph, session: tf1.Session, item: Path, chosen: ExportEntry,
                 signature: str) -> dict[str, str]:
    """Loads the export into ``graph`` and ``session``; returns the signature's keys."""
    with graph.as_default():
        if chosen.kind == "savedmodel":
            meta = tf1.saved_model.loader.load(session, list(chosen.tags or schema.DEFAULT_TAGS), str(item))
            return signature_keys(meta.signature_def, signature)
        if chosen.kind == "metagraph":
            saver = tf1.train.import_meta_graph(str(item) + ".meta")
            if saver is not None and Path(str(item) + ".ckpt.index").exists():
                saver.restore(session, str(item) + ".ckpt")
            return {}
        graph_def = tf1.GraphDef()
        data = item.read_bytes()
        if item.suffix == ".pbtxt":
            text_format.Parse(data.decode(), graph_def)
        else:
            graph_def.ParseFromString(data)
        tf1.import_graph_def(graph_def, name="")
        return {}


def _guess_exports(path: Path) -> list[ExportEntry]:
    found = []
    for item in sorted(path.iterdir()):
        if (item / "saved_model.pb").exists():
            found.append(ExportEntry("savedmodel", item.name, tuple(schema.DEFAULT_TAGS)))
        elif item.suffix == ".meta":
            found.append(ExportEntry("metagraph", item.stem))
        elif item.suffix in (".pb", ".pbtxt"):
            found.append(ExportEntry("graphdef", item.name))
    return found


def _value(name: str, text: str, tensor: tf.Tensor) -> np.ndarray:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RunError(f"--feed {name}={text}: not a value ({getattr(e, 'problem', e)})",
                       hint="write a number or a nested list, like [[1.0, 2.0]]") from None
    try:
        array = np.asarray(value, dtype=tensor.dtype.as_numpy_dtype)
    except (TypeError, ValueError) as e:
        raise RunError(f"--feed {name}={text}: not a {tensor.dtype.name} value ({e})") from None
    if not tensor.shape.is_compatible_with(array.shape):
        raise RunError(f"--feed {name}: shape {list(array.shape)} does not fit '{tensor.name}' "
                       f"(shape {tensor.shape})", hint="give a value of the tensor's shape")
    return array


def format_result(name: str, value: Any) -> str:
    """``name = value`` with numpy's printing, one result per line block."""
    if value is None:
        return f"{name}: done"
    text = np.array2string(np.asarray(value), precision=6, suppress_small=True) if isinstance(
        value, (np.ndarray, np.generic)) else repr(value)
    return f"{name} = {text}"
