"""graphdsl: compose TensorFlow graphs from parts of other graphs.

``import graphdsl`` stays light: the copier's functions import TensorFlow on first use, so the
parser and checker (``graphdsl check``) never pay for it. Every public error class is importable
from here, rooted at :class:`GraphDslError`.
"""

from __future__ import annotations

from typing import Any

from graphdsl.errors import (
    ArtifactError,
    BuildError,
    CopyError,
    ExportError,
    GraphDslError,
    GraphDslWarning,
    LockError,
    NameClashError,
    NotCopiedError,
    ParamError,
    RunError,
    SourceError,
    SpecError,
    SpecSyntaxError,
)

__version__ = "0.1.0"

_LAZY = {
    "copy_variable_to_graph": "graphdsl.api",
    "copy_to_graph": "graphdsl.api",
    "get_copied": "graphdsl.api",
    "initialize": "graphdsl.api",
    "load_spec": "graphdsl.lang.load",
    "load_spec_text": "graphdsl.lang.load",
    "compose": "graphdsl.assemble.compose",
    "build": "graphdsl.assemble.compose",
    "Composition": "graphdsl.assemble.compose",
}

__all__ = [
    *_LAZY,
    "ArtifactError",
    "BuildError",
    "CopyError",
    "ExportError",
    "GraphDslError",
    "GraphDslWarning",
    "LockError",
    "NameClashError",
    "NotCopiedError",
    "ParamError",
    "RunError",
    "SourceError",
    "SpecError",
    "SpecSyntaxError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphdsl' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
