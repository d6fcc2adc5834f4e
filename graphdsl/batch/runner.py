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
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from graphdsl.assemble.files import write_atomically
from graphdsl.batch.member import STOPPED, outputs_intact
from graphdsl.batch.roster import SUMMARY, Member
from graphdsl.errors import GraphDslError
from graphdsl.tools import progress

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
              on_result: Callable[[MemberResult, int, int], None] | None = None,
              on_interrupt: Callable[[int], None] | None = None) -> BatchResult:
    """Builds every member into ``outroot/KEY``; see the module's docstring.

    ``jobs``: local worker processes (default: the machine's cores; 0 builds in this process).
    ``scheduler``: a Dask scheduler address (``tcp://host:8786``) or a ``dask.distributed.Client``.
    ``on_result(result, done, total)`` is called as each member finishes.

    On Ctrl-C (KeyboardInterrupt) local workers start no further member; ``on_interrupt(n)`` is
    told how many are still being built, and they are waited for and recorded (a second Ctrl-C
    stops them at once: a build stopped so leaves the member's folder as it was). Then the
    KeyboardInterrupt goes on.
    """
    _check_keys(members)
    outroot = Path(outroot)
    try:
        outroot.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file there, or above it
        raise GraphDslError(f"{outroot}: cannot be the batch's folder: {e.strerror or e}",
                            hint="give -o a folder, new or one an earlier batch wrote") from None
    summary = _Summary(outroot, members, resume)
    todo = [m for m in members if m.key not in summary.complete]
    done: list[MemberResult] = []
    total = len(members)
    for member in members:
        if member.key in summary.complete:
            done.append(MemberResult(member.key, str(member.spec), member.params, "skipped",
                                     **summary.complete[member.key]))
            if on_result is not None:
                on_result(done[-1], len(done), total)

    def record(member: Member, report: dict[str, Any]) -> None:
        result = MemberResult(member.key, str(member.spec), member.params, report["status"],
                              report["seconds"], report["outputs"], report["error"], report.get("worker", ""))
        summary.add(result)
        done.append(result)
        if on_result is not None:
            on_result(result, len(done), total)

    if todo:
        pool: _Pool | None = None
        if scheduler is not None:
            from graphdsl.batch.distributed import run_on_dask

            stream: Iterable[tuple[Member, dict[str, Any]]] = run_on_dask(todo, outroot, scheduler, builder_timeout)
        else:
            stream = _run_local(todo, outroot, os.cpu_count() or 1 if jobs is None else jobs, builder_timeout)
            pool = stream if isinstance(stream, _Pool) else None
        try:
            for member, report in stream:
                record(member, report)
        except KeyboardInterrupt:
            if pool is not None:
                if on_interrupt is not None:
                    on_interrupt(pool.building())
                for member, report in pool.stop():
                    record(member, report)
            raise
        finally:
            if pool is not None:
                pool.abort()
    order = {m.key: i for i, m in enumerate(members)}
    return BatchResult(outroot, sorted(done, key=lambda r: order[r.key]))


def _check_keys(members: Sequence[Member]) -> None:
    """Each key names a folder of its own under OUTROOT: one name, none twice, not the summary's."""
    seen: set[str] = set()
    for member in members:
        key = member.key
        if not key or key in (".", "..", SUMMARY) or "/" in key or os.sep in key or "\0" in key:
            raise GraphDslError(f"member key {key!r} does not name a folder of its own under OUTROOT",
                                hint=f"give a key that is one folder name, not '.', '..' or '{SUMMARY}'")
        if key in seen:
            raise GraphDslError(f"two members have the key '{key}'", hint="give each member a key of its own")
        seen.add(key)


def _run_local(members: list[Member], outroot: Path, jobs: int,
               builder_timeout: float | None) -> Iterable[tuple[Member, dict[str, Any]]]:
    from graphdsl.batch.member import run_member

    if jobs <= 0:  # in this process: no start-up at all, for a few members or a debugger
        return ((member, run_member(str(member.spec), member.arguments, str(outroot / member.key), builder_timeout))
                for member in members)
    return _Pool(members, outroot, jobs, builder_timeout)


class _Pool:
    """Local worker processes building members; iterating yields ``(member, report)`` as each finishes.

    Workers start once, import TensorFlow once and keep their loaded sources (graphdsl.batch.member).
    A worker that dies (a crash in TensorFlow, the out-of-memory killer, ``os._exit`` in a builder)
    breaks the whole process pool, and every member not finished fails with it. So each worker
    says which member it starts, and when a pool breaks only the members being built are suspects:
    the others go to a new pool. A lone suspect is the one that broke it and fails; several are
    built again one at a time, alone in a pool of one worker. A pool that breaks before any member
    started (its workers cannot start) fails its members.
    """

    def __init__(self, members: list[Member], outroot: Path, jobs: int, builder_timeout: float | None) -> None:
        import multiprocessing

        # spawn: a fresh interpreter per worker, never a fork of a process that runs threads
        self.context = multiprocessing.get_context("spawn")
        self.members, self.outroot, self.jobs, self.builder_timeout = members, outroot, jobs, builder_timeout
        self.pool: Any = None
        self.workers: list[Any] = []  # the pool's processes
        self.futures: dict[Any, Member] = {}
        self.reported: set[Any] = set()
        self.said: Any = None  # where workers say which member they start
        self.started: set[str] = set()
        # Once this file exists, workers start no member (after Ctrl-C). Not the pool's own
        # cancelling: a future it cancels is never reported to as_completed, and, on Python 3.11,
        # its manager thread fails on a cancelled future if a worker dies then.
        self.folder = Path(tempfile.mkdtemp(prefix="graphdsl-batch-"))
        self.stop_flag = self.folder / "stop"

    def __iter__(self) -> Iterator[tuple[Member, dict[str, Any]]]:
        queue, alone = list(self.members), list[Member]()
        while queue or alone:
            isolated = not queue
            batch = alone[:1] if isolated else queue
            broken: list[Member] = []
            finished: set[str] = set()
            for member, report in self._round(batch, 1 if isolated else min(self.jobs, len(batch))):
                if report is None:
                    broken.append(member)
                else:
                    finished.add(member.key)
                    yield member, report
            self._close()
            running = self.started - finished
            suspects = [m for m in broken if m.key in running]
            if broken and not running:  # nothing started: the workers themselves could not start
                for member in [*broken, *(alone[1:] if isolated else alone)]:
                    yield member, _failed("error: the batch's worker processes stopped before building anything; "
                                          "build a member alone with 'graphdsl build' to see why")
                return
            if isolated:
                alone = alone[1:]
            else:
                queue = [m for m in broken if m not in suspects]
                if len(suspects) > 1:
                    alone, suspects = alone + suspects, []
            for member in suspects:
                yield member, _failed("error: the worker process building it stopped before the build finished "
                                      "(it crashed, or was killed, perhaps for lack of memory, or a builder called "
                                      "os._exit); build it alone with 'graphdsl build' to see how")

    def _round(self, batch: list[Member], workers: int) -> Iterator[tuple[Member, dict[str, Any] | None]]:
        """Builds ``batch`` in a new pool; yields each member's report, None when the pool broke under it."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        from graphdsl.batch.member import run_started, start_worker

        # Each worker writes the key of the member it starts here, in one write of a few bytes (whole,
        # even from several processes, and before the build: a crash loses nothing); read as results come.
        self.said, said = self.context.Pipe(duplex=False)
        self.started = set()
        before = set(multiprocessing.active_children())
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=self.context, initializer=start_worker,
                                        initargs=(said, str(self.stop_flag)))
        self.futures = {self.pool.submit(run_started, member.key, str(member.spec), member.arguments,
                                         str(self.outroot / member.key), self.builder_timeout): member
                        for member in batch}
        self.workers = [p for p in multiprocessing.active_children() if p not in before]  # started by submit
        self.reported = set()
        for future in as_completed(self.futures):
            self._heard()
            self.reported.add(future)
            try:
                report = future.result()
            except BrokenProcessPool:
                yield self.futures[future], None
                continue
            except Exception as error:  # noqa: BLE001 - the task could not be sent, or its result read back
                report = _failed(f"error: the worker building it stopped: {type(error).__name__}: {error}")
            yield self.futures[future], report

    def _heard(self) -> None:
        """Reads the keys of the members workers started since last asked."""
        try:
            while self.said is not None and self.said.poll():
                self.started.add(self.said.recv())
        except EOFError:  # every writer is gone, and all was read
            pass

    def building(self) -> int:
        """How many members workers have started and not yet reported."""
        self._heard()
        return len(self.started - {self.futures[f].key for f in self.reported})

    def stop(self) -> Iterator[tuple[Member, dict[str, Any]]]:
        """After Ctrl-C: no member starts any more; yields the reports of those being built as
        they finish (workers ignore Ctrl-C), so that nothing built is lost."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        if self.pool is None:
            return
        self.stop_flag.touch()
        for future in as_completed([f for f in self.futures if f not in self.reported]):
            self.reported.add(future)
            try:
                report = future.result()
            except BrokenProcessPool:
                continue
            except Exception as error:  # noqa: BLE001 - as in _round
                report = _failed(f"error: the worker building it stopped: {type(error).__name__}: {error}")
            if report["status"] != STOPPED:
                yield self.futures[future], report

    def abort(self) -> None:
        """Ends the pool: no member starts any more, and those still being built (after a second
        Ctrl-C, or an error) are stopped; a build stopped so leaves its folder as it was."""
        try:
            if self.pool is not None:
                self.stop_flag.touch()
                try:
                    if not all(f.done() for f in self.futures):
                        self._terminate()
                    self._close()
                except KeyboardInterrupt:  # Ctrl-C while the workers end: end them now
                    self._terminate()
                    self._close()
                    raise
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _terminate(self) -> None:
        for process in self.workers:
            if process.is_alive():
                process.terminate()

    def _close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
        self.workers = []  # their arguments hold the pool's queues, whose semaphores go with them
        self._heard()  # every word: the round's processes are gone
        if self.said is not None:
            self.said.close()
            self.said = None


def _failed(error: str) -> dict[str, Any]:
    return {"status": "failed", "seconds": 0.0, "outputs": {}, "error": error}


class _Summary:
    """``OUTROOT/batch.json``: every member's record, rewritten as each one finishes."""

    def __init__(self, outroot: Path, members: Sequence[Member], resume: bool) -> None:
        self.path = outroot / SUMMARY
        previous = self._read() if resume else {}
        self.records: dict[str, dict[str, Any]] = {}
        self.complete: dict[str, dict[str, Any]] = {}
        for member in members:
            old = previous.get(member.key)
            if (isinstance(old, dict) and old.get("status") == "ok" and old.get("spec") == str(member.spec)
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

    def interrupted(self, building: int) -> None:
        """Says, after Ctrl-C, that the members being built are waited for."""
        if not building:
            return
        text = (f"interrupted: waiting for the {building} members being built, to record them (Ctrl-C again to "
                "stop them)" if building != 1 else
                "interrupted: waiting for the member being built, to record it (Ctrl-C again to stop it)")
        if self.terminal:
            self.task.describe(f"batch: {text}")
        else:
            print(text, file=self.stream, flush=True)

    def _text(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = f", {(self.total - self.done) / rate:.0f} s left" if rate else ""
        return f"batch: {self.done}/{self.total} done, {self.failed} failed, {rate:.1f}/s{left}"
