"""The ``fmt`` subcommand: rewrite specs in the canonical layout of :mod:`graphdsl.lang.fmt`.

Files are written only when their bytes change, through a temporary file renamed over them (a
reader sees the old spec or the new one, never a part), keeping their permissions. A spec that does
not parse is reported and left untouched; the other files are still formatted. No TensorFlow.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from graphdsl.cli import EXIT_FAILURE, EXIT_NO_INPUT, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, path_argument
from graphdsl.errors import GraphDslError, SpecSyntaxError, unreadable
from graphdsl.lang import fmt, schema
from graphdsl.lang.parser import decode, read_file

EXIT_UNFORMATTED = EXIT_FAILURE  # --check found a spec to reformat
STDIN = "<stdin>"
SUFFIX = schema.SPEC_SUFFIX


def add_fmt(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``graphdsl fmt SPEC...``."""
    parser = subparsers.add_parser(
        "fmt",
        help="rewrite specs in the canonical layout, comments kept",
        description="Rewrite each SPEC (a .gcomp file, or a directory: every .gcomp file under it) "
        "in graphdsl's canonical layout: 4-space indentation, '=' aligned in a body, one space "
        "around '=', lists and maps wrapped at the width, the blank lines you left between "
        "statements kept (one at most), every comment where it belongs. Formatting never changes "
        "what a spec says. Exit 0 when done, 1 when --check finds a spec to reformat, 2 when a spec "
        "does not parse (it is left untouched), 66 when one cannot be read.",
    )
    parser.add_argument("specs", nargs="*", type=path_argument, metavar="SPEC", help="a .gcomp file or a directory")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; print a diff and exit 1 when a spec is not formatted")
    parser.add_argument("--diff", action="store_true", help="write nothing; print what would change")
    parser.add_argument("--stdin", action="store_true",
                        help="format the spec read from standard input to standard output")
    parser.add_argument("--width", type=_width, default=fmt.DEFAULT_WIDTH, metavar="N",
                        help=f"the line width lists and maps wrap at (default {fmt.DEFAULT_WIDTH})")
    parser.set_defaults(run=run_fmt)


def _width(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of columns: '{text}'")
    return int(text)


@dataclass
class _Outcome:
    code: int = EXIT_OK
    reformatted: int = 0
    unchanged: int = 0

    def fail(self, code: int) -> None:
        self.code = max(self.code, code)


def run_fmt(args: argparse.Namespace) -> int:
    """Runs ``graphdsl fmt`` with parsed arguments; returns the exit code."""
    if args.stdin == bool(args.specs):
        print("graphdsl fmt: error: give SPEC files, or --stdin (not both)", file=sys.stderr)
        return EXIT_USAGE
    if args.stdin:
        return _format_stdin(args)
    outcome = _Outcome()
    for path in _spec_files(args.specs, outcome):
        _format_file(path, args, outcome)
    _summary(args, outcome)
    return outcome.code


def _spec_files(names: list[str], outcome: _Outcome) -> list[Path]:
    """The files to format, each once: files as named, directories as the .gcomp files under them."""
    found: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*" + SUFFIX) if p.is_file()
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.exists():
            found.append(path)
        else:
            print(unreadable(FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)).render(),
                  file=sys.stderr)
            outcome.fail(EXIT_NO_INPUT)
    seen: set[str] = set()
    unique = []
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _format_file(path: Path, args: argparse.Namespace, outcome: _Outcome) -> None:
    name = str(path)
    try:
        data = read_file(path)
    except OSError as error:
        print(unreadable(error).render(), file=sys.stderr)
        outcome.fail(EXIT_NO_INPUT)
        return
    formatted = _formatted(data, name, args.width, outcome)
    if formatted is None:
        return
    new = formatted.encode("utf-8")
    if new == data:
        outcome.unchanged += 1
        return
    if args.check or args.diff:
        _print_diff(data, formatted, name)
        if args.check:
            print(f"would reformat {name}", file=sys.stderr)
            outcome.fail(EXIT_UNFORMATTED)
        outcome.reformatted += 1
        return
    try:
        write_atomically(path, new)
    except OSError as error:
        print(f"error: cannot write {name}: {error.strerror or error}", file=sys.stderr)
        outcome.fail(EXIT_FAILURE)
        return
    outcome.reformatted += 1
    print(f"reformatted {name}", file=sys.stderr)


def _formatted(data: bytes, name: str, width: int, outcome: _Outcome) -> str | None:
    """The formatted text, or None after reporting why there is none."""
    try:
        return fmt.format_source(decode(data, name), width)
    except SpecSyntaxError as error:
        print(error.render(), file=sys.stderr)
        outcome.fail(EXIT_SPEC_ERROR)
    except GraphDslError as error:
        print(error.render(), file=sys.stderr)
        outcome.fail(EXIT_FAILURE)
    return None


def _format_stdin(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read()
    outcome = _Outcome()
    formatted = _formatted(data, STDIN, args.width, outcome)
    if formatted is None:
        return outcome.code
    if not (args.check or args.diff):
        sys.stdout.write(formatted)
        return EXIT_OK
    if formatted.encode("utf-8") != data:
        _print_diff(data, formatted, STDIN)
        if args.check:
            return EXIT_UNFORMATTED
    return EXIT_OK


def _print_diff(data: bytes, formatted: str, name: str) -> None:
    """A unified diff from the spec as it is to the formatted spec, on standard output."""
    import difflib  # here: every command registers fmt, and only --diff needs it

    before = decode(data, name).text  # line breaks as '\n', like the formatter's
    lines = difflib.unified_diff(_lines(before), _lines(formatted), fromfile=name, tofile=name)
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
    if not text:
        print(f"{name}: only its line breaks or byte order mark would change", file=sys.stderr)
    sys.stdout.write(text)


def _lines(text: str) -> list[str]:
    """The lines of ``text``, each with its '\\n' (only '\\n' ends a line in a spec)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _summary(args: argparse.Namespace, outcome: _Outcome) -> None:
    done = "would be reformatted" if args.check or args.diff else "reformatted"
    parts = []
    if outcome.reformatted:
        parts.append(f"{_specs(outcome.reformatted)} {done}")
    if outcome.unchanged:
        parts.append(f"{_specs(outcome.unchanged)} already formatted")
    if parts:
        print(", ".join(parts), file=sys.stderr)


def _specs(n: int) -> str:
    return f"{n} spec{'' if n == 1 else 's'}"


def write_atomically(path: Path, data: bytes) -> None:
    """Replaces the file at ``path`` (the file a symbolic link names) by ``data``, whole or not at all.

    The new file keeps the old one's permission bits.
    """
    from graphdsl.assemble import files  # here: every command registers fmt, and files imports tempfile

    target = Path(os.path.realpath(path))
    files.write_atomically(target, data, durable=True, mode=stat.S_IMODE(target.stat().st_mode))
