"""Keras HDF5 files (cnet[h5]) of models with issue 15's item-4 layers: written as Keras 2 writes them (class
names, configs, kernels in Keras's layouts) and read back, in either data format."""
import json

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet import regularizers
from cnet.models import Sequential, load_model

h5py = pytest.importorskip("h5py")


def _model(df):
    cnet.set_seed(0)
    shape = (1, 10, 10) if df == "channels_first" else (10, 10, 1)
    return Sequential([
        L.ZeroPadding2D(1, data_format=df, input_shape=shape),
        L.Conv2D(4, 3, dilation_rate=2, activation="elu", data_format=df, kernel_regularizer=regularizers.l2(1e-3)),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", data_format=df),
        L.LeakyReLU(0.1), L.SeparableConv2D(3, 3, padding="same", data_format=df, depth_multiplier=2),
        L.ReLU(max_value=6.0), L.UpSampling2D(2, data_format=df), L.Cropping2D(((1, 1), (2, 0)), data_format=df),
        L.Conv2DTranspose(2, 3, strides=2, padding="same", data_format=df), L.SpatialDropout2D(0.1, data_format=df),
        L.GaussianNoise(0.1), L.GlobalMaxPooling2D(data_format=df), L.Dense(6, activation="selu"), L.PReLU(),
        L.ELU(), L.GaussianDropout(0.1), L.Dense(3, activation="softmax")])


def _x(df):
    x = np.random.default_rng(1).standard_normal((5, 1, 10, 10)).astype(np.float32)
    return x if df == "channels_first" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
def test_save_and_load_keras_file(tmp_path, df):
    model = _model(df)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(_x(df), np.arange(5) % 3, epochs=1, verbose=0)
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        names = [spec["class_name"] for spec in config["config"]["layers"]]
        g = f["model_weights"]
        dw_name = model.layers[2].name
        dk = g[dw_name][f"{dw_name}/depthwise_kernel:0"][()]
        sep = model.layers[4].name
        pk = g[sep][f"{sep}/pointwise_kernel:0"][()]
        tr = model.layers[8].name
        tk = g[tr][f"{tr}/kernel:0"][()]
    assert names == ["ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "LeakyReLU", "SeparableConv2D", "ReLU",
                     "UpSampling2D", "Cropping2D", "Conv2DTranspose", "SpatialDropout2D", "GaussianNoise",
                     "GlobalMaxPooling2D", "Dense", "PReLU", "ELU", "GaussianDropout", "Dense"]
    cnet_dk = model.layers[2].params["depthwise_kernel"]                 # (C * M, 1, kh, kw), M = 2
    assert dk.shape == (3, 3, 4, 2)
    np.testing.assert_array_equal(dk[:, :, 3, 1], cnet_dk[3 * 2 + 1, 0])
    np.testing.assert_array_equal(pk[0, 0], model.layers[4].params["pointwise_kernel"][:, :, 0, 0].T)
    np.testing.assert_array_equal(tk.transpose(3, 2, 0, 1), model.layers[8].params["W"])   # (kh, kw, F, C)
    layers = config["config"]["layers"]
    assert layers[1]["config"]["dilation_rate"] == [2, 2]
    assert layers[1]["config"]["kernel_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.001}}
    assert layers[5]["config"]["max_value"] == 6.0 and layers[3]["config"]["alpha"] == 0.1
    back = load_model(path)                                   # Keras's default: channels-last
    x = _x("channels_last")
    x_model = _x(df)
    np.testing.assert_allclose(back.predict(x), model.predict(x_model), rtol=1e-5, atol=1e-6)
    twin = _model("channels_last" if df == "channels_first" else "channels_first")
    twin.load_weights(path)
    np.testing.assert_allclose(twin.predict(_x(twin.layers[0].data_format)), model.predict(x_model),
                               rtol=1e-5, atol=1e-6)


def test_prelu_on_channels_first_images_is_refused(tmp_path):
    m = Sequential([L.Conv2D(2, 3, input_shape=(1, 8, 8), data_format="channels_first"), L.PReLU(),
                    L.Flatten(), L.Dense(2)])
    with pytest.raises(NotImplementedError, match="PReLU on channels-first images"):
        m.save(tmp_path / "p.h5")
