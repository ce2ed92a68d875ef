"""cnet.book's networks (MultiLayerNet(Extend), TwoLayerNet, SimpleConvNet, DeepConvNet) and Trainer."""
import numpy as np
import pytest

from cnet.book import DeepConvNet, MultiLayerNet, MultiLayerNetExtend, SimpleConvNet, Trainer, TwoLayerNet
from cnet.book.ch04.two_layer_net import TwoLayerNet as TwoLayerNet4
from cnet.book.common.functions import cross_entropy_error
from cnet.book.common.layers import Affine, Convolution, Dropout, Pooling, Relu


def _data(n, d, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


def _max_abs_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


# ---- MultiLayerNet / MultiLayerNetExtend -----------------------------------------------------------

@pytest.mark.parametrize("init, scales", [("relu", lambda f: np.sqrt(2.0 / f)), ("He", lambda f: np.sqrt(2.0 / f)),
                                          ("sigmoid", lambda f: np.sqrt(1.0 / f)), (0.01, lambda f: 0.01)])
def test_multi_layer_net_draws_the_books_weights(init, scales):
    np.random.seed(5)
    net = MultiLayerNet(6, [5, 4], 3, weight_init_std=init)
    np.random.seed(5)
    for i, (fan_in, fan_out) in enumerate([(6, 5), (5, 4), (4, 3)], start=1):
        np.testing.assert_array_equal(net.params[f"W{i}"], scales(fan_in) * np.random.randn(fan_in, fan_out))
        np.testing.assert_array_equal(net.params[f"b{i}"], np.zeros(fan_out))
        assert net.params[f"W{i}"].dtype == np.float64
    assert list(net.layers) == ["Affine1", "Activation_function1", "Affine2", "Activation_function2", "Affine3"]
    assert net.layers["Affine1"].W is net.params["W1"]
    with pytest.raises(ValueError, match="weight_init_std"):
        MultiLayerNet(6, [5], 3, weight_init_std="lecun")
    with pytest.raises(ValueError, match="activation"):
        MultiLayerNet(6, [5], 3, activation="tanh")


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_multi_layer_net_gradient_loss_and_weight_decay(activation):
    x, t = _data(4, 6, 3)
    np.random.seed(1)
    net = MultiLayerNet(6, [5, 4], 3, activation=activation, weight_decay_lambda=0.1)
    grads = {k: v.copy() for k, v in net.gradient(x, t).items()}
    numeric = net.numerical_gradient(x, t)
    assert list(grads) == list(numeric) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert _max_abs_diff(grads, numeric) < 1e-6
    scores = net.predict(x)
    decay = sum(0.5 * 0.1 * np.sum(net.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert net.loss(x, t) == pytest.approx(cross_entropy_error(p, t) + decay, rel=1e-12)
    assert net.accuracy(x, t) == np.mean(scores.argmax(axis=1) == t)
    assert net.accuracy(x, np.eye(3)[t]) == net.accuracy(x, t)          # one-hot labels too


def test_multi_layer_net_extend_layers_batchnorm_gradients_and_dropout():
    np.random.seed(2)
    net = MultiLayerNetExtend(6, [5, 4], 3, use_batchnorm=True, use_dropout=True, dropout_ration=0.3)
    assert list(net.layers) == ["Affine1", "BatchNorm1", "Activation_function1", "Dropout1",
                                "Affine2", "BatchNorm2", "Activation_function2", "Dropout2", "Affine3"]
    assert net.layers["Dropout1"].dropout_ratio == 0.3 and net.layers["BatchNorm2"].gamma is net.params["gamma2"]
    x, t = _data(5, 6, 3)
    np.random.seed(3)
    scores = net.predict(x, train_flg=True)
    np.random.seed(3)
    again = net.predict(x, train_flg=True)          # the dropout masks come from np.random
    np.testing.assert_allclose(scores, again, rtol=1e-12)
    np.random.seed(4)
    bn_only = MultiLayerNetExtend(6, [5, 4], 3, use_batchnorm=True)
    grads = {k: v.copy() for k, v in bn_only.gradient(x, t).items()}
    numeric = bn_only.numerical_gradient(x, t)
    assert list(numeric) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert list(grads) == list(numeric)
    assert _max_abs_diff(grads, numeric) < 1e-6
    # loss defaults to inference mode (running statistics): a different value than training mode
    assert bn_only.loss(x, t) != bn_only.loss(x, t, train_flg=True)


# ---- TwoLayerNet -------------------------------------------------------------------------------------

def test_two_layer_nets_of_chapters_4_and_5():
    np.random.seed(6)
    net = TwoLayerNet(input_size=8, hidden_size=5, output_size=3)
    np.random.seed(6)
    np.testing.assert_array_equal(net.params["W1"], 0.01 * np.random.randn(8, 5))
    np.testing.assert_array_equal(net.params["W2"], 0.01 * np.random.randn(5, 3))
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"] and net.lastLayer is net.last_layer
    x, t = _data(3, 8, 3)
    t1 = np.eye(3)[t]
    assert _max_abs_diff(net.gradient(x, t1), net.numerical_gradient(x, t1)) < 1e-8
    np.random.seed(6)
    net4 = TwoLayerNet4(8, 5, 3, weight_init_std=0.5)
    assert list(net4.layers) == ["Affine1", "Sigmoid1", "Affine2"]
    probs = net4.predict(x)                      # chapter 4's predict returns the softmax
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    assert net4.loss(x, t1) == pytest.approx(cross_entropy_error(probs, t1), rel=1e-12)
    assert _max_abs_diff(net4.gradient(x, t1), net4.numerical_gradient(x, t1)) < 1e-6   # the 1e-7 in the log
    assert net4.accuracy(x, t1) == np.mean(probs.argmax(1) == t)


# ---- SimpleConvNet / DeepConvNet ----------------------------------------------------------------------

def test_simple_convnet_weights_layers_and_gradients():
    conv = {"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1}
    np.random.seed(7)
    net = SimpleConvNet(input_dim=(1, 8, 8), conv_param=conv, hidden_size=6, output_size=4, weight_init_std=0.1)
    np.random.seed(7)
    for key, shape in (("W1", (3, 1, 3, 3)), ("W2", (27, 6)), ("W3", (6, 4))):
        np.testing.assert_array_equal(net.params[key], 0.1 * np.random.randn(*shape))
    kinds = [type(layer) for layer in net.layers.values()]
    assert list(net.layers) == ["Conv1", "Relu1", "Pool1", "Affine1", "Relu2", "Affine2"]
    assert kinds == [Convolution, Relu, Pooling, Affine, Relu, Affine]
    assert net.layers["Pool1"].stride == 2
    x = np.random.default_rng(0).random((2, 1, 8, 8))
    t = np.array([[1], [3]])                 # one label per sample in an (N, 1) array, as ch07 uses
    grads = {k: v.copy() for k, v in net.gradient(x, t).items()}
    assert _max_abs_diff(grads, net.numerical_gradient(x, t)) < 1e-6
    with pytest.raises(ValueError, match="does not tile"):
        SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 4, "pad": 0, "stride": 3})


def test_convnet_accuracy_scores_whole_batches_only_as_the_book():
    np.random.seed(8)
    net = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
                        hidden_size=5, output_size=3)
    x = np.random.default_rng(1).random((25, 1, 8, 8))
    pred = net.predict(x).argmax(axis=1)
    t = pred.copy()                       # every prediction right
    assert net.accuracy(x, t, batch_size=10) == 20 / 25     # the last 5 are not scored
    assert net.accuracy(x, t, batch_size=5) == 1.0


def test_float32_is_one_argument_away():
    np.random.seed(9)
    net = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
                        hidden_size=5, output_size=3, dtype="float32")
    np.random.seed(9)
    np.testing.assert_array_equal(net.params["W1"], (0.01 * np.random.randn(2, 1, 3, 3)).astype(np.float32))
    x = np.random.default_rng(2).random((4, 1, 8, 8)).astype(np.float32)
    assert net.predict(x).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradient(x, np.array([0, 1, 2, 0])).values())
    with pytest.raises(TypeError, match="float64"):
        SimpleConvNet(dtype="int32")


def test_deep_convnet_structure_initialization_and_dropout():
    np.random.seed(10)
    net = DeepConvNet()
    np.random.seed(10)
    fan_ins = [1 * 9, 16 * 9, 16 * 9, 32 * 9, 32 * 9, 64 * 9, 64 * 4 * 4, 50]
    for i, fan_in in enumerate(fan_ins, start=1):
        w = net.params[f"W{i}"]
        np.testing.assert_array_equal(w, np.sqrt(2.0 / fan_in) * np.random.randn(*w.shape))
    assert net.params["W7"].shape == (1024, 50) and net.params["W8"].shape == (50, 10)
    assert isinstance(net.layers, list) and len(net.layers) == 20
    for i, index in enumerate((0, 2, 5, 7, 10, 12, 15, 18), start=1):
        assert net.layers[index].W is net.params[f"W{i}"]
    assert [type(net.layers[i]) for i in (4, 9, 14, 17, 19)] == [Pooling, Pooling, Pooling, Dropout, Dropout]
    x = np.random.default_rng(3).random((2, 1, 28, 28)).astype(np.float32)
    t = np.array([3, 7])
    inference = net.predict(x)
    np.testing.assert_array_equal(inference, net.predict(x, train_flg=False))
    np.random.seed(11)
    loss = net.loss(x, t)                                    # training mode: dropout from np.random
    np.random.seed(11)
    assert net.loss(x, t) == loss
    grads = net.gradient(x, t)
    assert set(grads) == set(net.params) and all(grads[k].shape == net.params[k].shape for k in grads)
    assert net.accuracy(x, t, batch_size=1) == np.mean(inference.argmax(1) == t)


# ---- Trainer ---------------------------------------------------------------------------------------

class _Recorder:
    """A network that records what the Trainer asks of it."""

    def __init__(self):
        self.params = {"w": np.zeros(2)}
        self.calls = []

    def gradient(self, x, t):
        self.calls.append(("gradient", x[:, 0].tolist()))
        return {"w": np.ones(2)}

    def loss(self, x, t):
        self.calls.append(("loss", x[:, 0].tolist()))
        return float(self.params["w"][0])

    def accuracy(self, x, t):
        self.calls.append(("accuracy", len(x)))
        return len(x) / 100


def test_trainer_samples_with_replacement_and_evaluates_as_the_book(capsys):
    x_train = np.arange(10.0).reshape(10, 1) * np.ones((1, 3))
    t_train = np.arange(10)
    x_test, t_test = np.zeros((7, 3)), np.zeros(7, int)
    net = _Recorder()
    trainer = Trainer(net, x_train, t_train, x_test, t_test, epochs=2, mini_batch_size=4,
                      optimizer="sgd", optimizer_param={"lr": 0.5}, evaluate_sample_num_per_epoch=3)
    assert trainer.iter_per_epoch == 2.5 and trainer.max_iter == 5
    np.random.seed(12)
    trainer.train()
    np.random.seed(12)
    batches = [np.random.choice(10, 4).astype(float).tolist() for _ in range(5)]
    grads = [c[1] for c in net.calls if c[0] == "gradient"]
    losses = [c[1] for c in net.calls if c[0] == "loss"]
    assert grads == batches and losses == batches          # the loss of the same batch, after the update
    np.testing.assert_allclose(net.params["w"], [-2.5, -2.5])   # five SGD steps of lr 0.5
    out = capsys.readouterr().out.splitlines()
    # evaluated after step 0 only (0 % 2.5 == 0; 2.5 and 5.0 are never reached by an integer step)
    assert out[0] == "train loss:-0.5"
    assert out[1] == "=== epoch:1, train acc:0.03, test acc:0.03 ==="
    assert out[2:6] == [f"train loss:{-0.5 * k}" for k in range(2, 6)]
    assert out[6:] == ["=============== Final Test Accuracy ===============", "test acc:0.07"]
    assert trainer.train_loss_list == [-0.5 * k for k in range(1, 6)]
    assert trainer.train_acc_list == [0.03] and trainer.test_acc_list == [0.03]


def test_trainer_optimizers_by_name_quietly(capsys):
    x, t = _data(20, 6, 3)
    np.random.seed(13)
    net = MultiLayerNet(6, [8], 3)
    trainer = Trainer(net, x, t, x, t, epochs=1, mini_batch_size=5, optimizer="RMSprop",
                      optimizer_param={"lr": 0.01, "decay_rate": 0.9}, verbose=False)
    assert type(trainer.optimizer).__name__ == "RMSprop" and trainer.optimizer.decay_rate == 0.9
    trainer.train()
    assert capsys.readouterr().out == "" and len(trainer.train_loss_list) == 4
    assert len(trainer.train_acc_list) == 1
    with pytest.raises(ValueError, match="unknown optimizer"):
        Trainer(net, x, t, x, t, optimizer="lbfgs")


# ---- the networks' own chains: fused like a model's layers (cnet/book/_net.py) ---------------------

def _one_by_one(net, x, t):
    """Loss and gradients with every layer called on its own, as the book's network files call them."""
    layers = net._layer_sequence()
    y = x
    for layer in layers:
        y = layer.forward(y, True)
    loss = net.last_layer.forward(y, t)
    dout = net.last_layer.backward(1)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return loss, {key: layer.grads[name].copy() for key, layer, name in net._owners}


@pytest.mark.parametrize("make, shape", [
    (lambda: SimpleConvNet(input_dim=(1, 12, 12), conv_param={"filter_num": 9, "filter_size": 3, "pad": 0,
                                                               "stride": 1}, hidden_size=7, output_size=4),
     (3, 1, 12, 12)),
    (lambda: DeepConvNet(), (2, 1, 28, 28))], ids=["simple", "deep"])
def test_network_chains_fuse_and_compute_what_the_layers_do_one_by_one(make, shape):
    np.random.seed(3)
    net = make()
    x = np.random.default_rng(2).random(shape)
    t = np.arange(shape[0]) % 4
    net.gradient(x, t)                 # builds the layers (a first call converts what they had not seen)
    np.random.seed(4)                  # DeepConvNet's dropout masks: the same draws both ways
    grads = {k: v.copy() for k, v in net.gradient(x, t).items()}
    loss = net.last_layer.loss
    relu = next(layer for layer in net._layer_sequence() if isinstance(layer, Relu))
    assert relu._blk_x and relu._relu_in is False       # the conv before it wrote it blocked, ReLU'd
    mask = relu.mask
    assert mask.shape[0] == shape[0] and mask.ndim == 4   # read through the layout, NCHW
    np.random.seed(4)
    loss_1, grads_1 = _one_by_one(net, x, t)
    assert not relu._blk_x
    np.testing.assert_array_equal(mask, relu.mask)
    assert loss == pytest.approx(loss_1, rel=1e-12)
    for key in grads:
        np.testing.assert_allclose(grads[key], grads_1[key], rtol=1e-9, atol=1e-12, err_msg=key)
