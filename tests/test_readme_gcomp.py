"""Every ```gcomp block of README.md is a complete spec that parses and checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphdsl.lang.check import check
from graphdsl.lang.parser import parse

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```gcomp\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_has_gcomp_blocks() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("number", range(len(BLOCKS)), ids=lambda n: f"block{n + 1}")
def test_gcomp_block_parses_and_checks(number: int) -> None:
    check(parse(BLOCKS[number], f"README.md gcomp block {number + 1}"))
