"""OUTDIR, written all or nothing, whole after a crash at any moment, one build at a time.

A build goes through :class:`OutputDir`:

1. **Lock.** It takes an exclusive ``flock`` on the OUTDIR directory for as long as it runs; a
   second build into the same OUTDIR fails at once with "OUTDIR is being built by another process".
2. **Stage.** Exports write into a fresh directory beside OUTDIR (same file system),
   ``.OUTDIR.graphdsl-new-XXXXXXXX``. A failed export discards it; OUTDIR is not touched.
3. **Commit, through a journal.** When every export succeeded, ``OUTDIR/.graphdsl-journal`` is
   written (flushed to disk) naming the staging directory, a backup directory
   ``.OUTDIR.graphdsl-old-XXXXXXXX``, the items to move aside (those this build replaces, and those
   the previous build wrote and this one does not) and the items to move in. Then each item is
   moved by one ``rename``, the list of items (``.graphdsl-outputs``) is rewritten, the journal is
   removed, and the two directories with it.
4. **Recover.** Every command that opens an OUTDIR (``build``, ``run``) first looks for a journal: if
   one is there, a build crashed mid-swap, and its swap is finished (each step of it can be done
   again; if the staged items are gone, it is undone instead). Then the staging and backup
   directories crashed builds left are removed. This runs under the lock, so never beside a live
   build.

So after a crash at any moment OUTDIR holds one whole build, the previous or the new one, as soon
as a graphdsl command looks at it. Items of OUTDIR that no build wrote (a user's files) are never
touched. No TensorFlow here: exports write into the paths it hands out, whatever they are.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from graphdsl.assemble.files import is_temporary, sync_directory, write_atomically
from graphdsl.assemble.manifest import OUTPUTS_LIST, is_plain_name, read_outputs, write_outputs
from graphdsl.errors import ExportError, GraphDslError

JOURNAL = ".graphdsl-journal"
_BUSY_HINT = "wait for that build to finish, or build into another directory"


class OutputDir:
    """Stages a build's outputs beside ``path`` and puts them in place only if all exports succeed.

    Leaving the ``with`` block normally commits; leaving it with an exception discards the staging
    directory, and ``path`` is left exactly as it was. See the module's docstring for how the
    commit survives a crash and how two builds are kept apart.

    - If any export fails, nothing in ``path`` has been touched: not a byte, not a timestamp.
    - On commit, every top-level item the build wrote (``model/``, ``model.meta``, ...) replaces the
      item of the same name in ``path``, and the items the previous build wrote but this one did not
      are removed; the list lives in ``path/.graphdsl-outputs``. Anything else in ``path`` (files a
      user put there) is left alone, so pointing a build at a shared directory is safe.
    - If the swap fails midway (say, a permission error), the items already swapped are put back
      before :class:`ExportError` is raised; if the process dies midway, the next graphdsl command
      on ``path`` finishes the swap.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.target = Path(path)
        self._staging: Path | None = None
        self._claimed: set[str] = set()
        self._lock: _Lock | None = None
        self._created = False

    @property
    def staging(self) -> Path:
        """The directory exports write into while the build runs."""
        if self._staging is None:
            raise ExportError(f"{self.target}: the output directory is not open",
                              hint="use it as 'with OutputDir(path) as out:'")
        return self._staging

    def path(self, name: str) -> Path:
        """The staging path for the top-level output item ``name`` (a file or directory name)."""
        if not is_plain_name(name) or name in (OUTPUTS_LIST, JOURNAL):
            raise ExportError(f"{self.target}: '{name}' is not a plain output name",
                              hint="name an item directly inside the output directory, like 'model.pb'")
        if name in self._claimed:
            raise ExportError(f"{self.target / name}: written twice in one build",
                              hint="give each export its own output name")
        self._claimed.add(name)
        return self.staging / name

    def label(self, name: str) -> Path:
        """Where item ``name`` will be once committed: what messages about it should name."""
        return self.target / name

    def __enter__(self) -> "OutputDir":
        if self.target.exists() and not self.target.is_dir():
            raise ExportError(f"{self.target}: exists and is not a directory",
                              hint="choose another output directory, or remove the file")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.target.mkdir()
            self._created = True
        except FileExistsError:
            pass
        except OSError as e:
            raise ExportError(f"{self.target}: cannot create the output directory: {e.strerror}",
                              hint="check that the parent directory is writable") from e
        self._lock = _Lock.take(self.target)
        if self._lock is None:
            raise ExportError(f"{self.target} is being built by another process", hint=_BUSY_HINT)
        try:
            recover(self.target)
            real = _real(self.target)
            self._staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.graphdsl-new-", dir=real.parent))
        except BaseException as e:
            self._release(failed=True)
            if isinstance(e, OSError):
                raise ExportError(f"{self.target}: cannot create a staging directory beside it: "
                                  f"{e.strerror}", hint="check that the parent directory is writable") from e
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        failed = exc_type is not None
        try:
            if not failed:
                self.commit()
            else:
                self.abort()
        except BaseException:
            failed = True
            raise
        finally:
            self._release(failed)

    def abort(self) -> None:
        """Discards everything written so far; ``path`` is untouched."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def commit(self) -> list[Path]:
        """Puts the staged items in place (see the module's docstring); returns their final paths."""
        staging = self.staging
        real = _real(self.target)
        new_items = sorted(p.name for p in staging.iterdir() if p.name not in (OUTPUTS_LIST, JOURNAL))
        stale = [n for n in read_outputs(real) if n not in new_items]
        aside = [n for n in [*new_items, *stale] if os.path.lexists(real / n)]
        try:
            backup = Path(tempfile.mkdtemp(prefix=f".{real.name}.graphdsl-old-", dir=real.parent))
            journal = _Journal(staging.name, backup.name, aside, new_items)
            journal.write(real)
        except OSError as e:
            self.abort()
            raise ExportError(f"{self.target}: cannot start putting the outputs in place: {e.strerror}; "
                              "nothing was changed", hint="check the output directory's permissions") from e
        self._staging = None  # from here on, the journal owns it
        try:
            _roll_forward(real, journal)
        except OSError as e:
            try:
                _roll_back(real, journal)
            except OSError as again:
                raise ExportError(f"{self.target}: cannot put the outputs in place ({e}) nor put the "
                                  f"previous ones back ({again}); the next graphdsl command on it will "
                                  "finish the swap", hint="check the output directory's permissions") from e
            raise ExportError(f"{self.target}: cannot put the outputs in place: {e}; "
                              "the previous outputs were restored",
                              hint="check the output directory's permissions") from e
        return [self.target / n for n in new_items]

    def _release(self, failed: bool) -> None:
        if self._lock is None:
            return
        if failed and self._created:
            try:  # a first build that failed leaves no empty OUTDIR behind
                self.target.rmdir()
            except OSError:
                pass
        self._lock.release()
        self._lock = None


# -- recovery --------------------------------------------------------------------------------------


def recover(target: Path) -> None:
    """Finishes (or undoes) a swap a crashed build left in ``target``, then removes its leftovers.

    The caller holds the lock of ``target`` (an :class:`OutputDir` does).
    """
    real = _real(target)
    journal = _Journal.read(real)
    if journal is not None:
        try:
            if journal.complete(real):
                _roll_forward(real, journal)
            else:
                _roll_back(real, journal)
        except OSError as e:
            raise ExportError(f"{target}: a build that crashed while putting its outputs in place "
                              f"left it mid-swap, and finishing the swap failed: {e}",
                              hint="check the output directory's permissions, then run graphdsl again") from e
    for leftover in _leftovers(real):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            try:
                leftover.unlink()
            except OSError:  # garbage that stays is harmless; a reader may not be allowed to write
                pass


def settle(target: Path) -> None:
    """Before reading ``target``: recover it if a crashed build left it mid-swap or left leftovers.

    Raises :class:`~graphdsl.errors.GraphDslError` when another process is putting a build in place
    right now. Without a journal, a build that is still staging is no obstacle to reading.
    """
    real = _real(target)
    if not real.is_dir() or (not (real / JOURNAL).exists() and not _leftovers(real)):
        return
    lock = _Lock.take(target)
    if lock is None:
        if (real / JOURNAL).exists():
            raise GraphDslError(f"{target} is being built by another process",
                                hint="run it again once that build is done")
        return
    try:
        recover(target)
    finally:
        lock.release()


def state(target: Path) -> tuple[int, int, bool]:
    """A token that changes whenever a build commits into ``target`` (compare before and after reading)."""
    real = _real(target)
    try:
        stat = (real / OUTPUTS_LIST).stat()
        listed = (stat.st_ino, stat.st_mtime_ns)
    except OSError:
        listed = (0, 0)
    return (*listed, (real / JOURNAL).exists())


# -- the journal and its two directions ----------------------------------------------------------------


@dataclass
class _Journal:
    """What a commit does, written before it starts; directories are named relative to OUTDIR's parent."""

    staging: str
    backup: str
    aside: list[str]  # items of OUTDIR moved into the backup directory
    new: list[str]  # items of the staging directory moved into OUTDIR

    def write(self, real: Path) -> None:
        write_atomically(real / JOURNAL, json.dumps(asdict(self)).encode("utf-8"), durable=True)

    @classmethod
    def read(cls, real: Path) -> "_Journal | None":
        path = real / JOURNAL
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            journal = cls(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:
            raise ExportError(f"{path}: unreadable ({e}); a crashed build cannot be finished from it",
                              hint="check that the items of the output directory are whole, then "
                              "remove the file") from None
        names = [journal.staging, journal.backup, *journal.aside, *journal.new]
        if not all(isinstance(n, str) and is_plain_name(n) for n in names):
            raise ExportError(f"{path}: names items outside the output directory",
                              hint="remove the file and rebuild")
        # finishing removes both directories: only ones a build of this OUTDIR makes, never a sibling
        if not (_scratch(real, "new").fullmatch(journal.staging) and _scratch(real, "old").fullmatch(journal.backup)):
            raise ExportError(f"{path}: names directories beside the output directory that no build of it "
                              f"makes ({journal.staging!r}, {journal.backup!r}); a crashed build cannot be "
                              "finished from it", hint="check that the items of the output directory are "
                              "whole, then remove the file")
        # what it moves aside is removed with the backup: only a build's items, never a file of the user's
        owned = {*read_outputs(real), *journal.new}
        mine = [n for n in journal.aside if n not in owned and not os.path.lexists(real.parent / journal.backup / n)]
        if mine:
            raise ExportError(f"{path}: would move aside {', '.join(map(repr, mine))}, which no build wrote; a "
                              "crashed build cannot be finished from it", hint="check that the items of the "
                              "output directory are whole, then remove the file")
        return journal

    def complete(self, real: Path) -> bool:
        """True when every item still to move in is in the staging directory (so the swap can end)."""
        staging = real.parent / self.staging
        backup = real.parent / self.backup
        return all(os.path.lexists(staging / n) for n in self.new
                   if not _moved_in(real, backup, n, self))


def _moved_in(real: Path, backup: Path, name: str, journal: _Journal) -> bool:
    """True when ``name`` in OUTDIR is the new item (the old one, if any, was moved aside first)."""
    if not os.path.lexists(real / name):
        return False
    return name not in journal.aside or os.path.lexists(backup / name)


def _roll_forward(real: Path, journal: _Journal) -> None:
    """Moves the old items aside, the new ones in, records them; each step may run again after a crash."""
    staging, backup = real.parent / journal.staging, real.parent / journal.backup
    backup.mkdir(exist_ok=True)
    for name in journal.aside:
        if os.path.lexists(real / name) and not os.path.lexists(backup / name):
            os.rename(real / name, backup / name)
    for name in journal.new:
        if os.path.lexists(staging / name):
            os.rename(staging / name, real / name)
    write_outputs(real, journal.new)
    _finish(real, staging, backup)


def _roll_back(real: Path, journal: _Journal) -> None:
    """Puts the new items back into staging and the old ones back in place, then forgets the build."""
    staging, backup = real.parent / journal.staging, real.parent / journal.backup
    staging.mkdir(exist_ok=True)
    for name in reversed(journal.new):
        if _moved_in(real, backup, name, journal) and not os.path.lexists(staging / name):
            os.rename(real / name, staging / name)
    for name in reversed(journal.aside):
        if os.path.lexists(backup / name) and not os.path.lexists(real / name):
            os.rename(backup / name, real / name)
    _finish(real, staging, backup)


def _finish(real: Path, staging: Path, backup: Path) -> None:
    # The journal goes first: without it, what is left in the two directories is garbage.
    os.unlink(real / JOURNAL)
    sync_directory(real)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _leftovers(real: Path) -> list[Path]:
    """Staging and backup directories of crashed builds beside OUTDIR, temporary files in it."""
    pattern = _scratch(real, "(?:new|old)")
    found = []
    try:
        found += [real.parent / n for n in os.listdir(real.parent) if pattern.fullmatch(n)]
        found += [real / n for n in os.listdir(real) if is_temporary(n)]
    except OSError:
        pass
    return found


def _scratch(real: Path, kind: str) -> re.Pattern[str]:
    """The names of the staging (``kind`` "new") or backup ("old") directories builds of ``real``
    make beside it (``tempfile.mkdtemp``'s 8 characters after the prefix)."""
    return re.compile(rf"\.{re.escape(real.name)}\.graphdsl-{kind}-[a-z0-9_]{{8}}")


def _real(target: Path) -> Path:
    """OUTDIR with symbolic links resolved: staging goes beside the real directory (one file system)."""
    return Path(os.path.realpath(target))


# -- the lock ------------------------------------------------------------------------------------------


class _Lock:
    """An exclusive ``flock`` on a directory, held through an open descriptor of it."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, directory: Path) -> "_Lock | None":
        """The lock of ``directory``, or None when another process (or descriptor) holds it."""
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError as e:
            raise ExportError(f"{directory}: cannot be opened: {e.strerror}",
                              hint="check the output directory's permissions") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:  # a file system without locks: no protection, as before locks existed
            pass
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
