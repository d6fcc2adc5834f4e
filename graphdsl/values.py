"""The values ``graphdsl run`` feeds and fetches: YAML literals, ``.npy``/``.npz`` files, printing.

A feed is a YAML literal given on the command line (``x='[[1.0, 2.0]]'``) or an array read from a
file (``x=@batch.npy``; every array of ``@batch.npz``, by key). Fetched values print with numpy's
printing (6 digits, or every digit with ``precision=None``) and can be saved as ``.npy`` files or
one ``.npz`` archive whose keys are the fetch names, which ``@FILE.npz`` feeds back.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import yaml

from graphdsl import yaml_input
from graphdsl.assemble.files import write_atomically
from graphdsl.errors import RunError, clipped

Feed = Union[str, np.ndarray]  # a YAML literal, or an array read from a file


# -- reading ----------------------------------------------------------------------------------------


def read_array(name: str, path: str | Path) -> np.ndarray:
    """The array ``NAME=@FILE`` feeds: the array of a ``.npy``, or array NAME (or the only one) of a ``.npz``."""
    file = Path(path)
    if file.suffix == ".npz":
        arrays = read_arrays(file)
        if name in arrays:
            return arrays[name]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise RunError(f"--feed {name}=@{file}: the archive holds no array '{name}' (it holds: "
                       f"{', '.join(sorted(arrays)) or 'none'})", hint=f"feed them all by key with --feed @{file}")
    try:
        array = np.load(file, allow_pickle=False)
    except OSError as e:
        raise RunError(f"--feed {name}=@{file}: cannot read it: {e.strerror or e}",
                       hint="give an existing .npy file (numpy.save writes one)") from None
    except ValueError as e:  # not a .npy file, or one holding Python objects
        raise RunError(f"--feed {name}=@{file}: not a .npy file of numbers or strings ({e})",
                       hint="write it with numpy.save from an array of numbers or strings") from None
    if not isinstance(array, np.ndarray):
        raise RunError(f"--feed {name}=@{file}: not a .npy file", hint="write it with numpy.save")
    return array


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive ``@FILE`` feeds, by key."""
    file = Path(path)
    if file.suffix != ".npz":
        raise RunError(f"--feed @{file}: feeding by key takes a .npz archive",
                       hint=f"name what the array feeds: --feed NAME=@{file}")
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except OSError as e:
        raise RunError(f"--feed @{file}: cannot read it: {e.strerror or e}",
                       hint="give an existing .npz archive (numpy.savez writes one)") from None
    except (ValueError, zipfile.BadZipFile, EOFError) as e:
        raise RunError(f"--feed @{file}: not a .npz archive of numbers or strings ({e})",
                       hint="write it with numpy.savez from arrays of numbers or strings") from None


def feed_value(name: str, feed: Feed, tensor: Any) -> np.ndarray:
    """``feed`` as an array of ``tensor``'s dtype and a shape it accepts."""
    where = f"--feed {name}" if isinstance(feed, np.ndarray) else f"--feed {name}={clipped(feed, 60)}"
    value: Any = feed
    if isinstance(feed, str):
        try:
            value = yaml_input.load(feed)
        except yaml.YAMLError as e:
            raise RunError(f"{where}: not a value ({getattr(e, 'problem', e)})",
                           hint="write a number or a nested list, like [[1.0, 2.0]]") from None
    try:
        with np.errstate(over="ignore"):  # a value out of range is told below
            array = np.asarray(value, dtype=tensor.dtype.as_numpy_dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise RunError(f"{where}: not a {tensor.dtype.name} value ({e})") from None
    if array.dtype.kind == "f" and not np.isfinite(array).all() and _overflows(value, array):
        raise RunError(f"{where}: values too large for '{tensor.name}' ({tensor.dtype.name}, at most "
                       f"{np.finfo(array.dtype).max:.4g})", hint="feed values within the dtype's range")
    original = np.asarray(value)
    if original.dtype.kind == "f" and array.dtype.kind in "iub" and not np.array_equal(original, array):
        raise RunError(f"{where}: fractional values do not fit '{tensor.name}' ({tensor.dtype.name})",
                       hint="feed whole numbers, or round them first")
    if not tensor.shape.is_compatible_with(array.shape):
        raise RunError(f"{where}: shape {list(array.shape)} does not fit '{tensor.name}' "
                       f"(shape {tensor.shape})", hint="give a value of the tensor's shape")
    return array


def _overflows(value: Any, array: np.ndarray) -> bool:
    """Whether a finite number of ``value`` became infinite in ``array`` (a float dtype too narrow
    for it: 1e39 in a float32), where an infinity given stays one."""
    try:
        wide = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return False
    return bool((np.isfinite(wide) & ~np.isfinite(array)).any())


# -- writing and printing -----------------------------------------------------------------------------


def save_values(path: str | Path, results: Iterable[tuple[str, Any]]) -> list[Path]:
    """Writes each fetched value (ops, which have none, are left out); returns the files written.

    ``PATH.npz``: one archive whose keys are the fetch names. Any other path: a directory with one
    ``NAME.npy`` per fetch, the name with every character but letters, digits, ``.``, ``_`` and
    ``-`` made ``_``.
    """
    target = Path(path)
    arrays = {name: _savable(value) for name, value in results if value is not None}
    try:
        if target.suffix == ".npz":
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub reads a key as allow_pickle
            write_atomically(target, buffer.getvalue())
            return [target]
        files: dict[str, str] = {}
        for name in arrays:
            file = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"
            if files.get(file) == name:
                continue  # the same fetch asked twice
            if file in files:
                raise RunError(f"--save {target}: '{name}' and '{files[file]}' would both be written to "
                               f"{file}.npy", hint=f"save into an archive instead: --save {target}.npz")
            files[file] = name
        written = []
        for file, name in files.items():
            buffer = io.BytesIO()
            np.save(buffer, arrays[name], allow_pickle=False)
            write_atomically(target / f"{file}.npy", buffer.getvalue())
            written.append(target / f"{file}.npy")
        return written
    except OSError as e:
        raise RunError(f"--save {target}: cannot write there: {e.strerror or e}",
                       hint="give a writable path") from None


def _savable(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:  # TensorFlow's strings: bytes, which .npy holds without pickling
        array = array.astype(bytes)
    return array


def format_result(name: str, value: Any, precision: int | None = 6) -> str:
    """``name = value`` with numpy's printing; ``precision=None`` prints every digit of every value."""
    if value is None:
        return f"{name}: done"
    if not isinstance(value, (np.ndarray, np.generic)):
        return f"{name} = {value!r}"
    if precision is None:
        text = np.array2string(np.asarray(value), floatmode="unique", threshold=sys.maxsize,
                               max_line_width=sys.maxsize)
    else:
        text = np.array2string(np.asarray(value), precision=precision, suppress_small=True)
    return f"{name} = {text}"
