"""Provenance inside the artifact: every export carries how it was made.

The record (YAML) holds the lock's inputs (the graphdsl and TensorFlow versions; a template's
parameters, as the build used them, and its included files by hash; the sources by content: path,
kind, options and file hashes; the exports' own hashes cannot be inside the exports they hash), the
spec's text and the text of each included file (``include_texts``, by path relative to the spec).
It goes

- into a SavedModel as ``assets.extra/graphdsl/provenance.yaml`` (TensorFlow Serving's place for
  extra files; loaders ignore the directory);
- into a MetaGraph as ``meta_info_def.any_info``, a ``google.protobuf.StringValue`` holding the
  YAML (``import_meta_graph`` and the SavedModel loader keep the field and ignore it);
- beside a frozen GraphDef ``NAME`` as ``NAME.graphdsl.yaml`` (a GraphDef has no field for it).

:func:`read_provenance` finds it again for ``graphdsl explain``. The spec it holds, written next to
the same sources, builds the same bytes.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import wrappers_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from graphdsl import yaml_input
from graphdsl.assemble.canonical import serialize
from graphdsl.assemble.lock import lock_inputs
from graphdsl.assemble.template_lock import include_texts
from graphdsl.assemble.manifest import export_to_read, yaml_problem
from graphdsl.errors import ArtifactError, unwritable
from graphdsl.lang import schema, syntax

SAVEDMODEL_DIR = Path("assets.extra") / "graphdsl"
SAVEDMODEL_FILE = "provenance.yaml"
SIDECAR_SUFFIX = ".graphdsl.yaml"


def record(spec: syntax.Spec) -> dict[str, Any]:
    """How a build of ``spec`` is made: versions, parameters, included files and sources by
    content, the spec's text and its included files' texts."""
    return {**lock_inputs(spec), "spec": spec.text, "include_texts": include_texts(spec)}


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


def attach_provenance(spec: syntax.Spec, out: Any, text: str | None = None, metagraphs: bool = True) -> None:
    """Puts the record of ``spec`` into (or beside) every export staged in ``out`` (an OutputDir).

    ``text`` is the record's YAML (default: made from ``spec``); ``metagraphs=False`` leaves the
    MetaGraph exports alone, when they were written with it (see :func:`pack_metagraph`).
    """
    text = dump(record(spec)) if text is None else text
    for export in spec.exports:
        kind, name = export.kind.name, export.path.value
        if kind == "savedmodel":
            directory = out.staging / name / SAVEDMODEL_DIR
            directory.mkdir(parents=True)
            (directory / SAVEDMODEL_FILE).write_text(text, encoding="utf-8")
        elif kind == "metagraph":
            if metagraphs:
                path = out.staging / schema.export_file(kind, name)
                meta = meta_graph_pb2.MetaGraphDef()
                meta.ParseFromString(path.read_bytes())
                pack_metagraph(meta, text)
                path.write_bytes(serialize(meta))
        else:
            out.path(name + SIDECAR_SUFFIX).write_text(text, encoding="utf-8")


def pack_metagraph(meta: meta_graph_pb2.MetaGraphDef, text: str) -> None:
    """Puts the record's YAML ``text`` into ``meta`` (``meta_info_def.any_info``)."""
    meta.meta_info_def.any_info.Pack(wrappers_pb2.StringValue(value=text))


# -- reading it back --------------------------------------------------------------------------------


def read_provenance(artifact: str | Path) -> tuple[Path, str]:
    """``(where it was found, the record's YAML text)`` for a SavedModel directory, a ``.meta``
    file (or its name without ``.meta``), a frozen GraphDef, or a build's output directory (the
    export :func:`~graphdsl.assemble.manifest.export_to_read` picks). Raises :class:`ArtifactError` when the artifact carries none."""
    path = export_to_read(Path(artifact))
    if path.is_dir():  # a SavedModel (export_to_read refuses any other directory)
        found = path / SAVEDMODEL_DIR / SAVEDMODEL_FILE
        if not found.is_file():
            raise _not_built(path, f"no {SAVEDMODEL_DIR / SAVEDMODEL_FILE} in it")
        return found, _record_text(found)
    if not path.exists() and Path(f"{path}{schema.METAGRAPH_SUFFIX}").is_file():
        path = Path(f"{path}{schema.METAGRAPH_SUFFIX}")
    if path.suffix == schema.METAGRAPH_SUFFIX and path.is_file():
        return path, _from_metagraph(path)
    if path.suffix in schema.GRAPHDEF_SUFFIXES and path.is_file():
        sidecar = Path(f"{path}{SIDECAR_SUFFIX}")
        if not sidecar.is_file():
            raise _not_built(path, f"no {sidecar.name} beside it")
        return sidecar, _record_text(sidecar)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file or directory", hint="check the path")
    raise ArtifactError(f"{path}: not an artifact graphdsl builds",
                        hint="give a SavedModel directory, a .meta file, a frozen .pb or .pbtxt, "
                        "or a build's output directory")


def _record_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ArtifactError(f"{path}: the provenance record is not UTF-8 text (byte {e.start})",
                            hint="the artifact was changed after it was built: build it again") from None
    except OSError as e:
        raise ArtifactError(f"{path}: cannot read it: {e.strerror or e}", hint="check the path") from None


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
    return _read(provenance_text, where)["spec"]


def check_record(provenance_text: str, where: Path) -> None:
    """Raises :class:`ArtifactError` unless the record at ``where`` is one a build writes: YAML
    with the spec's text, and its included files and parameters as maps (a changed record is not
    shown as if it told how the artifact was made)."""
    _read(provenance_text, where)


def _read(provenance_text: str, where: Path) -> dict[str, Any]:
    try:
        data = yaml_input.load(provenance_text)
    except yaml.YAMLError as e:
        raise ArtifactError(f"{where}: the provenance record, {yaml_problem(e)}",
                            hint="the artifact was changed after it was built: build it again") from None
    if not isinstance(data, dict) or not isinstance(data.get("spec"), str):
        raise ArtifactError(f"{where}: the provenance record holds no spec")
    texts, params = data.get("include_texts") or {}, data.get("params") or {}
    if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()) \
            or not isinstance(params, dict) or not all(isinstance(name, str) for name in params):
        raise ArtifactError(f"{where}: the provenance record's include_texts or params are not maps")
    for path in texts:
        if not _relative_path(path):
            raise ArtifactError(f"{where}: the provenance record's include_texts names {path!r}, not a "
                                "path relative to the spec; nothing was written",
                                hint="the artifact was changed after it was built: build it again")
    return data


def _relative_path(path: object) -> bool:
    """Whether ``path`` is a path a build records for an included file: relative to the spec, in
    ``/`` form and normalized (``..`` only at its start), so that written relative to a spec it
    lands where the record says, and never at an absolute path."""
    return (isinstance(path, str) and path not in ("", ".", "..") and "\0" not in path
            and not path.startswith("/") and posixpath.normpath(path) == path
            and not posixpath.basename(path) == "..")


def params_path(spec_out: Path) -> Path:
    """Where ``--spec-out FILE`` writes the parameters: ``rebuilt.gcomp`` -> ``rebuilt.params.yaml``."""
    return spec_out.with_suffix(".params.yaml")


def write_back(provenance_text: str, where: Path, spec_out: Path) -> dict[Path, bool]:
    """Writes the record's spec to ``spec_out``, each included file at its path relative to
    ``spec_out``'s directory, and a template's parameters into :func:`params_path`. Built with
    those parameters, next to the same sources, the spec gives the same bytes. Returns each path
    and whether it was written (False: it held that text already, and is left as it is). Refuses
    (:class:`ArtifactError`, nothing written) where a file exists holding something else."""
    data = _read(provenance_text, where)
    files = {spec_out: data["spec"]}
    files.update({spec_out.parent / path: text for path, text in data.get("include_texts", {}).items()})
    if data.get("params"):
        files[params_path(spec_out)] = (
            f"# the parameters of the build; build {spec_out.name} with --params {params_path(spec_out).name}\n"
            + yaml.safe_dump(data["params"], sort_keys=False, default_flow_style=False, allow_unicode=True))
    for path, text in files.items():
        if path.exists() and not _holds(path, text):
            raise ArtifactError(f"{path}: exists and holds something else; not overwritten",
                                hint="choose another file name, or remove it first")
    written = {path: not path.exists() for path in files}
    for path, text in files.items():
        if written[path]:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            except OSError as error:
                raise unwritable(error, path) from None
    return written


def _holds(path: Path, text: str) -> bool:
    """Whether the file ``path`` holds ``text`` (False for what is not such a file, or unreadable)."""
    try:
        return path.is_file() and path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def recorded_spec(provenance_text: str, where: Path) -> syntax.Spec:
    """The spec a record holds, loaded (a template with its included files and parameters), as
    if written next to its sources; for what the spec says, not to compose it."""
    import tempfile

    from graphdsl.lang.load import load_spec
    from graphdsl.lang.params import ParamValues

    data = _read(provenance_text, where)
    depth = max((Path(p).parts.count("..") for p in data.get("include_texts") or {}), default=0)
    with tempfile.TemporaryDirectory(prefix="graphdsl-explain-") as tmp:
        spec_out = Path(tmp, *["up"] * depth, Path(where).name + ".gcomp")
        write_back(provenance_text, where, spec_out)
        params = ParamValues.from_yaml_file(params_path(spec_out)) if data.get("params") else None
        return load_spec(spec_out, params=params)
