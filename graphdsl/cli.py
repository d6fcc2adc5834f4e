"""The ``graphdsl`` command line: ``main(argv) -> exit code``.

Each subcommand is one ``_add_NAME(subparsers)`` function that registers its parser and sets
``run`` to a function ``(args) -> int``; :data:`_SUBCOMMANDS` lists them in one place. A
:class:`~graphdsl.errors.GraphDslError` is printed as its rendered message, never a traceback.
Keep this module free of TensorFlow at import time: ``graphdsl check`` must answer fast, so a
subcommand that needs TensorFlow imports it inside its ``run`` function.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from graphdsl.lang import schema
from graphdsl.lang.syntax import Spec
from graphdsl.errors import (
    GraphDslError, GraphDslWarning, ParamError, SpecError, SpecSyntaxError, unreadable, unwritable)
from graphdsl.tf.quiet import import_tensorflow
from graphdsl.tools import jsonout

EXIT_OK = 0
EXIT_FAILURE = 1  # a GraphDslError that is not about the spec text (a source, the build ...)
EXIT_SPEC_ERROR = 2  # the spec does not parse or does not check
EXIT_NO_INPUT = 66  # the spec file cannot be read (sysexits EX_NOINPUT)
EXIT_USAGE = 64  # bad command line (sysexits EX_USAGE); argparse's own 2 would read as a spec error
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a process ended by SIGINT
# What a command made, kept while run() leaves with os._exit (which frees nothing): a large
# spec's tree is hundreds of thousands of objects, and freeing them one by one when the command
# returns would cost a tenth of `graphdsl check`. Empty where main() is called otherwise.
_kept: list[object] = []
_exiting = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except _UsageExit as exit_:
        if jsonout.argv_wants_json(words):
            print(jsonout.dumps(jsonout.usage_failure(exit_.message, hint=f"see '{exit_.prog} --help'")))
        return exit_.code
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    with jsonout.stdout_for_json(args):
        try:
            return args.run(args)
        except (SpecSyntaxError, SpecError) as error:
            return _failed(args, error, EXIT_SPEC_ERROR)
        except GraphDslError as error:
            return _failed(args, error, EXIT_FAILURE)
        except OSError as error:
            if jsonout.wants_json(args):
                jsonout.emit(args, jsonout.unreadable_failure(error))
            else:
                print(unreadable(error).render(), file=sys.stderr)
            return EXIT_NO_INPUT
        except KeyboardInterrupt as interrupt:
            where = f" {interrupt}" if str(interrupt) else ""
            print(f"error: interrupted{where}", file=sys.stderr)
            return EXIT_INTERRUPTED


def _failed(args: argparse.Namespace, error: GraphDslError, code: int) -> int:
    """Reports ``error``: rendered on stderr, or as JSON on stdout; returns ``code``."""
    if jsonout.wants_json(args):
        jsonout.emit(args, jsonout.failure([error]))
    else:
        print(error.render(), file=sys.stderr)
    return code


def usage_error(args: argparse.Namespace, command: str, message: str) -> int:
    """Reports a bad command line that parsed (a value the parser cannot judge); returns EXIT_USAGE."""
    if jsonout.wants_json(args):
        jsonout.emit(args, jsonout.usage_failure(message, hint=f"see 'graphdsl {command} --help'"))
    else:
        print(f"graphdsl {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run() -> NoReturn:
    """The process's entry point: :func:`main`, then exit at once with its code.

    A build leaves graphs of up to hundreds of thousands of ops, their sessions and sources;
    Python's own exit would free them object by object (seconds at 200k ops). By the time
    :func:`main` returns every output is written and committed, so what is left to do before
    leaving is flushing what Python buffers.
    """
    global _exiting
    _exiting = True
    code = main()
    logging = sys.modules.get("logging")  # imported by what ran (TensorFlow's log), never for a check
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(code)


# ---------------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------------


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="parse and check a spec without loading any graph",
        description="Parse and statically check SPEC; print 'SPEC: ok' and a summary, or the first error.",
    )
    add_common(parser, spec=True, params=True, output_format=True)
    parser.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from graphdsl.lang.expand import load  # no TensorFlow behind this

    expansion = load(Path(args.spec), params=params_of(args), max_statements=args.max_statements)
    spec = expansion.spec
    if _exiting:
        _kept.append(expansion)
    warnings = _warnings(args, spec)
    if jsonout.wants_json(args):
        jsonout.emit(args, jsonout.check_report(spec, warnings))
    else:
        summary = _summary(spec)
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
    add_common(parser, spec=True, params=True)
    parser.add_argument("-o", "--out", type=path_argument, metavar="FILE", help="write the spec to FILE instead of printing it")
    parser.set_defaults(run=_run_expand)


def _run_expand(args: argparse.Namespace) -> int:
    from graphdsl.lang.expand import load  # no TensorFlow behind this
    from graphdsl.lang.unparse import unparse

    expansion = load(Path(args.spec), params=params_of(args), max_statements=args.max_statements)
    text = unparse(expansion.spec)
    if expansion.template:
        values = _param_summary(expansion.params)
        text = f"# Made by graphdsl expand from {args.spec}{' with ' + values if values else ''}.\n" + text
    if args.out is None:
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        read = [Path(args.spec), *(Path(f.path) for f in expansion.spec.template.includes)] \
            if expansion.spec.template is not None else [Path(args.spec)]
        for path in read:
            if _same_file(out, path):
                what = "the spec being expanded" if path == read[0] else "a file the spec includes"
                return usage_error(args, "expand", f"-o {out} is {what}: the expansion would replace it; "
                                   "write it to another file")
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise unwritable(error, out) from None
        print(f"wrote {args.out}")
    return EXIT_OK


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one existing file (through links, or spelled differently)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def add_common(parser: argparse.ArgumentParser, *, spec: bool = False, builder_timeout: bool = False,
               params: bool = False, output_format: bool = False) -> None:
    """Registers the arguments several subcommands share, each spelled, typed and explained here once.

    ``spec``: the SPEC argument; ``builder_timeout``: --builder-timeout SECONDS; ``params``:
    --param, --params and --max-statements, the values of a template's parameters (read them with
    :func:`params_of`); ``output_format``: --format text|json.
    """
    if spec:
        parser.add_argument("spec", type=path_argument, metavar="SPEC", help=f"the {schema.SPEC_SUFFIX} file")
    if builder_timeout:
        parser.add_argument("--builder-timeout", type=_seconds, default=None, metavar="SECONDS",
                            help="how long each Python builder may take (default: 600; 0: no limit)")
    if params:
        from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS

        parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                            help="a template parameter's value, a YAML literal (wins over --params)")
        parser.add_argument("--params", action="append", default=[], type=path_argument, metavar="FILE.yaml",
                            help="a YAML file of parameter values (several: later ones win)")
        parser.add_argument("--max-statements", type=_at_least_one, default=DEFAULT_MAX_STATEMENTS, metavar="N",
                            help=f"stop a template that makes more than N statements or loop iterations "
                            f"(default {DEFAULT_MAX_STATEMENTS})")
    if output_format:
        jsonout.add_format_option(parser)


def params_of(args: argparse.Namespace):  # -> ParamValues | None
    """The parameter values of the command line: the --params files in order, then each --param;
    None when it gives none (a plain spec's check then imports nothing about parameters)."""
    if not args.params and not args.param:
        return None
    from graphdsl.lang.params import ParamValues

    values = ParamValues()
    for path in args.params:
        values = values.merged(ParamValues.from_yaml_file(path))
    return values.merged(ParamValues.from_command_line(args.param))


def _param_summary(values: dict) -> str:
    from graphdsl.lang.expr import show

    return ", ".join(f"{name} = {show(value)}" for name, value in values.items())


def _warnings(args: argparse.Namespace, spec: Spec) -> list[GraphDslWarning]:
    """The spec's warnings, printed on stderr unless the run prints JSON (which holds them)."""
    from graphdsl.lang.serving import serving_warnings

    warnings = serving_warnings(spec)
    if not jsonout.wants_json(args):
        for warning in warnings:
            print(warning.render(), file=sys.stderr)
    return warnings


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
    add_common(parser, spec=True, builder_timeout=True, params=True, output_format=True)
    parser.set_defaults(run=_run_plan)


def path_argument(text: str) -> str:
    """A file or directory named on the command line: never empty (an unset variable in ``-o "$OUT"``
    would otherwise name the working directory, or save nothing without a word)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path: name a file or directory")
    return text


def _at_least_one(text: str) -> int:
    """A count given on the command line: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: '{text}'") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds: '{text}' (0 sets no limit)")
    return seconds


def _run_plan(args: argparse.Namespace) -> int:
    from graphdsl.lang.load import load_spec

    spec = load_spec(Path(args.spec), params=params_of(args), max_statements=args.max_statements)
    warnings = _warnings(args, spec)
    import_tensorflow()
    from graphdsl.assemble.compose import compose
    from graphdsl.assemble.plan import render
    from graphdsl.tools import progress

    with contextlib.ExitStack() as stack:
        with progress.task(f"planning {args.spec}"):  # ended, its line erased, before printing
            composition = stack.enter_context(compose(spec, builder_timeout=args.builder_timeout))
        if jsonout.wants_json(args):
            jsonout.emit(args, jsonout.plan_report(composition, warnings))
        else:
            print(render(composition))
    return EXIT_OK


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="compose a spec and write its exports",
        description="Compose SPEC and write its exports into OUTDIR. All or nothing: if any export "
        "fails, OUTDIR is left as it was.",
    )
    add_common(parser, spec=True)
    parser.add_argument("-o", "--out", type=path_argument, metavar="OUTDIR", required=True, help="output directory")
    parser.add_argument("--locked", action="store_true",
                        help="refuse to build unless the sources match SPEC.lock; then check the "
                        "exports against it")
    add_common(parser, builder_timeout=True, params=True, output_format=True)
    parser.set_defaults(run=_run_build)


def _run_build(args: argparse.Namespace) -> int:
    from graphdsl.lang.load import load_spec

    spec = load_spec(Path(args.spec), params=params_of(args), max_statements=args.max_statements)
    warnings = _warnings(args, spec)
    import_tensorflow()
    if args.locked:
        return _run_locked_build(args, spec)
    from graphdsl.assemble.compose import compose
    from graphdsl.tools import progress

    with contextlib.ExitStack() as stack:
        with progress.task(f"building {args.spec}"):  # ended, its line erased, before printing
            composition = stack.enter_context(compose(spec, builder_timeout=args.builder_timeout))
            written = composition.save(args.out)
        if jsonout.wants_json(args):
            jsonout.emit(args, jsonout.build_report(composition, args.out, written, warnings))
            return EXIT_OK
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a built graph (or a spec) on inputs given on the command line or in files",
        description="Run the fetches of a build's output directory or of a spec composed in memory. "
        "NAME is a signature input/output key, an alias, a reference like 'Head[\"logits:0\"]' "
        "(specs) or a tensor, op or variable name; VALUE is a YAML literal such as [[1.0, 2.0]], "
        "or @FILE.npy (or @FILE.npz) to read it from a file.",
    )
    parser.add_argument("target", type=path_argument, metavar="OUTDIR_OR_SPEC", help="a build's output directory or a .gcomp file")
    parser.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE",
                        help="an input: NAME=YAML, NAME=@FILE.npy, NAME=@FILE.npz, or @FILE.npz for "
                        "every array of the archive, by key")
    parser.add_argument("--fetch", action="append", required=True, metavar="NAME", help="what to compute")
    parser.add_argument("--repeat", type=_at_least_one, default=1, metavar="N",
                        help="run the fetches N times and print the last results (to train)")
    parser.add_argument("--signature", default=None, help="the SavedModel signature whose keys are "
                        f"names (default: {schema.DEFAULT_SIGNATURE}, else the first)")
    parser.add_argument("--export", metavar="NAME", help="which export of OUTDIR to run (default: the "
                        "first); for a spec, whose signature keys to use")
    parser.add_argument("--tags", metavar="TAG,...", help="SavedModel tags to load (default: those it "
                        f"was built with, else {schema.DEFAULT_TAG})")
    parser.add_argument("--precision", type=_precision, default=6, metavar="DIGITS|full",
                        help="digits printed after the point (default 6); full prints every digit "
                        "and every element")
    parser.add_argument("--save", type=path_argument, metavar="DIR|FILE.npz", help="also write the fetched values: one "
                        "NAME.npy per fetch into DIR, or one archive keyed by fetch name")
    parser.add_argument("--save-variables", type=path_argument, metavar="DIR", help="after the runs, write the graph with "
                        "the values its variables hold (trained) into DIR, as a new output directory")
    add_common(parser, builder_timeout=True, params=True)
    parser.set_defaults(run=_run_run)


def _precision(text: str) -> int | None:
    if text == "full":
        return None
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"not a number of digits or 'full': '{text}'")


def _run_run(args: argparse.Namespace) -> int:
    params = params_of(args)
    if params and Path(args.target).is_dir():
        return usage_error(args, "run", "--param and --params apply to a spec, not to a build's output directory")
    import_tensorflow()
    from graphdsl.run import open_runnable
    from graphdsl.values import format_result, read_array, read_arrays, save_values

    feeds: dict = {}
    for item in args.feed:
        name, sep, value = item.partition("=")
        if item.startswith("@"):
            given = read_arrays(item[1:])
        elif not sep or not name:
            print(f"graphdsl run: error: --feed takes NAME=VALUE, NAME=@FILE or @FILE.npz, got '{item}'",
                  file=sys.stderr)
            return EXIT_USAGE
        else:
            given = {name: read_array(name, value[1:]) if value.startswith("@") else value}
        twice = next((name for name in given if name in feeds), None)
        if twice is not None:  # the last would win without a word
            return usage_error(args, "run", f"--feed gives '{twice}' twice (the second in '{item}'): feed each once")
        feeds.update(given)
    tags = tags_of(args.tags)
    if tags == []:
        return usage_error(args, "run", f"--tags takes TAG,... (names separated by commas), got '{args.tags}'")
    from graphdsl.run import build_item_holding

    built = build_item_holding(Path(args.target), args.save) if args.save and Path(args.target).is_dir() else None
    if built is not None:
        return usage_error(args, "run", f"--save {args.save} is inside {built}, which the build wrote; save "
                           "the values outside the build's outputs")
    runnable = open_runnable(args.target, signature=args.signature, export=args.export, tags=tags,
                             builder_timeout=args.builder_timeout, params=params,
                             max_statements=args.max_statements)
    try:
        results = runnable.run(feeds, args.fetch, repeat=args.repeat)
        for name, value in zip(args.fetch, results):
            print(format_result(name, value, precision=args.precision))
        if args.save:
            for path in save_values(args.save, zip(args.fetch, results)):
                print(f"wrote {path}")
        if args.save_variables:
            for path in runnable.save_variables(args.save_variables):
                print(f"wrote {path}")
    finally:
        runnable.close()
    return EXIT_OK


def tags_of(text: str | None) -> list[str] | None:
    """The tags of ``--tags TAG,...`` (blanks around and empty names dropped); None when not given."""
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _add_inspect(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.tools.commands import add_inspect  # no TensorFlow behind this

    add_inspect(subparsers)


def _add_graph(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.tools.commands import add_graph  # no TensorFlow behind this

    add_graph(subparsers)


def _run_locked_build(args: argparse.Namespace, spec: Spec) -> int:
    from graphdsl.assemble.lock import locked_build, lock_path

    paths, differences, notes = locked_build(spec, args.out, builder_timeout=args.builder_timeout)
    for path in paths:
        print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if differences:
        print(f"error: the exports written differ from {lock_path(args.spec)}:", file=sys.stderr)
        for line in differences:
            print(f"    {line}", file=sys.stderr)
        print("  help: if the change is intended (a new TensorFlow, a changed spec), lock again "
              f"with 'graphdsl lock {args.spec}'", file=sys.stderr)
        return EXIT_FAILURE
    print(f"the exports match {lock_path(args.spec)}")
    return EXIT_OK


def _add_lock(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lock",
        help="write SPEC.lock: the sources' and the exports' content hashes",
        description="Build SPEC into a temporary directory and write SPEC.lock beside it: the "
        "versions, a template's parameters and included files, each source's path, kind, options "
        "and file hashes, and each export's file hashes. 'graphdsl build --locked' checks a build "
        "against it (with the same parameters).",
    )
    add_common(parser, spec=True, params=True)
    parser.set_defaults(run=_run_lock)


def _run_lock(args: argparse.Namespace) -> int:
    from graphdsl.lang.load import load_spec

    spec = load_spec(Path(args.spec), params=params_of(args), max_statements=args.max_statements)
    import_tensorflow()
    from graphdsl.assemble.lock import write_lock

    print(f"wrote {write_lock(spec)}")
    return EXIT_OK


def _add_explain(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="print how an artifact was made (spec, sources, versions)",
        description="Print the provenance record a build put into ARTIFACT: the graphdsl and "
        "TensorFlow versions, the parameters, the sources by content and the spec's text.",
    )
    parser.add_argument("artifact", type=path_argument, metavar="ARTIFACT", help="a SavedModel directory, a .meta "
                        "file, a frozen .pb or .pbtxt, or a build's output directory")
    parser.add_argument("--spec-out", type=path_argument, metavar="FILE", help="also write the spec it was built "
                        "from to FILE, a template's included files in their places relative to "
                        "FILE and its parameters to FILE's name with .params.yaml (next to the same "
                        "sources, built with those parameters, it builds the same bytes)")
    parser.set_defaults(run=_run_explain)


def _run_explain(args: argparse.Namespace) -> int:
    import_tensorflow()
    from graphdsl.assemble.provenance import check_record, params_path, read_provenance, write_back

    where, text = read_provenance(args.artifact)
    check_record(text, where)
    print(f"# the provenance of {args.artifact}, from {where}")
    print(text, end="")
    if args.spec_out:
        out = Path(args.spec_out)
        written = write_back(text, where, out)
        for path, new in written.items():
            print(f"wrote {path}" if new else f"kept {path} (it holds that text already)")
        if params_path(out) in written:
            print(f"build it with: graphdsl build {out} --params {params_path(out)} -o OUTDIR")
    return EXIT_OK


EXIT_DIFFERENT = 1  # graphdsl diff: the two sides differ (as diff(1) does)
EXIT_DIFF_TROUBLE = 2  # graphdsl diff: a side could not be read


def _add_diff(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="show what two specs or built models differ in",
        description="Compare A and B (each a spec, composed in memory, a build's output directory, "
        "a SavedModel, a .meta or a frozen GraphDef): namespaces, ops, variables, functions and "
        "signatures added, removed or changed. Exit 0 when equal, 1 when different, 2 on trouble.",
    )
    parser.add_argument("a", type=path_argument, metavar="A", help="a .gcomp spec or an artifact")
    parser.add_argument("b", type=path_argument, metavar="B", help="a .gcomp spec or an artifact")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON")
    add_common(parser, params=True)
    for side in ("a", "b"):
        parser.add_argument(f"--{side}-param", action="append", default=[], metavar="NAME=VALUE",
                            help=f"a template parameter's value for {side.upper()} only (wins over --param)")
    parser.set_defaults(run=_run_diff)


def _run_diff(args: argparse.Namespace) -> int:
    import json

    from graphdsl.lang.params import ParamValues

    import_tensorflow()
    from graphdsl.assemble.diff import compare, is_spec, render, view_of

    try:
        common, views = params_of(args), []
        if common and not (is_spec(args.a) or is_spec(args.b)):
            raise ParamError(f"--param and --params set a spec's parameters, and neither A nor B is a "
                             f"{schema.SPEC_SUFFIX} spec", hint="a build records the parameters it was built with")
        for side, target, own in (("a", args.a, args.a_param), ("b", args.b, args.b_param)):
            values = ParamValues.from_command_line(own, f"--{side}-param")
            if values and not is_spec(target):
                raise ParamError(f"{side.upper()} ({target}) is not a {schema.SPEC_SUFFIX} spec, so it "
                                 "takes no parameters", hint="a build records the parameters it was built with")
            views.append(view_of(target, params=common.merged(values) if common else values,
                                 max_statements=args.max_statements))
        result = compare(*views)
    except GraphDslError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_DIFF_TROUBLE
    except OSError as error:
        print(unreadable(error).render(), file=sys.stderr)
        return EXIT_DIFF_TROUBLE
    print(json.dumps(result, indent=2) if args.json else render(result))
    return EXIT_OK if result["equal"] else EXIT_DIFFERENT


def _add_fmt(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.tools.fmt_command import add_fmt  # no TensorFlow behind this

    add_fmt(subparsers)


def _add_evolve(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.evolve.commands import add_evolve  # no TensorFlow behind this

    add_evolve(subparsers)


def _add_batch(subparsers: argparse._SubParsersAction) -> None:
    from graphdsl.batch.commands import add_batch  # no TensorFlow behind this

    add_batch(subparsers)


# Every subcommand, in the order `graphdsl --help` lists them. Add new ones here.
_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_check,
    _add_expand,
    _add_plan,
    _add_build,
    _add_run,
    _add_inspect,
    _add_graph,
    _add_lock,
    _add_explain,
    _add_diff,
    _add_fmt,
    _add_evolve,
    _add_batch,
]


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------


class _UsageExit(Exception):
    def __init__(self, code: int, prog: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.prog = prog
        self.message = message


class _ArgumentParser(argparse.ArgumentParser):
    """Reports usage errors with EXIT_USAGE instead of argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise _UsageExit(EXIT_USAGE, self.prog, message)


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
