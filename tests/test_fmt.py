"""`graphdsl fmt`: the canonical layout, comments kept, meaning kept, stable; the command's files.

Layout decisions are golden pairs: tests/data/fmt/NAME.gcomp formats to NAME.fmt.gcomp
(``GRAPHDSL_UPDATE_GOLDEN=1`` rewrites them, for review). tests/test_fmt_property.py formats
generated specs.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_NO_INPUT, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, main
from graphdsl.errors import GraphDslError, Span, SpecSyntaxError
from graphdsl.lang import fmt, syntax
from graphdsl.lang.parser import parse

from golden import compare  # tests/golden.py

from graphdsl.lang.template_parser import _TEMPLATE_LINE

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SPECS = sorted(p for p in (REPO / "specs").glob("*.gcomp")
               if not _TEMPLATE_LINE.search(p.read_text(encoding="utf-8")))  # fmt formats plain specs
GOOD = sorted((DATA / "ok").glob("*.gcomp"))
PAIRS = sorted(p for p in (DATA / "fmt").glob("*.gcomp") if not p.name.endswith(".fmt.gcomp"))


def _formatted_keeps_meaning(text: str, width: int = fmt.DEFAULT_WIDTH) -> str:
    once = fmt.format_spec(parse(text), width)
    assert fmt.meaning(parse(once)) == fmt.meaning(parse(text))
    assert fmt.format_spec(parse(once), width) == once
    return once


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


def test_the_formatter_refuses_to_return_what_changes_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmt, "format_spec", lambda spec, width=100: "graphdsl 2\n")
    with pytest.raises(GraphDslError, match="would change what the spec says"):
        fmt.format_text("graphdsl 1\n")


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
