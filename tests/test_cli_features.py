"""`python -m nnlab features RUN --point P`: trains an SAE on the run's point, saves it in the run folder, and prints
its quality and the purity of its features against the neurons; bad input is refused in words and saves nothing."""

from __future__ import annotations

import shutil

from nnlab.analysis import sae
from nnlab.cli import main


def test_features_trains_saves_and_prints_the_numbers(tiny_run, runs_root, capsys):
    shutil.copytree(tiny_run.folder, runs_root / "tiny")
    code = main(["features", "tiny", "--point", "relu1", "--width", "16", "--k", "2", "--epochs", "3"])
    out = capsys.readouterr().out
    assert code == 0
    last = len(tiny_run) - 1
    saved = runs_root / "tiny" / "features" / f"relu1-s{last}-w16-k2"
    assert (saved / "sae.safetensors").is_file() and (saved / "sae.json").is_file()
    m, entry = sae.load_sae(saved, d_in=8)
    assert (m.width, m.k, entry["snapshot"]) == (16, 2, last)
    for words in ("variance explained", "L0", "dead features", "spliced in", "median class purity", "neurons"):
        assert words in out
    line = next(x for x in out.splitlines() if "L0" in x)
    assert 0 < float(line.split()[-1]) <= 2  # at most k features active per vector


def test_features_at_a_snapshot_and_bad_input(tiny_run, runs_root, capsys):
    shutil.copytree(tiny_run.folder, runs_root / "tiny")
    assert (
        main(["features", "tiny", "--point", "relu2", "--snapshot", "1", "--width", "8", "--k", "1", "--epochs", "2"])
        == 0
    )
    assert (runs_root / "tiny" / "features" / "relu2-s1-w8-k1").is_dir()
    capsys.readouterr()
    assert main(["features", "tiny", "--point", "relu2", "--snapshot", "99"]) == 2
    assert "no snapshot 99" in capsys.readouterr().err
    assert main(["features", "tiny", "--point", "nowhere"]) == 2
    assert "no point 'nowhere'" in capsys.readouterr().err
    assert main(["features", "tiny", "--point", "relu1", "--width", "4", "--k", "9"]) == 2
    assert "between 1 and the width" in capsys.readouterr().err
    assert main(["features", "missing", "--point", "relu1"]) == 2
    assert main(["features", "../x", "--point", "relu1"]) == 2
    assert sorted(p.name for p in (runs_root / "tiny" / "features").iterdir()) == ["relu2-s1-w8-k1"]
