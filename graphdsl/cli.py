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

from graphdsl.lang.syntax import Spec
from graphdsl.errors import GraphDslError, SpecError, SpecSyntaxError
from graphdsl.tf.quiet import import_tensorflow

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
    _add_param_arguments(parser)
    parser.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from graphdsl.lang.expand import load  # no TensorFlow behind this

    expansion = load(Path(args.spec), params=_params(args), max_statements=args.max_statements)
    summary = _summary(expansion.spec)
    if expansion.template:
        summary += f"; from a template with {_param_summary(expansion.params) or 'no parameter'}"
    print(f"{args.spec}: ok ({summary})")
    return EXIT_OK


def _add_expand(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "expand",
        help="print the plain spec a template makes for given parameters",
        description="Expand the template SPEC for the given parameters (the defaults for the others) "
        "and print the plain spec it makes: no parameters, blocks, loops or includes, source paths "
        "relative to SPEC's directory. It checks and builds to what SPEC builds.",
    )
    parser.add_argument("spec", metavar="SPEC", help="the .gcomp file")
    _add_param_arguments(parser)
    parser.add_argument("-o", "--out", metavar="FILE", help="write the spec to FILE instead of printing it")
    parser.set_defaults(run=_run_expand)


def _run_expand(args: argparse.Namespace) -> int:
    from graphdsl.lang.expand import load  # no TensorFlow behind this
    from graphdsl.lang.unparse import unparse

    expansion = load(Path(args.spec), params=_params(args), max_statements=args.max_statements)
    text = unparse(expansion.spec)
    if expansion.template:
        values = _param_summary(expansion.params)
        text = f"# Made by graphdsl expand from {args.spec}{' with ' + values if values else ''}.\n" + text
    if args.out is None:
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return EXIT_OK


def _add_param_arguments(parser: argparse.ArgumentParser) -> None:
    """--param, --params and --max-statements: the values of a template's parameters."""
    from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS

    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter's value, a YAML literal (wins over --params)")
    parser.add_argument("--params", action="append", default=[], metavar="FILE.yaml",
                        help="a YAML file of parameter values (several: later ones win)")
    parser.add_argument("--max-statements", type=int, default=DEFAULT_MAX_STATEMENTS, metavar="N",
                        help=f"stop a template that makes more than N statements or loop iterations "
                        f"(default {DEFAULT_MAX_STATEMENTS})")


def _params(args: argparse.Namespace):  # -> ParamValues
    """The parameter values of the command line: the --params files in order, then each --param."""
    from graphdsl.lang.params import ParamValues

    values = ParamValues()
    for path in args.params:
        values = values.merged(ParamValues.from_yaml_file(path))
    return values.merged(ParamValues.from_command_line(args.param))


def _param_summary(values: dict) -> str:
    from graphdsl.lang.expr import show

    return ", ".join(f"{name} = {show(value)}" for name, value in values.items())


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


def _add_plan(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what a build will copy, bind and export",
        description="Load the sources of SPEC and compose it in memory; print, per namespace, the "
        "ops and variables copied (with each variable's mode), every binding and export.",
    )
    parser.add_argument("spec", metavar="SPEC", help="the .gcomp file")
    _add_param_arguments(parser)
    parser.set_defaults(run=_run_plan)


def _run_plan(args: argparse.Namespace) -> int:
    params = _params(args)
    import_tensorflow()
    from graphdsl.assemble.compose import compose
    from graphdsl.assemble.plan import render

    with compose(Path(args.spec), params=params, max_statements=args.max_statements) as composition:
        print(render(composition))
    return EXIT_OK


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="compose a spec and write its exports",
        description="Compose SPEC and write its exports into OUTDIR. All or nothing: if any export "
        "fails, OUTDIR is left as it was.",
    )
    parser.add_argument("spec", metavar="SPEC", help="the .gcomp file")
    parser.add_argument("-o", "--out", metavar="OUTDIR", required=True, help="output directory")
    _add_param_arguments(parser)
    parser.set_defaults(run=_run_build)


def _run_build(args: argparse.Namespace) -> int:
    params = _params(args)
    import_tensorflow()
    from graphdsl.assemble.compose import build

    for path in build(Path(args.spec), args.out, params=params, max_statements=args.max_statements):
        print(f"wrote {path}")
    return EXIT_OK


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a built graph (or a spec) on inputs given on the command line",
        description="Run the fetches of a build's output directory or of a spec composed in memory. "
        "NAME is a signature input/output key, an alias, a reference like 'Head[\"logits:0\"]' "
        "(specs) or a tensor, op or variable name; VALUE is a YAML literal such as [[1.0, 2.0]].",
    )
    parser.add_argument("target", metavar="OUTDIR_OR_SPEC", help="a build's output directory or a .gcomp file")
    parser.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE", help="an input value")
    parser.add_argument("--fetch", action="append", required=True, metavar="NAME", help="what to compute")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the fetches N times and print the last results (to train)")
    parser.add_argument("--signature", default="serving_default", help="SavedModel signature for names")
    parser.add_argument("--export", metavar="NAME", help="which export of OUTDIR to run (default: the first)")
    parser.add_argument("--tags", metavar="TAG,...", help="SavedModel tags to load (default: those it "
                        "was built with, else serve)")
    _add_param_arguments(parser)
    parser.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    params = _params(args)
    if params and Path(args.target).is_dir():
        print("graphdsl run: error: --param and --params apply to a spec, not to a build's output "
              "directory", file=sys.stderr)
        return EXIT_USAGE
    import_tensorflow()
    from graphdsl.run import format_result, open_runnable

    feeds = {}
    for item in args.feed:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"graphdsl run: error: --feed takes NAME=VALUE, got '{item}'", file=sys.stderr)
            return EXIT_USAGE
        feeds[name] = value
    tags = args.tags.split(",") if args.tags else None
    runnable = open_runnable(args.target, signature=args.signature, export=args.export, tags=tags,
                             params=params, max_statements=args.max_statements)
    try:
        results = runnable.run(feeds, args.fetch, repeat=args.repeat)
    finally:
        runnable.close()
    for name, value in zip(args.fetch, results):
        print(format_result(name, value))
    return EXIT_OK


def _add_inspect(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.tools.commands import add_inspect  # no TensorFlow behind this

    add_inspect(subparsers)


def _add_graph(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.tools.commands import add_graph  # no TensorFlow behind this

    add_graph(subparsers)


# Every subcommand, in the order `graphdsl --help` lists them. Add new ones here.
_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_check,
    _add_expand,
    _add_plan,
    _add_build,
    _add_run,
    _add_inspect,
    _add_graph,
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
