"""Building one member of a batch, in whatever process runs it, and saying how it went.

:func:`build_member` is the one interface the batch machinery calls: ``(spec, params, outdir)``
to the paths written. A parameter is a template parameter of the spec, or names a source option: ``SOURCE.OPTION`` (``linear.seed``) sets
option ``OPTION`` of source ``SOURCE`` (a builder's keyword argument, a SavedModel's tags, a
metagraph's checkpoint ...) to the value, in place of what the spec says. :func:`run_member` wraps it for a
worker: a failure becomes the text a single ``graphdsl build`` would print, never an exception.
Every process keeps one :class:`~graphdsl.tf.cache.SourceCache`, so members reading the same
sources load them once per process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import traceback
from pathlib import Path
from typing import Any

from graphdsl.errors import GraphDslError, SpecError, unreadable
from graphdsl.lang import syntax
from graphdsl.lang.params import ParamValues

_cache: Any = None  # this process's SourceCache, made on first use


def build_member(spec: str | Path, params: dict[str, Any] | ParamValues, outdir: str | Path, *,
                 source_cache: Any = None, builder_timeout: float | None = None) -> list[Path]:
    """Builds ``spec`` with ``params`` into ``outdir`` through the ordinary pipeline; returns the paths.

    ``params`` maps names to values, or is a :class:`~graphdsl.lang.params.ParamValues` whose
    values know where they came from (a file's line and column), for the messages.
    """
    from graphdsl.assemble.compose import build
    from graphdsl.lang.load import load_spec

    # A template's parameters go to its expansion; SOURCE.OPTION ones set a source's option.
    given = params if isinstance(params, ParamValues) else ParamValues.from_mapping(params, "the member's parameters")
    template, options = given.split()
    checked = with_params(load_spec(Path(spec), params=template), options.values())
    return build(checked, outdir, source_cache=source_cache, builder_timeout=builder_timeout)


def with_params(spec: syntax.Spec, params: dict[str, Any]) -> syntax.Spec:
    """``spec`` with each ``SOURCE.OPTION`` parameter set as that source's option."""
    if not params:
        return spec
    options: dict[str, dict[str, Any]] = {}
    for name, value in params.items():
        source, dot, option = name.partition(".")
        if not dot or spec.source(source) is None or not option.isidentifier():
            known = ", ".join(f"'{s.name.name}.OPTION'" for s in spec.sources)
            raise SpecError(f"{spec.path}: parameter '{name}' names no source option",
                            hint=f"name a source option as SOURCE.OPTION: {known}")
        options.setdefault(source, {})[option] = value
    statements = tuple(_with_options(s, options[s.name.name])
                       if isinstance(s, syntax.Source) and s.name.name in options else s
                       for s in spec.statements)
    return dataclasses.replace(spec, statements=statements)


def _with_options(source: syntax.Source, values: dict[str, Any]) -> syntax.Source:
    settings = [s for s in source.options if s.key.name not in values]
    for key, value in values.items():
        settings.append(syntax.Setting(syntax.Ident(key, source.span), _node(value, source.span), source.span))
    return dataclasses.replace(source, options=tuple(settings))


def _node(value: Any, span: Any) -> syntax.Value:
    """A literal of the language for a parameter value (a YAML value)."""
    if isinstance(value, bool):
        return syntax.Bool(value, span)
    if isinstance(value, int):
        return syntax.Int(value, span)
    if isinstance(value, float):
        return syntax.Float(value, span)
    if isinstance(value, str):
        return syntax.String(value, span)
    if isinstance(value, (list, tuple)):
        return syntax.ListValue(tuple(_node(v, span) for v in value), span)
    if isinstance(value, dict):
        return syntax.MapValue(tuple(syntax.MapEntry(syntax.String(str(k), span), _node(v, span), span)
                                     for k, v in value.items()), span)
    raise GraphDslError(f"parameter value {value!r} is not a literal (string, number, boolean, list, map)")


def run_member(spec: str, params: dict[str, Any] | ParamValues, outdir: str,
               builder_timeout: float | None = None) -> dict[str, Any]:
    """Builds one member in this process and reports it: status, seconds, outputs (hashes), error."""
    started = time.perf_counter()
    try:
        if _cache is None:
            _start()
        build_member(spec, params, outdir, source_cache=_cache, builder_timeout=builder_timeout)
        outputs = hash_outputs(Path(outdir))
    except Exception as error:  # a member's failure is reported, never raised: the others go on
        return {"status": "failed", "seconds": time.perf_counter() - started, "outputs": {},
                "error": describe(error), "worker": worker()}
    return {"status": "ok", "seconds": time.perf_counter() - started, "outputs": outputs, "error": None,
            "worker": worker()}


def worker() -> str:
    """Which process built a member: ``HOST:PID``."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def describe(error: BaseException) -> str:
    """The error as ``graphdsl build`` would print it."""
    if isinstance(error, GraphDslError):
        return error.render()
    if isinstance(error, OSError):
        return unreadable(error).render()
    return "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()


def hash_outputs(outdir: Path) -> dict[str, str]:
    """SHA-256 of every file a build wrote into ``outdir`` (its items and manifest), by relative path."""
    from graphdsl.assemble.manifest import BUILD_MANIFEST, read_outputs

    hashes: dict[str, str] = {}
    for item in sorted({*read_outputs(outdir), BUILD_MANIFEST}):
        top = outdir / item
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for file in files:
            hashes[file.relative_to(outdir).as_posix()] = _sha256(file)
    return hashes


def outputs_intact(outdir: Path, hashes: dict[str, str]) -> bool:
    """Whether ``outdir`` still holds exactly the files ``hashes`` lists, unchanged (False when
    ``hashes`` is not a map of relative paths to hashes: a summary edited by hand)."""
    if not hashes or not isinstance(hashes, dict) \
            or not all(isinstance(name, str) and isinstance(digest, str) for name, digest in hashes.items()):
        return False
    try:
        return all(_sha256(outdir / name) == digest for name, digest in hashes.items())
    except OSError:
        return False


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the batch's to handle (it stops the pool), not each worker's."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


_said: Any = None  # a local worker's pipe, where it says which member it starts
_stop_flag: str | None = None  # a file whose existence tells a local worker to start no member
STOPPED = "stopped"  # the status of a member a worker did not start, as the batch was stopping


def start_worker(said: Any = None, stop_flag: str | None = None) -> None:
    """A local worker's start: ignore Ctrl-C, import TensorFlow once, make the source cache.
    ``said``: the writing end of a pipe where :func:`run_started` sends each member's key as it
    starts; ``stop_flag``: a file that, once it exists, stops it starting members."""
    global _said, _stop_flag
    _ignore_interrupts()
    _said, _stop_flag = said, stop_flag
    _start()


def run_started(key: str, spec: str, params: dict[str, Any] | ParamValues, outdir: str,
                builder_timeout: float | None = None) -> dict[str, Any]:
    """:func:`run_member`, in a local worker that first says it starts member ``key`` (if its
    process then dies, the batch knows which member it was building)."""
    if _stop_flag is not None and os.path.exists(_stop_flag):
        return {"status": STOPPED, "seconds": 0.0, "outputs": {}, "error": None}
    if _said is not None:
        _said.send(key)
    return run_member(spec, params, outdir, builder_timeout)


def _start() -> None:
    global _cache
    from graphdsl.tf.quiet import import_tensorflow

    import_tensorflow()  # first: quiet, before anything else imports TensorFlow
    from graphdsl.tf.cache import SourceCache

    _cache = SourceCache()
