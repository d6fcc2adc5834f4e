"""``graphdsl batch SPEC -o OUTROOT`` (registered by ``graphdsl.cli``; nothing heavy imported here)."""

from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_FAILURE = 1


def add_batch(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``graphdsl batch``."""
    from graphdsl.cli import add_common, path_argument  # already imported: the command line calls this

    parser = subparsers.add_parser(
        "batch",
        help="build a spec many times, with different parameters, in parallel or on a Dask cluster",
        description="Build SPEC once per member into OUTROOT/KEY. Members come from parameter files "
        "(--params, files or folders of .yaml; the key is the file's stem), from sweeps (--sweep "
        "NAME=V1,V2 or NAME=START..STOP[..STEP], crossed; the key is like layers=2,width=16), or both "
        "(crossed). A parameter NAME is a template parameter of SPEC; SOURCE.OPTION sets that option "
        "of the spec's source (a builder's argument). Failures do not stop the others; OUTROOT/batch.json records every member as it "
        "finishes. Exit code 0 when every member was built, 1 otherwise.",
    )
    add_common(parser, spec=True, builder_timeout=True)
    parser.add_argument("-o", "--out", type=path_argument, metavar="OUTROOT", required=True,
                        help="where each member's folder goes")
    parser.add_argument("--params", nargs="+", type=path_argument, default=[], metavar="FILE_OR_DIR",
                        help="parameter files (.yaml), or folders of them")
    parser.add_argument("--sweep", action="append", default=[], metavar="NAME=VALUES",
                        help="values of one parameter: V1,V2,... or START..STOP[..STEP]; repeat to cross")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="worker processes (default: the machine's cores; 0: build in this process)")
    parser.add_argument("--resume", action="store_true",
                        help="skip the members an earlier run into OUTROOT built whose outputs are intact")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on a Dask distributed cluster (tcp://HOST:PORT; pip install 'graphdsl[dask]')")
    parser.set_defaults(run=_run_batch)


def _run_batch(args: argparse.Namespace) -> int:
    from graphdsl.batch.roster import members
    from graphdsl.batch.runner import SUMMARY, Reporter, run_batch

    if args.jobs is not None and args.jobs < 0:
        print(f"graphdsl batch: error: -j must be 0 or more, not {args.jobs}", file=sys.stderr)
        return 64
    found = members(args.spec, args.params, args.sweep)
    with Reporter(len(found)) as reporter:
        result = run_batch(found, args.out, jobs=args.jobs, resume=args.resume, scheduler=args.scheduler,
                           builder_timeout=args.builder_timeout, on_result=reporter,
                           on_interrupt=reporter.interrupted)
    skipped = sum(1 for r in result.results if r.status == "skipped")
    built = sum(1 for r in result.results if r.status == "ok")
    print(f"{len(result.results)} members: {built} built, {skipped} already built, {len(result.failed)} failed; "
          f"wrote {result.outroot / SUMMARY}")
    for failure in result.failed:
        print(f"\nmember {failure.key} failed:\n{failure.error}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILURE
