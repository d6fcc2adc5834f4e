"""Writing a file the way every output of a build is written: whole or not at all, with the usual
permissions (``0666`` less the umask, as ``open()`` and TensorFlow's writers give).

No TensorFlow here: the output directory's bookkeeping uses it too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# A short, fixed prefix: a temporary name derived from the output's own name could exceed the
# file system's limit on a name that itself fits.
_TEMPORARY = ".graphdsl-tmp-"


def umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read, which sets it for an instant
    os.umask(mask)
    return mask


def write_atomically(path: Path, data: bytes, durable: bool = False, mode: int | None = None) -> None:
    """Writes ``data`` to ``path`` through a temporary file renamed over it.

    Readers see the old content or the new, never a part. With ``durable`` the data and the
    rename are flushed to disk before returning (for bookkeeping a crash must find intact). The
    file gets the permission bits ``mode``, by default those of any file written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_TEMPORARY, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask() if mode is None else mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flushes a directory's entries (renames, removals in it) to disk, where the system can."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file :func:`write_atomically` left behind (a crash)."""
    return name.startswith(_TEMPORARY)
