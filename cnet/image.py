"""Your own handwritten digit as an MNIST image: ``load_digit(path) -> float32 (1, 28, 28)`` in [0, 1].

    x = cnet.image.load_digit("three.png")          # PNG, JPEG, BMP, ...: any size and colour mode
    probs = model.predict(x.reshape(1, 784))        # an MLP; x[None] for a convnet

MNIST's digits are light on black, size-normalised into a 20x20 box (aspect ratio kept, anti-aliased) and
centred by centre of mass in a 28x28 field. People draw dark strokes on white paper or canvases of any size,
often off-centre, so `digit_from_array` repeats MNIST's preprocessing:

1. grayscale in [0, 1] (transparency is composited on white first; 16-bit images keep their range);
2. ink darker than the background (the border pixels' median) -> inverted, so the ink is bright;
3. the background level is subtracted and the contrast stretched so the strongest ink is 1;
4. crop to the bounding box of the ink (pixels above a threshold);
5. strokes too thin to survive the shrink (a 3-pixel pen on a 600-pixel canvas) are thickened;
6. resize so the longer side is 20 pixels, aspect ratio kept (Pillow's LANCZOS);
7. paste into 28x28 so the centre of mass is at the centre.

Pillow is needed (``pip install 'cnet[image]'`` or ``pip install Pillow``); it is imported on first use.
A blank image raises ValueError.
"""
import os

import numpy as np

__all__ = ["load_digit", "digit_from_image", "digit_from_array", "require_pillow", "PILLOW_HINT"]

PILLOW_HINT = "reading images needs Pillow: pip install 'cnet[image]' (or: pip install Pillow)"

BOX = 20            # MNIST's size-normalisation box
SIZE = 28           # MNIST's field
MIN_CONTRAST = 0.1  # ink darker/lighter than the background by less than this (of full scale): blank
INK_THRESHOLD = 0.2  # of the stretched ink: pixels above it define the digit's bounding box
STROKE = 2.0        # thinnest stroke, in pixels of the 20x20 box, before thickening kicks in
_WORK = 200         # large crops are first reduced to this many pixels on the longer side


def require_pillow():
    """The PIL.Image module, or ImportError with the command that installs it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(PILLOW_HINT, name="PIL") from None
    return Image


def load_digit(path):
    """Read an image file (PNG, JPEG, BMP, GIF, TIFF, ... as Pillow reads them) and return it as an MNIST
    digit: float32 (1, 28, 28), ink 1, background 0. OSError when the file is missing or not an image,
    ValueError when it holds no digit (a blank image), ImportError when Pillow is not installed."""
    Image = require_pillow()
    path = os.fspath(path)
    try:
        with Image.open(path) as img:
            img.load()
            return digit_from_image(img)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such image file: {path!r}") from None
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, EOFError) as exc:
        raise OSError(f"{path}: not a readable image ({exc})") from None
    except OSError as exc:
        raise OSError(f"{path}: not a readable image ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def digit_from_image(img):
    """A PIL image (any mode) -> float32 (1, 28, 28), as load_digit."""
    return digit_from_array(_grayscale(img))


def digit_from_array(a):
    """An array -> float32 (1, 28, 28), as load_digit.

    a: (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA; uint8 (0-255), uint16 (0-65535) or float (0-1).
    """
    return _preprocess(_gray_from_array(a))


# ---- to grayscale in [0, 1] --------------------------------------------------------------------------

def _gray_from_array(a):
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.float64)
    elif a.dtype.kind in "ui":
        a = a.astype(np.float64) / (255.0 if a.dtype.itemsize == 1 or a.max(initial=0) <= 255 else 65535.0)
    elif a.dtype.kind == "f":
        a = a.astype(np.float64)
    else:
        raise ValueError(f"expected a numeric image array, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]                                   # (1, H, W): one channel first, as cnet's models take
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb, alpha = a[..., :3], (a[..., 3:4] if a.shape[2] == 4 else None)
        if alpha is not None:
            rgb = rgb * alpha + (1.0 - alpha)      # composite on white
        a = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as Pillow's convert('L')
        if alpha is not None:
            a = _ink_from_alpha(a, alpha[..., 0])
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    if min(a.shape) < 1:
        raise ValueError(f"empty image of shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("the image holds NaN or infinite values")
    return np.clip(a, 0.0, 1.0)


def _ink_from_alpha(gray, alpha):
    """Strokes drawn in white on a transparent canvas vanish when composited on white; then the alpha
    channel is the drawing (opaque = ink), shown dark on white like the rest."""
    if np.ptp(gray) < MIN_CONTRAST and np.ptp(alpha) >= MIN_CONTRAST:
        return 1.0 - alpha
    return gray


def _grayscale(img):
    """A PIL image -> float64 (H, W) in [0, 1]."""
    require_pillow()
    try:
        from PIL import ImageOps
        img = ImageOps.exif_transpose(img)        # phone photos: the orientation tag
    except Exception:                             # a malformed EXIF block: keep the pixels as stored
        pass
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if (mode != "I" or a.max(initial=0) > 255) else 255.0
        return _gray_from_array(np.clip(a / top, 0.0, 1.0))
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        top = 255.0 if a.max(initial=0) > 1.0 else 1.0
        return _gray_from_array(a / top)
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode in ("P", "L", "RGB") and "transparency" in img.info):
        return _gray_from_array(np.asarray(img.convert("RGBA")))
    if mode not in ("L", "1", "RGB", "P", "CMYK", "YCbCr"):
        img = img.convert("RGB")                  # LAB, HSV, ...: through RGB
    return _gray_from_array(np.asarray(img.convert("L")))


# ---- MNIST's preprocessing -----------------------------------------------------------------------------

def _border(a):
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _light_background(gray):
    """Whether the ink is darker than the paper. The paper is the border's median; the ink is whichever
    extreme lies further from it, so grey paper (a photo, a scan) is judged right too; a tie is settled by
    the paper being lighter than mid-grey."""
    paper = float(np.median(_border(gray)))
    darker, lighter = paper - float(gray.min()), float(gray.max()) - paper
    if abs(darker - lighter) < 1e-6:
        return paper > 0.5
    return darker > lighter


def _preprocess(gray):
    if _light_background(gray):
        gray = 1.0 - gray                          # dark strokes on light paper -> light on dark
    background = float(np.median(_border(gray)))
    contrast = float(gray.max()) - background
    if contrast < MIN_CONTRAST:
        raise ValueError("blank image: no digit found (the image is one uniform shade)")
    ink = np.clip((gray - background) / contrast, 0.0, 1.0)

    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    if max(ink.shape) > _WORK:                     # a photo: reduce first, the rest is then cheap
        ink = _resize(ink, _WORK / max(ink.shape))
    ink = _thicken(ink)

    small = _resize(ink, BOX / max(ink.shape))
    small = np.clip(small, 0.0, None)              # LANCZOS rings below 0 next to strokes
    peak = small.max()
    if peak <= 0:
        raise ValueError("blank image: no digit found")
    small /= peak

    h, w = small.shape
    total = small.sum()
    cy = (small.sum(axis=1) @ np.arange(h)) / total
    cx = (small.sum(axis=0) @ np.arange(w)) / total
    # the centre of mass goes to pixel (14, 14), where MNIST has it (mean 13.99, 14.01 over its test set),
    # the whole digit staying inside the field
    top = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - h))
    left = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - w))
    out = np.zeros((1, SIZE, SIZE), dtype=np.float32)
    out[0, top:top + h, left:left + w] = small
    return out


def _resize(a, scale):
    """Resample a float image by `scale`, aspect ratio kept (Pillow's LANCZOS on a 32-bit float image)."""
    Image = require_pillow()
    h, w = a.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))   # mode 'F'
    return np.asarray(img.resize(size, Image.LANCZOS), dtype=np.float64)


def _stroke_width(ink):
    """Typical stroke width in pixels: area / half the boundary (a stroke of width s and length L has
    area s*L and about 2L boundary pixels)."""
    m = ink > 0.5
    area = int(m.sum())
    if area == 0:
        return 0.0
    p = np.pad(m, 1)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    boundary = area - int(interior.sum())
    return 2.0 * area / max(boundary, 1)


def _thicken(ink):
    """Dilate strokes that would come out thinner than STROKE pixels in the 20x20 box (a thin pen on a big
    canvas would otherwise fade to a faint grey trace once shrunk)."""
    scale = BOX / max(ink.shape)
    width = _stroke_width(ink)
    if width == 0.0 or width * scale >= STROKE or scale >= 1.0:
        return ink
    grow = int(np.ceil(STROKE / scale - width))    # pixels to add across the stroke
    out = np.pad(ink, grow)
    # separable max filter of size grow + 1 (a square structuring element): the digit grows by `grow`
    rows = np.maximum.reduce([out[i:out.shape[0] - grow + i] for i in range(grow + 1)])
    return np.maximum.reduce([rows[:, j:rows.shape[1] - grow + j] for j in range(grow + 1)])
