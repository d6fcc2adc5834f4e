"""Running a batch: members built by long-lived workers, here or on a Dask cluster, summarized as they finish.

Locally, ``jobs`` worker processes start once, import TensorFlow once and keep the sources they load
(:class:`~graphdsl.tf.cache.SourceCache`), so a member costs what its composition costs. With a
``scheduler`` the members go to a Dask distributed cluster instead (``pip install
'graphdsl[dask]'``): each worker builds into a folder of its own and sends the files back, and
they are put in place under OUTROOT as a build would put them (all or nothing). Either way:

- a failing member does not stop the others; its error is kept as ``graphdsl build`` prints it;
- ``OUTROOT/batch.json`` is rewritten (atomically) as each member finishes, so an interrupted
  batch loses nothing it finished, and ``resume`` skips the members whose outputs are complete:
  recorded as built, with the same spec and parameters, and every output file still there with
  the hash recorded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from graphdsl.assemble.files import write_atomically
from graphdsl.batch.member import outputs_intact
from graphdsl.batch.roster import Member
from graphdsl.errors import GraphDslError
from graphdsl.tools import progress

SUMMARY = "batch.json"
FORMAT = 1


@dataclass
class MemberResult:
    """How one member went: ``ok``, ``failed`` or ``skipped`` (complete from an earlier run)."""

    key: str
    spec: str
    params: dict[str, Any]
    status: str
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    error: str | None = None
    worker: str = ""  # HOST:PID of the process that built it

    def record(self) -> dict[str, Any]:
        return {"spec": self.spec, "params": self.params, "status": "ok" if self.status == "skipped" else self.status,
                "seconds": round(self.seconds, 4), "outputs": self.outputs, "error": self.error,
                "worker": self.worker}


@dataclass
class BatchResult:
    """Every member's result, in the members' order, and where the summary is."""

    outroot: Path
    results: list[MemberResult]

    @property
    def failed(self) -> list[MemberResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def run_batch(members: Sequence[Member], outroot: str | Path, *, jobs: int | None = None, resume: bool = False,
              scheduler: Any = None, builder_timeout: float | None = None,
              on_result: Callable[[MemberResult, int, int], None] | None = None) -> BatchResult:
    """Builds every member into ``outroot/KEY``; see the module's docstring.

    ``jobs``: local worker processes (default: the machine's cores; 0 builds in this process).
    ``scheduler``: a Dask scheduler address (``tcp://host:8786``) or a ``dask.distributed.Client``.
    ``on_result(result, done, total)`` is called as each member finishes.
    """
    outroot = Path(outroot)
    outroot.mkdir(parents=True, exist_ok=True)
    summary = _Summary(outroot, members, resume)
    todo = [m for m in members if m.key not in summary.complete]
    done = [MemberResult(m.key, str(m.spec), m.params, "skipped", **summary.complete[m.key])
            for m in members if m.key in summary.complete]
    total = len(members)
    for result in done:
        if on_result is not None:
            on_result(result, len(done), total)
    finished = len(done)
    if todo:
        if scheduler is not None:
            from graphdsl.batch.distributed import run_on_dask

            stream = run_on_dask(todo, outroot, scheduler, builder_timeout)
        else:
            stream = _run_local(todo, outroot, os.cpu_count() or 1 if jobs is None else jobs, builder_timeout)
        for member, report in stream:
            result = MemberResult(member.key, str(member.spec), member.params, report["status"],
                                  report["seconds"], report["outputs"], report["error"], report.get("worker", ""))
            summary.add(result)
            done.append(result)
            finished += 1
            if on_result is not None:
                on_result(result, finished, total)
    order = {m.key: i for i, m in enumerate(members)}
    return BatchResult(outroot, sorted(done, key=lambda r: order[r.key]))


def _run_local(members: list[Member], outroot: Path, jobs: int,
               builder_timeout: float | None) -> Iterable[tuple[Member, dict[str, Any]]]:
    from graphdsl.batch.member import run_member

    if jobs <= 0:  # in this process: no start-up at all, for a few members or a debugger
        for member in members:
            yield member, run_member(str(member.spec), member.arguments, str(outroot / member.key), builder_timeout)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from graphdsl.batch.member import start_worker

    # spawn: a fresh interpreter per worker, never a fork of a process that runs threads
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(members)), mp_context=context,
                             initializer=start_worker) as pool:
        futures = {pool.submit(run_member, str(member.spec), member.arguments, str(outroot / member.key),
                               builder_timeout): member for member in members}
        try:
            for future in as_completed(futures):
                yield futures[future], _report(future)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _report(future: Any) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as error:  # the worker itself died (killed, out of memory): the member failed
        return {"status": "failed", "seconds": 0.0, "outputs": {},
                "error": f"error: the worker building it stopped: {type(error).__name__}: {error}"}


class _Summary:
    """``OUTROOT/batch.json``: every member's record, rewritten as each one finishes."""

    def __init__(self, outroot: Path, members: Sequence[Member], resume: bool) -> None:
        self.path = outroot / SUMMARY
        previous = self._read() if resume else {}
        self.records: dict[str, dict[str, Any]] = {}
        self.complete: dict[str, dict[str, Any]] = {}
        for member in members:
            old = previous.get(member.key)
            if (old is not None and old.get("status") == "ok" and old.get("spec") == str(member.spec)
                    and old.get("params") == _jsonable(member.params)
                    and outputs_intact(outroot / member.key, old.get("outputs") or {})):
                self.records[member.key] = old
                self.complete[member.key] = {"seconds": old.get("seconds", 0.0), "outputs": old["outputs"],
                                             "worker": old.get("worker", "")}
            else:
                self.records[member.key] = {"spec": str(member.spec), "params": member.params,
                                            "status": "pending", "seconds": None, "outputs": {}, "error": None,
                                            "worker": ""}
        self._write()

    def add(self, result: MemberResult) -> None:
        self.records[result.key] = result.record()
        self._write()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise GraphDslError(f"{self.path}: cannot read the earlier batch's summary ({e})",
                                hint="remove it to build every member again") from None
        members = data.get("members") if isinstance(data, dict) else None
        return members if isinstance(members, dict) else {}

    def _write(self) -> None:
        data = {"format": FORMAT, "members": self.records}
        text = json.dumps(_jsonable(data), indent=1, default=str) + "\n"
        write_atomically(self.path, text.encode("utf-8"))


def _jsonable(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples as lists, keys as strings), to compare parameters."""
    return json.loads(json.dumps(value, default=str))


# -- what the command line shows -------------------------------------------------------------------


class Reporter:
    """Progress on a terminal (done, failed, rate, time left), plain lines otherwise; failures as they come."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.failed, self.done = total, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = progress.enabled(self.stream)
        self.started = time.monotonic()
        self.task = progress.task(self._text(), stream=self.stream)

    def __enter__(self) -> "Reporter":
        self.task.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.task.__exit__(*exc)

    def __call__(self, result: MemberResult, done: int, total: int) -> None:
        self.done = done
        if result.status == "failed":
            self.failed += 1
        self.task.describe(self._text())
        if not self.terminal:
            print(f"[{done}/{total}] {result.status} {result.key} ({result.seconds:.2f} s)", flush=True)

    def _text(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = f", {(self.total - self.done) / rate:.0f} s left" if rate else ""
        return f"batch: {self.done}/{self.total} done, {self.failed} failed, {rate:.1f}/s{left}"
