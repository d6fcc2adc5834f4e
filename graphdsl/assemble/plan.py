"""``graphdsl plan``: what a build does, as a readable report of a composition.

Per namespace: its source, the ops and variables copied (with each variable's mode), every binding,
every placeholder made where a walk stopped; then the aliases and the exports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from graphdsl.assemble.compose import Composition


def render(composition: "Composition") -> str:
    """The plan of ``composition`` as text."""
    spec = composition.spec
    lines = [f"plan for {spec.path}", ""]
    rows = [("namespace", "source", "kind", "ops", "variables")]
    by_namespace = composition.reports_by_namespace()
    for namespace, source_name in composition.namespaces.items():
        reports = by_namespace.get(namespace, [])
        variables = [v for r in reports for v in r.variables]
        modes = sorted({mode for _, mode in variables})
        counts = ", ".join(f"{sum(m == mode for _, m in variables)} {mode}" for mode in modes)
        statement = spec.source(source_name)
        kind = statement.kind.name if statement is not None else "?"
        rows.append((namespace, source_name, kind,
                     str(sum(r.ops for r in reports)), f"{len(variables)}" + (f" ({counts})" if counts else "")))
    lines.extend(_table(rows))
    for report in composition.reports:
        details = [f"  {name:<40} {mode}" for name, mode in report.variables]
        details += [f"  bind {original} <- {wired}" for original, wired in report.binds]
        details += [f"  stop: placeholder {name}" for name in report.stops]
        if details:
            span = report.statement.span  # a template's include puts a statement in another file
            where = f"line {span.line}" if span.path == spec.path else f"{span.path}:{span.line}"
            lines += ["", f"{report.namespace} ({where}):", *details]
    if composition.aliases:
        lines += ["", "aliases:"]
        lines += [f"  {name:<20} {_name(element)}" for name, element in composition.aliases.items()]
    if spec.exports:
        lines += ["", "exports:"]
        for export in spec.exports:
            lines.append(f"  {export.kind.name:<11} {export.path.value}")
            for signature in export.signatures:
                for label, entries in (("in ", signature.inputs), ("out", signature.outputs)):
                    for entry in entries.entries if entries else ():
                        element = composition.resolve(entry.value)
                        lines.append(f"    {signature.name.value} {label} {entry.key.value} = {_name(element)}")
            for value in export.outputs:
                lines.append(f"    output {_name(composition.resolve(value))}")
    return "\n".join(lines)


def _name(element) -> str:
    from graphdsl.tf.registry import is_variable  # TensorFlow is loaded by now: a plan follows a build

    name = getattr(element, "name", repr(element))
    return f"{name} (variable)" if is_variable(element) else name


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [cell.rjust(w) if i == 3 and n else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        out.append("  ".join(cells).rstrip())
    return out
