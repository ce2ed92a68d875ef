"""Tests of cnet.utils.to_categorical against the behaviour of keras.utils.to_categorical."""

import numpy as np
import pytest

from cnet.utils import to_categorical


def test_basic():
    out = to_categorical([0, 2, 1])
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])


def test_num_classes_and_dtype():
    out = to_categorical(np.array([1, 3], dtype=np.uint8), num_classes=5, dtype="int64")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
    assert to_categorical([0], num_classes=np.int32(2), dtype=np.uint8).dtype == np.uint8


def test_default_num_classes_is_max_plus_one():
    assert to_categorical([4]).shape == (1, 5)


@pytest.mark.parametrize("shape, expected", [
    ((5,), (5, 10)),
    ((5, 1), (5, 10)),  # trailing 1 dropped, as Keras does
    ((2, 3), (2, 3, 10)),
    ((2, 3, 1), (2, 3, 10)),
    ((1,), (1, 10)),  # a 1-d array of one label keeps its axis
    ((), (10,)),  # a scalar gives one row
    ((4, 1, 2), (4, 1, 2, 10)),
])
def test_shapes_like_keras(shape, expected):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, shape)
    out = to_categorical(y, 10)
    assert out.shape == expected
    flat = out.reshape(-1, 10)
    np.testing.assert_array_equal(flat.argmax(1), np.asarray(y).reshape(-1))
    np.testing.assert_array_equal(flat.sum(1), 1)


def test_scalar_and_lists():
    np.testing.assert_array_equal(to_categorical(2, 4), [0, 0, 1, 0])
    assert to_categorical([[1], [0]]).shape == (2, 2)


def test_integral_floats_accepted():
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


def test_empty_with_num_classes():
    out = to_categorical(np.zeros((0,), np.int64), 3)
    assert out.shape == (0, 3) and out.dtype == np.float32


def test_out_of_range_names_labels():
    with pytest.raises(ValueError, match=r"\[0, 2\].*num_classes=3.*\[3, 7\]"):
        to_categorical([0, 3, 7, 3], num_classes=3)


def test_negative_names_labels():
    with pytest.raises(ValueError, match=r"got \[-2, -1\]"):
        to_categorical([1, -1, -2])  # Keras would silently wrap -1 to the last class


@pytest.mark.parametrize("bad", [[0.5, 1], [np.nan], ["a", "b"], [1 + 2j]])
def test_non_integer_labels(bad):
    with pytest.raises(ValueError, match="integer"):
        to_categorical(bad, 3)


@pytest.mark.parametrize("nc", [0, -1, 2.5, True])
def test_bad_num_classes(nc):
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0, 1], nc)


def test_empty_without_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])


def test_input_not_modified():
    y = np.array([[2], [0]])
    to_categorical(y)
    assert y.shape == (2, 1)
