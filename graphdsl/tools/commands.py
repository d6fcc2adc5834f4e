"""The ``inspect`` and ``graph`` subcommands of the command line (registered by ``graphdsl.cli``).

Like every subcommand, each is an ``add_NAME(subparsers)`` that sets ``run``; TensorFlow is
imported inside ``run`` only, so that registering them costs nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from graphdsl.cli import EXIT_OK, add_common, params_of, path_argument, tags_of, usage_error
from graphdsl.errors import GraphDslError
from graphdsl.lang import schema
from graphdsl.tf.quiet import import_tensorflow
from graphdsl.tools import jsonout


def add_inspect(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``graphdsl inspect SOURCE``."""
    parser = subparsers.add_parser(
        "inspect",
        help="show what a source graph holds: signatures, variables, ops by name scope",
        description="Load SOURCE as a spec would (a .pb/.pbtxt GraphDef, a .meta MetaGraph, a "
        "SavedModel directory, FILE.py:FUNCTION) or read a build's OUTDIR, and print its signatures "
        '(with the "@KEY" to write in a spec), placeholders, variables (with the copy modes they '
        "allow) and ops grouped by name scope; with --op, one element and what copying it brings.",
    )
    parser.add_argument("source", type=path_argument, metavar="SOURCE", help="a graph file, SavedModel, FILE.py:FUNCTION or OUTDIR")
    parser.add_argument("--checkpoint", type=path_argument, metavar="PREFIX", help="a .meta file's checkpoint (its values)")
    parser.add_argument("--tags", metavar="TAG,...", help="the SavedModel MetaGraph to read "
                        f"(default: its only one, else {schema.DEFAULT_TAG})")
    parser.add_argument("--arg", action="append", default=[], metavar="KEY=YAML",
                        help="a keyword argument of a Python builder, as a YAML literal")
    parser.add_argument("--export", metavar="NAME", help="only this export of an OUTDIR")
    parser.add_argument("--depth", type=int, default=1, metavar="N",
                        help="name scope levels to show ops at (default 1)")
    parser.add_argument("--match", metavar="GLOB", help='only ops and variables matching, e.g. "encoder/*"')
    parser.add_argument("--op", metavar="NAME", help="an op, tensor, variable or @KEY: its inputs, "
                        "consumers, and what copying it brings along")
    add_common(parser, output_format=True)
    parser.add_argument("--json", dest="format", action="store_const", const="json",
                        help="the same as --format json")
    parser.set_defaults(run=_run_inspect)


def _run_inspect(args: argparse.Namespace) -> int:
    builder_args = {}
    for item in args.arg:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            return usage_error(args, "inspect", f"--arg takes KEY=YAML, got '{item}'")
        value = _yaml(text)
        if value is _BAD:
            return usage_error(args, "inspect", f"--arg {key}: '{text}' is not a YAML literal")
        builder_args[key] = value
    import_tensorflow()
    from graphdsl.tools.inspect import inspect
    from graphdsl.tools.inspect_text import render

    tags = tags_of(args.tags)
    if tags == []:
        return usage_error(args, "inspect", f"--tags takes TAG,... (names separated by commas), got '{args.tags}'")
    result = inspect(args.source, checkpoint=args.checkpoint, tags=tags, args=builder_args,
                     export=args.export, depth=args.depth, match=args.match, op=args.op)
    if jsonout.wants_json(args):
        jsonout.emit(args, {"ok": True, **result})
    else:
        print(render(result))
    return EXIT_OK


def add_graph(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``graphdsl graph SPEC_OR_OUTDIR -o FILE``."""
    parser = subparsers.add_parser(
        "graph",
        help="draw a composition: namespaces, binds, stops, aliases, signatures",
        description="Draw a spec (composed in memory) or a build's OUTDIR: sources, namespaces as "
        "clusters of ops collapsed by name scope, binds as highlighted edges, stops, aliases, and the "
        "exports' signatures as the inputs and outputs. FILE ends in .dot (no dependency), .svg or "
        ".png (Graphviz's dot); --tensorboard writes the graph for TensorBoard's graph dashboard.",
    )
    parser.add_argument("target", type=path_argument, metavar="SPEC_OR_OUTDIR", help="a .gcomp file or a build's output directory")
    parser.add_argument("-o", "--out", type=path_argument, metavar="FILE", help="the picture: FILE.dot, FILE.svg or FILE.png")
    parser.add_argument("--depth", type=int, default=1, metavar="N",
                        help="name scope levels shown inside a namespace (0: one box per namespace; default 1)")
    parser.add_argument("--export", metavar="NAME", help="which export of an OUTDIR (default: the first)")
    parser.add_argument("--tensorboard", type=path_argument, metavar="LOGDIR", help="also write a TensorBoard event file of the graph")
    add_common(parser, params=True)
    parser.set_defaults(run=_run_graph)


def _run_graph(args: argparse.Namespace) -> int:
    if args.out is None and args.tensorboard is None:
        return usage_error(args, "graph", "give -o FILE, --tensorboard LOGDIR, or both")
    if args.depth < 0:
        return usage_error(args, "graph", f"--depth must be 0 or more, not {args.depth}")
    params = params_of(args)
    import_tensorflow()
    from graphdsl.tools import progress
    from graphdsl.tools.render import write_picture, write_tensorboard
    from graphdsl.tools.view import to_dot

    target = Path(args.target)
    with progress.task(f"{'reading' if target.is_dir() else 'composing'} {target}"):
        view, close = _view(target, args.export, params, args.max_statements)
    try:
        if args.out is not None:
            with progress.task(f"drawing {args.out}"):
                print(f"wrote {write_picture(to_dot(view, args.depth), args.out)}")
        if args.tensorboard is not None:
            with progress.task(f"writing {args.tensorboard}"):
                event_file = write_tensorboard(view.graph_def, args.tensorboard)
            print(f"wrote {event_file} (tensorboard --logdir {args.tensorboard})")
    finally:
        close()
    return EXIT_OK


def _view(target: Path, export: str | None, params: Any = None, max_statements: int | None = None) -> tuple[Any, Any]:
    """The view of a spec or of one export of an OUTDIR, and what closes what it opened."""
    from graphdsl.assemble.manifest import BUILD_MANIFEST, read_manifest
    from graphdsl.tools.outdir import select_exports
    from graphdsl.tools.view import view_of_composition, view_of_outdir

    if target.is_dir():
        manifest = read_manifest(target)
        if manifest is None:
            raise GraphDslError(f"{target}: not a build's output directory (no {BUILD_MANIFEST})",
                                hint="give a .gcomp spec, or a directory 'graphdsl build -o' wrote")
        chosen = select_exports(target, manifest.exports, export)
        if not chosen:
            raise GraphDslError(f"{target}: the build wrote no export", hint="add an export to the spec")
        return view_of_outdir(target, manifest, chosen[0]), lambda: None
    if export is not None:
        raise GraphDslError("--export applies to a build's output directory, not to a spec",
                            hint="draw the spec without --export, or the OUTDIR a build wrote")
    from graphdsl.assemble.compose import compose

    composition = compose(target, params=params, max_statements=max_statements)
    return view_of_composition(composition), composition.close


_BAD = object()


def _yaml(text: str) -> Any:
    import yaml

    from graphdsl import yaml_input

    try:
        return yaml_input.load(text)
    except yaml.YAMLError:
        return _BAD
