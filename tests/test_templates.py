"""Templates expanded into plain specs: parameters, blocks, names, loops, includes, bounds (no TensorFlow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from graphdsl.errors import ParamError, SpecError
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
