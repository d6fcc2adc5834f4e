"""YAML from anyone (parameters, feeds, settings, manifests, locks): every mistake in it is an error
that names the value, never a Python traceback nor a value that cannot be walked (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from graphdsl import yaml_input
from graphdsl.errors import GraphDslError, ParamError
from graphdsl.lang.params import ParamValues

# Nine lines that name a list of 10**9 items: each alias repeats the list before it ten times.
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
DEEP = "[" * 3000 + "]" * 3000

# A YAML text, and what its error says.
HOSTILE = [
    ("&a [*a]", "the alias *a is inside the value it names: a value cannot hold itself"),
    ("{k: &m {n: *m}}", "the alias *m is inside the value it names"),
    ("!!float y", "!!float value 'y' cannot be read (could not convert string to float: 'y')"),
    ("!!timestamp 2001", "!!timestamp value '2001' cannot be read"),
    ("!!bool maybe", "!!bool value 'maybe' cannot be read"),
    ("9" * 5000, f"value '{'9' * 37}...' cannot be read (an integer has at most"),
    (DEEP, "values nested more than 100 deep"),
    ("[" * 102 + "]" * 102, "values nested more than 100 deep"),
    (LAUGHS, "the value holds more than 1,000,000 items once its aliases are expanded"),
    # PyYAML kept the last of two equal keys without a word.
    ("{a: 1, b: 2, a: 3}", "the key 'a' is given twice in this map (first at line 1)"),
    ("m:\n  k: 1\n  1: 2\n  '1': 3\n  k: 4\n", "the key 'k' is given twice in this map (first at line 2)"),
    ("[{x: 1}, {y: 1, y: 1}]", "the key 'y' is given twice in this map"),
    # YAML also ends a line at U+2028; the file, and the line the message names, do not
    ("a: \"x\u2028y\"\nm:\n  k: 1\n  k: 2\n", "the key 'k' is given twice in this map (first at line 3)"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_yaml_that_cannot_be_read_whole_is_a_yaml_error(text: str, message: str) -> None:
    with pytest.raises(yaml.YAMLError, match=None) as info:
        yaml_input.load(text)
    assert message in str(info.value)


def test_aliases_and_nesting_within_bounds_read_as_yaml_reads_them() -> None:
    text = "a: &x [1, {b: 2}]\nb: [*x, *x]\nc: " + "[" * 100 + "]" * 100 + "\n"
    assert yaml_input.load(text) == yaml.safe_load(text)
    assert yaml_input.compose(text).value[0][0].value == "a"
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        yaml_input.load("!!python/object:os.system ls")  # still PyYAML's safe loader


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_a_parameter_value_that_cannot_be_read_is_a_param_error(text: str, message: str) -> None:
    with pytest.raises(ParamError) as info:
        ParamValues.from_command_line([f"width={text}"])
    assert info.value.message.startswith("the value of parameter 'width' is not YAML: ")
    assert message in info.value.message and len(info.value.message) < 500  # the argument is cut short


def test_a_params_file_value_that_cannot_be_read_is_a_param_error_at_its_place() -> None:
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("width: 8\nrate: !!float fast\n", "member.yaml")
    span = info.value.span
    assert "!!float value 'fast' cannot be read" in info.value.message
    assert span is not None and (span.line, span.column) == (2, 7)
    with pytest.raises(ParamError, match="a value cannot hold itself") as info:
        ParamValues.from_yaml_text("width: 8\nstages: &s [*s]\n", "member.yaml")
    assert info.value.span is not None and info.value.span.line == 2


def test_python_values_too_deep_or_too_long_to_show_are_param_errors() -> None:
    itself: list[object] = []
    itself.append(itself)
    with pytest.raises(ParamError, match="parameter 'stages' has values nested more than 100 deep"):
        ParamValues.from_mapping({"stages": itself})
    with pytest.raises(ParamError, match="must be an integer that fits in 64 bits, not an integer of about 6,001 "
                                         "digits"):
        ParamValues.from_mapping({"width": 10**6000})


def test_files_graphdsl_reads_back_refuse_yaml_they_cannot_walk(tmp_path: Path) -> None:
    from graphdsl.assemble.lock import read_lock
    from graphdsl.assemble.manifest import read_manifest
    from graphdsl.values import feed_value

    lock = tmp_path / "spec.lock"
    lock.write_text("sources: &s {a: *s}\nexports: {}\n")
    with pytest.raises(GraphDslError, match="a value cannot hold itself"):
        read_lock(lock)
    (tmp_path / "graphdsl-build.yaml").write_text("exports: !!float x\n")
    with pytest.raises(GraphDslError, match="!!float value 'x' cannot be read"):
        read_manifest(tmp_path)
    with pytest.raises(GraphDslError, match=r"(?s)--feed x=a: &a \[x, x, .*\.\.\.: not a value \(the value holds more "
                                            r"than 1,000,000 items"):
        feed_value("x", LAUGHS, None)


def test_a_key_given_twice_in_a_parameter_s_map_is_an_error_at_the_second() -> None:
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("sizes:\n  small: 4\n  small: 8\n", "member.yaml")
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (3, 3)
    assert info.value.message == ("the params file is not valid YAML: the key 'small' is given twice in this map "
                                  "(first at line 2)")
    assert yaml_input.load("{a: 1, b: 2}") == {"a": 1, "b": 2}


def test_a_params_file_s_places_count_lines_as_the_file_does() -> None:
    # YAML also ends a line at U+2028, U+2029 and U+0085 (here inside a string), where the file
    # (and the editor showing it) does not: the value below was told a line too far down.
    values = ParamValues.from_yaml_text('name: "a\u2028b"\nwidth: 8\n', "member.yaml")
    assert values.items["width"].origin.text == "member.yaml:2:8"
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("name: \"a\u0085b\"\nwidth: [1\n", "member.yaml")
    assert info.value.span is not None and info.value.span.line == 3


def test_a_character_yaml_refuses_is_an_error_at_its_place() -> None:
    # It was PyYAML's text: no file, line or column, and "<unicode string>, position 5".
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("width: 8\nname: a\x00\n", "member.yaml")
    assert info.value.message == "the params file is not valid YAML: it holds the character U+0000, which YAML does not allow"
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (2, 8)
    assert info.value.hint == 'remove it, or write it as an escape in a quoted string: "\\u0000"'
    with pytest.raises(ParamError) as info:
        ParamValues.from_command_line(["name=a\x07"])
    assert info.value.message == ("the value of parameter 'name' is not YAML: it holds the character U+0007, which "
                                  "YAML does not allow (from the command-line argument --param name=a\x07)")
