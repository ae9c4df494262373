"""nnlab.analysis.learning: a finished run's loss curve and accuracy → did it learn, and advice in words."""

import numpy as np
import pytest

from nnlab import TrainConfig
from nnlab.analysis.learning import check_learning, did_not_learn

CALM = np.linspace(0.7, 0.2, 100)  # (steps,) a loss that falls
EXPLODING = np.r_[np.full(50, 2.3), np.full(50, 1e20)]


def test_a_run_that_learned_gets_no_advice():
    check = check_learning(CALM, 0.95, 10, lr=3e-3)
    assert check.learned and check.advice == "" and not (check.guessing or check.rose or check.exploded)
    assert check.start_loss == pytest.approx(CALM[:2].mean()) and check.end_loss == pytest.approx(CALM[-10:].mean())
    assert check.peak_loss == pytest.approx(0.7) and check.chance == pytest.approx(0.1)
    assert did_not_learn(CALM, 0.95, 10, TrainConfig()) is None


def test_chance_accuracy_says_guessing_and_suggests_more_training_at_a_small_rate():
    flat = np.full(100, 0.69)
    check = check_learning(flat, 0.52, 2, lr=1e-4)
    assert not check.learned and check.guessing and not check.rose and not check.exploded
    assert "what guessing scores with 2 classes" in check.advice and "more epochs" in check.advice
    assert "Other usual causes" in check.advice and "too large" not in check.advice
    assert check_learning(flat, 0.60, 2, lr=1e-4).learned  # 60% of two classes is more than guessing
    assert not check_learning(flat, 0.19, 10, lr=1e-4).learned and check_learning(flat, 0.2, 10, lr=1e-4).learned


def test_a_loss_that_ends_above_its_start_blames_the_learning_rate():
    rising = np.r_[np.full(10, 0.69), np.linspace(1, 722, 90)]  # Adam at lr 1000, as reported in issue 11
    check = check_learning(rising, 0.9, 2, lr=1000, optimizer="adam")
    assert not check.learned and check.rose and check.exploded and not check.guessing
    assert "ended at" in check.advice and "above where it started (0.69)" in check.advice
    assert "learning rate 1000 is probably too large: try 0.01" in check.advice  # not 100: the usual range
    wobbly = np.r_[np.full(9, 1.0), 1.15]  # one noisy last batch 15% above the start is not a rise
    assert check_learning(wobbly, 0.9, 2, lr=3e-3).learned


def test_an_exploding_sgd_run_says_it_overshot():
    sgd = TrainConfig(optimizer="sgd", lr=3.0)
    advice = did_not_learn(EXPLODING, 0.10, 10, sgd)
    assert "guessing" in advice and "jumped from 2.3 to 1e+20" in advice and "try 0.3" in advice
    assert "or Adam" in advice


def test_non_finite_steps_are_ignored_and_degenerate_input_gives_a_verdict_not_an_error():
    with_nan = np.r_[CALM, np.nan, np.inf]
    assert check_learning(with_nan, 0.95, 10, lr=3e-3).end_loss == pytest.approx(CALM[-10:].mean(), rel=0.02)
    empty = check_learning(np.zeros(0), None, 10, lr=3e-3)
    assert empty.learned and np.isnan(empty.start_loss) and empty.accuracy is None
    one_class = check_learning(CALM, 0.0, 1, lr=3e-3)
    assert one_class.chance is None and one_class.learned
    assert not check_learning([0.5], 0.1, 10, lr=3e-3).learned  # one step, at chance
