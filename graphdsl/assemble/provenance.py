"""Provenance inside the artifact: every export carries how it was made.

The record (YAML) holds the graphdsl and TensorFlow versions, the parameter values, the sources by
content (the lock's inputs: path, kind, options and file hashes; the exports' own hashes cannot be
inside the exports they hash) and the spec's text. It goes

- into a SavedModel as ``assets.extra/graphdsl/provenance.yaml`` (TensorFlow Serving's place for
  extra files; loaders ignore the directory);
- into a MetaGraph as ``meta_info_def.any_info``, a ``google.protobuf.StringValue`` holding the
  YAML (``import_meta_graph`` and the SavedModel loader keep the field and ignore it);
- beside a frozen GraphDef ``NAME`` as ``NAME.graphdsl.yaml`` (a GraphDef has no field for it).

:func:`read_provenance` finds it again for ``graphdsl explain``. The spec it holds, written next to
the same sources, builds the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from google.protobuf import wrappers_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from graphdsl.assemble.canonical import serialize
from graphdsl.assemble.lock import lock_inputs
from graphdsl.assemble.manifest import export_to_read
from graphdsl.errors import ArtifactError
from graphdsl.lang import schema, syntax

SAVEDMODEL_DIR = Path("assets.extra") / "graphdsl"
SAVEDMODEL_FILE = "provenance.yaml"
SIDECAR_SUFFIX = ".graphdsl.yaml"


def record(spec: syntax.Spec) -> dict[str, Any]:
    """How a build of ``spec`` is made: versions, parameters, sources by content, the spec's text."""
    return {**lock_inputs(spec), "spec": spec.text}


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # the spec reads as itself: a literal block, not one quoted line of \n escapes
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(provenance: dict[str, Any]) -> str:
    """The record's YAML text: the same record always gives the same bytes."""
    return yaml.dump(provenance, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     width=100, allow_unicode=True)


def attach_provenance(spec: syntax.Spec, out: Any) -> None:
    """Puts the record of ``spec`` into (or beside) every export staged in ``out`` (an OutputDir)."""
    text = dump(record(spec))
    for export in spec.exports:
        kind, name = export.kind.name, export.path.value
        if kind == "savedmodel":
            directory = out.staging / name / SAVEDMODEL_DIR
            directory.mkdir(parents=True)
            (directory / SAVEDMODEL_FILE).write_text(text, encoding="utf-8")
        elif kind == "metagraph":
            path = out.staging / schema.export_file(kind, name)
            meta = meta_graph_pb2.MetaGraphDef()
            meta.ParseFromString(path.read_bytes())
            meta.meta_info_def.any_info.Pack(wrappers_pb2.StringValue(value=text))
            path.write_bytes(serialize(meta))
        else:
            out.path(name + SIDECAR_SUFFIX).write_text(text, encoding="utf-8")


# -- reading it back --------------------------------------------------------------------------------


def read_provenance(artifact: str | Path) -> tuple[Path, str]:
    """``(where it was found, the record's YAML text)`` for a SavedModel directory, a ``.meta``
    file (or its name without ``.meta``), a frozen GraphDef, or a build's output directory (the
    export :func:`~graphdsl.assemble.manifest.export_to_read` picks). Raises :class:`ArtifactError` when the artifact carries none."""
    path = export_to_read(Path(artifact))
    if path.is_dir():
        found = path / SAVEDMODEL_DIR / SAVEDMODEL_FILE
        if not (path / "saved_model.pb").is_file():
            raise ArtifactError(f"{path}: neither a SavedModel nor a build's output directory",
                                hint="give a SavedModel directory, a .meta file, a frozen .pb or "
                                "the directory 'graphdsl build -o' wrote")
        if not found.is_file():
            raise _not_built(path, f"no {SAVEDMODEL_DIR / SAVEDMODEL_FILE} in it")
        return found, found.read_text(encoding="utf-8")
    if not path.exists() and Path(f"{path}{schema.METAGRAPH_SUFFIX}").is_file():
        path = Path(f"{path}{schema.METAGRAPH_SUFFIX}")
    if path.suffix == schema.METAGRAPH_SUFFIX and path.is_file():
        return path, _from_metagraph(path)
    if path.suffix in schema.GRAPHDEF_SUFFIXES and path.is_file():
        sidecar = Path(f"{path}{SIDECAR_SUFFIX}")
        if not sidecar.is_file():
            raise _not_built(path, f"no {sidecar.name} beside it")
        return sidecar, sidecar.read_text(encoding="utf-8")
    if not path.exists():
        raise ArtifactError(f"{path}: no such file or directory", hint="check the path")
    raise ArtifactError(f"{path}: not an artifact graphdsl builds",
                        hint="give a SavedModel directory, a .meta file, a frozen .pb or .pbtxt, "
                        "or a build's output directory")


def _from_metagraph(path: Path) -> str:
    meta = meta_graph_pb2.MetaGraphDef()
    try:
        meta.ParseFromString(path.read_bytes())
    except Exception as e:  # noqa: BLE001 - protobuf raises its own DecodeError or a RuntimeWarning
        raise ArtifactError(f"{path}: not a binary MetaGraphDef ({e})", hint="give a .meta file") from None
    value = wrappers_pb2.StringValue()
    if not meta.meta_info_def.HasField("any_info") or not meta.meta_info_def.any_info.Unpack(value):
        raise _not_built(path, "its meta_info_def holds no graphdsl record")
    return value.value


def _not_built(path: Path, why: str) -> ArtifactError:
    return ArtifactError(f"{path}: carries no provenance ({why})",
                         hint="only builds of graphdsl record how they were made; rebuild it with "
                         "'graphdsl build'")


def spec_text(provenance_text: str, where: Path) -> str:
    """The spec text of a record."""
    try:
        data = yaml.safe_load(provenance_text)
    except yaml.YAMLError as e:
        raise ArtifactError(f"{where}: the provenance record is not YAML ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("spec"), str):
        raise ArtifactError(f"{where}: the provenance record holds no spec")
    return data["spec"]
