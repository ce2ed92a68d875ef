"""Activations that stay in the channel-blocked layout from one layer of a model to the next (issue 13).

On by default; cnet.ops.conv.set_blocked_activations(False), or CNET_BLOCKED=0 in the environment, turns
it off. When on, a model's executor (cnet._graph) lets a layer hand its output on blocked -- (N, Cb, H, W, cb),
see cnet.ops.conv -- when exactly one layer consumes it, that layer may run on blocked inputs, and it is
no model output. A Conv2D (direct engine, ReLU or no activation) gives blocked outputs; MaxPooling2D (2x2,
stride 2, no padding), ReLU / Activation('relu') and Dropout keep blocked inputs blocked; a layer whose
consumer runs on NCHW only (Flatten, Dense, BatchNormalization, ...) converts its own output back to NCHW
(in C, into a workspace), and a Dropout there drops on that NCHW copy, in place. A layer that took a
blocked input returns its input gradient blocked (Dropout's NCHW output excepted); layers with a blocked
output accept either gradient.
Users, get_weights, saved files and the NumPy reference never see a blocked array: it lives only between
two layers of one forward (or backward) pass.
"""
from .. import ops


class Blocked:
    """A blocked activation passed between two layers: data (N, Cb, H, W, cb), and its channel count.

    lend: set by a Conv2D whose fused activation is ReLU (or none) on its output of a training step: the
    one layer that consumes it may write, in its backward, the gradient with respect to the convolution's
    pre-activation into this very array (the ReLU's derivative applied) and return it; the Conv2D then
    skips its own activation backward. MaxPooling2D does (see pooling.py): the gradient of the pooling
    and of the ReLU then needs no buffer of its own."""

    __slots__ = ("data", "channels", "lend")

    def __init__(self, data, channels, lend=None):
        self.data, self.channels, self.lend = data, int(channels), lend

    @property
    def nchw_shape(self):
        n, _, h, w, _ = self.data.shape
        return (n, self.channels, h, w)

    def to_nchw(self, out=None):
        return ops.from_blocked(self.data, self.channels, out=out)


def nchw(x):
    """x as an NCHW array (a Blocked converted)."""
    return x.to_nchw() if type(x) is Blocked else x
