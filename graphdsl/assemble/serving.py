"""A savedmodel export checked the way TensorFlow Serving checks one, and its warmup requests.

After a savedmodel export is written (into the build's staging directory), :func:`serve_check`
reads it back and, unless the export says ``serving = false``:

- refuses a signature ``tf.compat.v1.saved_model.is_valid_signature`` refuses (a predict signature
  without inputs, say) or one without a method name;
- writes the signatures' ``warmup`` values as TensorFlow Serving's warmup file,
  ``assets.extra/tf_serving_warmup_requests``: one ``PredictionLog`` record per signature with
  a warmup, in a TFRecord file (``tensorflow-serving-api``, the ``graphdsl[serving]`` extra);
- reads that file back as TensorFlow Serving does and runs each request once against the exported
  model, loaded afresh: a smoke test of what was written.

Every failure is a :class:`~graphdsl.errors.BuildError` at the spec's signature or warmup value; the
build then leaves OUTDIR as it was. The missing ``serving_default`` is a warning the spec alone
tells: :func:`graphdsl.lang.serving.serving_warnings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from graphdsl.errors import BuildError
from graphdsl.lang import serving, syntax
from graphdsl.tf.messages import reason

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
_NOT_SERVED = "or write 'serving = false' in the export if TensorFlow Serving will not serve it"


def serve_check(path: Path, export: syntax.Export, label: Path | str) -> Path | None:
    """Checks the SavedModel written at ``path`` for ``export``; writes and runs its warmup.

    ``label`` is where the export will be once in place (what messages name). Returns the warmup
    file written, or None.
    """
    if not serving.is_served(export):
        return None
    meta = _read_meta(path, export.tags)
    for signature in export.signatures:
        _check_signature(meta.signature_def[signature.name.value], signature, label)
    requests = [(s, warmup) for s in export.signatures if (warmup := serving.warmup_of(s)) is not None]
    if not requests:
        return None
    logs = [_prediction_log(meta.signature_def[s.name.value], s, warmup, export, label)
            for s, warmup in requests]
    file = path / WARMUP_FILE
    file.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(file)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    _run_warmup(path, export, file, {s.name.value: warmup for s, warmup in requests}, label)
    return file


def _read_meta(path: Path, tags: tuple[str, ...]) -> meta_graph_pb2.MetaGraphDef:
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    return next(m for m in saved.meta_graphs if set(m.meta_info_def.tags) == set(tags))


def _check_signature(signature_def: meta_graph_pb2.SignatureDef, signature: syntax.Signature,
                     label: Path | str) -> None:
    name = signature.name.value
    if not signature_def.method_name:
        raise _error(f"{label}: signature '{name}' has no method name, which TensorFlow Serving needs",
                     signature.span, f"rebuild the export, {_NOT_SERVED}")
    if not tf.compat.v1.saved_model.is_valid_signature(signature_def):
        if not signature_def.inputs:
            why, fix = "it has no input", "give it inputs = { name: REF }"
        elif not signature_def.outputs:
            why, fix = "it has no output", "give it outputs = { name: REF }"
        else:
            why, fix = f"method '{signature_def.method_name}' does not fit its inputs and outputs", "rebuild it"
        raise _error(f"{label}: signature '{name}' is not one TensorFlow Serving accepts: {why}",
                     signature.span, f"{fix}, {_NOT_SERVED}")


# -- warmup -----------------------------------------------------------------------------------------


def _prediction_log(signature_def: meta_graph_pb2.SignatureDef, signature: syntax.Signature, warmup: syntax.MapValue,
                    export: syntax.Export, label: Path | str) -> Any:
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    except ImportError:
        raise _error(f"{label}: writing TensorFlow Serving's warmup requests needs the package "
                     "tensorflow-serving-api, which is not installed", warmup.span,
                     "pip install 'graphdsl[serving]' (or tensorflow-serving-api==2.21.0)") from None
    request = predict_pb2.PredictRequest()
    request.model_spec.name = Path(export.path.value).name
    request.model_spec.signature_name = signature.name.value
    for entry in warmup.entries:
        info = signature_def.inputs[entry.key.value]
        value = _array(entry, info, signature.name.value, label)
        request.inputs[entry.key.value].CopyFrom(tf.make_tensor_proto(value, dtype=tf.as_dtype(info.dtype)))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def _array(entry: syntax.MapEntry, info: meta_graph_pb2.TensorInfo, signature: str,
           label: Path | str) -> np.ndarray:
    """The warmup value of one input as an array of the input's dtype, if it fits that dtype and shape."""
    key, dtype = entry.key.value, tf.as_dtype(info.dtype)
    what = f"warmup input '{key}' of signature '{signature}'"
    given = np.asarray(serving.literal(entry.value, what))
    kind = "number" if given.dtype.kind in "iuf" or given.size == 0 else \
        {"b": "boolean", "U": "string"}.get(given.dtype.kind, "value")
    fits = (dtype == tf.string and kind == "string") or (dtype == tf.bool and kind == "boolean") or \
        ((dtype.is_floating or dtype.is_integer) and kind == "number")
    if not fits:
        raise _error(f"{label}: {what} is a {kind}, but the input takes {dtype.name}", entry.value.span,
                     f"give {_words(dtype)}")
    if dtype == tf.string:
        value = np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(given) if given.size else given
    else:
        value = given.astype(dtype.as_numpy_dtype)
        if given.size and not np.array_equal(value, given):
            raise _error(f"{label}: {what} does not fit {dtype.name} (a value is cut or out of range)",
                         entry.value.span, f"give {_words(dtype)}")
    shape = tf.TensorShape(info.tensor_shape)
    if not shape.is_compatible_with(value.shape):
        raise _error(f"{label}: {what} has shape {list(value.shape)}, but the input takes {_shape(shape)}",
                     entry.value.span, "give a value of that shape (a batch of one: [[...]])")
    return value


def _run_warmup(path: Path, export: syntax.Export, file: Path, warmups: dict[str, syntax.MapValue],
                label: Path | str) -> None:
    """Reads the warmup file back as TensorFlow Serving does and runs each request on the export."""
    from tensorflow_serving.apis import prediction_log_pb2

    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, list(export.tags), str(path))
        for record in _records(file):
            request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
            name = request.model_spec.signature_name
            signature_def = meta.signature_def[name]
            feeds = {signature_def.inputs[key].name: tf.make_ndarray(tensor)
                     for key, tensor in request.inputs.items()}
            fetches = {key: info.name for key, info in signature_def.outputs.items()}
            try:
                session.run(fetches, feeds)
            except (tf.errors.OpError, ValueError, TypeError) as e:
                raise _error(f"{label}: the warmup request of signature '{name}' fails on the exported "
                             f"model: {reason(e)}", warmups[name].span,
                             "give sample values the signature computes on, as a served request would") from None


def _records(file: Path) -> list[bytes]:
    if tf.executing_eagerly():
        return [record.numpy() for record in tf.data.TFRecordDataset(str(file))]
    return list(tf.compat.v1.io.tf_record_iterator(str(file)))


def _words(dtype: tf.DType) -> str:
    if dtype == tf.string:
        return "strings"
    if dtype == tf.bool:
        return "true or false"
    return "whole numbers in its range" if dtype.is_integer else "numbers"


def _shape(shape: tf.TensorShape) -> str:
    if shape.rank is None:
        return "any shape"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape.as_list()) + "]"


def _error(message: str, span: Any, hint: str) -> BuildError:
    return BuildError(message, span=span, hint=hint)
