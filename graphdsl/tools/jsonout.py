"""``--format json``: what ``check``, ``plan``, ``build`` and ``inspect`` print for tools.

Every document is one JSON object with ``"ok"``. A run that fails prints ``{"ok": false, "errors":
[ERROR, ...]}`` and keeps its exit code; every error (and warning) has one shape,
:meth:`graphdsl.errors.GraphDslError.to_dict`. A run that succeeds prints its report:
:func:`check_report`, :func:`plan_report`, :func:`build_report` (``inspect`` adds ``"ok"`` to
:func:`graphdsl.tools.inspect.inspect`'s report). The README documents each shape and a test
checks the real output against it.

No TensorFlow at import time (``graphdsl check --format json`` must stay light): the reports of a
composition import what they need when called.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from graphdsl.errors import GraphDslError, unreadable
from graphdsl.lang import serving, syntax

if TYPE_CHECKING:
    from graphdsl.assemble.compose import Composition

VERSION = 1  # of every report's shape; a change that drops or retypes a key bumps it
FORMATS = ("text", "json")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Adds ``--format text|json`` (default text) to a subcommand's parser."""
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="json: print one JSON object for tools, errors too (see the README)")


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the parsed command line asked for JSON."""
    return getattr(args, "format", "text") == "json"


def argv_wants_json(argv: Iterable[str]) -> bool:
    """Whether a command line that did not parse asked for JSON (to report the mistake as JSON)."""
    words = list(argv)
    return "--json" in words or "--format=json" in words or any(
        a == "--format" and b == "json" for a, b in zip(words, words[1:]))


def dumps(document: dict[str, Any]) -> str:
    """The document as printed: indented; a value JSON has no type for (a YAML date) as text."""
    return json.dumps(document, indent=2, default=str)


@contextlib.contextmanager
def stdout_for_json(args: argparse.Namespace) -> Iterator[None]:
    """Keeps stdout for the JSON document while a JSON run runs: what else writes there (a builder's
    ``print``) goes to stderr. :func:`emit` writes the document to the real stdout."""
    if not wants_json(args):
        yield
        return
    args.json_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        yield


def emit(args: argparse.Namespace, document: dict[str, Any]) -> None:
    """Prints ``document`` as the run's output (see :func:`stdout_for_json`)."""
    print(dumps(document), file=getattr(args, "json_stream", None) or sys.stdout)


def failure(errors: Iterable[GraphDslError]) -> dict[str, Any]:
    """What a failed run prints."""
    return {"ok": False, "errors": [error.to_dict() for error in errors]}


def usage_failure(message: str, hint: str | None = None) -> dict[str, Any]:
    """What a run with a bad command line prints (exit code 64)."""
    error = GraphDslError(message, hint=hint).to_dict()
    return {"ok": False, "errors": [{**error, "type": "UsageError", "subject": None}]}


def unreadable_failure(error: OSError) -> dict[str, Any]:
    """What a run whose spec file cannot be read prints (exit code 66): the message and hint of
    :func:`graphdsl.errors.unreadable`."""
    return {"ok": False, "errors": [{**unreadable(error).to_dict(), "type": "OSError"}]}


# -- check ------------------------------------------------------------------------------------------


def check_report(spec: syntax.Spec, warnings: Iterable[GraphDslError] = ()) -> dict[str, Any]:
    """What ``check --format json`` prints for a spec that checks: its statements, by line."""
    return {
        "ok": True,
        "version": VERSION,
        "spec": spec.path,
        "sources": [{"name": s.name.name, "kind": s.kind.name, "path": s.path.value, "line": s.span.line}
                    for s in spec.sources],
        "copies": [{"namespace": c.namespace.name, "source": c.source.name, "line": c.span.line}
                   for c in spec.copies],
        "aliases": [{"name": let.name.name, "line": let.span.line} for let in spec.lets],
        "exports": [{"kind": e.kind.name, "path": e.path.value, "line": e.span.line} for e in spec.exports],
        "warnings": [w.to_dict() for w in warnings],
    }


# -- plan and build ---------------------------------------------------------------------------------


def plan_report(composition: "Composition", warnings: Iterable[GraphDslError] = ()) -> dict[str, Any]:
    """What ``plan --format json`` prints: what a build of the composed spec copies and exports."""
    from graphdsl.assemble.save import manifest_of

    spec = composition.spec
    manifest = manifest_of(composition).to_dict()
    by_namespace = composition.reports_by_namespace()
    return {
        "ok": True,
        "version": VERSION,
        "spec": spec.path,
        "sources": {s.name.name: {"kind": s.kind.name, "path": s.path.value} for s in spec.sources},
        "namespaces": [_namespace(composition, name, source, by_namespace.get(name, []))
                       for name, source in composition.namespaces.items()],
        "aliases": manifest["aliases"],
        "exports": [_export(export, elements) for export, elements in zip(spec.exports, composition.exported)],
        "warnings": [w.to_dict() for w in warnings],
    }


def build_report(composition: "Composition", outdir: str | os.PathLike, written: Iterable[Path],
                 warnings: Iterable[GraphDslError] = ()) -> dict[str, Any]:
    """What ``build --format json`` prints: the plan, and where each export was written."""
    from graphdsl.assemble.serving import WARMUP_FILE

    plan = plan_report(composition, warnings)
    for export, path in zip(plan["exports"], written):
        export["written"] = str(path)
        served = export["serving"] and any(s["warmup"] is not None for s in export["signatures"])
        export["warmup_file"] = str(path / WARMUP_FILE) if served else None
    head = ("ok", "version", "spec")
    return {**{key: plan[key] for key in head}, "outdir": str(outdir),
            **{key: value for key, value in plan.items() if key not in head}}


def _namespace(composition: "Composition", name: str, source: str, reports: list) -> dict[str, Any]:
    statement = composition.spec.source(source)
    return {
        "name": name,
        "source": source,
        "kind": statement.kind.name if statement is not None else None,
        "lines": [r.statement.span.line for r in reports],
        "ops": sum(r.ops for r in reports),
        "variables": [{"name": variable, "mode": mode} for r in reports for variable, mode in r.variables],
        "binds": [{"input": original, "tensor": wired} for r in reports for original, wired in r.binds],
        "stops": [{"tensor": stopped.value, "placeholder": placeholder} for r in reports
                  for stopped, placeholder in zip(r.statement.stop_at, r.stops)],
    }


def _export(export: syntax.Export, elements: Any) -> dict[str, Any]:
    import tensorflow as tf

    kind = export.kind.name
    entry: dict[str, Any] = {
        "kind": kind,
        "path": export.path.value,
        "line": export.span.line,
        "tags": list(export.tags) if kind == "savedmodel" else None,
        "serving": serving.is_served(export) if kind == "savedmodel" else None,
        "signatures": [],
        "outputs": [],
    }
    if kind == "savedmodel":
        for signature in export.signatures:
            inputs, outputs = elements[signature.name.value]
            warmup = serving.warmup_of(signature)
            entry["signatures"].append({
                "name": signature.name.value,
                "method": tf.saved_model.PREDICT_METHOD_NAME,
                "inputs": [{"key": key, **_tensor(t)} for key, t in inputs.items()],
                "outputs": [{"key": key, **_tensor(t)} for key, t in outputs.items()],
                "warmup": None if warmup is None else {
                    e.key.value: serving.literal(e.value, e.key.value) for e in warmup.entries},
            })
    elif kind == "graphdef":
        entry["outputs"] = [_tensor(t) for t in elements]
    return entry


def _tensor(element: Any) -> dict[str, Any]:
    """A tensor as reports show one; an operation (fetched to run it) has no dtype or shape."""
    shape = getattr(element, "shape", None)
    dtype = getattr(element, "dtype", None)
    return {
        "tensor": element.name,
        "dtype": dtype.name if dtype is not None else None,
        "shape": None if shape is None or shape.rank is None else shape.as_list(),
    }
