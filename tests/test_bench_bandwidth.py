"""cnet/bench/bandwidth.py: the byte model of the memory-bound kernels (checked against the arrays the ops
really take and return), the cases that carry it, and the copy-bandwidth machinery. Nothing here is timed
for its speed: the suite's smoke run (tests/test_benchmarks.py) checks the columns and the JSON."""
import inspect

import numpy as np
import pytest

from cnet import ops
from cnet.bench import bandwidth, cases, timing


def _moved(reads, writes):
    return sum(a.nbytes for a in reads) + sum(a.nbytes for a in writes)


def test_byte_model_by_hand():
    # relu forward of 120 float32: 480 bytes read, 480 written
    assert bandwidth.traffic("relu", "fwd", {"x": (2, 3, 4, 5)}) == {"read": {"x": 480}, "write": {"y": 480}}
    # 2x2 max pooling of (1, 30, 24, 24): x read, y and its uint8 window positions (4320 each) written
    shapes = {"x": (1, 30, 24, 24), "y": (1, 30, 12, 12)}
    assert bandwidth.min_bytes("maxpool2d", "fwd", shapes) == 17280 * 4 + 4320 * (4 + 1)
    assert bandwidth.min_bytes("maxpool2d", "bwd", shapes) == 4320 * (4 + 1) + 17280 * 4
    # Adam over 10 float64 parameters: p, g, m, v read; p, m, v written
    assert bandwidth.min_bytes("adam_update", "upd", {"p": (10,)}, itemsize=8) == (4 + 3) * 10 * 8
    with pytest.raises(KeyError):
        bandwidth.traffic("conv2d", "fwd", {"x": (1, 1, 3, 3)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_byte_model_is_the_arrays_the_ops_take_and_return(dtype):
    """Every input read once and every output written once, counted on the real calls (C backend)."""
    rng = np.random.default_rng(0)
    f = np.dtype(dtype).itemsize
    x = rng.standard_normal((3, 5, 6, 10)).astype(dtype)
    xs = {"x": x.shape}

    def check(op, direction, shapes, reads, writes):
        assert bandwidth.min_bytes(op, direction, shapes, f) == _moved(reads, writes), (op, direction)

    with ops.use_backend("c"):
        y = ops.relu_forward(x)
        check("relu", "fwd", xs, [x], [y])
        check("relu", "bwd", xs, [x, y], [ops.relu_backward(x, y)])
        y, pos = ops.maxpool2d_forward(x, 2, 2, positions=True)    # the layers' form
        pooled = {"x": x.shape, "y": y.shape}
        check("maxpool2d", "fwd", pooled, [x], [y, pos])
        check("maxpool2d", "bwd", pooled, [y, pos],
              [ops.maxpool2d_backward(y, pos, x.shape, window=(2, 2, None, 0))])
        ya = ops.avgpool2d_forward(x, 2, 2)
        check("avgpool2d", "fwd", pooled, [x], [ya])
        check("avgpool2d", "bwd", pooled, [ya], [ops.avgpool2d_backward(ya, x.shape, 2, 2)])
        xb = ops.to_blocked(x)
        yb, arg = ops.maxpool2d_blk_forward(xb)
        blk = {"x": xb.shape, "y": yb.shape}
        check("maxpool2d_blk", "fwd", blk, [xb], [yb, arg])
        check("maxpool2d_blk", "bwd", blk, [yb, arg], [ops.maxpool2d_blk_backward(yb, arg, x.shape[2:])])
        y, mask = ops.dropout_forward(x, 0.3, 7)
        check("dropout", "fwd", xs, [x], [y, mask])
        check("dropout", "bwd", xs, [y, mask], [ops.dropout_backward(y, mask)])
        for xx in (x, x[:, :, 0, 0].copy()):            # (N, C, H, W) per channel and (N, D) per feature
            gamma, beta = np.ones(xx.shape[1], dtype), np.zeros(xx.shape[1], dtype)
            y, mean, inv_std = ops.batchnorm_forward(xx, gamma, beta)
            bn = {"x": xx.shape, "c": gamma.shape}
            check("batchnorm", "fwd", bn, [xx, gamma, beta], [y, mean, inv_std])
            check("batchnorm", "bwd", bn, [y, xx, gamma, mean, inv_std],
                  list(ops.batchnorm_backward(y, xx, gamma, mean, inv_std)))


@pytest.mark.parametrize("name", sorted(bandwidth.OPTIMIZER_STATE))
def test_optimizer_byte_model_follows_the_op_signature(name):
    """The state arrays of the model are the update's own array arguments (between g and lr), each read and
    written like p; g is only read."""
    params = list(inspect.signature(getattr(ops, f"{name}_update")).parameters)
    assert params[:2] == ["p", "g"]
    assert tuple(params[2:params.index("lr")]) == bandwidth.OPTIMIZER_STATE[name]
    t = bandwidth.traffic(f"{name}_update", "upd", {"p": (5,)})
    assert list(t["read"]) == params[:params.index("lr")] and set(t["write"]) == set(t["read"]) - {"g"}


def test_every_memory_bound_op_has_a_case_with_its_traffic():
    updates = {n for n in dir(ops) if n.endswith("_update")}
    assert updates == {f"{n}_update" for n in bandwidth.OPTIMIZER_STATE}    # a new optimizer needs a model
    cs = cases.kernel_cases(2)
    moving = {(c.op, c.direction) for c in cs if c.traffic is not None}
    assert moving == set(bandwidth.BYTE_MODEL)
    for c in cs:
        if c.traffic is None:
            assert c.op in ("affine", "conv2d", "softmax_xent", "sigmoid", "tanh", "softmax"), c.name
        else:   # the cases' own byte counts agree with the model except where the model is tighter (batch norm)
            total = sum(c.traffic["read"].values()) + sum(c.traffic["write"].values())
            assert total > 0 and (c.op == "batchnorm" or total == c.nbytes), (c.name, total, c.nbytes)


def test_figures_against_the_copy_bandwidth():
    t = {"read": {"x": 3e9}, "write": {"y": 1e9}}
    fig = bandwidth.figures(t, 0.5, 10.0)
    assert fig["min_bytes"] == 4e9 and fig["min_gbs"] == pytest.approx(8.0)
    assert fig["pct_copy"] == pytest.approx(80.0) and fig["traffic"] is t
    assert bandwidth.figures(t, 0.5, None)["pct_copy"] is None


def test_threaded_copy_copies_every_slice():
    src = np.arange(5000, dtype=np.float32)
    dst = np.zeros_like(src)
    copy = bandwidth._ThreadedCopy(dst, src, 3)
    try:
        assert [len(s) for s in copy.src] == [1024, 2048, 1928]
        copy()
    finally:
        copy.close()
    np.testing.assert_array_equal(dst, src)


def test_measure_copy_rows(monkeypatch):
    monkeypatch.setattr(bandwidth, "COPY_MIB", 1)          # 1 MiB: cheap; the suite uses 64 MiB or more
    monkeypatch.setattr(bandwidth, "llc_bytes", lambda: None)
    rows, copy = bandwidth.measure_copy(timing.mode_settings("smoke"), [1, 2])
    assert set(copy) == {1, 2} and all(g > 0 for g in copy.values())
    assert [r["threads"] for r in rows] == [1, 2] and rows[0]["array_bytes"] == 2 ** 20
    assert len(rows[0]["samples_s"]) >= 5 and rows[1]["method"].startswith("numpy.copyto on 2 Python threads")
    text = bandwidth.copy_text(copy, rows)
    assert text.startswith("copy 1 MiB f32") and "1 thr" in text and "2 thr" in text
    assert bandwidth.copy_text({}, []) == "copy bandwidth: not measured"


def test_llc_bytes_is_a_size_or_none():
    llc = bandwidth.llc_bytes()
    assert llc is None or (isinstance(llc, int) and llc >= 1024)
