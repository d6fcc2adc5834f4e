"""``graphdsl diff A B``: what two models differ in, for a code review.

A side is a spec (composed in memory), a build's output directory (its SavedModel export, else
its MetaGraph, else its frozen GraphDef), a SavedModel directory, a ``.meta`` file or a frozen
GraphDef. Each becomes a :class:`View`: its namespaces; its ops (those inside the namespaces, so
what an export adds, like ``save/``, is left out); its variables (dtype, shape, copy mode, a digest
of the values); its functions; its signatures. Both graphs are first made canonical as an export
is (:mod:`graphdsl.assemble.canonical`), and attributes holding their op's default are dropped (a
SavedModel strips them), so names that differ only by TensorFlow's counters, and what exporting
changes, are not differences.

A variable's mode is the spec's (for an artifact, the spec in its provenance): ``init`` or
``value``, or unknown when several copies into its namespace would give it different modes. A
template's parameters are compared too: the values a spec is expanded with (its defaults), or those
an artifact's provenance records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.assemble.canonical import canonicalize_graph_def, serialize
from graphdsl.assemble.manifest import export_to_read
from graphdsl.assemble.provenance import read_provenance, recorded_spec
from graphdsl.assemble.template_lock import same, show, template_inputs
from graphdsl.errors import ArtifactError, GraphDslError
from graphdsl.lang import schema, syntax
from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS
from graphdsl.lang.params import ParamValues
from graphdsl.tf import checkpoints, initial_values, internals
from graphdsl.tf.functions import reachable_functions
from graphdsl.tf.messages import reason
from graphdsl.tf.index import VARIABLE_OPS
from graphdsl.tf.registry import is_variable

_SECTIONS = ("params", "namespaces", "ops", "variables", "functions", "signatures")
_HEADINGS = {"params": "parameters"}


@dataclass
class View:
    """What ``graphdsl diff`` compares of one side."""

    label: str
    params: dict[str, Any] | None = None  # a template's parameters; None: not known (no provenance)
    namespaces: list[str] = field(default_factory=list)
    ops: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # canonical name -> content digest
    signatures: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


# -- views ------------------------------------------------------------------------------------------


def is_spec(target: str | Path) -> bool:
    """Whether ``target`` is a spec file (else it is read as an artifact)."""
    path = Path(target)
    return path.suffix == schema.SPEC_SUFFIX and path.is_file()


def view_of(target: str | Path, *, params: ParamValues | None = None,
            max_statements: int = DEFAULT_MAX_STATEMENTS) -> View:
    """The view of a spec file (a template expanded for ``params``) or an artifact (see the
    module docstring)."""
    if is_spec(target):
        return spec_view(Path(target), params=params, max_statements=max_statements)
    return artifact_view(Path(target))


def spec_view(path: Path, *, params: ParamValues | None = None,
              max_statements: int = DEFAULT_MAX_STATEMENTS) -> View:
    """Composes the spec in memory: its graph, its first SavedModel export's signatures, the values
    its variables are initialized with."""
    from graphdsl.assemble.compose import compose
    from graphdsl.lang.load import load_spec

    spec = load_spec(path, params=params, max_statements=max_statements)
    with compose(spec) as composition:
        session = composition.session
        graph = composition.graph
        variables = {v.op.name: v for key in (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
                                              tf.compat.v1.GraphKeys.LOCAL_VARIABLES)
                     for v in graph.get_collection(key)}
        names = sorted(variables)
        values = dict(zip(names, session.run([variables[n] for n in names]), strict=True)) if names else {}
        signatures = {}
        export = next((e for e in spec.exports if e.kind.name == "savedmodel"), None)
        for signature in export.signatures if export else ():
            signatures[signature.name.value] = {
                side: {e.key.value: _element_info(composition.resolve(e.value))
                       for e in (entries.entries if entries else ())}
                for side, entries in (("inputs", signature.inputs), ("outputs", signature.outputs))}
        graph_def = graph.as_graph_def()
        initial_values.without_values(graph_def, graph)  # as every export writes it
        return _graph_view(f"{path} (spec, composed in memory)", graph_def, spec,
                           {n: _digest(v) for n, v in values.items()}, signatures)


def _element_info(element: Any) -> str:
    """``NAME DTYPE SHAPE`` of what a signature entry exports (a variable: its ``/value`` read)."""
    if isinstance(element, tf.Operation):
        return f"{element.name} (an op)"
    if is_variable(element):
        dtype = element.dtype.base_dtype
        return f"{element.op.name}/value:0 {dtype.name} {_shape(element.shape)}"
    return f"{element.name} {element.dtype.name} {_shape(element.shape)}"


def artifact_view(path: Path) -> View:
    """The view of a build's output directory, a SavedModel, a ``.meta`` or a frozen GraphDef."""
    path = export_to_read(path)
    spec = _provenance_spec(path)
    if path.is_dir():
        saved = _parse(path / "saved_model.pb", saved_model_pb2.SavedModel)
        if not saved.meta_graphs:
            raise ArtifactError(f"{path}: the SavedModel holds no MetaGraph")
        meta = saved.meta_graphs[0]
        values = _checkpoint_values(path / "variables" / "variables")
        return _graph_view(f"{path} (SavedModel)", meta.graph_def, spec, values,
                           _signature_infos(meta))
    if not path.exists() and Path(f"{path}{schema.METAGRAPH_SUFFIX}").is_file():
        path = Path(f"{path}{schema.METAGRAPH_SUFFIX}")
    if path.suffix == schema.METAGRAPH_SUFFIX:
        meta = _parse(path, meta_graph_pb2.MetaGraphDef)
        values = _checkpoint_values(path.with_suffix(".ckpt"))
        return _graph_view(f"{path} (MetaGraph)", meta.graph_def, spec, values, _signature_infos(meta))
    if path.suffix in schema.GRAPHDEF_SUFFIXES:
        graph_def = _parse(path, graph_pb2.GraphDef)
        return _graph_view(f"{path} (frozen GraphDef)", graph_def, spec, {}, {})
    if not path.exists():
        raise ArtifactError(f"{path}: no such file or directory", hint="check the path")
    raise ArtifactError(f"{path}: neither a spec nor an artifact graphdsl can read",
                        hint="give a .gcomp spec, a build's output directory, a SavedModel "
                        "directory, a .meta file or a frozen .pb or .pbtxt")


def _provenance_spec(path: Path) -> syntax.Spec | None:
    try:
        where, text = read_provenance(path)
        return recorded_spec(text, where)
    except GraphDslError:
        return None  # not built by graphdsl: namespaces from the op names, modes unknown


def _parse(path: Path, message_type):
    message = message_type()
    try:
        data = path.read_bytes()
        if path.suffix == schema.TEXT_SUFFIX:
            text_format.Parse(data.decode("utf-8"), message)
        else:
            message.ParseFromString(data)
    except OSError as e:
        raise ArtifactError(f"{path}: cannot read it: {e.strerror}", hint="check the path") from None
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and ParseError share no base
        raise ArtifactError(f"{path}: not a {message_type.DESCRIPTOR.name} ({e})",
                            hint="give a file graphdsl or TensorFlow wrote") from None
    return message


def _checkpoint_values(prefix: Path) -> dict[str, str]:
    if not Path(f"{prefix}.index").is_file():
        return {}
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        return {name: _digest(reader.get_tensor(name)) for name in reader.get_variable_to_shape_map()}
    except (*checkpoints.UNREADABLE, ValueError) as e:  # truncated or corrupt; ValueError: no such checkpoint
        raise ArtifactError(f"{prefix}: the checkpoint cannot be read ({reason(e)})",
                            hint="give a checkpoint graphdsl or TensorFlow wrote whole") from None


def _signature_infos(meta: meta_graph_pb2.MetaGraphDef) -> dict[str, dict[str, dict[str, str]]]:
    infos = {}
    for name, signature in meta.signature_def.items():
        if name.startswith("__"):  # __saved_model_init_op is not a signature
            continue
        infos[name] = {side: {key: f"{info.name} {tf.dtypes.as_dtype(info.dtype).name} "
                                   f"{_shape(tf.TensorShape(info.tensor_shape))}"
                              for key, info in sorted(getattr(signature, side).items())}
                       for side in ("inputs", "outputs")}
    return infos


def _shape(shape: tf.TensorShape) -> str:
    if shape.rank is None:
        return "<unknown>"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape.as_list()) + "]"


def _digest(value: Any) -> str:
    array = np.asarray(value)
    if array.dtype == object:  # strings
        data = b"\0".join(bytes(v) if isinstance(v, bytes) else str(v).encode() for v in array.flat)
    else:
        data = np.ascontiguousarray(array).tobytes()
    header = f"{array.dtype.str} {array.shape}".encode()
    return hashlib.sha256(header + data).hexdigest()


# -- one graph, canonical ---------------------------------------------------------------------------


def _namespaces(graph_def: graph_pb2.GraphDef, spec: syntax.Spec | None) -> list[str]:
    if spec is not None:
        return list(dict.fromkeys(c.namespace.name for c in spec.copies))
    scopes = {n.name.split("/")[0] for n in graph_def.node if "/" in n.name}
    # a Saver's ops (save/, save_1/ ...) are what an export adds
    return sorted(s for s in scopes if s != "save" and not (s.startswith("save_") and s[5:].isdigit()))


def _mode(name: str, spec: syntax.Spec | None) -> str | None:
    if spec is None:
        return None
    # the longest namespace the name is in: a template's namespaces hold '/' (layer0/Dense)
    namespace = max((c.namespace.name for c in spec.copies if name.startswith(f"{c.namespace.name}/")),
                    key=len, default="")
    rest = name[len(namespace) + 1:]
    modes = {c.mode_for(rest) for c in spec.copies if c.namespace.name == namespace}
    return modes.pop() if len(modes) == 1 else None


def _graph_view(label: str, graph_def: graph_pb2.GraphDef, spec: syntax.Spec | None,
                values: dict[str, str], signatures: dict) -> View:
    namespaces = _namespaces(graph_def, spec)
    inside = tuple(f"{ns}/" for ns in namespaces)
    kept = graph_pb2.GraphDef()
    kept.node.extend(n for n in graph_def.node if n.name.startswith(inside) or n.name in namespaces)
    library = {f.signature.name: f for f in graph_def.library.function}
    gradients = {g.function_name: g.gradient_func for g in graph_def.library.gradient}
    reached = set(reachable_functions(kept.node, library, gradients))
    kept.library.function.extend(f for name, f in library.items() if name in reached)
    kept.library.gradient.extend(g for g in graph_def.library.gradient if g.function_name in reached)
    holder = meta_graph_pb2.MetaGraphDef(graph_def=kept)
    internals.strip_default_attrs(holder)  # as a SavedModel export does
    kept = holder.graph_def
    for node in kept.node:
        if "_output_shapes" in node.attr:  # what exporting with shapes adds: derived, not content
            del node.attr["_output_shapes"]
    canonicalize_graph_def(kept)
    view = View(label, template_inputs(spec)["params"] if spec is not None else None, namespaces)
    for node in kept.node:
        view.ops[node.name] = {"type": node.op, "inputs": list(node.input),
                               "attrs": {k: _short_hash(serialize(v)) for k, v in sorted(node.attr.items())}}
        if node.op in VARIABLE_OPS:
            view.variables[node.name] = {
                "dtype": tf.dtypes.as_dtype(node.attr["dtype"].type).name,
                "shape": _shape(tf.TensorShape(node.attr["shape"].shape)),
                "mode": _mode(node.name, spec), "values": values.get(node.name)}
    for fdef in kept.library.function:
        view.functions[fdef.signature.name] = _short_hash(serialize(fdef))
    view.signatures = signatures
    return view


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# -- comparing --------------------------------------------------------------------------------------


def compare(a: View, b: View) -> dict[str, Any]:
    """The differences of ``b`` from ``a``, per section: added, removed, changed."""
    result: dict[str, Any] = {"a": a.label, "b": b.label}
    result["params"] = _compare_maps(a.params or {}, b.params or {}, _param_changes, show) \
        if a.params is not None and b.params is not None else _nothing()
    result["namespaces"] = {"added": [n for n in b.namespaces if n not in a.namespaces],
                            "removed": [n for n in a.namespaces if n not in b.namespaces],
                            "changed": {}}
    result["ops"] = _compare_maps(a.ops, b.ops, _op_changes, lambda op: op["type"])
    result["variables"] = _compare_maps(a.variables, b.variables, _variable_changes, _variable_text)
    result["functions"] = _compare_maps(a.functions, b.functions,
                                        lambda x, y: ["definition"] if x != y else [], lambda f: "")
    result["signatures"] = _compare_maps(a.signatures, b.signatures, _signature_changes,
                                         _signature_text)
    result["equal"] = not any(result[s][k] for s in _SECTIONS for k in ("added", "removed", "changed"))
    return result


def _nothing() -> dict[str, Any]:
    return {"added": {}, "removed": {}, "changed": {}}


def _param_changes(a: Any, b: Any) -> list[str]:
    return [] if same(a, b) else [f"{show(a)} -> {show(b)}"]


def _compare_maps(a: dict, b: dict, changes, describe) -> dict[str, Any]:
    changed = {}
    for name in sorted(set(a) & set(b)):
        found = changes(a[name], b[name])
        if found:
            changed[name] = found
    return {"added": {n: describe(b[n]) for n in sorted(set(b) - set(a))},
            "removed": {n: describe(a[n]) for n in sorted(set(a) - set(b))},
            "changed": changed}


def _op_changes(a: dict, b: dict) -> list[str]:
    found = []
    if a["type"] != b["type"]:
        found.append(f"type {a['type']} -> {b['type']}")
    if a["inputs"] != b["inputs"]:
        found.append(f"inputs {', '.join(a['inputs']) or '-'} -> {', '.join(b['inputs']) or '-'}")
    attrs = sorted(k for k in {*a["attrs"], *b["attrs"]} if a["attrs"].get(k) != b["attrs"].get(k))
    if attrs:
        found.append(f"attributes {', '.join(attrs)}")
    return found


def _variable_changes(a: dict, b: dict) -> list[str]:
    found = [f"{key} {a[key]} -> {b[key]}" for key in ("dtype", "shape") if a[key] != b[key]]
    if a["mode"] and b["mode"] and a["mode"] != b["mode"]:
        found.append(f"mode {a['mode']} -> {b['mode']}")
    if a["values"] and b["values"] and a["values"] != b["values"]:
        found.append("values differ")
    return found


def _variable_text(variable: dict) -> str:
    mode = f", {variable['mode']}" if variable["mode"] else ""
    return f"{variable['dtype']} {variable['shape']}{mode}"


def _signature_changes(a: dict, b: dict) -> list[str]:
    found = []
    for side in ("inputs", "outputs"):
        one, two = a[side], b[side]
        found += [f"{side[:-1]} '{k}' added: {two[k]}" for k in sorted(set(two) - set(one))]
        found += [f"{side[:-1]} '{k}' removed: {one[k]}" for k in sorted(set(one) - set(two))]
        found += [f"{side[:-1]} '{k}': {one[k]} -> {two[k]}" for k in sorted(set(one) & set(two))
                  if one[k] != two[k]]
    return found


def _signature_text(signature: dict) -> str:
    return (f"inputs {', '.join(signature['inputs']) or '-'}; "
            f"outputs {', '.join(signature['outputs']) or '-'}")


def render(result: dict[str, Any]) -> str:
    """The differences as a report for a code review."""
    lines = [f"--- {result['a']}", f"+++ {result['b']}"]
    if result["equal"]:
        lines.append("no differences in namespaces, ops, variables, functions or signatures")
        return "\n".join(lines)
    for section in _SECTIONS:
        part = result[section]
        if not any(part.values()):
            continue
        counts = ", ".join(f"{len(part[k])} {k}" for k in ("added", "removed", "changed") if part[k])
        lines.append(f"{_HEADINGS.get(section, section)} ({counts}):")
        for mark, key in (("+", "added"), ("-", "removed")):
            items = part[key]  # a list of names (namespaces), or names with a description
            for name in items:
                described = items[name] if isinstance(items, dict) else ""
                lines.append(f"  {mark} {name}" + (f"  {described}" if described else ""))
        for name, changes in part["changed"].items():
            lines.append(f"  ~ {name}: {'; '.join(changes)}")
    return "\n".join(lines)
