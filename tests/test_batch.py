"""Batch builds: members and their keys, long-lived workers, failures that do not stop the others,
batch.json written as members finish, --resume, and the same batch on a Dask cluster."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from graphdsl.batch.member import build_member
from graphdsl.batch.roster import Member, members, sweep_points
from graphdsl.batch.runner import SUMMARY, run_batch
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, main
from graphdsl.errors import GraphDslError

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"


# -- members and keys (no TensorFlow) --------------------------------------------------------------


def test_sweeps_cross_and_ranges_expand_with_keys_from_values() -> None:
    points = sweep_points(["layers=1,2,4", "width=8..16..8"])
    assert [key for key, _ in points] == ["layers=1,width=8", "layers=1,width=16", "layers=2,width=8",
                                          "layers=2,width=16", "layers=4,width=8", "layers=4,width=16"]
    assert points[3][1] == {"layers": 2, "width": 16}
    assert [p for _, p in sweep_points(["lr=0.1..0.3..0.1"])] == [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]
    assert [p for _, p in sweep_points(["act=relu,tanh", "bias=true"])][0] == {"act": "relu", "bias": True}
    assert [k for k, _ in sweep_points(["n=1..3"])] == ["n=1", "n=2", "n=3"]


def test_keys_are_stable_when_members_are_added(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text("layers: 1\n")
    (tmp_path / "large.yaml").write_text("layers: 4\n")
    before = {m.key: m for m in members("s.gcomp", [tmp_path / "small.yaml"], ["seed=1,2"])}
    after = {m.key: m for m in members("s.gcomp", [tmp_path], ["seed=1,2,3"])}
    assert set(before) == {"small,seed=1", "small,seed=2"}
    assert {k: m.params for k, m in before.items()} == {k: after[k].params for k in before}
    assert after["large,seed=3"].params == {"layers": 4, "seed": 3}
    assert [m.key for m in members("s.gcomp")] == ["default"]


@pytest.mark.parametrize("sweep, message", [
    ("layers", "write NAME=V1,V2"),
    ("n=3..1", "the range is empty"),
    ("n=1,,2", "an empty value"),
    ("n=a..b", "a range takes numbers"),
    ("n=1..inf", "a range takes finite numbers"),
    ("n=nan..3", "a range takes finite numbers"),
])
def test_bad_sweeps_say_how_to_write_them(sweep: str, message: str) -> None:
    with pytest.raises(GraphDslError, match=message):
        sweep_points([sweep])


def test_a_batch_of_more_than_max_members_is_refused_before_any_is_listed() -> None:
    # Listed, a range of 10^9 values, or two sweeps of 1,000 crossed, would take minutes and memory
    # before the first build; a mistake, refused at once.
    with pytest.raises(GraphDslError) as info:
        sweep_points(["seed=0..100000000"])
    assert info.value.message == "--sweep 'seed=0..100000000': 100,000,001 members, more than 100,000"
    with pytest.raises(GraphDslError, match=r"--sweep 'seed=1\.\.1e999': about 10\^999 members"):
        sweep_points(["seed=1..1e999"])
    with pytest.raises(GraphDslError, match=r"--sweep 'seed=0\.\.1e9999': about 10\^9999 members"):
        sweep_points(["seed=0..1e9999"])  # a count too long for Python to print in decimal
    with pytest.raises(GraphDslError, match="the sweeps crossed: 1,000,000 members, more than 100,000"):
        sweep_points(["a=0..999", "b=0..999"])
    assert len(sweep_points(["a=0..99", "b=0..99"])) == 10_000


def test_ranges_of_large_numbers_are_listed_exactly_or_refused() -> None:
    with pytest.raises(GraphDslError, match=r"about 10\^999999999 members"):
        sweep_points(["seed=0..1e999999999"])  # beyond a decimal's default exponent: not an Overflow
    # Summed in decimals of 28 digits, 1e28 + 1 stayed 1e28: the range never reached its end.
    assert [p for _, p in sweep_points(["seed=1e28..1e28"])] == [{"seed": 10**28}]
    big = 10**29
    assert [p["seed"] for _, p in sweep_points([f"seed={big}..{big + 2}"])] == [big, big + 1, big + 2]
    with pytest.raises(GraphDslError, match=r"a range takes numbers up to 1e308 in size"):
        sweep_points(["seed=1e400..1e400"])
    with pytest.raises(GraphDslError, match="none but 0 smaller than 1e-308"):
        sweep_points(["x=0..1e-999999..1e-999999"])
    assert [p["x"] for _, p in sweep_points(["x=0..0.3..0.1"])] == [0.0, 0.1, 0.2, 0.3]


def test_keys_name_a_folder_of_their_own_under_outroot(tmp_path: Path) -> None:
    # A parameter file '..yaml' (stem '.') was built into OUTROOT itself, '...yaml' into its parent.
    for name in ("..yaml", "...yaml", "batch.json.yaml"):
        (tmp_path / name).write_text("seed: 1\n")
    assert sorted(m.key for m in members("s.gcomp", [tmp_path])) == ["_", "__", "batch_json"]
    for key in (".", "..", "a/b", "", SUMMARY):
        with pytest.raises(GraphDslError, match="does not name a folder of its own under OUTROOT"):
            run_batch([Member(key, SPECS / "linear.gcomp")], tmp_path / "out", jobs=0)
    with pytest.raises(GraphDslError, match="two members have the key 'a'"):
        run_batch([Member("a", SPECS / "linear.gcomp"), Member("a", SPECS / "crossover.gcomp")], tmp_path / "out",
                  jobs=0)
    assert not (tmp_path / "out").exists()


def test_an_outroot_that_cannot_be_a_folder_is_named_as_the_output(tmp_path: Path, capsys) -> None:
    # The command line's handler of unreadable files said "cannot read OUTROOT", with exit 66.
    (tmp_path / "taken").write_text("a file\n")
    for outroot in ("taken", "taken/sub"):
        code = main(["batch", str(SPECS / "linear.gcomp"), "-o", str(tmp_path / outroot), "-j", "0"])
        assert code == EXIT_FAILURE
        assert capsys.readouterr().err.startswith(f"error: {tmp_path / outroot}: cannot be the batch's folder: ")


def test_bad_parameter_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(GraphDslError, match="list.yaml:1:1: error: a params file maps parameter names to values"):
        members("s.gcomp", [tmp_path / "list.yaml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraphDslError, match="empty: holds no parameter file"):
        members("s.gcomp", [tmp_path / "empty"])


# -- one member ------------------------------------------------------------------------------------


def test_parameters_set_builder_arguments(tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf

    def initial_w(seed: int) -> np.ndarray:
        outdir = tmp_path / f"seed{seed}"
        build_member(SPECS / "linear.gcomp", {"linear.seed": seed}, outdir)
        return tf.train.load_checkpoint(str(outdir / "linear.ckpt")).get_tensor("CopiedOps/W")

    assert not np.array_equal(initial_w(0), initial_w(3))
    assert np.array_equal(initial_w(3), initial_w(3))


def test_a_parameter_naming_no_template_parameter_or_source_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GraphDslError, match="unknown parameter 'layers'"):
        build_member(SPECS / "linear.gcomp", {"layers": 2}, tmp_path)
    with pytest.raises(GraphDslError, match="parameter 'lin.seed' names no source option") as error:
        build_member(SPECS / "linear.gcomp", {"lin.seed": 2}, tmp_path)
    assert error.value.hint is not None and "'linear.OPTION'" in error.value.hint


def test_template_parameters_from_files_and_sweeps(tmp_path: Path) -> None:
    import numpy as np

    from graphdsl.run import open_runnable

    found = members(SPECS / "towers.gcomp", [SPECS / "params" / "towers-shallow.yaml"], ["mode=value,init"])
    assert [m.key for m in found] == ["towers-shallow,mode=value", "towers-shallow,mode=init"]
    result = run_batch(found, tmp_path, jobs=0)
    assert result.ok, result.failed[0].error if result.failed else ""
    outputs = []
    for member in found:
        runnable = open_runnable(str(tmp_path / member.key))
        try:
            outputs.append(runnable.run({"x": np.ones((2, 4), np.float32)}, ["y"])[0])
        finally:
            runnable.close()
    assert not np.allclose(outputs[0], outputs[1])  # the trained layer against one drawn afresh


# -- batches ---------------------------------------------------------------------------------------


def bad_spec(folder: Path) -> Path:
    spec = folder / "bad.gcomp"
    spec.write_text('graphdsl 1\nsource s = graphdef("missing.pb")\ncopy S from s { take = "y" }\n')
    return spec


def test_local_workers_build_every_member_and_a_failure_stops_none(tmp_path: Path, capsys) -> None:
    bad = bad_spec(tmp_path)
    batch = [Member("linear,seed=0", SPECS / "linear.gcomp", {"linear.seed": 0}),
             Member("broken", bad, {}),
             Member("crossover", SPECS / "crossover.gcomp", {"combine.op": "mul"}),
             Member("linear,seed=1", SPECS / "linear.gcomp", {"linear.seed": 1}),
             Member("linear,seed=2", SPECS / "linear.gcomp", {"linear.seed": 2})]
    seen = []
    result = run_batch(batch, tmp_path / "out", jobs=2, on_result=lambda r, done, total: seen.append((r.key, done)))
    assert [r.key for r in result.results] == [m.key for m in batch]
    assert [r.status for r in result.results] == ["ok", "failed", "ok", "ok", "ok"]
    assert sorted(done for _, done in seen) == [1, 2, 3, 4, 5]
    for key in ("linear,seed=0", "crossover", "linear,seed=2"):
        assert (tmp_path / "out" / key / "graphdsl-build.yaml").is_file()
    # the failure reads as `graphdsl build` prints it
    assert main(["build", str(bad), "-o", str(tmp_path / "single")]) == EXIT_FAILURE
    assert result.failed[0].error == capsys.readouterr().err.rstrip("\n")
    # long-lived workers: two processes built the four good members
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())["members"]
    assert len({record["worker"] for record in summary.values() if record["status"] == "ok"}) <= 2
    assert summary["broken"]["status"] == "failed" and "missing.pb: no such file" in summary["broken"]["error"]
    assert summary["crossover"]["params"] == {"combine.op": "mul"}
    assert "model/saved_model.pb" in summary["linear,seed=0"]["outputs"]


BUILDER = """\
import os
import signal
import time

import tensorflow as tf


def build(how: str = "", delay: float = 0.0):
    time.sleep(delay)
    if how == "exit":  # as a crash in TensorFlow or the out-of-memory killer ends a worker (a
        os.kill(os.getpid(), signal.SIGKILL)  # builder's os._exit only fails its build)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        tf.identity(x * 2.0, name="y")
    return graph
"""


def builder_spec(folder: Path) -> Path:
    (folder / "b.py").write_text(BUILDER)
    spec = folder / "b.gcomp"
    spec.write_text('graphdsl 1\nsource b = python("b.py:build", how = "", delay = 0.0)\n'
                    'copy B from b { take = "y" }\nlet y = B["y:0"]\nexport graphdef "y.pb" { outputs = [y] }\n')
    return spec


def test_a_worker_that_dies_fails_its_member_and_no_other(tmp_path: Path) -> None:
    # The dying worker broke the process pool, and every member not yet built failed with it.
    spec = builder_spec(tmp_path)
    batch = [Member(key, spec, {"b.how": how}) for key, how in
             (("a", ""), ("dies", "exit"), ("b", ""), ("c", ""), ("d", ""))]
    result = run_batch(batch, tmp_path / "out", jobs=1)
    assert [r.status for r in result.results] == ["ok", "failed", "ok", "ok", "ok"]
    assert result.failed[0].error is not None and "the worker process building it stopped" in result.failed[0].error
    for key in "abcd":
        assert (tmp_path / "out" / key / "y.pb").is_file()
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())["members"]
    assert [summary[k]["status"] for k in ("a", "dies", "b", "c", "d")] == ["ok", "failed", "ok", "ok", "ok"]


def test_members_built_after_ctrl_c_are_recorded(tmp_path: Path) -> None:
    # Ctrl-C stops the batch starting members; those being built are waited for, and recorded
    # (they were built, but batch.json called them pending, and --resume built them again).
    spec = builder_spec(tmp_path)
    batch = [Member(f"m{i}", spec, {"b.delay": 1.0}) for i in range(6)]
    told: list[int] = []

    def interrupt(result, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(batch, tmp_path / "out", jobs=2, on_result=interrupt, on_interrupt=told.append)
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())["members"]
    for key, record in summary.items():
        built = (tmp_path / "out" / key / "y.pb").is_file()
        assert record["status"] == ("ok" if built else "pending"), key
    assert told and sum(r["status"] == "ok" for r in summary.values()) < len(batch)


def test_resume_skips_complete_members_and_rebuilds_the_rest(tmp_path: Path) -> None:
    batch = [Member(f"seed={s}", SPECS / "linear.gcomp", {"linear.seed": s}) for s in range(3)]
    first = run_batch(batch, tmp_path, jobs=0)
    assert first.ok
    (tmp_path / "seed=1" / "linear.meta").write_bytes(b"damaged")  # outputs no longer complete
    shutil.rmtree(tmp_path / "seed=2")
    again = run_batch([*batch, Member("seed=3", SPECS / "linear.gcomp", {"linear.seed": 3})], tmp_path,
                      jobs=0, resume=True)
    assert [r.status for r in again.results] == ["skipped", "ok", "ok", "ok"]
    summary = json.loads((tmp_path / SUMMARY).read_text())["members"]
    assert list(summary) == ["seed=0", "seed=1", "seed=2", "seed=3"]
    assert all(record["status"] == "ok" for record in summary.values())
    counted: list[tuple[str, int]] = []
    run_batch(batch, tmp_path, jobs=0, resume=True, on_result=lambda r, done, total: counted.append((r.key, done)))
    assert counted == [("seed=0", 1), ("seed=1", 2), ("seed=2", 3)]  # each member skipped counts one
    # a summary edited out of shape: those members are built again, not a traceback
    summary["seed=1"], summary["seed=2"]["outputs"] = 3, ["linear.meta"]
    (tmp_path / SUMMARY).write_text(json.dumps({"format": 1, "members": summary}))
    edited = run_batch(batch, tmp_path, jobs=0, resume=True)
    assert [r.status for r in edited.results] == ["skipped", "ok", "ok"]
    changed = run_batch([Member("seed=0", SPECS / "linear.gcomp", {"linear.seed": 7})], tmp_path, jobs=0,
                        resume=True)
    assert changed.results[0].status == "ok"  # other parameters under the same key: built again


def test_summary_is_written_as_members_finish(tmp_path: Path) -> None:
    batch = [Member(f"seed={s}", SPECS / "linear.gcomp", {"linear.seed": s}) for s in range(2)]
    statuses = []

    def look(result, done, total):
        records = json.loads((tmp_path / SUMMARY).read_text())["members"]
        statuses.append([records[m.key]["status"] for m in batch])

    run_batch(batch, tmp_path, jobs=0, on_result=look)
    assert statuses == [["ok", "pending"], ["ok", "ok"]]


def test_cli_batch_prints_a_line_per_member_and_fails_when_one_does(tmp_path: Path, capsys) -> None:
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "zero.yaml").write_text("linear.seed: 0\n")
    (tmp_path / "params" / "wrong.yaml").write_text("linear.sead: 0\n")
    code = main(["batch", str(SPECS / "linear.gcomp"), "-o", str(tmp_path / "out"), "--params",
                 str(tmp_path / "params"), "-j", "0"])
    captured = capsys.readouterr()
    assert code == EXIT_FAILURE
    assert "[1/2] failed wrong (" in captured.out or "[2/2] failed wrong (" in captured.out
    assert "2 members: 1 built, 0 already built, 1 failed" in captured.out
    assert "member wrong failed:" in captured.err and "builder raised TypeError" in captured.err
    code = main(["batch", str(SPECS / "linear.gcomp"), "-o", str(tmp_path / "out"), "--params",
                 str(tmp_path / "params" / "zero.yaml"), "-j", "0", "--resume"])
    assert code == EXIT_OK and "1 members: 0 built, 1 already built, 0 failed" in capsys.readouterr().out


# -- Dask ------------------------------------------------------------------------------------------


def test_files_from_a_dask_worker_that_cannot_be_written_fail_their_member_only(tmp_path: Path) -> None:
    # An OSError putting them in place (a full disk, a file where a folder goes) ended the batch.
    from graphdsl.batch.distributed import _put_in_place

    report = {"status": "ok", "seconds": 1.0, "outputs": {"a": "0" * 64, "a/b": "1" * 64}, "error": None}
    placed = _put_in_place(report, {"a": b"a file", "a/b": b"under the file"}, tmp_path / "member")
    assert placed["status"] == "failed" and placed["outputs"] == {}
    assert placed["error"].startswith(f"error: {tmp_path / 'member'}: the files the worker built cannot be written here:")
    assert not (tmp_path / "member" / "a").exists()  # all or nothing


def test_the_same_batch_runs_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    bad = bad_spec(tmp_path)
    batch = [Member("seed=0", SPECS / "linear.gcomp", {"linear.seed": 0}),
             Member("seed=1", SPECS / "linear.gcomp", {"linear.seed": 1}),
             Member("broken", bad, {})]
    local = run_batch(batch[:1], tmp_path / "local", jobs=0)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = run_batch(batch, tmp_path / "out", scheduler=cluster.scheduler_address)
    assert [r.status for r in result.results] == ["ok", "ok", "failed"]
    assert result.failed[0].error is not None and "missing.pb: no such file" in result.failed[0].error
    out = tmp_path / "out" / "seed=0"
    assert (out / "model" / "saved_model.pb").is_file() and (out / ".graphdsl-outputs").is_file()
    # what came back from the cluster is what a local build writes
    assert result.results[0].outputs == local.results[0].outputs
    summary = json.loads((tmp_path / "out" / SUMMARY).read_text())["members"]
    assert summary["seed=1"]["status"] == "ok"


# -- what makes workers cheap, and what they show ---------------------------------------------------


def test_the_source_cache_lends_a_source_until_its_file_changes(tmp_path: Path) -> None:
    from graphdsl.assemble.compose import compose
    from graphdsl.tf import index
    from graphdsl.tf.cache import SourceCache

    shutil.copytree(SPECS / "models", tmp_path / "models", ignore=shutil.ignore_patterns("encoder", "*.py"))
    shutil.copytree(SPECS / "builders", tmp_path / "builders", ignore=shutil.ignore_patterns("__pycache__"))
    spec = tmp_path / "crossover.gcomp"
    shutil.copy(SPECS / "crossover.gcomp", spec)
    with SourceCache() as cache:
        with compose(spec, source_cache=cache) as first:
            graph = first.sources["p1"].graph
        assert (cache.loads, cache.hits) == (3, 0)
        with compose(spec, source_cache=cache) as second:  # the first's close left them open
            assert second.sources["p1"].graph is graph
            assert getattr(graph, index._ATTRIBUTE, None) is not None  # its index is kept too
        assert (cache.loads, cache.hits) == (3, 3)
        p1 = tmp_path / "models" / "p1.pbtxt"
        p1.write_text(p1.read_text() + "\n")  # changed: loaded afresh
        with compose(spec, source_cache=cache) as third:
            assert third.sources["p1"].graph is not graph
        assert (cache.loads, cache.hits) == (4, 5)


def test_progress_at_a_terminal_counts_done_failed_rate_and_time_left(monkeypatch) -> None:
    import io
    import time

    from graphdsl.batch.runner import MemberResult, Reporter

    monkeypatch.setenv("GRAPHDSL_PROGRESS", "1")
    monkeypatch.setenv("GRAPHDSL_PROGRESS_DELAY", "0")
    stream = io.StringIO()
    with Reporter(4, stream) as reporter:
        reporter(MemberResult("a", "s.gcomp", {}, "ok", 0.1), 1, 4)
        reporter(MemberResult("b", "s.gcomp", {}, "failed", 0.1, error="error: x"), 2, 4)
        time.sleep(0.3)
    shown = stream.getvalue()
    assert "batch: 2/4 done, 1 failed, " in shown and "/s, " in shown and " s left" in shown
    assert "[1/4]" not in shown  # a terminal gets the line, not a line per member


def test_an_ill_typed_parameter_in_a_members_file_is_named_with_its_line(tmp_path: Path, capsys,
                                                                           monkeypatch) -> None:
    """The params file of a batch (SOURCE.OPTION keys and all) is read by the reader of --params
    files: a template parameter's bad value is drawn at its line and column, in a worker too."""
    from golden import compare  # tests/golden.py

    monkeypatch.chdir(REPO)
    data = Path("tests/data/batch")
    code = main(["batch", "specs/towers.gcomp", "-o", str(tmp_path), "--params",
                 str(data / "ill_typed.yaml"), "-j", "1"])
    assert code == EXIT_FAILURE
    error = json.loads((tmp_path / SUMMARY).read_text())["members"]["ill_typed"]["error"]
    compare(data / "ill_typed.err", error + "\n")
    assert error in capsys.readouterr().err
    assert members("specs/towers.gcomp", [data / "ill_typed.yaml"])[0].params == {
        "layers": "many", "mlp.checkpoint": "models/mlp_a.ckpt"}
