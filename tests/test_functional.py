"""The functional API: Input, layers called on tensors, Model(inputs, outputs) over a DAG, merge layers,
shared layers, several inputs and outputs; Sequential runs on the same engine (files and configs:
test_functional_files.py)."""
import re

import numpy as np
import pytest

import cnet
from cnet.gradcheck import relative_error
from cnet.layers import (Activation, Add, Average, BatchNormalization, Concatenate, Conv2D, Dense, Dropout,
                         Flatten, Input, InputLayer, MaxPooling2D, Multiply)
from cnet.models import Model, Sequential
from test_models import _blobs


def _chain_layers(dtype=None):
    """Fresh layers of a convnet with everything a training step has: conv, pooling, dropout, dense, a
    softmax head (fused into the loss)."""
    return [Conv2D(4, 3, activation="relu", name="c1"), MaxPooling2D(name="p1"), Dropout(0.25, seed=1, name="d1"),
            Flatten(name="f"), Dense(16, activation="relu", name="h"), Dropout(0.5, seed=2, name="d2"),
            Dense(3, activation="softmax", name="out")]


def _functional(layers, shape, dtype=None):
    x = inputs = Input(shape=shape, dtype=dtype)
    for layer in layers:
        x = layer(x)
    return Model(inputs, x)


# ---- the same network as Sequential and as a functional model -----------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_chain_equals_sequential_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    x = rng.random((20, 1, 8, 8)).astype(dtype)
    y = rng.integers(0, 3, 20)
    cnet.set_seed(0)
    seq = Sequential([InputLayer(input_shape=(1, 8, 8))] + _chain_layers(), dtype=dtype)
    fun = _functional(_chain_layers(), (1, 8, 8), dtype=dtype)
    fun.set_weights(seq.get_weights())
    assert [type(l) for l in fun.layers[1:]] == [type(l) for l in seq.layers] and fun.dtype == seq.dtype
    np.testing.assert_array_equal(fun.predict(x), seq.predict(x))
    for model in (seq, fun):
        model.compile(cnet.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", ["accuracy"])
    assert seq._fused() and fun._fused()
    assert fun.loss(x, y) == seq.loss(x, y)
    for a, b in zip(fun.gradient(x, y).values(), seq.gradient(x, y).values()):
        np.testing.assert_array_equal(a, b)
    hs = seq.fit(x, y, batch_size=8, epochs=3, verbose=0, seed=4)
    hf = fun.fit(x, y, batch_size=8, epochs=3, verbose=0, seed=4)
    assert hs.history == hf.history
    for a, b in zip(fun.get_weights(), seq.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fun.train_on_batch(x, y) == seq.train_on_batch(x, y)
    assert fun.evaluate(x, y, verbose=0) == seq.evaluate(x, y, verbose=0)


def test_sequential_is_a_model_over_its_chain():
    seq = Sequential([Dense(5, activation="relu", input_shape=(4,), name="a"), Dense(2, name="b")])
    assert isinstance(seq, Model) and seq.layers == [seq.get_layer("a"), seq.get_layer("b")]
    assert seq.input.shape == (None, 4) and seq.output is seq.layers[-1].output
    assert seq.layers[0].input is seq.input and seq.input_names == ["a_input"]
    seq.add(Dense(3, name="c"))                  # the chain is made again: b has one call, not two
    assert seq.output.layer.name == "c" and seq.layers[1].output.shape == (None, 2)
    seq.pop()
    assert seq.output is seq.get_layer("b").output and len(seq.get_layer("b")._inbound_nodes) == 1
    lazy = Sequential([Dense(3, name="lazy_a")])
    with pytest.raises(AttributeError, match="not built yet"):
        lazy.input
    lazy.predict(np.zeros((2, 7)))
    assert lazy.input.shape == (None, 7) and lazy.layers[0].input_shape == (7,)


# ---- a DAG of merges, a branch and a skip connection --------------------------------------------

def _dag(d=5, classes=3, dtype="float64"):
    """Two inputs; branches merged by each merge layer; a skip connection; two outputs."""
    a_in, b_in = Input(shape=(d,), name="a_in", dtype=dtype), Input(shape=(d,), name="b_in", dtype=dtype)
    a = Dense(4, activation="tanh", name="a")(a_in)
    b = Dense(4, activation="sigmoid", name="b")(b_in)
    c = Dense(4, activation="tanh", name="c")(a)                     # a -> c, and a skips to the merges
    merged = [Add(name="add")([a, c]), Multiply(name="mul")([a, b, c]), Average(name="avg")([b, c]),
              Concatenate(name="cat")([a, b])]
    h = Concatenate(name="all")(merged)
    out = Dense(classes, activation="softmax", name="out")(h)
    reg = Dense(2, name="reg")(Add(name="skip")([Dense(4, name="proj")(a_in), c]))
    return Model([a_in, b_in], [out, reg], name="dag")


def _dag_data(n=6, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, d)), rng.normal(size=(n, d))], [rng.integers(0, 3, n), rng.normal(size=(n, 2))]


def test_dag_float64_gradient_check_with_every_merge_layer():
    cnet.set_seed(2)
    model = _dag()
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.7])
    x, y = _dag_data()
    errors = cnet.gradcheck(model, x, y)
    assert set(errors) == set(model.params) and max(errors.values()) < 1e-7, errors
    # the input gradients too: d loss / d x by central differences
    model.loss(x, y)
    dx = model.backward(model._heads.loss_backward())
    for xi, gi in zip(x, dx):
        num = np.zeros_like(xi)
        for idx in np.ndindex(*xi.shape):
            old = xi[idx]
            xi[idx] = old + 1e-6
            up = model.loss(x, y)
            xi[idx] = old - 1e-6
            num[idx] = (up - model.loss(x, y)) / 2e-6
            xi[idx] = old
        assert relative_error(gi, num) < 1e-7


def test_merge_layers_forward_and_backward():
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(4, 2, 3)) for _ in range(3)]
    dy = rng.normal(size=(4, 2, 3))
    cases = [(Add(), sum(xs), [dy] * 3), (Average(), sum(xs) / 3, [dy / 3] * 3),
             (Multiply(), xs[0] * xs[1] * xs[2], [dy * xs[1] * xs[2], dy * xs[0] * xs[2], dy * xs[0] * xs[1]])]
    for layer, y, dxs in cases:
        np.testing.assert_allclose(layer.forward(xs), y, rtol=1e-12)
        got = layer.backward(dy)
        assert len({id(g) for g in got}) == 3           # one array each: a caller may overwrite one
        for g, e in zip(got, dxs):
            np.testing.assert_allclose(g, e, rtol=1e-12)
    cat = Concatenate(axis=1)
    ys = cat.forward(xs)
    assert ys.shape == (4, 6, 3) and cat.output_shape == (6, 3)
    for g, x in zip(cat.backward(ys), xs):
        np.testing.assert_array_equal(g, x)
    assert Concatenate(axis=-1).compute_output_shape([(2, 3), (2, 5)]) == (2, 8)
    assert Concatenate().forward([np.ones((1, 2), np.float32), np.ones((1, 1))]).dtype == np.float32


def test_merge_layers_refuse_what_they_cannot_do():
    a, b = Input(shape=(3,)), Input(shape=(4,))
    with pytest.raises(ValueError, match="one shape.*broadcasting is not supported"):
        Add()([a, b])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        Add()([a])
    with pytest.raises(ValueError, match="axis 0 is the batch axis"):
        Concatenate(axis=0)([a, b])
    with pytest.raises(ValueError, match="other axes agree"):
        Concatenate(axis=1)([Input(shape=(2, 3)), Input(shape=(2, 4))])
    with pytest.raises(ValueError, match="input_shape is not supported"):
        Add(input_shape=(3,))
    with pytest.raises(TypeError, match="takes one input tensor.*merge them"):
        Dense(2)([a, b])


def test_functional_forms_of_the_merge_layers():
    from cnet.layers import add, average, concatenate, multiply
    a, b = Input(shape=(3,)), Input(shape=(3,))
    for fn, cls in ((add, Add), (average, Average), (multiply, Multiply), (concatenate, Concatenate)):
        t = fn([a, b], name=f"f_{cls.__name__.lower()}")
        assert type(t.layer) is cls and t.layer.name == f"f_{cls.__name__.lower()}"
    assert concatenate([a, b], axis=1).shape == (None, 6)


# ---- shared layers --------------------------------------------------------------------------------

def test_a_shared_layer_sums_its_gradients_over_its_calls():
    cnet.set_seed(4)
    left, right = Input(shape=(6,), name="left", dtype="float64"), Input(shape=(6,), name="right", dtype="float64")
    shared = Dense(5, activation="tanh", name="shared")
    drop = Dropout(0.3, seed=9, name="shared_drop")
    h = Concatenate(name="cat")([drop(shared(left)), drop(shared(right))])
    model = Model([left, right], Dense(2, activation="softmax", name="head")(h))
    assert model.layers.count(shared) == 1 and len(shared._inbound_nodes) == 2
    with pytest.raises(AttributeError, match="shared layer.*get_output_at"):
        shared.output
    assert shared.get_output_at(1).shape == (None, 5) and shared.get_input_at(1) is right
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = [rng.normal(size=(5, 6)), rng.normal(size=(5, 6))], rng.integers(0, 2, 5)
    errors = cnet.gradcheck(model, x, y)
    assert max(errors.values()) < 1e-7, errors
    # after_layer sees each layer once, when its gradients are complete (the shared one: both calls summed)
    seen = {}
    model.loss(x, y)
    model.backward(model._heads.loss_backward()[0], after_layer=lambda layer: seen.setdefault(
        layer.name, {k: g.copy() for k, g in layer.grads.items()}))
    assert list(seen) == ["head", "cat", "shared_drop", "shared"]
    for name, grads in seen.items():
        for key, g in grads.items():
            np.testing.assert_array_equal(g, model.get_layer(name).grads[key])
    # the two calls draw different dropout masks from the one stream, which the training state keeps
    out = model.forward(x, train=True)
    step = drop.step
    model.forward(x, train=True)
    assert drop.step == step + 2 and np.isfinite(out).all()
    # training through workspaces gives the book's step (no workspaces)
    twin = cnet.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.get_layer("shared_drop").step = drop.step
    twin.compile(cnet.optimizers.SGD(learning_rate=0.1), "sparse_categorical_crossentropy")
    model.compile(cnet.optimizers.SGD(learning_rate=0.1), "sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    twin.optimizer.update(twin.trainable_params, twin.gradient(x, y))
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- several inputs and outputs -------------------------------------------------------------------

def _two_heads(seed=0):
    cnet.set_seed(seed)
    image, extra = Input(shape=(1, 6, 6), name="image"), Input(shape=(3,), name="extra")
    h = Flatten()(MaxPooling2D()(Conv2D(2, 3, activation="relu")(image)))
    h = Concatenate()([h, Dense(4, activation="relu")(extra)])
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    return Model(inputs=[image, extra], outputs=[cls, reg])


def _two_heads_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    x = [rng.random((n, 1, 6, 6)).astype(np.float32), rng.random((n, 3)).astype(np.float32)]
    labels = (x[0].mean(axis=(1, 2, 3)) * 6).astype(int) % 3
    return x, [labels, x[1].sum(axis=1, keepdims=True)]


def test_several_inputs_and_outputs_fit_evaluate_predict_with_lists_and_dicts():
    model = _two_heads()
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert model.input_names == ["image", "extra"] and model.output_names == ["cls", "reg"]
    x, y = _two_heads_data()
    h = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_split=0.25)
    assert list(h.history) == model.metrics_names + ["val_" + n for n in model.metrics_names]
    xd, yd = dict(zip(model.input_names, x)), dict(zip(model.output_names, y))
    r = model.evaluate(x, y, verbose=0)
    assert r == model.evaluate(xd, yd, verbose=0) and len(r) == 5
    assert r[0] == pytest.approx(r[1] + 0.5 * r[2], rel=1e-6)            # the weighted sum
    assert model.evaluate(xd, yd, verbose=0, return_dict=True)["reg_mae"] == r[4]
    p = model.predict(x, batch_size=7)
    assert [a.shape for a in p] == [(40, 3), (40, 1)]
    for a, b in zip(p, model.predict(xd, batch_size=40)):
        np.testing.assert_array_equal(a, b)
    assert r[2] == pytest.approx(np.mean((p[1] - y[1]) ** 2), rel=1e-5)
    assert len(model.train_on_batch(xd, y)) == 5 and len(model.test_on_batch(x, yd)) == 5
    h = model.fit(xd, yd, epochs=1, verbose=0, validation_data=(xd, yd))
    assert h.history["val_reg_mae"][0] == pytest.approx(model.evaluate(x, y, verbose=0)[4])


def test_compile_per_output_forms():
    model = _two_heads()
    model.compile("sgd", "mse", metrics=["mae"])           # one loss, one metric list for every output
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_mae", "reg_mae"]
    assert not model._fused()                             # mse takes probabilities
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics=[["acc"], []])
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_acc"]
    assert [h.fused for h in model._heads.heads] == [True, False]
    loss = cnet.losses.MeanSquaredError()
    model.compile("sgd", loss)                            # one object for both: each output gets its own
    assert model.loss_functions[0] is not model.loss_functions[1]
    with pytest.raises(ValueError, match=r"no entry for the outputs \['reg'\]"):
        model.compile("sgd", {"cls": "mse"})
    with pytest.raises(ValueError, match=r"names \['nope'\], which are not outputs"):
        model.compile("sgd", "mse", metrics={"nope": ["mae"]})
    with pytest.raises(ValueError, match="list of 3 for the model's 2 outputs"):
        model.compile("sgd", ["mse", "mse", "mse"])
    with pytest.raises(ValueError, match="loss weight of output 'reg'"):
        model.compile("sgd", "mse", loss_weights=[1.0, -2])
    with pytest.raises(NotImplementedError, match="sample_weight_mode is not supported"):
        model.compile("sgd", "mse", sample_weight_mode="temporal")
    with pytest.raises(TypeError, match="unexpected arguments: nonsense"):
        model.compile("sgd", "mse", nonsense=1)


def test_inputs_and_targets_must_match_the_model():
    model = _two_heads()
    model.compile("sgd", "mse")
    x, y = _two_heads_data(8)
    with pytest.raises(ValueError, match=r"x: the model has 2 \(\['image', 'extra'\]\) but got a list of 3"):
        model.predict(x + x[:1])
    with pytest.raises(ValueError, match=r"unknown: \['imag'\]; missing: \['image'\]"):
        model.predict({"imag": x[0], "extra": x[1]})
    with pytest.raises(ValueError, match="same number of samples"):
        model.predict([x[0], x[1][:5]])
    with pytest.raises(ValueError, match="give a list or a dict by name"):
        model.fit(x, y[0], verbose=0)
    with pytest.raises(ValueError, match="x and y must hold the same number of samples"):
        model.fit(x, [y[0][:4], y[1][:4]], verbose=0)


# ---- intermediate outputs, layers, names ----------------------------------------------------------

def test_intermediate_outputs_share_the_trained_weights():
    x, y = _blobs(96, 12)
    cnet.set_seed(0)
    seq = Sequential([Dense(8, activation="relu", input_shape=(12,), name="hidden"),
                      Dense(3, activation="softmax", name="probs")])
    seq.compile("adam", "sparse_categorical_crossentropy")
    seq.fit(x, y, epochs=2, verbose=0)
    probe = Model(seq.input, seq.get_layer("hidden").output)
    w, b = seq.get_layer("hidden").get_weights()
    np.testing.assert_allclose(probe.predict(x), np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
    seq.fit(x, y, epochs=1, verbose=0)                        # training moves the probe's weights too
    w, b = seq.get_layer("hidden").get_weights()
    np.testing.assert_allclose(probe.predict(x), np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
    model = _two_heads()
    sub = Model(model.input, [model.get_layer(index=1).output, model.get_layer("cls").output])
    assert sub.layers[:2] == model.layers[:2] and sub.get_layer("cls") is model.get_layer("cls")


def test_layer_and_model_attributes():
    inp = Input(shape=(4,), name="x")
    assert repr(inp) == "<KerasTensor shape=(None, 4) dtype=float32 (created by layer 'x')>"
    dense = Dense(3, name="d")
    out = dense(inp)
    assert dense.input is inp and dense.output is out and out.layer is dense and out.shape == (None, 3)
    assert dense.input_shape == (4,) and dense.output_shape == (3,)
    model = Model(inp, out, name="m")
    assert model.layers == [inp.layer, dense] and isinstance(model.layers[0], InputLayer)
    assert model.input is inp and model.output is out and model.input_shape == (4,) and model.output_shape == (3,)
    assert model.get_layer(index=-1) is dense and model.get_layer("d") is dense
    with pytest.raises(ValueError, match="no layer at index 5: the model has 2 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="no layer named 'e'"):
        model.get_layer("e")
    with pytest.raises(AttributeError, match="never been called"):
        Dense(2).output
    np.testing.assert_array_equal(dense(np.ones((2, 4), np.float32)), model.predict(np.ones((2, 4))))
    assert model(np.ones((2, 4))).shape == (2, 3)             # a model called on arrays predicts


def test_summary_connected_to_column():
    a, b = Input(shape=(3,), name="a"), Input(shape=(3,), name="b")
    d = Dense(2, name="d")
    out = Concatenate(name="cat")([d(a), d(b)])
    lines = []
    Model([a, b], out, name="siamese").summary(print_fn=lines.append)
    assert lines == [
        'Model: "siamese"', "_" * 98,
        "Layer (type)                    Output Shape         Param #     Connected to", "=" * 98,
        "a (InputLayer)                  (None, 3)            0", "_" * 98,
        "b (InputLayer)                  (None, 3)            0", "_" * 98,
        "d (Dense)                       (None, 2)            8           a[0][0]",
        "                                                                 b[0][0]", "_" * 98,
        "cat (Concatenate)               (None, 4)            0           d[0][0]",
        "                                                                 d[1][0]", "=" * 98,
        "Total params: 8", "Trainable params: 8", "Non-trainable params: 0", "_" * 98]
    lines = []
    Model([a, b], out).summary(line_length=60, positions=[20, 35, 45, 60], print_fn=lines.append)
    assert lines[2] == "Layer (type)        Output Shape   Param #   Connected to" and len(lines[1]) == 60
    with pytest.raises(ValueError, match="positions must give the right end of each of the 4 columns"):
        Model([a, b], out).summary(positions=[0.5, 1.0])


# ---- what is refused ------------------------------------------------------------------------------

def test_unsupported_uses_are_refused_with_what_to_do():
    inp = Input(shape=(3,))
    out = Dense(2)(inp)
    with pytest.raises(TypeError, match="subclassing Model with a call\\(\\) method is not supported"):
        Model()
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Model(inp, out, trainable=False)
    with pytest.raises(ValueError, match="must be tensors made by cnet.layers.Input"):
        Model(out, out)
    with pytest.raises(ValueError, match="disconnected.*'other'"):
        Model(inp, Add()([out, Dense(2)(Input(shape=(3,), name="other"))]))
    with pytest.raises(ValueError, match="unique names; 'twice'"):
        Model(inp, Dense(2, name="twice")(Dense(2, name="twice")(inp)))
    with pytest.raises(TypeError, match="arithmetic.*Add\\(\\)"):
        out + out
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(out)
    with pytest.raises(ValueError, match="training=True on a symbolic tensor is not supported"):
        Dropout(0.5)(inp, training=True)
    with pytest.raises(TypeError, match="mask"):
        Dense(2)(inp, mask=None)
    model = Model(inp, out)
    with pytest.raises(NotImplementedError, match="a model used as a layer"):
        model(inp)
    with pytest.raises(TypeError, match="model used as a layer is not supported"):
        Sequential().add(model)
    for kwargs, match in (({"shape": (3,), "sparse": True}, "sparse"), ({"batch_shape": (32, 3)}, "fixed batch"),
                          ({"shape": (3,), "batch_size": 8}, "fixed batch"), ({}, "needs shape"),
                          ({"shape": (3,), "dtype": "int32"}, "float32 or float64"),
                          ({"shape": (3,), "tensor": 1}, "tensor"), ({"shape": (None, 3)}, "unknown size")):
        with pytest.raises(ValueError, match=match):
            Input(**kwargs)
    assert Input(batch_shape=(None, 5)).shape == (None, 5) and Input(shape=7).shape == (None, 7)
    with pytest.raises(NotImplementedError, match="input_tensors and clone_function are not supported"):
        cnet.models.clone_model(model, input_tensors=[inp])


def test_dtype_follows_the_input():
    inp = Input(shape=(3,), dtype="float64")
    model = Model(inp, Dense(2, activation="softmax")(BatchNormalization()(inp)))
    assert model.dtype == np.float64 and all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(np.ones((2, 3), np.uint8)).dtype == np.float64
    cnet.backend.set_floatx("float64")
    try:
        assert Input(shape=(2,)).dtype == np.float64
    finally:
        cnet.backend.set_floatx("float32")


def test_training_step_of_a_dag_uses_workspaces_without_changing_results():
    """Fan-out, merges and in-place ReLU backward inside a training step give the gradients of a step
    without workspaces, step after step."""
    def build():
        cnet.set_seed(8)
        inp = Input(shape=(6,))
        a = Dense(8, activation="relu")(inp)
        b = Dense(8, activation="relu")(a)
        c = Activation("relu")(Add()([a, b]))
        d = Multiply()([Dense(8, activation="relu")(c), a])
        e = Concatenate()([Average()([c, d]), b, Dropout(0.2, seed=3)(a)])
        model = Model(inp, Dense(3, activation="softmax")(e))
        model.compile(cnet.optimizers.SGD(learning_rate=0.05), "sparse_categorical_crossentropy")
        return model
    x, y = _blobs(16, 6)
    a, b = build(), build()
    for _ in range(3):
        a.train_on_batch(x, y)
        b.optimizer.update(b.trainable_params, b.gradient(x, y))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert all(not layer._workspace for layer in a.layers)


def test_keras_functional_program_runs_unchanged(capsys):
    import cnet as keras
    from cnet.layers import Input, Dense, Dropout, concatenate
    from cnet.models import Model
    x_train, y_train = _blobs(240, 12, seed=5)
    y_train = keras.utils.to_categorical(y_train, 3)
    main_input = Input(shape=(12,), name='main_input')
    aux_input = Input(shape=(4,), name='aux_input')
    x = Dense(32, activation='relu')(main_input)
    aux_output = Dense(3, activation='softmax', name='aux_output')(x)
    x = concatenate([x, aux_input])
    x = Dense(16, activation='relu')(x)
    x = Dropout(0.2)(x)
    main_output = Dense(3, activation='softmax', name='main_output')(x)
    model = Model(inputs=[main_input, aux_input], outputs=[main_output, aux_output])
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', loss_weights=[1., 0.2],
                  metrics=['accuracy'])
    model.summary()
    aux = np.zeros((240, 4), np.float32)
    history = model.fit([x_train, aux], [y_train, y_train], epochs=8, batch_size=32, verbose=2)
    out = capsys.readouterr().out
    assert re.search(r"main_input \(InputLayer\) +\(None, 12\) +0", out)
    assert re.search(r"concatenate\S* \(Concatenate\) +\(None, 36\) +0 +dense\S*\[0\]\[0\]\n +aux_input\[0\]\[0\]",
                     out)
    assert "main_output_loss" in out and history.history["main_output_accuracy"][-1] > 0.8
