"""Shared fixtures."""

import pytest

from graphdsl.tf import internals


@pytest.fixture(params=["fast", "public"])
def copy_path(request, monkeypatch):
    """Runs a test once through the fast import and once through tf.graph_util.import_graph_def."""
    if request.param == "public":
        monkeypatch.setattr(internals, "FAST_PATH", False)
    assert internals.fast_import_works() == (request.param == "fast")
    return request.param
