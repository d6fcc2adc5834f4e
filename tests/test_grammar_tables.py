"""The LALR parsers generated beside the grammar (grammar/graphdsl.*.json): current, data, used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lark.grammar import Rule
from lark.lexer import TerminalDef

from graphdsl.lang import grammar, lalr_tables as tables

GRAMMAR_DIR = Path(__file__).resolve().parents[1] / "grammar"


@pytest.mark.parametrize("language", sorted(grammar.STARTS))
def test_the_stored_tables_are_those_of_the_grammar(language: str) -> None:
    # Fails after an edit of grammar/*.lark (or a lark upgrade) until `make tables` is run.
    stored = (GRAMMAR_DIR / tables.file_name(language)).read_text(encoding="utf-8")
    assert stored == tables.encode(language), f"grammar/{tables.file_name(language)} is stale: run `make tables`"


@pytest.mark.parametrize("language", sorted(grammar.STARTS))
def test_the_parser_read_from_the_tables_is_the_one_lark_builds(language: str) -> None:
    def serialized(parser: object) -> object:
        data, memo = parser.memo_serialize([TerminalDef, Rule])  # type: ignore[attr-defined]
        table = data["parser"].pop("parser")
        names = table["tokens"]
        # The same states (numbered apart), each with the same actions: rules by what they are.
        rows = sorted(sorted((names[t], a, repr(sorted(memo[arg["@"]].items())) if a else None)
                             for t, (a, arg) in actions.items()) for actions in table["states"].values())
        return data, sorted(repr(sorted(m.items())) for m in memo.values()), rows

    read = tables.read(language, grammar.text())
    assert read is not None
    assert serialized(read) == serialized(grammar.build(language))


def test_the_tables_are_json_data() -> None:
    # Every start of graphdsl reads them: they hold data (no pickle, no code).
    for language in grammar.STARTS:
        stored = json.loads((GRAMMAR_DIR / tables.file_name(language)).read_text(encoding="utf-8"))
        assert stored["format"] == tables.FORMAT and stored["states"] and stored["memo"]


def test_no_start_of_graphdsl_analyses_the_grammar(tmp_path: Path) -> None:
    # A plain spec, a template and a syntax error in each, with lark's grammar compiler disabled.
    plain = tmp_path / "plain.gcomp"
    plain.write_text('graphdsl 1\nsource s = graphdef("s.pb")\ncopy A from s { take = "x" }\n')
    template = tmp_path / "template.gcomp"
    template.write_text('graphdsl 1\nparam n: int = 2\nsource s = graphdef("s.pb")\n'
                        'for i in range(n) {\n  copy "A{i}" from s { take = "x" }\n}\n')
    script = f"""
import lark.load_grammar
def refuse(*args, **kwargs):
    raise AssertionError("the grammar was analysed at run time")
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
    assert "<string>:2:5: error: unexpected end of file; expected a name" in done.stdout
    assert "<string>:2:15: error: unexpected end of file; expected 'not' or a value" in done.stdout


def test_a_plain_spec_is_parsed_from_the_stored_tables_alone() -> None:
    # Neither lark's parser nor the template language's tables: the plain language's, as data.
    script = """
import sys
from graphdsl.lang import grammar
from graphdsl.lang.load import load_spec_text
load_spec_text('graphdsl 1\\nsource s = graphdef("s.pb")\\ncopy A from s { take = "x" }\\nlet t = A["x:0"]\\n')
print(grammar._load.cache_info().currsize, grammar._tables.cache_info().currsize, 'lark' in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1", "False"]


@pytest.mark.parametrize("language", sorted(grammar.STARTS))
def test_the_tables_read_as_data_are_those_of_lark_s_parser(language: str) -> None:
    # What graphdsl's parse reads without lark is what lark's own parser of the same file holds.
    def plain(read: tables.Tables) -> object:
        rules = [(r.origin, r.expansion, r.alias, r.expand1, r.filtered, r.keep_all_tokens) for r in read.rules]
        states = {state: {symbol: (shift, arg if shift else rules[arg]) for symbol, (shift, arg) in row.items()}
                  for state, row in read.states.items()}
        terminals = [(t.name, t.pattern.type, t.pattern.to_regexp(), t.priority,
                      None if t.name in read.ignore else t.pattern.max_width) for t in read.terminals]
        return states, read.start_states, read.end_states, sorted(rules), terminals, read.ignore

    as_data = tables.tables(language, grammar.text())
    by_lark = tables.read(language, grammar.text())
    assert as_data is not None and by_lark is not None
    assert plain(as_data) == plain(tables.Tables.from_lark(by_lark))
    # The words kept in the file are those worked out from the parser lark analyses.
    assert as_data.words is not None
    assert grammar.Words.from_stored(as_data.words) == grammar.words_of(grammar.build(language), language)


def test_the_tables_as_data_do_not_depend_on_the_installed_lark(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another lark release installed: its loader may not read the file, but the tables are the
    # grammar's, so graphdsl's parse still reads them (lark's parser is then analysed afresh).
    real = grammar.data_file

    def older(name: str) -> str:
        text = real(name)
        if name == tables.file_name("start"):
            stored = json.loads(text)
            stored["lark_version"] = "0.0.1"
            return json.dumps(stored)
        return text

    monkeypatch.setattr(grammar, "data_file", older)
    assert tables.read("start", grammar.text()) is None
    as_data = tables.tables("start", grammar.text())
    assert as_data is not None and as_data.words is not None


def test_tables_of_another_grammar_text_are_not_read_as_data() -> None:
    assert tables.tables("start", grammar.text()) is not None
    assert tables.tables("start", grammar.text() + "\n// an edit\n") is None


def test_stale_or_missing_tables_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A grammar edited without `make tables` still parses by its own text.
    edited = grammar.text() + "\n// an edit\n"
    assert tables.read("template", edited) is None
    monkeypatch.setattr(grammar, "data_file", lambda name: edited if name.endswith(".lark") else "{")
    assert tables.read("template", edited) is None
    grammar.forget()
    try:
        assert grammar.load("template").parse("graphdsl 1\nlet x = 1\n", start="template")
    finally:
        grammar.forget()


def test_an_edit_of_any_grammar_file_makes_the_tables_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # A grammar split into files (joined by %import): the tables follow every one of them.
    assert tables.read("start", grammar.text()) is not None
    real = grammar.data_file
    monkeypatch.setattr(grammar, "other_grammar_files", lambda: ["more.lark"])
    monkeypatch.setattr(grammar, "data_file", lambda name: "// more rules\n" if name == "more.lark" else real(name))
    assert tables.read("start", grammar.text()) is None
