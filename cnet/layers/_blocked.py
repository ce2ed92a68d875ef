"""Activations that stay in the channel-blocked layout from one layer of a model to the next (issue 13).

On by default; cnet.ops.conv.set_blocked_activations(False), or CNET_BLOCKED=0 in the environment, turns
it off. When on, a model's executor (cnet._graph) lets a layer hand its output on blocked -- (N, Cb, H, W, cb),
see cnet.ops.conv -- when exactly one layer consumes it and it is no model output. A Conv2D (direct
engine, ReLU or no activation) gives blocked outputs; MaxPooling2D (2x2, stride 2, no padding), ReLU /
Activation('relu') and Dropout keep blocked inputs blocked; every other layer (Flatten, Dense,
BatchNormalization, ...) gets its input converted back to NCHW (in C) before it runs. A layer that took a
blocked input returns its input gradient blocked; layers with a blocked output accept either gradient.
Users, get_weights, saved files and the NumPy reference never see a blocked array: it lives only between
two layers of one forward (or backward) pass.
"""
from .. import ops


class Blocked:
    """A blocked activation passed between two layers: data (N, Cb, H, W, cb), and its channel count."""

    __slots__ = ("data", "channels")

    def __init__(self, data, channels):
        self.data, self.channels = data, int(channels)

    @property
    def nchw_shape(self):
        n, _, h, w, _ = self.data.shape
        return (n, self.channels, h, w)

    def to_nchw(self, out=None):
        return ops.from_blocked(self.data, self.channels, out=out)


def blocked_data(x, cb, out=None):
    """The (N, Cb, H, W, cb) array of x: a Blocked's data, or the NCHW array x converted (into out)."""
    return x.data if type(x) is Blocked else ops.to_blocked(x, cb, out=out)


def nchw(x):
    """x as an NCHW array (a Blocked converted)."""
    return x.to_nchw() if type(x) is Blocked else x
