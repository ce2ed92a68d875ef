"""The book's SimpleConvNet, DeepConvNet and Trainer on cnet layers."""
import io

import numpy as np
import pytest

import cnet
from cnet.models import load_model
from cnet.nets import DeepConvNet, SimpleConvNet, Trainer


def _stripes(n, size=12, seed=0):
    """Class 0: a bright row, class 1: a bright column, class 2: a bright diagonal (plus noise)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 3, n)
    x = rng.random((n, 1, size, size)) * 0.3
    pos = rng.integers(2, size - 2, n)
    for i in range(n):
        if t[i] == 0:
            x[i, 0, pos[i], :] += 1
        elif t[i] == 1:
            x[i, 0, :, pos[i]] += 1
        else:
            x[i, 0, np.arange(size), np.arange(size)] += 1
    return x.astype(np.float32), t


def test_simple_convnet_shapes_and_names():
    net = SimpleConvNet()
    assert list(net.params) == ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']
    assert net.params['W1'].shape == (30, 1, 5, 5) and net.params['W2'].shape == (4320, 100)
    assert net.params['W3'].shape == (100, 10) and net.params['b3'].shape == (10,)
    assert list(net.layers) == ['Conv1', 'Relu1', 'Pool1', 'Affine1', 'Relu2', 'Affine2']
    assert net.params['W1'] is net.layers['Conv1'].W
    assert abs(float(net.params['W1'].std()) - 0.01) < 0.002 and not net.params['b1'].any()
    x = np.zeros((3, 1, 28, 28), np.float32)
    assert net.predict(x).shape == (3, 10)


def test_simple_convnet_gradient_matches_numerical_float64(conv_engine):
    cnet.set_seed(0)
    net = SimpleConvNet(input_dim=(1, 10, 10), conv_param={'filter_num': 3, 'filter_size': 3, 'pad': 1,
                                                           'stride': 1},
                        hidden_size=6, output_size=4, weight_init_std=0.3, dtype='float64')
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 1, 10, 10))
    t = np.array([0, 3, 1])
    grads = net.gradient(x, t)
    assert set(grads) == set(net.params)
    assert all(grads[k].shape == net.params[k].shape for k in grads)
    errors = cnet.gradcheck(net, x, t)
    assert max(errors.values()) < 1e-6, errors
    # one-hot labels give the same loss
    onehot = np.eye(4)[t]
    assert net.loss(x, onehot) == pytest.approx(net.loss(x, t))


def test_deep_convnet_structure_and_gradient(conv_engine):
    net = DeepConvNet()
    assert list(net.params) == [f'{p}{i}' for i in range(1, 9) for p in 'Wb']
    shapes = [net.params[f'W{i}'].shape for i in range(1, 9)]
    assert shapes == [(16, 1, 3, 3), (16, 16, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3),
                      (64, 64, 3, 3), (1024, 50), (50, 10)]
    # He initialization: std sqrt(2 / fan_in)
    assert net.params['W7'].std() == pytest.approx(np.sqrt(2 / 1024), rel=0.1)
    assert sum(1 for name in net.layers if name.startswith('Dropout')) == 2
    cnet.set_seed(0)
    small = DeepConvNet(input_dim=(1, 8, 8), hidden_size=5, output_size=3, dtype='float64')
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(2, 1, 8, 8)), np.array([0, 2])
    errors = cnet.gradcheck(small, x, t, keys=['W1', 'b6', 'W7', 'W8', 'b8'], max_elements=12)
    assert max(errors.values()) < 1e-5, errors
    # inference is deterministic (no dropout), training is not
    np.testing.assert_array_equal(small.predict(x), small.predict(x))


def test_params_rebinding_and_save_load_params(tmp_path):
    net = SimpleConvNet(input_dim=(1, 12, 12), hidden_size=8, output_size=3)
    x, _ = _stripes(4)
    net.params['W3'] = np.zeros_like(net.params['W3'])   # book style: rebinding reaches the layer
    assert not net.predict(x).any() or np.allclose(net.predict(x), net.params['b3'])
    net.params['W3'] = np.ones((8, 3))
    net.predict(x)
    assert net.layers['Affine2'].W.dtype == np.float32 and net.layers['Affine2'].W.sum() == 24
    path = str(tmp_path / 'params.pkl')   # the book's file name; the content is cnet's safe format
    net.save_params(path)
    other = SimpleConvNet(input_dim=(1, 12, 12), hidden_size=8, output_size=3)
    other.load_params(path)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    wrong = SimpleConvNet(input_dim=(1, 12, 12), hidden_size=9, output_size=3)
    with pytest.raises(ValueError, match="parameter 'W2'"):
        wrong.load_params(path)
    with open(path, 'rb') as f:
        assert f.read(2) == b'PK'


def test_trainer_runs_and_learns(conv_engine):
    cnet.set_seed(0)
    x, t = _stripes(300, seed=1)
    x_test, t_test = _stripes(100, seed=2)
    net = SimpleConvNet(input_dim=(1, 12, 12), conv_param={'filter_num': 6, 'filter_size': 3, 'pad': 0,
                                                           'stride': 1},
                        hidden_size=20, output_size=3)
    out = io.StringIO()
    trainer = Trainer(net, x, t, x_test, t_test, epochs=3, mini_batch_size=50, optimizer='Adam',
                      optimizer_param={'lr': 0.01}, evaluate_sample_num_per_epoch=100, stream=out)
    acc = trainer.train()
    assert len(trainer.train_loss_list) == 18 and len(trainer.test_acc_list) == 3
    assert len(trainer.train_acc_list) == 3
    assert trainer.train_loss_list[-1] < trainer.train_loss_list[0]
    assert acc > 0.8, out.getvalue()
    text = out.getvalue()
    assert '=== epoch:3/3' in text and 'Final Test Accuracy' in text


def test_net_model_view_fits_saves_and_loads(tmp_path):
    cnet.set_seed(0)
    x, t = _stripes(60, seed=3)
    net = SimpleConvNet(input_dim=(1, 12, 12), hidden_size=8, output_size=3)
    model = net.model
    model.compile('adam', 'sparse_categorical_crossentropy', ['accuracy'])
    model.fit(x, t, batch_size=20, epochs=1, verbose=0)
    probs = model.predict(x)
    np.testing.assert_allclose(probs.argmax(1), net.predict(x).argmax(1))
    model.save(str(tmp_path / 'net.cnet.npz'))
    np.testing.assert_array_equal(load_model(str(tmp_path / 'net.cnet.npz')).predict(x), probs)


def test_params_dicts_of_nets_and_models_follow_the_same_rules():
    """One reconciliation (cnet.layers.base.sync_params) for a book net's params and a model's params:
    a rebound array (or list) reaches its layer in the layer's dtype; a wrong shape or a new key is an
    error naming it."""
    x, _ = _stripes(2)
    net = SimpleConvNet(input_dim=(1, 12, 12), hidden_size=8, output_size=3)
    model = net.model
    for params, run, key, layer in ((net.params, net.predict, 'W3', net.layers['Affine2']),
                                    (model.params, model.predict, 'Affine2/W', model.layers[-2])):
        params[key] = np.ones((8, 3)).tolist()
        run(x)
        assert layer.W.dtype == np.float32 and layer.W.sum() == 24 and params[key] is layer.W
        params[key] = np.ones((3, 8))
        with pytest.raises(ValueError, match=r"\[.*%s.*\] must be an array of shape \(8, 3\), got \(3, 8\)" % key):
            run(x)
        params[key] = layer.W
        params['extra'] = np.ones(3)
        with pytest.raises(ValueError, match='keys were added or removed'):
            run(x)
        del params['extra']
        run(x)
