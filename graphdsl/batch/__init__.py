"""Batch builds: one spec (or several) built many times, by long-lived workers or on a Dask cluster.

``import graphdsl.batch`` imports no TensorFlow: the workers do.
"""

from __future__ import annotations

from graphdsl.batch.member import build_member
from graphdsl.batch.members import Member, members, sweep_points
from graphdsl.batch.runner import BatchResult, MemberResult, run_batch

__all__ = ["BatchResult", "Member", "MemberResult", "build_member", "members", "run_batch", "sweep_points"]
