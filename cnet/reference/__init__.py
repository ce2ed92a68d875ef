"""Pure NumPy reference implementations of every cnet kernel, with the same signatures.

The oracle for the C kernel tests and the baseline of the benchmarks: vectorized NumPy written for
clarity, float32 and float64 (outputs keep the input dtype). Images are channels-first
(N, C, H, W); convolution weights are (K, C, KH, KW); dense weights are (D, U).
This package imports nothing else of cnet, so it cannot share a bug with the code it checks.
"""

from .activations import (relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
                          softmax_backward, softmax_forward, tanh_backward, tanh_forward)
from .conv import col2im, conv2d_backward, conv2d_forward, im2col
from .dense import affine_backward, affine_forward
from .gemm import gemm
from .losses import mse_backward, mse_forward, softmax_xent_backward, softmax_xent_forward
from .loss_more import softmax_xent_weighted_backward, softmax_xent_weighted_forward
from .optim import (adadelta_update, adagrad_update, adam_update, momentum_update,
                    nesterov_update, rmsprop_update, sgd_update)
from .optim_more import adamax_update, nadam_update
from .pool import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward
from .regularization import (batchnorm_backward, batchnorm_forward, batchnorm_inference,
                             dropout_backward, dropout_forward, dropout_mask)
from .rng import counter_uniform

__all__ = [
    # conv.py
    "im2col", "col2im", "conv2d_forward", "conv2d_backward",
    # pool.py
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    # gemm.py
    "gemm",
    # dense.py
    "affine_forward", "affine_backward",
    # activations.py
    "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    # losses.py
    "softmax_xent_forward", "softmax_xent_backward", "mse_forward", "mse_backward",
    # loss_more.py
    "softmax_xent_weighted_forward", "softmax_xent_weighted_backward",
    # regularization.py
    "dropout_mask", "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_inference",
    # optim.py
    "sgd_update", "momentum_update", "nesterov_update", "adagrad_update",
    "rmsprop_update", "adam_update", "adadelta_update",
    # optim_more.py
    "adamax_update", "nadam_update",
    # rng.py
    "counter_uniform",
]
