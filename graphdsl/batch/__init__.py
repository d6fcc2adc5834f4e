"""Batch builds: one spec (or several) built many times, by long-lived workers or on a Dask cluster.

``import graphdsl.batch`` imports no TensorFlow: the workers do. Its names are imported when first
asked for, so that the command line, which only registers ``graphdsl batch``, pays nothing for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphdsl.batch.member import build_member
    from graphdsl.batch.roster import Member, members, sweep_points
    from graphdsl.batch.runner import BatchResult, MemberResult, run_batch

# No name here is also the name of a submodule: importing that submodule would replace it.
_LAZY = {
    "build_member": "graphdsl.batch.member",
    "Member": "graphdsl.batch.roster", "members": "graphdsl.batch.roster",
    "sweep_points": "graphdsl.batch.roster",
    "BatchResult": "graphdsl.batch.runner", "MemberResult": "graphdsl.batch.runner",
    "run_batch": "graphdsl.batch.runner",
}

__all__ = ["BatchResult", "Member", "MemberResult", "build_member", "members", "run_batch", "sweep_points"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'graphdsl.batch' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
