"""How big a network would be, from its config alone, and the server's limits on it.

A dry build on torch's meta device gives the exact parameter count and every module's output size
without allocating a byte, so a 2-billion-parameter choice is refused in words before anything is built.
The limits come from the server's environment (`NNLAB_MAX_PARAMS`, `NNLAB_MAX_BATCH_MEMORY`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .registry import model_kind

# Sized for a 2.7 GB host (Streamlit Community Cloud): 5 M parameters are 20 MB of float32 weights, about 50 MB
# a snapshot with gradients and optimizer state, and 2.5 GB on disk for 50 snapshots.
DEFAULT_MAX_PARAMS = 5_000_000
DEFAULT_MAX_BATCH_MEMORY = 512 * 2**20  # bytes of layer outputs (and their gradients) for one training batch
EVAL_BATCH = 256  # the recorder's evaluation batch: a lower bound on the batch that is held at once


@dataclass(frozen=True)
class Footprint:
    """A network's size: parameters, and the values its modules output for one sample."""

    params: int
    values_per_sample: int  # every module's output, summed (what a forward pass keeps for the backward pass)

    def batch_bytes(self, batch_size: int) -> int:
        """Memory of a forward and backward pass over a batch: outputs and their gradients, float32."""
        return 2 * 4 * self.values_per_sample * max(batch_size, EVAL_BATCH)


def footprint(config) -> Footprint:
    """The size of the network `config` describes, computed on the meta device (nothing is allocated)."""
    with torch.device("meta"):
        net = model_kind(config.kind).build(config).eval()
        x = torch.zeros(1, *config.input_shape)
    values = [0]

    def count(module, inputs, output):
        if torch.is_tensor(output) and not list(module.children()):
            values[0] += output[0].numel()

    handles = [m.register_forward_hook(count) for m in net.modules()]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return Footprint(sum(p.numel() for p in net.parameters()), values[0])


def limits() -> tuple[int, int]:
    """The server's (parameter, batch-memory) limits."""
    return (
        int(os.environ.get("NNLAB_MAX_PARAMS", DEFAULT_MAX_PARAMS)),
        int(os.environ.get("NNLAB_MAX_BATCH_MEMORY", DEFAULT_MAX_BATCH_MEMORY)),
    )


def check_budget(config, batch_size: int = 1, fp: Footprint | None = None) -> Footprint:
    """The network's footprint, or a ValueError in words when it is over the server's limits (`fp`: the config's
    footprint if it is known already, so that a form checking each batch size does not build the network again)."""
    fp = fp if fp is not None else footprint(config)
    max_params, max_bytes = limits()
    what = config.describe()
    if fp.params > max_params:
        raise ValueError(
            f"This network ({what}) has {fp.params:,} parameters, more than this server's limit of {max_params:,} "
            "(NNLAB_MAX_PARAMS). Use narrower layers, fewer channels, or a CNN with pooling."
        )
    need = fp.batch_bytes(batch_size)
    if need > max_bytes:
        raise ValueError(
            f"A batch of {max(batch_size, EVAL_BATCH)} through this network ({what}) needs about "
            f"{need / 2**20:,.0f} MB of layer outputs, more than this server's limit of "
            f"{max_bytes / 2**20:,.0f} MB (NNLAB_MAX_BATCH_MEMORY). "
            "Use smaller layers or a smaller input."
        )
    return fp
