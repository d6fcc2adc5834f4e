"""Stage 2: static checks (graphdsl.check). Each kind of error also has a golden in tests/data/bad."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdsl.lang.check import StatementChecks, check
from graphdsl.errors import SourceFile, SpecError, SpecSyntaxError
from graphdsl.lang.parser import parse, parse_source
from graphdsl.lang.load import load_spec, load_spec_text

HEAD = 'graphdsl 1\nsource enc = graphdef("enc.pb")\nsource head = graphdef("head.pb")\n'


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        check(parse(HEAD + text, "t.gcomp"))
    return info.value


def test_check_returns_the_spec_it_was_given() -> None:
    spec = parse(HEAD + 'copy Enc from enc { take = "out" }\n')
    assert check(spec) is spec


def test_several_copies_of_one_source_into_one_namespace_are_fine() -> None:
    check(parse(HEAD + 'copy E from enc { take = "a" }\ncopy F from head { take = "y" }\n'
                'copy E from enc { take = "b" bind "x:0" = F["y:0"] }\n'))


def test_take_accepts_ops_tensors_and_globs() -> None:
    check(parse(HEAD + 'copy E from enc { take = ["a", "a/b:0", "enc/*", "l?yer/[ab]"] }\n'))


def test_python_sources_take_any_literal_argument() -> None:
    check(parse('graphdsl 1\nsource p = python("b.py:build", n = 1, r = -0.5, on = true, '
                'xs = [1, "a"], m = { k: [1] })\ncopy P from p { take = "y" }\n'))


def test_builder_arguments_are_literals_at_any_depth_and_the_first_mistake_is_named() -> None:
    def first(argument: str) -> tuple[str, int]:
        error = _error(f'source p = python("b.py:f", x = {argument})\ncopy P from p {{ take = "y" }}\n')
        assert error.span is not None
        return error.message, error.span.column

    at = len('source p = python("b.py:f", x = ') + 1  # the column where the argument starts
    # In source order: the map's repeated key comes before a name inside it, which comes before
    # a reference written after it.
    assert first('[["a"], {k: 1, k: [w]}, A["y:0"]]') == ("duplicate key 'k'", at + 15)
    assert first('[["a", [w]], {k: A["y:0"]}]') == ("builder argument 'x' must be a literal", at + 8)
    assert first('[1, {k: [true, A["y:0"]]}, w]') == ("builder argument 'x' must be a literal", at + 15)
    depth = 100
    assert first("[" * (depth - 1) + "w" + "]" * (depth - 1)) == (
        "builder argument 'x' must be a literal", at + depth - 1)


def test_the_first_error_in_source_order_is_raised() -> None:
    error = _error('copy Enc from encodr { take = "out" }\ncopy X from nowhere { take = "y" }\n')
    assert error.message == "unknown source 'encodr'"
    assert error.span is not None and error.span.line == 4


def test_a_misspelled_entry_is_reported_before_the_missing_one() -> None:
    error = _error('copy Enc from enc { tak = "out" }\n')
    assert error.message == "unknown entry 'tak' in a copy"
    assert error.hint == "did you mean 'take'?"


def test_binds_and_aliases_must_name_earlier_copies() -> None:
    assert "defined below" in _error('copy A from enc { take = "a" bind "x:0" = B["y:0"] }\n'
                                     'copy B from head { take = "y" }\n').message
    assert "defined below" in _error('copy A from enc { take = "a" }\nlet y = z\nlet z = A["a:0"]\n').message


def test_errors_carry_the_source_to_draw_the_line() -> None:
    error = _error('copy Enc from encodr { take = "out" }\n')
    assert error.render() == (
        "t.gcomp:4:15: error: unknown source 'encodr'\n"
        '    4 | copy Enc from encodr { take = "out" }\n'
        "      |               ^^^^^^\n"
        "  help: did you mean 'enc'?"
    )


def test_alias_names_true_and_false_are_refused() -> None:
    assert "cannot name an alias" in _error('copy A from enc { take = "a" }\nlet true = A["a:0"]\n').message


def test_export_paths_are_compared_normalized() -> None:
    error = _error('copy A from enc { take = "a" }\nexport metagraph "out/g"\nexport metagraph "out//./g"\n')
    assert error.message == "duplicate export path 'out//./g'"


def test_load_spec_takes_a_path_and_load_spec_text_takes_text(tmp_path, monkeypatch) -> None:
    text = 'graphdsl 1 source enc = graphdef("enc.pb") copy Enc from enc { take = "out" }'
    assert load_spec_text(text).path == "<string>"
    assert load_spec_text(text, name="mine").copies[0].namespace.name == "Enc"
    file = tmp_path / "s.gcomp"
    file.write_text(text)
    assert load_spec(file).path == str(file)
    monkeypatch.chdir(tmp_path)
    assert load_spec("s.gcomp").path == "s.gcomp"  # a one-line str is a path, not a one-line spec
    with pytest.raises(FileNotFoundError):
        load_spec(text)  # text given as a path is a missing file, never parsed as a spec
    with pytest.raises(TypeError, match="load_spec_text"):
        load_spec(text + "\n")


def test_of_a_scope_error_and_a_schema_error_the_first_in_source_order_is_raised() -> None:
    # The bind's input (schema) comes before its value (scope) ...
    error = _error('copy A from enc { take = "a" bind "x" = Nowhere["y:0"] }\n')
    assert error.message == "bind input 'x' is not a tensor name"
    # ... and a reference of one entry (scope) before a misspelled later entry (schema).
    error = _error('copy A from enc { take = "a" bind "x:0" = Nowhere["y:0"] tak = "b" }\n')
    assert error.message == "unknown namespace 'Nowhere'"
    # What a body misses is reported after everything in it.
    error = _error('copy A from enc { bind "x:0" = Nowhere["y:0"] }\n')
    assert error.message == "unknown namespace 'Nowhere'"


def test_the_checker_reads_kinds_options_and_suffixes_from_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphdsl.lang import schema

    onnx = schema.SourceKind("onnx", (schema.Entry("opset", schema.ValueType.STRING, 'opset = "13"'),),
                             suffixes=(".onnx",))
    monkeypatch.setitem(schema.SOURCE_KINDS, "onnx", onnx)
    check(parse('graphdsl 1\nsource m = onnx("m.onnx", opset = "13")\ncopy M from m { take = "y" }\n'))
    error = _error('source m = onnx("m.pb", opset = 13)\n')
    assert (error.message, error.hint) == (
        "a onnx source path must end in .onnx", "'m.pb' does not; name the file of the onnx")
    error = _error('source m = onnx("m.onnx", opset = 13)\n')
    assert (error.message, error.hint) == ("option 'opset' must be a string, not the number 13", 'e.g. opset = "13"')


def test_an_alias_chain_resolves_to_its_reference() -> None:
    chain = "".join(f"let a{i} = a{i - 1}\n" for i in range(1, 500))
    spec = check(parse(HEAD + 'copy A from enc { take = "a" }\nlet a0 = A["a:0"]\n' + chain))
    assert spec.resolve(spec.lets[-1].value).element.value == "a:0"


# The statements of good specs, shuffled, dropped, repeated and renamed: every outcome of the check
# (ok, or the error and where) is the same whether the statements were checked as the parser made
# them or all at the end.
_GOOD = [parse(Path(p).read_text(), p) for p in ("tests/data/ok/full.gcomp", "specs/linear.gcomp",
                                                 "specs/transfer.gcomp", "specs/assembly.gcomp")]
_PIECES = [[spec.file.text[s.span.start:s.span.end] for s in spec.statements] for spec in _GOOD]
_NAMES = sorted({n for spec in _GOOD for n in [*(s.name.name for s in spec.sources),
                                               *(c.namespace.name for c in spec.copies), *(a.name.name for a in spec.lets)]})


def _outcome(text: str, as_made: bool) -> str:
    statements = StatementChecks() if as_made else None
    try:
        spec = parse_source(SourceFile("t.gcomp", text), statements)
    except SpecSyntaxError as error:
        return "syntax: " + error.render()
    try:
        check(spec, statements)
    except SpecError as error:
        return error.render()
    return "ok"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_statements_checked_as_they_are_made_give_the_check_of_the_whole_spec(data: st.DataObject) -> None:
    pieces = list(data.draw(st.sampled_from(_PIECES)))
    for _ in range(data.draw(st.integers(0, 3))):
        where = data.draw(st.integers(0, len(pieces) - 1))
        what = data.draw(st.sampled_from(["swap", "drop", "repeat", "rename"]))
        if what == "swap":
            other = data.draw(st.integers(0, len(pieces) - 1))
            pieces[where], pieces[other] = pieces[other], pieces[where]
        elif what == "drop" and len(pieces) > 1:
            del pieces[where]
        elif what == "repeat":
            pieces.insert(where, pieces[where])
        elif what == "rename":
            old, new = data.draw(st.sampled_from(_NAMES)), data.draw(st.sampled_from(_NAMES))
            pieces[where] = re.sub(rf"\b{old}\b", new, pieces[where])
    text = "\n".join(pieces) + "\n"
    assert _outcome(text, as_made=True) == _outcome(text, as_made=False)


def test_statements_checked_as_they_are_made_leave_only_the_checks_of_the_whole_spec() -> None:
    # A good spec's statements all pass as they are made; a mistake in one leaves it all to check().
    good = Path("tests/data/ok/full.gcomp").read_text()
    statements = StatementChecks()
    spec = parse_source(SourceFile("full.gcomp", good), statements)
    assert statements.passed(spec) and check(spec, statements) is spec
    bad = good.replace('copy Lin from lin { take = "z" }', 'copy Lin from lin { take = 3 }')
    statements = StatementChecks()
    spec = parse_source(SourceFile("bad.gcomp", bad), statements)
    assert not statements.passed(spec)
    # An alias named as a namespace copied below it passes as a statement, not in the whole spec.
    clash = good + 'let Late = logits\ncopy Late from lin { take = "y" }\n'
    statements = StatementChecks()
    spec = parse_source(SourceFile("clash.gcomp", clash), statements)
    assert statements.clean and not statements.passed(spec)
    with pytest.raises(SpecError, match="alias 'Late' has the name of a namespace"):
        check(spec, statements)
