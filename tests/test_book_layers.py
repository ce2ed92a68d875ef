"""cnet.book.common.layers: the book's constructors, defaults and semantics, computed by cnet's layers."""
import numpy as np
import pytest

import cnet
from cnet import layers as keras_layers
from cnet.book.common import layers as L
from cnet.book.common.functions import cross_entropy_error


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_book_classes_keep_the_books_names_and_leave_cnets_registry_alone():
    for name in ("Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout", "BatchNormalization",
                 "Convolution", "Pooling"):
        assert getattr(L, name).__name__ == name
    for name in ("Dropout", "Pooling", "Convolution", "Affine", "BatchNormalization", "Relu", "Sigmoid"):
        assert keras_layers.get(name) is getattr(keras_layers, name)
    # the book's star-import exports (scripts rely on `from common.layers import *` bringing np)
    namespace = {}
    exec("from cnet.book.common.layers import *", namespace)
    assert {"np", "softmax", "im2col", "Affine", "Convolution"} <= set(namespace)


def test_relu_and_sigmoid_forward_backward_and_attributes():
    x = _rng().standard_normal((4, 5))
    relu = L.Relu()
    y = relu.forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(relu.mask, x <= 0)
    dout = _rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(relu.backward(dout.copy()), np.where(x > 0, dout, 0))
    sig = L.Sigmoid()
    s = sig.forward(x)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), rtol=1e-14)
    assert sig.out is s or np.array_equal(sig.out, s)
    np.testing.assert_allclose(sig.backward(dout), dout * s * (1 - s), rtol=1e-13)
    # any input shape on any call, integers widened to float64
    assert relu.forward(np.arange(-3, 3).reshape(2, 3)).dtype == np.float64
    assert relu.forward(np.ones((2, 1, 3, 3), np.float32)).dtype == np.float32


def test_affine_keeps_arrays_by_reference_and_flattens_images():
    rng = _rng(2)
    W, b = rng.standard_normal((12, 4)), rng.standard_normal(4)
    layer = L.Affine(W, b)
    assert layer.W is W and layer.b is b
    x = rng.standard_normal((3, 3, 2, 2))
    np.testing.assert_allclose(layer.forward(x), x.reshape(3, -1) @ W + b, rtol=1e-13)
    assert layer.original_x_shape == (3, 3, 2, 2) and layer.x.shape == (3, 12)
    dout = rng.standard_normal((3, 4))
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, (dout @ W.T).reshape(x.shape), rtol=1e-13)
    np.testing.assert_allclose(layer.dW, x.reshape(3, -1).T @ dout, rtol=1e-13)
    np.testing.assert_allclose(layer.db, dout.sum(axis=0), rtol=1e-13)
    W -= 1.0                                   # an optimizer updating params in place
    np.testing.assert_allclose(layer.forward(x), x.reshape(3, -1) @ W + b, rtol=1e-13)
    W2 = np.zeros_like(W)
    layer.W = W2                               # the book's load_params rebinds layer.W
    np.testing.assert_allclose(layer.forward(x), np.broadcast_to(b, (3, 4)))
    # float32 inputs with float64 weights compute in float64 (NumPy's promotion, as in the book)
    assert layer.forward(x.astype(np.float32)).dtype == np.float64
    with pytest.raises(ValueError, match="2-D"):
        L.Affine(np.zeros(3), 0)


def _conv_reference(x, W, b, stride, pad):
    n, c, h, w = x.shape
    fn, _, fh, fw = W.shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((n, fn, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
            out[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (1, 2)])
def test_convolution_matches_the_definition(stride, pad):
    rng = _rng(3)
    x = rng.standard_normal((2, 3, 8, 7))
    W, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv = L.Convolution(W, b, stride, pad)
    assert conv.W is W and conv.stride == stride and conv.pad == pad
    np.testing.assert_allclose(conv.forward(x), _conv_reference(x, W, b, stride, pad), rtol=1e-12, atol=1e-12)
    assert conv.backward(np.ones_like(conv.forward(x))).shape == x.shape
    assert conv.db.tolist() == pytest.approx([conv.forward(x).shape[2] * conv.forward(x).shape[3] * 2] * 4)


def test_convolution_defaults_and_a_scalar_bias():
    rng = _rng(4)
    W = rng.standard_normal((1, 1, 5, 5))
    img = rng.random((1, 1, 12, 10)).astype(np.float32)   # apply_filter.py: Convolution(w, 0)
    conv = L.Convolution(W, 0)
    assert conv.stride == 1 and conv.pad == 0
    out = conv.forward(img)
    assert out.shape == (1, 1, 8, 6) and out.dtype == np.float64
    np.testing.assert_allclose(out, _conv_reference(img.astype(np.float64), W, np.zeros(1), 1, 0), rtol=1e-12)
    np.testing.assert_allclose(L.Convolution(W, 0.5).forward(img), out + 0.5, rtol=1e-12)
    with pytest.raises(ValueError, match="broadcast"):
        L.Convolution(np.zeros((3, 1, 2, 2)), np.zeros(2))


def test_pooling_strides_two_by_default_and_routes_gradients_to_the_maxima():
    pool = L.Pooling(2, 2)
    assert (pool.pool_h, pool.pool_w, pool.stride, pool.pad) == (2, 2, 2, 0)
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    y = pool.forward(x)
    np.testing.assert_array_equal(y, x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)))
    dx = pool.backward(np.ones_like(y))
    assert dx.sum() == y.size and dx[0, 0, 1, 1] == 1 and dx[0, 0, 0, 0] == 0
    assert L.Pooling(3, 3, stride=1).forward(x).shape == (1, 2, 2, 2)


def test_dropout_is_the_books_masks_from_numpys_global_generator():
    x = _rng(5).standard_normal((6, 7)) + 3.0
    drop = L.Dropout(0.2)                       # positional: the book's dropout_ratio
    assert drop.dropout_ratio == 0.2
    np.random.seed(11)
    y = drop.forward(x)
    np.random.seed(11)
    mask = np.random.rand(6, 7) > 0.2
    np.testing.assert_array_equal(drop.mask, mask)
    np.testing.assert_array_equal(y, x * mask)              # kept values unscaled in training
    dout = _rng(6).standard_normal(x.shape)
    np.testing.assert_array_equal(drop.backward(dout), dout * mask)
    np.testing.assert_allclose(drop.forward(x, False), x * 0.8, rtol=1e-15)     # inference: times (1 - ratio)
    np.testing.assert_allclose(drop.forward(x, train_flg=False), x * 0.8, rtol=1e-15)
    assert L.Dropout().dropout_ratio == 0.5


def test_batch_normalization_the_books_statistics_and_running_averages():
    rng = _rng(7)
    x = rng.standard_normal((8, 5)) * 3 + 1
    gamma, beta = rng.random(5) + 0.5, rng.standard_normal(5)
    bn = L.BatchNormalization(gamma, beta)
    assert bn.gamma is gamma and bn.momentum == 0.9
    y = bn.forward(x)
    mu, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, gamma * (x - mu) / np.sqrt(var + 1e-6) + beta, rtol=1e-12, atol=1e-12)
    # running statistics start at zero and move by (1 - momentum) toward the batch's (biased variance)
    np.testing.assert_allclose(bn.running_mean, 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.1 * var, rtol=1e-10)
    yi = bn.forward(x, train_flg=False)
    np.testing.assert_allclose(yi, gamma * (x - 0.1 * mu) / np.sqrt(0.1 * var + 1e-6) + beta, rtol=1e-10)
    # images are normalized per element of C*H*W, as the book flattens them
    imgs = rng.standard_normal((4, 2, 3, 3))
    bn4 = L.BatchNormalization(np.ones(18), np.zeros(18))
    flat = imgs.reshape(4, -1)
    np.testing.assert_allclose(bn4.forward(imgs).reshape(4, -1),
                               (flat - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-6), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, shape", [
    (lambda r: L.Affine(r.standard_normal((6, 3)), r.standard_normal(3)), (4, 6)),
    (lambda r: L.Convolution(r.standard_normal((2, 2, 3, 3)), r.standard_normal(2), 1, 1), (2, 2, 5, 5)),
    (lambda r: L.Convolution(r.standard_normal((2, 1, 2, 2)), 0.3, 2, 0), (2, 1, 6, 6)),
    (lambda r: L.BatchNormalization(r.random(4) + 0.5, r.standard_normal(4)), (6, 4)),
])
def test_layers_with_parameters_pass_a_float64_gradient_check(make, shape):
    rng = _rng(8)
    errors = cnet.gradcheck(make(rng), rng.standard_normal(shape))
    assert max(errors.values()) < 1e-7, errors


def test_softmax_with_loss_is_the_books_loss_and_gradient():
    rng = _rng(9)
    x = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    layer = L.SoftmaxWithLoss()
    loss = layer.forward(x, labels)
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert loss == pytest.approx(cross_entropy_error(p, labels), rel=1e-14)
    np.testing.assert_allclose(layer.y, p, rtol=1e-14)
    np.testing.assert_allclose(layer.backward(), (p - np.eye(4)[labels]) / 5, rtol=1e-13, atol=1e-16)
    one_hot = np.eye(4)[labels]
    assert layer.forward(x, one_hot) == pytest.approx(loss, rel=1e-15)
    np.testing.assert_allclose(layer.backward(1), (p - one_hot) / 5, rtol=1e-13, atol=1e-16)
    # one label per sample in an (N, 1) array (ch07/gradient_check.py's T)
    assert layer.forward(x[:1], np.array([[3]])) == pytest.approx(-np.log(p[0, 3] + 1e-7), rel=1e-13)
