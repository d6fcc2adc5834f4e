"""Golden files: compare a rendering with the file beside its input, or rewrite it on request.

Regenerate with ``GRAPHDSL_UPDATE_GOLDEN=1 pytest ...``, then read the diff: a golden is only as
good as its review.
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("GRAPHDSL_UPDATE_GOLDEN") == "1"


def compare(golden: Path, actual: str) -> None:
    """Asserts ``actual`` equals the text of ``golden`` (or writes it, when updating)."""
    if UPDATE:
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden {golden.name}; run with GRAPHDSL_UPDATE_GOLDEN=1 and review it"
    assert actual == golden.read_text(encoding="utf-8")
