"""Your own input: a drawing, an uploaded image or a typed 2-D point, turned into a sample of a dataset.

Stage 1 of the pipeline (data), for one sample made by the student rather than loaded. Each input is converted the
way the dataset's samples were made (which recipe, from the samples' kind and shape, never from the dataset's name),
then normalised by `Dataset.prepare`. Pure numpy and Pillow; bytes are read from memory and nothing is written.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .dataset import Dataset

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")  # what Pillow may decode here (no EPS, no exotic plug-ins)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an image larger than this is refused before it is decoded
INK_FLOOR = 0.15  # uploads: ink fainter than this share of the darkest stroke counts as paper
MNIST_BOX, MNIST_SIDE = 20, 28  # MNIST: the digit's bounding box fits 20×20, in a 28×28 field
MNIST_CENTRE = 14.0  # where MNIST's own digits have their centre of mass (row and column, 0-based)
THUMB = 256  # the longer side of the picture kept for showing beside the converted input
DIGITS_BITMAP, DIGITS_BLOCK = 32, 4  # scikit-learn's digits: 32×32 bitmaps, on-pixels counted in 4×4 blocks


class OwnInputError(ValueError):
    """An input that cannot be turned into a sample; the message says why, in words for the student."""


@dataclass(frozen=True)
class OwnInput:
    """One sample of the student's own, ready for the network."""

    sample: np.ndarray  # (*input_shape): uint8 (C, H, W) for images, float32 (2,) for a point
    tensor: torch.Tensor  # (1, *input_shape) float32, normalised as in training
    display: np.ndarray | None  # uint8 (H, W) or (H, W, 3): what the network sees; None for a point
    label: str  # "your drawing", "your image", "your point"
    notes: tuple[str, ...] = ()  # what was done on the way ("The GIF is animated: its first frame is used.")
    picture: np.ndarray | None = None  # uint8 (h, w, 3): the picture as read, at most THUMB pixels a side


def recipe(dataset: Dataset) -> str | None:
    """How a picture becomes a sample of `dataset`: "mnist" (1×28×28), "digits" (1×8×8), "resize" (other images),
    None when its samples are not images."""
    if not dataset.is_image:
        return None
    shape = tuple(dataset.input_shape)
    if shape == (1, MNIST_SIDE, MNIST_SIDE):
        return "mnist"
    if shape == (1, DIGITS_BITMAP // DIGITS_BLOCK, DIGITS_BITMAP // DIGITS_BLOCK):
        return "digits"
    return "resize"


# --- from a picture to ink --------------------------------------------------------------------------------------
def over_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 `(H, W, 4)` (or `(H, W, 3)`, `(H, W)`) → float32 `(H, W, 3)` in 0..1, transparency composited on white."""
    a = np.asarray(rgba)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4) or a.size == 0:
        raise OwnInputError(f"A picture is an (H, W, 3) or (H, W, 4) array of pixels, not {a.shape}.")
    rgb = a[..., :3].astype(np.float32) / 255.0
    if a.shape[-1] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        rgb = rgb * alpha + (1.0 - alpha)
    return rgb


def ink_of(rgb: np.ndarray) -> np.ndarray:
    """Float `(H, W, 3)` on white → `(H, W)` ink in 0..1 (1 where black, 0 where white)."""
    return 1.0 - rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def paper_removed(grey: np.ndarray) -> tuple[np.ndarray, bool]:
    """An upload's grey levels `(H, W)` in 0..1 → (ink, inverted): dark-on-light pictures are inverted (judged by
    the border), the paper's level subtracted and faint ink dropped, so that only the strokes remain."""
    inverted = bool(np.median(_border(grey)) > 0.5)
    ink = 1.0 - grey if inverted else grey.copy()
    ink = np.clip(ink - float(np.median(_border(ink))), 0.0, None)
    top = float(ink.max())
    if top > 0:
        ink /= top
        ink[ink < INK_FLOOR] = 0.0
    return ink, inverted


def bounding_box(ink: np.ndarray, floor: float = 0.05) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the ink above `floor` (bottom and right exclusive), None for a blank picture."""
    rows, cols = np.flatnonzero((ink > floor).any(1)), np.flatnonzero((ink > floor).any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _fit(ink: np.ndarray, box: tuple[int, int, int, int], side: int) -> np.ndarray:
    """The ink inside `box`, scaled (antialiased, aspect kept) so its longer side is `side` pixels; float 0..1."""
    top, bottom, left, right = box
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow's (width, height)
    img = Image.fromarray(np.round(crop * 255).astype(np.uint8), "L").resize(size, Image.Resampling.LANCZOS)
    return np.asarray(img, np.float32) / 255.0


# --- the recipes ------------------------------------------------------------------------------------------------
def mnist_style(ink: np.ndarray) -> np.ndarray:
    """Ink `(H, W)` in 0..1 → uint8 `(28, 28)` white on black, as MNIST was made: the bounding box fitted into
    20×20 (aspect kept, antialiased), then placed so the centre of mass sits at the field's centre."""
    box = bounding_box(ink)
    if box is None:
        raise OwnInputError("The picture is empty: draw something first.")
    digit = _fit(ink, box, MNIST_BOX)  # (h, w), longer side 20
    h, w = digit.shape
    mass = digit.sum()
    rows, cols = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    cy, cx = (digit.sum(1) @ rows) / mass, (digit.sum(0) @ cols) / mass
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, MNIST_SIDE - h))  # whole pixels, never off the field
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, MNIST_SIDE - w))
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    field[top : top + h, left : left + w] = digit
    return np.round(field * 255).astype(np.uint8)


def digits_style(ink: np.ndarray) -> np.ndarray:
    """Ink `(H, W)` in 0..1 → uint8 `(8, 8)`, as scikit-learn's digits were made: the bounding box fitted into a
    32×32 bitmap (aspect kept, centred), the on-pixels of each 4×4 block counted (0..16), then stored like the
    loader stores them (0..16 → 0..255)."""
    box = bounding_box(ink)
    if box is None:
        raise OwnInputError("The picture is empty: draw something first.")
    digit = _fit(ink, box, DIGITS_BITMAP) >= 0.5  # (h, w) on/off bitmap
    h, w = digit.shape
    bitmap = np.zeros((DIGITS_BITMAP, DIGITS_BITMAP), bool)
    top, left = (DIGITS_BITMAP - h) // 2, (DIGITS_BITMAP - w) // 2
    bitmap[top : top + h, left : left + w] = digit
    n = DIGITS_BITMAP // DIGITS_BLOCK
    counts = bitmap.reshape(n, DIGITS_BLOCK, n, DIGITS_BLOCK).sum(axis=(1, 3))  # (8, 8) in 0..16
    return np.round(counts * (255 / 16)).astype(np.uint8)


def resized(rgb: np.ndarray, shape: tuple[int, int, int], *, invert: bool = False) -> np.ndarray:
    """Float `(H, W, 3)` in 0..1 → uint8 `(C, H', W')` of `shape`: resized (antialiased), grey when C is 1,
    inverted when the dataset's pictures are light on dark."""
    c, h, w = shape
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB").resize(
        (w, h), Image.Resampling.LANCZOS
    )
    if c == 1:
        img = img.convert("L")
    a = np.asarray(img, np.uint8).reshape(h, w, -1)
    a = 255 - a if invert else a
    if c not in (1, 3):
        raise OwnInputError(f"Pictures cannot be turned into samples of {c} channels.")
    return np.ascontiguousarray(np.moveaxis(a, -1, 0))


def _dark_background(dataset: Dataset) -> bool:
    """Single-channel sets whose average pixel is dark (light strokes on black, as MNIST): draw ink bright."""
    return dataset.input_shape[0] == 1 and float(np.mean(dataset.mean)) < 0.5


def to_sample(rgb: np.ndarray, dataset: Dataset, *, ink: np.ndarray | None = None) -> np.ndarray:
    """A picture (float `(H, W, 3)` on white, 0..1) → one uint8 `(C, H, W)` sample of `dataset`, by its recipe.
    `ink` overrides the ink the digit recipes read (uploads remove their paper first)."""
    how = recipe(dataset)
    if how is None:
        raise OwnInputError(f"{dataset.name} holds {dataset.kind} samples, not pictures: there is nothing to draw.")
    if how == "mnist":
        return mnist_style(ink_of(rgb) if ink is None else ink)[None]
    if how == "digits":
        return digits_style(ink_of(rgb) if ink is None else ink)[None]
    return resized(rgb, dataset.input_shape, invert=_dark_background(dataset))


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """Float `(H, W, 3)` in 0..1 → uint8, its longer side at most THUMB pixels (for showing, never for the network)."""
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    img.thumbnail((THUMB, THUMB))
    return np.asarray(img)


def _own(sample, dataset: Dataset, label: str, notes: tuple[str, ...] = (), rgb=None) -> OwnInput:
    display = dataset.display_images(sample[None])[0] if dataset.is_image else None
    picture = thumbnail(rgb) if rgb is not None else None
    return OwnInput(sample, dataset.prepare(sample[None]), display, label, notes, picture)


# --- the three sources --------------------------------------------------------------------------------------------
def from_canvas(rgba: np.ndarray | None, dataset: Dataset) -> OwnInput:
    """A drawing (uint8 `(H, W, 4)` from the canvas, strokes on a transparent or white ground) → `OwnInput`."""
    if rgba is None or np.asarray(rgba).size == 0:
        raise OwnInputError("The canvas is empty: draw something first.")
    rgb = over_white(rgba)
    if bounding_box(ink_of(rgb)) is None:
        raise OwnInputError("The canvas is empty: draw something first.")
    return _own(to_sample(rgb, dataset), dataset, "your drawing", rgb=rgb)


def read_image(data: bytes) -> tuple[np.ndarray, tuple[str, ...]]:
    """Decode an uploaded image from memory, safely, into float `(H, W, 3)` on white in 0..1, and notes.

    Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`) is kept, and its warning is a refusal too;
    only PNG, JPEG, WebP and GIF are decoded; an animated image gives its first frame (and says so); CMYK,
    16-bit, palette and transparent images are converted. Raises `OwnInputError` with the reason.
    """
    if not data:
        raise OwnInputError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise OwnInputError(f"The file is {len(data) / 2**20:.0f} MB; images up to {MAX_UPLOAD_BYTES >> 20} MB.")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            _check_size(img)
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                notes.append(f"The image is animated ({frames} frames): its first frame is used.")
                img.seek(0)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise OwnInputError(_too_big_words()) from None
    except UnidentifiedImageError:
        raise OwnInputError("This file is not an image nnlab can read (PNG, JPEG, WebP or GIF).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # truncated or damaged data
        raise OwnInputError(f"The image is damaged or cut short, so it cannot be read ({e}).") from None
    img = ImageOps.exif_transpose(img) or img  # a phone photo stands the way it was taken
    return _to_rgb(img, notes), tuple(notes)


def _too_big_words() -> str:
    return (
        f"The image has too many pixels (the limit is {Image.MAX_IMAGE_PIXELS:,}): "
        "it may be a decompression bomb, so it is not opened."
    )


def _check_size(img: Image.Image) -> None:
    """Refuse an image over the decompression-bomb limit, whatever the warning filters of other threads say."""
    w, h = img.size
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and w * h > limit:
        raise OwnInputError(_too_big_words())
    if w == 0 or h == 0:
        raise OwnInputError("The image has no pixels.")


def _to_rgb(img: Image.Image, notes: list[str]) -> np.ndarray:
    """Any decoded mode → float `(H, W, 3)` in 0..1 on white (16-bit scaled, not clipped; CMYK, palette converted)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img, np.float64)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if top > 255:
            notes.append("The image has 16-bit grey levels: scaled to 8 bits.")
        grey = np.clip(a / top, 0, 1).astype(np.float32)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode == "CMYK":
        notes.append("The image is CMYK (print colours): converted to RGB.")
        return over_white(np.asarray(img.convert("RGB")))
    if mode == "P" and "transparency" not in img.info:
        return over_white(np.asarray(img.convert("RGB")))
    return over_white(np.asarray(img.convert("RGBA")))


def from_upload(data: bytes, dataset: Dataset) -> OwnInput:
    """An uploaded image (the file's bytes, in memory) → `OwnInput` of `dataset`'s channels and size."""
    if recipe(dataset) is None:
        raise OwnInputError(f"{dataset.name} holds {dataset.kind} samples, not pictures: an image cannot be one.")
    rgb, notes = read_image(data)
    ink = None
    if recipe(dataset) in ("mnist", "digits"):
        ink, inverted = paper_removed(1.0 - ink_of(rgb))
        if bounding_box(ink) is None:
            raise OwnInputError("The image is blank: there are no strokes in it to read.")
        if inverted:
            notes += ("The image is dark on light: inverted, so its strokes are bright as in the dataset.",)
    return _own(to_sample(rgb, dataset, ink=ink), dataset, "your image", notes, rgb)


def from_point(x1: float, x2: float, dataset: Dataset) -> OwnInput:
    """A point of the plane → `OwnInput` of a 2-D dataset."""
    if not dataset.is_2d:
        raise OwnInputError(f"{dataset.name} does not hold points of a plane: there is no plane to click.")
    point = np.array([x1, x2], np.float32)
    if not np.isfinite(point).all():
        raise OwnInputError("A point needs two finite numbers x₁ and x₂.")
    return _own(point, dataset, "your point")
