"""Read what ``graphdsl build`` wrote: the manifest of an output directory and its exports' graphs.

``OUTDIR/graphdsl-build.yaml`` lists the exports (kind, path, tags), the namespaces with their
sources and the aliases. :func:`read_build_output` reads it; :func:`export_source` says how to load
one export as a source (what ``load_source`` takes), :func:`export_graph_def` reads an export's graph
without running anything. SavedModels are read here too (:func:`read_savedmodel`), for the
signatures a loaded source does not keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import message, text_format
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.assemble.manifest import BUILD_MANIFEST
from graphdsl.errors import GraphDslError, SourceError, did_you_mean


@dataclass
class BuildOutput:
    """An output directory of ``graphdsl build``, as its manifest describes it."""

    path: Path
    spec_sha256: str | None  # the sha256 of the spec it was built from
    namespaces: dict[str, str]  # namespace -> source name
    exports: list[dict[str, Any]]  # {"kind", "path", "tags"?}, in the spec's order
    aliases: dict[str, dict[str, str]]  # alias -> {"kind", "name"}

    def select(self, name: str | None) -> list[dict[str, Any]]:
        """Every export, or the one called ``name`` (its path in OUTDIR)."""
        if name is None:
            return list(self.exports)
        chosen = [e for e in self.exports if e["path"] == name]
        if not chosen:
            known = [e["path"] for e in self.exports]
            raise GraphDslError(f"{self.path}: no export named '{name}'",
                                hint=did_you_mean(name, known) or f"its exports: {', '.join(known)}")
        return chosen

    def describe(self) -> dict[str, Any]:
        """The manifest as plain data (the ``outdir`` member of ``graphdsl inspect --json``)."""
        return {"path": str(self.path), "spec_sha256": self.spec_sha256, "namespaces": dict(self.namespaces),
                "exports": [dict(e) for e in self.exports], "aliases": dict(self.aliases)}


def is_build_output(path: Path) -> bool:
    """Whether ``path`` is a directory ``graphdsl build`` wrote (it holds the manifest)."""
    return (path / BUILD_MANIFEST).is_file()


def read_build_output(path: Path) -> BuildOutput:
    """Reads the manifest of the output directory ``path``."""
    file = path / BUILD_MANIFEST
    try:
        manifest = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise GraphDslError(f"{file}: cannot be read as a build manifest ({e})",
                            hint="rebuild the directory with 'graphdsl build'") from None
    exports = manifest.get("exports") if isinstance(manifest, dict) else None
    if not isinstance(exports, list) or not all(
            isinstance(e, dict) and {"kind", "path"} <= e.keys() for e in exports):
        raise GraphDslError(f"{file}: not a build manifest (no list of exports)",
                            hint="rebuild the directory with 'graphdsl build'")
    return BuildOutput(path, manifest.get("spec_sha256"), dict(manifest.get("namespaces") or {}),
                       exports, dict(manifest.get("aliases") or {}))


def export_source(out: BuildOutput, entry: dict[str, Any]) -> tuple[str, Path, dict[str, Any]]:
    """How to load the export ``entry`` as a source: ``(kind, path, options)`` for ``load_source``."""
    item = out.path / entry["path"]
    if entry["kind"] == "savedmodel":
        return "savedmodel", item, {"tags": list(entry.get("tags") or ["serve"])}
    if entry["kind"] == "metagraph":
        checkpoint = Path(f"{item}.ckpt")
        options = {"checkpoint": str(checkpoint)} if Path(f"{checkpoint}.index").is_file() else {}
        return "metagraph", Path(f"{item}.meta"), options
    return "graphdef", item, {}


def export_graph_def(out: BuildOutput, entry: dict[str, Any]) -> tuple[
        graph_pb2.GraphDef, dict[str, meta_graph_pb2.SignatureDef]]:
    """The graph an export holds and its signatures (none but a SavedModel's), read, not run."""
    kind, path, options = export_source(out, entry)
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
