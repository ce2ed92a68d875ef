"""ImageDataGenerator: the resampling against scipy.ndimage (when installed), each augmentation against a
direct computation, normalization statistics, flow's batches (repeatable, threads included), refusals."""
import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet.preprocessing.image import ImageDataGenerator, NumpyArrayIterator
from cnet.preprocessing._affine import affine_batch

RNG = np.random.default_rng(0)


def _matrices(n, rng):
    out = []
    for _ in range(n):
        th, (zr, zc), t = rng.uniform(-0.8, 0.8), rng.uniform(0.6, 1.4, 2), rng.uniform(-4, 4, 2)
        out.append(np.c_[[[np.cos(th) * zr, -np.sin(th) * zc], [np.sin(th) * zr, np.cos(th) * zc]], t])
    return np.array(out)


@pytest.mark.parametrize("mode,scipy_mode", [("constant", "constant"), ("nearest", "nearest"),
                                             ("reflect", "reflect"), ("wrap", "grid-wrap")])
@pytest.mark.parametrize("shape", [(3, 1, 9, 7), (2, 3, 5, 11), (1, 2, 1, 6)])
def test_affine_resampling_matches_scipy(mode, scipy_mode, shape):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = RNG.random(shape)
    m = _matrices(shape[0], RNG)
    got = affine_batch(x, m, mode, cval=0.25)
    want = np.array([[ndimage.affine_transform(x[i, c], m[i, :, :2], m[i, :, 2], order=1, mode=scipy_mode, cval=0.25)
                      for c in range(shape[1])] for i in range(shape[0])])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_identity_and_integer_shifts_are_exact():
    x = RNG.random((2, 2, 6, 5))
    np.testing.assert_array_equal(affine_batch(x, np.tile(np.eye(2, 3), (2, 1, 1))), x)
    gen = ImageDataGenerator(fill_mode="constant", cval=-1.0)
    img = RNG.random((1, 6, 5)).astype(np.float32)
    down = gen.apply_transform(img, {"tx": 2})           # output row r samples input row r + 2
    np.testing.assert_array_equal(down[:, :4], img[:, 2:])
    assert (down[:, 4:] == -1).all()
    right = ImageDataGenerator().apply_transform(img, {"ty": -1})    # nearest: the edge column repeats
    np.testing.assert_array_equal(right[:, :, 1:], img[:, :, :-1])
    np.testing.assert_array_equal(right[:, :, 0], img[:, :, 0])


def test_flips_rotation_and_zoom():
    gen = ImageDataGenerator()
    img = RNG.random((2, 5, 5))
    np.testing.assert_array_equal(gen.apply_transform(img, {"flip_horizontal": True}),
                                  img[:, :, ::-1].astype(np.float32))
    np.testing.assert_array_equal(gen.apply_transform(img, {"flip_vertical": True}), img[:, ::-1].astype(np.float32))
    rotated = gen.apply_transform(img, {"theta": 90})
    np.testing.assert_allclose(rotated, np.rot90(img, k=-1, axes=(1, 2)), atol=1e-6)   # about the exact centre
    zoom = ImageDataGenerator(fill_mode="constant").apply_transform(img, {"zx": 0.5, "zy": 0.5})
    assert zoom[0, 2, 2] == np.float32(img[0, 2, 2])      # the centre stays; zoom < 1 enlarges
    np.testing.assert_allclose(zoom[0, 2, 3], (img[0, 2, 2] + img[0, 2, 3]) / 2, rtol=1e-6)
    shear = ImageDataGenerator._matrices([{"shear": 30}], 5, 5)[0]
    np.testing.assert_allclose(shear[:, :2], [[1, -0.5], [0, np.cos(np.pi / 6)]], atol=1e-15)


def test_matrices_compose_as_keras():
    """Keras's product rotation @ shift @ shear @ zoom, moved to the centre, one image at a time."""
    rng = np.random.default_rng(5)
    params = [{"theta": rng.uniform(-40, 40), "tx": rng.uniform(-3, 3), "ty": rng.uniform(-3, 3),
               "shear": rng.uniform(-20, 20), "zx": rng.uniform(0.7, 1.3), "zy": rng.uniform(0.7, 1.3)}
              for _ in range(5)] + [{}]
    h, w = 7, 10
    for p, got in zip(params, ImageDataGenerator._matrices(params, h, w)):
        th, sh = np.deg2rad(p.get("theta", 0)), np.deg2rad(p.get("shear", 0))
        m = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
        m = m @ np.array([[1, 0, p.get("tx", 0)], [0, 1, p.get("ty", 0)], [0, 0, 1]])
        m = m @ np.array([[1, -np.sin(sh), 0], [0, np.cos(sh), 0], [0, 0, 1]])
        m = m @ np.diag([p.get("zx", 1), p.get("zy", 1), 1])
        c = np.array([[1, 0, (h - 1) / 2], [0, 1, (w - 1) / 2], [0, 0, 1]])
        np.testing.assert_allclose(got, (c @ m @ np.linalg.inv(c))[:2], atol=1e-12)


def test_random_parameters_stay_in_their_ranges():
    gen = ImageDataGenerator(rotation_range=15, width_shift_range=0.25, height_shift_range=3.0, shear_range=5,
                             zoom_range=[0.8, 1.1], channel_shift_range=0.2, horizontal_flip=True)
    rng = np.random.default_rng(1)
    ps = [gen.get_random_transform((1, 12, 20), rng=rng) for _ in range(400)]
    for key, bound in (("theta", 15), ("ty", 5.0), ("tx", 3.0), ("shear", 5), ("channel_shift_intensity", 0.2)):
        values = np.array([p[key] for p in ps])
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    zooms = np.array([[p["zx"], p["zy"]] for p in ps])
    assert zooms.min() >= 0.8 and zooms.max() <= 1.1 and not np.array_equal(zooms[:, 0], zooms[:, 1])
    assert 0.35 < np.mean([p["flip_horizontal"] for p in ps]) < 0.65
    assert not any(p["flip_vertical"] for p in ps)
    listed = ImageDataGenerator(width_shift_range=[2, 4])
    assert {abs(listed.get_random_transform((1, 9, 9), rng=rng)["ty"]) for _ in range(50)} == {2, 4}
    assert gen.get_random_transform((1, 12, 20), seed=3) == gen.get_random_transform((1, 12, 20), seed=3)


def test_channel_shift_is_clipped_to_the_image_range():
    img = np.array([[[0.0, 1.0]], [[0.5, 0.2]]])
    out = ImageDataGenerator().apply_transform(img, {"channel_shift_intensity": 0.3})
    np.testing.assert_allclose(out, np.float32([[[0.3, 1.0]], [[0.8, 0.5]]]))


def test_normalizations():
    x = RNG.random((20, 3, 4, 4)) * 255
    np.testing.assert_allclose(ImageDataGenerator(rescale=1 / 255).standardize(x), x / 255, rtol=1e-6)
    s = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True).standardize(x)
    np.testing.assert_allclose(s.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(s.std(axis=(1, 2, 3)), 1, atol=1e-4)
    f = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    f.fit(x)
    np.testing.assert_allclose(f.mean.ravel(), x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(f.std.ravel(), x.std(axis=(0, 2, 3)))
    out = f.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    z = ImageDataGenerator(featurewise_center=True, zca_whitening=True, zca_epsilon=1e-10, dtype="float64")
    small = RNG.random((200, 1, 3, 3))
    z.fit(small)
    white = z.standardize(small).reshape(200, -1)
    np.testing.assert_allclose(white.T @ white / 200, np.eye(9), atol=1e-6)
    pre = ImageDataGenerator(preprocessing_function=lambda im: im[:, ::-1] * 2)
    np.testing.assert_allclose(pre.standardize(x[:2]), x[:2, :, ::-1] * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="call datagen.fit"):
        ImageDataGenerator(featurewise_center=True).standardize(x)


def test_channels_last_is_channels_first_transposed():
    x = RNG.random((7, 2, 6, 6)).astype(np.float32)
    kw = dict(rotation_range=30, width_shift_range=0.2, zoom_range=0.3, horizontal_flip=True, samplewise_center=True)
    first = ImageDataGenerator(**kw).flow(x, batch_size=4, seed=5)
    last = ImageDataGenerator(data_format="channels_last", **kw).flow(x.transpose(0, 2, 3, 1), batch_size=4, seed=5)
    for i in range(2):
        np.testing.assert_allclose(last[i].transpose(0, 3, 1, 2), first[i], atol=1e-6)


def test_flow_batches():
    x = (RNG.random((10, 1, 8, 8)) * 255).astype(np.uint8)
    y, w = np.arange(10), np.linspace(0.1, 1, 10)
    gen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1, zoom_range=0.1, rescale=1 / 255)
    it = gen.flow(x, y, batch_size=4, seed=2, sample_weight=w)
    assert isinstance(it, NumpyArrayIterator) and isinstance(it, cnet.utils.Sequence) and len(it) == 3
    bx, by, bw = it[2]
    assert bx.shape == (2, 1, 8, 8) and bx.dtype == np.float32 and 0 <= bx.min() and bx.max() <= 1
    np.testing.assert_array_equal(bw, w[by])
    np.testing.assert_array_equal(it[0][0], it[0][0])                  # repeatable
    again = gen.flow(x, y, batch_size=4, seed=2, sample_weight=w)
    np.testing.assert_array_equal(again[1][0], it[1][0])
    seen = np.concatenate([it[i][1] for i in range(3)])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))     # a shuffled epoch
    first = it[0]
    it.on_epoch_end()
    assert not np.array_equal(it[0][0], first[0])                     # a new epoch: new order and draws
    plain = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(plain[0][0], x[:4].astype(np.float32))
    batches = [next(plain)[1] for _ in range(4)]                      # next() wraps around, as Keras
    assert [list(b) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]
    assert ImageDataGenerator().flow(x, batch_size=3)[0].shape == (3, 1, 8, 8)       # no y: x alone
    split = ImageDataGenerator(validation_split=0.3)
    assert len(split.flow(x, y, subset="validation", batch_size=1)) == 3
    assert list(split.flow(x, y, subset="training", batch_size=7, shuffle=False)[0][1]) == list(range(3, 10))


def test_fit_on_flow_is_repeatable_with_threads():
    x = RNG.random((24, 1, 6, 6)).astype(np.float32)
    y = cnet.utils.to_categorical(RNG.integers(0, 2, 24), 2)
    gen = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, horizontal_flip=True)

    def trained(workers):
        cnet.set_seed(4)
        model = cnet.models.Sequential([L.Conv2D(2, 3, input_shape=(1, 6, 6)), L.Flatten(),
                                        L.Dense(2, activation="softmax")])
        model.compile("sgd", "categorical_crossentropy")
        model.fit_generator(gen.flow(x, y, batch_size=8, seed=9), steps_per_epoch=len(x) / 8, epochs=2, verbose=0,
                            workers=workers)
        return model.get_weights()
    for a, b in zip(trained(0), trained(3)):
        np.testing.assert_array_equal(a, b)


def test_refusals():
    x = RNG.random((4, 1, 5, 5))
    cases = [
        (lambda: ImageDataGenerator(brightness_range=[0.5, 1.5]), ValueError, "brightness_range is not supported"),
        (lambda: ImageDataGenerator(fill_mode="mirror"), ValueError, "fill_mode must be one of"),
        (lambda: ImageDataGenerator(zoom_range=[1.2, 0.8]), ValueError, "lower <= upper"),
        (lambda: ImageDataGenerator(rotation_range=-5), ValueError, "rotation_range must be a finite number"),
        (lambda: ImageDataGenerator(data_format="NCHW"), ValueError, "data_format"),
        (lambda: ImageDataGenerator().flow_from_directory("images/"), NotImplementedError, "use flow"),
        (lambda: ImageDataGenerator().flow(x, save_to_dir="out"), ValueError, "save_to_dir is not supported"),
        (lambda: ImageDataGenerator().flow(x[0]), ValueError, "rank 4"),
        (lambda: ImageDataGenerator().flow(x, np.arange(3)), ValueError, "same number of samples"),
        (lambda: ImageDataGenerator().flow(x, subset="validation"), ValueError, "validation_split > 0"),
        (lambda: ImageDataGenerator().flow(x, batch_size=0), ValueError, "batch_size"),
        (lambda: ImageDataGenerator().flow(x)[5], IndexError, "out of range"),
    ]
    for make, exc, match in cases:
        with pytest.raises(exc, match=match):
            make()


def test_reachable_as_keras_names():
    import cnet as keras
    assert keras.preprocessing.image.ImageDataGenerator is ImageDataGenerator
