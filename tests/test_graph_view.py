"""`graphdsl graph`: pictures of compositions (DOT, and SVG/PNG through Graphviz) and TensorBoard graphs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from graphdsl.assemble.compose import compose
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from graphdsl.errors import GraphDslError
from graphdsl.lang.load import load_spec
from graphdsl.tools import render

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO / "specs").glob("*.gcomp"))
PIECES = (REPO / "tests" / "data" / "builders" / "pieces.py").as_posix()
SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's dot is not installed: `make test` installs it when run as root "
    "(apt-get install graphviz); without it only the SVG/PNG drawings are untested")

STOP_SPEC = f"""graphdsl 1
source enc  = python("{PIECES}:encoder")
source head = python("{PIECES}:head")
copy Enc from enc {{ take = "out" stop_at = ["x:0"] }}
copy Head from head {{
    take = "logits"
    bind "features:0" = Enc["out:0"]
}}
let logits = Head["logits:0"]
export graphdef "frozen.pb" {{ outputs = [logits] }}
"""


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def draw(capsys: pytest.CaptureFixture[str], target: str | Path, out: Path, *options: str) -> str:
    code = main(["graph", str(target), "-o", str(out), *options])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    assert captured.out == f"wrote {out}\n" and captured.err == ""
    return out.read_text() if out.suffix in (".svg", ".dot") else ""


def svg_items(svg: str) -> dict[str, dict[str, str]]:
    """Per class of SVG group (``cluster``, ``node``, ``edge``): the group's id -> its title."""
    items: dict[str, dict[str, str]] = {"cluster": {}, "node": {}, "edge": {}}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        kind = group.get("class")
        if kind in items:
            items[kind][group.get("id", "")] = group.findtext(f"{SVG}title") or ""
    return items


def svg_text(svg: str) -> str:
    return "\n".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))


def expected_binds(spec) -> list[tuple[str, str, str]]:
    """(namespace bound, its input, namespace the value comes from) for every bind of the spec."""
    return [(copy.namespace.name, bind.input.value, spec.resolve(bind.value).namespace.name)
            for copy in spec.copies for bind in copy.binds]


@needs_dot
@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_every_example_spec_draws_its_namespaces_binds_and_signatures(capsys, tmp_path: Path,
                                                                       spec_path: Path) -> None:
    spec = load_spec(spec_path)
    svg = draw(capsys, spec_path.relative_to(REPO), tmp_path / "picture.svg")
    items = svg_items(svg)
    namespaces = {copy.namespace.name for copy in spec.copies}
    assert set(items["cluster"].values()) == {f"cluster_{ns}" for ns in namespaces}
    # Every bind is one highlighted edge from the namespace it reads into the one it binds.
    bind_edges = {ident: title for ident, title in items["edge"].items() if ident.startswith("bind:")}
    for namespace, name, origin in expected_binds(spec):
        # A bind of a signature key ("@x") is drawn with the tensor the key names.
        (title,) = [t for i, t in bind_edges.items()
                    if i.startswith(f"bind:{namespace}:") and (name in i or name.startswith("@"))]
        start, end = title.split("->")
        assert start.startswith(f"{origin}/") and end.startswith(f"{namespace}/")
    assert len(bind_edges) <= len(expected_binds(spec))  # no other edge crosses namespaces
    nodes = set(items["node"].values())
    assert {f"source:{s.name.name}" for s in spec.sources} <= nodes
    assert {f"alias:{let.name.name}" for let in spec.lets} <= nodes
    text = svg_text(svg)
    for export in spec.exports:
        for signature in export.signatures:
            for side, entries in (("input", signature.inputs), ("output", signature.outputs)):
                for entry in entries.entries if entries else ():
                    assert f"{side} {entry.key.value}" in text
                    assert f"{export.path.value}:{signature.name.value}" in text
    sources = {copy.namespace.name: copy.source.name for copy in spec.copies}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if group.get("class") == "cluster":
            namespace = (group.findtext(f"{SVG}title") or "").removeprefix("cluster_")
            assert group.findtext(f"{SVG}text") == f"{namespace} (from {sources[namespace]})"
    # Inside a cluster, boxes are the namespace's name scopes, one level down (the default depth).
    # (A template's block use makes scoped namespaces: member0/Net.)
    for title in nodes - {t for t in nodes if ":" in t}:
        assert any(title.startswith(ns + "/") and title.count("/") == ns.count("/") + 1 for ns in namespaces)


def test_depth_collapses_name_scopes(capsys, tmp_path: Path) -> None:
    one = draw(capsys, "specs/transfer.gcomp", tmp_path / "one.dot")
    two = draw(capsys, "specs/transfer.gcomp", tmp_path / "two.dot", "--depth", "2")
    flat = draw(capsys, "specs/transfer.gcomp", tmp_path / "flat.dot", "--depth", "0")
    boxes = {name: set(re.findall(r'^    "([^"]+)" \[', text, re.M)) for name, text in
             (("one", one), ("two", two), ("flat", flat))}
    assert boxes["flat"] == {"Base", "Top"}
    assert "Base/layer2" in boxes["one"] and "Base/layer2/MatMul" not in boxes["one"]
    assert {"Base/layer2/MatMul", "Base/layer2/w", "Base/layer2/out"} <= boxes["two"]
    assert re.search(r'^  "Base" -> "Top" \[id="bind:Top:layer2/out:0"', flat, re.M)
    assert re.search(r'"Base/layer2/w" \[label="layer2/w/\\n4 ops"\]', two)  # VarHandleOp, its Assign, read, initial value


def test_a_stop_is_marked_and_a_graphdef_export_gives_the_outputs(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "stop.gcomp"
    spec.write_text(STOP_SPEC)
    dot = draw(capsys, spec, tmp_path / "stop.dot")
    assert re.search(r'"Enc/x" \[label="x\\nPlaceholder\\nstop at x:0", fillcolor="#ffd8a8"', dot)
    assert re.search(r'"Enc/out" -> "Head/MatMul" \[id="bind:Head:features:0", label="bind \\"features:0\\""', dot)
    assert re.search(r'"Head/logits" -> "out:\d+:Head/logits:0"', dot)
    assert 'label="output Head/logits:0\\nfrozen.pb"' in dot


def test_an_outdir_is_drawn_from_what_the_build_wrote(capsys, tmp_path: Path) -> None:
    assert main(["build", "specs/crossover.gcomp", "-o", str(tmp_path / "out")]) == EXIT_OK
    capsys.readouterr()
    dot = draw(capsys, tmp_path / "out", tmp_path / "child.dot")
    assert set(re.findall(r'subgraph "cluster_(\w+)"', dot)) == {"Left", "Right", "Child"}
    crossing = set(re.findall(r'^  "(\w+)/[^"]*" -> "(\w+)/[^"]*" \[id="bind:', dot, re.M))
    assert crossing == {("Left", "Right"), ("Left", "Child"), ("Right", "Child")}
    assert 'label="input x\\nchild:serving_default"' in dot
    assert "save/" not in dot  # what the export added is left out
    code = main(["graph", str(tmp_path / "out"), "-o", str(tmp_path / "x.dot"), "--export", "child.pbb"])
    assert code == EXIT_FAILURE and "did you mean 'child.pb'?" in capsys.readouterr().err


@needs_dot
def test_png_and_the_program_fallback_without_the_python_package(capsys, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    draw(capsys, "specs/crossover.gcomp", tmp_path / "child.png")
    assert (tmp_path / "child.png").read_bytes().startswith(b"\x89PNG\r\n")
    monkeypatch.setitem(sys.modules, "graphviz", None)  # the optional package is not installed
    svg = draw(capsys, "specs/crossover.gcomp", tmp_path / "child.svg")
    assert set(svg_items(svg)["cluster"].values()) == {"cluster_Left", "cluster_Right", "cluster_Child"}


@pytest.mark.parametrize("package", [True, False], ids=["with-package", "without-package"])
def test_a_missing_dot_says_how_to_install_it_and_keeps_the_old_file(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: bool) -> None:
    old = tmp_path / "child.svg"
    old.write_text("an earlier drawing")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if not package:
        monkeypatch.setitem(sys.modules, "graphviz", None)
    code = main(["graph", "specs/crossover.gcomp", "-o", str(old)])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE and "Traceback" not in err
    assert "needs Graphviz's 'dot' program, which is not installed" in err
    assert "apt-get install graphviz" in err and "pip install 'graphdsl[view]'" in err
    assert old.read_text() == "an earlier drawing"
    assert list(tmp_path.iterdir()) == [old]  # no half-written file beside it
    # A .dot needs nothing.
    assert main(["graph", "specs/crossover.gcomp", "-o", str(tmp_path / "child.dot")]) == EXIT_OK


def test_bad_outputs_and_command_lines(capsys, tmp_path: Path) -> None:
    assert main(["graph", "specs/crossover.gcomp", "-o", str(tmp_path / "child.pdf")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "cannot draw a '.pdf' file" in err and "FILE.svg" in err
    assert main(["graph", "specs/crossover.gcomp"]) == EXIT_USAGE
    assert "give -o FILE, --tensorboard LOGDIR, or both" in capsys.readouterr().err
    assert main(["graph", "specs/crossover.gcomp", "-o", "x.dot", "--depth", "-1"]) == EXIT_USAGE
    assert main(["graph", "specs", "-o", str(tmp_path / "x.dot")]) == EXIT_FAILURE
    assert "not a build's output directory" in capsys.readouterr().err
    assert main(["graph", "tests/data/build_bad/take_unknown_op.gcomp", "-o", str(tmp_path / "x.dot")]) == EXIT_FAILURE
    assert capsys.readouterr().err == (REPO / "tests/data/build_bad/take_unknown_op.err").read_text()
    assert not (tmp_path / "x.dot").exists()


def test_a_picture_gets_the_usual_permissions_under_any_name_that_fits(capsys, tmp_path: Path) -> None:
    """It was written 0600 (a temporary file's mode), and a temporary name made from a name of 250
    bytes was too long to create."""
    mask = os.umask(0o027)
    try:
        out = tmp_path / ("a" * 250 + ".dot")
        assert main(["graph", "specs/crossover.gcomp", "-o", str(out)]) == EXIT_OK
    finally:
        os.umask(mask)
    assert out.read_text().startswith("digraph")
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    assert main(["graph", "specs/crossover.gcomp", "-o", str(out / "x.dot")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"error: cannot write {out / 'x.dot'}: Not a directory\n" in err


def test_tensorboard_reads_the_composed_graph_back(capsys, tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    assert main(["graph", "specs/linear.gcomp", "--tensorboard", str(logdir)]) == EXIT_OK
    (event_file,) = logdir.iterdir()
    assert capsys.readouterr().out == f"wrote {event_file} (tensorboard --logdir {logdir})\n"
    graphs = [event.graph_def for event in tf.compat.v1.train.summary_iterator(str(event_file))
              if event.WhichOneof("what") == "graph_def"]
    assert len(graphs) == 1
    written = graph_pb2.GraphDef.FromString(graphs[0])
    with compose("specs/linear.gcomp") as composition:
        original = {node.name: node for node in composition.graph.as_graph_def().node}
    nodes = {node.name: node for node in written.node}
    assert nodes.keys() == original.keys() and all(n.startswith("CopiedOps/") for n in nodes)
    elided = {n for n, node in nodes.items() if "_graphdsl_elided_bytes" in node.attr}
    big = {n for n, node in original.items() if node.op == "Const"
           and node.attr["value"].tensor.ByteSize() > render.LARGE_CONSTANT}
    assert elided == big and len(big) == 2  # the model's data, x (2x100) and y (100)
    for name in elided:
        kept, full = nodes[name].attr["value"].tensor, original[name].attr["value"].tensor
        assert (kept.dtype, kept.tensor_shape) == (full.dtype, full.tensor_shape) and not kept.tensor_content
    small = [n for n, node in original.items() if node.op == "Const" and n not in big]
    assert small and all(nodes[n] == original[n] for n in small)


def test_tensorboard_refuses_a_file_as_log_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(GraphDslError, match="not a directory"):
        render.write_tensorboard(graph_pb2.GraphDef(), tmp_path / "file")


def test_the_readme_graph_examples_run(capsys, tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### `graphdsl graph`", 1)[1].split("\n### ", 1)[0]
    commands = [shlex.split(line.split(" # ")[0])[1:]
                for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)
                for line in block.splitlines() if line.startswith("graphdsl ")]
    assert sum(argv[0] == "graph" for argv in commands) >= 4
    drawings = [argv for argv in commands if any(a.endswith((".svg", ".png")) for a in argv)]
    for argv in commands:
        if argv in drawings and shutil.which("dot") is None:
            continue  # skipped below, after the others ran
        argv = [a.replace("out/", f"{tmp_path}/out/") for a in argv]
        assert main(argv) == EXIT_OK, argv
        assert capsys.readouterr().err == ""
    assert any((tmp_path / "out" / "logs").iterdir()) and (tmp_path / "out" / "transfer.dot").is_file()
    if shutil.which("dot") is None:
        pytest.skip(needs_dot.kwargs["reason"])
    svg = (tmp_path / "out" / "assembly.svg").read_text()
    assert set(svg_items(svg)["cluster"].values()) == {"cluster_Enc", "cluster_Head"}
    assert (tmp_path / "out" / "linear.png").is_file()


def test_piped_graph_writes_nothing_on_stderr(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRAPHDSL_PROGRESS"))}
    env["GRAPHDSL_PROGRESS_DELAY"] = "0"
    result = subprocess.run([sys.executable, "-m", "graphdsl", "graph", "specs/crossover.gcomp", "-o",
                             str(tmp_path / "child.dot")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == EXIT_OK and result.stdout == f"wrote {tmp_path / 'child.dot'}\n"
    assert result.stderr == ""
