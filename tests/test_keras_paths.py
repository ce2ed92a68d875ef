"""Where Keras 2 programs come from: Keras 2.1's import paths under `import cnet as keras`, Keras 2's aliases,
Keras 1's argument names, and a Keras MNIST convnet written for TensorFlow's channels-last default that runs
with only its imports changed."""
import importlib
import os
import warnings

import numpy as np
import pytest

import cnet
from cnet import backend as K
from cnet import layers as L

PATHS = {
    "cnet.models": ["Sequential", "load_model", "save_model"],
    "cnet.layers": ["Dense", "Conv2D", "Convolution2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
                    "Flatten", "Dropout", "Activation", "Reshape", "BatchNormalization", "InputLayer", "ReLU",
                    "Softmax"],
    "cnet.layers.core": ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "InputLayer"],
    "cnet.layers.convolutional": ["Conv2D", "Convolution2D", "MaxPooling2D", "AveragePooling2D", "MaxPool2D",
                                  "AvgPool2D"],
    "cnet.layers.pooling": ["MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D"],
    "cnet.layers.normalization": ["BatchNormalization"],
    "cnet.layers.advanced_activations": ["ReLU", "Softmax"],
    "cnet.utils": ["to_categorical", "normalize", "np_utils"],
    "cnet.utils.np_utils": ["to_categorical", "normalize"],
    "cnet.optimizers": ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam"],
    "cnet.callbacks": ["Callback", "History", "EarlyStopping", "ModelCheckpoint"],
    "cnet.losses": ["categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
    "cnet.datasets": ["mnist", "fashion_mnist"],
    "cnet.datasets.mnist": ["load_data"],
    "cnet.datasets.fashion_mnist": ["load_data"],
    "cnet.backend": ["image_data_format", "set_image_data_format", "image_dim_ordering", "floatx", "epsilon",
                     "clear_session", "backend"],
}


@pytest.fixture(autouse=True)
def _unset_image_data_format(monkeypatch):
    monkeypatch.setitem(K._settings, "image_data_format", None)


@pytest.mark.parametrize("module", sorted(PATHS))
def test_keras_21_import_paths(module):
    mod = importlib.import_module(module)
    missing = [name for name in PATHS[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lacks {missing}"


def test_paths_as_attributes_of_the_package():
    keras = cnet
    assert keras.layers.core.Dense is keras.layers.Dense
    assert keras.layers.convolutional.MaxPooling2D is keras.layers.pooling.MaxPooling2D
    assert keras.utils.np_utils.to_categorical is keras.utils.to_categorical
    assert keras.datasets.mnist.load_data and keras.backend.image_data_format() == "channels_first"
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0.0, 0.0]])


def test_aliases_are_the_same_classes():
    assert L.Convolution2D is L.Conv2D and L.MaxPool2D is L.MaxPooling2D and L.AvgPool2D is L.AveragePooling2D
    assert L.get("Convolution2D") is L.Conv2D and L.get("MaxPool2D") is L.MaxPooling2D
    assert L.serialize(L.MaxPool2D())["class_name"] == "MaxPooling2D"       # Keras's names in files


def _config(layer):
    config = layer.get_config()
    config.pop("name")
    return config


def test_keras1_arguments():
    with pytest.warns(UserWarning, match=r"Keras 1 argument names .*nb_filter -> filters.*Keras 2 API"):
        old = L.Convolution2D(nb_filter=8, nb_row=3, nb_col=2, border_mode="same", subsample=(2, 2),
                              dim_ordering="tf", init="he_normal", bias=False, W_regularizer=None)
    assert _config(old) == _config(L.Conv2D(8, (3, 2), strides=2, padding="same", data_format="channels_last",
                                            kernel_initializer="he_normal", use_bias=False))
    with pytest.warns(UserWarning):
        assert L.Convolution2D(4, nb_row=3, nb_col=3, dim_ordering="th").data_format == "channels_first"
    with pytest.warns(UserWarning):
        pool = L.MaxPooling2D((2, 2), border_mode="same", dim_ordering="th")
    assert (pool.padding, pool.data_format) == ("same", "channels_first")
    with pytest.warns(UserWarning):
        assert _config(L.Dense(output_dim=5, init="zero", bias=False)) == _config(
            L.Dense(5, kernel_initializer="zero", use_bias=False))
    with pytest.warns(UserWarning):
        assert L.Dropout(p=0.3).rate == 0.3
    with pytest.raises(TypeError, match=r"ambiguous.*kernel_size=\(3, 3\) or strides=3"):
        L.Conv2D(32, 3, 3)
    conv = L.Conv2D(8, (3, 3), (2, 2), "same")         # Keras 2's positional order
    assert (conv.strides, conv.padding) == ((2, 2), "same")
    with pytest.raises(TypeError, match="both by position and by keyword"):
        L.Conv2D(8, (3, 3), 2, strides=2)
    with pytest.raises(TypeError, match="nb_row and nb_col go together"):
        L.Conv2D(8, nb_row=3)
    with pytest.raises(TypeError, match="both Keras 1's output_dim and Keras 2's units"):
        L.Dense(5, output_dim=5)
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.Conv2D(8, 3, W_constraint="max_norm")
    with pytest.warns(UserWarning, match="W_regularizer -> kernel_regularizer"):
        assert L.Conv2D(8, 3, W_regularizer="l2").kernel_regularizer.l2 == 0.01
    with pytest.raises(ValueError, match="dim_ordering must be 'th', 'tf' or 'default'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.Conv2D(8, 3, dim_ordering="nchw")


# A Keras 2.1-era MNIST convnet written for TensorFlow's default (channels-last, input_shape=(28, 28, 1)), as
# keras/examples/mnist_cnn.py without its image_data_format branch; only `keras` became `cnet` in the imports,
# and the test keeps a few hundred images (the marked line).
PROGRAM = '''
from __future__ import print_function
import cnet as keras
from cnet.datasets import mnist
from cnet.models import Sequential
from cnet.layers.core import Dense, Dropout, Flatten
from cnet.layers.convolutional import Conv2D, MaxPooling2D
from cnet import backend as K

batch_size = 128
num_classes = 10
epochs = 1
img_rows, img_cols = 28, 28

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, y_train, x_test, y_test = x_train[:384], y_train[:384], x_test[:128], y_test[:128]  # TEST ONLY

x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
input_shape = (img_rows, img_cols, 1)

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print('x_train shape:', x_train.shape)

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3), activation='relu', input_shape=input_shape))
model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss=keras.losses.categorical_crossentropy,
              optimizer=keras.optimizers.Adadelta(),
              metrics=['accuracy'])

model.fit(x_train, y_train,
          batch_size=batch_size,
          epochs=epochs,
          verbose=1,
          validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
'''


@pytest.mark.skipif(not os.environ.get("CNET_DATA"), reason="needs MNIST (CNET_DATA)")
def test_tensorflow_default_mnist_cnn_runs_with_its_imports_changed(tmp_path, capsys):
    path = tmp_path / "mnist_cnn.py"
    path.write_text(PROGRAM)
    cnet.set_seed(0)
    namespace = {"__name__": "__main__"}
    exec(compile(PROGRAM, str(path), "exec"), namespace)
    out = capsys.readouterr().out
    assert "x_train shape: (384, 28, 28, 1)" in out and "Test loss:" in out
    model = namespace["model"]
    assert [getattr(layer, "data_format", None) for layer in model.layers[:3]] == ["channels_last"] * 3
    assert model.layers[1].output_shape == (24, 24, 64) and model.layers[4].output_shape == (9216,)
    loss, accuracy = namespace["score"]
    assert np.isfinite(loss) and accuracy > 0.3      # a few hundred images, one epoch: well above chance
