"""The members of a batch: parameter files, sweeps over values, or both; each with a stable key.

A member is a spec, the parameters it is built with, and a key that names its folder under OUTROOT.
Keys come from what the member is, never from its position, so adding a member does not rename the
others:

- a parameter file gives its stem (``small.yaml`` -> ``small``);
- a sweep point gives its assignments in the order the sweeps were given (``layers=2,width=16``);
- both together give ``small,layers=2,width=16`` (every file crossed with every point).

A sweep is ``NAME=V1,V2,...`` or a range ``NAME=START..STOP`` (integers, both ends included) or
``NAME=START..STOP..STEP`` (integers or decimals). Values are YAML scalars: ``8`` is a number,
``relu`` a string, ``true`` a boolean. A parameter file is read by the one reader of
``--params`` files (:mod:`graphdsl.lang.params`), which also takes ``SOURCE.OPTION`` keys here, so
that a member's bad value is named with its file, line and column. No TensorFlow here.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import yaml

from graphdsl import yaml_input
from graphdsl.errors import GraphDslError
from graphdsl.lang.params import Given, Origin, ParamValues, normalize

PARAM_SUFFIXES = (".yaml", ".yml")
SUMMARY = "batch.json"  # OUTROOT's record of the members (graphdsl.batch.runner)
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.=,+-]")


# A batch has at most this many members: more is a mistake in a sweep (1..100000000, or sweeps
# crossed into billions), and listing them would not end, let alone building them.
MAX_MEMBERS = 100_000
# The largest power of ten a range's numbers may have, in size: a float's (a parameter's value is an
# integer of 64 bits or a float).
_MAX_EXPONENT = 308


@dataclass(frozen=True)
class Member:
    """One build of a batch: ``spec`` built with ``params`` into ``OUTROOT/key``.

    ``given``, when the members come from files and sweeps, holds the same values with where each
    came from (a file's line and column, a sweep), for the member's error messages.
    """

    key: str
    spec: Path
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    given: ParamValues | None = field(default=None, hash=False, compare=False, repr=False)

    @property
    def arguments(self) -> dict[str, Any] | ParamValues:
        """What the member is built with: ``given`` if there, else ``params``."""
        return self.given if self.given is not None else self.params


def members(spec: str | Path, param_files: Sequence[str | Path] = (), sweeps: Sequence[str] = ()) -> list[Member]:
    """The members of a batch of ``spec``: parameter files (or folders of them), sweeps, or both.

    With neither, the batch has one member, the spec as it is (key ``default``).
    """
    spec = Path(spec)
    files = _param_files(param_files)
    points = [(key, _swept(point, sweeps)) for key, point in sweep_points(sweeps)]
    _bounded(max(len(files), 1) * max(len(points), 1), "the parameter files crossed with the sweeps")
    found: list[Member] = []
    for (file_key, file_params), (point_key, point) in itertools.product(files or [("", ParamValues())],
                                                                         points or [("", ParamValues())]):
        key = ",".join(k for k in (file_key, point_key) if k) or "default"
        given = file_params.merged(point)
        found.append(Member(key, spec, given.values(), given))
    seen: dict[str, Member] = {}
    for member in found:
        if member.key in seen:
            raise GraphDslError(f"two members have the key '{member.key}'",
                                hint="give parameter files distinct names, and sweep distinct values")
        seen[member.key] = member
    return found


def sweep_points(sweeps: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """The cross product of ``NAME=VALUES`` sweeps, each point with its key."""
    axes: list[tuple[str, list[tuple[str, Any]]]] = []
    for sweep in sweeps:
        name, sep, text = sweep.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() and not _dotted(name):
            raise GraphDslError(f"--sweep '{sweep}': write NAME=V1,V2,... or NAME=START..STOP[..STEP]")
        if name in (n for n, _ in axes):
            raise GraphDslError(f"--sweep '{name}' is given twice", hint="give each name one sweep")
        axes.append((name, _values(sweep, text)))
    _bounded(math.prod(len(values) for _, values in axes), "the sweeps crossed")
    points = []
    for combination in itertools.product(*(values for _, values in axes)):
        key = ",".join(f"{name}={_key_text(text)}" for (name, _), (text, _) in zip(axes, combination))
        points.append((key, {name: value for (name, _), (_, value) in zip(axes, combination)}))
    return points


def _values(sweep: str, text: str) -> list[tuple[str, Any]]:
    """A sweep's values, each with the text its key shows."""
    if ".." in text:
        parts = text.split("..")
        if len(parts) not in (2, 3):
            raise GraphDslError(f"--sweep '{sweep}': a range is START..STOP or START..STOP..STEP")
        try:
            start, stop, *step = (Decimal(p.strip()) for p in parts)
        except InvalidOperation:
            raise GraphDslError(f"--sweep '{sweep}': a range takes numbers") from None
        if not all(d.is_finite() for d in (start, stop, *step)):
            raise GraphDslError(f"--sweep '{sweep}': a range takes finite numbers",
                                hint="write START..STOP[..STEP] with numbers, e.g. seed=0..9")
        whole = all(d == d.to_integral_value() for d in (start, stop, *step)) and "." not in text.replace("..", "")
        increment = step[0] if step else Decimal(1)
        if increment <= 0 or stop < start:
            raise GraphDslError(f"--sweep '{sweep}': the range is empty",
                                hint="give START <= STOP and a positive STEP")
        with localcontext() as context:  # any exponent, so that the count is a number, never an Overflow
            context.Emax, context.Emin = MAX_EMAX, MIN_EMIN
            _bounded((stop - start) / increment + 1, f"--sweep '{sweep}'")
        if any(d and abs(d.adjusted()) > _MAX_EXPONENT for d in (start, stop, *step)):
            raise GraphDslError(f"--sweep '{sweep}': a range takes numbers up to 1e{_MAX_EXPONENT} in size, "
                                f"and none but 0 smaller than 1e-{_MAX_EXPONENT}",
                                hint="a parameter's value is an integer of 64 bits or a float")
        # Exact arithmetic: a decimal sum rounds to 28 digits, and 1e30 + 1 would stay 1e30 for ever.
        first, each = Fraction(start), Fraction(increment)
        count = int((Fraction(stop) - first) // each) + 1
        exact = (first + i * each for i in range(count))
        values = [int(v) if whole else float(v) for v in exact]
        return [(str(v), v) for v in values]
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise GraphDslError(f"--sweep '{sweep}': an empty value", hint="write NAME=V1,V2,...")
    return [(item, _scalar(item)) for item in items]


def _bounded(count: int | Decimal, what: str) -> None:
    if count > MAX_MEMBERS:
        if count >= 10**15:
            shown = f"about 10^{count.adjusted() if isinstance(count, Decimal) else int(math.log10(count))}"
        else:
            shown = f"{int(count):,}"
        raise GraphDslError(f"{what}: {shown} members, more than {MAX_MEMBERS:,}",
                            hint="sweep fewer values (a range's STEP takes every STEP-th), or split the batch")


def _scalar(text: str) -> Any:
    try:
        value = yaml_input.load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool, str)) else text


def _swept(point: dict[str, Any], sweeps: Sequence[str]) -> ParamValues:
    """A sweep point's values, each knowing the sweep it came from."""
    by_name = {sweep.partition("=")[0].strip(): sweep for sweep in sweeps}
    items = {}
    for name, value in point.items():
        origin = Origin(f"the sweep --sweep {by_name[name]} ({name}={value})")
        items[name] = Given(normalize(value, name, origin), origin)
    return ParamValues(items)


def _param_files(paths: Sequence[str | Path]) -> list[tuple[str, ParamValues]]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in PARAM_SUFFIXES and p.is_file())
            if not found:
                raise GraphDslError(f"{path}: holds no parameter file (*.yaml)", hint="give a folder of .yaml files")
            files += found
        else:
            files.append(path)
    return [(_key_text(file.stem), read_params(file)) for file in files]


def read_params(file: Path) -> ParamValues:
    """The parameters of a YAML file: a mapping of names (or ``SOURCE.OPTION``) to values, each
    value knowing its line and column."""
    try:
        return ParamValues.from_yaml_file(file, options=True)
    except OSError as e:
        raise GraphDslError(f"{file}: cannot read it: {e.strerror}", hint="give an existing parameter file") from None


def _dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _key_text(text: str) -> str:
    """``text`` as it can stand in a folder name of its own under OUTROOT: other characters become
    ``_``, and so do the dots of ``.``, ``..`` and ``batch.json`` (OUTROOT, its parent, the summary)."""
    key = _KEY_CHARS.sub("_", text) or "_"
    return key.replace(".", "_") if key in (".", "..", SUMMARY) else key
