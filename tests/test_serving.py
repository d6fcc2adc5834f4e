"""SavedModel exports checked as TensorFlow Serving checks them, and their warmup requests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from graphdsl.assemble.compose import compose
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, main
from graphdsl.errors import BuildError

REPO = Path(__file__).resolve().parents[1]
PIECES = (REPO / "tests" / "data" / "builders" / "pieces.py").as_posix()
WARMUP = Path("model") / "assets.extra" / "tf_serving_warmup_requests"

tf1 = tf.compat.v1

ENCODER = f"""graphdsl 1
source enc  = python("{PIECES}:encoder")
source head = python("{PIECES}:head")
copy Enc from enc {{ take = "out" }}
copy Head from head {{ take = ["logits", "ids"] }}
export savedmodel "model" {{
    signature serving_default {{
        inputs  = {{ x: Enc["x:0"] }}
        outputs = {{ y: Enc["out:0"] }}
        warmup  = {{ x: WARMUP }}
    }}
    signature ids {{
        inputs  = {{ ids: Head["ids:0"], features: Head["features:0"] }}
        outputs = {{ logits: Head["logits:0"] }}
        warmup  = {{ ids: [[1, 2]], features: [[0.5, 1]] }}
    }}
}}
"""


def write(tmp_path: Path, text: str, name: str = "spec.gcomp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def read_warmup(path: Path) -> list[prediction_log_pb2.PredictionLog]:
    """The warmup file as TensorFlow Serving reads it: a TFRecord of PredictionLog records."""
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(path))]


def test_the_warmup_file_is_what_tensorflow_serving_reads_and_runs(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, ENCODER.replace("WARMUP", "[[1, 2], [0.5, -1.0]]"))
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_OK
    assert capsys.readouterr().err == ""
    logs = read_warmup(tmp_path / "out" / WARMUP)
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == ["serving_default", "ids"]
    assert logs[0].predict_log.request.model_spec.name == "model"
    x = logs[0].predict_log.request.inputs["x"]
    assert tf.as_dtype(x.dtype) == tf.float32  # the integers of the spec, as the input's dtype
    np.testing.assert_array_equal(tf.make_ndarray(x), np.array([[1.0, 2.0], [0.5, -1.0]], np.float32))
    assert tf.as_dtype(logs[1].predict_log.request.inputs["ids"].dtype) == tf.int32
    # The request, run on the export as TensorFlow Serving runs it, computes what the source does.
    original = tf.Graph()
    with original.as_default():
        sys.path.insert(0, str(Path(PIECES).parent))
        try:
            import pieces
        finally:
            sys.path.pop(0)
        pieces.encoder()
    with tf1.Session(graph=original) as session:
        session.run(tf1.global_variables_initializer())
        expected = session.run("out:0", {"x:0": tf.make_ndarray(x)})
    with tf1.Session(graph=tf.Graph()) as session:
        meta = tf1.saved_model.loader.load(session, ["serve"], str(tmp_path / "out" / "model"))
        signature = meta.signature_def["serving_default"]
        got = session.run(signature.outputs["y"].name, {signature.inputs["x"].name: tf.make_ndarray(x)})
    np.testing.assert_allclose(got, expected)


def test_a_savedmodel_without_serving_default_warns_unless_the_spec_says_so(capsys, tmp_path: Path) -> None:
    text = ENCODER.replace("WARMUP", "[[1, 2]]").replace("serving_default", "predict")
    spec = write(tmp_path, text)
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:6:19: warning: savedmodel export 'model' has no signature 'serving_default'")
    assert "write 'serving = false' in the export" in err
    assert main(["build", str(spec), "-o", str(tmp_path / "out"), "--format", "json"]) == EXIT_OK
    captured = capsys.readouterr()
    (warning,) = json.loads(captured.out)["warnings"]
    assert captured.err == "" and warning["severity"] == "warning" and (warning["line"], warning["column"]) == (6, 19)
    assert main(["check", str(spec)]) == EXIT_OK and "warning: savedmodel export 'model'" in capsys.readouterr().err
    quiet = write(tmp_path, text.replace('"model" {', '"model" {\n    serving = false'), "quiet.gcomp")
    assert main(["check", str(quiet)]) == EXIT_OK and capsys.readouterr().err == ""


def test_an_invalid_signature_is_refused_and_outdir_kept(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = write(tmp_path, ENCODER.replace("WARMUP", "[[1, 2]]"), "good.gcomp")
    assert main(["build", str(good), "-o", str(out)]) == EXIT_OK
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    no_input = ('graphdsl 1\nsource enc = python("' + PIECES + ':encoder")\ncopy Enc from enc { take = "out" }\n'
                'export savedmodel "model" {\n    signature serving_default { outputs = { y: Enc["out:0"] } }\n}\n')
    bad = write(tmp_path, no_input, "bad.gcomp")
    capsys.readouterr()
    assert main(["build", str(bad), "-o", str(out)]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:5:5: error: {out / 'model'}: signature 'serving_default' is not one "
                          "TensorFlow Serving accepts: it has no input")
    assert "give it inputs = { name: REF }, or write 'serving = false'" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    not_served = write(tmp_path, no_input.replace('"model" {', '"model" {\n    serving = false'), "ns.gcomp")
    assert main(["build", str(not_served), "-o", str(out)]) == EXIT_OK


def test_a_failing_warmup_fails_the_build_at_its_value(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, f"""graphdsl 1
source p = python("{PIECES}:parser")
copy P from p {{ take = "number" }}
export savedmodel "model" {{
    signature serving_default {{
        inputs  = {{ text: P["text:0"] }}
        outputs = {{ number: P["number:0"] }}
        warmup  = {{ text: ["1.5", "one"] }}
    }}
}}
""")
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:8:19: error: {tmp_path / 'out' / 'model'}: the warmup request of signature "
                          "'serving_default' fails on the exported model: ")
    assert "StringToNumberOp could not correctly convert string: one" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    fixed = write(tmp_path, spec.read_text().replace('"one"', '"2"'), "fixed.gcomp")
    assert main(["build", str(fixed), "-o", str(tmp_path / "out")]) == EXIT_OK
    request = read_warmup(tmp_path / "out" / WARMUP)[0].predict_log.request
    assert list(tf.make_ndarray(request.inputs["text"])) == [b"1.5", b"2"]


@pytest.mark.parametrize(("warmup", "column", "message"), [
    ("[[1.0, 2.0, 3.0]]", 24, "warmup input 'x' of signature 'serving_default' has shape [1, 3], "
                              "but the input takes [?, 2]"),
    ('[["a", "b"]]', 24, "warmup input 'x' of signature 'serving_default' is a string, but the input takes float32"),
    ("[[true, false]]", 24, "is a boolean, but the input takes float32"),
])
def test_warmup_values_must_fit_the_inputs_dtype_and_shape(capsys, tmp_path: Path, warmup: str, column: int,
                                                           message: str) -> None:
    spec = write(tmp_path, ENCODER.replace("WARMUP", warmup))
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:10:{column}: error: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_an_integer_input_takes_whole_numbers_only(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, ENCODER.replace("WARMUP", "[[1, 2]]").replace("ids: [[1, 2]]", "ids: [[1.5, 2]]"))
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:15:26: error: ") and "warmup input 'ids' of signature 'ids' does not fit int32" in err


def test_without_tensorflow_serving_api_a_warmup_says_what_to_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)  # as if not installed
    spec = write(tmp_path, ENCODER.replace("WARMUP", "[[1, 2]]"))
    with compose(spec) as composition, pytest.raises(BuildError) as info:
        composition.save(tmp_path / "out")
    assert "needs the package tensorflow-serving-api" in info.value.message
    assert info.value.hint is not None and info.value.span is not None
    assert "pip install 'graphdsl[serving]'" in info.value.hint and info.value.span.line == 10
    assert not (tmp_path / "out").exists()


def test_the_assembly_example_writes_its_warmup_request(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    assert main(["build", "specs/assembly.gcomp", "-o", str(tmp_path / "out"), "--format", "json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["exports"][0]["warmup_file"] == str(tmp_path / "out" / WARMUP)
    assert report["exports"][0]["signatures"][0]["warmup"] == {"x": [[1.0, 2.0, 3.0, 4.0]]}
    (log,) = read_warmup(tmp_path / "out" / WARMUP)
    np.testing.assert_array_equal(tf.make_ndarray(log.predict_log.request.inputs["x"]), [[1.0, 2.0, 3.0, 4.0]])
