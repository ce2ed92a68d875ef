"""What cnet-bench measures in its kernels and gemm sections: every op of the bundled models (cnet.zoo) at the
shapes of their layers, as a :class:`Case` that builds its inputs and calls the op through cnet.ops, with the
equivalent PyTorch call; and the layers' matrix products. The memory-bound cases (pooling, ReLU, dropout,
batch norm, optimizer updates) carry the traffic of cnet/bench/bandwidth.py's byte model."""
import numpy as np

from cnet import ops

from .bandwidth import OPTIMIZER_STATE, traffic

F32 = 4  # bytes


class Case:
    """One op at one shape: how to build its inputs, call it through cnet.ops and through torch."""

    def __init__(self, model, layer, op, direction, shape, flops=None, nbytes=None, setup=None, torch=None,
                 gemm=None):
        self.model, self.layer, self.op, self.direction = model, layer, op, direction
        self.shape, self.flops, self.nbytes = shape, flops, nbytes
        self.setup = setup      # rng -> (callable through cnet.ops, state dict for torch)
        self.torch = torch      # (torch, state) -> callable, or None
        self.gemm = gemm        # (M, K, N) of a dense or conv layer's forward product X.W, else None
        self.conv = None        # (N, C, H, W, K, KH = KW, pad) of a conv layer (stride 1), else None
        self.traffic = None     # a memory-bound op's byte model (bandwidth.traffic), else None
        self.also = []

    @property
    def name(self):
        return f"{self.model}.{self.layer}.{self.direction}"

    @property
    def dedup_key(self):
        return (self.op, self.direction, self.shape)


def f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def _moving(cases, **shapes):
    """The cases, each with the traffic of its op and pass in the byte model (float32) at these shapes."""
    for case in cases:
        case.traffic = traffic(case.op, case.direction, shapes)
    return cases


def _conv(model, layer, n, c, h, w, k, ks, pad):
    oh, ow = h + 2 * pad - ks + 1, w + 2 * pad - ks + 1
    shape = f"x({n},{c},{h},{w}) w({k},{c},{ks},{ks}) pad {pad}"
    fl = 2.0 * n * k * oh * ow * c * ks * ks

    def setup_f(rng):
        x, wt, b = f32(rng, n, c, h, w), f32(rng, k, c, ks, ks, scale=0.1), f32(rng, k)
        y = np.empty((n, k, oh, ow), np.float32)
        return (lambda: ops.conv2d_forward(x, wt, b, 1, pad)), dict(
            x=x, w=wt, b=b, c_call=lambda: ops.conv2d_forward(x, wt, b, 1, pad, out=y))

    def setup_b(rng):
        x, wt, dy = f32(rng, n, c, h, w), f32(rng, k, c, ks, ks, scale=0.1), f32(rng, n, k, oh, ow)
        outs = (np.empty_like(x), np.empty_like(wt), np.empty(k, np.float32))
        return (lambda: ops.conv2d_backward(dy, x, wt, 1, pad)), dict(
            x=x, w=wt, dy=dy, c_call=lambda: ops.conv2d_backward(dy, x, wt, 1, pad, out=outs))

    def torch_f(torch, s):
        x, wt, b = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "b"))
        return lambda: torch.nn.functional.conv2d(x, wt, b, 1, pad)

    def torch_b(torch, s):
        x, wt, dy = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "dy"))
        return lambda: torch.ops.aten.convolution_backward(dy, x, wt, [k], [1, 1], [pad, pad], [1, 1], False,
                                                           [0, 0], 1, [True, True, True])
    gemm = (n * oh * ow, c * ks * ks, k)     # im2col: (N*OH*OW, C*KH*KW) . (C*KH*KW, K)
    cases = [Case(model, layer, "conv2d", "fwd", shape, fl, None, setup_f, torch_f, gemm=gemm),
             Case(model, layer, "conv2d", "bwd", shape, 2 * fl, None, setup_b, torch_b)]
    for case in cases:
        case.conv = (n, c, h, w, k, ks, pad)
    return cases


def _dense(model, layer, n, d, u):
    shape = f"x({n},{d}) w({d},{u})"
    fl = 2.0 * n * d * u

    def setup_f(rng):
        x, wt, b = f32(rng, n, d), f32(rng, d, u, scale=0.05), f32(rng, u)
        y = np.empty((n, u), np.float32)
        return (lambda: ops.affine_forward(x, wt, b)), dict(
            x=x, w=wt, b=b, c_call=lambda: ops.affine_forward(x, wt, b, out=y))

    def setup_b(rng):
        x, wt, dy = f32(rng, n, d), f32(rng, d, u, scale=0.05), f32(rng, n, u)
        outs = (np.empty_like(x), np.empty_like(wt), np.empty(u, np.float32))
        return (lambda: ops.affine_backward(dy, x, wt)), dict(
            x=x, w=wt, dy=dy, c_call=lambda: ops.affine_backward(dy, x, wt, out=outs))

    def torch_f(torch, s):
        x, wt, b = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "b"))
        return lambda: torch.addmm(b, x, wt)

    def torch_b(torch, s):
        x, wt, dy = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "dy"))
        return lambda: (torch.mm(dy, wt.t()), torch.mm(x.t(), dy), dy.sum(0))
    return [Case(model, layer, "affine", "fwd", shape, fl, None, setup_f, torch_f, gemm=(n, d, u)),
            Case(model, layer, "affine", "bwd", shape, 2 * fl, None, setup_b, torch_b)]


def _relu(model, layer, shape_t):
    size = int(np.prod(shape_t))
    shape = f"x{shape_t}"

    def setup_f(rng):
        x = f32(rng, *shape_t)
        y = np.empty_like(x)
        return (lambda: ops.relu_forward(x)), dict(x=x, c_call=lambda: ops.relu_forward(x, out=y))

    def setup_b(rng):
        dy, y = f32(rng, *shape_t), np.maximum(f32(rng, *shape_t), 0)
        dx = np.empty_like(dy)
        return (lambda: ops.relu_backward(dy, y)), dict(dy=dy, y=y, c_call=lambda: ops.relu_backward(dy, y, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.relu(x)

    def torch_b(torch, s):
        dy, y = torch.from_numpy(s["dy"]), torch.from_numpy(s["y"])
        return lambda: torch.ops.aten.threshold_backward(dy, y, 0)
    return _moving([Case(model, layer, "relu", "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
                    Case(model, layer, "relu", "bwd", shape, None, 3 * size * F32, setup_b, torch_b)], x=shape_t)


def _unary(model, layer, op, shape_t):
    """sigmoid/tanh/softmax forward and backward (torch: the aten forward and backward kernels)."""
    size = int(np.prod(shape_t))
    shape = f"x{shape_t}"
    fwd, bwd = getattr(ops, op + "_forward"), getattr(ops, op + "_backward")

    def setup_f(rng):
        x = f32(rng, *shape_t)
        y = np.empty_like(x)
        return (lambda: fwd(x)), dict(x=x, c_call=lambda: fwd(x, out=y))

    def setup_b(rng):
        dy, x = f32(rng, *shape_t), f32(rng, *shape_t)
        from cnet import reference
        y = getattr(reference, op + "_forward")(x)
        dx = np.empty_like(dy)
        return (lambda: bwd(dy, y)), dict(dy=dy, y=y, c_call=lambda: bwd(dy, y, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "softmax": lambda v: torch.softmax(v, -1)}[op]
        return lambda: f(x)

    def torch_b(torch, s):
        dy, y = torch.from_numpy(s["dy"]), torch.from_numpy(s["y"])
        aten = torch.ops.aten
        if op == "softmax":
            return lambda: aten._softmax_backward_data(dy, y, -1, torch.float32)
        f = {"sigmoid": aten.sigmoid_backward, "tanh": aten.tanh_backward}[op]
        return lambda: f(dy, y)
    return [Case(model, layer, op, "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
            Case(model, layer, op, "bwd", shape, None, 3 * size * F32, setup_b, torch_b)]


def _maxpool(model, layer, shape_t, p=2):
    n, c, h, w = shape_t
    size = n * c * h * w
    osize = size // (p * p)
    shape = f"x{shape_t} {p}x{p}"

    # the layers' form: each maximum's window position as a byte (positions=True)
    def setup_f(rng):
        x = f32(rng, *shape_t)
        oshape = (n, c, h // p, w // p)
        outs = (np.empty(oshape, np.float32), np.empty(oshape, np.uint8))
        return (lambda: ops.maxpool2d_forward(x, p, p, positions=True)), dict(
            x=x, c_call=lambda: ops.maxpool2d_forward(x, p, p, out=outs, positions=True))

    def setup_b(rng):
        from cnet import reference
        x = f32(rng, *shape_t)
        y, pos = reference.maxpool2d_forward(x, p, p, positions=True)
        dy = f32(rng, *y.shape)
        dx = np.empty_like(x)
        window = (p, p, None, 0)
        return (lambda: ops.maxpool2d_backward(dy, pos, x.shape, window=window)), dict(
            x=x, dy=dy, c_call=lambda: ops.maxpool2d_backward(dy, pos, x.shape, out=dx, window=window))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.ops.aten.max_pool2d_with_indices(x, [p, p], [p, p])

    def torch_b(torch, s):
        x, dy = torch.from_numpy(s["x"]), torch.from_numpy(s["dy"])
        _, idx = torch.ops.aten.max_pool2d_with_indices(x, [p, p], [p, p])
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, x, [p, p], [p, p], [0, 0],
                                                                        [1, 1], False, idx)
    byt = size * F32 + osize * (F32 + 1)
    return _moving([Case(model, layer, "maxpool2d", "fwd", shape, None, byt, setup_f, torch_f),
                    Case(model, layer, "maxpool2d", "bwd", shape, None, byt, setup_b, torch_b)],
                   x=shape_t, y=(n, c, h // p, w // p))


def _avgpool(model, layer, shape_t, p=2):
    n, c, h, w = shape_t
    oshape = (n, c, h // p, w // p)
    shape = f"x{shape_t} {p}x{p}"

    def setup_f(rng):
        x = f32(rng, *shape_t)
        return (lambda: ops.avgpool2d_forward(x, p, p)), dict(x=x)

    def setup_b(rng):
        x, dy = f32(rng, *shape_t), f32(rng, *oshape)
        return (lambda: ops.avgpool2d_backward(dy, shape_t, p, p)), dict(x=x, dy=dy)

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.ops.aten.avg_pool2d(x, [p, p], [p, p])

    def torch_b(torch, s):
        x, dy = torch.from_numpy(s["x"]), torch.from_numpy(s["dy"])
        return lambda: torch.ops.aten.avg_pool2d_backward(dy, x, [p, p], [p, p], [0, 0], False, True, None)
    byt = (n * c * h * w + int(np.prod(oshape))) * F32
    return _moving([Case(model, layer, "avgpool2d", "fwd", shape, None, byt, setup_f, torch_f),
                    Case(model, layer, "avgpool2d", "bwd", shape, None, byt, setup_b, torch_b)],
                   x=shape_t, y=oshape)


def _maxpool_blk(model, layer, shape_t):
    """2x2 max pooling on the blocked layout, as the layers run it between blocked convolutions (no torch
    twin: PyTorch has no kernel on this layout)."""
    n, c, h, w = shape_t
    cb = ops.conv.blk_width(np.float32)
    xshape = (n, -(-c // cb), h, w, cb)
    yshape = (n, xshape[1], h // 2, w // 2, cb)
    shape = f"xb{xshape} 2x2"

    def setup_f(rng):
        xb = ops.to_blocked(f32(rng, *shape_t), cb)
        outs = (np.empty(yshape, np.float32), np.empty(yshape, np.uint8))
        return (lambda: ops.maxpool2d_blk_forward(xb)), dict(
            c_call=lambda: ops.maxpool2d_blk_forward(xb, out=outs))

    def setup_b(rng):
        xb = ops.to_blocked(f32(rng, *shape_t), cb)
        _, arg = ops.maxpool2d_blk_forward(xb)
        dyb, dxb = f32(rng, *yshape), np.empty(xshape, np.float32)
        return (lambda: ops.maxpool2d_blk_backward(dyb, arg, (h, w))), dict(
            c_call=lambda: ops.maxpool2d_blk_backward(dyb, arg, (h, w), out=dxb))
    x_n, y_n = int(np.prod(xshape)), int(np.prod(yshape))
    byt = x_n * F32 + y_n * (F32 + 1)
    return _moving([Case(model, layer, "maxpool2d_blk", "fwd", shape, None, byt, setup_f, None),
                    Case(model, layer, "maxpool2d_blk", "bwd", shape, None, byt, setup_b, None)],
                   x=xshape, y=yshape)


def _dropout(model, layer, shape_t, rate):
    size = int(np.prod(shape_t))
    shape = f"x{shape_t} rate {rate}"

    def setup_f(rng):
        x = f32(rng, *shape_t)
        outs = (np.empty_like(x), np.empty_like(x))
        return (lambda: ops.dropout_forward(x, rate, 1234)), dict(
            x=x, c_call=lambda: ops.dropout_forward(x, rate, 1234, out=outs))

    def setup_b(rng):
        from cnet import reference
        dy = f32(rng, *shape_t)
        mask = reference.dropout_mask(shape_t, rate, 1234, np.float32)
        dx = np.empty_like(dy)
        return (lambda: ops.dropout_backward(dy, mask)), dict(
            dy=dy, c_call=lambda: ops.dropout_backward(dy, mask, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.ops.aten.native_dropout(x, rate, True)

    def torch_b(torch, s):
        dy = torch.from_numpy(s["dy"])
        _, mask = torch.ops.aten.native_dropout(torch.ones_like(dy), rate, True)
        scale = 1.0 / (1.0 - rate)
        return lambda: torch.ops.aten.native_dropout_backward(dy, mask, scale)
    return _moving([Case(model, layer, "dropout", "fwd", shape, None, 3 * size * F32, setup_f, torch_f),
                    Case(model, layer, "dropout", "bwd", shape, None, 3 * size * F32, setup_b, torch_b)], x=shape_t)


def _xent(model, n, classes=10):
    shape = f"logits({n},{classes}) int labels"
    size = n * classes

    def setup_f(rng):
        logits, labels = f32(rng, n, classes), rng.integers(0, classes, n).astype(np.int64)
        return (lambda: ops.softmax_xent_forward(logits, labels)), dict(x=logits, t=labels)

    def setup_b(rng):
        from cnet import reference
        logits, labels = f32(rng, n, classes), rng.integers(0, classes, n).astype(np.int64)
        probs = reference.softmax_forward(logits)
        return (lambda: ops.softmax_xent_backward(probs, labels)), dict(x=logits, t=labels)

    def torch_f(torch, s):
        x, t = torch.from_numpy(s["x"]), torch.from_numpy(s["t"])
        aten = torch.ops.aten

        def f():
            ls = aten._log_softmax(x, 1, False)
            return aten.nll_loss_forward(ls, t, None, 1, -100), ls
        return f

    def torch_b(torch, s):
        x, t = torch.from_numpy(s["x"]), torch.from_numpy(s["t"])
        aten = torch.ops.aten
        ls = aten._log_softmax(x, 1, False)
        _, tw = aten.nll_loss_forward(ls, t, None, 1, -100)
        one = torch.ones((), dtype=torch.float32)

        def f():
            g = aten.nll_loss_backward(one, ls, t, None, 1, -100, tw)
            return aten._log_softmax_backward_data(g, ls, 1, torch.float32)
        return f
    return [Case(model, "softmax_xent", "softmax_xent", "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
            Case(model, "softmax_xent", "softmax_xent", "bwd", shape, None, 2 * size * F32, setup_b, torch_b)]


_MU1, _MU2 = (0.9 * (1.0 - 0.5 * 0.96 ** (t * 0.004)) for t in (1, 2))   # Nadam's Keras schedule at t = 1, 2
# Each optimizer update's hyper-parameters after its arrays (Keras defaults; step count t = 1).
_UPDATE_ARGS = {"sgd": (0.01,), "momentum": (0.01, 0.9), "nesterov": (0.01, 0.9), "adagrad": (0.01, 1e-7),
                "rmsprop": (0.001, 0.9, 1e-7), "adam": (0.001, 0.9, 0.999, 1e-7, 1),
                "adadelta": (1.0, 0.95, 1e-7), "adamax": (0.002, 0.9, 0.999, 1e-7, 1),
                "nadam": (0.002, 0.9, 0.999, 1e-7, 1, _MU1, _MU2, _MU1)}


def _torch_optimizer(torch, name, params):
    o = torch.optim
    return {"sgd": lambda: o.SGD(params, lr=0.01, foreach=False),
            "momentum": lambda: o.SGD(params, lr=0.01, momentum=0.9, foreach=False),
            "nesterov": lambda: o.SGD(params, lr=0.01, momentum=0.9, nesterov=True, foreach=False),
            "adagrad": lambda: o.Adagrad(params, lr=0.01, eps=1e-7, foreach=False),
            "rmsprop": lambda: o.RMSprop(params, lr=0.001, alpha=0.9, eps=1e-7, foreach=False),
            "adam": lambda: o.Adam(params, lr=0.001, eps=1e-7, foreach=False),
            "adadelta": lambda: o.Adadelta(params, lr=1.0, rho=0.95, eps=1e-7, foreach=False),
            "adamax": lambda: o.Adamax(params, lr=0.002, eps=1e-7, foreach=False),
            "nadam": lambda: o.NAdam(params, lr=0.002, eps=1e-7, foreach=False)}[name]()


def _optimizer(model, name, nparams):
    """One update of every parameter of a model, as one flat vector (per-array call overhead not included)."""
    shape = f"{nparams} params"
    n_state = len(OPTIMIZER_STATE[name])
    reads, writes = 2 + n_state, 1 + n_state     # p, g and the state arrays; p and the state arrays
    update, args = getattr(ops, f"{name}_update"), _UPDATE_ARGS[name]

    def setup(rng):
        p, g = f32(rng, nparams), f32(rng, nparams, scale=0.01)
        states = [np.zeros(nparams, np.float32) for _ in range(n_state)]
        return (lambda: update(p, g, *states, *args)), dict(p=p, g=g)

    def torch_u(torch, s):
        p = torch.nn.Parameter(torch.from_numpy(s["p"].copy()))
        p.grad = torch.from_numpy(s["g"])
        return _torch_optimizer(torch, name, [p]).step
    return _moving([Case(model, f"{name}_update", f"{name}_update", "upd", shape, None,
                         (reads + writes) * nparams * F32, setup, torch_u)], p=(nparams,))


def _batchnorm(model, layer, shape_t):
    size = int(np.prod(shape_t))
    c = shape_t[1]
    shape = f"x{shape_t}"

    def setup_f(rng):
        x, g, b = f32(rng, *shape_t), np.ones(c, np.float32), np.zeros(c, np.float32)
        return (lambda: ops.batchnorm_forward(x, g, b)), dict(x=x, g=g, b=b)

    def setup_b(rng):
        from cnet import reference
        x, g, b, dy = f32(rng, *shape_t), np.ones(c, np.float32), np.zeros(c, np.float32), f32(rng, *shape_t)
        _, mean, inv_std = reference.batchnorm_forward(x, g, b)
        return (lambda: ops.batchnorm_backward(dy, x, g, mean, inv_std)), dict(x=x, g=g, b=b, dy=dy)

    def torch_f(torch, s):
        x, g, b = (torch.from_numpy(s[k]) for k in ("x", "g", "b"))
        return lambda: torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.0, 1e-3)

    def torch_b(torch, s):
        x, g, b, dy = (torch.from_numpy(s[k]) for k in ("x", "g", "b", "dy"))
        _, mean, invstd = torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.0, 1e-3)
        return lambda: torch.ops.aten.native_batch_norm_backward(dy, x, g, None, None, mean, invstd, True,
                                                                 1e-3, [True, True, True])
    return _moving([Case(model, layer, "batchnorm", "fwd", shape, None, 3 * size * F32, setup_f, torch_f),
                    Case(model, layer, "batchnorm", "bwd", shape, None, 4 * size * F32, setup_b, torch_b)],
                   x=shape_t, c=(c,))


# Parameter counts of the bundled models (for the optimizer-update cases).
def _nparams(layers):
    return int(sum(a * b + b for a, b in layers))


def model_cases(n):
    """Every op of the bundled models at batch n, layer by layer (shapes repeat across models)."""
    cs = []
    # Softmax regression 784 -> 10 (SGD)
    cs += _dense("softmax", "dense", n, 784, 10) + _xent("softmax", n)
    cs += _optimizer("softmax", "rmsprop", _nparams([(784, 10)]))
    # MLP 784-500-250-100-10 (Adam)
    dims = [784, 500, 250, 100, 10]
    for i in range(4):
        cs += _dense("mlp", f"dense{i + 1}", n, dims[i], dims[i + 1])
        if i < 3:
            cs += _relu("mlp", f"relu{i + 1}", (n, dims[i + 1]))
    cs += _xent("mlp", n)
    cs += _optimizer("mlp", "adam", _nparams(zip(dims[:-1], dims[1:])))
    # Keras MNIST convnet (Adadelta)
    cs += _conv("cnn", "conv1", n, 1, 28, 28, 32, 3, 0) + _relu("cnn", "relu1", (n, 32, 26, 26))
    cs += _conv("cnn", "conv2", n, 32, 26, 26, 64, 3, 0) + _relu("cnn", "relu2", (n, 64, 24, 24))
    cs += _maxpool("cnn", "pool", (n, 64, 24, 24)) + _maxpool_blk("cnn", "pool_blk", (n, 64, 24, 24))
    cs += _dropout("cnn", "dropout1", (n, 64, 12, 12), 0.25)
    cs += _dense("cnn", "dense1", n, 9216, 128) + _relu("cnn", "relu3", (n, 128))
    cs += _dropout("cnn", "dropout2", (n, 128), 0.5)
    cs += _dense("cnn", "dense2", n, 128, 10) + _xent("cnn", n)
    cnn_p = 1 * 9 * 32 + 32 + 32 * 9 * 64 + 64 + _nparams([(9216, 128), (128, 10)])
    cs += _optimizer("cnn", "adadelta", cnn_p)
    # SimpleConvNet: conv 30 5x5, pool, 4320-100-10 (Adam)
    cs += _conv("simple_convnet", "conv", n, 1, 28, 28, 30, 5, 0) + _relu("simple_convnet", "relu1", (n, 30, 24, 24))
    cs += _maxpool("simple_convnet", "pool", (n, 30, 24, 24))
    cs += _maxpool_blk("simple_convnet", "pool_blk", (n, 30, 24, 24))
    cs += _dense("simple_convnet", "dense1", n, 4320, 100) + _relu("simple_convnet", "relu2", (n, 100))
    cs += _dense("simple_convnet", "dense2", n, 100, 10) + _xent("simple_convnet", n)
    cs += _optimizer("simple_convnet", "adam", 30 * 25 + 30 + _nparams([(4320, 100), (100, 10)]))
    # DeepConvNet (the book's geometry: conv4 has pad 2), Adam
    deep = [("conv1", 1, 28, 16, 1), ("conv2", 16, 28, 16, 1), ("conv3", 16, 14, 32, 1),
            ("conv4", 32, 14, 32, 2), ("conv5", 32, 8, 64, 1), ("conv6", 64, 8, 64, 1)]
    pools = {"conv2": (16, 28), "conv4": (32, 16), "conv6": (64, 8)}
    for name, c, hw, k, pad in deep:
        cs += _conv("deep_convnet", name, n, c, hw, hw, k, 3, pad)
        ohw = hw + 2 * pad - 2
        cs += _relu("deep_convnet", "relu_" + name, (n, k, ohw, ohw))
        if name in pools:
            pc, phw = pools[name]
            cs += _maxpool("deep_convnet", "pool_" + name, (n, pc, phw, phw))
            cs += _maxpool_blk("deep_convnet", "pool_blk_" + name, (n, pc, phw, phw))
    cs += _dense("deep_convnet", "dense1", n, 1024, 50) + _relu("deep_convnet", "relu7", (n, 50))
    cs += _dropout("deep_convnet", "dropout", (n, 50), 0.5)
    cs += _dense("deep_convnet", "dense2", n, 50, 10) + _dropout("deep_convnet", "dropout2", (n, 10), 0.5)
    cs += _xent("deep_convnet", n)
    deep_p = sum(k * c * 9 + k for _, c, _, k, _ in deep) + _nparams([(1024, 50), (50, 10)])
    cs += _optimizer("deep_convnet", "adam", deep_p)
    # Ops of the library no bundled model uses, at representative shapes
    cs += _batchnorm("extra", "batchnorm_conv", (n, 64, 24, 24)) + _batchnorm("extra", "batchnorm_dense", (n, 500))
    cs += _avgpool("extra", "avgpool", (n, 64, 24, 24))
    for name in OPTIMIZER_STATE:    # every optimizer update of cnet.ops, at the Keras convnet's parameter count
        cs += _optimizer("extra", name, cnn_p)
    for op in ("sigmoid", "tanh", "softmax"):
        cs += _unary("extra", op, op, (n, 500))
    return cs


def kernel_cases(n):
    """Every op of the bundled models at batch n (deduplicated by op and shape)."""
    seen, out = {}, []
    for c in model_cases(n):
        if c.dedup_key in seen:
            seen[c.dedup_key].also.append(c.name)
            continue
        seen[c.dedup_key] = c
        out.append(c)
    return out


def gemm_products(n, models=None, squares=()):
    """(name, M, K, N, kind, shape) of the bundled layers' products at batch n, X (M,K), W (K,N), dY (M,N):
    forward X.W, weight gradient X^T.dY, input gradient dY.W^T, each (kind, M, K, N) once, of the models
    named in `models` (all when None); then the squares."""
    prods, seen = [], set()
    for case in model_cases(n):
        if case.gemm is None or (models and case.model not in models):
            continue
        m, k, nn = case.gemm
        for kind, shape in (("fwd", (m, k, nn)), ("dW", (k, m, nn)), ("dX", (m, nn, k))):
            key = (kind, m, k, nn)
            if key in seen:
                continue
            seen.add(key)
            prods.append((f"{case.model}.{case.layer}.{kind}", m, k, nn, kind, shape))
    for s in squares:
        prods.append((f"square{s}", s, s, s, "square", (s, s, s)))
    return prods
