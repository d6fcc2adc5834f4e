"""The LALR tables generated into graphdsl/lang/grammar_tables.py: current, plain data, and used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.lang import grammar, grammar_tables

TABLES_FILE = Path(grammar_tables.__file__)


def test_the_generated_tables_are_those_of_the_grammar(tmp_path: Path) -> None:
    # Fails after an edit of grammar/*.lark (or a lark upgrade) until `make tables` is run.
    fresh = grammar.write_tables(tmp_path / "grammar_tables.py")
    assert fresh.read_text(encoding="utf-8") == TABLES_FILE.read_text(encoding="utf-8"), (
        "graphdsl/lang/grammar_tables.py is stale: run `make tables` and commit the result"
    )


def test_the_generated_tables_are_plain_data() -> None:
    # The module is read by every start of graphdsl: it must hold data, never code.
    module = ast.parse(TABLES_FILE.read_text(encoding="utf-8"))
    docstring, *assignments = module.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert [a.targets[0].id for a in assignments] == ["GRAMMAR_SHA256", "LARK_VERSION", "TABLES"]  # type: ignore[attr-defined]
    for assignment in assignments:
        assert isinstance(assignment, ast.Assign)
        ast.literal_eval(assignment.value)  # raises on anything that is not a literal


def test_no_start_of_graphdsl_builds_lalr_tables(tmp_path: Path) -> None:
    # A plain spec, a template and a syntax error in each, with lark's grammar compiler disabled.
    plain = tmp_path / "plain.gcomp"
    plain.write_text('graphdsl 1\nsource s = graphdef("s.pb")\ncopy A from s { take = "x" }\n')
    template = tmp_path / "template.gcomp"
    template.write_text('graphdsl 1\nparam n: int = 2\nsource s = graphdef("s.pb")\n'
                        'for i in range(n) {\n  copy "A{i}" from s { take = "x" }\n}\n')
    script = f"""
import lark, lark.load_grammar
def refuse(*args, **kwargs):
    raise AssertionError("the LALR tables were built at run time")
lark.load_grammar.GrammarBuilder.__init__ = refuse
from graphdsl.errors import SpecSyntaxError
from graphdsl.lang.load import load_spec, load_spec_text
assert len(load_spec({str(plain)!r}).statements) == 3
assert len(load_spec({str(template)!r}).statements) == 4
for text in ("graphdsl 1\\ncopy", "graphdsl 1\\nparam n: int =\\n"):
    try:
        load_spec_text(text)
    except SpecSyntaxError as error:
        print(error.render())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "<string>:2:5: error: unexpected end of file" in done.stdout
    assert "<string>:2:15: error: unexpected end of file" in done.stdout


def test_a_plain_spec_does_not_load_the_template_parser() -> None:
    script = """
from graphdsl.lang import grammar
from graphdsl.lang.load import load_spec_text
load_spec_text('graphdsl 1\\nsource s = graphdef("s.pb")\\ncopy A from s { take = "x" }\\nlet t = A["x:0"]\\n')
print(grammar._load.cache_info().currsize)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]


def test_stale_tables_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A grammar edited without regenerating the tables still parses by its own text.
    monkeypatch.setattr(grammar_tables, "GRAMMAR_SHA256", "0" * 64)
    built = []
    real_build = grammar.build
    monkeypatch.setattr(grammar, "build", lambda language: built.append(language) or real_build(language))
    grammar.load.cache_clear()
    try:
        assert grammar.load("template").parse("graphdsl 1\nlet x = 1\n", start="template")
        assert built == ["template"]
    finally:
        grammar.load.cache_clear()
