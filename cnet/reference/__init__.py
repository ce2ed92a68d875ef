"""Pure NumPy reference implementations of every cnet kernel.

Each takes the arguments of its op in cnet.ops, without the workspace arguments (out=, relu=, need_dx=):
where cnet.ops registers a reference function it adapts it to the C implementation's signature.

The oracle for the C kernel tests and the baseline of the benchmarks: vectorized NumPy written for
clarity, float32 and float64 (outputs keep the input dtype). Images are channels-first
(N, C, H, W); convolution weights are (K, C, KH, KW); dense weights are (D, U).
This package imports nothing else of cnet, so it cannot share a bug with the code it checks.
"""

from .gemm import affine_backward, affine_forward, gemm
from .conv import (col2im, conv2d_backward, conv2d_blk_backward_data, conv2d_blk_backward_weights,
                   conv2d_blk_forward, conv2d_forward, from_blocked, im2col, to_blocked)
from .pool import (avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_blk_backward,
                   maxpool2d_blk_forward, maxpool2d_forward)
from .activation import (relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
                         softmax_backward, softmax_forward, tanh_backward, tanh_forward,
                         elu_backward, elu_forward, leaky_relu_backward, leaky_relu_forward,
                         softplus_backward, softplus_forward, softsign_backward, softsign_forward,
                         hard_sigmoid_backward, hard_sigmoid_forward, swish_backward, swish_forward,
                         gelu_backward, gelu_forward, prelu_backward, prelu_forward)
from .loss import (mse_backward, mse_forward, softmax_xent_backward, softmax_xent_forward,
                   softmax_xent_weighted_backward, softmax_xent_weighted_forward)
from .regularization import (batchnorm_backward, batchnorm_forward, batchnorm_inference,
                             dropout_backward, dropout_backward_keep, dropout_forward, dropout_forward_keep,
                             dropout_mask)
from .optim import (adadelta_update, adagrad_update, adam_update, adamax_update, momentum_update,
                    nadam_update, nesterov_update, rmsprop_update, sgd_update)
from .rng import counter_uniform
from .cast import cast_from_float32, cast_to_float32

# One module per op family, the same stem as the family's C files, binding, ops module and kernel tests.
__all__ = [
    # gemm.py
    "gemm", "affine_forward", "affine_backward",
    # conv.py
    "im2col", "col2im", "conv2d_forward", "conv2d_backward",
    "to_blocked", "from_blocked", "conv2d_blk_forward", "conv2d_blk_backward_data",
    "conv2d_blk_backward_weights",
    # pool.py
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    "maxpool2d_blk_forward", "maxpool2d_blk_backward",
    # activation.py
    "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "elu_forward", "elu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "softplus_forward", "softplus_backward", "softsign_forward", "softsign_backward",
    "hard_sigmoid_forward", "hard_sigmoid_backward", "swish_forward", "swish_backward",
    "gelu_forward", "gelu_backward", "prelu_forward", "prelu_backward",
    # loss.py
    "softmax_xent_forward", "softmax_xent_backward", "mse_forward", "mse_backward",
    "softmax_xent_weighted_forward", "softmax_xent_weighted_backward",
    # regularization.py
    "dropout_mask", "dropout_forward", "dropout_backward", "dropout_forward_keep", "dropout_backward_keep",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_inference",
    # optim.py
    "sgd_update", "momentum_update", "nesterov_update", "adagrad_update",
    "rmsprop_update", "adam_update", "adadelta_update", "adamax_update", "nadam_update",
    # rng.py: the random stream of dropout
    "counter_uniform",
    # cast.py: 16-bit weight storage
    "cast_to_float32", "cast_from_float32",
]
