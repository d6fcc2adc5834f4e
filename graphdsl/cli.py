"""The ``graphdsl`` command line: ``main(argv) -> exit code``.

Each subcommand is one ``_add_NAME(subparsers)`` function that registers its parser and sets
``run`` to a function ``(args) -> int``; :data:`_SUBCOMMANDS` lists them in one place. A
:class:`~graphdsl.errors.GraphDslError` is printed as its rendered message, never a traceback.
Keep this module free of TensorFlow at import time: ``graphdsl check`` must answer fast, so a
subcommand that needs TensorFlow imports it inside its ``run`` function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from graphdsl.ast import Spec
from graphdsl.errors import GraphDslError, SpecError, SpecSyntaxError

EXIT_OK = 0
EXIT_FAILURE = 1  # a GraphDslError that is not about the spec text (a source, the build ...)
EXIT_SPEC_ERROR = 2  # the spec does not parse or does not check
EXIT_NO_INPUT = 66  # the spec file cannot be read (sysexits EX_NOINPUT)
EXIT_USAGE = 64  # bad command line (sysexits EX_USAGE); argparse's own 2 would read as a spec error


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageExit as exit_:
        return exit_.code
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    try:
        return args.run(args)
    except (SpecSyntaxError, SpecError) as error:
        print(error.render(), file=sys.stderr)
        return EXIT_SPEC_ERROR
    except GraphDslError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        name = error.filename if error.filename is not None else ""
        print(f"error: cannot read {name}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NO_INPUT


# ---------------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------------


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="parse and check a spec without loading any graph",
        description="Parse and statically check SPEC; print 'SPEC: ok' and a summary, or the first error.",
    )
    parser.add_argument("spec", metavar="SPEC", help="the .gcomp file")
    parser.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from graphdsl.spec import load_spec  # no TensorFlow behind this

    spec = load_spec(Path(args.spec))
    print(f"{args.spec}: ok ({_summary(spec)})")
    return EXIT_OK


def _summary(spec: Spec) -> str:
    namespaces = {c.namespace.name for c in spec.copies}
    parts = [
        _count(len(spec.sources), "source"),
        f"{_count(len(spec.copies), 'copy', 'copies')} into {_count(len(namespaces), 'namespace')}",
        _count(len(spec.lets), "alias", "aliases"),
        _count(len(spec.exports), "export"),
    ]
    return ", ".join(parts)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# Every subcommand, in the order `graphdsl --help` lists them. Add new ones here.
_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_check,
]


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------


class _UsageExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _ArgumentParser(argparse.ArgumentParser):
    """Reports usage errors with EXIT_USAGE instead of argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise _UsageExit(EXIT_USAGE)


def _build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="graphdsl",
        description="Compose TensorFlow graphs from parts of other graphs, as a .gcomp spec says.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_ArgumentParser
    )
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser
