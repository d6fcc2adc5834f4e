"""Write a composition's exports into OUTDIR, all or nothing, with the build manifest.

Each ``export`` statement becomes one export (:mod:`~graphdsl.assemble.export`) written through an
:class:`~graphdsl.assemble.outdir.OutputDir`; the build manifest (:mod:`~graphdsl.assemble.manifest`)
is written beside them. An export that fails is reported at its statement in the spec, and OUTDIR is
left as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from graphdsl.assemble.export import export_graphdef, export_metagraph, export_savedmodel
from graphdsl.assemble.manifest import (
    BUILD_MANIFEST, AliasEntry, BuildManifest, ExportEntry, write_manifest)
from graphdsl.assemble.outdir import OutputDir
from graphdsl.assemble.serving import serve_check
from graphdsl.errors import BuildError, GraphDslError
from graphdsl.lang import syntax
from graphdsl.tf.registry import is_variable
from graphdsl.tools import progress

if TYPE_CHECKING:
    from graphdsl.assemble.compose import Composition


def save(composition: "Composition", outdir: str | os.PathLike) -> list[Path]:
    """Writes every export of ``composition``'s spec into ``outdir``, all or nothing, with a manifest.

    Returns the exports' paths, in the spec's order.
    """
    spec = composition.spec
    session = composition.session
    with OutputDir(outdir) as out:
        for export, elements in zip(spec.exports, composition.exported):
            try:
                with progress.task(f"exporting {export.kind.name} {export.path.value}"):
                    _save_one(composition.graph, session, export, elements, out)
            except GraphDslError as e:  # at the export, unless the error knows better where
                raise BuildError(e.message, span=e.span or export.span, hint=e.hint, source=spec.text) from e
        write_manifest(out.path(BUILD_MANIFEST), manifest_of(composition))
    return [Path(outdir) / e.path.value for e in spec.exports]


def _save_one(graph: tf.Graph, session: tf.compat.v1.Session, export: syntax.Export, elements: Any,
              out: OutputDir) -> None:
    kind, name = export.kind.name, export.path.value
    if kind == "savedmodel":
        path = export_savedmodel(graph, session, out.path(name), elements, tags=export.tags,
                                 label=out.label(name))
        serve_check(path, export, label=out.label(name))
    elif kind == "metagraph":
        out.path(name + ".meta")  # claims the name, so two exports cannot write it twice
        export_metagraph(graph, session, out.staging, name, label=out.target)
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
    return BuildManifest(spec=composition.spec.path, namespaces=dict(composition.namespaces),
                         exports=exports, aliases=aliases)
