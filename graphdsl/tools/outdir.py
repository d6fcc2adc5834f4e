"""Read the graphs a build wrote into its output directory.

What a build says about itself (``OUTDIR/graphdsl-build.yaml``: exports, namespaces, aliases) is
read by :mod:`graphdsl.assemble.manifest`, its one reader; :func:`open_build_output` asks it for a
directory the tools were pointed at, and :func:`select_exports` picks exports by name. Then
:func:`export_source` says how to load one export as a source (what ``load_source`` takes) and
:func:`export_graph_def` reads an export's graph without running anything. SavedModels are read
here too (:func:`read_savedmodel`), for the signatures a loaded source does not keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import message, text_format
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.assemble.manifest import BUILD_MANIFEST, BuildManifest, ExportEntry, read_manifest
from graphdsl.errors import GraphDslError, SourceError, did_you_mean


def open_build_output(outdir: Path) -> BuildManifest:
    """The manifest of ``outdir``, which must be a directory ``graphdsl build`` wrote."""
    manifest = read_manifest(outdir)
    if manifest is None:
        raise GraphDslError(f"{outdir}: not a build's output directory (no {BUILD_MANIFEST})",
                            hint="give a directory 'graphdsl build -o' wrote")
    return manifest


def select_exports(outdir: Path, manifest: BuildManifest, name: str | None) -> list[ExportEntry]:
    """Every export of the build in ``outdir``, or the one called ``name`` (its path in OUTDIR)."""
    if name is None:
        return list(manifest.exports)
    chosen = [e for e in manifest.exports if e.path == name]
    if not chosen:
        known = [e.path for e in manifest.exports]
        raise GraphDslError(f"{outdir}: no export named '{name}'",
                            hint=did_you_mean(name, known) or f"its exports: {', '.join(known)}")
    return chosen


def describe(outdir: Path, manifest: BuildManifest) -> dict[str, Any]:
    """The manifest as plain data, with the directory's path (``inspect --json``'s ``outdir``)."""
    data = manifest.to_dict()
    return {"path": str(outdir), **data, "spec_sha256": data["spec_sha256"] or None}


def export_source(outdir: Path, entry: ExportEntry) -> tuple[str, Path, dict[str, Any]]:
    """How to load the export ``entry`` as a source: ``(kind, path, options)`` for ``load_source``."""
    item = outdir / entry.path
    if entry.kind == "savedmodel":
        return "savedmodel", item, {"tags": list(entry.tags)}
    if entry.kind == "metagraph":
        checkpoint = Path(f"{item}.ckpt")
        options = {"checkpoint": str(checkpoint)} if Path(f"{checkpoint}.index").is_file() else {}
        return "metagraph", Path(f"{item}.meta"), options
    return "graphdef", item, {}


def export_graph_def(outdir: Path, entry: ExportEntry) -> tuple[
        graph_pb2.GraphDef, dict[str, meta_graph_pb2.SignatureDef]]:
    """The graph an export holds and its signatures (none but a SavedModel's), read, not run."""
    kind, path, options = export_source(outdir, entry)
    if kind == "savedmodel":
        meta, _ = read_savedmodel(path, options["tags"])
        return meta.graph_def, dict(meta.signature_def)
    if kind == "metagraph":
        meta = _parse(path, meta_graph_pb2.MetaGraphDef, text=None)
        return meta.graph_def, {}
    return _parse(path, graph_pb2.GraphDef, text=path.suffix == ".pbtxt"), {}


def read_savedmodel(directory: Path, tags: list[str] | None) -> tuple[meta_graph_pb2.MetaGraphDef, list[str]]:
    """The MetaGraph of the SavedModel ``directory`` tagged ``tags``, and those tags.

    With ``tags=None``: the only MetaGraph if there is one, else the one tagged ``serve``.
    """
    binary, text = directory / "saved_model.pb", directory / "saved_model.pbtxt"
    if not binary.is_file() and not text.is_file():
        raise SourceError(f"{directory}: not a SavedModel directory (no saved_model.pb in it)",
                          hint="name the directory written by tf.saved_model.save or SavedModelBuilder")
    saved = _parse(binary, saved_model_pb2.SavedModel, text=False) if binary.is_file() else \
        _parse(text, saved_model_pb2.SavedModel, text=True)
    found = [sorted(m.meta_info_def.tags) for m in saved.meta_graphs]
    if tags is None:
        tags = found[0] if len(found) == 1 else ["serve"]
    for meta in saved.meta_graphs:
        if set(meta.meta_info_def.tags) == set(tags):
            return meta, sorted(tags)
    raise SourceError(f"{directory}: the SavedModel has no MetaGraph tagged {sorted(tags)}",
                      hint=f"give --tags one of: {', '.join(','.join(t) for t in found)}")


def _parse(file: Path, proto_type: type, text: bool | None) -> Any:
    """Parses ``file``; ``text=None`` tries binary, then text (as ``.meta`` files may be either)."""
    try:
        data = file.read_bytes()
    except OSError as e:
        raise SourceError(f"{file}: cannot be read: {e.strerror}", hint="check the path") from None
    proto = proto_type()
    for as_text in ((False, True) if text is None else (text,)):
        try:
            if as_text:
                text_format.Parse(data.decode("utf-8"), proto)
            else:
                proto.ParseFromString(data)
            return proto
        except (message.DecodeError, text_format.ParseError, UnicodeDecodeError):
            proto.Clear()
    raise SourceError(f"{file}: not a {proto_type.__name__}", hint="the file is corrupt or of another kind")
