"""The TextMate grammar in editors/: what editors/generate.py writes from the language (so it
cannot drift), with keyword patterns that match exactly the grammar's keywords."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from graphdsl.lang import functions, grammar, params, schema
from graphdsl.lang.words import words

EDITORS = Path(__file__).resolve().parents[1] / "editors"


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("editors_generate", EDITORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tm() -> dict[str, Any]:
    return json.loads((EDITORS / "gcomp.tmLanguage.json").read_text(encoding="utf-8"))


def test_the_committed_files_are_what_the_generator_writes(generate: ModuleType) -> None:
    for name, text in generate.files().items():
        assert (EDITORS / name).read_text(encoding="utf-8") == text, f"run: python editors/generate.py ({name})"
    assert generate.main(["--check"]) == 0


def test_the_generator_rewrites_stale_files(generate: ModuleType, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "HERE", tmp_path)
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(generate.files())
    assert generate.main(["--check"]) == 0


def _words_of(pattern: str) -> set[str]:
    """The words of a pattern written as \\b(?:a|b|c)\\b, optionally followed by a lookahead."""
    match = re.fullmatch(r"\\b\(\?:([\w|]+)\)\\b(\(\?=.*\))?", pattern)
    assert match, f"not an alternation of words: {pattern}"
    return set(match.group(1).split("|"))


def _rules(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rules(value)


def test_the_keyword_pattern_matches_exactly_the_grammar_keywords(tm: dict[str, Any]) -> None:
    repository = tm["repository"]
    keywords = set(schema.keywords()) | set(grammar.words("template").keywords)
    rules = ("keyword", "constant", "operator-word")
    assert set().union(*(_words_of(repository[r]["match"]) for r in rules)) == keywords
    assert _words_of(repository["constant"]["match"]) == {"true", "false"}
    assert _words_of(repository["operator-word"]["match"]) == {"and", "or", "not", "in"}
    keyword, constant, operator_word = (re.compile(repository[r]["match"]) for r in rules)
    for word in keywords:
        assert [p.fullmatch(word) is not None for p in (keyword, constant, operator_word)].count(True) == 1, word
    others = [*words().kinds, *words().modes, *words().entries, "True", "Copy", "import", "in"]
    others += [k + "s" for k in keywords] + ["x" + k for k in keywords] + [k + "_1" for k in keywords]
    for word in set(others) - keywords:
        assert keyword.search(word) is None and constant.search(word) is None, word
        assert operator_word.search(word) is None, word
    # Only the keyword rule gives a keyword's scope: a definition hands its keyword to that rule.
    scoped = [r for r in _rules(repository) if str(r.get("name", "")).startswith("keyword.other")]
    assert scoped == [repository["keyword"]]


def test_kinds_modes_and_entries_come_from_the_schema(tm: dict[str, Any]) -> None:
    repository = tm["repository"]
    assert _words_of(repository["kind"]["match"]) == set(schema.SOURCE_KINDS) | set(schema.EXPORT_KINDS)
    assert _words_of(repository["mode"]["match"]) == set(schema.VARIABLE_MODES)
    entries = _words_of(repository["key"]["patterns"][0]["match"])
    assert {e.key for e in schema.COPY_ENTRIES} | {e.key for e in schema.SIGNATURE_ENTRIES} <= entries
    assert set(params.CONSTRAINTS) <= entries
    assert entries == set(words().entries)
    assert _words_of(repository["type"]["match"]) == set(params.BLOCK_PARAM_TYPES)
    assert _words_of(repository["function"]["match"]) == set(functions.FUNCTIONS)


def test_template_rules_read_types_operators_and_interpolations(tm: dict[str, Any]) -> None:
    repository = tm["repository"]
    definitions = repository["definition"]["patterns"]
    param = re.compile(definitions[0]["match"])
    match = param.match("param sizes: list[int] = [1]")
    assert match and match.group(2) == "sizes" and match.group(4) == "list[int]"
    block = definitions[1]
    assert re.match(block["begin"], "block layer(") and block["end"] == r"\)"
    typed = re.compile(block["patterns"][1]["match"])
    match = typed.search("input: map[ref] = x")
    assert match and match.group(1) == "input" and match.group(3) == "map[ref]"
    operator = re.compile(repository["operator"]["match"])
    assert [m.group() for m in operator.finditer("a == b // c => d <= e - f")] == ["==", "//", "=>", "<=", "-"]
    assignment = re.compile(repository["punctuation"]["patterns"][0]["match"])
    assert assignment.match("= 1") and not assignment.match("== 1") and not assignment.match("=> 1")
    key = re.compile(repository["key"]["patterns"][1]["match"])
    assert key.match("x = 1") and not key.match("x == 1")
    string = repository["string"]["patterns"]
    assert {"include": "#interpolation"} in string
    interpolation = repository["interpolation"]
    assert interpolation["begin"] == r"\{" and {"include": "#string"} not in interpolation["patterns"]
    # The top level reads a type only after a definition, never a bare word such as `int(x)`.
    assert {"include": "#type"} not in tm["patterns"] and {"include": "#function"} in tm["patterns"]


def test_every_pattern_compiles_and_the_extension_names_the_grammar(tm: dict[str, Any]) -> None:
    for rule in _rules(tm):
        for key in ("match", "begin", "end"):
            if isinstance(rule.get(key), str):
                re.compile(rule[key])
    manifest = json.loads((EDITORS / "package.json").read_text(encoding="utf-8"))
    (grammar,) = manifest["contributes"]["grammars"]
    assert (EDITORS / grammar["path"]).resolve() == EDITORS / "gcomp.tmLanguage.json"
    assert grammar["scopeName"] == tm["scopeName"] == "source.gcomp"
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".gcomp"]
    configuration = json.loads((EDITORS / "language-configuration.json").read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#"
    assert sorted(map(tuple, configuration["brackets"])) == [("(", ")"), ("[", "]"), ("{", "}")]
