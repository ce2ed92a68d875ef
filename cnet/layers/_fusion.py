"""The flags a chain of layers runs with (cnet._graph's model executor, cnet.book's networks): which
layer pairs fuse, and the call of a layer with its flags set.

The flags, per call: _in_model (the output goes on to one layer), _blk_out (it may stay blocked,
cnet/layers/_blocked.py), _relu_out / _relu_in (this layer applies the ReLU layer after it as it writes
its output / this ReLU layer's input is ReLU'd already), _relu_grad_out / _relu_grad_in (the max pool
after this ReLU applies its mask to the gradient / this pool applies the mask of the ReLU before it).
"""
from .base import may_take_blocked

FLAGS = ("_in_model", "_blk_out", "_relu_out", "_relu_in", "_relu_grad_out", "_relu_grad_in")


def relu_out_pair(a, b):
    """b is a plain ReLU that a (Conv2D, Dense with no activation) can apply as it writes its output."""
    return a._fusable_relu_out() and b._plain_relu()


def relu_grad_pair(a, b):
    """a is a plain ReLU whose mask b (a max pool) can apply to its own gradient."""
    return a._plain_relu() and b._folds_relu_grad()


def chain_flags(layers, blocked):
    """The flags of each call of a chain, every output going to the next layer only (the last one's
    leaves the chain); blocked: whether blocked activations are on."""
    out = []
    for i, layer in enumerate(layers):
        prev = layers[i - 1] if i else None
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        out.append((nxt is not None,
                    blocked and nxt is not None and may_take_blocked(nxt),
                    nxt is not None and relu_out_pair(layer, nxt),
                    prev is not None and relu_out_pair(prev, layer),
                    nxt is not None and relu_grad_pair(layer, nxt),
                    prev is not None and relu_grad_pair(prev, layer)))
    return out


def forward_with(layer, flags, x, **kwargs):
    """layer.forward(x, **kwargs) with its flags set for the call (cleared after it)."""
    for name, value in zip(FLAGS, flags):
        setattr(layer, name, value)
    try:
        return layer.forward(x, **kwargs)
    finally:
        for name in FLAGS:
            setattr(layer, name, False)
