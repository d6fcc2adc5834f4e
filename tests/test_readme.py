"""Every ```python block of the README runs, in order, in one namespace, from the repository root."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_readme_python_blocks_run(monkeypatch) -> None:
    blocks = BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has no python block"
    monkeypatch.chdir(REPO)
    namespace: dict = {"__name__": "readme"}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"README.md python block {number}", "exec"), namespace)
