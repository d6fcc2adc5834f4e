"""`graphdsl check`: exit codes, messages, and no TensorFlow on the way."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.cli import EXIT_NO_INPUT, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[1]
OK = "tests/data/ok/full.gcomp"
BAD = "tests/data/bad/copy_unknown_source.gcomp"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python (what it imports is its own) from the repository; it must succeed."""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_a_good_spec_prints_ok_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", OK]) == EXIT_OK
    out = capsys.readouterr().out
    assert out == f"{OK}: ok (4 sources, 4 copies into 3 namespaces, 3 aliases, 3 exports)\n"


def test_check_called_in_a_process_that_goes_on_keeps_nothing_it_made() -> None:
    # The command line's own process (cli.run) keeps the tree until it exits without freeing it;
    # a program that calls main() itself must get its memory back.
    from graphdsl import cli

    assert main(["check", OK]) == EXIT_OK
    assert cli._kept == []


def test_a_bad_spec_prints_the_rendered_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", BAD]) == EXIT_SPEC_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (REPO / BAD).with_suffix(".err").read_text()


def test_a_syntax_error_is_a_spec_error_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "tests/data/bad/syntax_missing_equal.gcomp"]) == EXIT_SPEC_ERROR
    assert "Traceback" not in capsys.readouterr().err


BAD_SPECS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "tests/data/bad").glob("*.gcomp"))


@pytest.mark.parametrize("spec", BAD_SPECS, ids=lambda p: Path(p).stem)
def test_every_bad_spec_exits_2_with_its_exact_error(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Hostile input included: bytes that are not UTF-8, values nested hundreds deep, numbers no
    # machine type holds, control characters and other line separators.
    assert main(["check", spec]) == EXIT_SPEC_ERROR
    assert capsys.readouterr().err == (REPO / spec).with_suffix(".err").read_text(encoding="utf-8")


def test_hostile_specs_get_no_traceback_from_a_fresh_interpreter() -> None:
    for name in ("syntax_not_utf8", "syntax_nested_too_deep", "syntax_integer_too_long"):
        spec = f"tests/data/bad/{name}.gcomp"
        result = subprocess.run([sys.executable, "-m", "graphdsl", "check", spec], cwd=REPO,
                                capture_output=True, text=True, encoding="utf-8")
        assert (result.returncode, result.stdout) == (EXIT_SPEC_ERROR, "")
        assert result.stderr == (REPO / spec).with_suffix(".err").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [["check", "no/such.gcomp"], ["fmt", "--check", "no/such.gcomp"],
                                  ["check", OK, "--params", "no/such.gcomp"]])
def test_a_missing_file(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_NO_INPUT
    assert capsys.readouterr().err == ("error: cannot read no/such.gcomp: No such file or directory\n"
                                       "  help: check the path\n")


@pytest.mark.parametrize("argv", [["check", "/dev/zero"], ["expand", "/dev/zero"], ["fmt", "--check", "/dev/zero"],
                                  ["check", OK, "--params", "/dev/zero"]])
def test_a_device_named_as_a_file_is_refused_not_read_for_ever(argv: list[str],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_NO_INPUT
    assert capsys.readouterr().err == ("error: cannot read /dev/zero: a device, not a file\n"
                                       "  help: name a regular file, or a pipe (/dev/stdin, <(command))\n")


def test_a_directory_or_a_path_through_a_file_is_told_what_to_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "specs"]) == EXIT_NO_INPUT
    assert capsys.readouterr().err == ("error: cannot read specs: Is a directory\n"
                                       "  help: name a file, not a directory\n")
    assert main(["check", f"{OK}/x.gcomp"]) == EXIT_NO_INPUT
    assert capsys.readouterr().err == (f"error: cannot read {OK}/x.gcomp: Not a directory\n"
                                       "  help: check the path: a part of it before the last is a file, not a "
                                       "directory\n")


@pytest.mark.parametrize("error, told", [
    # Made up: the tests may run as root, who reads any file.
    (PermissionError(errno.EACCES, "Permission denied"),
     "error: cannot read {}: Permission denied\n"
     "  help: check the file's permissions: you need to be allowed to read it\n"),
    # A reason with no known remedy gets no hint.
    (OSError(errno.EIO, "Input/output error"), "error: cannot read {}: Input/output error\n"),
])
def test_an_unreadable_file_is_told_why_and_what_to_do(error: OSError, told: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from graphdsl.lang import parser

    def failing(path: object) -> bytes:
        raise type(error)(error.errno, error.strerror, str(path))

    monkeypatch.setattr(parser, "read_file", failing)
    assert main(["check", OK]) == EXIT_NO_INPUT
    assert capsys.readouterr().err == told.format(OK)


def test_a_spec_may_come_through_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write((REPO / OK).read_bytes())
    try:
        assert main(["check", f"/dev/fd/{read}"]) == EXIT_OK
    finally:
        os.close(read)
    assert capsys.readouterr().out.startswith(f"/dev/fd/{read}: ok (4 sources")


@pytest.mark.parametrize("argv", [[], ["chek", OK], ["check"], ["check", OK, "extra"]])
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    assert "usage: graphdsl" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "expand", "plan", "build", "lock"])
@pytest.mark.parametrize("value, told", [("0", "must be 1 or more, not 0"), ("-5", "must be 1 or more, not -5"),
                                         ("many", "not a whole number: 'many'")])
def test_a_statement_bound_below_one_is_a_usage_error(command: str, value: str, told: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A template could make no statement at all under it: "makes more than -5 statements"."""
    out = ["-o", "unused"] if command == "build" else []
    assert main([command, "specs/towers.gcomp", *out, "--max-statements", value]) == EXIT_USAGE
    assert f"argument --max-statements: {told}" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["fmt", ""], ["fmt", "messy.gcomp", ""], ["build", "messy.gcomp", "-o", ""], ["expand", "messy.gcomp", "-o", ""],
    ["run", "out", "--fetch", "y", "--save", ""], ["run", "out", "--fetch", "y", "--save-variables", ""],
    ["run", "", "--fetch", "y"], ["check", ""], ["plan", "messy.gcomp", "--params", ""], ["explain", ""],
    ["explain", "out", "--spec-out", ""], ["diff", "", "messy.gcomp"], ["graph", "messy.gcomp", "-o", ""],
    ["graph", "messy.gcomp", "--tensorboard", ""], ["inspect", ""], ["inspect", "g.meta", "--checkpoint", ""],
    ["lock", ""], ["batch", "messy.gcomp", "-o", ""], ["batch", "messy.gcomp", "-o", "out", "--params", ""],
    ["evolve", "", "-o", "out"], ["evolve", "settings.yaml", "-o", ""],
])
def test_an_empty_path_is_a_usage_error(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """An empty path (an unset variable in "$OUT") named the working directory: fmt rewrote every
    spec under it, build wrote its exports there, and --save saved nothing without a word."""
    monkeypatch.chdir(tmp_path)
    Path("messy.gcomp").write_text("graphdsl 1\nsource s=graphdef(\"s.pb\")\ncopy S from s {take=\"y\"}\n")
    assert main(argv) == EXIT_USAGE
    assert "an empty path: name a file or directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.gcomp"]
    assert Path("messy.gcomp").read_text().startswith("graphdsl 1\nsource s=graphdef(")


def test_an_error_quoting_a_huge_name_prints_its_two_ends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The message quoted a name of a million characters whole: a line of a megabyte."""
    spec = tmp_path / "long.gcomp"
    spec.write_text('graphdsl 1\nsource m = graphdef("m.pb")\ncopy A from m { take = "y" }\n'
                    f'let z = {"N" * 1_000_000}["y:0"]\n')
    assert main(["check", str(spec)]) == EXIT_SPEC_ERROR
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{spec}:4:9: error: unknown namespace 'NNN") and first.endswith("NNN'")
    assert "characters left out" in first and len(err) < 3000


def test_help_exits_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    assert "check" in capsys.readouterr().out


def test_python_m_graphdsl_check_runs_without_tensorflow() -> None:
    # Run in a fresh interpreter: the test session itself may have imported TensorFlow already.
    code = (
        "import importlib, pkgutil, sys\n"
        "import graphdsl, graphdsl.lang, graphdsl.cli\n"
        "for module in pkgutil.iter_modules(graphdsl.lang.__path__):\n"
        "    importlib.import_module('graphdsl.lang.' + module.name)\n"
        "from graphdsl.cli import main\n"
        f"assert main(['check', {OK!r}]) == 0\n"
        "assert 'tensorflow' not in sys.modules, 'the front end imported tensorflow'\n"
        "heavy = [m for m in sys.modules if m.startswith(('graphdsl.batch.', 'graphdsl.evolve.'))\n"
        "         and not m.endswith('.commands')]\n"
        "assert not heavy, f'check imported the batch and population tools: {heavy}'\n"
    )
    _python(code)
    result = subprocess.run(
        [sys.executable, "-m", "graphdsl", "check", BAD], cwd=REPO, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (EXIT_SPEC_ERROR, "")
    assert result.stderr == (REPO / BAD).with_suffix(".err").read_text()


# What only a template needs: a plain spec's check imports none of it (a fifth of its start).
TEMPLATE_MODULES = ("graphdsl.lang.template_parser", "graphdsl.lang.template_syntax", "graphdsl.lang.expr",
                    "graphdsl.lang.evaluate", "graphdsl.lang.params", "graphdsl.lang.includes",
                    "graphdsl.lang.typecheck", "graphdsl.lang.expander")


def test_a_plain_spec_imports_nothing_of_templates() -> None:
    code = ("import sys\n"
            f"template = {TEMPLATE_MODULES!r}\n"
            "from graphdsl.lang.expand import load\n"
            f"assert not load({OK!r}).template\n"
            "from graphdsl.lang.load import load_spec\n"
            f"load_spec({OK!r})\n"
            "assert not [m for m in template if m in sys.modules], [m for m in template if m in sys.modules]\n"
            "from graphdsl.cli import main\n"
            f"assert main(['check', {OK!r}]) == 0\n"
            "assert not [m for m in template if m in sys.modules], [m for m in template if m in sys.modules]\n"
            "assert main(['check', 'specs/towers.gcomp']) == 0\n"
            "assert all(m in sys.modules for m in template), [m for m in template if m not in sys.modules]\n")
    _python(code)


def test_a_plain_check_does_not_import_lark(tmp_path: Path) -> None:
    # Importing lark cost about as much CPU as the rest of a small spec's check: graphdsl parses
    # with the stored tables read as data, and lark's parser only words a syntax error. The same
    # holds for fmt.
    broken = tmp_path / "broken.gcomp"
    broken.write_text('graphdsl 1\nsource s = graphdef("s.pb")\ncopy A from s { take = }\n')
    code = ("import sys\nfrom graphdsl.cli import main\n"
            f"assert main(['check', {OK!r}]) == 0\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'lark'], 'check imported lark'\n"
            f"assert main(['fmt', '--check', {OK!r}]) in (0, 1)\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'lark'], 'fmt imported lark'\n"
            f"assert main(['check', {str(broken)!r}]) == {EXIT_SPEC_ERROR}\n"
            "assert 'lark' in sys.modules\n")
    result = _python(code)
    assert "broken.gcomp:3:24: error: unexpected '}'; expected " in result.stderr


def test_a_check_does_not_import_what_only_other_commands_and_mistakes_need(tmp_path: Path) -> None:
    # Every command registers every subcommand: fmt's diff (difflib) and its atomic write
    # (tempfile, which imports random) are imported when they run, as "did you mean" is.
    typo = tmp_path / "typo.gcomp"
    typo.write_text('graphdsl 1\nsource encoder = graphdef("s.pb")\ncopy A from encoderr { take = "x" }\n')
    code = ("import sys\nfrom graphdsl.cli import main\n"
            f"assert main(['check', {OK!r}]) == 0\n"
            "assert not {'difflib', 'tempfile', 'random'} & set(sys.modules), {'difflib', 'tempfile', 'random'} & set(sys.modules)\n"
            f"assert main(['check', {str(typo)!r}]) == {EXIT_SPEC_ERROR}\n"
            "assert 'difflib' in sys.modules\n")
    assert "did you mean 'encoder'?" in _python(code).stderr


def test_a_template_is_read_from_the_stored_tables_without_a_parser_of_lark(tmp_path: Path) -> None:
    # Loading lark's parser of the template grammar cost a tenth of a short template's check: the
    # contextual parse and a long template's driver read the stored tables, and lark's parser
    # only words a syntax error.
    long = tmp_path / "long.gcomp"
    long.write_text('graphdsl 1\nparam k: int = 3\nsource s = graphdef("s.pb")\ncopy A from s { take = "x" }\n'
                    + "".join(f'let a{i} = A["x:{i}"]\n' for i in range(500)))
    code = ("from graphdsl.cli import main\nfrom graphdsl.lang import grammar, template_parser\n"
            "assert main(['check', 'specs/towers.gcomp']) == 0\n"
            "assert main(['check', 'specs/ensemble.gcomp']) == 0\n"
            f"assert main(['check', {str(long)!r}]) == 0\n"
            "assert template_parser._driver.cache_info().currsize == 1  # the long one was driven\n"
            "assert grammar._load.cache_info().currsize == 0, 'a parser of lark was loaded'\n")
    _python(code)


def test_a_plain_check_without_parameters_does_not_import_yaml() -> None:
    # PyYAML costs a tenth of the start of `graphdsl check`; only parameter values need it.
    code = ("import sys\nfrom graphdsl.cli import main\n"
            f"assert main(['check', {OK!r}]) == 0\n"
            "assert 'yaml' not in sys.modules, 'check imported yaml'\n"
            f"assert main(['check', 'specs/towers.gcomp', '--param', 'layers=2']) == 0\n"
            "assert 'yaml' in sys.modules\n")
    _python(code)
