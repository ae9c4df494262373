"""record_loop: a hand-written training loop recorded into a run folder that opens like any other."""

import numpy as np
import pytest
import torch
from torch import nn

from nnlab import MLPConfig, Run, build_model
from nnlab.loop import record_loop
from nnlab.record import RecordConfig


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return x, (x[:, 0] * x[:, 1] > 0).long()


def _loop(model, opt, rec, x, y, epochs=3, bs=32):
    for _ in range(epochs):
        for i in range(0, len(y), bs):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[i : i + bs]), y[i : i + bs])
            loss.backward()
            opt.step()
            rec.step_done(loss.item())
        rec.epoch(train_loss=loss.item())


def test_custom_module_is_recorded(tmp_path):
    torch.manual_seed(0)
    x, y = _data()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with record_loop(
        model,
        opt,
        tmp_path / "own",
        x[:64],
        y[:64],
        ["a", "b"],
        total_steps=24,
        steps_per_epoch=8,
        record=RecordConfig(snapshots=6),
    ) as rec:
        _loop(model, opt, rec, x, y)
    run = Run(tmp_path / "own")
    assert run.status == "complete"
    assert [s["step"] for s in run.snapshots] == [0, 4, 8, 12, 16, 20, 24]
    assert run.model_config is None and run.manifest["model"]["class"] == "Sequential"
    last = run.snapshot(-1)
    assert torch.equal(last["param/0.weight"], model[0].weight.detach())
    assert last["opt/0.weight/momentum_buffer"].shape == (8, 2)
    assert last["mean/1"].shape == (2, 8) and last["confusion"].sum() == 64
    assert len(run.epochs) == 3 and len(run.steps()["loss"]) == 24
    # the weights at a snapshot rebuild the user's own module
    replayed = run.model_at(-1, model=nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)))
    assert torch.equal(replayed(x[:5]), model.eval()(x[:5]))


def test_nnlab_net_in_own_loop_replays(tmp_path):
    torch.manual_seed(0)
    x, y = _data()
    net = build_model(MLPConfig((2,), 2, (4,)))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    with record_loop(
        net,
        opt,
        tmp_path / "net",
        x[:32],
        y[:32],
        ["a", "b"],
        total_steps=8,
        steps_per_epoch=8,
        record=RecordConfig(snapshots=2),
    ) as rec:
        _loop(net, opt, rec, x, y, epochs=1)
    run = Run(tmp_path / "net")
    assert run.model_config == net.config
    out = run.layer_outputs(-1, x[:3])
    assert torch.allclose(torch.from_numpy(out["out"]), net.eval()(x[:3]))


def test_loop_that_raises_is_kept_as_failed(tmp_path):
    x, y = _data(64)
    model = nn.Sequential(nn.Linear(2, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match="boom"):
        with record_loop(
            model,
            opt,
            tmp_path / "r",
            x,
            y,
            ["a", "b"],
            total_steps=10,
            steps_per_epoch=5,
            record=RecordConfig(snapshots=2),
        ) as rec:
            rec.step_done(1.0)
            raise RuntimeError("boom")
    run = Run(tmp_path / "r")
    assert run.status == "failed" and "boom" in run.message
    assert [s["step"] for s in run.snapshots] == [0]  # an error takes no final snapshot


def test_a_run_of_your_own_module_compares_without_separability(tmp_path):
    """The Compare runs page reads any run: curves and weights, but no layer statistics to line up."""
    from nnlab.analysis.compare import compare_run

    torch.manual_seed(0)
    x, y = _data(128)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with record_loop(
        model,
        opt,
        tmp_path / "own",
        x[:32],
        y[:32],
        ["a", "b"],
        total_steps=8,
        steps_per_epoch=4,
        record=RecordConfig(snapshots=2),
    ) as rec:
        _loop(model, opt, rec, x, y, epochs=2)
    c = compare_run(Run(tmp_path / "own"))
    assert c.separability is None and list(c.epochs) == [1, 2]
    assert c.weight_norm.shape == (3,) and np.isfinite(c.weight_norm).all()


@pytest.mark.parametrize(
    "lr, steps, train, words",
    [
        (float("nan"), 8, None, "learning rate nan is outside 1e-07..10"),
        (1e308, 8, None, "learning rate 1e+308 is outside"),
        (0.1, 0, None, "total_steps 0 must be a whole number of at least 1"),
        (0.1, 8, {"optimizer": "sgd", "lr": 1000}, "learning rate 1000 is outside"),
    ],
)
def test_a_loop_that_cannot_be_recorded_is_refused_in_words_before_anything_is_written(
    tmp_path, lr, steps, train, words
):
    x, y = _data(32)
    model = nn.Sequential(nn.Linear(2, 2))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("+", r"\+")):
        with record_loop(
            model, opt, tmp_path / "run", x, y, ["a", "b"], total_steps=steps, steps_per_epoch=4, train=train
        ):
            pass
    assert not (tmp_path / "run").exists()


def test_a_full_disk_in_your_own_loop_says_so_and_keeps_the_snapshots(tmp_path, monkeypatch):
    from tests.full_disk import fill_up

    torch.manual_seed(0)
    x, y = _data()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fill_up(monkeypatch, at=3)
    with pytest.raises(OSError, match="No space left"):
        with record_loop(
            model,
            opt,
            tmp_path / "own",
            x[:64],
            y[:64],
            ["a", "b"],
            total_steps=24,
            steps_per_epoch=8,
            record=RecordConfig(snapshots=4),
        ) as rec:
            _loop(model, opt, rec, x, y)
    run = Run(tmp_path / "own")
    assert run.status == "failed" and run.message.startswith("The disk is full") and str(tmp_path) not in run.message
    assert len(run) == 2
