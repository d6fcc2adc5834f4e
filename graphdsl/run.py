"""Run a built graph, or a spec composed in memory, on inputs given by name: ``graphdsl run``.

Names are resolved in this order: a signature's input or output key (SavedModel exports), an alias
of the spec (kept in the build's ``graphdsl-build.yaml``), a reference like ``Head["logits:0"]``
(specs only), then a plain tensor or op name of the graph. A variable's name fetches its value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import tensorflow as tf
import yaml

from graphdsl.errors import RunError, did_you_mean
from graphdsl.tf.registry import variable_named
from graphdsl.tf.messages import reason

tf1 = tf.compat.v1


@dataclass
class Runnable:
    """A graph with a session holding its values, and the names it answers to."""

    graph: tf.Graph
    session: tf1.Session
    names: dict[str, str] = field(default_factory=dict)  # friendly name -> graph element name
    lookup: Callable[[str], Any] | None = None  # extra resolver (a composition's references)
    closer: Callable[[], None] | None = None

    def element(self, name: str):
        """The graph element ``name`` stands for."""
        if name in self.names:
            name = self.names[name]
        elif self.lookup is not None:
            return self.lookup(name)
        variable = variable_named(self.graph, name.partition(":")[0])
        if variable is not None:
            return variable
        try:
            return self.graph.as_graph_element(name, allow_tensor=True, allow_operation=True)
        except (KeyError, ValueError):
            ops = [op.name for op in self.graph.get_operations()]
            raise RunError(f"no input, output, alias or element named '{name}'",
                           hint=did_you_mean(name, [*self.names, *ops])
                           or f"known names: {', '.join(sorted(self.names)) or '(none)'}") from None

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
            message = reason(e)
            hint = ("feed every placeholder the fetches need" if "placeholder" in message
                    else "check the fed values and what the fetches need")
            raise RunError(f"running the graph failed: {message}", hint=hint) from None
        return results

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
        else:
            self.session.close()


def open_runnable(target: str | os.PathLike, signature: str = "serving_default",
                  export: str | None = None, tags: list[str] | None = None) -> Runnable:
    """A :class:`Runnable` for a spec file (composed in memory) or a build's output directory."""
    path = Path(target)
    if path.is_file() and path.suffix == ".gcomp":
        from graphdsl.assemble.compose import compose

        composition = compose(path)
        return Runnable(composition.graph, composition.session, lookup=composition.tensor,
                        closer=composition.close)
    if not path.is_dir():
        raise RunError(f"{path}: neither a .gcomp spec nor a build's output directory",
                       hint="give a spec file or the directory 'graphdsl build -o' wrote")
    return _open_outdir(path, signature, export, tags)


def _open_outdir(path: Path, signature: str, export: str | None, tags: list[str] | None) -> Runnable:
    from graphdsl.assemble.compose import BUILD_MANIFEST

    manifest_file = path / BUILD_MANIFEST
    manifest = yaml.safe_load(manifest_file.read_text()) if manifest_file.exists() else {}
    exports = manifest.get("exports") or _guess_exports(path)
    if export is not None:
        known = [e["path"] for e in exports]
        exports = [e for e in exports if e["path"] == export]
        if not exports:
            raise RunError(f"{path}: no export named '{export}'",
                           hint=did_you_mean(export, known) or f"exports: {', '.join(known)}")
    if not exports:
        raise RunError(f"{path}: holds no export graphdsl can run",
                       hint="build the spec with -o into this directory first")
    chosen = dict(exports[0])  # the first export of the spec
    if tags is not None:
        chosen["tags"] = tags
    graph = tf.Graph()
    session = tf1.Session(graph=graph)
    names = {name: alias["name"] for name, alias in (manifest.get("aliases") or {}).items()}
    try:
        _load_export(graph, session, path / chosen["path"], chosen, signature, names)
    except (OSError, RuntimeError, ValueError, tf.errors.OpError) as e:
        session.close()
        raise RunError(f"{path / chosen['path']}: cannot load this {chosen['kind']} export: "
                       f"{reason(e)}", hint="rebuild it with 'graphdsl build'") from None
    return Runnable(graph, session, names)


def _load_export(graph: tf.Graph, session: tf1.Session, item: Path, chosen: dict, signature: str,
                 names: dict[str, str]) -> None:
    with graph.as_default():
        if chosen["kind"] == "savedmodel":
            meta = tf1.saved_model.loader.load(session, chosen.get("tags", ["serve"]), str(item))
            if signature in meta.signature_def:
                sig = meta.signature_def[signature]
                names.update({k: v.name for k, v in sig.inputs.items()})
                names.update({k: v.name for k, v in sig.outputs.items()})
        elif chosen["kind"] == "metagraph":
            saver = tf1.train.import_meta_graph(str(item) + ".meta")
            if saver is not None and Path(str(item) + ".ckpt.index").exists():
                saver.restore(session, str(item) + ".ckpt")
            if graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS):
                session.run(tf1.tables_initializer())
        else:
            graph_def = tf1.GraphDef()
            data = item.read_bytes()
            if item.suffix == ".pbtxt":
                from google.protobuf import text_format

                text_format.Parse(data.decode(), graph_def)
            else:
                graph_def.ParseFromString(data)
            tf1.import_graph_def(graph_def, name="")
            if any(node.name == "init_all_tables" for node in graph_def.node):
                session.run("init_all_tables")  # what a frozen graph's tables need, see export


def _guess_exports(path: Path) -> list[dict[str, str]]:
    found = []
    for item in sorted(path.iterdir()):
        if (item / "saved_model.pb").exists():
            found.append({"kind": "savedmodel", "path": item.name})
        elif item.suffix == ".meta":
            found.append({"kind": "metagraph", "path": item.stem})
        elif item.suffix in (".pb", ".pbtxt"):
            found.append({"kind": "graphdef", "path": item.name})
    return found


def _value(name: str, text: str, tensor: tf.Tensor) -> np.ndarray:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RunError(f"--feed {name}={text}: not a value ({e.problem})",
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
