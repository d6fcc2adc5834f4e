"""Templates expanded into plain specs: parameters, blocks, names, loops, includes, bounds (no TensorFlow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from graphdsl.errors import GraphDslError, ParamError, SpecError, SpecSyntaxError
from graphdsl.lang.expand import load
from graphdsl.lang.load import load_spec, load_spec_text
from graphdsl.lang.params import ParamValues
from graphdsl.lang.syntax import Ref, String, Value, VariableOverride, Word
from graphdsl.lang.unparse import unparse_value

REPO = Path(__file__).resolve().parents[1]

CHAIN = """graphdsl 1
param layers: int = 2 { min = 1 }
source m = savedmodel("models/m")
copy In from m { take = "x" }
block layer(input: ref) {
    copy Dense from m { take = "out" bind "x:0" = input }
    output out = Dense["out:0"]
}
for i in range(layers) {
    use "L{i}" = layer(input = i == 0 ? In["x:0"] : name("L{i - 1}").out)
}
let top = name("L{layers - 1}").out
"""


def test_a_template_expands_for_the_values_given_and_the_defaults() -> None:
    expansion = load(CHAIN, "chain.gcomp", params={"layers": 3})
    spec = expansion.spec
    assert expansion.template and expansion.params == {"layers": 3}
    assert [c.namespace.name for c in spec.copies] == ["In", "L0/Dense", "L1/Dense", "L2/Dense"]
    assert [(let.name.name, unparse_value(let.value)) for let in spec.lets] == [
        ("L0/out", 'L0/Dense["out:0"]'), ("L1/out", 'L1/Dense["out:0"]'), ("L2/out", 'L2/Dense["out:0"]'),
        ("top", "L2/out")]
    assert [unparse_value(c.binds[0].value) for c in spec.copies[1:]] == ['In["x:0"]', "L0/out", "L1/out"]
    assert len(load_spec_text(CHAIN, "chain.gcomp").copies) == 3  # the default: 2 layers


def test_a_plain_spec_takes_no_parameter() -> None:
    plain = 'graphdsl 1\nsource m = savedmodel("m")\ncopy M from m { take = "out" }\n'
    assert not load(plain).template
    with pytest.raises(ParamError) as info:
        load_spec_text(plain, params={"layers": 3})
    assert info.value.message == "unknown parameter 'layers' (from params= of the Python API (layers=3))"
    assert info.value.hint == "the spec declares no parameter"


def test_a_for_or_if_inside_a_body_alone_makes_the_file_a_template() -> None:
    """No template statement at the top level: the loop among a copy's entries and the condition
    among an export's are enough to read the file as a template."""
    text = ('graphdsl 1\nsource m = savedmodel("m")\n'
            'copy M from m {\n    take = "out"\n    for i in range(2) {\n        variable "v{i}" = value\n    }\n}\n'
            'export savedmodel "model" {\n    if true {\n'
            '        signature serving_default { inputs = { x: M["x:0"] } outputs = { y: M["out:0"] } }\n'
            '    }\n}\n')
    expansion = load(text)
    assert expansion.template
    overrides = [e for e in expansion.spec.copies[0].entries if isinstance(e, VariableOverride)]
    assert [(o.pattern.value, o.mode) for o in overrides] == [("v0", "value"), ("v1", "value")]
    assert [s.name.value for s in expansion.spec.exports[0].signatures] == ["serving_default"]


def test_in_a_block_a_word_means_the_blocks_own_name_else_the_one_outside() -> None:
    spec = load_spec_text("""graphdsl 1
source m = savedmodel("m")
copy Out from m { take = "x" }
let shared = Out["x:0"]
block b() {
    copy Out from m { take = "y" bind "x:0" = shared }   # shared: outside; Out: the block's own
    let shared2 = Out["y:0"]
}
use u = b()
""")
    copy = spec.copies[1]
    bound, shared2 = copy.binds[0].value, spec.lets[1].value
    assert isinstance(bound, Word) and isinstance(shared2, Ref)
    assert (copy.namespace.name, bound.name) == ("u/Out", "shared")
    assert shared2.namespace.name == "u/Out"


def test_a_block_uses_prefix_clashes_with_a_name_outside() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text("""graphdsl 1
source m = savedmodel("m")
copy net from m { take = "x" }
block b() { copy In from m { take = "y" } }
use net = b()
""")
    assert info.value.message.startswith("'net' names a block use here and a namespace at <string>:3:6")
    with pytest.raises(SpecError, match="duplicate block use 'u'"):
        load_spec_text('graphdsl 1\nsource m = savedmodel("m")\nblock b() { copy In from m { take = "y" } }\n'
                  "use u = b()\nuse u = b()\n")


def test_sets_belong_to_their_body() -> None:
    spec = load_spec_text("""graphdsl 1
set unit = 4
source m = savedmodel("m")
for i in range(2) {
    set unit = unit * (i + 1)       # this body's own unit, set once per iteration
    copy "L{unit}" from m { take = "x" }
}
copy "After{unit}" from m { take = "x" }
""")
    assert [c.namespace.name for c in spec.copies] == ["L4", "L8", "After4"]


def test_expansion_stops_at_the_statement_limit_and_says_how_to_raise_it() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text(CHAIN, params={"layers": 50}, max_statements=20)
    assert info.value.message == "the template makes more than 20 statements"
    assert info.value.hint is not None
    assert info.value.hint.endswith("raise the limit with --max-statements N (max_statements=N in the Python API)")
    assert len(load_spec_text(CHAIN, params={"layers": 50}, max_statements=500).copies) == 51


def test_notes_say_which_block_uses_and_loop_values_made_a_statement() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text("""graphdsl 1
for a in range(2) {
    use "o{a}" = outer()
}
block outer() {
    for j in range(3) {
        use "i{j}" = inner(j = j)
    }
}
block inner(j: int) {
    for k in range(2) {
        set z = 1 / (j - 1)
    }
}
""", "nested.gcomp")
    assert info.value.render().splitlines()[3:] == [
        "  in the loop at nested.gcomp:11:5, k = 0",
        "  in block `inner` used at nested.gcomp:7:9, j = 1",
        "  in block `outer` used at nested.gcomp:3:5, a = 0",
        "  help: the right side of '/' is 0 here",
    ]


def _text(value: Value) -> str:
    assert isinstance(value, String), value
    return value.value


def test_an_included_files_source_paths_are_moved_to_the_including_spec(tmp_path: Path) -> None:
    (tmp_path / "lib" / "deep").mkdir(parents=True)
    (tmp_path / "lib" / "deep" / "parts.gcomp").write_text("""graphdsl 1
source meta = metagraph("../../models/a.meta", checkpoint = "../../models/a.ckpt")
source py   = python("builders/b.py:build")
source abs  = graphdef("/models/c.pb")
""")
    (tmp_path / "main.gcomp").write_text('graphdsl 1\ninclude "lib/deep/parts.gcomp"\n'
                                         'copy M from meta { take = "out" }\n')
    spec = load_spec(tmp_path / "main.gcomp")
    assert [(s.path.value, [_text(o.value) for o in s.options]) for s in spec.sources] == [
        ("models/a.meta", ["models/a.ckpt"]), ("lib/deep/builders/b.py:build", []), ("/models/c.pb", [])]


def test_param_values_from_files_then_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("layers: 2\n")
    (tmp_path / "b.yaml").write_text("# later files win\nlayers: 4\n")
    values = ParamValues.from_yaml_file(tmp_path / "a.yaml").merged(ParamValues.from_yaml_file(tmp_path / "b.yaml"))
    expansion = load(CHAIN, params=values)
    assert expansion.params == {"layers": 4}
    assert expansion.origins["layers"].text == f"{tmp_path / 'b.yaml'}:2:9"
    values = values.merged(ParamValues.from_command_line(["layers=5"]))
    assert load(CHAIN, params=values).origins["layers"].text == "the command-line argument --param layers=5"


def test_check_prints_a_templates_values(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", "specs/towers.gcomp", "--param", "layers=5"]) == EXIT_OK
    assert capsys.readouterr().out == (
        "specs/towers.gcomp: ok (2 sources, 6 copies into 6 namespaces, 7 aliases, 1 export; "
        'from a template with layers = 5, mode = "value")\n')


def test_expand_writes_a_plain_spec_that_builds_from_beside_the_template(tmp_path: Path, capsys,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A scratch specs/ that sees every entry of the repository's: nothing is written into specs/.
    (tmp_path / "specs").mkdir()
    for entry in (REPO / "specs").iterdir():
        (tmp_path / "specs" / entry.name).symlink_to(entry)
    monkeypatch.chdir(tmp_path)
    out = Path("specs") / "expanded.gcomp"  # beside the template, as a user keeps it
    assert main(["expand", "specs/ensemble.gcomp", "--param", "members=2", "-o", str(out)]) == EXIT_OK
    assert capsys.readouterr().out == f"wrote {out}\n"
    text = out.read_text()
    assert text.startswith("# Made by graphdsl expand from specs/ensemble.gcomp with members = 2.\n")
    spec = load_spec(out)
    assert [s.path.value for s in spec.sources] == ["models/mlp_a.meta", "models/encoder",
                                                    "builders/mean.py:build"]
    assert load_spec(out) and main(["check", str(out)]) == EXIT_OK


@pytest.mark.parametrize("out", ["specs/towers.gcomp", "specs/lib/../lib/blocks.gcomp"])
def test_expand_refuses_to_write_over_the_template_or_a_file_it_includes(tmp_path: Path, capsys, out: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in Path("specs").rglob("*.gcomp")}
    assert main(["expand", "specs/towers.gcomp", "-o", out]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"graphdsl expand: error: -o {out} is " in err and "the expansion would replace it" in err
    assert {p: p.read_bytes() for p in Path("specs").rglob("*.gcomp")} == before


@pytest.mark.parametrize("out, reason, hint", [
    ("nowhere/x.gcomp", "No such file or directory", "its directory does not exist"),
    ("specs/linear.gcomp/x.gcomp", "Not a directory", "a part of it before the last is a file"),
    ("specs", "Is a directory", "name a file, not a directory"),
    ("/dev/full", "No space left on device", "free some space"),
])
def test_expand_says_which_file_it_cannot_write_and_why(tmp_path: Path, capsys, out: str, reason: str, hint: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if out == "/dev/full" and not Path(out).exists():
        pytest.skip("no /dev/full here")
    (tmp_path / "specs").mkdir()
    shutil.copy(REPO / "specs" / "linear.gcomp", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    assert main(["expand", "specs/linear.gcomp", "-o", out]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write {out}: {reason}\n") and hint in err


def test_check_and_expand_of_a_template_import_no_tensorflow() -> None:
    code = (
        "import sys\n"
        "from graphdsl.cli import main\n"
        "assert main(['check', 'specs/towers.gcomp', '--param', 'layers=4']) == 0\n"
        "assert main(['expand', 'specs/ensemble.gcomp']) == 0\n"
        "assert 'tensorflow' not in sys.modules, 'the front end imported tensorflow'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_template_grammar_has_no_lalr_conflict(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from lark import Lark, logger

    from graphdsl.lang import grammar

    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(grammar.text(), parser="lalr", debug=True, start=list(grammar.STARTS["template"]))
    finally:
        logger.setLevel(logging.WARNING)
    assert "conflict" not in caplog.text.lower()


def test_template_words_come_from_the_template_rules_and_plain_ones_stay_plain() -> None:
    from graphdsl.lang import grammar

    template, plain = grammar.words("template"), grammar.words()
    assert set(template.keywords) - set(plain.keywords) == {
        "param", "check", "set", "block", "use", "output", "include", "for", "in", "if", "else", "and", "or", "not"}
    assert {template.quoted[t] for t in template.statement_start} == {
        "'graphdsl'", "'source'", "'copy'", "'let'", "'export'", "'param'", "'set'", "'block'", "'use'",
        "'output'", "'include'", "'for'", "'if'"}
    assert template.entry_keywords == ("variable", "bind", "signature", "for", "if")
    assert set(template.quoted) >= {t.name for t in grammar.load("template").terminals} - {"COMMENT", "__IGNORE_1"}


def test_a_template_with_a_syntax_error_is_told_in_template_words() -> None:
    from graphdsl.errors import SpecSyntaxError

    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("graphdsl 1\nparam n: int = 2\nfor i in range(n) { copy A from s { take = [i +] } }\n")
    assert info.value.message == "unexpected ']'; expected a value"
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("graphdsl 1\nparam n: int = 2\nparm m: int = 3\n")
    assert info.value.hint == "did you mean 'param'?"


def test_an_alias_a_loop_makes_with_the_name_of_a_namespace_copied_below_it_is_an_error() -> None:
    # Each statement passes the checks as it is made: only the whole spec tells.
    text = ('graphdsl 1\nsource enc = graphdef("enc.pb")\ncopy Enc from enc { take = "out" }\n'
            'for i in range(2) {\n    let "H{i}" = Enc["out:0"]\n}\ncopy H1 from enc { take = "logits" }\n')
    with pytest.raises(SpecError, match="alias 'H1' has the name of a namespace") as info:
        load(text, "loop.gcomp")
    assert info.value.span is not None and info.value.span.line == 5


def _spec_error(text: str, path: str = "deep.gcomp") -> GraphDslError:
    with pytest.raises((SpecError, SpecSyntaxError)) as info:
        load_spec_text(text, path)
    return info.value


DEEP_SOURCE = 'graphdsl 1\nsource m = graphdef("m.pb")\n'


NESTED: dict[str, Callable[[int], str]] = {
    "if": lambda n: "if true {\n" * n + 'copy C from m { take = "o" }\n' + "}\n" * n,
    "for in a copy": lambda n: "copy C from m {\n" + "for i in [1] {\n" * n + 'take = "o"\n' + "}\n" * (n + 1),
    "else if": lambda n: "if false { }\n" + "else if false { }\n" * (n - 1) + 'else { copy C from m { take = "o" } }\n',
}


@pytest.mark.parametrize("kind, line, column", [("if", 53, 1), ("for in a copy", 54, 1), ("else if", 53, 6)])
def test_bodies_nested_too_deep_are_an_error_at_the_first_one_too_deep(kind: str, line: int, column: int) -> None:
    # Deeper, the stages that walk the statements ran out of Python's recursion limit.
    failure = _spec_error(DEEP_SOURCE + NESTED[kind](51))
    assert failure.message == "for and if bodies nested more than 50 deep (an else if counts as one more)"
    assert failure.span is not None and (failure.span.line, failure.span.column) == (line, column)
    assert len(load_spec_text(DEEP_SOURCE + NESTED[kind](50), "deep.gcomp").copies) == 1


def test_block_uses_nested_through_blocks_are_bounded_when_expanded() -> None:
    # Each block's own bodies are shallow; the uses chain them 80 deep.
    chain = "".join(f"block b{i}() {{ for j in [1] {{ use u = b{i + 1}() }} }}\n" for i in range(40))
    text = DEEP_SOURCE + chain + 'block b40() { copy C from m { take = "o" } }\nuse top = b0()\n'
    failure = _spec_error(text)
    assert failure.message == "block uses, for and if nested more than 50 deep"
    assert failure.span is not None and failure.span.line == 2 + 25  # the use in b24: the 51st level
    assert failure.render().splitlines()[3] == "  in the loop at deep.gcomp:27:15, j = 1"
    short = text.replace("use u = b25()", 'copy C from m { take = "o" }')
    assert load_spec_text(short, "deep.gcomp").copies[0].namespace.name == "/".join(["top", *["u"] * 24, "C"])


def test_a_chain_of_blocks_longer_than_the_recursion_limit_is_checked_without_recursion() -> None:
    chain = "".join(f"block b{i}() {{ use u = b{i + 1}() }}\n" for i in range(sys.getrecursionlimit() + 100))
    failure = _spec_error(DEEP_SOURCE + chain + f"block b{sys.getrecursionlimit() + 100}() {{ use u = b0() }}\n"
                          + "use top = b0()\n")
    assert failure.message.startswith("block 'b0' uses itself: b0 -> b1 -> b2 -> ")
    failure = _spec_error(DEEP_SOURCE + chain + f"block b{sys.getrecursionlimit() + 100}() {{ }}\n"
                          + "use top = b0()\n")
    assert failure.message == "block uses, for and if nested more than 50 deep"


def test_values_nest_at_most_as_deep_as_a_plain_spec_s() -> None:
    # A set per level nests a value as deep as one likes: comparing, printing or writing it into
    # the plain spec recursed past Python's limit; the plain spec would refuse it anyway.
    chain = "set a0 = 1\n" + "".join(f"set a{i} = [a{i - 1}]\n" for i in range(1, 101))
    ok = DEEP_SOURCE + chain + 'source p = python("b.py:f", k = a100)\ncopy C from p { take = "o" }\n'
    assert len(load_spec_text(ok, "deep.gcomp").copies) == 1  # 100 deep, as a plain spec's may be
    for deeper in ("set a101 = [a100]", "set a101 = {k: a100}", "set a101 = [for i in [1]: a100]",
                   "set a101 = {for k in [\"k\"]: k => a100}"):
        failure = _spec_error(DEEP_SOURCE + chain + deeper + "\n")
        assert failure.message == "lists and maps nested more than 100 deep", deeper
        assert failure.span is not None and (failure.span.line, failure.span.column) == (104, 12)


def test_a_list_or_map_written_deeper_than_a_plain_spec_s_is_a_syntax_error() -> None:
    # It could make no value (evaluation refuses one), and fmt lays each level out on its own lines.
    for deepest in ("[" * 101 + "]" * 101, "{a: " * 100 + "[]" + "}" * 100,
                    "[" * 50 + "{a: " * 51 + "1" + "}" * 51 + "]" * 50):
        failure = _spec_error(DEEP_SOURCE + "set k = " + deepest + "\n")
        assert isinstance(failure, SpecSyntaxError) and failure.message == "lists and maps nested more than 100 deep"
        opener = [i for i, char in enumerate(deepest) if char in "[{"][100]  # the 101st
        assert failure.span is not None and (failure.span.line, failure.span.column) == (3, 9 + opener)
    assert load_spec_text(DEEP_SOURCE + "set k = " + "[" * 100 + "]" * 100 + "\n" + 'copy C from m { take = "o" }\n')


def test_static_types_name_the_kind_a_function_takes() -> None:
    failure = _spec_error(DEEP_SOURCE + "set k = keys([1])\n")
    assert (failure.message, failure.span and failure.span.column) == ("keys() takes a map, not a list", 14)


@pytest.mark.parametrize("loop", [
    "for i in range(99000) { set x = i in big }",          # each turn looks through the whole list
    "for i in range(99000) { set x = big == big }",
    "for i in range(99000) { set x = len(big + [i]) }",
    'for i in range(1000) { source "s{i}" = python("b.py:f", k = big) }',  # written out each turn
])
def test_a_loop_that_goes_through_a_long_list_at_each_turn_stops_at_the_work_limit(loop: str) -> None:
    # Each operation is bounded, but repeated by a loop they ran for hours (or, written into the
    # plain spec, took gigabytes).
    text = DEEP_SOURCE + "set big = range(999999)\n" + loop + '\ncopy C from m { take = "o" }\n'
    failure = _spec_error(text)
    assert failure.message == "the template handles more than 10,000,000 items (of lists, maps and strings) in all"
    assert failure.span is not None and failure.span.line == 4
    assert failure.hint is not None and "raise the limit with --max-statements N" in failure.hint
    assert "in the loop at deep.gcomp:4:1, i = " in failure.render()
    small = text.replace("range(99000)", "range(3)").replace("range(1000)", "range(3)").replace("999999", "1000")
    assert len(load_spec_text(small, "deep.gcomp", max_statements=1000).copies) == 1  # 100,000 items


def test_a_check_s_message_is_type_checked_before_the_check_fails() -> None:
    # It is made only when the check fails: a check that holds hid a message of the wrong type.
    failure = _spec_error(DEEP_SOURCE + 'param n: int = 1 { check n > 0, n * 2 }\ncopy C from m { take = "o" }\n')
    assert (failure.message, failure.span and (failure.span.line, failure.span.column)) == (
        "a check's message is a string, not an int", (3, 33))
    assert load_spec_text(DEEP_SOURCE + 'param n: int = 1 { check n > 0, "n is {n}" }\ncopy C from m { take = "o" }\n')


def test_check_s_type_pass_says_a_variable_hides_the_namespace_of_its_name() -> None:
    # The type pass finds the mistake before any evaluation, and gave only the generic hint.
    failure = _spec_error(DEEP_SOURCE + 'copy C from m { take = "o" }\nset C = 1\nlet y = C["o:0"]\n')
    assert (failure.message, failure.hint) == ("cannot index an int",
                                               "'C' is a variable; for the namespace of that name write name(\"C\")[...]")


def test_a_first_definition_in_another_file_is_named_by_its_file(tmp_path: Path) -> None:
    # "at line 3" read as a line of the file the error is in: the including file's, here.
    (tmp_path / "lib.gcomp").write_text('graphdsl 1\nsource m = graphdef("m.pb")\ncopy C from m { take = "o" }\n'
                                        'let a = C["o:0"]\n')
    lib = (tmp_path / "lib.gcomp").as_posix()
    for text, message, hint in [
        ('include "lib.gcomp"\nlet C = a\n', "alias 'C' has the name of a namespace",
         f"the namespace is defined at {lib}:3; rename one of them"),
        ('include "lib.gcomp"\nlet a = C["o:0"]\n', "duplicate alias 'a'", f"the first 'a' is at {lib}:4"),
        ('set k = 1\nsource s = graphdef("s.pb")\ncopy D from s { take = "o" bind "x:0" = a }\ninclude "lib.gcomp"\n',
         f"alias 'a' is defined below, at {lib}:4", "statements run in order: move the let statement above this line"),
    ]:
        (tmp_path / "main.gcomp").write_text("graphdsl 1\n" + text)
        with pytest.raises(SpecError) as info:
            load_spec(tmp_path / "main.gcomp")
        assert (info.value.message, info.value.hint) == (message, hint)
