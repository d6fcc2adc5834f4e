"""``graphdsl graph``: a picture of a composition, as Graphviz DOT text written by our own code.

A :class:`View` is what the picture shows, taken either from a spec composed in memory
(:func:`view_of_composition`) or from what a build wrote (:func:`view_of_outdir`): the composed
graph, the sources, the namespaces and their sources, binds, stops, aliases and the exports'
signatures. :func:`to_dot` draws it:

- each source is a cylinder, with a dashed ``copy`` edge to every namespace it fills;
- each namespace is a cluster (``cluster_NAMESPACE``) of its ops, collapsed by name scope ``depth``
  levels below the namespace (``depth=0``: one box per namespace), with the data edges between them;
- a data edge from one namespace into another is a bind, drawn bold red with the bound input's name,
  with the DOT id ``bind:NAMESPACE:INPUT``;
- a box where a walk stopped (the placeholder put there) is orange and says ``stop``;
- aliases are notes pointing at what they name; a SavedModel's signature inputs and outputs, and a
  GraphDef export's outputs, are the graph's entry and exit points (green and blue houses).

Ops outside every namespace (what an export adds: ``save/...``, initializers) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tensorflow.core.framework import graph_pb2

from graphdsl.tf.registry import is_variable
from graphdsl.assemble.manifest import BuildManifest, ExportEntry
from graphdsl.tools.outdir import export_graph_def

if TYPE_CHECKING:
    from graphdsl.assemble.compose import Composition

_PALETTE = ("#eef4fb", "#f3f8ec", "#fbf1e6", "#f5eefa", "#eef8f6", "#fbeef0")


@dataclass
class Endpoint:
    """A way into or out of the built graph: a signature's input or output, or an exported output."""

    side: str  # "in" or "out"
    key: str
    tensor: str  # a tensor (or op) name of the composed graph
    where: list[str] = field(default_factory=list)  # "EXPORT:SIGNATURE" or the GraphDef export's path


@dataclass
class View:
    """What a picture of a composition shows; every name is one of the composed graph."""

    title: str
    graph_def: graph_pb2.GraphDef
    sources: dict[str, str] = field(default_factory=dict)  # source -> "kind path"
    namespaces: dict[str, str] = field(default_factory=dict)  # namespace -> source
    binds: dict[tuple[str, str], str] = field(default_factory=dict)  # (tensor, namespace) -> bound input
    stops: dict[str, str] = field(default_factory=dict)  # placeholder op -> source tensor stopped at
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> element name
    endpoints: list[Endpoint] = field(default_factory=list)

    def endpoint(self, side: str, key: str, tensor: str, where: str) -> None:
        """Adds ``where`` to the endpoint (side, key, tensor), making it if new."""
        for known in self.endpoints:
            if (known.side, known.key, known.tensor) == (side, key, tensor):
                known.where.append(where)
                return
        self.endpoints.append(Endpoint(side, key, tensor, [where]))


def view_of_composition(composition: "Composition") -> View:
    """The view of a spec composed in memory: everything the spec says, on the graph it made."""
    spec = composition.spec
    view = View(spec.path, composition.graph.as_graph_def())
    for source in spec.sources:
        view.sources[source.name.name] = f"{source.kind.name} {source.path.value}"
    view.namespaces = dict(composition.namespaces)
    for report in composition.reports:
        for original, wired in report.binds:
            view.binds[(wired, report.namespace)] = original
        for stopped, placeholder in zip(report.statement.stop_at, report.stops):
            view.stops[_op_name(placeholder)] = stopped.value
    view.aliases = {name: _element_name(element) for name, element in composition.aliases.items()}
    for export in spec.exports:
        path = export.path.value
        for signature in export.signatures:
            for side, entries in (("in", signature.inputs), ("out", signature.outputs)):
                for entry in entries.entries if entries else ():
                    tensor = _element_name(composition.resolve(entry.value))
                    view.endpoint(side, entry.key.value, tensor, f"{path}:{signature.name.value}")
        for value in export.outputs:
            tensor = _element_name(composition.resolve(value))
            view.endpoint("out", tensor, tensor, path)
    return view


def view_of_outdir(outdir: Path, manifest: BuildManifest, export: ExportEntry) -> View:
    """The view of one export a build wrote, with the namespaces and aliases of its manifest.

    A build keeps no record of its binds and stops: edges between namespaces are drawn as binds,
    labelled with the tensor that crosses.
    """
    graph_def, signatures = export_graph_def(outdir, export)
    view = View(f"{outdir / export.path}", graph_def)
    view.namespaces = dict(manifest.namespaces)
    view.sources = {source: "" for source in dict.fromkeys(manifest.namespaces.values())}
    view.aliases = {name: alias.name for name, alias in manifest.aliases.items()}
    for name in sorted(signatures, key=lambda n: (n != "serving_default", n)):
        if name.startswith("__"):
            continue
        for side, infos in (("in", signatures[name].inputs), ("out", signatures[name].outputs)):
            for key in sorted(infos):
                view.endpoint(side, key, infos[key].name, f"{export.path}:{name}")
    return view


def _element_name(element) -> str:
    return element.op.name if is_variable(element) else element.name


def _op_name(name: str) -> str:
    return name.split(":")[0].lstrip("^")


# -- DOT --------------------------------------------------------------------------------------------


def to_dot(view: View, depth: int = 1) -> str:
    """The DOT text of ``view``, ops collapsed to ``depth`` name-scope levels below each namespace."""
    return _Drawing(view, depth).text()


class _Drawing:
    def __init__(self, view: View, depth: int) -> None:
        self.view = view
        self.depth = depth
        self.types = {node.name: node.op for node in view.graph_def.node}
        self.groups: dict[str, list[str]] = {}  # box id -> ops in it, per namespace below
        self.namespace_of: dict[str, str] = {}  # box id -> its namespace
        for node in view.graph_def.node:
            box = self.box(node.name)
            if box is not None:
                self.groups.setdefault(box, []).append(node.name)

    def box(self, op: str) -> str | None:
        """The box an op is drawn in, or None for an op outside every namespace."""
        # A namespace may be scoped (a template's block use makes `tower_0/Enc`): the longest
        # namespace its name starts with holds the op.
        parts = op.split("/")
        for cut in range(len(parts) - 1, 0, -1):
            namespace = "/".join(parts[:cut])
            if namespace in self.view.namespaces:
                box = "/".join([namespace, *parts[cut:][: self.depth]])
                self.namespace_of[box] = namespace
                return box
        return None

    def text(self) -> str:
        lines = ["digraph composition {",
                 f"  graph [label={_q(self.view.title)}, labelloc=t, fontname=Helvetica, compound=true, "
                 "rankdir=TB, nodesep=0.3, ranksep=0.5];",
                 "  node [fontname=Helvetica, fontsize=10, shape=box, style=\"rounded,filled\", "
                 "fillcolor=white];",
                 "  edge [fontname=Helvetica, fontsize=9, color=gray40];"]
        lines += self._sources()
        for number, namespace in enumerate(self.view.namespaces):
            lines += self._cluster(namespace, _PALETTE[number % len(_PALETTE)])
        lines += self._edges()
        lines += self._aliases()
        lines += self._endpoints()
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _sources(self) -> list[str]:
        lines = []
        for name, what in self.view.sources.items():
            label = f"source {name}" + (f"\n{what}" if what else "")
            lines.append(f"  {_q('source:' + name)} [label={_q(label)}, shape=cylinder, fillcolor=\"#fff8d6\"];")
        for namespace, source in self.view.namespaces.items():
            anchor = self._anchor(namespace)
            if anchor is not None and source in self.view.sources:
                lines.append(f"  {_q('source:' + source)} -> {_q(anchor)} [lhead={_q('cluster_' + namespace)}, "
                             "style=dashed, label=copy];")
        return lines

    def _anchor(self, namespace: str) -> str | None:
        return next((box for box in self.groups if self.namespace_of[box] == namespace), None)

    def _cluster(self, namespace: str, color: str) -> list[str]:
        source = self.view.namespaces[namespace]
        lines = [f"  subgraph {_q('cluster_' + namespace)} {{",
                 f"    label={_q(f'{namespace} (from {source})')}; style=\"rounded,filled\"; "
                 f"fillcolor=\"{color}\"; color=gray60;"]
        for box, ops in self.groups.items():
            if self.namespace_of[box] != namespace:
                continue
            lines.append(f"    {_q(box)} [{self._box_style(box, ops)}];")
        lines.append("  }")
        return lines

    def _box_style(self, box: str, ops: list[str]) -> str:
        relative = box[len(self.namespace_of[box]) + 1:]
        if ops == [box]:
            label = f"{relative}\n{self.types[box]}"
        else:
            label = f"{relative}/\n{len(ops)} ops"
        stops = [self.view.stops[op] for op in ops if op in self.view.stops]
        if stops:
            label += "\nstop at " + ", ".join(stops)
            return f"label={_q(label)}, fillcolor=\"#ffd8a8\", color=\"#d9480f\", penwidth=2"
        return f"label={_q(label)}"

    def _edges(self) -> list[str]:
        plain: set[tuple[str, str]] = set()
        binds: dict[tuple[str, str], dict[str, bool]] = {}  # edge -> {bound input or tensor: known}
        for node in self.view.graph_def.node:
            to = self.box(node.name)
            if to is None:
                continue
            for name in node.input:
                if name.startswith("^"):
                    continue
                start = self.box(_op_name(name))
                if start is None or start == to:
                    continue
                tensor = name if ":" in name else name + ":0"
                namespace = self.namespace_of[to]
                if self.namespace_of[start] == namespace:
                    plain.add((start, to))
                else:
                    bound = self.view.binds.get((tensor, namespace))  # None: an OUTDIR's edge
                    binds.setdefault((start, to), {})[bound or tensor] = bound is not None
        lines = [f"  {_q(a)} -> {_q(b)};" for a, b in sorted(plain)]
        for (a, b), names in sorted(binds.items()):
            ident = f"bind:{self.namespace_of[b]}:" + ",".join(names)
            label = "\n".join(f'bind "{name}"' if known else name for name, known in names.items())
            lines.append(f"  {_q(a)} -> {_q(b)} [id={_q(ident)}, label={_q(label)}, "
                         "color=\"#c92a2a\", fontcolor=\"#c92a2a\", penwidth=2.5];")
        return lines

    def _aliases(self) -> list[str]:
        lines = []
        for name, element in self.view.aliases.items():
            box = self.box(_op_name(element))
            if box is None:
                continue
            lines.append(f"  {_q('alias:' + name)} [label={_q('let ' + name)}, shape=note, fillcolor=\"#fffbe6\"];")
            lines.append(f"  {_q('alias:' + name)} -> {_q(box)} [style=dotted, arrowhead=none];")
        return lines

    def _endpoints(self) -> list[str]:
        lines, ranks = [], {"in": [], "out": []}
        for number, point in enumerate(self.view.endpoints):
            box = self.box(_op_name(point.tensor))
            if box is None:
                continue
            ident = f"{point.side}:{number}:{point.key}"
            ranks[point.side].append(ident)
            label = f"{'input' if point.side == 'in' else 'output'} {point.key}\n" + "\n".join(point.where)
            shape, color = ("invhouse", "#d3f9d8") if point.side == "in" else ("house", "#d0ebff")
            lines.append(f"  {_q(ident)} [label={_q(label)}, shape={shape}, fillcolor=\"{color}\"];")
            edge = (ident, box) if point.side == "in" else (box, ident)
            lines.append(f"  {_q(edge[0])} -> {_q(edge[1])} [color=\"#1971c2\"];")
        ranks["in"] += [f"source:{name}" for name in self.view.sources]  # sources on top too
        for side, rank in (("in", "source"), ("out", "sink")):
            if ranks[side]:
                lines.append(f"  {{ rank={rank}; {' '.join(_q(i) for i in ranks[side])} }}")
        return lines


def _q(text: str) -> str:
    """A DOT quoted string; newlines become DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

