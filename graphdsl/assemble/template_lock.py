"""A template's part of a lock and of a provenance record: its parameters and included files.

A spec a template made keeps how (:class:`~graphdsl.lang.syntax.TemplateRecord`). The lock and the
record hold

- ``params``: the value of every declared parameter, defaults included: the values the build
  used, which ``graphdsl build --locked`` compares and ``graphdsl explain --spec-out`` writes back
  as a params file. Not how they were given: a value given equal to its default, or given in a
  file rather than on the command line, builds the same bytes;
- ``includes``: each included file's path relative to the spec's directory, with the sha256 of its
  text as graphdsl reads it (UTF-8, line breaks as ``\\n``, no byte order mark).

Both are empty for a plain spec. No TensorFlow here.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shlex
from typing import Any

from graphdsl.lang import expr as ex
from graphdsl.lang import syntax
from graphdsl.lang.params import plain


def include_path(spec: syntax.Spec, path: str) -> str:
    """An included file's path (as the includes name it) relative to the spec's directory."""
    shown = path.replace(os.sep, "/")
    if spec.path.startswith("<"):  # spec text: includes are relative to the working directory
        return shown
    base = posixpath.dirname(spec.path.replace(os.sep, "/")) or "."
    return posixpath.relpath(shown, base)


def text_hash(text: str) -> str:
    """The sha256 of a file's text as graphdsl reads it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_inputs(spec: syntax.Spec) -> dict[str, Any]:
    """``params`` and ``includes`` (path -> sha256) of ``spec``."""
    record = spec.template
    if record is None:
        return {"params": {}, "includes": {}}
    includes = {include_path(spec, f.path): text_hash(f.text) for f in record.includes}
    return {"params": plain(record.params), "includes": dict(sorted(includes.items()))}


def include_texts(spec: syntax.Spec) -> dict[str, str]:
    """The text of each file ``spec``'s template included, by path relative to the spec."""
    if spec.template is None:
        return {}
    return dict(sorted((include_path(spec, f.path), f.text) for f in spec.template.includes))


# -- checks -----------------------------------------------------------------------------------------


def param_problems(lock: dict[str, Any], spec: syntax.Spec) -> list[str]:
    """Each parameter whose value differs from the lock's: its name, the value and the locked one."""
    locked = lock.get("params") or {}
    now = template_inputs(spec)["params"]
    origins = spec.template.origins if spec.template is not None else {}
    problems = []
    for name, value in now.items():
        where = f" ({_from(origins[name])})" if name in origins else ""
        if name not in locked:
            problems.append(f"parameter '{name}' is {show(value)}{where}; the lock has no such parameter")
        elif not same(value, locked[name]):
            problems.append(f"parameter '{name}' is {show(value)}{where}, the lock says {show(locked[name])}")
    problems.extend(f"parameter '{name}' is in the lock ({show(value)}) but the spec declares no such "
                    "parameter" for name, value in locked.items() if name not in now)
    return problems


def include_problems(lock: dict[str, Any], spec: syntax.Spec) -> list[str]:
    """Each included file that differs from the lock: its path and both hashes."""
    locked = lock.get("includes") or {}
    now = template_inputs(spec)["includes"]
    problems = []
    for path, digest in now.items():
        if path not in locked:
            problems.append(f"included file '{path}' is not in the lock (sha256 {digest})")
        elif locked[path] != digest:
            problems.append(f"included file '{path}' changed: locked sha256 {locked[path]}, now sha256 {digest}")
    problems.extend(f"included file '{path}' is in the lock but no longer included (locked sha256 "
                    f"{digest})" for path, digest in locked.items() if path not in now)
    return problems


def locked_params_arguments(lock: dict[str, Any], spec: syntax.Spec) -> str:
    """``--param NAME=VALUE`` for each parameter whose locked value differs from the spec's now."""
    locked = lock.get("params") or {}
    now = template_inputs(spec)["params"]
    return " ".join(f"--param {shlex.quote(f'{name}={show(value)}')}" for name, value in locked.items()
                    if name in now and not same(now[name], value))


def same(a: Any, b: Any) -> bool:
    """Whether two plain values are equal, type and all (``1``, ``1.0`` and ``true`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def show(value: Any) -> str:
    """A plain value as a template writes it (``3``, ``"value"``, ``[1, 2]``), a YAML literal too."""
    def language(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(language(x) for x in v)
        if isinstance(v, dict):
            return {str(k): language(x) for k, x in v.items()}
        return v

    converted = language(value)
    if converted is None:
        return "null"
    return ex.show(converted)


def _from(origin: str) -> str:
    return origin if origin == "its default" else f"from {origin}"
