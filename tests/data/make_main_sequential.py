"""Writes main_sequential.cnet.npz beside this script with cnet as it was before functional models (run
with main at 4e156f8), and the inputs, predictions and a resumed epoch to check the file against."""
import os

import numpy as np
import cnet
from cnet.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential

HERE = os.path.dirname(os.path.abspath(__file__))

cnet.set_seed(5)
model = Sequential([Conv2D(3, 3, activation="relu", input_shape=(1, 6, 6), name="conv"), MaxPooling2D(name="pool"),
                    BatchNormalization(name="bn"), Flatten(name="flat"), Dropout(0.3, seed=4, name="drop"),
                    Dense(4, activation="softmax", name="head")], name="main_file")
model.compile(cnet.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", ["accuracy"])
rng = np.random.default_rng(0)
x = rng.random((12, 1, 6, 6)).astype(np.float32)
y = rng.integers(0, 4, 12)
model.fit(x, y, batch_size=4, epochs=2, verbose=0, seed=3)
model.save(HERE + "/main_sequential.cnet.npz")
probs = model.predict(x)
h = model.fit(x, y, batch_size=4, epochs=3, initial_epoch=2, verbose=0)
np.savez(HERE + "/main_sequential_expected.npz", x=x, y=y, probs=probs,
         weights_after_epoch_3=np.concatenate([w.ravel() for w in model.get_weights()]),
         loss_epoch_3=np.array(h.history["loss"]))
print("ok", cnet.__file__)
