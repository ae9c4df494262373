"""A transformer's class token and position embeddings: similarity and grid score on embeddings worked out on paper,
finding the parameters by shape, and the figures by structure (`nnlab.analysis.positions`, `nnlab.figures.positions`).
The getter on a recorded ViT run and the Weight evolution page are tested in tests/test_vit.py."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.analysis import positions as P
from nnlab.figures import positions as F


def grid_embeddings(grid: tuple[int, int], width: int = 8) -> np.ndarray:
    """Position embeddings `(1 + P, E)` that are smooth in the patch's place: sines of its row and column."""
    rows, cols = np.meshgrid(np.arange(grid[0]), np.arange(grid[1]), indexing="ij")
    f = np.arange(1, width // 4 + 1)[None] * 0.6
    r, c = rows.reshape(-1, 1), cols.reshape(-1, 1)
    e = np.concatenate([np.sin(r * f), np.cos(r * f), np.sin(c * f), np.cos(c * f)], 1)  # (P, E)
    return np.concatenate([np.zeros((1, width)), e]).astype(np.float32)


def test_position_similarity_on_hand_set_embeddings():
    pos = np.array([[9.0, 9.0], [1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, -1.0]])  # class token, then a 2×2 grid
    sim = P.position_similarity(pos, (2, 2))
    assert sim.shape == (4, 2, 2)
    np.testing.assert_allclose(sim[0], [[1, 1], [0, 0]], atol=1e-6)  # the same direction, whatever its length
    np.testing.assert_allclose(sim[2], [[0, 0], [1, -1]], atol=1e-6)  # orthogonal, itself, opposite
    np.testing.assert_allclose(sim.reshape(4, 4), sim.reshape(4, 4).T, atol=1e-6)


def test_grid_score_knows_a_learned_grid_from_noise():
    grid = (4, 4)
    smooth = P.position_similarity(grid_embeddings(grid), grid)
    noise = P.position_similarity(np.random.default_rng(0).normal(size=(17, 64)), grid)
    assert P.grid_score(smooth, grid) > 0.6
    assert abs(P.grid_score(noise, grid)) < 0.2
    assert P.grid_score(np.ones((1, 1, 1)), (1, 1)) == 0.0  # one patch: nothing to correlate


def test_token_params_are_found_by_shape():
    params = {
        "embed.proj.weight": np.zeros((8, 1, 2, 2)),
        "embed.cls": np.zeros((1, 1, 8)),
        "embed.pos": np.zeros((1, 5, 8)),
    }
    assert P.token_params(params, 5) == ("embed.pos", "embed.cls")
    assert P.token_params({"dense1.weight": np.zeros((4, 5))}, 5) == (None, None)


@pytest.mark.parametrize("with_cls", [True, False])
def test_token_embeddings_figure_by_structure(with_cls):
    steps = np.array([0, 10, 20])
    pos = np.random.default_rng(1).normal(size=(3, 5, 8)).astype(np.float32)
    cls = np.linspace(0, 1, 24, dtype=np.float32).reshape(3, 8) if with_cls else None
    history = P.TokenHistory(steps, pos, cls, (2, 2), "embed.pos", "embed.cls" if with_cls else None)
    fig = F.token_embeddings_figure(history, 1)
    assert [t.type for t in fig.data] == ["heatmap"] * (2 if with_cls else 1)
    right = fig.data[-1]
    assert np.asarray(right.z).shape == (5, 8) and right.y[0] == "cls" and right.zmid == 0
    np.testing.assert_allclose(np.asarray(right.z), pos[1])
    assert "step 10" in fig.layout.annotations[-1].text
    if with_cls:
        assert np.asarray(fig.data[0].z).shape == (3, 8) and fig.layout.shapes[0].y0 == 10  # this snapshot marked


def test_position_figure_places_a_tile_per_patch():
    grid = (2, 3)
    sim = P.position_similarity(grid_embeddings(grid), grid)
    fig = F.position_figure(sim, grid, title="alike")
    assert [t.type for t in fig.data] == ["image", "scatter", "heatmap"]
    assert len(fig.data[1].x) == 6 and fig.data[1].text[4] == "patch 5 (row 2, col 2)"
    assert fig.layout.title.text == "alike"
    assert F.position_figure(np.zeros((0, 1, 1)), (1, 1), title="").layout.title.text  # an empty, titled figure


def test_describe_positions_in_words():
    grid = (4, 4)
    assert "learned the 2-D layout" in P.describe_positions(P.position_similarity(grid_embeddings(grid), grid), grid)
    noise = P.position_similarity(np.random.default_rng(0).normal(size=(17, 64)), grid)
    assert "no 2-D layout learned" in P.describe_positions(noise, grid)
    far = -P.position_similarity(grid_embeddings(grid), grid)  # alike where far apart
    assert "far apart are more alike" in P.describe_positions(far, grid)
