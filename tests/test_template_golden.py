"""Golden files of templates, run through the command line as a user runs them.

- ``tests/data/templates/ok/X.gcomp``: ``graphdsl expand X.gcomp ARGS`` prints ``X.expanded.txt``,
  a plain spec that parses and checks (and prints back the same);
- ``tests/data/templates/bad/X.gcomp``: ``graphdsl check X.gcomp ARGS`` exits with 2 and prints
  ``X.err``: parameter errors from the command line and from YAML files, expression errors,
  include cycles, errors inside included files, errors in generated statements, limits.

``X.args``, when present, holds the command-line arguments, one per line. Regenerate with
``GRAPHDSL_UPDATE_GOLDEN=1 pytest tests/test_template_golden.py``, then read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphdsl.cli import EXIT_OK, EXIT_SPEC_ERROR, main
from graphdsl.lang.load import load_spec_text
from graphdsl.lang.unparse import unparse

from golden import compare  # tests/golden.py

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "templates"
OK = sorted((DATA / "ok").glob("*.gcomp"))
BAD = sorted((DATA / "bad").glob("*.gcomp"))


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def arguments(path: Path) -> list[str]:
    args = path.with_suffix(".args")
    return args.read_text(encoding="utf-8").splitlines() if args.exists() else []


@pytest.mark.parametrize("path", OK, ids=lambda p: p.stem)
def test_template_expands_to_its_golden_plain_spec(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relative = path.relative_to(REPO).as_posix()
    assert main(["expand", relative, *arguments(path)]) == EXIT_OK
    out = capsys.readouterr().out
    compare(path.with_suffix(".expanded.txt"), out)
    spec = load_spec_text(out, relative)  # a plain spec: it parses and checks as one, and prints back the same
    assert out.startswith("# Made by graphdsl expand from ") and unparse(spec) == out


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_template_gives_its_exact_error(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", path.relative_to(REPO).as_posix(), *arguments(path)]) == EXIT_SPEC_ERROR
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    compare(path.with_suffix(".err"), captured.err)


def test_every_template_golden_has_its_template() -> None:
    goldens = [*(DATA / "ok").glob("*.expanded.txt"), *(DATA / "bad").glob("*.err")]
    assert [g.name for g in goldens if not g.with_name(g.name.split(".")[0] + ".gcomp").exists()] == []
