"""Write a composition's exports into OUTDIR, all or nothing, with the build manifest.

Each ``export`` statement becomes one export (:mod:`~graphdsl.assemble.export`) written through an
:class:`~graphdsl.assemble.outdir.OutputDir`; the build manifest (:mod:`~graphdsl.assemble.manifest`)
is written beside them. An export that fails is reported at its statement in the spec, and OUTDIR is
left as it was.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from graphdsl.assemble.canonical import canonicalize_exports
from graphdsl.assemble.export import (
    export_graphdef, export_metagraph, export_savedmodel, items_of, shared_saver)
from graphdsl.assemble.manifest import (
    BUILD_MANIFEST, AliasEntry, BuildManifest, ExportEntry, read_outputs, write_manifest)
from graphdsl.assemble.outdir import OutputDir
from graphdsl.assemble.provenance import attach_provenance, dump, pack_metagraph, record
from graphdsl.assemble.serving import serve_check
from graphdsl.collector import paused
from graphdsl.errors import BuildError, ExportError, GraphDslError
from graphdsl.lang import schema, syntax
from graphdsl.tf.registry import is_variable
from graphdsl.tools import progress

if TYPE_CHECKING:
    from graphdsl.assemble.compose import Composition

# The longest export names that fit, in bytes: file systems hold names of at most 255 bytes, and
# TensorFlow's checkpoint writer adds up to 54 bytes to a metagraph's name for its temporary files
# (found by writing each kind under ever longer names, TensorFlow 2.21 on ext4).
_NAME_MAX = {"savedmodel": 255, "graphdef": 255, "metagraph": 201}


def check_export_names(spec: syntax.Spec) -> None:
    """Refuses, at its path in the spec, an export whose name OUTDIR cannot hold as its own item.

    Each export writes items directly inside OUTDIR (a metagraph ``NAME`` writes ``NAME.meta`` and
    its checkpoint files): their names must be printable, not hidden (graphdsl's own files are), not
    the build manifest's, short enough for the file system, and written by one export only.
    """
    owners: dict[str, syntax.Export] = {}
    for export in spec.exports:
        kind, name = export.kind.name, export.path.value
        fail = partial(_name_error, spec, export)
        control = next((c for c in name if ord(c) < 32 or ord(c) == 127), None)
        if control is not None:
            raise fail(f"holds a control character ({control!r})", "name outputs with printable characters")
        if "/" in name:
            raise fail("names an item inside a subdirectory; exports are written directly inside the "
                       "output directory", "name the item itself, like 'model.pb'")
        items = items_of(kind, name)
        if name.startswith("."):
            raise fail(f"would write a hidden item ('{items[0]}'); graphdsl keeps its own files "
                       "under hidden names", "give it a name that does not start with '.', like 'model'")
        if BUILD_MANIFEST in items:
            raise fail("is the name of the build manifest, which every build writes into the output "
                       "directory", "name the export otherwise")
        size = len(name.encode("utf-8"))
        if size > _NAME_MAX[kind]:
            raise fail(f"is too long for a {kind} export ({size} bytes; at most {_NAME_MAX[kind]})",
                       "shorten it")
        for item in items:
            other = owners.get(item)
            if other is not None:
                raise fail(f"writes '{item}', which the {other.kind.name} export on line "
                           f"{other.span.line} writes too", "give each export its own name")
            owners[item] = export


def _name_error(spec: syntax.Spec, export: syntax.Export, message: str, hint: str) -> BuildError:
    return BuildError(f"export path {_shown(export.path.value)} {message}", span=export.path.span,
                      hint=hint, source=spec.text)


def _shown(name: str) -> str:
    return repr(name if len(name) <= 60 else name[:40] + "...")


def save(composition: "Composition", outdir: str | os.PathLike) -> list[Path]:
    """Writes every export of ``composition``'s spec into ``outdir``, all or nothing, with a manifest.

    Returns the exports' paths, in the spec's order.
    """
    with paused():
        return _save(composition, outdir)


def _save(composition: "Composition", outdir: str | os.PathLike) -> list[Path]:
    spec = composition.spec
    _check_sources_kept(composition, Path(outdir))
    session = composition.session
    saving = [e for e in spec.exports if e.kind.name in ("savedmodel", "metagraph")]
    saver = shared_saver(composition.graph) if len(saving) > 1 else None
    provenance = dump(record(spec))
    with OutputDir(outdir) as out:
        for export, elements in zip(spec.exports, composition.exported):
            try:
                with progress.task(f"exporting {export.kind.name} {export.path.value}"):
                    _save_one(composition.graph, session, export, elements, out, saver, provenance)
            except GraphDslError as e:  # at the export, unless the error knows better where
                raise BuildError(e.message, span=e.span or export.span, hint=e.hint, source=spec.text) from e
        # the SavedModel and MetaGraph exports wrote their graphs canonically already, and the
        # MetaGraphs hold the provenance record
        canonicalize_exports(out.staging, [(e.kind.name, e.path.value) for e in spec.exports
                                           if e.kind.name == "graphdef"])
        attach_provenance(spec, out, provenance, metagraphs=False)
        try:
            write_manifest(out.path(BUILD_MANIFEST), manifest_of(composition))
        except OSError as e:
            raise ExportError(f"{out.label(BUILD_MANIFEST)}: cannot write the build manifest: "
                              f"{e.strerror}", hint="check that the output location is writable") from e
    return [Path(outdir) / e.path.value for e in spec.exports]


def _check_sources_kept(composition: "Composition", outdir: Path) -> None:
    """Refuses a build that would replace or remove a file one of its sources was read from, or
    write into the directory of a source (a SavedModel's).

    A build replaces the items its exports name and removes those the previous build into
    ``outdir`` wrote and this one does not; when ``outdir`` also holds sources (builds chained
    through one directory), neither may hit one.
    """
    spec = composition.spec
    real = Path(os.path.realpath(outdir))
    sources = {name: Path(os.path.realpath(source.path)) for name, source in composition.sources.items()}
    for name, source in sources.items():
        # a directory source (a SavedModel) is every file under it: a build inside would add to it
        if source.is_dir() and (real == source or source in real.parents):
            statement = spec.source(name)
            raise BuildError(f"the output directory {outdir} is inside the directory of source "
                             f"'{name}' ({statement.path.value if statement is not None else source}): "
                             "the build would add its files to the source",
                             span=statement.path.span if statement is not None else None,
                             hint="build into a directory outside the source", source=spec.text)
    owned = {item: export for export in spec.exports for item in items_of(export.kind.name, export.path.value)}
    for item in [*owned, *(n for n in read_outputs(real) if n not in owned)]:
        path = real / item
        for name, source in sources.items():
            if source != path and path not in source.parents:
                continue
            export = owned.get(item)
            if export is not None:
                raise BuildError(f"export path '{export.path.value}' would replace '{outdir / item}', "
                                 f"which source '{name}' was read from", span=export.path.span,
                                 hint="build into another directory, or name the export otherwise",
                                 source=spec.text)
            statement = spec.source(name)
            raise BuildError(f"the previous build into {outdir} wrote '{item}', which this build would "
                             f"remove, but source '{name}' was read from it",
                             span=statement.path.span if statement is not None else None,
                             hint="build into another directory, or copy the source out of it first",
                             source=spec.text)


def _save_one(graph: tf.Graph, session: tf.compat.v1.Session, export: syntax.Export, elements: Any,
              out: OutputDir, saver: tf.compat.v1.train.Saver | None, provenance: str) -> None:
    kind, name = export.kind.name, export.path.value
    if kind == "savedmodel":
        path = export_savedmodel(graph, session, out.path(name), elements, tags=export.tags,
                                 label=out.label(name), saver=saver, canonical=True)
        serve_check(path, export, label=out.label(name))
    elif kind == "metagraph":
        out.path(schema.export_file(kind, name))  # claims the name, so two exports cannot write it twice
        export_metagraph(graph, session, out.staging, name, label=out.target, saver=saver, canonical=True,
                         info=partial(pack_metagraph, text=provenance))
    else:
        export_graphdef(graph, session, out.path(name), elements, label=out.label(name))


def manifest_of(composition: "Composition") -> BuildManifest:
    """What the build manifest says about ``composition``."""
    aliases = {}
    for name, element in composition.aliases.items():
        if is_variable(element):
            aliases[name] = AliasEntry("variable", element.op.name)
        elif isinstance(element, tf.Operation):
            aliases[name] = AliasEntry("operation", element.name)
        else:
            aliases[name] = AliasEntry("tensor", element.name)
    exports = tuple(ExportEntry(e.kind.name, e.path.value,
                                tuple(e.tags) if e.kind.name == "savedmodel" else ())
                    for e in composition.spec.exports)
    spec_sha256 = hashlib.sha256(composition.spec.text.encode("utf-8")).hexdigest()
    return BuildManifest(spec_sha256=spec_sha256, namespaces=dict(composition.namespaces),
                         exports=exports, aliases=aliases)
