"""Record the outputs of named modules of any `nn.Module` during a forward pass.

Used by the recorder for models that are not an nnlab `Net`, and by anyone who
wants one layer's output from their own model. Hooks are global state on the
module, so they are always removed, even when the forward pass raises.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def _copy(output):
    """A detached CPU copy of a tensor, a tuple of copies for a tuple or list; other values as they are."""
    if torch.is_tensor(output):
        return output.detach().to("cpu", copy=True)
    if isinstance(output, (tuple, list)):
        return tuple(_copy(o) for o in output)
    return output


class Capture:
    """Context manager: `with Capture(model, ["fc1", "act1"]) as cap: model(x)`; then `cap["fc1"]`.

    Args:
        model: any module.
        names: dotted module names as in `model.named_modules()`.
        keep_all: keep every call's output (a list per name) instead of only the last.
        copy: hand back detached CPU copies (the default); False keeps each output as the module returned it
            (on its device, in the autograd graph): faster, for modules with no in-place operation after them.
    Returns (on `cap[name]`): a detached CPU copy of the module's output (a later in-place op such as
    `ReLU(inplace=True)` cannot change it); a tuple of them for a module that returns a tuple.
    """

    def __init__(self, model: nn.Module, names: Iterable[str], *, keep_all: bool = False, copy: bool = True):
        modules = dict(model.named_modules())
        self.names = list(names)
        missing = [n for n in self.names if n not in modules]
        if missing:
            raise KeyError(f"No module named {', '.join(missing)}; the model has: {', '.join(n for n in modules if n)}")
        self._modules = [modules[n] for n in self.names]
        self._keep_all = keep_all
        self._copy = copy
        self._handles: list = []
        self.outputs: dict[str, torch.Tensor | list[torch.Tensor]] = {}

    def _hook(self, name: str):
        def hook(module, inputs, output):
            out = _copy(output) if self._copy else output
            if self._keep_all:
                self.outputs.setdefault(name, []).append(out)
            else:
                self.outputs[name] = out

        return hook

    def __enter__(self) -> Capture:
        try:
            for name, module in zip(self.names, self._modules, strict=True):
                self._handles.append(module.register_forward_hook(self._hook(name)))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove every hook this capture added (safe to call twice)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __getitem__(self, name: str):
        if name not in self.outputs:
            raise KeyError(f"{name!r} produced no output (was the forward pass run inside the block?)")
        return self.outputs[name]
