"""Counter-based uniform random numbers (splitmix64 finaliser), reproducible by the C kernels.

Element i of a stream depends only on (seed, i), so any number of threads, each filling its own
range of indices, produces exactly the same numbers. With uint64 wrap-around arithmetic:

    z = seed + (i + 1) * 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z = z ^ (z >> 31)
    u = (z >> 40) * 2**-24          # 24 random bits: a float in [0, 1), exact in float32
"""

import operator

import numpy as np

_MASK64 = (1 << 64) - 1
_CONSTANTS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_GOLDEN, _MUL1, _MUL2 = (np.uint64(c) for c in _CONSTANTS)


def _seed_u64(seed):
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}") from None
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return np.uint64(seed)


def counter_uniform(n, seed):
    """Return float64 u of length n, u[i] in [0, 1) a multiple of 2**-24, from the formula above."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    s = _seed_u64(seed)
    # uint64 arrays wrap around silently; errstate covers NumPy versions that warn on overflow.
    with np.errstate(over="ignore"):
        z = np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN + s
        z = (z ^ (z >> np.uint64(30))) * _MUL1
        z = (z ^ (z >> np.uint64(27))) * _MUL2
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24


def splitmix64(state):
    """The formula above for i = 0 on Python ints: splitmix64's output from `state` (any int, taken
    modulo 2**64). For deriving one seed from another (Dropout's per-step mask seeds), where NumPy's
    arrays of one element would take ~20 times longer."""
    golden, mul1, mul2 = _CONSTANTS
    z = (state + golden) & _MASK64
    z = ((z ^ (z >> 30)) * mul1) & _MASK64
    z = ((z ^ (z >> 27)) * mul2) & _MASK64
    return z ^ (z >> 31)
