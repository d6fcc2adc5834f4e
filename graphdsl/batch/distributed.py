"""A batch on a Dask distributed cluster: members built on its workers, outputs brought back to OUTROOT.

Dask is the engine (``pip install 'graphdsl[dask]'``); graphdsl only submits one task per member.
A worker builds the member into a temporary folder of its own, with the sources it can see at the
member's spec path, and returns the files; they are put into ``OUTROOT/KEY`` through
:class:`~graphdsl.assemble.outdir.OutputDir`, all or nothing, as a local build would. A worker
process keeps TensorFlow and its loaded sources between tasks (graphdsl.batch.member's cache).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

from graphdsl.assemble.manifest import OUTPUTS_LIST
from graphdsl.assemble.outdir import OutputDir
from graphdsl.batch.roster import Member
from graphdsl.errors import GraphDslError


def run_on_dask(members: list[Member], outroot: Path, scheduler: Any,
                builder_timeout: float | None) -> Iterable[tuple[Member, dict[str, Any]]]:
    """Submits every member to the cluster; yields ``(member, report)`` as each one comes back."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise GraphDslError("--scheduler needs Dask's distributed scheduler, which is not installed",
                            hint="pip install 'graphdsl[dask]'") from None
    owned = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, set_as_default=False) if owned else scheduler
    except (OSError, ValueError, TimeoutError) as e:
        raise GraphDslError(f"cannot reach the Dask scheduler at {scheduler}: {e}",
                            hint="start it (dask scheduler) or give its address as tcp://HOST:PORT") from None
    try:
        futures = {client.submit(build_remotely, str(m.spec), m.arguments, builder_timeout, pure=False): m
                   for m in members}
        with client.as_current():  # as_completed finds its client this way: it is not the default
            finished = as_completed(futures)
        for future in finished:
            member = futures[future]
            try:
                report, files = future.result()
            except Exception as error:  # the task itself was lost (a worker died)
                yield member, {"status": "failed", "seconds": 0.0, "outputs": {},
                               "error": f"error: the Dask task building it failed: {type(error).__name__}: {error}"}
                continue
            if report["status"] == "ok":
                report = _put_in_place(report, files, outroot / member.key)
            yield member, report
    finally:
        if owned:
            client.close()


def build_remotely(spec: str, params: Any, builder_timeout: float | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """On a worker: builds the member into a temporary folder and returns its report and files."""
    from graphdsl.batch.member import run_member

    folder = Path(tempfile.mkdtemp(prefix="graphdsl-member-"))
    try:
        report = run_member(spec, params, str(folder / "out"), builder_timeout)
        files: dict[str, bytes] = {}
        if report["status"] == "ok":
            for name in report["outputs"]:
                files[name] = (folder / "out" / name).read_bytes()
        return report, files
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _put_in_place(report: dict[str, Any], files: dict[str, bytes], outdir: Path) -> dict[str, Any]:
    """Writes a member's files into ``outdir``, all or nothing; a failure becomes the member's."""
    try:
        with OutputDir(outdir) as out:
            tops: dict[str, Path] = {}
            for name, data in sorted(files.items()):
                top, _, rest = name.partition("/")
                if top == OUTPUTS_LIST:
                    continue
                if top not in tops:
                    tops[top] = out.path(top)
                path = tops[top] / rest if rest else tops[top]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    except GraphDslError as error:
        return {**report, "status": "failed", "outputs": {}, "error": error.render()}
    except OSError as error:  # OUTROOT's disk, not the member: the member failed, the others go on
        where = f" ({error.filename})" if error.filename else ""
        failure = GraphDslError(f"{outdir}: the files the worker built cannot be written here: "
                                f"{error.strerror or error}{where}", hint="check the folder and its disk, then --resume")
        return {**report, "status": "failed", "outputs": {}, "error": failure.render()}
    return report
