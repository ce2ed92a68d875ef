"""C kernels of the cast family (float16 / bfloat16 weights to and from float32) against the NumPy
reference: every 16-bit pattern and float32 edge cases (rounding ties, subnormals, overflow, NaN), on
every SIMD path, bit for bit, and bit-identical across thread counts; the argument checks."""
import numpy as np
import pytest

from cnet import ops
from helpers import run_c, run_numpy

FORMATS = ("float16", "bfloat16")
STORAGE = {"float16": np.float16, "bfloat16": np.uint16}
ALL16 = np.arange(1 << 16, dtype=np.uint16)


def _floats():
    """float32 values that exercise rounding: random magnitudes over the whole range, random bit
    patterns (NaNs with payloads, subnormals), both formats' limits, exact ties and their neighbours."""
    rng = np.random.default_rng(0)
    mags = (rng.standard_normal(20000) * 2.0 ** rng.integers(-30, 20, 20000)).astype(np.float32)
    patterns = rng.integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    # float16 ties: halfway between consecutive halves (all 2^16 of them, as float32), and one ulp off
    h = ALL16.view(np.float16)
    h = h[np.isfinite(h)].astype(np.float64)
    ties = ((h[:-1] + h[1:]) / 2).astype(np.float32)
    ties_bits = ties.view(np.uint32)
    near = np.concatenate([ties_bits - 1, ties_bits + 1]).view(np.float32)
    # bfloat16 ties: low 16 bits exactly 0x8000, with an even and an odd kept bit
    bf = (rng.integers(0, 1 << 16, 4000, dtype=np.uint32) << 16) | 0x8000
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 65504, 65519.996, 65520, 65535.996, 65536,
                      -65520, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25,
                      3.4028235e38, 1e-45, -1e-45, 1.1754942e-38], np.float32)
    return np.concatenate([mags, patterns, ties, near, bf.view(np.float32), edges]).astype(np.float32)


FLOATS = _floats()


def _bits(a):
    return a.view(np.uint16 if a.itemsize == 2 else np.uint32)


@pytest.mark.parametrize("threads", (1, 2, 3, 7))
@pytest.mark.parametrize("fmt", FORMATS)
def test_widen_every_pattern_matches_reference(simd, fmt, threads):
    x = ALL16.view(STORAGE[fmt])
    y = run_c(ops.cast_to_float32, x, fmt, threads=threads)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(_bits(y), _bits(run_numpy(ops.cast_to_float32, x, fmt)))


@pytest.mark.parametrize("threads", (1, 2, 3, 7))
@pytest.mark.parametrize("fmt", FORMATS)
def test_narrow_matches_reference(simd, fmt, threads):
    y = run_c(ops.cast_from_float32, FLOATS, fmt, threads=threads)
    assert y.dtype == STORAGE[fmt] and y.shape == FLOATS.shape
    ref = run_numpy(ops.cast_from_float32, FLOATS, fmt)
    bad = np.nonzero(_bits(y) != _bits(ref))[0]
    assert bad.size == 0, (f"{bad.size} differ, first: x={FLOATS[bad[0]]!r} bits {_bits(FLOATS)[bad[0]]:#010x}: "
                           f"{_bits(y)[bad[0]]:#06x} vs reference {_bits(ref)[bad[0]]:#06x}")


def test_float16_is_numpys_rounding():
    """Apart from NaN payloads, float16 narrowing and widening are NumPy's own conversions."""
    y = run_c(ops.cast_from_float32, FLOATS, "float16")
    finite = ~np.isnan(FLOATS)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_bits(y[finite]), _bits(FLOATS[finite].astype(np.float16)))
    h = ALL16.view(np.float16)
    w = run_c(ops.cast_to_float32, h, "float16")
    np.testing.assert_array_equal(w[~np.isnan(h)], h[~np.isnan(h)].astype(np.float32))
    assert np.isnan(w[np.isnan(h)]).all()


def test_bfloat16_round_trip_and_rounding():
    b = ALL16
    w = run_c(ops.cast_to_float32, b, "bfloat16")
    np.testing.assert_array_equal(_bits(w), b.astype(np.uint32) << 16)          # a shift, exactly
    back = run_c(ops.cast_from_float32, w, "bfloat16")
    finite = ~np.isnan(w)
    np.testing.assert_array_equal(back[finite], b[finite])                        # bfloat16 values are kept
    x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8), 3.4e38], np.float32)
    got = run_c(ops.cast_to_float32, run_c(ops.cast_from_float32, x, "bfloat16"), "bfloat16")
    np.testing.assert_array_equal(got, np.array([1, 1 + 2 ** -6, 1 + 2 ** -7, -1, np.inf], np.float32))


@pytest.mark.parametrize("fmt", FORMATS)
def test_bit_identical_across_threads(fmt):
    x = np.tile(FLOATS, 3)       # > 2 blocks per thread
    narrowed = [run_c(ops.cast_from_float32, x, fmt, threads=t) for t in (1, 2, 3, 7)]
    for other in narrowed[1:]:
        np.testing.assert_array_equal(_bits(other), _bits(narrowed[0]))
    widened = [_bits(run_c(ops.cast_to_float32, narrowed[0], fmt, threads=t)) for t in (1, 2, 3, 7)]
    for other in widened[1:]:
        np.testing.assert_array_equal(other, widened[0])


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 17, 4095, 4097])
def test_lengths_around_vector_and_block_sizes(simd, n):
    x = FLOATS[:n].reshape(n, 1)
    for fmt in FORMATS:
        y = run_c(ops.cast_from_float32, x, fmt)
        np.testing.assert_array_equal(_bits(y), _bits(run_numpy(ops.cast_from_float32, x, fmt)))
        w = run_c(ops.cast_to_float32, y, fmt)
        np.testing.assert_array_equal(_bits(w), _bits(run_numpy(ops.cast_to_float32, y, fmt)))


def test_out_arguments_and_layout():
    x = FLOATS[:60].reshape(6, 10)[:, ::2]                      # non-contiguous input
    out = np.empty((6, 5), np.float16)
    assert ops.cast_from_float32(x, "float16", out=out) is out
    np.testing.assert_array_equal(_bits(out), _bits(run_numpy(ops.cast_from_float32, np.ascontiguousarray(x),
                                                                 "float16")))
    w = np.empty((6, 5), np.float32)
    assert ops.cast_to_float32(out, "float16", out=w) is w
    assert ops.cast_from_float32(x, np.float16).dtype == np.float16       # a dtype names the format too


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_bad_arguments(backend):
    run = run_c if backend == "c" else run_numpy
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="'float16' or 'bfloat16'.*'int8'"):
        run(ops.cast_from_float32, x, "int8")
    with pytest.raises(ValueError, match="'float16' or 'bfloat16'"):
        run(ops.cast_to_float32, x.astype(np.float16), "float32")
    with pytest.raises(TypeError, match="float16 weights must be a float16 array, got dtype float32"):
        run(ops.cast_to_float32, x, "float16")
    with pytest.raises(TypeError, match="bfloat16 weights must be a uint16 array.*16-bit patterns"):
        run(ops.cast_to_float32, x.astype(np.float16), "bfloat16")
    with pytest.raises(TypeError, match="expected dtype float32"):
        run(ops.cast_from_float32, x.astype(np.float64), "float16")
    with pytest.raises(TypeError, match="numpy.ndarray"):
        run(ops.cast_from_float32, [1.0, 2.0], "float16")
    with pytest.raises(ValueError, match="expected shape"):
        run(ops.cast_from_float32, x, "float16", out=np.empty(3, np.float16))
    with pytest.raises(ValueError, match="expected shape .* dtype uint16"):
        run(ops.cast_from_float32, x, "bfloat16", out=np.empty(4, np.float16))
