"""Every ```python block of the README runs, in order, in one namespace, from a scratch directory
that sees the repository's specs/ (so what the blocks write, out/..., stays out of the repository)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_readme_python_blocks_run(monkeypatch, tmp_path: Path) -> None:
    blocks = BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has no python block"
    (tmp_path / "specs").symlink_to(REPO / "specs")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"README.md python block {number}", "exec"), namespace)


def test_readme_command_lines_are_valid(capsys) -> None:
    """Every `graphdsl ...` line of a ```sh block parses with the real CLI, and its spec exists."""
    import shlex

    from graphdsl.cli import _build_parser

    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [
        line.split("#")[0].strip()
        for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
        for line in block.splitlines()
        if line.strip().startswith("graphdsl ")
    ]
    assert len(lines) >= 8
    parser = _build_parser()
    written = set()  # specs an earlier line writes (explain --spec-out)
    for line in lines:
        words = shlex.split(line)[1:]
        if {"SPEC", "OUTDIR_OR_SPEC", "SOURCE", "SPEC_OR_OUTDIR"} & set(words):
            continue  # the synopsis, with placeholders
        args = parser.parse_args(words)
        written.add(getattr(args, "spec_out", None))
        spec = getattr(args, "spec", None) or getattr(args, "target", "")
        assert isinstance(spec, str), line
        if spec.endswith(".gcomp") and spec not in written:
            assert (REPO / spec).is_file(), f"README names a missing spec: {line}"
