"""cnet.distributed's exact gradient sums (cnet/distributed/_reduce.py) in one process, without MPI: the
processes are played by reducers whose partial sums the test adds itself, in several orders."""
import math

import numpy as np
import pytest

from cnet.distributed._reduce import FLOOR, HEADROOM, Reducer, Tensor


class LocalComm:
    """A communicator of one process: an allreduce leaves the buffer as it is."""

    def iallreduce(self, buf, op="sum"):
        return None

    def test(self, requests):
        return True

    def wait(self, requests, timeout="default"):
        pass


def _terms(n_pieces, shapes, seed):
    """Per piece, gradients spanning many magnitudes (and a zero tensor)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_pieces):
        grads = [(rng.standard_normal(s) * 10.0 ** rng.integers(-6, 3, s)).astype(np.float32) for s in shapes]
        grads.append(np.zeros(3, np.float32))
        out.append(grads)
    return out


def _reduce(terms, pieces, weights, exponents, bucket_bytes=64):
    """One attempt of a process holding `pieces` (indices into terms): its partial sums and meta rows."""
    current = {}
    tensors = [Tensor(f"t{i}", None, (lambda i=i: current[i]), g.size, g.dtype) for i, g in enumerate(terms[0])]
    red = Reducer(LocalComm(), tensors, len(terms), 1, bucket_bytes)
    red.begin(exponents, len(pieces))
    for j in pieces:
        current.update(enumerate(terms[j]))
        red.begin_piece(j, weights[j])
        red.end_piece()
        red.meta[j, 0] = j + 1.0
    red.finish()
    return red


@pytest.mark.parametrize("ranks", [1, 2, 3, 4, 5])
def test_sums_do_not_depend_on_how_pieces_are_shared_or_ordered(ranks):
    shapes = [(7, 5), (300,), (1,)]
    terms = _terms(12, shapes, seed=ranks)
    sizes = np.array([11, 11, 11, 11, 11, 11, 11, 11, 10, 10, 10, 10])
    weights = sizes / sizes.sum()
    first = _reduce(terms, range(12), weights, [None] * 4)
    ok, exponents = first.next_exponents(first.largest())
    assert not ok and exponents[-1] is None          # measured only; the zero tensor needs no grid
    whole = _reduce(terms, range(12), weights, exponents)
    assert whole.next_exponents(whole.largest())[0]
    shares = [list(range(12 * r // ranks, 12 * (r + 1) // ranks)) for r in range(ranks)]
    parts = [_reduce(terms, share[::-1], weights, exponents) for share in shares]    # reversed inside
    for order in (parts, parts[::-1]):
        acc = np.zeros_like(whole.acc)
        meta = np.zeros_like(whole.meta)
        for part in order:
            acc += part.acc
            meta += part.meta
        assert np.array_equal(acc, whole.acc) and np.array_equal(meta, whole.meta)
    # the result: the exact weighted sum, to the grid's resolution, rounded once to float32
    exacts = [sum(np.asarray(t[i], np.float64) * w for t, w in zip(terms, weights)) for i in range(len(shapes))]
    whole.write_gradients()      # into the arrays of the last piece
    for i, g in enumerate(whole.tensors[:-1]):
        exact = exacts[i]
        result = g.grad()
        step = math.ldexp(1.0, -exponents[i])
        bound = 12 * step / 2 + np.abs(exact) * 2.0 ** -24
        assert np.all(np.abs(result - exact) <= bound)
        assert np.abs(exact).max() * 2.0 ** exponents[i] > 2.0 ** FLOOR


def test_exponents_follow_the_largest_term():
    shapes = [(50,)]
    terms = _terms(4, shapes, seed=0)
    weights = [0.25] * 4
    red = _reduce(terms, range(4), weights, [None, None])
    ok, (k, _) = red.next_exponents(red.largest())
    assert not ok      # the first attempt has no grid
    largest = red.largest()[0]
    bits = math.frexp(largest)[1] + k         # the largest term uses this many bits of the grid
    assert bits == 53 - 2 - HEADROOM          # 4 pieces: 2 bits for the sum
    red.k = [k, None]
    assert red.next_exponents(np.array([largest * 2.0 ** (HEADROOM - 1), 0.0]))[0]       # grew: still fits
    assert not red.next_exponents(np.array([largest * 2.0 ** (HEADROOM + 1), 0.0]))[0]   # grew too much
    shrink = 2.0 ** -(bits - FLOOR)
    assert red.next_exponents(np.array([largest * shrink * 2, 0.0]))[0]
    assert not red.next_exponents(np.array([largest * shrink / 2, 0.0]))[0]              # too coarse now


def test_buckets_follow_layers_and_size():
    class L:
        pass
    a, b, c = L(), L(), L()
    grads = {}
    tensors = [Tensor("a/W", a, lambda: grads["a"], 100, "f4"), Tensor("a/b", a, lambda: grads["a"], 10, "f4"),
               Tensor("b/W", b, lambda: grads["b"], 1000, "f4"), Tensor("c/W", c, lambda: grads["c"], 5, "f4")]
    red = Reducer(LocalComm(), tensors, 2, 1, bucket_bytes=8 * 50)
    # a layer's tensors stay together; a bucket closes at a layer boundary once it holds bucket_bytes
    assert [bk.tensors for bk in red.buckets] == [[0, 1], [2], [3]]
    assert [red.tensors[bk.tensors[-1]].layer for bk in red.buckets] == [a, b, c]


def test_too_many_micro_batches_are_refused():
    with pytest.raises(ValueError, match="too many"):
        Reducer(LocalComm(), [Tensor("w", None, lambda: None, 1, "f4")], 2 ** 20, 1, 1024)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nonfinite_gradient_shows_as_an_infinite_largest_term(bad):
    terms = _terms(3, [(40000,)], seed=1)     # two chunks
    terms[1][0][35000] = bad
    red = _reduce(terms, range(3), [1 / 3] * 3, [None, None])
    assert red.largest()[0] == np.inf and red.largest()[1] == 0.0


def test_two_pieces_add_in_the_gradient_type():
    """One or two processes in the default mode: two shares have one sum in any order, so no grid."""
    terms = _terms(2, [(7, 5), (300,)], seed=2)
    weights = [69 / 128, 59 / 128]
    whole = _reduce(terms, [1, 0], weights, [None] * 3)
    assert whole.float_sum and whole.acc.dtype == np.float32 and whole.next_exponents(whole.largest())[0]
    parts = [_reduce(terms, [j], weights, [None] * 3).acc for j in (0, 1)]
    assert np.array_equal(parts[0] + parts[1], whole.acc) and np.array_equal(parts[1] + parts[0], whole.acc)
    expected = [np.multiply(terms[0][i], weights[0], dtype=np.float32)
                + np.multiply(terms[1][i], weights[1], dtype=np.float32) for i in range(2)]
    whole.write_gradients()
    for i in range(2):
        assert np.array_equal(whole.tensors[i].grad(), expected[i])
