"""The text form of a ``graphdsl inspect`` report (see :func:`graphdsl.tools.inspect.inspect`)."""

from __future__ import annotations

from typing import Any, Sequence

from graphdsl.lang import schema


def render(result: dict[str, Any]) -> str:
    """The whole report as text: an OUTDIR's manifest first, then each graph."""
    lines: list[str] = []
    out = result["outdir"]
    if out is not None:
        lines.append(f"build output {out['path']}" + (f" (spec sha256 {out['spec_sha256'][:12]})" if out["spec_sha256"] else ""))
        for entry in out["exports"]:
            tags = f"  tags {','.join(entry['tags'])}" if entry.get("tags") else ""
            lines.append(f"  export {entry['kind']:<10} {entry['path']}{tags}")
        for name, alias in out["aliases"].items():
            lines.append(f"  alias  {name:<10} {alias['name']} ({alias['kind']})")
    for graph in result["graphs"]:
        if lines:
            lines.append("")
        lines.extend(_graph(graph))
    return "\n".join(lines)


def _graph(graph: dict[str, Any]) -> list[str]:
    counts = graph["counts"]
    what = f"export {graph['export']}: " if graph["export"] else ""
    options = "".join(f", {k} {_value(v)}" for k, v in graph["options"].items())
    lines = [f"{what}{graph['kind']} {graph['path']}{options}: {_n(counts['ops'], 'op')}, "
             f"{_n(counts['variables'], 'variable')}, {_n(counts['functions'], 'function')}"]
    if graph["signatures"]:
        lines += ["", f'signatures (write "@KEY" in a spec; a signature other than {schema.DEFAULT_SIGNATURE} '
                  "needs the source option shown):"]
        for sig in graph["signatures"]:
            lines.append(f"  {sig['name']}" + (f"  ({sig['option']})" if sig["option"] else ""))
            rows = [(side, e["key"], e["ref"] or "(ambiguous)", e["dtype"], _shape(e["shape"]), e["tensor"])
                    for side, key in (("in", "inputs"), ("out", "outputs")) for e in sig[key]]
            lines += ["    " + row for row in _table(rows)]
    if graph["placeholders"]:
        lines += ["", "placeholders (inputs a spec binds, stops at or feeds):"]
        lines += ["  " + row for row in _table(
            [(p["tensor"], p["dtype"], _shape(p["shape"])) for p in graph["placeholders"]])]
    if graph["variables"]:
        lines += ["", "variables (modes: how a copy may take them):"]
        variable_rows = [("name", "dtype", "shape", "initializer", "modes")]
        variable_rows += [(v["name"], v["dtype"], _shape(v["shape"]), "yes" if v["initializer"] else "no",
                  ", ".join(v["modes"]) or "none: not copyable") for v in graph["variables"]]
        lines += ["  " + row for row in _table(variable_rows)]
    if graph["functions"]:
        lines += ["", "functions (copied along with the ops that call them):"]
        lines += ["  " + row for row in _table([(f["name"], _n(f["nodes"], "node")) for f in graph["functions"]])]
    lines += ["", *_scopes(graph["scopes"])]
    if graph["op"] is not None:
        lines += ["", *_element(graph["op"])]
    return lines


def _scopes(scopes: dict[str, Any]) -> list[str]:
    where = f", matching '{scopes['match']}'" if scopes["match"] else ""
    head = f"ops by name scope (depth {scopes['depth']}{where}): {_n(scopes['ops'], 'op')}"
    if not scopes["groups"]:
        return [head, "  (none)"] if scopes["ops"] == 0 else [head]
    rows = []
    for group in scopes["groups"]:
        below = group["ops"] > (1 if group["type"] else 0)
        name = "  " * (group["level"] - 1) + group["name"].rpartition("/")[2] + ("/" if below else "")
        rows.append((str(group["ops"]), name, group["type"] or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return [head] + [f"  {n.rjust(widths[0])}  {name.ljust(widths[1])}  {kind}".rstrip() for n, name, kind in rows]


def _element(op: dict[str, Any]) -> list[str]:
    lines = [f"op {op['name']} ({op['type']})"]
    if op["inputs"]:
        lines.append("  inputs:")
        lines += ["    " + r for r in _table([(t["tensor"], t["dtype"], _shape(t["shape"]), f"from {t['op_type']}")
                                              for t in op["inputs"]])]
    else:
        lines.append("  inputs: none")
    if op["control_inputs"]:
        lines.append(f"  control inputs: {', '.join(op['control_inputs'])}")
    if op["outputs"]:
        lines.append("  outputs:")
        lines += ["    " + r for r in _table([
            (t["tensor"], t["dtype"], _shape(t["shape"]),
             f"to {', '.join(t['consumers'])}" if t["consumers"] else "(not consumed)") for t in op["outputs"]])]
    if op["control_consumers"]:
        lines.append(f"  control consumers: {', '.join(op['control_consumers'])}")
    lines.append(f'  copying it (take = "{op["asked"]}") brings along:')
    for mode, brings in op["brings"].items():
        if not brings["possible"] and not brings["ops"]:
            lines.append(f"    {mode + ':':<6} impossible: {brings['reason']}")
            continue
        ops = _n(brings["ops"], "op")
        if mode == schema.VALUE_MODE and brings["variables"]:
            ops += " (+ an initializer per variable)"
        parts = [ops, _n(len(brings["variables"]), "variable")
                 + (f" ({', '.join(brings['variables'])})" if brings["variables"] else ""),
                 _n(brings["functions"], "function")]
        if brings["placeholders"]:
            parts.append(f"placeholders {', '.join(brings['placeholders'])}")
        text = ", ".join(parts)
        if not brings["possible"]:
            text += f"; but impossible: {brings['reason']}"
        lines.append(f"    {mode + ':':<6} {text}")
    return lines


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _shape(shape: list[int | None] | None) -> str:
    if shape is None:
        return "<unknown>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
