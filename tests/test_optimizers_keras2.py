"""Keras 2's optimizer controls: Adamax and Nadam against their Keras 2.1 update formulas step by step,
clipnorm/global_clipnorm/clipvalue on every optimizer, K.get_value/K.set_value on optimizer attributes."""
import math

import numpy as np
import pytest

import cnet
from cnet import backend as K
from cnet import optimizers as O
from test_optimizers import A, P0, STEPS, _run, backend_name  # noqa: F401 - the quadratic, the fixture


def keras_adamax(lr, b1, b2, eps, decay=0.0):
    """Keras 2.1's Adamax.get_updates, written out in float64."""
    p, m, u, path = P0.copy(), np.zeros_like(P0), np.zeros_like(P0), []
    for it in range(STEPS):
        g = A * p
        lr_ = lr * (1.0 / (1.0 + decay * it))
        t = it + 1
        lr_t = lr_ / (1.0 - b1 ** t)
        m = b1 * m + (1.0 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        p = p - lr_t * m / (u + eps)
        path.append(p)
    return np.array(path)


def keras_nadam(lr, b1, b2, eps, schedule_decay):
    """Keras 2.1's Nadam.get_updates, written out in float64."""
    p, m, v, m_schedule, path = P0.copy(), np.zeros_like(P0), np.zeros_like(P0), 1.0, []
    for it in range(STEPS):
        g = A * p
        t = it + 1
        momentum_cache_t = b1 * (1.0 - 0.5 * (0.96 ** (t * schedule_decay)))
        momentum_cache_t_1 = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * schedule_decay)))
        m_schedule_new = m_schedule * momentum_cache_t
        m_schedule_next = m_schedule * momentum_cache_t * momentum_cache_t_1
        m_schedule = m_schedule_new
        g_prime = g / (1.0 - m_schedule_new)
        m = b1 * m + (1.0 - b1) * g
        m_t_prime = m / (1.0 - m_schedule_next)
        v = b2 * v + (1.0 - b2) * g * g
        v_t_prime = v / (1.0 - b2 ** t)
        m_t_bar = (1.0 - momentum_cache_t) * g_prime + momentum_cache_t_1 * m_t_prime
        p = p - lr * m_t_bar / (np.sqrt(v_t_prime) + eps)
        path.append(p)
    return np.array(path)


def test_adamax_follows_keras_step_by_step(backend_name):
    np.testing.assert_allclose(_run(O.Adamax()), keras_adamax(0.002, 0.9, 0.999, 1e-7), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_run(O.Adamax(0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-4, decay=0.3)),
                               keras_adamax(0.1, 0.8, 0.9, 1e-4, decay=0.3), rtol=1e-13, atol=1e-15)


def test_nadam_follows_keras_step_by_step(backend_name):
    np.testing.assert_allclose(_run(O.Nadam()), keras_nadam(0.002, 0.9, 0.999, 1e-7, 0.004), rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(_run(O.Nadam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-5, schedule_decay=0.1)),
                               keras_nadam(0.05, 0.8, 0.99, 1e-5, 0.1), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("make", [O.Adamax, O.Nadam], ids=["Adamax", "Nadam"])
def test_float32_and_state_roundtrip(make, backend_name):
    opt32 = make(0.05)
    p32 = {"p": P0.astype(np.float32)}
    for _ in range(3):
        opt32.update(p32, {"p": (A * p32["p"]).astype(np.float32)})
    assert p32["p"].dtype == np.float32
    np.testing.assert_allclose(p32["p"], _run(make(0.05), 3)[-1], rtol=1e-5)

    full = _run(make(0.05))
    opt, params = make(0.05), {"p": P0.copy()}
    for _ in range(2):
        opt.update(params, {"p": A * params["p"]})
    resumed = make(0.05)
    resumed.set_state(opt.get_state())
    for _ in range(STEPS - 2):
        resumed.update(params, {"p": A * params["p"]})
    np.testing.assert_array_equal(params["p"], full[-1])


def test_new_optimizers_by_name_defaults_and_config():
    assert isinstance(O.get("nadam"), O.Nadam) and isinstance(O.get("Adamax"), O.Adamax)
    n = O.Nadam()
    assert (n.lr, n.beta_1, n.beta_2, n.epsilon, n.schedule_decay) == (0.002, 0.9, 0.999, 1e-7, 0.004)
    a = O.Adamax()
    assert (a.lr, a.beta_1, a.beta_2, a.epsilon) == (0.002, 0.9, 0.999, 1e-7)
    for opt in (n, a, O.Nadam(0.01, clipnorm=2.0), O.SGD(0.1, momentum=0.5, clipvalue=0.5)):
        clone = O.get(O.serialize(opt))
        assert type(clone) is type(opt) and clone.get_config() == opt.get_config()
    assert O.SGD(clipnorm=1.0).get_config()["clipnorm"] == 1.0
    assert "clipnorm" not in O.SGD().get_config()
    with pytest.raises(ValueError, match="m_schedule"):
        O.Nadam().set_state({"iterations": 1, "m_schedule": 2.0})


def test_nadam_and_adamax_run_in_c():
    backends = cnet.ops.op_backends()
    assert backends["nadam_update"] == "c" and backends["adamax_update"] == "c"


# ---- clipping ---------------------------------------------------------------------------------------

G = {"a": np.array([3.0, 4.0]), "b": np.array([0.3, -0.4, 1.2])}     # norms 5 and 1.3, together sqrt(26.69)


def _clip_step(opt):
    params = {k: np.zeros_like(v) for k, v in G.items()}
    grads = {k: v.copy() for k, v in G.items()}
    opt.update(params, grads)
    for k in G:
        np.testing.assert_array_equal(grads[k], G[k])     # the caller's gradients are left as they are
    return {k: -p for k, p in params.items()}             # SGD(lr=1): the gradient that was used


def test_clipnorm_rescales_each_gradient_array(backend_name):
    used = _clip_step(O.SGD(1.0, clipnorm=2.0))
    np.testing.assert_allclose(used["a"], G["a"] * 2.0 / 5.0, rtol=1e-15)
    np.testing.assert_array_equal(used["b"], G["b"])      # norm 1.3 <= 2: unchanged


def test_global_clipnorm_rescales_all_together(backend_name):
    used = _clip_step(O.SGD(1.0, global_clipnorm=2.0))
    scale = 2.0 / math.sqrt(26.69)
    for k in G:
        np.testing.assert_allclose(used[k], G[k] * scale, rtol=1e-14)
    used = _clip_step(O.SGD(1.0, global_clipnorm=6.0))
    for k in G:
        np.testing.assert_array_equal(used[k], G[k])


def test_clipvalue_after_clipnorm(backend_name):
    used = _clip_step(O.SGD(1.0, clipvalue=0.5))
    np.testing.assert_array_equal(used["a"], [0.5, 0.5])
    np.testing.assert_array_equal(used["b"], [0.3, -0.4, 0.5])
    used = _clip_step(O.SGD(1.0, clipnorm=2.0, clipvalue=1.0))
    np.testing.assert_allclose(used["a"], [1.0, 1.0])      # (1.2, 1.6) then clipped to 1


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adadelta", "adam",
                                  "adamax", "nadam"])
def test_every_optimizer_clips(name):
    """The clipped update equals the update of the pre-clipped gradient."""
    cls = type(O.get(name))
    g = {"w": np.array([[3.0, -4.0], [12.0, 0.5]])}
    for kwargs, clipped in (({"clipnorm": 1.0}, g["w"] / np.linalg.norm(g["w"])),
                            ({"clipvalue": 2.0}, np.clip(g["w"], -2.0, 2.0))):
        p1, p2 = {"w": np.ones((2, 2))}, {"w": np.ones((2, 2))}
        cls(**kwargs).update(p1, g)
        cls().update(p2, {"w": clipped})
        np.testing.assert_allclose(p1["w"], p2["w"], rtol=1e-14)


def test_clipping_arguments_are_checked():
    with pytest.raises(ValueError, match="clipnorm"):
        O.Adam(clipnorm=-1.0)
    with pytest.raises(ValueError, match="not both"):
        O.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(TypeError, match="clipvalue"):
        O.RMSprop(clipvalue="big")
    with pytest.raises(TypeError):
        O.SGD(clip_norm=1.0)


# ---- K.get_value / K.set_value ---------------------------------------------------------------------

def test_get_and_set_value_on_optimizer_attributes():
    opt = O.SGD(0.1, momentum=0.9)
    lr = opt.lr
    assert K.get_value(lr) == 0.1 and isinstance(K.get_value(lr), float)
    K.set_value(opt.lr, 0.02)
    assert opt.learning_rate == 0.02 and K.get_value(lr) == 0.02     # read before the change, value now
    K.set_value(opt.learning_rate, 0.03)
    opt.momentum.assign(0.5)                                          # tf.keras's spelling
    assert (K.eval(opt.lr), K.get_value(opt.momentum)) == (0.03, 0.5)
    params = {"p": np.array([1.0])}
    opt.update(params, {"p": np.array([1.0])})
    np.testing.assert_allclose(params["p"], [1.0 - 0.03])
    assert K.get_value(opt.iterations) == 1
    K.set_value(opt.iterations, 0)
    assert opt.iterations == 0
    assert K.batch_get_value([opt.lr, opt.momentum]) == [0.03, 0.5]
    adam = O.Adam()
    K.set_value(adam.beta_1, 0.8)
    assert adam.get_config()["beta_1"] == 0.8 and type(adam.get_config()["beta_1"]) is float
    with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0"):
        K.set_value(opt.lr, -1.0)
    with pytest.raises(ValueError, match="beta_1"):
        K.set_value(adam.beta_1, 1.0)
    with pytest.raises(TypeError, match="cannot be changed in place"):
        K.set_value(0.1, 0.2)


def test_set_value_on_arrays():
    w = np.zeros((2, 3))
    K.set_value(w, np.ones((2, 3)))
    assert (w == 1).all() and K.get_value(w) is not w
    with pytest.raises(ValueError, match="shape"):
        K.set_value(w, np.ones(3))


def test_learning_rate_set_between_epochs_takes_effect():
    """fit with lr changed after the first epoch equals two fits, the second with the new lr."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)

    def model(seed=1):
        cnet.set_seed(seed)
        m = cnet.models.Sequential([cnet.layers.Dense(3, activation="softmax", input_shape=(5,))], seed=2)
        m.compile(O.SGD(0.1), "sparse_categorical_crossentropy")
        return m

    class Lower(cnet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            K.set_value(self.model.optimizer.lr, 0.01)

    a = model()
    a.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[Lower()])
    b = model()
    b.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    b.optimizer.lr = 0.01
    b.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = model()
    c.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
