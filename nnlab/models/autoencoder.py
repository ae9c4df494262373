"""Autoencoders: an encoder down to a narrow code, a mirrored decoder back up to a reconstruction of the input.

Two kinds, "ae" (dense layers) and "conv_ae" (conv blocks, then the code), each optionally variational (the
encoder also gives a log-variance; training samples the code and adds the KL term). Their task is
reconstruction (`nnlab.tasks.Reconstruction`): labels only colour the map and score a probe on the code.
Points: the encoder's layers, `code` (layout "code"), the decoder's layers, `out`, and `recon` (the output,
shaped like the input). `decode(z)` turns codes `(N, D)` into reconstructions.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from ..tasks import Reconstruction
from .blocks import ACTIVATIONS, MAX_WIDTH, activation
from .points import Point
from .registry import Field, register_model

CODE_WIDTHS = (2, 3, 4, 8, 16, 32, 64)  # what the Train page offers
SKIPS = {
    "boundary": "an autoencoder outputs a reconstruction, not class probabilities, so there is no class boundary "
    "to draw (the Latent space page shows its map instead).",
    "attribution": "an autoencoder has no class score to attribute; the Latent space page shows what it keeps.",
}
TASK = Reconstruction(code="code")


def _check(cfg) -> None:
    if not cfg.input_shape or any(not isinstance(s, int) or s < 1 for s in cfg.input_shape):
        raise ValueError(f"The input shape must be positive whole numbers; got {cfg.input_shape}")
    if not isinstance(cfg.n_classes, int) or cfg.n_classes < 2:
        raise ValueError(f"The probe on the code needs at least 2 classes; got {cfg.n_classes}")
    for what, widths in (("hidden width", cfg.hidden), ("channel count", getattr(cfg, "channels", ()))):
        bad = [w for w in widths if not isinstance(w, int) or not 1 <= w <= MAX_WIDTH]
        if bad:
            raise ValueError(f"Every {what} must be a whole number from 1 to {MAX_WIDTH:,}; got {bad[0]!r}")
    if isinstance(cfg.code, bool) or not isinstance(cfg.code, int) or not 1 <= cfg.code <= 1024:
        raise ValueError(f"The code width must be a whole number from 1 to 1,024; got {cfg.code!r}")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {cfg.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not 0 <= cfg.kl_weight <= 100:
        raise ValueError(f"The KL weight must be from 0 to 100; got {cfg.kl_weight}")


@dataclass(frozen=True)
class AEConfig:
    """A dense autoencoder: flatten, dense layers down to the code, the same widths back up."""

    input_shape: tuple[int, ...] = (1, 28, 28)
    n_classes: int = 10  # classes of the data: for the probe on the code and the colours of the map
    hidden: tuple[int, ...] = (256, 64)  # encoder widths; the decoder mirrors them
    code: int = 2  # the bottleneck's width: 2 draws the map without a projection
    activation: str = "relu"
    variational: bool = False  # a VAE: sample the code in training and add the KL term
    kl_weight: float = 1.0  # weight of the KL term (per input value, as the reconstruction error is)
    kind: str = "ae"

    def __post_init__(self):
        _check(self)

    def describe(self) -> str:
        widths = "-".join(map(str, (*self.hidden, self.code, *self.hidden[::-1])))
        return f"{'VAE' if self.variational else 'Autoencoder'} {widths} ({self.activation})"


@dataclass(frozen=True)
class ConvAEConfig:
    """A convolutional autoencoder: conv blocks (conv, activation, 2×2 pool), dense layers, the code; mirrored."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W)
    n_classes: int = 10
    channels: tuple[int, ...] = (16, 32)  # output channels of each encoder conv block
    kernel: int = 3  # odd, 'same' padding
    hidden: tuple[int, ...] = ()  # dense layers between the conv blocks and the code
    code: int = 2
    activation: str = "relu"
    variational: bool = False
    kl_weight: float = 1.0
    kind: str = "conv_ae"

    def __post_init__(self):
        if len(self.input_shape) != 3:
            raise ValueError(f"A conv autoencoder needs images (channels, height, width); got {self.input_shape}")
        _check(self)
        if not isinstance(self.kernel, int) or self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"The kernel size must be odd (3, 5, ...) to keep the image size; got {self.kernel}")
        if min(self.input_shape[1:]) >> len(self.channels) < 1:
            raise ValueError(f"A {self.input_shape[1]}×{self.input_shape[2]} input is too small for these blocks")

    def describe(self) -> str:
        return (
            f"Conv {'VAE' if self.variational else 'autoencoder'} {'-'.join(map(str, self.channels))} "
            f"→ code {self.code} ({self.activation})"
        )


class AutoEncoder(nn.Module):
    """`encoder` → `code` (and `logvar` for a VAE) → `decoder` → `recon`; forward returns the reconstruction."""

    def __init__(self, config, encoder: OrderedDict, width: int, decoder: OrderedDict, recon: nn.Module):
        super().__init__()
        self.config = config
        self.encoder = nn.Sequential(encoder)
        self.code = nn.Linear(width, config.code)
        self.logvar = nn.Linear(width, config.code) if config.variational else None
        self.decoder = nn.Sequential(decoder)
        self.recon = recon
        self._kl = None  # the KL term of the last forward pass (a VAE's)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes `(N, D)` of inputs `(N, *input_shape)` (a VAE's mean)."""
        return self.code(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructions `(N, *input_shape)` of codes `(N, D)`."""
        return self.recon(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        z = self.code(h)  # (N, D)
        if self.logvar is not None:
            logvar = self.logvar(h).clamp(-10, 10)  # (N, D)
            self._kl = 0.5 * (z.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
            if self.training:  # sample the code: z = μ + σ·ε
                z = z + torch.randn_like(z) * (0.5 * logvar).exp()
        return self.decode(z)

    def penalty(self) -> torch.Tensor | float:
        """What the loss adds to the reconstruction error: a VAE's KL term per input value (else 0)."""
        if self._kl is None:
            return 0.0
        return self.config.kl_weight * self._kl / math.prod(self.config.input_shape)


# --- plans: the children of the encoder and the decoder, and the points they are --------------------------------
def _layers(cfg) -> tuple[list, int, list, int]:
    """(encoder steps, encoder output width, decoder steps, the code's layer); a step is (name, make, role, layout)."""
    act, enc, dec = cfg.activation, [], []
    c, h, w = cfg.input_shape if len(cfg.input_shape) == 3 else (None, None, None)
    sizes, i, k = [], 0, getattr(cfg, "kernel", 3)
    for ch in getattr(cfg, "channels", ()):
        i += 1
        enc += [
            (f"conv{i}", lambda c=c, ch=ch: nn.Conv2d(c, ch, k, padding=k // 2), "raw", "map", i),
            (f"{act}{i}", lambda: activation(act), "activated", "map", i),
            (f"pool{i}", lambda: nn.MaxPool2d(2), "pooled", "map", i),
        ]
        sizes.append((c, h, w))
        c, h, w = ch, h // 2, w // 2
    enc.append(("flatten", nn.Flatten, None, None, i))
    width = c * h * w if sizes else math.prod(cfg.input_shape)
    flat = width
    for hid in cfg.hidden:
        i += 1
        enc += [
            (f"dense{i}", lambda a=width, b=hid: nn.Linear(a, b), "raw", "vector", i),
            (f"{act}{i}", lambda: activation(act), "activated", "vector", i),
        ]
        width = hid
    code_layer = i + 1
    i, back = code_layer, cfg.code
    for hid in (*cfg.hidden[::-1], *((flat,) if sizes else ())):
        i += 1
        dec += [
            (f"dense{i}", lambda a=back, b=hid: nn.Linear(a, b), "raw", "vector", i),
            (f"{act}{i}", lambda: activation(act), "activated", "vector", i),
        ]
        back = hid
    if not sizes:
        dec.append(("out", lambda a=back: nn.Linear(a, flat), "raw", "vector", i + 1))
        return enc, width, dec, code_layer
    dec.append(("unflatten", lambda s=(c, h, w): nn.Unflatten(1, s), None, None, i))
    for j, (c_out, h_out, w_out) in enumerate(sizes[::-1]):
        i += 1
        last = j == len(sizes) - 1
        name = "out" if last else f"conv{i}"
        dec += [
            (f"up{i}", lambda s=(h_out, w_out): nn.Upsample(size=s), None, None, i),
            (name, lambda a=c, b=c_out, k=cfg.kernel: nn.Conv2d(a, b, k, padding=k // 2), "raw", "map", i),
        ]
        if not last:
            dec.append((f"{act}{i}", lambda: activation(act), "activated", "map", i))
        c = c_out
    return enc, width, dec, code_layer


def _recon(cfg) -> nn.Module:
    return nn.Unflatten(1, tuple(cfg.input_shape)) if len(getattr(cfg, "channels", ())) == 0 else nn.Identity()


def autoencoder_points(cfg) -> list[Point]:
    """The encoder's points, the code, the decoder's points, the reconstruction: in network order."""
    enc, _, dec, code_layer = _layers(cfg)
    act = cfg.activation

    def point(part, name, role, layout, layer):
        after = act if role in ("activated", "pooled") else ""
        return Point(name, role, layer, module=f"{part}.{name}", layout=layout, activation=after)

    points = [point("encoder", n, r, lay, i) for n, _, r, lay, i in enc if r]
    points.append(Point("code", "raw", code_layer, module="code", layout="code"))
    points += [point("decoder", n, r, lay, i) for n, _, r, lay, i in dec if r]
    layout = "map" if len(cfg.input_shape) == 3 else "vector"
    return points + [Point("recon", "reconstruction", points[-1].layer, module="recon", layout=layout)]


def build_autoencoder(cfg) -> AutoEncoder:
    enc, width, dec, _ = _layers(cfg)
    return AutoEncoder(
        cfg,
        OrderedDict((n, make()) for n, make, *_ in enc),
        width,
        OrderedDict((n, make()) for n, make, *_ in dec),
        _recon(cfg),
    )


COMMON = (
    Field("code", "Code width (bottleneck)", "choice", choices=CODE_WIDTHS, help="2 draws the map as it is."),
    Field("activation", "Activation", "choice", choices=tuple(ACTIVATIONS)),
    Field("variational", "Variational (VAE)", "toggle", help="Sample the code in training and add the KL term."),
)
HELP = "Squeezes each input through a narrow code and rebuilds it: a map of the data, learned without labels."

register_model(
    "ae",
    config=AEConfig,
    points=autoencoder_points,
    title="Autoencoder (MLP)",
    help=HELP,
    form=(Field("hidden", "Encoder widths (mirrored by the decoder)", "ints", help="e.g. 256, 64"), *COMMON),
    skips=SKIPS,
    task=TASK,
)(build_autoencoder)
register_model(
    "conv_ae",
    config=ConvAEConfig,
    points=autoencoder_points,
    title="Autoencoder (conv)",
    help=HELP,
    form=(
        Field("channels", "Conv channels per encoder block", "ints", help="e.g. 16, 32: each block halves the size."),
        Field("hidden", "Dense widths before the code", "ints", help="Empty for none."),
        *COMMON,
    ),
    skips=SKIPS,
    task=TASK,
)(build_autoencoder)
