"""Run a built graph, or a spec composed in memory, on inputs given by name: ``graphdsl run``.

Names mean what :meth:`graphdsl.assemble.resolve.Resolver.text` says: a signature's input or
output key, an alias of the spec (kept in the build manifest), a reference like ``Head["logits:0"]``
(specs only), then a tensor, op or variable name of the graph. A variable's name fetches its value.
Signature keys come from the SavedModel export being run, or, for a spec, from the signature of its
first savedmodel export. Values in and out are :mod:`graphdsl.values`; after the runs,
:meth:`Runnable.save_variables` writes what the variables hold into a new output directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import tensorflow as tf
from google.protobuf import message, text_format
from tensorflow.core.protobuf import saved_model_pb2

from graphdsl.assemble.export import export_metagraph, export_savedmodel
from graphdsl.assemble.manifest import (
    BUILD_MANIFEST, BuildManifest, ExportEntry, read_manifest, read_outputs, write_manifest)
from graphdsl.assemble.outdir import OutputDir, settle, state
from graphdsl.assemble.resolve import Resolver
from graphdsl.errors import RunError, did_you_mean
from graphdsl.lang import schema
from graphdsl.tf.messages import reason
from graphdsl.tools.outdir import check_export_name, select_exports
from graphdsl.values import Feed, feed_value

tf1 = tf.compat.v1

# What loading a damaged export can raise, besides TensorFlow's own errors.
_LOAD_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError,
                message.DecodeError, text_format.ParseError, tf.errors.OpError)


@dataclass
class Runnable:
    """A graph with a session holding its values, and the names it answers to.

    ``writer`` writes the graph with the session's current values into a new output directory
    (see :meth:`save_variables`); ``closer`` releases what the runnable holds.
    """

    names: Resolver
    session: tf.compat.v1.Session
    closer: Callable[[], None] | None = None
    writer: Callable[[Path], list[Path]] | None = None

    @property
    def graph(self) -> tf.Graph:
        return self.names.graph

    def element(self, name: str) -> Any:
        """The graph element ``name`` stands for."""
        return self.names.text(name)

    def run(self, feeds: Mapping[str, Feed], fetches: Sequence[str], repeat: int = 1) -> list[Any]:
        """Feeds ``feeds`` (name -> YAML literal or array) and runs ``fetches`` ``repeat`` times.

        Returns the results of the last run (None for an op).
        """
        feed_dict = {}
        for name, feed in feeds.items():
            tensor = self.element(name)
            if not isinstance(tensor, tf.Tensor):
                raise RunError(f"cannot feed '{name}': it is not a tensor",
                               hint="feed a placeholder or another tensor, by name or alias")
            feed_dict[tensor] = feed_value(name, feed, tensor)
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

    def save_variables(self, outdir: str | os.PathLike) -> list[Path]:
        """Writes the graph with the values its variables hold now (after training) into ``outdir``.

        ``outdir`` becomes an output directory like a build's (all or nothing, with a build
        manifest, so ``graphdsl run OUTDIR`` answers to the same names): for a spec, every export
        of the spec; for a build's SavedModel, a new SavedModel with its signatures and tags; for
        its MetaGraph, the MetaGraph and a new checkpoint. Returns the exports written.
        """
        if self.writer is None:
            raise RunError("this graph cannot be written back", hint="run a spec or a build's output directory")
        return self.writer(Path(outdir))

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
        else:
            self.session.close()


def open_runnable(target: str | os.PathLike, signature: str | None = None,
                  export: str | None = None, tags: list[str] | None = None, *,
                  builder_timeout: float | None = None, params: Any = None,
                  max_statements: int | None = None) -> Runnable:
    """A :class:`Runnable` for a spec file (composed in memory) or a build's output directory.

    ``export`` picks the export run (of a build) or whose signature keys name tensors (of a spec);
    ``signature`` picks the signature whose keys are names (default: ``serving_default`` if the
    export has one, else its first); ``tags`` loads a SavedModel built elsewhere. ``params`` and
    ``max_statements`` apply to a template (see :func:`graphdsl.assemble.compose.compose`).
    """
    path = Path(target)
    if path.is_file() and path.suffix == schema.SPEC_SUFFIX:
        return _open_spec(path, signature, export, builder_timeout, params, max_statements)
    if not path.is_dir():
        raise RunError(f"{path}: neither a .gcomp spec nor a build's output directory",
                       hint="give a spec file or the directory 'graphdsl build -o' wrote")
    return _open_outdir(path, signature, export, tags)


# -- a spec, composed in memory ----------------------------------------------------------------------


def _open_spec(path: Path, signature: str | None, export: str | None, builder_timeout: float | None,
               params: Any = None, max_statements: int | None = None) -> Runnable:
    from graphdsl.assemble.compose import compose

    composition = compose(path, params, max_statements, builder_timeout=builder_timeout)
    try:
        session = composition.session
        savedmodels = [(e.path.value, elements) for e, elements in zip(composition.spec.exports,
                                                                         composition.exported)
                       if e.kind.name == "savedmodel"]
        if export is not None:
            check_export_name(path, [e.path.value for e in composition.spec.exports], export, RunError)
            savedmodels = [(name, elements) for name, elements in savedmodels if name == export]
        if savedmodels:
            name, signatures = savedmodels[0]
            chosen = _signature(signatures, signature, f"{path}: export '{name}'")
            inputs, outputs = signatures[chosen]
            composition.names.keys = {k: t.name for k, t in {**inputs, **outputs}.items()}
        elif signature is not None:
            raise RunError(f"{path}: --signature {signature}: the spec has no savedmodel export to take "
                           "signatures from", hint="leave --signature out")
    except BaseException:
        composition.close()
        raise

    def write(outdir: Path) -> list[Path]:
        if not composition.spec.exports:
            raise RunError(f"{path}: the spec has no export to write the variables into",
                           hint="add an export to the spec (a metagraph export writes a checkpoint)")
        return composition.save(outdir)

    return Runnable(composition.names, session, closer=composition.close, writer=write)


def _signature(names: Sequence[str] | Mapping[str, Any], wanted: str | None, where: str) -> str:
    """The signature to take keys from: ``wanted``, else the default (``serving_default``), else the first."""
    known = [n for n in names if not n.startswith("__")]
    if wanted is None:
        return schema.DEFAULT_SIGNATURE if schema.DEFAULT_SIGNATURE in known else known[0]
    if wanted not in known:
        raise RunError(f"{where} has no signature '{wanted}'",
                       hint=did_you_mean(wanted, known) or f"its signatures: {', '.join(known)}")
    return wanted


# -- a build's output directory ---------------------------------------------------------------------------


def _open_outdir(path: Path, signature: str | None, export: str | None, tags: list[str] | None) -> Runnable:
    """Opens a build's output; once more if a build committed into it while it was being read."""
    settle(path)  # a build that crashed mid-swap is finished first
    before = state(path)
    runnable = _open_export(path, signature, export, tags)
    if state(path) == before:
        return runnable
    runnable.close()
    before = state(path)
    runnable = _open_export(path, signature, export, tags)
    if state(path) != before:
        runnable.close()
        raise RunError(f"{path} is being built by another process", hint="run it again once that build is done")
    return runnable


def _open_export(path: Path, signature: str | None, export: str | None, tags: list[str] | None) -> Runnable:
    manifest = read_manifest(path)
    exports = list(manifest.exports) if manifest is not None and manifest.exports else _guess_exports(path)
    exports = select_exports(path, exports, export, RunError)
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
        signatures = _load_export(graph, session, path / chosen.path, chosen)
    except _LOAD_ERRORS as e:
        session.close()
        wanted = sorted(chosen.tags or schema.DEFAULT_TAGS)
        found = _tag_sets(path / chosen.path) if chosen.kind == "savedmodel" else []
        if found and wanted not in found:  # say which it has, not "rebuild it"
            raise RunError(f"{path / chosen.path}: the SavedModel has no MetaGraph tagged {wanted}",
                           hint=f"give --tags one of: {', '.join(','.join(t) for t in found)}") from None
        raise RunError(f"{path / chosen.path}: cannot load this {chosen.kind} export: "
                       f"{reason(e)}", hint="rebuild it with 'graphdsl build'") from None
    if signatures:
        try:
            inputs, outputs = signatures[_signature(signatures, signature, f"{path / chosen.path}")]
        except RunError:
            session.close()
            raise
        names.keys = {**inputs, **outputs}
    elif signature is not None and chosen.kind != "savedmodel":
        session.close()
        raise RunError(f"{path / chosen.path}: a {chosen.kind} export has no signatures",
                       hint="leave --signature out, or run a savedmodel export (--export NAME)")
    if manifest is not None:
        names.aliases.update({name: alias.name for name, alias in manifest.aliases.items()})

    def write(outdir: Path) -> list[Path]:
        return _export_again(graph, session, path, chosen, signatures, manifest, outdir)

    return Runnable(names, session, writer=write)


def _tag_sets(directory: Path) -> list[list[str]]:
    """The tag sets of the SavedModel ``directory``'s MetaGraphs, each sorted; [] when it cannot be read."""
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((directory / "saved_model.pb").read_bytes())
    except Exception:  # noqa: BLE001 - unreadable or not a SavedModel: loading it said why
        return []
    return [sorted(meta.meta_info_def.tags) for meta in saved.meta_graphs]


Signatures = dict[str, tuple[dict[str, str], dict[str, str]]]  # name -> (inputs, outputs): key -> tensor


def _load_export(graph: tf.Graph, session: tf.compat.v1.Session, item: Path, chosen: ExportEntry) -> Signatures:
    """Loads the export into ``graph`` and ``session``; returns a SavedModel's signatures."""
    with graph.as_default():
        if chosen.kind == "savedmodel":
            meta = tf1.saved_model.loader.load(session, list(chosen.tags or schema.DEFAULT_TAGS), str(item))
            return {name: ({k: v.name for k, v in sig.inputs.items()}, {k: v.name for k, v in sig.outputs.items()})
                    for name, sig in sorted(meta.signature_def.items()) if not name.startswith("__")}
        if chosen.kind == "metagraph":
            saver = tf1.train.import_meta_graph(schema.export_file(chosen.kind, str(item)))
            if saver is not None and Path(str(item) + ".ckpt.index").exists():
                saver.restore(session, str(item) + ".ckpt")
            if graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS):
                session.run(tf1.tables_initializer())
            return {}
        graph_def = tf1.GraphDef()
        data = item.read_bytes()
        if item.suffix == schema.TEXT_SUFFIX:
            text_format.Parse(data.decode(), graph_def)
        else:
            graph_def.ParseFromString(data)
        tf1.import_graph_def(graph_def, name="")
        if any(node.name == "init_all_tables" for node in graph_def.node):
            session.run("init_all_tables")  # what a frozen graph's tables need, see export
        return {}


def _export_again(graph: tf.Graph, session: tf.compat.v1.Session, source: Path, chosen: ExportEntry,
                  signatures: Signatures, manifest: BuildManifest | None, outdir: Path) -> list[Path]:
    """Writes the export that was run, with the values the session holds now, into ``outdir``."""
    if chosen.kind == "graphdef":
        raise RunError(f"{source / chosen.path}: a frozen GraphDef holds no variables to save",
                       hint="run the build's savedmodel or metagraph export (--export NAME)")
    real = Path(os.path.realpath(outdir))
    if real == Path(os.path.realpath(source)):
        raise RunError(f"{outdir}: is the output directory being run; the trained graph goes into "
                       "a new one", hint="give --save-variables another directory")
    built = build_item_holding(source, outdir, first=chosen.path)
    if built is not None:
        raise RunError(f"{outdir}: is inside {built}, which the build wrote; the trained graph "
                       "goes into a new output directory, never among a build's outputs",
                       hint="give --save-variables a directory outside them")
    name = chosen.path
    with OutputDir(outdir) as out:
        if chosen.kind == "savedmodel":
            def tensors_of(side: dict[str, str]) -> dict[str, tf.Tensor]:
                return {k: graph.get_tensor_by_name(t) for k, t in side.items()}

            tensors = {sig: (tensors_of(inputs), tensors_of(outputs))
                       for sig, (inputs, outputs) in signatures.items()}
            export_savedmodel(graph, session, out.path(name), tensors, tags=chosen.tags or schema.DEFAULT_TAGS,
                              label=out.label(name))
        else:
            out.path(schema.export_file(chosen.kind, name))
            export_metagraph(graph, session, out.staging, name, label=out.target)
        kept = manifest or BuildManifest(spec_sha256="")
        write_manifest(out.path(BUILD_MANIFEST), BuildManifest(
            spec_sha256=kept.spec_sha256, namespaces=kept.namespaces, exports=(chosen,), aliases=kept.aliases))
    return [outdir / name]


def build_item_holding(outdir: Path, path: str | os.PathLike[str], first: str | None = None) -> Path | None:
    """The item a build wrote into ``outdir`` that ``path`` is (or is inside), or None; ``first``
    is an item to count whatever ``outdir``'s list of outputs says (the export being run)."""
    real = Path(os.path.realpath(path))
    for item in [*([first] if first else []), *read_outputs(outdir)]:
        built = Path(os.path.realpath(outdir / item))
        if real == built or built in real.parents:
            return outdir / item
    return None


def _guess_exports(path: Path) -> list[ExportEntry]:
    found = []
    for item in sorted(path.iterdir()):
        if (item / "saved_model.pb").exists():
            found.append(ExportEntry("savedmodel", item.name, tuple(schema.DEFAULT_TAGS)))
        elif item.suffix == schema.METAGRAPH_SUFFIX:
            found.append(ExportEntry("metagraph", item.stem))
        elif item.suffix in schema.GRAPHDEF_SUFFIXES:
            found.append(ExportEntry("graphdef", item.name))
    return found
