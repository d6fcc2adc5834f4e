"""OUTDIR, written all or nothing: :class:`OutputDir` stages a build's items and puts them in place.

No TensorFlow here: exports write into the paths it hands out, whatever they are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from graphdsl.assemble.manifest import OUTPUTS_LIST, is_plain_name, read_outputs, write_outputs
from graphdsl.errors import ExportError


class OutputDir:
    """Stages a build's outputs beside ``path`` and puts them in place only if all exports succeed.

    Exports write into :attr:`staging`, a fresh sibling directory of ``path`` (so on the same file
    system). Leaving the ``with`` block normally commits; leaving it with an exception discards the
    staging directory and ``path`` is left exactly as it was.

    Guarantee:

    - If any export fails, nothing in ``path`` has been touched: not a byte, not a timestamp.
    - On commit, every top-level item the build wrote (``model/``, ``model.meta``, ...) replaces the
      item of the same name in ``path``, and the items the previous build wrote but this one did not
      are removed; the list lives in ``path/.graphdsl-outputs``. Anything else in ``path`` (files a
      user put there) is left alone, so pointing a build at a shared directory is safe.
    - Each item is swapped by ``rename`` on one file system, so no item is ever seen half-written.
      The swap of several items is not one atomic step; if it fails midway (say, a permission error),
      the items already swapped are put back before :class:`ExportError` is raised. Only a crash of
      the process during the swap can leave the old items in a ``.NAME.graphdsl-old-*`` sibling
      directory (and new ones in ``.NAME.graphdsl-new-*``), from where they can be moved back by hand.
    """

    def __init__(self, path: str | Path) -> None:
        self.target = Path(path)
        self._staging: Path | None = None
        self._claimed: set[str] = set()

    @property
    def staging(self) -> Path:
        """The directory exports write into while the build runs."""
        if self._staging is None:
            raise ExportError(f"{self.target}: the output directory is not open",
                              hint="use it as 'with OutputDir(path) as out:'")
        return self._staging

    def path(self, name: str) -> Path:
        """The staging path for the top-level output item ``name`` (a file or directory name)."""
        if not is_plain_name(name) or name == OUTPUTS_LIST:
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
            self._staging = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.graphdsl-new-",
                                                  dir=self.target.parent))
        except OSError as e:
            raise ExportError(f"{self.target}: cannot create a staging directory beside it: {e.strerror}",
                              hint="check that the parent directory is writable") from e
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
            return
        self.abort()

    def abort(self) -> None:
        """Discards everything written so far; ``path`` is untouched."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def commit(self) -> list[Path]:
        """Puts the staged items in place (see the class docstring); returns their final paths."""
        staging = self.staging
        new_items = sorted(p.name for p in staging.iterdir() if p.name != OUTPUTS_LIST)
        self.target.mkdir(exist_ok=True)
        stale = [n for n in read_outputs(self.target) if n not in new_items]
        replaced = [n for n in [*new_items, *stale] if os.path.lexists(self.target / n)]
        backup = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.graphdsl-old-", dir=self.target.parent))
        moved_aside: list[str] = []
        moved_in: list[str] = []
        try:
            for name in replaced:
                os.rename(self.target / name, backup / name)
                moved_aside.append(name)
            for name in new_items:
                os.rename(staging / name, self.target / name)
                moved_in.append(name)
            write_outputs(self.target, new_items)
        except OSError as e:
            for name in reversed(moved_in):
                os.rename(self.target / name, staging / name)
            for name in reversed(moved_aside):
                os.rename(backup / name, self.target / name)
            shutil.rmtree(backup, ignore_errors=True)
            self.abort()
            raise ExportError(f"{self.target}: cannot put the outputs in place: {e}; "
                              "the previous outputs were restored",
                              hint="check the output directory's permissions") from e
        shutil.rmtree(backup, ignore_errors=True)
        self.abort()
        return [self.target / n for n in new_items]
