"""The printer of plain specs: what it writes parses back to the same tree, comments included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphdsl.lang.expand import load
from graphdsl.lang.parser import parse
from graphdsl.lang.syntax import dump
from graphdsl.lang.unparse import unparse

REPO = Path(__file__).resolve().parents[1]
PLAIN = [*sorted((REPO / "tests/data/ok").glob("*.gcomp")), *sorted((REPO / "specs").glob("*.gcomp"))]


def without_spans(tree) -> str:
    return re.sub(r" @\d+:\d+-\d+:\d+", "", dump(tree))


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: p.stem)
def test_a_spec_prints_to_text_that_parses_to_the_same_tree(path: Path) -> None:
    tree = load(path).spec  # a template is expanded first
    text = unparse(tree)
    again = parse(text, "printed.gcomp")
    assert without_spans(again) == without_spans(tree)
    assert unparse(again) == text


def test_comments_come_back_where_they_were() -> None:
    text = (REPO / "tests/data/ok/comments.gcomp").read_text()
    printed = unparse(parse(text))
    assert "    steps = 200,  # trails the option\n" in printed
    assert "    bind \"x:0\" = B[\"z:0\"]  # trails the bind, not the reference inside it\n" in printed
    assert printed.endswith("}\n# ends the file\n")


def test_strings_numbers_and_labels_are_written_as_the_grammar_reads_them() -> None:
    text = ('graphdsl 1\nsource p = python("b.py:build", s = "a\\"b\\\\c\\n\\td", f = 1e-05, g = 2.0, n = -3, '
            'm = { "two words": 1, "true": 2, plain: 3, "a/b": 4 })\ncopy A from p { take = "y" }\n')
    printed = unparse(parse(text))
    assert 's = "a\\"b\\\\c\\n\\td", f = 1e-05, g = 2.0, n = -3' in printed
    assert 'm = { "two words": 1, "true": 2, plain: 3, a/b: 4 }' in printed
    assert without_spans(parse(printed)) == without_spans(parse(text))
