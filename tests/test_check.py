"""Stage 2: static checks (graphdsl.check). Each kind of error also has a golden in tests/data/bad."""

from __future__ import annotations

import pytest

from graphdsl.lang.check import check
from graphdsl.errors import SpecError
from graphdsl.lang.parser import parse
from graphdsl.lang.load import load_spec

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


def test_the_first_error_in_source_order_is_raised() -> None:
    error = _error('copy Enc from encodr { take = "out" }\ncopy X from nowhere { take = "y" }\n')
    assert error.message == "unknown source 'encodr'"
    assert error.span.line == 4


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


def test_load_spec_takes_text_or_a_path(tmp_path) -> None:
    text = HEAD + 'copy Enc from enc { take = "out" }\n'
    assert load_spec(text).copies[0].namespace.name == "Enc"
    file = tmp_path / "s.gcomp"
    file.write_text(text)
    assert load_spec(file).path == str(file)
    assert load_spec(str(file)).path == str(file)
