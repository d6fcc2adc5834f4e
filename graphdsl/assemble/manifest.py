"""The two files a build keeps in OUTDIR about itself, each with one writer and one reader.

``graphdsl-build.yaml``, the build manifest, says what was built from what: the spec (by its
content's sha256, not its path: a build does not depend on where it ran), its
namespaces and their sources, the exports (kind, path, SavedModel tags) in the spec's order, and
each alias with the name of its element in the built graph. ``graphdsl run`` reads it to find the
exports and to answer to aliases. It is a visible file a user may read, so it is YAML::

    format: 1
    spec_sha256: 3f1c...
    namespaces: {CopiedOps: linear}
    exports:
    - {kind: metagraph, path: linear}
    - {kind: savedmodel, path: model, tags: [serve]}
    aliases:
      loss: {kind: tensor, name: CopiedOps/loss:0}

``.graphdsl-outputs`` lists, one per line, the items of OUTDIR the last build wrote, so that the
next build removes the ones it no longer writes and nothing else.

:func:`read_manifest` validates everything it returns: a hand-edited or corrupt manifest gives a
:class:`~graphdsl.errors.GraphDslError` naming the file and the entry, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphdsl.assemble.files import write_atomically
from graphdsl.errors import ArtifactError, GraphDslError
from graphdsl.lang import schema

BUILD_MANIFEST = "graphdsl-build.yaml"
OUTPUTS_LIST = ".graphdsl-outputs"
FORMAT = 1
EXPORT_KINDS = tuple(schema.EXPORT_KINDS)
ALIAS_KINDS = ("tensor", "operation", "variable")


@dataclass(frozen=True)
class ExportEntry:
    """One export of the build: its kind, its path in OUTDIR, and a SavedModel's tags."""

    kind: str
    path: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AliasEntry:
    """What an alias names in the built graph: a ``tensor``, ``operation`` or ``variable``, by name."""

    kind: str
    name: str


@dataclass(frozen=True)
class BuildManifest:
    """The content of ``graphdsl-build.yaml``."""

    spec_sha256: str
    namespaces: dict[str, str] = field(default_factory=dict)  # namespace -> source name
    exports: tuple[ExportEntry, ...] = ()
    aliases: dict[str, AliasEntry] = field(default_factory=dict)

    def export(self, path: str) -> ExportEntry | None:
        """The export written at ``path``, or None."""
        return next((e for e in self.exports if e.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain data, as the file holds it (without ``format``).

        A SavedModel export has its ``tags``; the others have none.
        """
        exports = []
        for export in self.exports:
            entry: dict[str, Any] = {"kind": export.kind, "path": export.path}
            if export.kind == "savedmodel":
                entry["tags"] = list(export.tags)
            exports.append(entry)
        return {
            "spec_sha256": self.spec_sha256,
            "namespaces": dict(self.namespaces),
            "exports": exports,
            "aliases": {name: {"kind": a.kind, "name": a.name} for name, a in self.aliases.items()},
        }


# -- graphdsl-build.yaml -----------------------------------------------------------------------------


def write_manifest(path: Path, manifest: BuildManifest) -> None:
    """Writes ``manifest`` to ``path`` (in a build's staging directory)."""
    import yaml

    data = {"format": FORMAT, **manifest.to_dict()}
    write_atomically(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8"))


def is_build_output(outdir: Path) -> bool:
    """Whether ``outdir`` is a directory ``graphdsl build`` wrote (it holds the build manifest)."""
    return (outdir / BUILD_MANIFEST).is_file()


def export_to_read(path: Path) -> Path:
    """``path``, or, for a build's output directory, the graph of the export a tool reads in its place.

    That is its first savedmodel export (it keeps the signatures), else its first metagraph, else its
    first graphdef: the schema's order. ``graphdsl diff`` and ``graphdsl explain`` read a whole build so.
    Any other directory, and a build whose export is gone, is an :class:`ArtifactError`.
    """
    if not path.is_dir() or (path / "saved_model.pb").is_file():
        return path
    if not is_build_output(path):
        raise ArtifactError(f"{path}: neither a SavedModel nor a build's output directory",
                            hint="give a SavedModel directory, a .meta file, a frozen .pb or .pbtxt, or the "
                            "directory 'graphdsl build -o' wrote")
    manifest = read_manifest(path)
    exports = manifest.exports if manifest is not None else ()
    for kind in schema.EXPORT_KINDS:
        for export in exports:
            if export.kind == kind:
                found = path / schema.export_file(kind, export.path)
                if not (found / "saved_model.pb" if found.is_dir() else found).is_file():
                    raise ArtifactError(f"{path}: the build's {kind} export '{export.path}' is missing ({found})",
                                        hint="build the spec into it again")
                return found
    raise ArtifactError(f"{path}: the build has no export", hint="build the spec into it again")


def read_manifest(outdir: Path) -> BuildManifest | None:
    """The build manifest of ``outdir``, or None when there is none (a directory built elsewhere)."""
    import yaml

    from graphdsl import yaml_input

    path = outdir / BUILD_MANIFEST
    if not path.is_file():
        return None
    try:
        data = yaml_input.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise _corrupt(path, f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    except yaml.YAMLError as e:
        raise _corrupt(path, yaml_problem(e)) from None
    return _manifest(path, data)


def yaml_problem(error: Exception) -> str:
    """What a ``yaml.YAMLError`` says in one line, where it is: ``line L, column C: not valid YAML
    (PROBLEM)`` (PyYAML's own text runs over several lines and names no file)."""
    from graphdsl import yaml_input

    mark = getattr(error, "problem_mark", None)
    where = ""
    if mark is not None:
        line, column = yaml_input.place(mark)
        where = f"line {line}, column {column}: "
    elif isinstance(position := getattr(error, "position", None), int):  # a character YAML refuses
        where = f"character {position + 1}: "
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{where}not valid YAML ({problem})"


def _manifest(path: Path, data: Any) -> BuildManifest:
    entries = _mapping(path, data, "the manifest")
    version = entries.get("format", FORMAT)
    if version != FORMAT:
        raise _corrupt(path, f"format {version!r} is not one this graphdsl reads (it reads {FORMAT})",
                       hint="rebuild the output directory with this graphdsl's 'graphdsl build'")
    spec_sha256 = entries.get("spec_sha256", "")
    if not isinstance(spec_sha256, str):
        raise _corrupt(path, f"'spec_sha256' must be a hex digest, not {_kind(spec_sha256)}")
    namespaces = _mapping(path, entries.get("namespaces") or {}, "'namespaces'")
    for namespace, source in namespaces.items():
        if not isinstance(namespace, str) or not isinstance(source, str):
            raise _corrupt(path, f"'namespaces' maps names to source names, not {namespace!r}: {source!r}")
    exports = entries.get("exports") or []
    if not isinstance(exports, list):
        raise _corrupt(path, f"'exports' must be a list, not {_kind(exports)}")
    aliases = _mapping(path, entries.get("aliases") or {}, "'aliases'")
    return BuildManifest(
        spec_sha256=spec_sha256,
        namespaces=dict(namespaces),
        exports=tuple(_export(path, i, e) for i, e in enumerate(exports)),
        aliases={_string(path, name, "an alias name"): _alias(path, name, a) for name, a in aliases.items()},
    )


def _export(path: Path, index: int, data: Any) -> ExportEntry:
    where = f"export {index + 1}"
    entry = _mapping(path, data, where)
    kind, name = entry.get("kind"), entry.get("path")
    if kind not in EXPORT_KINDS:
        raise _corrupt(path, f"{where}: kind {kind!r} is not one of {', '.join(EXPORT_KINDS)}")
    if not isinstance(name, str) or not is_plain_name(name):
        raise _corrupt(path, f"{where}: path {name!r} is not the name of an item in the directory")
    tags = entry.get("tags", list(schema.DEFAULT_TAGS) if kind == "savedmodel" else [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _corrupt(path, f"{where}: tags must be a list of strings, not {tags!r}")
    return ExportEntry(kind, name, tuple(tags))


def _alias(path: Path, name: Any, data: Any) -> AliasEntry:
    where = f"alias {name!r}"
    entry = _mapping(path, data, where)
    kind, target = entry.get("kind"), entry.get("name")
    if kind not in ALIAS_KINDS:
        raise _corrupt(path, f"{where}: kind {kind!r} is not one of {', '.join(ALIAS_KINDS)}")
    return AliasEntry(kind, _string(path, target, f"{where}: its name"))


def _mapping(path: Path, data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise _corrupt(path, f"{what} must be a mapping, not {_kind(data)}")
    return data


def _string(path: Path, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _corrupt(path, f"{what} must be a non-empty string, not {value!r}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _corrupt(path: Path, problem: str, hint: str | None = None) -> GraphDslError:
    return GraphDslError(f"{path}: not a graphdsl build manifest: {problem}",
                         hint=hint or "rebuild the output directory with 'graphdsl build' (or remove "
                         "the file to run the exports without aliases)")


# -- .graphdsl-outputs --------------------------------------------------------------------------------


def write_outputs(outdir: Path, names: list[str]) -> None:
    """Records ``names`` as the items of ``outdir`` this build wrote."""
    write_atomically(outdir / OUTPUTS_LIST, "".join(f"{n}\n" for n in names).encode("utf-8"),
                     durable=True)


def read_outputs(outdir: Path) -> list[str]:
    """The items of ``outdir`` the last build wrote; [] when no build did.

    Only plain names count: a hand-edited list must not make a build delete outside the directory.
    """
    path = outdir / OUTPUTS_LIST
    try:
        names = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [n for n in names if is_plain_name(n) and n != OUTPUTS_LIST]


def is_plain_name(name: str) -> bool:
    """True for the name of an item directly inside a directory (no separator, not '.' or '..')."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name \
        and Path(name).name == name
