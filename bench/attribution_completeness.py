"""How far DeepLift, integrated gradients and LRP are from their defining sums, on seeded untrained networks.

Issue 25's closing note. For each network (an MLP, the default CNN with max pools, a CNN without pooling, a ViT) and
20 seeded random inputs and baselines (3 × standard normal and standard normal), prints:
- DeepLift's completeness error |Σ shares − (f(x) − f(b))| / |f(x) − f(b)|, worst over the inputs, with captum's
  DeepLift alone (captum 0.9 issue #1104) and as nnlab computes it (a clone before each max pool);
- integrated gradients' error at 8, 32, 128 and 512 steps, as a share of the largest |rise|;
- LRP's conservation error with every bias set to zero: the largest |Σ relevance − f(x)| as a share of the
  largest |f(x)|.

    python bench/attribution_completeness.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from nnlab.analysis import attribution as A  # noqa: E402
from nnlab.models import CNNConfig, MLPConfig, ViTConfig, build_model  # noqa: E402

NETS = {
    "MLP 8-5": MLPConfig((6,), 3, (8, 5)),
    "default CNN (max pool)": CNNConfig(),
    "CNN, no pooling": CNNConfig((2, 8, 8), 3, (4, 6), 3, "none", (8,)),
    "ViT": ViTConfig((1, 8, 8), 3, width=16, depth=2, heads=2),
}
N = 20


def main() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from captum.attr import DeepLift

    print(
        f"{'network':<24} {'DeepLift captum':>16} {'DeepLift nnlab':>15} "
        + " ".join(f"{'IG ' + str(s):>9}" for s in (8, 32, 128, 512))
        + f" {'LRP (no bias)':>14}"
    )
    for name, cfg in NETS.items():
        torch.manual_seed(1)
        model = build_model(cfg).eval()
        g = torch.Generator().manual_seed(0)
        x = 3 * torch.randn(N, *cfg.input_shape, generator=g)
        base = torch.randn(N, *cfg.input_shape, generator=g)
        target = 1
        with torch.no_grad():
            d = (model(x)[:, target] - model(base)[:, target]).numpy()
        kind = "image" if len(cfg.input_shape) == 3 else "table"
        cells = []
        if A.METHODS["deeplift"].why_not(A.declared_points(model), kind) is None:
            raw = DeepLift(model).attribute(x.clone().requires_grad_(), baselines=base, target=target).detach()
            ours = A.attribute_batch(model, x, target, "deeplift", base)
            for a in (raw.numpy(), ours):
                cells.append(f"{np.max(np.abs(a.reshape(N, -1).sum(1) - d) / np.abs(d)):.2e}")
        else:
            cells += ["refused", "refused"]
        for steps in (8, 32, 128, 512):
            a = A.attribute_batch(model, x, target, "integrated_gradients", base, steps=steps)
            cells.append(f"{np.abs(a.reshape(N, -1).sum(1) - d).max() / np.abs(d).max():.2e}")
        if A.METHODS["lrp"].why_not(A.declared_points(model), kind) is None:
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None:
                        m.bias.zero_()
                score = model(x)[:, target].numpy()
            r = A.attribute_batch(model, x, target, "lrp")
            cells.append(f"{np.abs(r.reshape(N, -1).sum(1) - score).max() / np.abs(score).max():.2e}")
        else:
            cells.append("refused")
        print(
            f"{name:<24} {cells[0]:>16} {cells[1]:>15} " + " ".join(f"{c:>9}" for c in cells[2:6]) + f" {cells[6]:>14}"
        )


if __name__ == "__main__":
    main()
