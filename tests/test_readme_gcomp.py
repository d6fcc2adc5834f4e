"""Every ```gcomp block of README.md is a complete spec that parses and checks; a template is
expanded (for its defaults) and the plain spec it makes is checked. What the README says a template
expands to, and the errors it shows, are what graphdsl gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphdsl.lang.expand import load
from graphdsl.lang.unparse import unparse

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
MATCHES = list(re.finditer(r"^```gcomp\n(.*?)^```\n", README, re.M | re.S))
BLOCKS = [m.group(1) for m in MATCHES]
# A block, the line "`graphdsl expand` prints:", and the block of what it prints.
EXPANDS = [(m.group(1), n.group(1)) for m, n in zip(MATCHES, MATCHES[1:])
           if README[m.end():n.start()] == "\n`graphdsl expand` prints:\n\n"]


def test_the_readme_has_gcomp_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert len(BLOCKS) >= 6
    assert sum(load(block, "specs/README.md").template for block in BLOCKS) >= 7


@pytest.mark.parametrize("number", range(len(BLOCKS)), ids=lambda n: f"block{n + 1}")
def test_gcomp_block_parses_and_checks(number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the block stood in specs/, so that an include finds what the examples include.
    monkeypatch.chdir(REPO)
    load(BLOCKS[number], f"specs/README.md gcomp block {number + 1}")


def test_what_the_readme_says_a_template_expands_to_is_what_it_expands_to() -> None:
    assert EXPANDS
    for template, plain in EXPANDS:
        assert unparse(load(template, "README.md").spec) == plain


def test_the_readme_shows_the_towers_example_and_its_library_as_they_are() -> None:
    assert "```gcomp\n" + (REPO / "specs/towers.gcomp").read_text(encoding="utf-8") + "```" in README
    (excerpt,) = re.findall(r"^```text\n# in specs/lib/blocks.gcomp[^\n]*\n(.*?)^```", README, re.M | re.S)
    assert excerpt in (REPO / "specs/lib/blocks.gcomp").read_text(encoding="utf-8")


@pytest.mark.parametrize("golden", [
    "tests/data/templates/bad/param_yaml_check.err", "tests/data/templates/bad/param_cli_range.err",
    "tests/data/templates/bad/include_cycle.err", "tests/data/build_bad/template_bind_in_loop.err",
    "tests/data/templates/bad/limit_statements.err",
])
def test_the_readme_shows_template_errors_as_graphdsl_prints_them(golden: str) -> None:
    assert (REPO / golden).read_text(encoding="utf-8") in README
