"""The PyTorch twin of cnet-bench: torch imported only when present (and not disabled), the torch.nn model
equivalent to a cnet model (read off its layers), and the torch optimizer equivalent to a cnet one."""
from .. import layers as L
from .. import optimizers as O


def import_torch(enabled):
    if not enabled:
        return None, "disabled with --no-torch"
    try:
        import torch
        return torch, None
    except Exception as exc:
        return None, f"torch not importable ({exc.__class__.__name__}: {exc})"


def torch_from_cnet(torch, model, input_shape):
    """An equivalent torch.nn.Sequential, read off the cnet model's layers (same layers, same sizes)."""
    nn = torch.nn
    mods = []
    probe = torch.zeros((1,) + tuple(input_shape))

    def shape_now():
        with torch.no_grad():
            return nn.Sequential(*mods)(probe).shape if mods else probe.shape

    def act(a):
        a = (a or "linear") if isinstance(a, str) else getattr(a, "__name__", "linear")
        a = a.lower()
        if a == "relu":
            mods.append(nn.ReLU())
        elif a == "sigmoid":
            mods.append(nn.Sigmoid())
        elif a == "tanh":
            mods.append(nn.Tanh())
        elif a not in ("linear", "softmax", "none"):   # softmax: fused into the cross-entropy, as in cnet
            raise ValueError(f"no torch equivalent for activation {a!r}")

    for layer in model.layers:
        cfg = layer.get_config() if hasattr(layer, "get_config") else {}
        if any(cfg.get(k) is not None for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")):
            raise ValueError(f"no torch equivalent for the regularizers of layer {layer.name}")
        if isinstance(layer, L.ReLU) and not layer._plain:
            raise ValueError(f"no torch equivalent for ReLU(max_value, negative_slope, threshold) ({layer.name})")
        if isinstance(layer, L.Dense):
            if len(shape_now()) > 2 and isinstance(layer, L.Affine):   # Dense acts on the last axis, as nn.Linear
                mods.append(nn.Flatten())
            mods.append(nn.Linear(int(shape_now()[-1]), layer.units, bias=layer.use_bias))
            act(cfg.get("activation"))
        elif isinstance(layer, L.Conv2D):
            pad = tuple(getattr(layer, "_pad", (0, 0)))
            extra = tuple(getattr(layer, "_extra", (0, 0)) or (0, 0))
            if any(extra):
                mods.append(nn.ZeroPad2d((0, extra[1], 0, extra[0])))
            mods.append(nn.Conv2d(shape_now()[1], layer.filters, tuple(layer.kernel_size),
                                  tuple(layer.strides), pad, dilation=tuple(layer.dilation_rate),
                                  bias=layer.use_bias))
            act(cfg.get("activation"))
        elif isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
            pad = tuple(getattr(layer, "_pad", (0, 0)))
            cls = nn.AvgPool2d if isinstance(layer, L.AveragePooling2D) else nn.MaxPool2d
            mods.append(cls(tuple(layer.pool_size), tuple(layer.strides), pad))
        elif isinstance(layer, L.SpatialDropout2D):
            mods.append(nn.Dropout2d(layer.rate))
        elif isinstance(layer, L.Dropout):
            mods.append(nn.Dropout(layer.rate))
        elif isinstance(layer, L.Flatten):
            mods.append(nn.Flatten())
        elif isinstance(layer, L.Activation):
            default = next((name for cls, name in ((L.ReLU, "relu"), (L.Softmax, "softmax"),
                                                   (L.Sigmoid, "sigmoid")) if isinstance(layer, cls)), None)
            act(cfg.get("activation", default))
        elif isinstance(layer, L.InputLayer):
            pass
        elif isinstance(layer, L.Reshape):
            mods.append(nn.Unflatten(1, tuple(layer.target_shape)))
        elif isinstance(layer, L.BatchNormalization):
            c = shape_now()[1]
            mods.append(nn.BatchNorm2d(c, eps=1e-3) if len(shape_now()) == 4 else nn.BatchNorm1d(c, eps=1e-3))
        else:
            raise ValueError(f"no torch equivalent for layer {type(layer).__name__}")
    return nn.Sequential(*mods)


def torch_optimizer(torch, params, cnet_opt):
    """torch's optimizer matching a cnet (Keras 2.1) optimizer and its hyper-parameters; one without a
    torch twin (or with a learning-rate decay, which torch's optimizers do not have) is a ValueError."""
    if float(getattr(cnet_opt, "decay", 0.0) or 0.0):
        raise ValueError(f"no torch equivalent for {type(cnet_opt).__name__}(decay={cnet_opt.decay})")
    lr = float(cnet_opt.learning_rate)
    wd = float(getattr(cnet_opt, "weight_decay", 0.0) or 0.0)
    eps = float(getattr(cnet_opt, "epsilon", 1e-7) or 1e-7)
    o = torch.optim
    if isinstance(cnet_opt, O.Adadelta):
        return o.Adadelta(params, lr=lr, rho=cnet_opt.rho, eps=eps, weight_decay=wd)
    if isinstance(cnet_opt, O.Adam):
        return o.Adam(params, lr=lr, betas=(cnet_opt.beta_1, cnet_opt.beta_2), eps=eps, weight_decay=wd)
    if isinstance(cnet_opt, O.RMSprop):
        return o.RMSprop(params, lr=lr, alpha=cnet_opt.rho, eps=eps, weight_decay=wd)
    if isinstance(cnet_opt, O.Adagrad):
        return o.Adagrad(params, lr=lr, eps=eps, weight_decay=wd)
    if isinstance(cnet_opt, O.SGD):
        return o.SGD(params, lr=lr, momentum=float(cnet_opt.momentum or 0.0), nesterov=bool(cnet_opt.nesterov),
                     weight_decay=wd)
    raise ValueError(f"no torch equivalent for optimizer {type(cnet_opt).__name__}")
