"""cnet.image: images of digits as people draw them become MNIST digits.

Synthetic checks run anywhere (with Pillow). The main check needs the real MNIST (CNET_DATA): test digits are
turned into "user drawings" (dark on light, enlarged, off-centre on a bigger canvas, saved as PNG/JPEG/BMP in
RGB, RGBA, palette and 16-bit grey), read back with load_digit, compared with the originals and classified by
a small MLP trained here on 5000 MNIST images.
"""
import importlib.util
import os

import numpy as np
import pytest

from cnet import image

pytestmark = pytest.mark.skipif(importlib.util.find_spec("PIL") is None,
                                reason="Pillow not installed (pip install 'cnet[image]')")

DATA = os.environ.get("CNET_DATA")
needs_mnist = pytest.mark.skipif(
    not DATA or not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="real MNIST not available: set CNET_DATA to a folder holding mnist/ (the 4 IDX files)")


def centre_of_mass(d):
    d = d.reshape(28, 28).astype(np.float64)
    return (d.sum(axis=1) @ np.arange(28)) / d.sum(), (d.sum(axis=0) @ np.arange(28)) / d.sum()


def shifted_correlation(a, b):
    """The best correlation of a and b shifted by up to one pixel: a stroke one pixel off the other
    makes a plain correlation of thin strokes drop although the digits look the same."""
    a, b = a.reshape(28, 28), b.reshape(28, 28)
    return max(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), b.ravel())[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def bbox(d, threshold=0.05):
    d = d.reshape(28, 28)
    rows = np.flatnonzero((d > threshold).any(axis=1))
    cols = np.flatnonzero((d > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def draw(strokes, width, size=(300, 300), mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)):
    """Strokes drawn with Pillow's ImageDraw: lists of points (polylines) or ('ellipse', box)."""
    from PIL import Image, ImageDraw
    img = Image.new(mode, size, paper)
    d = ImageDraw.Draw(img)
    for s in strokes:
        if s[0] == "ellipse":
            d.ellipse(s[1], outline=ink, width=width)
        else:
            d.line(s, fill=ink, width=width, joint="curve")
    return img


SEVEN = [[(80, 60), (220, 60), (130, 250)]]
ONE = [[(150, 50), (150, 250)]]
FOUR = [[(180, 250), (180, 50), (70, 180), (230, 180)]]
ZERO = [("ellipse", (95, 40, 205, 260))]
DRAWN = {7: SEVEN, 1: ONE, 4: FOUR, 0: ZERO}


# ---- synthetic -----------------------------------------------------------------------------------------------

def test_output_is_an_mnist_digit():
    d = image.digit_from_image(draw(SEVEN, 20))
    assert d.shape == (1, 28, 28) and d.dtype == np.float32
    assert d.min() >= 0.0 and d.max() == pytest.approx(1.0)
    assert max(bbox(d)) == 20                                  # size-normalised into 20x20
    cy, cx = centre_of_mass(d)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5         # centred by mass, as MNIST
    assert d[0, 0, 0] == 0 and d[0, -1, -1] == 0               # background 0


def test_aspect_ratio_is_kept():
    d = image.digit_from_image(draw(ONE, 20))                  # 200 tall, 20 wide
    h, w = bbox(d)
    assert h == 20 and 2 <= w <= 4


def test_light_on_dark_equals_dark_on_light():
    a = image.digit_from_image(draw(FOUR, 18))
    b = image.digit_from_image(draw(FOUR, 18, ink=(255, 255, 255), paper=(0, 0, 0)))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_colours_grey_paper_and_transparency():
    ref = image.digit_from_image(draw(ZERO, 18))
    variants = {
        "blue ink on yellow paper": draw(ZERO, 18, ink=(20, 30, 160), paper=(250, 240, 170)),
        "grey paper": draw(ZERO, 18, ink=(40, 40, 40), paper=(200, 200, 200)),
        "dark paper, darker ink": draw(ZERO, 18, ink=(60, 60, 60), paper=(110, 110, 110)),
        "chalk on a grey board": draw(ZERO, 18, ink=(200, 200, 200), paper=(150, 150, 150)),
        "black on transparent": draw(ZERO, 18, mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0)),
        "white on transparent": draw(ZERO, 18, mode="RGBA", ink=(255, 255, 255, 255), paper=(255, 255, 255, 0)),
        "grey + alpha": draw(ZERO, 18, mode="LA", ink=(0, 255), paper=(0, 0)),
        "palette": draw(ZERO, 18).convert("P"),
        "bilevel": draw(ZERO, 18).convert("1"),
        "CMYK": draw(ZERO, 18).convert("CMYK"),
    }
    for name, img in variants.items():
        d = image.digit_from_image(img)
        assert np.corrcoef(d.ravel(), ref.ravel())[0, 1] > 0.97, name


def test_16_bit_grey_keeps_its_range():
    from PIL import Image
    a = np.asarray(draw(SEVEN, 20).convert("L"), dtype=np.uint16) * 257      # 0..65535
    img = Image.fromarray(a)
    assert img.mode.startswith("I")
    ref = image.digit_from_image(draw(SEVEN, 20))
    np.testing.assert_allclose(image.digit_from_image(img), ref, atol=1e-3)
    np.testing.assert_allclose(image.digit_from_array(a), ref, atol=1e-3)   # a uint16 array


def test_thin_strokes_on_a_big_canvas_are_thickened():
    thick = image.digit_from_image(draw(SEVEN, 20))
    thin = image.digit_from_image(draw(SEVEN, 2, size=(600, 600)))   # 2 px pen, scaled down 10x
    assert (thin > 0.5).sum() >= 0.5 * (thick > 0.5).sum()
    assert shifted_correlation(thin, thick) > 0.8       # measured 0.98


def test_arrays():
    ref = image.digit_from_image(draw(FOUR, 18))
    rgb = np.asarray(draw(FOUR, 18))
    np.testing.assert_allclose(image.digit_from_array(rgb), ref, atol=0.02)
    np.testing.assert_allclose(image.digit_from_array(rgb.mean(axis=2) / 255.0), ref, atol=0.02)
    with pytest.raises(ValueError, match="shape"):
        image.digit_from_array(np.zeros((2, 3, 4, 5)))


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_is_a_clear_error(tmp_path, level):
    from PIL import Image
    path = tmp_path / "blank.png"
    Image.new("L", (64, 48), level).save(path)
    with pytest.raises(ValueError, match="blank image"):
        image.load_digit(path)
    with pytest.raises(ValueError, match="blank image"):
        image.digit_from_array(np.full((30, 30), level, dtype=np.uint8))


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image file"):
        image.load_digit(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(OSError, match="not a readable image"):
        image.load_digit(bad)
    truncated = tmp_path / "truncated.png"
    draw(SEVEN, 20).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(OSError, match="truncated.png"):
        image.load_digit(truncated)


def test_without_pillow_says_what_to_install(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'cnet\[image\]'"):
        image.load_digit(tmp_path / "x.png")


# ---- real MNIST digits as user drawings --------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_model():
    """A small MLP trained on 5000 MNIST images (a few seconds) and the first test images."""
    import cnet
    from cnet.datasets import mnist
    from cnet.layers import Dense
    from cnet.models import Sequential
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x = x_train[:5000].reshape(-1, 784).astype(np.float32) / 255
    cnet.set_seed(0)
    model = Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y_train[:5000].astype(np.int64), batch_size=100, epochs=5, verbose=0, seed=0)
    return model, x_test[:10], y_test[:10].astype(np.int64)


def user_drawing(digit, i):
    """An MNIST digit as a user might have drawn it: dark on light, 5x larger, off-centre on 200x160."""
    from PIL import Image
    big = Image.fromarray(255 - digit).resize((140, 140), Image.BILINEAR)
    canvas = Image.new("L", (200, 160) if i % 2 else (160, 200), 255)
    canvas.paste(big, (5 + 5 * i, 10 + i % 12))
    return canvas


SAVES = [  # (file name, how the drawing is stored)
    ("png_rgb.png", lambda im: im.convert("RGB")),
    ("png_rgba.png", lambda im: _transparent(im)),
    ("jpeg.jpg", lambda im: im.convert("RGB")),
    ("bmp.bmp", lambda im: im.convert("RGB")),
    ("png_palette.png", lambda im: im.convert("P")),
    ("png_16bit.png", lambda im: _sixteen_bit(im)),
]


def _transparent(im):
    """Black ink on a transparent canvas (what drawing apps export), the ink's darkness in the alpha."""
    from PIL import Image
    rgba = Image.new("RGBA", im.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(im, lambda v: 255 - v))
    return rgba


def _sixteen_bit(im):
    from PIL import Image
    return Image.fromarray(np.asarray(im, dtype=np.uint16) * 257)


@needs_mnist
@pytest.mark.parametrize("name, store", SAVES, ids=[s[0] for s in SAVES])
def test_user_drawings_of_mnist_digits(tmp_path, mnist_model, name, store):
    model, digits, labels = mnist_model
    loaded, corr = [], []
    for i, d in enumerate(digits):
        path = tmp_path / f"{i}_{name}"
        store(user_drawing(d, i)).save(path)
        x = image.load_digit(path)
        loaded.append(x)
        corr.append(np.corrcoef(x.ravel(), d.ravel() / 255.0)[0, 1])
    pred = model.predict(np.stack(loaded).reshape(-1, 784)).argmax(axis=1)
    correct = int((pred == labels).sum())
    # measured: 10/10 correct; correlations 0.80-0.99, median 0.95 (1-pixel centring differences on thin 1s)
    assert correct >= 8, f"{name}: predicted {pred.tolist()}, true {labels.tolist()}"
    assert np.median(corr) > 0.85 and sum(c > 0.8 for c in corr) >= 8, f"{name}: {np.round(corr, 3)}"


@needs_mnist
def test_digits_drawn_with_lines(mnist_model):
    model = mnist_model[0]
    images, labels = [], []
    for label, strokes in DRAWN.items():
        for width, size in ((18, (300, 300)), (3, (400, 300))):         # a marker; a thin pen
            images.append(image.digit_from_image(draw(strokes, width, size=size)))
            labels.append(label)
    pred = model.predict(np.stack(images).reshape(-1, 784)).argmax(axis=1)
    assert (pred == np.array(labels)).sum() >= 7, f"predicted {pred.tolist()}, true {labels}"
