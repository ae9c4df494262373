"""LIME on the plane: on a linear network the local fit is the network itself, the fit is seeded and local, and the
Decision boundary page draws it through a point of your own."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nnlab.analysis import local_fit as L
from nnlab.models import MLPConfig, build_model
from tests import app_harness
from tests.app_harness import errors

jobs = app_harness.jobs
app_env = app_harness.app_env


def identity(z: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(z, dtype=torch.float32)


@pytest.fixture
def linear():
    """logits = W z + b with W = [[1, 2], [-1, 0], [0, 0.5]]: class 0 against class 1 has margin 2x₁ + 2x₂ + 0.3."""
    model = build_model(MLPConfig((2,), 3, ()))
    with torch.no_grad():
        model.out.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.0], [0.0, 0.5]]))
        model.out.bias.copy_(torch.tensor([0.3, 0.0, -5.0]))
    return model


def test_the_fit_of_a_linear_network_is_the_network(linear):
    fit = L.local_fit(linear, identity, np.array([1.0, 0.5]), np.array([4.0, 4.0]))
    assert (fit.pred, fit.other) == (0, 1)
    np.testing.assert_allclose(fit.weights, [2.0, 2.0], atol=1e-5)  # W[0] − W[1]
    assert fit.margin == pytest.approx(2 + 1 + 0.3, abs=1e-5)
    assert fit.score == pytest.approx(1.0) and fit.agreement == 1.0
    ends = fit.level_line()
    np.testing.assert_allclose((ends - fit.point) @ fit.weights, 0, atol=1e-9)  # the margin does not change along it
    assert np.allclose(ends.mean(0), fit.point)  # through the point
    zero = fit.zero_line()
    np.testing.assert_allclose((zero - fit.point) @ fit.weights + fit.margin, 0, atol=1e-9)  # the fit says 0 there
    assert "agree on 100%" in fit.words(["a", "b", "c"]) and "describes the network well" in fit.words(["a", "b", "c"])


def test_the_fit_is_seeded_and_local():
    torch.manual_seed(0)
    model = build_model(MLPConfig((2,), 2, (16, 16)))
    a = L.local_fit(model, identity, np.array([0.2, -0.1]), np.array([2.0, 2.0]))
    b = L.local_fit(model, identity, np.array([0.2, -0.1]), np.array([2.0, 2.0]))
    assert np.array_equal(a.weights, b.weights) and a.score == b.score and a.agreement == b.agreement
    np.testing.assert_allclose(a.radius, [0.2, 0.2])
    assert 0 <= a.agreement <= 1 and a.score <= 1


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("lime-runs"))


def test_the_boundary_page_draws_limes_line_through_your_point(app_env, runs):
    at = app_harness.app_test(app_env)
    at.session_state["app_run"] = runs[1].id
    at.switch_page("app_pages/boundary.py").run()
    at.radio(key="own_source").set_value("Click a point").run()
    next(n for n in at.number_input if n.label == "x₁").set_value(0.5).run()
    next(n for n in at.number_input if n.label == "x₂").set_value(0.25).run()
    assert not errors(at), errors(at)
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "boundary_movie").proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert names[-3] == "LIME: the local line" and names[-2].startswith("LIME: ") and names[-1] == "your point"
    line = spec["data"][-3]
    xs, ys = app_harness.plotly_array(line["x"]), app_harness.plotly_array(line["y"])
    assert np.allclose(xs.mean(), 0.5) and np.allclose(ys.mean(), 0.25)
    said = " ".join(m.value for m in at.markdown)
    assert "The star is your point" in said and "LIME's local fit of" in said and "of the neighbours" in said
    assert any("LIME's straight-line stand-in" in c.value for c in at.caption)
