"""nnlab.train: the trainer equals a plain PyTorch loop; seeds, divergence, stop, errors, schedules."""

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nnlab import Callback, MLPConfig, TrainConfig, Trainer, build_model
from nnlab.train import lr_factor, pick_device

MODEL = MLPConfig(hidden=(8, 6), n_classes=3)


def _data(n=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()  # (n,) in 0..2
    return x, y


class Log(Callback):
    """Keeps what the trainer reports, and the learning rate each step used."""

    def __init__(self):
        self.events, self.losses, self.accs, self.lrs, self.epochs = [], [], [], [], []

    def on_train_start(self, trainer):
        self.events.append("start")

    def on_step_end(self, trainer, loss, acc):
        self.losses.append(loss)
        self.accs.append(acc)
        self.lrs.append(trainer.optimizer.param_groups[0]["lr"])

    def on_epoch_end(self, trainer, metrics):
        self.epochs.append(metrics)

    def on_train_end(self, trainer):
        self.events.append(("end", trainer.status))


def _train(cfg, model_cfg=MODEL, n=100, callbacks=()):
    x, y = _data(n)
    xt, yt = _data(30, seed=1)
    torch.manual_seed(cfg.seed)
    log = Log()
    trainer = Trainer(build_model(model_cfg), cfg, x, y, xt, yt, callbacks=[log, *callbacks]).fit()
    return trainer, log


def _reference(cfg, model_cfg=MODEL, n=100):
    """A plain PyTorch loop: same init seed, same permutation generator, same batches."""
    x, y = _data(n)
    torch.manual_seed(cfg.seed)
    net = build_model(model_cfg)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, net


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(optimizer="adam", lr=1e-2, batch_size=16, epochs=3, seed=3),
        TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32, epochs=3, seed=5, weight_decay=1e-3),
    ],
)
def test_trainer_equals_a_plain_pytorch_loop_bit_for_bit(cfg):
    trainer, log = _train(cfg)
    losses, net = _reference(cfg)
    assert len(log.losses) == len(losses) == 3 * math.ceil(100 / cfg.batch_size) == trainer.step
    assert log.losses == losses  # exact equality on CPU
    for (name, p), q in zip(trainer.model.named_parameters(), net.parameters(), strict=True):
        assert torch.equal(p, q), name
    assert losses[-1] < losses[0]


def test_same_seed_same_losses_different_seed_different_losses():
    cfg = TrainConfig(lr=1e-2, batch_size=20, epochs=2, seed=0)
    _, a = _train(cfg)
    _, b = _train(cfg)
    _, c = _train(TrainConfig(lr=1e-2, batch_size=20, epochs=2, seed=1))
    assert a.losses == b.losses
    assert a.losses != c.losses


def test_bookkeeping_history_and_events():
    trainer, log = _train(TrainConfig(batch_size=30, epochs=2))
    assert trainer.status == "complete" and trainer.message == ""
    assert trainer.steps_per_epoch == 4 and trainer.total_steps == 8 == trainer.step and trainer.epoch == 2
    assert log.events == ["start", ("end", "complete")]
    assert [m["epoch"] for m in trainer.history] == [1, 2] and [m["step"] for m in trainer.history] == [4, 8]
    assert log.epochs == trainer.history
    sizes = [30, 30, 30, 10]
    assert trainer.history[0]["train_loss"] == pytest.approx(
        sum(s * v for s, v in zip(sizes, log.losses[:4], strict=True)) / 100
    )
    assert trainer.history[1]["train_acc"] == pytest.approx(
        sum(s * v for s, v in zip(sizes, log.accs[4:], strict=True)) / 100
    )
    xt, yt = _data(30, seed=1)
    with torch.no_grad():
        logits = trainer.model(xt)
    assert trainer.history[1]["test_loss"] == pytest.approx(F.cross_entropy(logits, yt).item(), rel=1e-6)
    assert trainer.history[1]["test_acc"] == pytest.approx((logits.argmax(1) == yt).float().mean().item())
    assert all(0 <= a <= 1 for a in log.accs)


DEEP = MLPConfig(hidden=(64, 64, 64, 64), n_classes=3)  # SGD at the top of the learning-rate range blows it up


def test_a_huge_learning_rate_diverges_with_a_message():
    trainer, log = _train(TrainConfig(optimizer="sgd", lr=10, momentum=0.9, batch_size=10, epochs=3), DEEP)
    assert trainer.status == "diverged"
    assert "learning rate 10 " in trainer.message and "smaller" in trainer.message
    assert trainer.step < trainer.total_steps
    assert all(math.isfinite(v) for v in log.losses)  # the bad step is not reported as a step
    assert log.events[-1] == ("end", "diverged")


class InfNet(nn.Module):
    """Finite logits for `good` steps, then infinite ones."""

    def __init__(self, good):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.calls, self.good = 0, good

    def forward(self, x):
        self.calls += self.training
        out = self.fc(x)
        return out if self.calls <= self.good else out * float("inf")


def test_a_model_that_outputs_inf_stops_the_run_as_diverged():
    x, y = _data()
    log = Log()
    trainer = Trainer(InfNet(good=3), TrainConfig(batch_size=10, epochs=2), x, y, callbacks=[log]).fit()
    assert trainer.status == "diverged" and trainer.step == 3 and len(log.losses) == 3
    assert "at step 4" in trainer.message and "learning rate" in trainer.message
    assert trainer.history == []  # the first epoch never finished


def test_stop_from_a_callback_ends_cleanly():
    class StopAt(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 6:
                trainer.stop()

    trainer, log = _train(TrainConfig(batch_size=20, epochs=3), callbacks=[StopAt()])
    assert trainer.status == "stopped" and trainer.step == 6 and len(log.losses) == 6
    assert trainer.epoch == 1 and len(trainer.history) == 1  # epoch 2 was cut short: no metrics for it
    assert log.events == ["start", ("end", "stopped")]


def test_stop_on_the_last_step_of_an_epoch_keeps_that_epochs_metrics():
    class StopAt(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 5:
                trainer.stop()

    trainer, log = _train(TrainConfig(batch_size=20, epochs=3), callbacks=[StopAt()])
    assert trainer.status == "stopped" and trainer.step == 5
    assert trainer.epoch == 1 and [m["step"] for m in trainer.history] == [5] and len(log.epochs) == 1


def test_an_exception_marks_the_run_failed_and_ctrl_c_interrupted_and_both_propagate():
    class Boom(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 2:
                raise RuntimeError("disk full")

    x, y = _data()
    log = Log()
    torch.manual_seed(0)
    trainer = Trainer(build_model(MODEL), TrainConfig(batch_size=10), x, y, callbacks=[log, Boom()])
    with pytest.raises(RuntimeError, match="disk full"):
        trainer.fit()
    assert trainer.status == "failed" and "step 2 by RuntimeError: disk full" in trainer.message
    assert log.events == ["start", ("end", "failed")]

    class CtrlC(Callback):
        def on_step_end(self, trainer, loss, acc):
            raise KeyboardInterrupt

    log = Log()
    trainer = Trainer(build_model(MODEL), TrainConfig(batch_size=10), x, y, callbacks=[log, CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert trainer.status == "interrupted" and log.events == ["start", ("end", "interrupted")]


@pytest.mark.parametrize("schedule", ["constant", "cosine", "step"])
def test_lr_schedules_set_the_rate_of_every_step(schedule):
    cfg = TrainConfig(lr=0.01, batch_size=25, epochs=3, schedule=schedule)
    trainer, log = _train(cfg)
    total = trainer.total_steps
    assert log.lrs == [0.01 * lr_factor(schedule, s, total) for s in range(total)]
    assert log.lrs[0] == 0.01


def test_lr_factor_values():
    assert lr_factor("constant", 7, 10) == 1.0
    assert [lr_factor("cosine", s, 4) for s in range(5)] == pytest.approx([1, 0.8535534, 0.5, 0.1464466, 0])
    assert [lr_factor("step", s, 8) for s in range(8)] == pytest.approx([1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01])


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop'"),
        ({"schedule": "cosine "}, "Unknown schedule 'cosine '"),
        ({"lr": 1e308}, "learning rate 1e+308 is outside 1e-07..10"),
        ({"lr": 1000}, "learning rate 1000 is outside 1e-07..10"),
        ({"lr": float("nan")}, "learning rate nan is outside"),
        ({"lr": float("inf")}, "learning rate inf is outside"),
        ({"lr": -1.0}, "learning rate -1.0 is outside"),
        ({"lr": 1e-9}, "learning rate 1e-09 is outside"),
        ({"lr": "0.1"}, "learning rate '0.1' is outside"),
        ({"batch_size": 0}, "batch_size 0 is outside 1..1,048,576"),
        ({"batch_size": 2**21}, "batch_size 2097152 is outside"),
        ({"batch_size": 32.5}, "batch_size 32.5 is outside"),
        ({"batch_size": True}, "batch_size True is outside"),
        ({"epochs": 0}, "epochs 0 is outside 1..10,000"),
        ({"epochs": 10**6}, "epochs 1000000 is outside"),
        ({"momentum": 1.0}, "momentum 1.0 is outside [0, 1)"),
        ({"momentum": -0.1}, "momentum -0.1 is outside"),
        ({"weight_decay": -1e-4}, "weight_decay -0.0001 is outside 0..1"),
        ({"weight_decay": float("inf")}, "weight_decay inf is outside"),
        ({"seed": -1}, "seed -1 is outside 0.."),
        ({"device": "gpu"}, "Unknown device 'gpu'"),
    ],
)
def test_bad_train_configs_are_clear_errors(bad, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        TrainConfig(**bad)
    with pytest.raises(ValueError, match=re.escape(error)):  # a saved config (a job spec, a manifest) too
        TrainConfig.from_dict({**TrainConfig().to_dict(), **bad})


def test_every_problem_is_named_at_once_and_good_edges_pass():
    with pytest.raises(ValueError) as info:
        TrainConfig(lr=100, epochs=0, momentum=2)
    assert all(word in str(info.value) for word in ("learning rate 100", "epochs 0", "momentum 2"))
    for good in ({"lr": 1e-7}, {"lr": 10}, {"lr": 0.0}, {"momentum": 0.0}, {"batch_size": 1}, {"epochs": 10_000}):
        TrainConfig(**good)  # 0 freezes the weights (test_record relies on it), the rest are the ends of the ranges
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_dict(["lr", 0.1])


def test_numpy_numbers_become_plain_ones():
    cfg = TrainConfig(lr=np.float32(0.5), batch_size=np.int64(8), epochs=np.int32(2), seed=np.uint8(3), momentum=0)
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()
    assert type(cfg.lr) is float and type(cfg.batch_size) is int and type(cfg.momentum) is float


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_a_missing_device_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")
    x, y = _data()
    with pytest.raises(ValueError, match="choose 'auto' or 'cpu'"):
        Trainer(build_model(MODEL), TrainConfig(device="cuda:0"), x, y)


def test_a_complete_run_that_did_not_learn_is_marked_with_advice():
    """Adam at the top of the range (lr 10) on easy data: complete, but the loss ended far above its start."""
    trainer, _ = _train(TrainConfig(lr=10, batch_size=10, epochs=3))
    assert trainer.status == "complete" and trainer.did_not_learn
    assert "above where it started" in trainer.message and "learning rate 10 is probably too large" in trainer.message
    assert len(trainer.step_losses) == trainer.total_steps and trainer.n_classes == 3
    good, _ = _train(TrainConfig(lr=1e-2, batch_size=10, epochs=10))
    assert good.status == "complete" and not good.did_not_learn and good.message == ""
    assert good.history[-1]["test_acc"] > 0.7


def test_an_exception_leaves_its_traceback_in_the_error_log(tmp_path):
    class Overflow(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 3:
                raise RuntimeError("value cannot be converted to type float without overflow")

    x, y = _data()
    trainer = Trainer(build_model(MODEL), TrainConfig(batch_size=10, lr=0.5), x, y, callbacks=[Overflow()])
    trainer.error_log = tmp_path / "run" / "error.log"
    with pytest.raises(RuntimeError):
        trainer.fit()
    assert trainer.status == "failed"
    assert trainer.message.startswith("A number overflowed at step 3") and "learning rate 0.5" in trainer.message
    assert trainer.message.endswith("The traceback is in error.log.")
    log = trainer.error_log.read_text()
    assert "Traceback (most recent call last)" in log and "without overflow" in log and "on_step_end" in log


def test_train_config_round_trip_ignores_unknown_keys():
    cfg = TrainConfig(optimizer="sgd", lr=0.5, schedule="cosine", seed=9)
    assert TrainConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg
