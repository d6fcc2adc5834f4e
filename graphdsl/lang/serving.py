"""What TensorFlow Serving asks of a savedmodel export, as far as the spec alone tells (no TensorFlow).

TensorFlow Serving answers a request that names no signature with ``serving_default``, so an
export meant for it has one: :func:`serving_warnings` says when one does not. ``serving = false`` in the
export says it is not meant for TensorFlow Serving, which silences that warning and the build's
serving checks (:mod:`graphdsl.assemble.serving`)::

    export savedmodel "model" {
        serving = false                      # trained with `graphdsl run`, not served
        signature train { outputs = { loss: loss } }
    }

A signature may give sample inputs, ``warmup = { KEY: VALUE, ... }``: the build writes them as
TensorFlow Serving's warmup request (``assets.extra/tf_serving_warmup_requests``) and runs them
once against the exported model. TensorFlow Serving wants a value for every input of the signature
and for no other key; a value is a literal: a number, string or boolean, or a (nested, rectangular)
list of one kind of them. :func:`check_warmup` checks that here; dtypes and shapes are checked by
the build, against the exported signature.
"""

from __future__ import annotations

from typing import Any, NoReturn

from graphdsl.errors import GraphDslWarning, Span, SpecError, did_you_mean
from graphdsl.lang import schema, syntax

SERVING = "serving"
WARMUP = "warmup"
_EXAMPLE = schema.signature_entry(WARMUP).example  # type: ignore[union-attr]


def is_served(export: syntax.Export) -> bool:
    """Whether a savedmodel export is meant for TensorFlow Serving (``serving``, default true)."""
    entry = schema.EXPORT_KINDS["savedmodel"].entry(SERVING)
    assert entry is not None
    value = next((s.value for s in export.entries if isinstance(s, syntax.Setting) and s.key.name == SERVING), None)
    return bool(entry.default) if not isinstance(value, syntax.Bool) else value.value


def warmup_of(signature: syntax.Signature) -> syntax.MapValue | None:
    """The ``warmup`` map of a signature, or None."""
    value = next((s.value for s in signature.entries if s.key.name == WARMUP), None)
    return value if isinstance(value, syntax.MapValue) else None


def serving_warnings(spec: syntax.Spec) -> list[GraphDslWarning]:
    """The warnings about serving a checked spec gives: a served savedmodel without ``serving_default``."""
    found = []
    for export in spec.exports:
        if export.kind.name != "savedmodel" or not is_served(export):
            continue
        names = [s.name.value for s in export.signatures]
        if schema.DEFAULT_SIGNATURE not in names:
            fix = f"rename signature '{names[0]}' to" if len(names) == 1 else "name one signature"
            found.append(GraphDslWarning(
                f"savedmodel export '{export.path.value}' has no signature '{schema.DEFAULT_SIGNATURE}': "
                "TensorFlow Serving uses it for the requests that name no signature",
                span=export.path.span, source=spec.text,
                hint=f"{fix} {schema.DEFAULT_SIGNATURE}, or write 'serving = false' in the export if "
                "TensorFlow Serving will not serve it"))
    return found


# -- static checks (called by the checker) ----------------------------------------------------------


def check_warmup(signature: syntax.Signature) -> None:
    """The ``warmup`` of a signature, if any: a value for each of its inputs, each a literal."""
    setting = next((s for s in signature.entries if s.key.name == WARMUP), None)
    if setting is None:
        return
    name = signature.name.value
    if not isinstance(setting.value, syntax.MapValue):
        _fail(f"'{WARMUP}' must be a map from input keys to values, not {_describe(setting.value)}",
              setting.value.span, f"e.g. {_EXAMPLE}")
    inputs = [e.key.value for e in signature.inputs.entries] if signature.inputs else []
    seen: dict[str, syntax.MapEntry] = {}
    for entry in setting.value.entries:
        key = entry.key.value
        if key in seen:
            _fail(f"duplicate warmup input '{key}'", entry.key.span,
                  f"the first is at line {seen[key].span.line}, column {seen[key].span.column}")
        seen[key] = entry
        if key not in inputs:
            hint = did_you_mean(key, inputs) or (f"its inputs: {', '.join(inputs)}" if inputs
                                                 else "it takes no input, so its warmup is {}")
            _fail(f"signature '{name}' has no input '{key}' to give a warmup value", entry.key.span, hint)
        literal(entry.value, f"warmup input '{key}'")
    missing = [key for key in inputs if key not in seen]
    if missing:
        _fail(f"the warmup of signature '{name}' gives no value for input '{missing[0]}'", setting.span,
              "TensorFlow Serving's requests give every input of the signature: add "
              + ", ".join(f"{key}: VALUE" for key in missing))


def literal(value: syntax.Value, what: str) -> Any:
    """The Python value of a warmup value (nested lists of numbers, strings or booleans), checked."""
    kinds: set[str] = set()
    result = _literal(value, what, kinds)
    if len(kinds) > 1:
        _fail(f"{what} mixes {' and '.join(sorted(kinds))}", value.span,
              "a tensor holds one kind of value: numbers, strings or booleans")
    return result


def _literal(value: syntax.Value, what: str, kinds: set[str]) -> Any:
    if isinstance(value, syntax.Bool):  # before numbers: no bool is a number here
        kinds.add("booleans")
        return value.value
    if isinstance(value, (syntax.Int, syntax.Float)):
        kinds.add("numbers")
        return value.value
    if isinstance(value, syntax.String):
        kinds.add("strings")
        return value.value
    if isinstance(value, syntax.ListValue):
        items = [_literal(item, what, kinds) for item in value.items]
        shapes = {_shape(item) for item in items}
        if len(shapes) > 1:
            _fail(f"{what} is not rectangular: its items have different shapes", value.span,
                  "give every row the same length, as a tensor has")
        return items
    _fail(f"{what} must be a literal value, not {_describe(value)}", value.span,
          f"give the value itself, a number, string, boolean or a list of them: {_EXAMPLE}")


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return (len(value), *(_shape(value[0]) if value else ()))


def _describe(value: syntax.Value) -> str:
    words = {syntax.String: "a string", syntax.Int: "a number", syntax.Float: "a number", syntax.Bool: "a boolean",
             syntax.Word: "a name", syntax.Ref: "a reference", syntax.ListValue: "a list", syntax.MapValue: "a map"}
    return words.get(type(value), "this value")


def _fail(message: str, span: Span, hint: str | None = None) -> NoReturn:
    raise SpecError(message, span, hint)
