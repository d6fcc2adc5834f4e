"""Parameter values: where they come from, how they are typed and constrained (no TensorFlow)."""

from __future__ import annotations

import pytest

from graphdsl.errors import ParamError
from graphdsl.lang.load import load_spec_text
from graphdsl.lang.expand import load
from graphdsl.lang.params import ParamValues

TEMPLATE = """graphdsl 1
param width: int = 4
param rate: float = 0.5
param stages: list[map[int]] = [{units: 8}]
param depth: int = width * 2              # a default may use the parameters above it
param ratio: float = 1 {
    check ratio * width <= depth, "ratio * width is {ratio * width}, more than depth = {depth}"
}
source m = python("b.py:build", stages = stages, rate = rate, depth = depth)
copy M from m { take = "out" }
"""


def test_defaults_may_use_earlier_parameters_and_checks_see_them_all() -> None:
    assert load(TEMPLATE, params={"width": 3}).params == {
        "width": 3, "rate": 0.5, "stages": ({"units": 8},), "depth": 6, "ratio": 1.0}
    with pytest.raises(ParamError) as info:
        load_spec_text(TEMPLATE, params={"ratio": 3})
    assert info.value.message == ("parameter 'ratio' = 3.0: ratio * width is 12.0, more than depth = 8 "
                                  "(from params= of the Python API (ratio=3))")


def test_values_from_python_are_typed_like_values_from_yaml() -> None:
    expansion = load(TEMPLATE, params={"rate": 1, "stages": [{"units": 2}, {"units": 3}]})
    assert expansion.params["rate"] == 1.0 and isinstance(expansion.params["rate"], float)
    assert expansion.params["stages"] == ({"units": 2}, {"units": 3})
    with pytest.raises(ParamError) as info:
        load_spec_text(TEMPLATE, params={"stages": [{"units": 2}, {"units": "3"}]})
    assert info.value.message == ("parameter 'stages' must be a list of maps of ints: item 1, key \"units\" is "
                                  "the string \"3\" (from params= of the Python API (stages=[{units: 2}, "
                                  "{units: \"3\"}]))")
    with pytest.raises(ParamError, match="parameter 'width' must be an integer that fits in 64 bits"):
        load_spec_text(TEMPLATE, params={"width": 2**70})
    with pytest.raises(ParamError, match=r"parameter 'rate' cannot be a set \(\{1\}\)"):
        load_spec_text(TEMPLATE, params={"rate": {1}})


def test_yaml_values_keep_their_line_and_column() -> None:
    values = ParamValues.from_yaml_text("# a family member\nwidth: 8\nstages:\n  - units: 4\n", "member.yaml")
    assert {name: (given.value, given.origin.text) for name, given in values.items.items()} == {
        "width": (8, "member.yaml:2:8"), "stages": (({"units": 4},), "member.yaml:4:3")}
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("width: 8\nwidth: 9\n", "member.yaml")
    assert info.value.span is not None
    assert (info.value.message, info.value.span.line, info.value.hint) == (
        "parameter 'width' is given twice in this file", 2, "the first is at line 1")


def test_command_line_values_are_yaml_literals() -> None:
    values = ParamValues.from_command_line(["width=8", "rate=1e-3", "stages=[{units: 2}]", "name=value", "empty="])
    assert {name: given.value for name, given in values.items.items()} == {
        "width": 8, "rate": 0.001, "stages": ({"units": 2},), "name": "value", "empty": ""}


def test_source_option_keys_are_read_where_a_batch_reads_them_and_refused_elsewhere() -> None:
    text = "layers: 2\nlinear.seed: 7   # a source's option\n"
    values = ParamValues.from_yaml_text(text, "member.yaml", options=True)
    assert values.values() == {"layers": 2, "linear.seed": 7}
    template, options = values.split()
    assert list(template.items) == ["layers"] and list(options.items) == ["linear.seed"]
    origin = options.items["linear.seed"].origin
    assert origin.key_span is not None
    assert (origin.text, origin.key_span.line, origin.key_span.column) == ("member.yaml:2:14", 2, 1)
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text(text, "member.yaml")
    assert info.value.message == "'linear.seed' is not a parameter name"
    assert info.value.hint is not None
    assert "SOURCE.OPTION keys set a source's option in the params files of graphdsl batch only" in info.value.hint
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text("a.b.c: 1\n", "member.yaml", options=True)
    assert info.value.message == "'a.b.c' is not a parameter name"
    assert info.value.hint is not None and info.value.hint.endswith("or SOURCE.OPTION for a source's option")
    assert ParamValues.from_yaml_text("sizes: [1, [2]]\n", "m.yaml").values() == {"sizes": [1, [2]]}


def test_a_params_file_that_is_not_utf8_is_reported_at_its_byte(tmp_path) -> None:
    (tmp_path / "p.yaml").write_bytes("layers: 2\nname: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_file(tmp_path / "p.yaml")
    assert info.value.message == "the params file is not UTF-8 text: byte 0xe9 cannot be decoded"
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (2, 10)


def test_a_string_with_a_carriage_return_is_refused_wherever_it_comes_from() -> None:
    # A spec's line ends at a carriage return, in a string too: `graphdsl expand` printed it raw,
    # and the plain spec it made did not parse.
    template = 'graphdsl 1\nparam s: string = "x"\nparam m: map = {}\nsource m = graphdef("m.pb")\ncopy M from m { take = s }\n'
    with pytest.raises(ParamError) as info:
        load_spec_text(template, params={"s": "a\rb"})
    assert info.value.message.startswith("parameter 's' holds a carriage return ('a\\rb') (from params= of the Python API")
    with pytest.raises(ParamError) as info:
        ParamValues.from_yaml_text('m: {"k\\r": 1}\n', "member.yaml")
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (1, 4)
    assert info.value.message == "parameter 'm' holds a carriage return ('k\\r')"
    with pytest.raises(ParamError, match="parameter 's' holds a carriage return"):
        ParamValues.from_command_line(['s="a\\r"'])
    assert load(template, params={"s": "a\u2028b\nc"}).spec.copies[0].take  # other line breaks are fine
