"""Loaded sources kept for the next composition: many builds, one load per source.

A batch worker or a population builds many specs that read the same sources (the same model file,
the same builder with the same arguments). :class:`SourceCache` hands each composition the source
it loaded before, as long as the file it came from is unchanged (same size and modification
time): loading a graph, restoring a checkpoint or running a builder is then paid once. A source
graph is only ever read by a copy (its index is kept with it), so sharing one between compositions
is safe; a composition given a cache does not close the sources it took from it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from graphdsl.tf.sources import LoadedSource, load_source

_Key = tuple[str, str, str, tuple[tuple[str, int, int], ...]]


class SourceCache:
    """Sources by what they were loaded from; ``load`` is :func:`~graphdsl.tf.sources.load_source`.

    ``limit`` bounds how many are kept (the least recently used goes first); ``None``: no bound.
    """

    def __init__(self, limit: int | None = 64) -> None:
        self.limit = limit
        self.hits = 0
        self.loads = 0
        self._sources: dict[_Key, LoadedSource] = {}

    def load(self, kind: str, path: str | Path, options: dict[str, Any] | None, base_dir: Path, *,
             builder_timeout: float | None = None) -> LoadedSource:
        """The source as :func:`load_source` loads it, from the cache when its files are unchanged."""
        key = _key(kind, path, options or {}, Path(base_dir))
        found = self._sources.pop(key, None)
        if found is not None:
            self.hits += 1
            self._sources[key] = found  # most recently used last
            return found
        source = load_source(kind, path, options, base_dir, builder_timeout=builder_timeout)
        self.loads += 1
        self._sources[key] = source
        while self.limit is not None and len(self._sources) > self.limit:
            oldest = next(iter(self._sources))
            self._sources.pop(oldest).close()
        return source

    def __len__(self) -> int:
        return len(self._sources)

    def close(self) -> None:
        """Closes every source's session and forgets them."""
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    def __enter__(self) -> "SourceCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _key(kind: str, path: str | Path, options: dict[str, Any], base_dir: Path) -> _Key:
    text = str(path)
    file_part, function = (text.rpartition(":")[0], text.rpartition(":")[2]) if kind == "python" else (text, "")
    file = Path(file_part).expanduser()
    if not file.is_absolute():
        file = base_dir / file
    files = [file]
    if kind == "savedmodel":
        files += [file / "saved_model.pb", file / "saved_model.pbtxt", file / "variables"]
    checkpoint = options.get("checkpoint") if kind == "metagraph" else None
    if isinstance(checkpoint, str):
        prefix = Path(checkpoint) if Path(checkpoint).is_absolute() else base_dir / checkpoint
        files += [prefix, prefix.with_name(prefix.name + ".index")]
    stamps = tuple(_stamp(f) for f in files)
    where = f"{os.path.abspath(file)}:{function}"
    return kind, where, json.dumps(options, sort_keys=True, default=str), stamps


def _stamp(file: Path) -> tuple[str, int, int]:
    try:
        stat = file.stat()
    except OSError:
        return str(file), -1, -1
    return str(file), stat.st_size, stat.st_mtime_ns
