"""Lock files: what a build is made from, by content, and what it makes.

``graphdsl lock SPEC`` writes ``SPEC.lock`` (YAML): the graphdsl and TensorFlow versions; a
template's parameters and included files (:mod:`graphdsl.assemble.template_lock`); per source its
path as written, kind, options and the sha256 of every file it consists of; and per export the
sha256 of every file a build writes for it (the spec is built into a temporary directory to compute
them). ``graphdsl build --locked`` refuses to build when a parameter, an included file or a source
no longer matches, then checks the exports it wrote against the lock.

The files of a source: a graphdef's file; a metagraph's ``.meta`` and, with ``checkpoint``, the
checkpoint's ``.index`` and ``.data-*`` files (and the ``checkpoint`` file of a checkpoint
directory); every file under a savedmodel's directory; a python builder's ``.py`` file (its
arguments are the source's options). Each entry also has ``sha256``, the hash of the lines
``HASH  FILE`` of its files, sorted (what ``sha256sum`` prints).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import yaml

from graphdsl import yaml_input
from graphdsl.assemble.files import write_atomically
from graphdsl.assemble.template_lock import include_problems, locked_params_arguments, param_problems, \
    template_inputs
from graphdsl.assemble.manifest import yaml_problem
from graphdsl.errors import LockError, SourceError, unwritable
from graphdsl.lang import schema, syntax

LOCK_SUFFIX = ".lock"
_CHUNK = 1 << 20  # files are hashed in 1 MiB reads, never read whole
_RACY_NS = 2_000_000_000  # coarser than any file system's mtime resolution
_HEADER = ("# graphdsl lock: written by `graphdsl lock`; `graphdsl build --locked` checks the sources\n"
           "# against it and the exports it builds. Re-run `graphdsl lock` after changing either.\n")

# path -> (size, mtime, inode, hash): a build and the check before it hash each file once
_hashed: dict[str, tuple[int, int, int, str]] = {}


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    """:func:`sha256_file`, remembered while the file's size, mtime and inode stay the same."""
    stat = path.stat()
    key = str(path.resolve())
    seen = _hashed.get(key)
    if seen and seen[:3] == (stat.st_size, stat.st_mtime_ns, stat.st_ino):
        return seen[3]
    value = sha256_file(path)
    # A file changed within the mtime's resolution of being hashed may keep size and mtime: only
    # files older than that are remembered (git's "racy clean" rule).
    if time.time_ns() - stat.st_mtime_ns > _RACY_NS:
        _hashed[key] = (stat.st_size, stat.st_mtime_ns, stat.st_ino, value)
    return value


def combined_hash(files: dict[str, str]) -> str:
    """One hash for a set of files: sha256 of ``HASH  NAME`` lines sorted by name."""
    lines = "".join(f"{files[name]}  {name}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# -- sources ----------------------------------------------------------------------------------------


def base_dir(spec: syntax.Spec) -> Path:
    """The directory a spec's relative source paths start from (as the build resolves them)."""
    return Path(spec.path).resolve().parent if os.path.exists(spec.path) else Path.cwd()


def _checkpoint_files(prefix: Path) -> list[Path]:
    if prefix.is_dir():
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(str(prefix))
        state = [prefix / "checkpoint"] if (prefix / "checkpoint").is_file() else []
        return state + (_checkpoint_files(Path(latest)) if latest else [])
    return [Path(f"{prefix}.index"), *sorted(prefix.parent.glob(f"{prefix.name}.data-*"))]


def source_files(kind: str, path: str, options: dict[str, Any], base: Path) -> list[Path]:
    """The files a source consists of (absolute), in a stable order."""
    if kind == "python":
        path = path.rpartition(":")[0]
    resolved = Path(path).expanduser()
    resolved = resolved if resolved.is_absolute() else base / resolved
    if kind == "savedmodel":
        if not resolved.is_dir():
            return [resolved]  # missing: the caller says so
        return sorted(p for p in resolved.rglob("*") if p.is_file())
    if kind == "metagraph" and isinstance(options.get("checkpoint"), str):
        checkpoint = Path(options["checkpoint"]).expanduser()
        return [resolved, *_checkpoint_files(checkpoint if checkpoint.is_absolute() else base / checkpoint)]
    return [resolved]


def _shown(file: Path, written: str, base: Path) -> str:
    """A source file as the lock names it: relative to the spec's directory if the spec's path is."""
    if Path(written).expanduser().is_absolute():
        return file.as_posix()
    return Path(os.path.relpath(file, base)).as_posix()


def source_entry(statement: syntax.Source, base: Path) -> dict[str, Any]:
    """The lock entry of one source: path as written, kind, options, files and their hashes."""
    kind, path = statement.kind.name, statement.path.value
    options = _options(statement)
    files = {}
    for file in source_files(kind, path, options, base):
        if not file.is_file():
            raise SourceError(f"{file}: no such file, but source '{statement.name.name}' needs it",
                              hint="check the source's path")
        files[_shown(file, path, base)] = file_hash(file)
    return {"kind": kind, "path": path, "options": options,
            "sha256": combined_hash(files), "files": files}


def _options(statement: syntax.Source) -> dict[str, Any]:
    """A source's options as Python values, by key."""
    return {o.key.name: syntax.literal(o.value) for o in sorted(statement.options, key=lambda o: o.key.name)}


def versions() -> dict[str, str]:
    """The graphdsl and TensorFlow versions a build runs with."""
    import tensorflow as tf

    from graphdsl import __version__

    return {"graphdsl": __version__, "tensorflow": tf.__version__}


def lock_inputs(spec: syntax.Spec) -> dict[str, Any]:
    """Everything a build is made from, but the spec: versions, parameters, included files by
    content, sources by content."""
    base = base_dir(spec)
    return {**versions(), **template_inputs(spec),
            "sources": {s.name.name: source_entry(s, base) for s in spec.sources}}


# -- exports ----------------------------------------------------------------------------------------


def export_files(outdir: Path, kind: str, name: str) -> list[Path]:
    """The files a build writes for one export, relative to ``outdir``, sorted."""
    if kind == "savedmodel":
        root = outdir / name
        return sorted(p.relative_to(outdir) for p in root.rglob("*") if p.is_file())
    if kind == "metagraph":
        return sorted(p.relative_to(outdir) for p in outdir.glob(f"{name}.*")
                      if p.name == schema.export_file(kind, name) or p.name.startswith(f"{name}.ckpt."))
    return sorted(p.relative_to(outdir) for p in (outdir / name, outdir / f"{name}.graphdsl.yaml")
                  if p.is_file())


def export_entries(outdir: Path, exports: Iterable[syntax.Export]) -> dict[str, Any]:
    """Per export path: its kind, combined hash and files with their hashes."""
    entries = {}
    for export in exports:
        kind, name = export.kind.name, export.path.value
        files = {f.as_posix(): sha256_file(outdir / f) for f in export_files(outdir, kind, name)}
        entries[name] = {"kind": kind, "sha256": combined_hash(files), "files": files}
    return entries


# -- the lock file ----------------------------------------------------------------------------------


def lock_path(spec_path: str | os.PathLike) -> Path:
    """``assembly.gcomp`` -> ``assembly.gcomp.lock``."""
    return Path(f"{spec_path}{LOCK_SUFFIX}")


def make_lock(spec: syntax.Spec) -> dict[str, Any]:
    """The lock of a spec: its inputs, and its exports built into a temporary directory."""
    from graphdsl.assemble.compose import build

    with tempfile.TemporaryDirectory(prefix="graphdsl-lock-") as tmp:
        outdir = Path(tmp) / "out"
        build(spec, outdir)
        return {**lock_inputs(spec), "exports": export_entries(outdir, spec.exports)}


def dump(lock: dict[str, Any]) -> str:
    """The lock's text: the same lock always gives the same bytes."""
    return _HEADER + yaml.safe_dump(lock, sort_keys=False, default_flow_style=False, width=100)


def write_lock(spec: str | os.PathLike | syntax.Spec) -> Path:
    """Builds the spec (a path, or a Spec loaded from its file with the parameters to lock) and
    writes ``SPEC.lock`` beside it; returns its path."""
    from graphdsl.lang.load import load_spec

    if not isinstance(spec, syntax.Spec):
        spec = load_spec(Path(spec))
    path = lock_path(spec.path)
    text = dump(make_lock(spec))
    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as error:
        raise unwritable(error, path) from None
    return path


def read_lock(path: Path) -> dict[str, Any]:
    """The lock at ``path``; :class:`LockError` when it is missing or not a lock."""
    try:
        lock = yaml_input.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockError(f"{path}: no lock file",
                        hint=f"write it with 'graphdsl lock {_spec_of(path)}'") from None
    except OSError as e:
        raise LockError(f"{path}: cannot read the lock: {e.strerror or e}",
                        hint=f"write it again with 'graphdsl lock {_spec_of(path)}'") from None
    except UnicodeDecodeError as e:
        raise LockError(f"{path}: cannot read the lock: it is not UTF-8 text (byte {e.start})",
                        hint=f"write it again with 'graphdsl lock {_spec_of(path)}'") from None
    except yaml.YAMLError as e:
        raise LockError(f"{path}: cannot read the lock: {yaml_problem(e)}",
                        hint=f"write it again with 'graphdsl lock {_spec_of(path)}'") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("sources"), dict) \
            or not isinstance(lock.get("exports"), dict):
        raise LockError(f"{path}: not a graphdsl lock (no 'sources' and 'exports' maps)",
                        hint=f"write it again with 'graphdsl lock {_spec_of(path)}'")
    problem = _shape_problem(lock)
    if problem is not None:
        raise LockError(f"{path}: not a graphdsl lock: {problem}",
                        hint=f"write it again with 'graphdsl lock {_spec_of(path)}'")
    return lock


def _shape_problem(lock: dict[str, Any]) -> str | None:
    """What in a lock (a mapping with ``sources`` and ``exports``) is not as ``graphdsl lock``
    writes it, or None: the maps the checks walk, and the hashes they compare, as text."""
    def hashes(value: Any, where: str) -> str | None:
        if not isinstance(value, dict):
            return f"'{where}' is not a map of file names to sha256 hashes"
        bad = next((name for name, digest in value.items()
                    if not isinstance(name, str) or not isinstance(digest, str)), None)
        return None if bad is None else f"'{where}' holds {bad!r}, not a file name with its sha256 hash"

    if lock.get("params") is not None and not isinstance(lock["params"], dict):
        return "'params' is not a map of parameters to values"
    if lock.get("includes") is not None and (problem := hashes(lock["includes"], "includes")):
        return problem
    for section in ("sources", "exports"):
        for name, entry in lock[section].items():
            if not isinstance(entry, dict):
                return f"'{section}.{name}' is not a map"
            if entry.get("files") is not None and (problem := hashes(entry["files"], f"{section}.{name}.files")):
                return problem
    return None


def _spec_of(lock: Path) -> str:
    return str(lock)[: -len(LOCK_SUFFIX)] if str(lock).endswith(LOCK_SUFFIX) else "SPEC"


# -- checks -----------------------------------------------------------------------------------------


def check_inputs(lock: dict[str, Any], spec: syntax.Spec, path: Path) -> None:
    """Raises :class:`LockError` naming each parameter (with both values), included file and
    source file (with both hashes) that differs from ``lock``."""
    sources = _sources_problems(lock, spec)
    found = {"parameters": param_problems(lock, spec), "included files": include_problems(lock, spec),
             "sources": [p for _, p in sources]}
    problems = [p for listed in found.values() for p in listed]
    if not problems:
        return
    kinds = [kind for kind, listed in found.items() if listed]
    what = _words(kinds)
    listing = "\n".join(f"    {p}" for p in problems)
    first = next((s for s, _ in sources if s is not None), None)
    arguments = locked_params_arguments(lock, spec)
    fixes = [f"build with the locked parameters ({arguments})"] if arguments else []
    rest = [kind for kind in kinds if not (kind == "parameters" and arguments)]
    if rest:
        fixes.append(f"restore the locked {_words(rest)}")
    hint = (f"{' and '.join(fixes)}, or lock the new ones with 'graphdsl lock {spec.path}'"
            + (" and the parameters to build with" if spec.template is not None and spec.template.params else ""))
    raise LockError(f"the {what} no longer match {path}; nothing was built:\n{listing}",
                    span=first.span if first else None, source=spec.text, hint=hint)


def _words(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"


def _sources_problems(lock: dict[str, Any], spec: syntax.Spec) -> list[tuple[syntax.Source | None, str]]:
    """Each source, file and both hashes that differ from ``lock``, with the source's statement."""
    base = base_dir(spec)
    locked = lock["sources"]
    problems: list[tuple[syntax.Source | None, str]] = []
    for statement in spec.sources:
        name = statement.name.name
        entry = locked.get(name)
        if not isinstance(entry, dict):
            problems.append((statement, f"source '{name}' is not in the lock"))
            continue
        problems.extend((statement, p) for p in _source_problems(statement, entry, base))
    known = {s.name.name for s in spec.sources}
    problems.extend((None, f"source '{n}' is in the lock but not in the spec") for n in locked
                    if n not in known)
    return problems


def _source_problems(statement: syntax.Source, entry: dict[str, Any], base: Path) -> list[str]:
    name = statement.name.name
    now: dict[str, Any] = {"kind": statement.kind.name, "path": statement.path.value,
                           "options": _options(statement)}
    changed = [f"source '{name}': its {key} is {now[key]!r}, the lock says {entry.get(key)!r}"
               for key in now if now[key] != entry.get(key)]
    if changed:
        return changed
    locked_files = entry.get("files") or {}
    files = {_shown(f, now["path"], base): f
             for f in source_files(now["kind"], now["path"], now["options"], base)}
    problems = []
    for shown, want in locked_files.items():
        file = files.get(shown)
        if file is None or not file.is_file():
            problems.append(f"source '{name}': file '{shown}' is missing (locked sha256 {want})")
        elif (got := file_hash(file)) != want:
            problems.append(f"source '{name}': file '{shown}' changed: locked sha256 {want}, "
                            f"now sha256 {got}")
    for shown, file in files.items():
        if shown not in locked_files and file.is_file():
            problems.append(f"source '{name}': file '{shown}' is not in the lock "
                            f"(sha256 {file_hash(file)})")
    return problems


def check_exports(lock: dict[str, Any], outdir: Path, exports: Iterable[syntax.Export]) -> list[str]:
    """What the exports built into ``outdir`` differ in from ``lock``: one line per file."""
    built = export_entries(outdir, exports)
    locked = lock["exports"]
    differences = []
    for name, entry in built.items():
        want = locked.get(name)
        if not isinstance(want, dict):
            differences.append(f"export '{name}' is not in the lock")
            continue
        want_files = want.get("files") or {}
        for file in sorted({*entry["files"], *want_files}):
            got, expected = entry["files"].get(file), want_files.get(file)
            if got == expected:
                continue
            if expected is None:
                differences.append(f"export '{name}': file '{file}' is not in the lock")
            elif got is None:
                differences.append(f"export '{name}': file '{file}' was not built (locked sha256 "
                                   f"{expected})")
            else:
                differences.append(f"export '{name}': file '{file}' differs: locked sha256 "
                                   f"{expected}, built sha256 {got}")
    differences.extend(f"export '{n}' is in the lock but not in the spec" for n in locked
                       if n not in built)
    return differences


def version_notes(lock: dict[str, Any]) -> list[str]:
    """Where the versions running now differ from the lock's (the exports may differ then)."""
    return [f"locked with {name} {lock.get(name)}, building with {name} {version}"
            for name, version in versions().items() if lock.get(name) != version]


def locked_build(spec: str | os.PathLike | syntax.Spec, outdir: str | os.PathLike, *,
                 builder_timeout: float | None = None) -> tuple[list[Path], list[str], list[str]]:
    """Checks the parameters, included files and sources against ``SPEC.lock``, builds, checks
    the exports. ``spec`` is a path, or a Spec loaded from its file with the build's parameters.

    Returns the paths written, the exports' differences from the lock and notes on versions.
    Raises :class:`LockError` (and builds nothing) when an input differs from the lock.
    """
    from graphdsl.assemble.compose import build
    from graphdsl.lang.load import load_spec

    if not isinstance(spec, syntax.Spec):
        spec = load_spec(Path(spec))
    path = lock_path(spec.path)
    lock = read_lock(path)
    check_inputs(lock, spec, path)
    paths = build(spec, outdir, builder_timeout=builder_timeout)
    return paths, check_exports(lock, Path(outdir), spec.exports), version_notes(lock)
