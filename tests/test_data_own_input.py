"""Your own input (nnlab.data.own_input): drawings, uploads and points against hand-made arrays and crafted files."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnlab.data import Dataset
from nnlab.data import own_input as O

MNIST_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist-test"
needs_mnist = pytest.mark.skipif(not MNIST_TEST.is_dir(), reason=f"real MNIST test set not found at {MNIST_TEST}")
SIDE = 224  # the app's canvas


def image_set(shape, *, level=40, name="pictures") -> Dataset:
    """A tiny image dataset of `shape` whose pixels sit at `level` (dark: a black background, as MNIST)."""
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(level, 20, (20, *shape)), 0, 255).astype(np.uint8)
    y = np.arange(20) % 2
    return Dataset(name, x, y, x, y, ("a", "b"))


def plane_set() -> Dataset:
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    y = np.arange(20) % 2
    return Dataset("points", x, y, x, y, ("a", "b"))


def draw_three(dx: int = 0, dy: int = 0, *, side: int = SIDE, width: int = 18) -> np.ndarray:
    """A "3" drawn in black on a transparent canvas (as the canvas sends it), its box moved by (dx, dy)."""
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    x0, y0 = 60 + dx, 40 + dy  # the digit's box is about 90×130
    d.arc([x0, y0, x0 + 90, y0 + 68], 200, 90, fill=(0, 0, 0, 255), width=width)
    d.arc([x0, y0 + 58, x0 + 90, y0 + 130], 270, 160, fill=(0, 0, 0, 255), width=width)
    return np.asarray(img)


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    a = a.astype(np.float64)
    rows, cols = np.mgrid[: a.shape[0], : a.shape[1]]
    return float((a * rows).sum() / a.sum()), float((a * cols).sum() / a.sum())


def encoded(a: np.ndarray | Image.Image, fmt: str = "PNG", **kw) -> bytes:
    img = a if isinstance(a, Image.Image) else Image.fromarray(a)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width`×`height` grey pixels but holds almost none (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def digit_picture(dark_on_light: bool = True) -> np.ndarray:
    """An RGB 'photo' of a 3: dark ink on light paper (or the reverse), 300×240."""
    ink = (draw_three(side=300)[..., 3] > 0)[:, 30:270]
    paper, pen = (235, 30) if dark_on_light else (20, 230)
    grey = np.where(ink, pen, paper).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


# --- which recipe ---------------------------------------------------------------------------------------------------
def test_the_recipe_follows_the_shape_never_the_name():
    assert O.recipe(image_set((1, 28, 28), name="my-own-letters")) == "mnist"
    assert O.recipe(image_set((1, 8, 8), name="tiny")) == "digits"
    assert O.recipe(image_set((3, 32, 32), name="mnist")) == "resize"  # called mnist, shaped like CIFAR
    assert O.recipe(image_set((1, 16, 16))) == "resize"
    assert O.recipe(plane_set()) is None


# --- MNIST-style ----------------------------------------------------------------------------------------------------
def test_a_drawn_3_placed_off_centre_lands_centred_with_the_same_mass():
    ds = image_set((1, 28, 28))
    placed = [O.from_canvas(draw_three(dx, dy), ds).sample[0] for dx, dy in [(0, 0), (-55, -35), (70, 50)]]
    for a in placed:
        np.testing.assert_array_equal(a, placed[0])  # wherever it was drawn, the same 28×28 digit
        cy, cx = centre_of_mass(a)
        assert abs(cy - O.MNIST_CENTRE) <= 0.5 and abs(cx - O.MNIST_CENTRE) <= 0.5
        rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == O.MNIST_BOX  # fitted into 20×20
        assert a.dtype == np.uint8 and a.max() == 255 and a[0].max() == 0 and a[:, 0].max() == 0  # white on black


def test_the_bounding_box_keeps_its_aspect():
    tall, wide = np.zeros((100, 100)), np.zeros((100, 100))
    tall[10:90, 40:60] = 1  # 80×20
    wide[45:55, 0:100] = 1  # 10×100
    for ink, (h, w) in [(tall, (20, 5)), (wide, (2, 20))]:
        a = O.mnist_style(ink)
        rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
        assert (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == (h, w)


def test_the_mass_moves_whole_even_from_a_corner():
    ink = np.zeros((200, 200))
    ink[0:30, 0:8] = 1  # a short bar in the top-left corner
    a = O.mnist_style(ink).astype(np.float64)
    assert abs(centre_of_mass(a)[0] - 14) <= 0.5 and abs(centre_of_mass(a)[1] - 14) <= 0.5


@needs_mnist
def test_a_drawn_3_sits_and_weighs_as_mnists_own_digits():
    raw = gzip.open(MNIST_TEST / "t10k-images-idx3-ubyte.gz").read()[16:]
    mnist = np.frombuffer(raw, np.uint8).reshape(-1, 28, 28)[:2000]
    centres = np.array([centre_of_mass(a) for a in mnist])
    masses = mnist.reshape(len(mnist), -1).sum(1) / 255
    mine = O.from_canvas(draw_three(-40, 30), image_set((1, 28, 28))).sample[0]
    assert np.all(np.abs(np.array(centre_of_mass(mine)) - centres.mean(0)) <= 0.5)
    lo, hi = np.percentile(masses, [5, 95])
    assert lo <= mine.sum() / 255 <= hi  # as much ink as a typical MNIST digit


# --- digits ---------------------------------------------------------------------------------------------------------
def test_digits_count_the_on_pixels_of_each_4x4_block():
    ink = np.zeros((32, 18))
    ink[:, :] = 1  # 32 tall, 18 wide: centred in the 32×32 bitmap at columns 7..24
    a = O.digits_style(ink)
    row = np.round(np.array([0, 4, 16, 16, 16, 16, 4, 0]) * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(a, np.tile(row, (8, 1)))


def test_a_drawing_fills_the_8_rows_as_the_digits_do():
    own = O.from_canvas(draw_three(30, -20), image_set((1, 8, 8)))
    counts = np.round(
        own.sample[0].astype(np.float64) * 16 / 255
    )  # on the 0..16 scale, stored as the loader stores scikit-learn's
    np.testing.assert_array_equal(np.round(counts * 255 / 16).astype(np.uint8), own.sample[0])
    assert own.sample.shape == (1, 8, 8) and counts.max() == 16
    assert own.sample[0].any(1).all()  # top to bottom, like every digit of the dataset


def test_the_network_gets_the_datasets_own_normalisation():
    for shape in [(1, 28, 28), (1, 8, 8), (3, 32, 32)]:
        ds = image_set(shape)
        own = O.from_canvas(draw_three(), ds)
        assert own.tensor.shape == (1, *shape) and own.label == "your drawing"
        np.testing.assert_allclose(own.tensor.numpy(), ds.prepare(own.sample[None]).numpy())
        assert own.display.dtype == np.uint8 and own.display.shape[:2] == shape[1:]


# --- other image shapes -----------------------------------------------------------------------------------------------
def test_other_shapes_are_resized_with_their_channels():
    red = draw_three().copy()
    red[red[..., 3] > 0] = (255, 0, 0, 255)
    own = O.from_canvas(red, image_set((3, 32, 32), level=120))
    r, g, b = own.sample.astype(int)
    ink = g < 128
    assert own.sample.shape == (3, 32, 32) and ink.any()
    assert (r > 200).all() and np.abs(g - b).max() <= 2  # red strokes on white: red everywhere, green = blue
    assert r[~ink].min() > 200  # the white ground stays white


def test_a_grey_set_drawn_light_on_dark_gets_bright_ink():
    dark, light = image_set((1, 16, 16), level=30), image_set((1, 16, 16), level=220)
    on_dark, on_light = O.from_canvas(draw_three(), dark).sample[0], O.from_canvas(draw_three(), light).sample[0]
    assert on_dark[0, 0] == 0 and on_dark.max() > 200  # black ground, bright strokes
    assert on_light[0, 0] == 255 and on_light.min() < 50  # white ground, dark strokes


# --- the canvas when nothing is drawn -------------------------------------------------------------------------------
@pytest.mark.parametrize("canvas", [None, np.zeros((SIDE, SIDE, 4), np.uint8), np.full((SIDE, SIDE, 4), 255, np.uint8)])
def test_an_empty_canvas_says_draw_something_first(canvas):
    with pytest.raises(O.OwnInputError, match="draw something first"):
        O.from_canvas(canvas, image_set((1, 28, 28)))


def test_a_canvas_for_samples_that_are_not_pictures_says_so():
    with pytest.raises(O.OwnInputError, match="not pictures"):
        O.from_canvas(draw_three(), plane_set())


# --- uploads --------------------------------------------------------------------------------------------------------
def test_an_uploaded_photo_of_a_digit_becomes_an_mnist_digit():
    ds = image_set((1, 28, 28))
    own = O.from_upload(encoded(digit_picture(), "JPEG", quality=90), ds)
    assert own.label == "your image" and any("inverted" in n for n in own.notes)
    a = own.sample[0]
    assert a[0].max() == 0 and a.max() > 200 and abs(centre_of_mass(a)[0] - 14) <= 0.5
    light = O.from_upload(encoded(digit_picture(dark_on_light=False)), ds)
    assert not any("inverted" in n for n in light.notes)
    assert np.abs(light.sample.astype(int) - a.astype(int)).mean() < 12  # the same digit either way


def test_any_size_becomes_the_datasets_size_and_channels():
    big = np.random.default_rng(0).integers(0, 255, (900, 1300, 3), dtype=np.uint8)
    assert O.from_upload(encoded(big, "WEBP"), image_set((3, 32, 32))).sample.shape == (3, 32, 32)
    assert O.from_upload(encoded(big[:20, :30]), image_set((1, 16, 16))).sample.shape == (1, 16, 16)


def test_an_animated_gif_gives_its_first_frame_and_says_so():
    ds = image_set((1, 28, 28))
    frames = [Image.fromarray(digit_picture()), Image.fromarray(np.full((300, 240, 3), 200, np.uint8))] * 2
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    own = O.from_upload(gif.getvalue(), ds)
    assert any("animated (4 frames)" in n and "first frame" in n for n in own.notes)
    first = O.from_upload(encoded(frames[0]), ds)
    np.testing.assert_array_equal(own.sample, first.sample)


def test_cmyk_16_bit_and_palette_images_are_converted():
    ds = image_set((1, 28, 28))
    rgb = digit_picture()
    want = O.from_upload(encoded(rgb), ds).sample.astype(int)
    cmyk = O.from_upload(encoded(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95), ds)
    assert any("CMYK" in n for n in cmyk.notes)
    grey16 = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)  # 0..65535, mode I;16
    assert grey16.mode == "I;16"
    deep = O.from_upload(encoded(grey16), ds)
    assert any("16-bit" in n for n in deep.notes)
    palette = O.from_upload(encoded(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE)), ds)
    transparent = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE)
    transparent.info["transparency"] = 0
    for got in (cmyk, deep, palette, O.from_upload(encoded(transparent), ds)):
        assert np.abs(got.sample.astype(int) - want).mean() < 12


def test_a_16_bit_image_is_scaled_not_clipped():
    grey = np.zeros((40, 40), np.uint16)
    grey[10:30, 15:25] = 20000  # about 30% grey: clipping to 8 bits would make it white
    rgb, notes = O.read_image(encoded(Image.fromarray(grey)))
    assert abs(rgb[20, 20, 0] - 20000 / 65535) < 0.01 and rgb[0, 0, 0] == 0


BAD = {
    "empty": (b"", "empty"),
    "not an image": (b"this is a text file, not a picture\n" * 10, "not an image"),
    "another format": (encoded(np.zeros((8, 8, 3), np.uint8), "BMP"), "not an image nnlab can read"),
    "truncated": (encoded(digit_picture())[:800], "damaged or cut short"),
    "bomb": (png_header(30_000, 30_000), "decompression bomb"),
    "over the warning limit": (png_header(10_000, 10_000), "decompression bomb"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_uploads_are_refused_in_words_and_nothing_is_written(case, tmp_path, monkeypatch):
    data, words = BAD[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(O.OwnInputError, match=words) as e:
        O.from_upload(data, image_set((1, 28, 28)))
    assert "Traceback" not in str(e.value) and len(str(e.value)) < 200
    assert list(tmp_path.iterdir()) == []


def test_the_bomb_limit_is_pillows_own():
    assert Image.MAX_IMAGE_PIXELS is not None and 10_000 * 10_000 > Image.MAX_IMAGE_PIXELS
    with pytest.raises(O.OwnInputError, match=f"{Image.MAX_IMAGE_PIXELS:,}"):
        O.read_image(png_header(30_000, 30_000))


def test_a_file_over_the_upload_size_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(O, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(O.OwnInputError, match="up to"):
        O.read_image(encoded(np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)))


def test_a_blank_upload_has_no_strokes_to_read():
    with pytest.raises(O.OwnInputError, match="blank"):
        O.from_upload(encoded(np.full((50, 50, 3), 240, np.uint8)), image_set((1, 8, 8)))


def test_an_upload_for_points_is_refused():
    with pytest.raises(O.OwnInputError, match="not pictures"):
        O.from_upload(encoded(digit_picture()), plane_set())


# --- points ---------------------------------------------------------------------------------------------------------
def test_a_typed_point_is_a_sample_of_the_plane():
    ds = plane_set()
    own = O.from_point(0.5, -1.25, ds)
    np.testing.assert_array_equal(own.sample, np.array([0.5, -1.25], np.float32))
    np.testing.assert_allclose(own.tensor.numpy(), ds.prepare(own.sample[None]).numpy())
    assert own.display is None and own.label == "your point"
    with pytest.raises(O.OwnInputError, match="finite"):
        O.from_point(float("nan"), 0.0, ds)
    with pytest.raises(O.OwnInputError, match="plane"):
        O.from_point(0.0, 0.0, image_set((1, 8, 8)))
