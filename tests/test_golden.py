"""Golden files: tests/data/ok/*.gcomp with their AST dump, tests/data/bad/*.gcomp with their error.

Regenerate with ``GRAPHDSL_UPDATE_GOLDEN=1 pytest tests/test_golden.py``, then read the diff: a
golden is only as good as its review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphdsl.lang.syntax import dump
from graphdsl.lang.check import check
from graphdsl.errors import GraphDslError, SpecError, SpecSyntaxError
from graphdsl.lang.parser import decode, parse_source

from golden import compare  # tests/golden.py

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

OK = sorted((DATA / "ok").glob("*.gcomp"))
BAD = sorted((DATA / "bad").glob("*.gcomp"))


def _load(path: Path):
    # Errors name the file as it lies in the repository, as `graphdsl check` run from its root does.
    return check(parse_source(decode(path.read_bytes(), path.relative_to(REPO).as_posix())))


@pytest.mark.parametrize("path", OK, ids=lambda p: p.stem)
def test_good_spec_matches_its_ast_dump(path: Path) -> None:
    compare(path.with_suffix(".ast.txt"), dump(_load(path)))


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_spec_gives_its_exact_error(path: Path) -> None:
    with pytest.raises(GraphDslError) as info:
        _load(path)
    # syntax_* files break the grammar; the others parse and fail the checks.
    expected = SpecSyntaxError if path.stem.startswith("syntax_") else SpecError
    assert type(info.value) is expected
    compare(path.with_suffix(".err"), info.value.render() + "\n")


def test_every_golden_has_its_spec() -> None:
    goldens = {*(DATA / "ok").glob("*.ast.txt"), *(DATA / "bad").glob("*.err")}
    orphans = [g.name for g in goldens if not g.with_name(g.name.split(".")[0] + ".gcomp").exists()]
    assert not orphans
