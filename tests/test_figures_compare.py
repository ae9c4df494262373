"""Compare figures: one colour per run in every figure, shared or depth-aligned layers, empty inputs say so."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nnlab.analysis.classes import Separability
from nnlab.analysis.compare import RunComparison
from nnlab.figures import compare as F


def run(label: str, names: tuple[str, ...], dead: float = 0.1) -> RunComparison:
    return RunComparison(
        label,
        np.array([1.0, 2.0]),
        np.array([0.9, 0.5]),
        np.array([0.8, 0.6]),
        np.array([0.6, 0.8]),
        Separability(names, np.linspace(0.2, 3.0, len(names))),
        np.array([0.0, 1.0, 2.0]),
        np.array([1.0, 1.5, 2.0]),
        np.full(3, dead),
    )


def test_curves_give_each_run_its_colour_on_both_panels():
    fig = F.curves_figure([run("a", ("d1", "out")), run("b", ("d1", "out"))])
    colors = {(t.name, t.line.color) for t in fig.data}
    assert colors == {("a", F.run_color(0)), ("b", F.run_color(1))} and len(fig.data) == 6
    assert [t.line.dash for t in fig.data[:2]] == ["solid", "dot"]  # training, test loss
    assert F.curves_figure([]).layout.title.text == "No completed epoch to compare yet"


def test_separability_shares_the_points_of_equal_networks_and_aligns_depth_otherwise():
    same = F.separability_figure([run("a", ("d1", "r1", "out")), run("b", ("d1", "r1", "out"))])
    assert list(same.data[0].x) == ["d1", "r1", "out"] and same.layout.xaxis.type == "category"
    mixed = F.separability_figure([run("a", ("d1", "out")), run("b", ("c1", "r1", "p1", "out"))])
    assert list(mixed.data[0].x) == [0.0, 1.0] and list(mixed.data[1].x) == [0.0, 1 / 3, 2 / 3, 1.0]
    assert list(mixed.data[1].text) == ["c1", "r1", "p1", "out"]  # hover still names the points
    custom = replace(run("c", ("x",)), separability=None)  # a run recorded from someone's own model
    assert F.separability_figure([custom]).layout.title.text == "No class statistics to compare"


def test_weights_show_norms_and_dead_units_where_recorded():
    fig = F.weights_figure([run("a", ("d",)), run("b", ("d",), dead=np.nan)])
    assert [t.name for t in fig.data] == ["a", "a", "b"]  # b recorded no firing: no dead-unit line
    assert list(fig.data[0].y) == [1.0, 1.5, 2.0]
