"""OUTDIR after a crash at any moment holds one whole build; two builds never mix.

A build is killed (``os._exit``) at each file-system step of its staging and commit in turn, in a
subprocess that needs no TensorFlow (``OutputDir`` writes whatever it is given); the next command on
the directory must find the previous build or the new one, whole, and nothing the crash left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from graphdsl.assemble.manifest import OUTPUTS_LIST, read_outputs
from graphdsl.assemble.outdir import JOURNAL, OutputDir, settle
from graphdsl.errors import ExportError, GraphDslError

REPO = Path(__file__).resolve().parents[1]

OLD = {"a.txt": b"old a", "b/f": b"old b", "c.txt": b"old c"}
NEW = {"b/f": b"new b", "c.txt": b"new c", "d.txt": b"new d"}
MINE = {"notes.txt": b"a user's file"}

# Builds NEW into OUTDIR, dying at the CRASH_AT-th call of a file-system step (0: never); prints
# how many steps there were.
CRASHING_BUILD = textwrap.dedent("""
    import os, shutil, sys
    from pathlib import Path
    from graphdsl.assemble.outdir import OutputDir

    target, crash_at = Path(sys.argv[1]), int(sys.argv[2])
    steps = 0

    def counted(real):
        def step(*args, **kwargs):
            global steps
            steps += 1
            if steps == crash_at:
                os._exit(86)
            return real(*args, **kwargs)
        return step

    for name in ("rename", "replace", "unlink", "rmdir", "mkdir", "fsync"):
        setattr(os, name, counted(getattr(os, name)))
    with OutputDir(target) as out:
        for item, data in {new}.items():
            first, _, rest = item.partition("/")
            path = out.path(first)
            if rest:
                path.mkdir()
                path = path / rest
            path.write_bytes(data)
    print(steps)
""").replace("{new}", repr(NEW))


def write_build(out: Path, items: dict[str, bytes]) -> None:
    """A build of ``items`` ("name" or "directory/name": bytes) into ``out``."""
    with OutputDir(out) as outputs:
        for item, data in items.items():
            first, _, rest = item.partition("/")
            path = outputs.path(first)
            if rest:
                path.mkdir()
                path = path / rest
            path.write_bytes(data)


def contents(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != OUTPUTS_LIST}


def crash(out: Path, at: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CRASHING_BUILD, str(out), str(at)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def steps() -> int:
    """How many file-system steps the crashing build takes when it does not crash."""
    with tempfile.TemporaryDirectory() as scratch:
        return int(crash(Path(scratch) / "out", 0).stdout)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """OUTDIR holding the OLD build and a file of the user's."""
    out = tmp_path / "out"
    write_build(out, OLD)
    (out / "notes.txt").write_bytes(MINE["notes.txt"])
    return out


def test_the_crashing_build_builds_when_it_does_not_crash(built: Path) -> None:
    result = crash(built, 0)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 15  # staging and commit take that many steps: each is tried below
    assert contents(built) == {**NEW, **MINE}
    assert read_outputs(built) == ["b", "c.txt", "d.txt"]
    assert sorted(os.listdir(built.parent)) == ["out"]


def test_a_crash_at_any_step_leaves_one_whole_build(built: Path, tmp_path: Path) -> None:
    seen = set()
    for at in range(1, steps() + 1):
        out = tmp_path / f"crash{at}" / "out"
        out.parent.mkdir()
        write_build(out, OLD)
        (out / "notes.txt").write_bytes(MINE["notes.txt"])
        assert crash(out, at).returncode == 86, f"step {at} did not crash"
        settle(out)  # what `graphdsl run` does first
        found = contents(out)
        assert found in ({**OLD, **MINE}, {**NEW, **MINE}), f"crash at step {at}: {sorted(found)}"
        seen.add("new" if found == {**NEW, **MINE} else "old")
        assert read_outputs(out) == (["b", "c.txt", "d.txt"] if "d.txt" in found else ["a.txt", "b", "c.txt"])
        assert sorted(os.listdir(out.parent)) == ["out"], f"crash at step {at} left {os.listdir(out.parent)}"
        assert not [n for n in os.listdir(out) if n.startswith(".graphdsl-") and n != OUTPUTS_LIST]
    assert seen == {"old", "new"}  # some crashes came before the point of no return, some after


def test_the_next_build_after_a_crash_finds_a_whole_directory_and_builds(built: Path) -> None:
    assert crash(built, steps() - 3).returncode == 86  # late in the commit: the journal is there
    assert (built / JOURNAL).exists() or contents(built) in ({**OLD, **MINE}, {**NEW, **MINE})
    write_build(built, {"e.txt": b"newest"})
    assert contents(built) == {"e.txt": b"newest", **MINE}
    assert sorted(os.listdir(built.parent)) == ["out"]


def test_a_second_build_into_the_same_outdir_fails_and_the_first_wins_whole(built: Path) -> None:
    with OutputDir(built) as first:
        first.path("z.txt").write_bytes(b"first")
        with pytest.raises(ExportError, match=r"out is being built by another process") as info:
            with OutputDir(built):
                pass
        assert info.value.hint is not None and "wait for that build to finish" in info.value.hint
    assert contents(built) == {"z.txt": b"first", **MINE}
    assert sorted(os.listdir(built.parent)) == ["out"]


def test_a_build_in_another_process_holds_the_outdir(built: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom graphdsl.assemble.outdir import OutputDir\n"
         "with OutputDir(sys.argv[1]) as out:\n    print('staging', flush=True)\n    sys.stdin.readline()\n",
         str(built)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "staging"
        with pytest.raises(ExportError, match="is being built by another process"):
            write_build(built, NEW)
        settle(built)  # a build that is only staging does not stop a reader, nor lose its staging
        assert len(os.listdir(built.parent)) == 2
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert contents(built) == MINE  # the other process's build, which wrote nothing, won whole
    assert sorted(os.listdir(built.parent)) == ["out"]


def test_a_reader_waits_for_no_half_swapped_directory(built: Path, tmp_path: Path) -> None:
    assert crash(built, steps() - 3).returncode == 86
    if not (built / JOURNAL).exists():
        pytest.skip("the crash came after the journal was removed")
    with OutputDir(tmp_path / "elsewhere"):  # an unrelated build does not matter
        pass
    from graphdsl.assemble.outdir import _Lock

    lock = _Lock.take(built)  # a live build committing right now
    assert lock is not None
    try:
        with pytest.raises(GraphDslError, match="is being built by another process"):
            settle(built)
    finally:
        lock.release()
    settle(built)
    assert contents(built) == {**NEW, **MINE}


def test_a_journal_whose_staged_items_are_gone_is_undone(built: Path) -> None:
    """If the staged items vanished (removed by hand), the swap goes back to the previous build."""
    for at in range(1, steps() + 1):
        out = built.parent / f"at{at}" / "out"
        out.parent.mkdir()
        write_build(out, OLD)
        crash(out, at)
        staged = [p for s in out.parent.glob(".out.graphdsl-new-*") for p in s.iterdir()]
        if (out / JOURNAL).exists() and staged:
            for staging in out.parent.glob(".out.graphdsl-new-*"):
                shutil.rmtree(staging)
            break
    else:
        pytest.fail("no crash left a journal with a staging directory")
    settle(out)
    assert contents(out) == OLD
    assert sorted(os.listdir(out.parent)) == ["out"]


@pytest.mark.parametrize("staging, backup", [("sources", "data"), (".out.graphdsl-new-abcdefgh", "data"),
                                             (".other.graphdsl-new-abcdefgh", ".other.graphdsl-old-abcdefgh")])
def test_a_journal_naming_other_directories_beside_the_outdir_removes_none(tmp_path: Path, staging: str,
                                                                            backup: str) -> None:
    """Finishing a journal removes its staging and backup directories: a changed journal named
    directories beside OUTDIR (its sources, say), and the next command on OUTDIR deleted them."""
    import json

    out = tmp_path / "out"
    write_build(out, OLD)
    for name in (staging, backup):
        (tmp_path / name).mkdir()
        (tmp_path / name / "kept.txt").write_text("mine")
    (out / JOURNAL).write_text(json.dumps({"staging": staging, "backup": backup, "aside": [], "new": []}))
    with pytest.raises(ExportError, match="names directories beside the output directory that no build of it "
                                          "makes") as info:
        settle(out)
    assert "remove the file" in (info.value.hint or "")
    for name in (staging, backup):
        assert (tmp_path / name / "kept.txt").read_text() == "mine"
    assert contents(out) == {**OLD, JOURNAL: (out / JOURNAL).read_bytes()}


def test_a_journal_never_moves_aside_a_file_no_build_wrote(tmp_path: Path) -> None:
    """What a journal moves aside is removed with the backup: a changed journal listing a file of the
    user's in OUTDIR had it deleted by the next command."""
    import json

    out = tmp_path / "out"
    write_build(out, OLD)
    (out / "mine.txt").write_text("mine")
    (tmp_path / ".out.graphdsl-new-abcdefgh").mkdir()
    (out / JOURNAL).write_text(json.dumps({"staging": ".out.graphdsl-new-abcdefgh",
                                           "backup": ".out.graphdsl-old-abcdefgh", "aside": ["mine.txt"], "new": []}))
    with pytest.raises(ExportError, match="would move aside 'mine.txt', which no build wrote"):
        settle(out)
    assert (out / "mine.txt").read_text() == "mine" and read_outputs(out) != []


def test_a_failed_first_build_leaves_no_outdir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with OutputDir(tmp_path / "new") as out:
            out.path("x").write_bytes(b"")
            raise RuntimeError("an export failed")
    assert os.listdir(tmp_path) == []


def test_the_outdir_bookkeeping_imports_no_tensorflow() -> None:
    code = ("import sys, graphdsl.assemble.outdir, graphdsl.assemble.manifest, graphdsl.assemble.files\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
