"""Losses: Keras functions against hand computation; Loss objects' gradients; fused softmax-CE."""
import numpy as np
import pytest

import cnet
from cnet import losses
from cnet.gradcheck import numerical_gradient

Y = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
LABELS = np.array([0, 1])


@pytest.fixture(params=("c", "numpy"))
def backend_name(request):
    with cnet.use_backend(request.param):
        yield request.param


def _numeric_grad(f, y, eps=1e-6):
    return numerical_gradient(lambda: f(y), y, eps)


def test_keras_functions_by_hand():
    np.testing.assert_allclose(losses.categorical_crossentropy(T, Y), [-np.log(0.7), -np.log(0.1)])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(LABELS, Y), [-np.log(0.7), -np.log(0.1)])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(LABELS[:, None].astype(float), Y),
                               [-np.log(0.7), -np.log(0.1)])
    np.testing.assert_allclose(losses.mean_squared_error(T, Y), [(0.09 + 0.04 + 0.01) / 3, (0.01 + 0.81 + 0.64) / 3])
    assert losses.mse is losses.mean_squared_error
    b = losses.binary_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))
    np.testing.assert_allclose(b, [-(np.log(0.9) + np.log(0.8)) / 2])
    # probabilities are clipped to [1e-7, 1 - 1e-7]
    np.testing.assert_allclose(losses.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])),
                               [-np.log(1e-7)], rtol=1e-6)


@pytest.mark.parametrize("name,targets", [("categorical_crossentropy", T),
                                          ("sparse_categorical_crossentropy", LABELS),
                                          ("mse", T), ("binary_crossentropy", T)])
def test_loss_objects_mean_and_gradient(name, targets, backend_name):
    loss = losses.get(name)
    y = Y.copy()
    value = loss.forward(y, targets)
    assert value == pytest.approx(float(np.mean(loss(targets, y))), rel=1e-12)
    grad = loss.backward()
    num = _numeric_grad(lambda v: losses.get(name).forward(v, targets), y)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,targets", [("categorical_crossentropy", T),
                                          ("sparse_categorical_crossentropy", LABELS)])
def test_fused_softmax_crossentropy(name, targets, backend_name):
    loss = losses.get(name)
    assert loss.fuses_softmax
    z = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    fused = loss.forward(z, targets, from_logits=True)
    np.testing.assert_allclose(loss.probs, p, rtol=1e-12)
    assert fused == pytest.approx(losses.get(name).forward(p, targets), rel=1e-9)
    np.testing.assert_allclose(loss.backward(), (p - T) / 2, rtol=1e-12, atol=1e-15)
    big = np.array([[1000.0, 0.0, -1000.0]])        # numerically stable on logits
    assert np.isfinite(losses.get(name).forward(big, targets[:1], from_logits=True))


def test_float32_predictions_keep_dtype(backend_name):
    y = Y.astype(np.float32)
    for name, t in (("categorical_crossentropy", T), ("mse", T), ("sparse_categorical_crossentropy", LABELS)):
        loss = losses.get(name)
        loss.forward(y, t)
        assert loss.backward().dtype == np.float32


def test_get_and_errors():
    assert isinstance(losses.get("MSE"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.categorical_crossentropy), losses.CategoricalCrossentropy)
    obj = losses.CategoricalCrossentropy()
    assert losses.get(obj) is obj
    with pytest.raises(ValueError, match="known.*categorical_crossentropy"):
        losses.get("hinge2")
    with pytest.raises(ValueError, match="gradient"):
        losses.get(lambda t, y: 0.0)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy").forward(Y, LABELS)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\)"):
        losses.get("sparse_categorical_crossentropy").forward(Y, np.array([0, 3]))


def test_calling_a_loss_object_gives_per_sample_losses(backend_name):
    """loss(y_true, y_pred) is Keras's per-sample function; the softmax cross-entropies built with
    from_logits=True (and SoftmaxCrossEntropy, which always takes logits) apply the softmax first."""
    z = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    expected = -logp[np.arange(2), LABELS]
    sce = losses.SoftmaxCrossEntropy()
    np.testing.assert_allclose(sce(LABELS, z), expected, rtol=1e-12)
    np.testing.assert_allclose(sce(T, z), expected, rtol=1e-12)
    assert sce.forward(z, LABELS) == pytest.approx(expected.mean(), rel=1e-12)
    np.testing.assert_allclose(losses.CategoricalCrossentropy(from_logits=True)(T, z), expected, rtol=1e-12)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, z), expected,
                               rtol=1e-12)
    big = np.array([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(sce(np.array([2]), big)).all()
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\)"):
        sce(np.array([0, 3]), z)
    np.testing.assert_allclose(losses.get("mse")(T, Y), losses.mean_squared_error(T, Y))

    class Custom(losses.Loss):          # trains with forward/backward, has no per-sample function
        def forward(self, y_pred, y_true, from_logits=None):
            return 0.0
    with pytest.raises(NotImplementedError, match="Custom has no per-sample function"):
        Custom()(T, Y)


def test_from_logits_only_where_a_softmax_can_take_logits():
    for cls in (losses.BinaryCrossentropy, losses.MeanSquaredError):
        with pytest.raises(ValueError, match="from_logits=True is not supported"):
            cls(from_logits=True)
        with pytest.raises(ValueError, match="from_logits=True is not supported"):
            cls().forward(Y, T, from_logits=True)
    with pytest.raises(ValueError, match="takes logits"):
        losses.SoftmaxCrossEntropy().forward(Y, LABELS, from_logits=False)
