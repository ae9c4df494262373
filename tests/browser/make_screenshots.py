"""Regenerate the README's screenshots (docs/screenshots/*.png) from the browser suite's full-page shots.

    python tests/browser/make_screenshots.py            # run the browser tests, then convert
    python tests/browser/make_screenshots.py --no-run   # convert what artifacts/screenshots/ holds now

Each picture is cut to at most MAX_HEIGHT pixels and reduced to a 256-colour palette so it stays small
(the limit is MAX_BYTES; a picture still larger is scaled down until it fits).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots"
DOCS = REPO / "docs" / "screenshots"
MAX_HEIGHT = 3600  # pixels: a longer page is cut (none is, today)
MAX_BYTES = 400_000

# docs name -> the browser suite's shots to take it from, first one found wins
PICKS = {
    "home": ["home"],
    "datasets": ["datasets-digits", "datasets"],
    "train": ["train-finished", "train-running", "train"],
    "runs": ["runs"],
    "walkthrough": ["walkthrough-digits-mlp"],
    "walkthrough-cnn": ["walkthrough-digits-cnn"],
    "class-averages": ["class-averages-digits-mlp", "class-averages-digits-cnn"],
    "attribution": ["attribution-digits-cnn", "attribution-digits-mlp"],
    "hidden": ["hidden-digits-cnn", "hidden-moons"],
    "compare": ["compare"],
    "weights": ["weights-digits-mlp", "weights-digits-cnn"],
    "boundary-moons": ["boundary-moons"],
    "boundary-digits": ["boundary-digits-mlp", "boundary-digits-cnn"],
    "attention": ["attention-digits-vit"],
    "latent": ["latent-digits-ae"],
    "sanity": ["sanity"],
    "units": ["units"],
    "own-drawing": ["own-drawing-digits"],
    "boundary-live": ["boundary-live"],
    "lesson": ["lesson1-step1-start", "lesson8-step1-start"],
    "backprop": ["backprop-moons-edited", "backprop-moons"],
    "sidebar": ["sidebar-1280x800"],
    "photo": ["photo-upload"],
    "features": ["features"],
    "pretrained-walkthrough": ["pretrained-walkthrough"],
}


def shrink(src: Path, dst: Path, *, max_height: int = MAX_HEIGHT, max_bytes: int = MAX_BYTES) -> int:
    """Crop `src` to `max_height`, quantise to 256 colours, scale down until under `max_bytes`; returns the size."""
    image = Image.open(src).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, max_height)))
    scale = 1.0
    while True:
        size = (round(image.width * scale), round(image.height * scale))
        small = image if scale == 1.0 else image.resize(size, Image.Resampling.LANCZOS)
        palette = small.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        tmp = dst.with_suffix(".tmp.png")
        palette.save(tmp, optimize=True)
        if tmp.stat().st_size <= max_bytes or scale < 0.5:
            os.replace(tmp, dst)
            return dst.stat().st_size
        scale *= 0.85


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="do not run the browser tests first")
    args = parser.parse_args(argv)
    if not args.no_run:
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-q"], cwd=REPO)
        if done.returncode:
            print("the browser tests failed; converting the screenshots they left", file=sys.stderr)
    DOCS.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, sources in PICKS.items():
        src = next((SHOTS / f"{s}.png" for s in sources if (SHOTS / f"{s}.png").is_file()), None)
        if src is None:
            missing.append(name)
            continue
        size = shrink(src, DOCS / f"{name}.png")
        print(f"{DOCS.relative_to(REPO) / name}.png  <- {src.name}  ({size / 1000:.0f} kB)")
    if missing:
        print(f"no screenshot for: {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
