"""`graphdsl run` as a tool: inputs from .npy/.npz files, results to files, trained graphs saved,
full precision on request, signature keys when running a spec.

Commands run in this process through the real command line (`main`), to spare a TensorFlow start
per command.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble.compose import build
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from graphdsl.errors import RunError
from graphdsl.run import open_runnable

REPO = Path(__file__).resolve().parents[1]
BUILDERS = (REPO / "tests" / "data" / "builders").as_posix()

# Signature keys (images, scores, kernel) that are not aliases (x, out, W): only keys reach them.
SPEC = f"""graphdsl 1
source enc = python("{BUILDERS}/pieces.py:encoder", trained = true)
copy Enc from enc {{
    take = ["out", "W"]
    variables = value
}}
let x   = Enc["x:0"]
let out = Enc["out:0"]
let W   = Enc["W"]
export savedmodel "model" {{
    serving = false  # the signature "weights" takes no input, which TensorFlow Serving refuses
    signature serving_default {{
        inputs  = {{ images: x }}
        outputs = {{ scores: out }}
    }}
    signature weights {{ outputs = {{ kernel: W }} }}
}}
export metagraph "graph"
export graphdef "frozen.pb" {{ outputs = [out] }}
"""

IMAGES = f"""graphdsl 1
source net = python("{BUILDERS}/pieces.py:images")
copy Net from net {{ take = "mean" }}
let images = Net["images:0"]
let mean   = Net["mean:0"]
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run", *args])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    (root / "enc.gcomp").write_text(SPEC)
    build(root / "enc.gcomp", root / "out")
    return root


@pytest.fixture(scope="module")
def linear(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linear") / "out"
    build(REPO / "specs" / "linear.gcomp", out)
    return out


# -- feeds from files ------------------------------------------------------------------------------


def test_an_input_too_large_for_a_command_line_is_fed_from_a_file(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "images.gcomp"
    spec.write_text(IMAGES)
    images = np.random.RandomState(1).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    code, out, err = run(capsys, str(spec), "--feed", f"images=@{tmp_path / 'images.npy'}", "--fetch", "mean",
                         "--precision", "full")
    assert code == EXIT_OK, err
    printed = np.array([float(v) for v in re.findall(r"[-\d.e]+", out.split("=", 1)[1])], dtype=np.float32)
    np.testing.assert_allclose(printed, images.mean(axis=(1, 2, 3)), rtol=1e-6)
    runnable = open_runnable(spec)
    try:  # every digit printed: the printed values read back as exactly what was fetched
        np.testing.assert_array_equal(printed, runnable.run({"images": images}, ["mean"])[0])
    finally:
        runnable.close()


def test_feeds_from_npz_archives_by_key(built: Path, tmp_path: Path, capsys) -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    np.savez(tmp_path / "one.npz", whatever=x)
    np.savez(tmp_path / "keys.npz", images=x)
    expected = "scores = [[2. 4.]\n [6. 8.]]"
    for feed in (f"images=@{tmp_path / 'one.npz'}", f"@{tmp_path / 'keys.npz'}"):
        code, out, err = run(capsys, str(built / "out"), "--feed", feed, "--fetch", "scores")
        assert (code, out.strip()) == (EXIT_OK, expected), err


@pytest.mark.parametrize("feed, message", [
    ("images=@missing.npy", r"--feed images=@.*missing.npy: cannot read it"),
    ("images=@text.npy", r"not a .npy file of numbers or strings"),
    ("images=@objects.npy", r"not a .npy file of numbers or strings"),
    ("images=@two.npz", r"the archive holds no array 'images' \(it holds: a, b\)"),
    ("@one.npy", r"feeding by key takes a .npz archive"),
    ("images=@ints3.npy", r"shape \[3\] does not fit"),
    ("images=@fractions.npy", r"fractional values do not fit .* \(int32\)"),
    # a float32 input took them as inf without a word
    ("images=@huge.npy", r"values too large for 'Enc/x:0' \(float32, at most 3.403e\+38\)"),
    ("images=[[1e39, 0]]", r"--feed images=\[\[1e39, 0\]\]: values too large for 'Enc/x:0' \(float32"),
])
def test_bad_feed_files_say_what_is_wrong(built: Path, tmp_path: Path, capsys, feed: str, message: str) -> None:
    (tmp_path / "text.npy").write_text("1, 2, 3")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "two.npz", a=np.zeros(2), b=np.zeros(2))
    np.save(tmp_path / "one.npy", np.zeros((1, 2), np.float32))
    np.save(tmp_path / "ints3.npy", np.arange(3))
    np.save(tmp_path / "fractions.npy", np.array([[0.5, 1.0]]))
    np.save(tmp_path / "huge.npy", np.array([[1e39, 1.0]]))
    spec = tmp_path / "ints.gcomp"
    spec.write_text(SPEC if "fractions" not in feed else
                    f'graphdsl 1\nsource h = python("{BUILDERS}/pieces.py:head")\n'
                    'copy H from h { take = "ids" }\nlet images = H["ids:0"]\n')
    target = str(built / "out") if "fractions" not in feed else str(spec)
    feed = feed.replace("@", f"@{tmp_path}/")
    code, out, err = run(capsys, target, "--feed", feed, "--fetch", "images")
    assert code == EXIT_FAILURE and "Traceback" not in err
    assert re.search(message, err), err


def test_a_feed_without_a_name_or_file_is_a_usage_error(built: Path, capsys) -> None:
    code, _, err = run(capsys, str(built / "out"), "--feed", "images", "--fetch", "scores")
    assert code == EXIT_USAGE and "NAME=VALUE, NAME=@FILE or @FILE.npz" in err


def test_a_tensor_fed_twice_is_a_usage_error(built: Path, tmp_path: Path, capsys) -> None:
    # The last value given was fed without a word.
    code, _, err = run(capsys, str(built / "out"), "--feed", "images=[[1, 0]]", "--feed", "images=[[0, 1]]",
                       "--fetch", "scores")
    assert code == EXIT_USAGE and "--feed gives 'images' twice (the second in 'images=[[0, 1]]')" in err
    np.savez(tmp_path / "batch.npz", images=np.ones((1, 2), np.float32))
    code, _, err = run(capsys, str(built / "out"), "--feed", "images=[[1, 0]]", "--feed", f"@{tmp_path / 'batch.npz'}",
                       "--fetch", "scores")
    assert code == EXIT_USAGE and "--feed gives 'images' twice" in err


# -- results to files ------------------------------------------------------------------------------------


def test_fetched_values_are_saved_as_npy_files_and_read_back(built: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "values"
    code, printed, err = run(capsys, str(built / "out"), "--feed", "images=[[1, 0]]", "--fetch", "scores",
                             "--fetch", "Enc/W", "--fetch", "Enc/out", "--save", str(out))
    assert code == EXIT_OK, err
    assert printed.splitlines()[-2:] == [f"wrote {out / 'scores.npy'}", f"wrote {out / 'Enc_W.npy'}"]
    assert sorted(p.name for p in out.iterdir()) == ["Enc_W.npy", "scores.npy"]  # an op has no value
    np.testing.assert_array_equal(np.load(out / "scores.npy"), [[2.0, 4.0]])
    np.testing.assert_array_equal(np.load(out / "Enc_W.npy"), [[2.0, 4.0], [6.0, 8.0]])
    code, printed, err = run(capsys, str(built / "out"), "--feed", f"images=@{out / 'scores.npy'}",
                             "--fetch", "scores")
    assert (code, printed.strip()) == (EXIT_OK, "scores = [[28. 40.]]"), err


def test_fetched_values_saved_in_one_archive_feed_back_by_key(built: Path, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "batch.npz"
    code, printed, err = run(capsys, str(built / "out"), "--feed", "images=[[1, 2], [3, 4]]",
                             "--fetch", "images", "--fetch", "scores", "--save", str(archive))
    assert code == EXIT_OK, err
    with np.load(archive) as saved:
        assert saved.files == ["images", "scores"]
    code, printed, err = run(capsys, str(built / "out"), "--feed", f"@{archive}", "--fetch", "scores")
    assert code == EXIT_OK, err  # feeding 'scores' too is allowed: it is a tensor


def test_two_fetches_saved_to_one_file_name_are_refused(built: Path, tmp_path: Path, capsys) -> None:
    spec = tmp_path / "names.gcomp"
    spec.write_text(SPEC + 'let Enc_out_0 = Enc["out:0"]\n')
    code, _, err = run(capsys, str(spec), "--feed", "images=[[1, 0]]", "--fetch", "Enc/out:0",
                       "--fetch", "Enc_out_0", "--save", str(tmp_path / "v"))
    assert code == EXIT_FAILURE
    assert "'Enc_out_0' and 'Enc/out:0' would both be written to Enc_out_0.npy" in err
    assert not (tmp_path / "v").exists()


# -- precision -------------------------------------------------------------------------------------------


def test_full_precision_prints_every_digit_and_element(built: Path, capsys) -> None:
    args = [str(built / "out"), "--feed", "images=[[0.123456789, 0.1]]", "--fetch", "scores"]
    runnable = open_runnable(built / "out")
    try:
        fetched = runnable.run({"images": "[[0.123456789, 0.1]]"}, ["scores"])[0]
    finally:
        runnable.close()
    assert run(capsys, *args)[1].strip() == "scores = [[0.846914 1.293827]]"
    assert run(capsys, *args, "--precision", "2")[1].strip() == "scores = [[0.85 1.29]]"
    full = run(capsys, *args, "--precision", "full")[1]
    printed = np.array([[float(v) for v in re.findall(r"\d+\.\d+", full)]], dtype=np.float32)
    np.testing.assert_array_equal(printed, fetched)  # every digit: it reads back exactly
    assert not np.array_equal(np.array([[0.846914, 1.293827]], dtype=np.float32), fetched)  # 6 digits do not
    wide = np.arange(2000, dtype=np.float32)
    assert "..." in str(np.asarray(wide)) and "..." not in run_format(wide)
    assert main(["run", str(built / "out"), "--fetch", "images", "--precision", "most"]) == EXIT_USAGE


def run_format(value: np.ndarray) -> str:
    from graphdsl.values import format_result

    return format_result("v", value, precision=None)


# -- signature keys when running a spec ------------------------------------------------------------------


def test_a_spec_answers_to_the_signature_keys_of_its_first_savedmodel_export(built: Path, capsys) -> None:
    spec = str(built / "enc.gcomp")
    code, printed, err = run(capsys, spec, "--feed", "images=[[1, 0]]", "--fetch", "scores")
    assert (code, printed.strip()) == (EXIT_OK, "scores = [[2. 4.]]"), err
    code, printed, err = run(capsys, spec, "--signature", "weights", "--fetch", "kernel")
    assert (code, printed.strip()) == (EXIT_OK, "kernel = [[2. 4.]\n [6. 8.]]"), err
    code, printed, err = run(capsys, spec, "--signature", "weight", "--fetch", "kernel")
    assert code == EXIT_FAILURE and "export 'model' has no signature 'weight'" in err
    assert "did you mean 'weights'" in err
    code, printed, err = run(capsys, str(built / "out"), "--signature", "weight", "--fetch", "kernel")
    assert code == EXIT_FAILURE and "has no signature 'weight'" in err


# -- trained variables saved -------------------------------------------------------------------------------


def test_a_trained_metagraph_is_saved_with_a_new_checkpoint(linear: Path, tmp_path: Path, capsys) -> None:
    trained = tmp_path / "trained"
    code, printed, err = run(capsys, str(linear), "--fetch", "train", "--repeat", "201",
                             "--save-variables", str(trained))
    assert code == EXIT_OK, err
    assert printed.splitlines() == ["train: done", f"wrote {trained / 'linear'}"]
    runnable = open_runnable(trained)  # with the build's aliases
    try:
        W, b = runnable.run({}, ["W", "b"])
    finally:
        runnable.close()
    np.testing.assert_allclose(W, [[0.1, 0.2]], atol=1e-3)
    np.testing.assert_allclose(b, [0.3], atol=1e-3)
    untrained = open_runnable(linear)
    try:
        assert abs(untrained.run({}, ["b"])[0][0]) < 1e-6  # the build itself is untouched
    finally:
        untrained.close()


def test_a_trained_savedmodel_is_saved_as_a_new_savedmodel(linear: Path, tmp_path: Path, capsys) -> None:
    trained = tmp_path / "trained"
    code, _, err = run(capsys, str(linear), "--export", "model", "--fetch", "train", "--repeat", "201",
                       "--save-variables", str(trained))
    assert code == EXIT_OK, err
    served = tf.saved_model.load(str(trained / "model")).signatures["serving_default"]()
    np.testing.assert_allclose(served["W"].numpy(), [[0.1, 0.2]], atol=1e-3)
    assert served["loss"].numpy() < 1e-5


def test_a_trained_spec_is_saved_as_all_its_exports(built: Path, tmp_path: Path) -> None:
    runnable = open_runnable(built / "enc.gcomp")
    try:
        with runnable.graph.as_default():
            double = tf.compat.v1.assign(runnable.element("W"), runnable.element("W") * 2.0)
        runnable.session.run(double)  # stands for training
        written = runnable.save_variables(tmp_path / "trained")
    finally:
        runnable.close()
    assert [p.name for p in written] == ["model", "graph", "frozen.pb"]
    kernel = tf.saved_model.load(str(tmp_path / "trained" / "model")).signatures["weights"]()["kernel"]
    np.testing.assert_allclose(kernel.numpy(), [[4.0, 8.0], [12.0, 16.0]])


def test_what_cannot_be_saved_says_why(built: Path, tmp_path: Path) -> None:
    runnable = open_runnable(built / "out", export="frozen.pb")
    try:
        with pytest.raises(RunError, match="a frozen GraphDef holds no variables to save"):
            runnable.save_variables(tmp_path / "x")
    finally:
        runnable.close()
    runnable = open_runnable(built / "out", export="graph")
    try:
        with pytest.raises(RunError, match="is the output directory being run"):
            runnable.save_variables(built / "out")
    finally:
        runnable.close()


@pytest.mark.parametrize("export", ["model", "graph"])
def test_trained_variables_are_never_written_among_the_outputs_of_the_build_run(built: Path, export: str) -> None:
    """Inside the SavedModel being run, or inside another export of its build, a new output
    directory would add files to what the build wrote."""
    before = sorted(p.relative_to(built / "out") for p in (built / "out").rglob("*"))
    runnable = open_runnable(built / "out", export=export)
    try:
        for inside in ("model", "model/variables/trained"):
            with pytest.raises(RunError, match=f"is inside {re.escape(str(built / 'out' / 'model'))}, which "
                                               "the build wrote"):
                runnable.save_variables(built / "out" / inside)
    finally:
        runnable.close()
    assert sorted(p.relative_to(built / "out") for p in (built / "out").rglob("*")) == before


def test_an_unknown_name_lists_each_known_name_once(tmp_path: Path, capsys) -> None:
    # towers.gcomp's alias x is also its signature's input key x.
    out = tmp_path / "towers"
    assert main(["build", str(REPO / "specs" / "towers.gcomp"), "--param", "layers=1", "-o", str(out)]) == EXIT_OK
    code, _, err = run(capsys, str(out), "--fetch", "zzzzzz")
    assert code == EXIT_FAILURE and "help: known names: layer0/out, top, x, y\n" in err


@pytest.mark.parametrize("argv, told", [
    (["--repeat", "0"], "argument --repeat: must be 1 or more, not 0"),
    (["--repeat", "-3"], "argument --repeat: must be 1 or more, not -3"),
    (["--tags", ","], "--tags takes TAG,... (names separated by commas), got ','"),
])
def test_run_refuses_option_values_that_run_nothing_or_load_nothing(built: Path, capsys, argv: list[str],
                                                                     told: str) -> None:
    assert main(["run", str(built / "out"), "--fetch", "W", *argv]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert told in captured.err and captured.out == ""


def test_run_with_tags_the_savedmodel_lacks_names_those_it_has(built: Path, capsys) -> None:
    assert main(["run", str(built / "out"), "--fetch", "W", "--tags", "serve,gpu"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "/model: the SavedModel has no MetaGraph tagged ['gpu', 'serve']" in err
    assert "help: give --tags one of: serve" in err
    assert main(["run", str(built / "out"), "--fetch", "W", "--tags", " serve "]) == EXIT_OK


@pytest.mark.parametrize("inside", ["model", "model/values.npz", "graph.meta"])
def test_fetched_values_are_never_saved_among_the_outputs_of_the_build_run(built: Path, capsys, inside: str) -> None:
    """--save DIR wrote NAME.npy into the SavedModel a build wrote, when DIR was that SavedModel."""
    before = sorted(p.relative_to(built / "out") for p in (built / "out").rglob("*"))
    assert main(["run", str(built / "out"), "--fetch", "W", "--save", str(built / "out" / inside)]) == EXIT_USAGE
    assert "which the build wrote; save the values outside the build's outputs" in capsys.readouterr().err
    assert sorted(p.relative_to(built / "out") for p in (built / "out").rglob("*")) == before
