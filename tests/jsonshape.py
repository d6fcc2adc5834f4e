"""The README's notation for JSON shapes, and the shapes it documents.

An object is a set of keys (``"*"``: any other key, with values of that shape), ``[X]`` a list of X,
a string a JSON type (``str``, ``int``, ``bool``, ``null``, ``any``, ``list[T]``, alternatives joined
by ``|``) or the name of another documented shape (``ERROR``), and a key ending in ``?`` may also
hold ``null``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.S | re.M)


def readme_section(heading: str) -> str:
    """The README's section under the ``### `` heading starting with ``heading``, up to the next one."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]


def readme_shapes() -> dict[str, Any]:
    """The shapes of the ``--format json`` section, by the name its ``####`` heading gives in backticks."""
    shapes = {}
    for part in readme_section("`--format json`").split("\n#### ")[1:]:
        name = re.match(r"`([^`]+)`", part)
        blocks = _JSON_BLOCK.findall(part)
        if name and blocks:
            shapes[name.group(1)] = json.loads(blocks[0])
    return shapes


def inspect_shape() -> Any:
    """The shape of ``inspect --format json``, documented in the inspect section."""
    (block,) = _JSON_BLOCK.findall(readme_section("`graphdsl inspect`"))
    return json.loads(block)


def conforms(value: Any, shape: Any, named: dict[str, Any] | None = None, where: str = "$") -> list[str]:
    """The places where ``value`` departs from ``shape``; ``named`` holds the shapes named by name."""
    named = named or {}
    if isinstance(shape, str):
        if shape in named:
            return conforms(value, named[shape], named, where)
        return [] if any(_is(value, t) for t in _alternatives(shape)) else [f"{where}: {value!r} is not {shape}"]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in conforms(item, shape[0], named, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    problems = []
    keys = {k.rstrip("?"): k for k in shape if k != "*"}
    for name, key in keys.items():
        if name not in value:
            problems.append(f"{where}: no key '{name}'")
        elif not (key.endswith("?") and value[name] is None):
            problems += conforms(value[name], shape[key], named, f"{where}.{name}")
    for name in value.keys() - keys.keys():
        problems += conforms(value[name], shape["*"], named, f"{where}.{name}") if "*" in shape \
            else [f"{where}: unexpected key '{name}'"]
    return problems


def _alternatives(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _is(value: Any, kind: str) -> bool:
    if kind.startswith("list[") and kind.endswith("]"):
        return isinstance(value, list) and all(any(_is(v, t) for t in _alternatives(kind[5:-1])) for v in value)
    checks = {"str": lambda v: isinstance(v, str), "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool), "null": lambda v: v is None, "any": lambda v: True}
    return checks[kind](value)
