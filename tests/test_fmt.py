"""`graphdsl fmt`: the canonical layout, comments kept, meaning kept, stable; the command's files.

Layout decisions are golden pairs: tests/data/fmt/NAME.gcomp formats to NAME.fmt.gcomp
(``GRAPHDSL_UPDATE_GOLDEN=1`` rewrites them, for review). tests/test_fmt_property.py formats
generated specs.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_NO_INPUT, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, main
from graphdsl.errors import GraphDslError, SourceFile, Span, SpecSyntaxError
from graphdsl.lang import fmt, syntax, template_fmt
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.parser import parse
from graphdsl.lang.template_parser import parse_any, parse_template

from golden import compare  # tests/golden.py

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SPECS = sorted([*(REPO / "specs").glob("*.gcomp"), *(REPO / "specs").glob("*/*.gcomp")])  # library files too
TEMPLATES = sorted((DATA / "templates" / "ok").glob("**/*.gcomp"))
GOOD = [*sorted((DATA / "ok").glob("*.gcomp")), *TEMPLATES]
PAIRS = sorted(p for p in (DATA / "fmt").glob("*.gcomp") if not p.name.endswith(".fmt.gcomp"))


def _formatted_keeps_meaning(text: str, width: int = fmt.DEFAULT_WIDTH) -> str:
    """``text`` formatted, after checking (as the formatter itself does) that the result says the
    same and formats to itself; a template through the template printer."""
    tree = parse_any(SourceFile("<test>", text))
    if isinstance(tree, ts.Template):
        def again(source: str) -> ts.Template:
            return parse_template(SourceFile("<test>", source))

        once = template_fmt.format_template(tree, width)
        assert template_fmt.meaning(again(once)) == template_fmt.meaning(tree)
        assert template_fmt.format_template(again(once), width) == once
        return once
    once = fmt.format_spec(parse(text), width)
    assert fmt.meaning(parse(once)) == fmt.meaning(parse(text))
    assert fmt.format_spec(parse(once), width) == once
    return once


def test_the_specs_include_templates_and_library_files() -> None:
    names = {p.relative_to(REPO / "specs").as_posix() for p in SPECS}
    assert {"towers.gcomp", "ensemble.gcomp", "lib/blocks.gcomp", "linear.gcomp"} <= names


@pytest.mark.parametrize("path", [*SPECS, *GOOD], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_spec_and_good_golden_formats_stably_to_the_same_tree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for width in (fmt.DEFAULT_WIDTH, 40, 1):
        _formatted_keeps_meaning(text, width)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_the_repository_specs_are_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert fmt.format_text(text, str(path)) == text, f"run: graphdsl fmt {path.relative_to(REPO)}"


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_layout_golden(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    formatted = _formatted_keeps_meaning(text)
    compare(path.with_name(path.stem + ".fmt.gcomp"), formatted)


def test_every_layout_golden_has_its_input() -> None:
    outputs = {p.name.removesuffix(".fmt.gcomp") for p in (DATA / "fmt").glob("*.fmt.gcomp")}
    assert outputs == {p.stem for p in PAIRS}


# -- layout ------------------------------------------------------------------------------------


def test_a_messy_spec_gets_the_canonical_layout() -> None:
    messy = 'graphdsl 1 source s=graphdef("s.pb") copy S from s{take="y"  variables=value}'
    assert fmt.format_text(messy) == (
        "graphdsl 1\n"
        'source s = graphdef("s.pb")\n'
        "copy S from s {\n"
        '    take      = "y"\n'
        "    variables = value\n"
        "}\n"
    )


def test_a_list_wraps_at_the_width() -> None:
    text = 'let x = ["aaaa", "bbbb", "cccc"]\n'
    assert len(text) == 33  # with its line break
    assert fmt.format_text(text, width=32) == text
    assert fmt.format_text(text, width=31) == 'let x = [\n    "aaaa",\n    "bbbb",\n    "cccc",\n]\n'


def test_a_wrapped_map_keeps_a_comma_before_a_key_that_is_a_keyword() -> None:
    text = 'let m = { a: "x", copy: "y" }\n'
    assert fmt.format_text(text, width=20) == 'let m = {\n    a: "x",\n    copy: "y",\n}\n'


def test_blank_lines_between_statements_are_kept_one_at_most() -> None:
    text = "graphdsl 1\n\n\n\nlet a = b\nlet c = d\n\n# about e\n\n\nlet e = f\n"
    assert fmt.format_text(text) == "graphdsl 1\n\nlet a = b\nlet c = d\n\n# about e\n\nlet e = f\n"


def test_blank_lines_at_the_start_and_end_of_a_body_go() -> None:
    text = 'copy A from s {\n\n    take = "y"\n    variables = init\n\n}\n'
    assert fmt.format_text(text) == 'copy A from s {\n    take      = "y"\n    variables = init\n}\n'


def test_trailing_whitespace_and_line_breaks_are_canonical() -> None:
    assert fmt.format_text("graphdsl 1   # v   \r\nlet a = b\t\r\n\r\n\r\n") == "graphdsl 1  # v\nlet a = b\n"
    assert fmt.format_text("\n\n  \n") == ""


def test_a_tree_made_by_code_is_spelled_canonically() -> None:
    span = Span("<made>", 1, 1, 1, 1)  # no file: the literals have no spelling to keep
    made = syntax.Spec(
        parse("").file,
        (syntax.Let(syntax.Ident("x", span), syntax.ListValue((
            syntax.String('a "b"', span), syntax.Float(1e-05, span), syntax.Int(3, span)), span), span),),
        span,
    )
    assert fmt.format_spec(made) == 'let x = ["a \\"b\\"", 1e-05, 3]\n'


def test_a_spec_that_does_not_parse_is_a_syntax_error() -> None:
    with pytest.raises(SpecSyntaxError):
        fmt.format_text("copy A from {")


@pytest.mark.parametrize("bad, says", [("graphdsl 2\n", "would change what the spec says"),
                                       ("copy {\n", "would give a spec that does not parse")])
def test_the_formatter_refuses_to_return_what_changes_a_spec(monkeypatch: pytest.MonkeyPatch, bad: str,
                                                              says: str) -> None:
    monkeypatch.setattr(fmt, "format_spec", lambda spec, width=100: bad)
    with pytest.raises(GraphDslError, match=says) as info:
        fmt.format_text("graphdsl 1\n", "model.gcomp")
    assert type(info.value) is GraphDslError and "left as it is" in info.value.message


def test_a_statement_the_formatter_does_not_know_is_a_clear_error() -> None:
    @dataclass(frozen=True)
    class Unknown(syntax.Node):
        span: Span

    spec = parse("graphdsl 1\n")
    unknown = Unknown(spec.statements[0].span)
    with pytest.raises(GraphDslError, match=r"cannot lay out this statement yet \(Unknown\)") as info:
        fmt.format_spec(syntax.Spec(spec.file, (unknown,), spec.span))  # type: ignore[arg-type]
    assert info.value.span == unknown.span


# -- the command -------------------------------------------------------------------------------

UGLY = 'graphdsl 1\nsource s=graphdef("s.pb")\ncopy S from s {take="y"}\n'
PRETTY = 'graphdsl 1\nsource s = graphdef("s.pb")\ncopy S from s { take = "y" }\n'


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "model.gcomp"
    path.write_text(UGLY, encoding="utf-8")
    return path


def test_fmt_rewrites_a_spec_in_place(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", str(spec)]) == EXIT_OK
    assert spec.read_text(encoding="utf-8") == PRETTY
    assert capsys.readouterr().err == f"reformatted {spec}\n1 spec reformatted\n"


def test_fmt_writes_only_a_spec_that_changes(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec.write_text(PRETTY, encoding="utf-8")
    os.utime(spec, (1_000_000, 1_000_000))
    inode = spec.stat().st_ino
    assert main(["fmt", str(spec)]) == EXIT_OK
    assert spec.stat().st_mtime == 1_000_000 and spec.stat().st_ino == inode
    assert capsys.readouterr().err == "1 spec already formatted\n"


def test_fmt_keeps_permissions_and_writes_through_a_link(tmp_path: Path, spec: Path) -> None:
    spec.chmod(0o640)
    link = tmp_path / "link.gcomp"
    link.symlink_to(spec.name)
    assert main(["fmt", str(link)]) == EXIT_OK
    assert link.is_symlink() and spec.read_text(encoding="utf-8") == PRETTY
    assert stat.S_IMODE(spec.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_check_prints_a_diff_and_exits_1(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", str(spec)]) == EXIT_FAILURE
    out, err = capsys.readouterr()
    assert spec.read_text(encoding="utf-8") == UGLY
    assert out.startswith(f"--- {spec}\n+++ {spec}\n@@ ")
    assert '\n-copy S from s {take="y"}\n' in out and '\n+copy S from s { take = "y" }\n' in out
    assert err == f"would reformat {spec}\n1 spec would be reformatted\n"
    spec.write_text(PRETTY, encoding="utf-8")
    assert main(["fmt", "--check", str(spec)]) == EXIT_OK
    assert capsys.readouterr().out == ""


def test_check_flags_line_breaks_that_are_not_canonical(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec.write_bytes(PRETTY.replace("\n", "\r\n").encode())
    assert main(["fmt", "--check", str(spec)]) == EXIT_FAILURE
    assert "only its line breaks or byte order mark would change" in capsys.readouterr().err


def test_diff_prints_without_writing(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--diff", str(spec)]) == EXIT_OK
    assert "+copy S from s { take = \"y\" }\n" in capsys.readouterr().out
    assert spec.read_text(encoding="utf-8") == UGLY


def test_a_spec_that_does_not_parse_is_left_untouched(tmp_path: Path, spec: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.gcomp"
    bad.write_text("copy A from {\n", encoding="utf-8")
    assert main(["fmt", str(bad), str(spec)]) == EXIT_SPEC_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:1:13: error: ") and "Traceback" not in err
    assert bad.read_text(encoding="utf-8") == "copy A from {\n"
    assert spec.read_text(encoding="utf-8") == PRETTY  # the others are still formatted


def test_a_missing_spec_is_no_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", str(tmp_path / "nothere.gcomp")]) == EXIT_NO_INPUT
    assert "cannot read" in capsys.readouterr().err


def test_a_directory_formats_every_spec_under_it(tmp_path: Path, spec: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.gcomp").write_text(UGLY, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a spec {", encoding="utf-8")
    assert main(["fmt", str(tmp_path)]) == EXIT_OK
    assert (tmp_path / "sub" / "two.gcomp").read_text(encoding="utf-8") == PRETTY
    assert spec.read_text(encoding="utf-8") == PRETTY


def test_width_is_a_positive_number(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--width", "0", str(spec)]) == EXIT_USAGE
    spec.write_text('let x = ["aaaa", "bbbb"]\n', encoding="utf-8")
    assert main(["fmt", "--width", "20", str(spec)]) == EXIT_OK
    assert spec.read_text(encoding="utf-8") == 'let x = [\n    "aaaa",\n    "bbbb",\n]\n'


def test_stdin_or_files_not_both(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt"]) == EXIT_USAGE
    assert main(["fmt", "--stdin", str(spec)]) == EXIT_USAGE
    assert "give SPEC files, or --stdin" in capsys.readouterr().err


def _graphdsl(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom graphdsl.cli import main\ncode = main(sys.argv[1:])\n"
            "assert 'tensorflow' not in sys.modules, 'fmt imported tensorflow'\nsys.exit(code)\n")
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def test_stdin_to_stdout_without_tensorflow() -> None:
    done = _graphdsl("fmt", "--stdin", stdin=UGLY)
    assert (done.returncode, done.stdout, done.stderr) == (EXIT_OK, PRETTY, "")
    checked = _graphdsl("fmt", "--stdin", "--check", stdin=UGLY)
    assert checked.returncode == EXIT_FAILURE and checked.stdout.startswith("--- <stdin>\n+++ <stdin>\n")
    bad = _graphdsl("fmt", "--stdin", stdin="copy A from {")
    assert bad.returncode == EXIT_SPEC_ERROR and bad.stdout == ""
    assert bad.stderr.startswith("<stdin>:1:13: error: ")


# -- templates ---------------------------------------------------------------------------------


def test_a_template_gets_the_canonical_layout() -> None:
    messy = ('param n:int=2{min=1}\nblock b(x:ref,k:int=1){output y=x}\n'
             'for i in range(n){use "b{i}"=b(x=X["a:0"],k=i)}\nlet top=name("b{n - 1}").y\n')
    assert fmt.format_text(messy) == (
        "param n: int = 2 { min = 1 }\n"
        "block b(x: ref, k: int = 1) {\n"
        "    output y = x\n"
        "}\n"
        "for i in range(n) {\n"
        '    use "b{i}" = b(x = X["a:0"], k = i)\n'
        "}\n"
        'let top = name("b{n - 1}").y\n'
    )


def test_expressions_keep_only_the_parentheses_the_grammar_needs() -> None:
    text = 'set x = ((a - (b - c)) * -(1)) + ((not a) == b) + -y + (- 2) + (c ? d : e) ? (f) : [for k in (p in q): k]\n'
    assert fmt.format_text(text) == (
        "set x = (a - (b - c)) * - 1 + ((not a) == b) + -y + - 2 + (c ? d : e) ? f : [for k in (p in q): k]\n")


def test_comments_stay_in_their_branch_of_an_if() -> None:
    text = ("if a {\n  let x = y\n  # end of then\n} # after then\nelse {\n  let x = z # trailing\n"
            "  # end of else\n}\nif b { let p = q }\nelse\n# before the second if\nif c { let p = r }\n")
    formatted = fmt.format_text(text)
    assert formatted == (
        "if a {\n    let x = y\n    # end of then\n} else {\n    # after then\n    let x = z  # trailing\n"
        "    # end of else\n}\n"
        "if b {\n    let p = q\n} else {\n    # before the second if\n    if c {\n        let p = r\n    }\n}\n")
    tree = parse_template(SourceFile("<test>", text))
    first = tree.statements[0]
    assert isinstance(first, ts.If)
    assert [c.text for c in first.comments.end] == ["# end of then"]
    assert [c.text for c in first.else_comments] == ["# end of else"]


def test_fmt_check_passes_on_the_repository_specs_and_their_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", str(REPO / "specs")]) == EXIT_OK
    assert "7 specs already formatted" in capsys.readouterr().err


def test_expressions_and_bodies_as_deep_as_a_template_takes_are_formatted() -> None:
    # Lists 100 deep around a chain of 154 operators (256 levels), and a chain of 254 operators
    # after one inside a string's braces, in bodies 50 deep: the formatter walked them a few
    # frames per level and ran out of Python's recursion limit.
    deepest = "[" * 100 + "1" + " + 1" * 154 + "]" * 100
    chain = "1" + " + 1" * 30
    text = ("graphdsl 1\nsource m = graphdef(\"m.pb\")\n" + "if true {\n" * 50
            + f'set k = {deepest}\nset s = "o{{{chain}}}"' + ' + "a"' * 224 + "\n" + "}\n" * 50)
    formatted = _formatted_keeps_meaning(text)
    assert _formatted_keeps_meaning(formatted) == formatted
    assert f'set s = "o{{{chain}}}" + "a"' in formatted and formatted.count("[") == 100
