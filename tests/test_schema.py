"""The language's facts in one place (graphdsl.lang.schema), and its keywords read from the grammar."""

from __future__ import annotations

import subprocess
import sys

import pytest

from graphdsl.lang import grammar, schema


@pytest.fixture
def fresh_words():
    grammar.forget()
    yield
    grammar.forget()


def test_keywords_are_the_grammar_literal_words() -> None:
    assert schema.keywords() == (
        "graphdsl", "source", "copy", "from", "let", "export", "variable", "bind", "signature", "true", "false"
    )


def test_a_keyword_added_to_the_grammar_reaches_the_keyword_list_and_messages(
    monkeypatch: pytest.MonkeyPatch, fresh_words: None
) -> None:
    text = grammar.text()
    text = text.replace("_statement: version", "_statement: version\n          | import")
    text += '\nimport: _IMPORT STRING\n_IMPORT: "import"\n'
    monkeypatch.setattr(grammar, "text", lambda: text)
    words = grammar.words()
    assert "import" in schema.keywords()
    assert words.quoted["_IMPORT"] == "'import'"
    assert "_IMPORT" in words.statement_start


def test_every_terminal_the_parser_can_expect_is_named_in_words() -> None:
    words = grammar.words()
    ignored = set(grammar.load().ignore_tokens)
    assert {t.name for t in grammar.load().terminals} - ignored <= set(words.quoted)


def test_the_words_of_positions_come_from_the_parse_tables() -> None:
    words = grammar.words()
    assert {words.quoted[t] for t in words.statement_start} == {
        "'graphdsl'", "'source'", "'copy'", "'let'", "'export'"}
    assert words.entry_keywords == ("variable", "bind", "signature")
    assert {"STRING", "INT", "FLOAT", "TRUE", "FALSE", "NAME", "_LBRACK", "_LBRACE"} == words.value_start
    assert words.openers == {"_LPAR": "_RPAR", "_LBRACK": "_RBRACK", "_LBRACE": "_RBRACE"}


def test_source_kinds_options_and_defaults() -> None:
    assert list(schema.SOURCE_KINDS) == ["graphdef", "metagraph", "savedmodel", "python"]
    saved = schema.SOURCE_KINDS["savedmodel"]
    tags, signature = saved.option("tags"), saved.option("signature")
    assert tags is not None and signature is not None
    assert tags.default == ("serve",) == schema.DEFAULT_TAGS
    assert signature.default == "serving_default"
    assert schema.SOURCE_KINDS["python"].options is None  # any literal keyword argument
    assert schema.kind_for_suffix(".pbtxt") == "graphdef" and schema.kind_for_suffix(".txt") is None


def test_the_graph_half_reads_the_schema() -> None:
    from graphdsl.assemble import resolve
    from graphdsl.tf import sources, variables

    assert sources.KINDS == tuple(schema.SOURCE_KINDS)
    assert variables.MODES is schema.VARIABLE_MODES
    assert resolve._GLOB is schema.GLOB_CHARS


def test_the_schema_imports_neither_tensorflow_nor_lark() -> None:
    code = (
        "import sys\nimport graphdsl.lang.schema\n"
        "assert 'tensorflow' not in sys.modules and 'lark' not in sys.modules, sorted(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
