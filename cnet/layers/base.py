"""The base class of every layer (``Layer``) and what the layer families share: argument
checks, the (W, b) attribute access of Dense and Conv2D, the training-step workspaces."""
import contextlib
import copy
import numbers
import warnings

import numpy as np

from .. import backend, initializers, ops
from . import _half
from ._blocked import Blocked
from .node import KerasTensor, Node, is_symbolic

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
LAYERS = {}


def _int(value, what):
    """value as an int: an integer, or a float with an integral value (28 / 2); anything else (3.9, '3',
    True) raises TypeError rather than being truncated."""
    if (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and float(value).is_integer()):
        return int(value)
    raise TypeError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")


def _positive_int(value, what):
    """_int(value) that must be >= 1 (ValueError otherwise)."""
    n = _int(value, what)
    if n < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return n


def _shape(shape, what="input_shape"):
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple of ints (without the batch axis), got {shape!r}")
    return tuple(_int(s, what) for s in shape)


def _pair(value, what):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
        return _int(value[0], what), _int(value[1], what)
    return _int(value, what), _int(value, what)


def _nonfinite(a):
    """What is not finite in array `a`, for a message: 'NaN', 'Inf' or 'NaN and Inf' values."""
    kinds = [name for name, test in (("NaN", np.isnan), ("Inf", np.isinf)) if test(a).any()]
    return " and ".join(kinds) + " values"


def _no_unsupported(layer_cls, **options):
    for key, value in options.items():
        if value is not None:
            raise NotImplementedError(f"{layer_cls}: {key} is not supported by cnet (got {value!r})")


_KERAS1_NAMES = {"nb_filter": "filters", "subsample": "strides", "border_mode": "padding",
                 "dim_ordering": "data_format", "init": "kernel_initializer", "W_regularizer": "kernel_regularizer",
                 "b_regularizer": "bias_regularizer", "W_constraint": "kernel_constraint",
                 "b_constraint": "bias_constraint", "bias": "use_bias", "output_dim": "units", "p": "rate"}
_DIM_ORDERINGS = {"th": "channels_first", "tf": "channels_last", "default": None}


def _keras1_arguments(cls, kwargs, allowed):
    """Keras 1's keyword arguments among kwargs renamed to Keras 2's (the `allowed` Keras 2 names), with the
    warning Keras 2 gives: nb_filter, nb_row/nb_col, subsample, border_mode, dim_ordering ('th'/'tf'),
    init, W_/b_regularizer, W_/b_constraint, bias, output_dim, p. Returns the new kwargs."""
    old = [k for k in kwargs if (k in _KERAS1_NAMES and _KERAS1_NAMES[k] in allowed)
           or (k in ("nb_row", "nb_col") and "kernel_size" in allowed)]
    if not old:
        return kwargs
    kwargs = dict(kwargs)
    if "nb_row" in kwargs or "nb_col" in kwargs:
        if "nb_row" not in kwargs or "nb_col" not in kwargs or kwargs.get("kernel_size") is not None:
            raise TypeError(f"{cls}: Keras 1's nb_row and nb_col go together and replace kernel_size; "
                            f"write kernel_size=(rows, cols)")
        kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
    for name in [k for k in old if k in _KERAS1_NAMES]:
        new = _KERAS1_NAMES[name]
        if kwargs.get(new) is not None and new != "kernel_size":
            raise TypeError(f"{cls}: got both Keras 1's {name} and Keras 2's {new}; keep {new}")
        value = kwargs.pop(name)
        if name == "dim_ordering":
            if value not in _DIM_ORDERINGS:
                raise ValueError(f"{cls}: dim_ordering must be 'th', 'tf' or 'default', got {value!r}")
            value = _DIM_ORDERINGS[value]
        kwargs[new] = value
    renamed = ", ".join(f"{k} -> {_KERAS1_NAMES.get(k, 'kernel_size')}" for k in old)
    warnings.warn(f"{cls}: Keras 1 argument names ({renamed}); update the call to the Keras 2 API",
                  UserWarning, stacklevel=3)
    return kwargs


def _initializer(identifier):
    """A config dict ({'class_name', 'config'}, Keras's) as the initializer object it describes (which
    get_config serializes back); anything else as given (checked when the layer is built)."""
    return initializers.get(identifier) if isinstance(identifier, dict) else identifier


def _param_array(a, name):
    """A parameter handed to a book-style constructor: kept as is (no copy) when it is a float array."""
    if isinstance(a, np.ndarray) and a.dtype in _FLOATS:
        return a
    return np.asarray(a, dtype=np.float64)


def _to_cf(x):
    """(N, H, W, C) -> (N, C, H, W), C-contiguous: free when x is the channels-last view of a channels-first
    array (what the channels-last layers give), one copy otherwise (the model's input)."""
    t = x.transpose(0, 3, 1, 2)
    return t if t.flags.c_contiguous else np.ascontiguousarray(t)


def _to_cl(y):
    """(N, C, H, W) -> (N, H, W, C): a view, no copy (its transpose back is free)."""
    return y.transpose(0, 2, 3, 1)


def _is_cl_view(x):
    """True when the 4-D array x is a channels-last view of C-contiguous channels-first data."""
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 3, 1, 2).flags.c_contiguous


class Layer:
    """Base class of every layer (cnet.layers' docstring describes the interface)."""

    _has_weights = False   # layers with weights cast their inputs to their dtype
    _weight_format = None  # 'float16'/'bfloat16': params stored in 16 bits (set_weight_dtype)
    _keras_base = None     # book aliases: the class whose constructor get_config() describes
    _elementwise = False   # element by element: runs on the channels-first data behind a channels-last view
    # set by the model's executor around a call (cnet/_graph.py): _blk_out, the output may stay blocked;
    # _in_model, the output goes on to one layer; _relu_out, apply the next layer's ReLU here; _relu_in,
    # the input is ReLU'd already; _relu_grad_out, the consumer masks the gradient; _relu_grad_in, apply
    # the producer ReLU's mask to the gradient
    _blk_out = _in_model = _relu_out = _relu_in = _relu_grad_out = _relu_grad_in = False
    _blk_y = False         # the last training forward returned a blocked output
    _step_memory = None    # set by a model's training step: where _buf places buffers (_workspace.py)

    # The model's fusions (cnet/_graph.py). _fusable_relu_out: this layer can apply a following plain
    # ReLU's max(0, .) as it writes its output. _plain_relu: this layer is such a ReLU. _folds_relu_grad:
    # its backward can apply the mask of a plain ReLU before it (a max pool: the ReLU's output at each
    # window's maximum is the pooled value, so dy masked by pooled > 0 and scattered is the ReLU's dx).
    def _fusable_relu_out(self):
        return False

    def _plain_relu(self):
        return False

    def _folds_relu_grad(self):
        return False

    def _accepts_blocked(self):
        """Whether this layer runs on blocked inputs (cnet/layers/_blocked.py); others get NCHW."""
        return False

    def __init__(self, name=None, trainable=True, input_shape=None, batch_input_shape=None,
                 input_dim=None, dtype=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.name = str(name) if name else backend.unique_name(backend.snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self.dtype = np.dtype(dtype) if dtype is not None else None
        if self.dtype is not None and self.dtype not in _FLOATS:
            raise TypeError(f"{self.name}: dtype must be float32 or float64, got {self.dtype}")
        self.params, self.grads, self.state = {}, {}, {}
        if batch_input_shape is not None and batch_size is None:
            batch_size = (tuple(batch_input_shape) or (None,))[0]
        if batch_size is not None:      # Input() refuses it too
            raise ValueError(f"{type(self).__name__}: a fixed batch size ({batch_size}) is not supported: cnet "
                             f"models take batches of any size; give input_shape= (or batch_input_shape=(None, "
                             f"...))")
        if input_shape is None and batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_shape is None and input_dim is not None:
            input_shape = (_int(input_dim, "input_dim"),)
        self._declared_input_shape = None if input_shape is None else _shape(input_shape)
        self.input_shape = self._declared_input_shape
        self.output_shape = None
        self._logits = False
        self._cached = False
        # Workspaces: with _workspace set (by a model's training step), training-mode outputs and
        # gradients are written into buffers kept per layer and shape, so that a training step in
        # steady state allocates nothing; _need_input_grad False skips the input gradient (first layer).
        self._workspace = False
        self._need_input_grad = True
        self._reuse = False
        self._buffers = {}
        self._cl_view = False
        self._inbound_nodes = []   # the calls of this layer on symbolic tensors (cnet.layers.node)

    # ---- data format ---------------------------------------------------------------------------

    def adopt_data_format(self, incoming, input_shape):
        """Called by a model before it builds this layer: `incoming` is the data format of the images this
        layer receives ('channels_first', 'channels_last', or None when they are not images of a known
        layout), input_shape their shape without the batch axis. An image layer whose data_format was
        left to be resolved takes `incoming` (see cnet.layers.convolutional); every layer returns the data
        format of its output. This one keeps the layout (element-wise layers, Dense on the last axis)."""
        return incoming

    # ---- calling on tensors (the functional API) -----------------------------------------------

    def __call__(self, inputs, **kwargs):
        """On a symbolic tensor (``Input(...)`` or another layer's output): build the layer for its shape
        and return the symbolic output (what Model(inputs, outputs) runs). On arrays: forward(inputs,
        train=training) (training=False by default), the outputs computed at once."""
        training = kwargs.pop("training", None)
        if kwargs:
            raise TypeError(f"{self.name}: calling a layer takes only its inputs (and training= on arrays); "
                            f"got {', '.join(sorted(kwargs))}")
        if not is_symbolic(inputs):
            return self.forward(inputs, train=bool(training))
        if training is not None:
            raise ValueError(f"{self.name}: training={training!r} on a symbolic tensor is not supported: a "
                             "model's fit runs its layers in training mode and predict/evaluate in inference "
                             "mode; call the layer without training=")
        tensors = [inputs] if isinstance(inputs, KerasTensor) else list(inputs)
        shape = self._symbolic_input_shape(tensors)
        formats = {t.data_format for t in tensors}
        data_format = self.adopt_data_format(formats.pop() if len(formats) == 1 else None, shape)
        if not self.built:
            self.build(shape, dtype=tensors[0].dtype)
        else:
            self.build(shape)            # checks that the shape is the one the layer was built for
        node = Node(self, tensors, self.compute_output_shape(shape), self.dtype, data_format)
        self._inbound_nodes.append(node)
        return node.output

    def _symbolic_input_shape(self, tensors):
        """The input shape a call on these tensors builds the layer for (one tensor: its shape without
        the batch axis). Merge layers take several."""
        if len(tensors) != 1:
            raise TypeError(f"{self.name} ({type(self).__name__}) takes one input tensor, got a list of "
                            f"{len(tensors)} (merge them first: cnet.layers.Concatenate, Add, ...)")
        return tensors[0].shape[1:]

    def _node(self, node_index, what):
        nodes = self._inbound_nodes
        if not nodes:
            raise AttributeError(f"layer {self.name!r} has never been called on a symbolic tensor (keras.Input "
                                 f"or another layer's output), so it has no {what}")
        if node_index is None:
            if len(nodes) > 1:
                raise AttributeError(f"layer {self.name!r} was called on {len(nodes)} tensors (a shared "
                                     f"layer): its {what} is ambiguous; use get_{what}_at(node_index)")
            node_index = 0
        if not isinstance(node_index, numbers.Integral) or not 0 <= node_index < len(nodes):
            raise ValueError(f"layer {self.name!r} has {len(nodes)} calls (nodes), no node {node_index!r}")
        return nodes[node_index]

    @property
    def output(self):
        """The symbolic tensor this layer's call made (Keras's layer.output)."""
        return self._node(None, "output").output

    @property
    def input(self):
        """The symbolic tensor(s) this layer was called on (a list for a merge layer)."""
        return self.get_input_at(None)

    def get_output_at(self, node_index):
        return self._node(node_index, "output").output

    def get_input_at(self, node_index):
        node = self._node(node_index, "input")
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    def __deepcopy__(self, memo):
        """A copy of the layer outside any graph (its calls on symbolic tensors are not copied)."""
        obj = type(self).__new__(type(self))
        memo[id(self)] = obj
        for key, value in self.__dict__.items():
            obj.__dict__[key] = [] if key == "_inbound_nodes" else copy.deepcopy(value, memo)
        return obj

    # ---- building ------------------------------------------------------------------------------

    def build(self, input_shape, dtype=None):
        """Create the parameters for inputs of shape (N,) + input_shape; return output_shape."""
        input_shape = _shape(input_shape)
        if self.built:
            if not self._compatible(input_shape, self.input_shape):
                raise ValueError(f"{self.name} was built for inputs of shape {self.input_shape} "
                                 f"(without the batch axis), not {input_shape}")
            if dtype is not None and np.dtype(dtype) != self.dtype:
                self._cast(np.dtype(dtype))
            return self.output_shape
        declared = self._declared_input_shape
        if declared is not None and not self._compatible(input_shape, declared):
            raise ValueError(f"{self.name} was declared with input_shape={declared} but is built for "
                             f"inputs of shape {input_shape}")
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype not in _FLOATS:
                raise TypeError(f"{self.name}: dtype must be float32 or float64, got {dtype}")
            if self.dtype is not None and dtype != self.dtype:
                self._cast(dtype)
            self.dtype = dtype
        elif self.dtype is None:
            self.dtype = np.dtype(backend.floatx())
        self.adopt_data_format(None, input_shape)   # a layer built on its own: from its input shape
        self._build(input_shape)
        self.input_shape = input_shape
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True
        return self.output_shape

    def _build(self, input_shape):
        """Create self.params/self.state for this input shape (subclasses with weights)."""

    def regularization_loss(self):
        """The penalties of this layer's regularizers (cnet.regularizers) that a model adds to its loss:
        its weights' now, its activity's at its last forward. 0.0 for a layer without any."""
        return 0.0

    def weight_shapes(self, input_shape):
        """[(name, shape)] of the arrays build(input_shape) gives this layer, in get_weights() order,
        computed without creating them: a model file's arrays are checked against these before any
        weight is allocated. Raises ValueError for an input shape the layer cannot take."""
        return []

    def compute_output_shape(self, input_shape):
        return _shape(input_shape)

    def _compatible(self, got, expected):
        return got == expected

    def _cast(self, dtype):
        if self._weight_format is not None:
            raise RuntimeError(f"{self.name}: its weights are stored in {self._weight_format}: "
                               f"set_weight_dtype(None) before changing its dtype to {dtype}")
        for d in (self.params, self.grads, self.state):
            for k in d:
                d[k] = d[k].astype(dtype)
        self.dtype = dtype

    # ---- forward / backward --------------------------------------------------------------------

    def forward(self, x, train=True, *, logits=False, train_flg=None):
        if train_flg is not None:
            train = train_flg
        if type(x) is Blocked:   # from the layer before, inside a model (cnet/layers/_blocked.py)
            self._reuse = self._workspace and bool(train)
            if self.built and x.data.dtype == self.dtype and self._accepts_blocked():
                self._logits, self._cached = logits, bool(train)
                self._cl_view = False
                return self._forward(x, bool(train))
            x = x.to_nchw(out=self._buf("x_nchw", x.nchw_shape, x.data.dtype))
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if not self.built:
            if x.ndim < 1:
                raise ValueError(f"{self.name}: expected a batch of inputs (N, ...), got a scalar")
            shape = self._declared_input_shape if self._declared_input_shape is not None else x.shape[1:]
            self.build(shape, x.dtype if (self.dtype is None and not self._has_weights
                                                and x.dtype in _FLOATS) else None)
        if x.dtype != self.dtype and (self._has_weights or x.dtype not in _FLOATS):
            x = x.astype(self.dtype)
        if x.shape[1:] != self.input_shape and not self._compatible(x.shape[1:], self.input_shape):
            raise ValueError(self._shape_error(x.shape))
        self._logits = logits
        self._cached = bool(train)
        self._reuse = self._workspace and bool(train)
        self._cl_view = self._elementwise and _is_cl_view(x)
        # 16-bit weights (set_weight_dtype) are widened for this pass
        with contextlib.nullcontext() if self._weight_format is None else _half.full_precision(self):
            if self._cl_view:   # keep the channels-first data of a channels-last model as it is (no copy)
                return _to_cl(self._forward(x.transpose(0, 3, 1, 2), bool(train)))
            return self._forward(x, bool(train))

    def _shape_error(self, got):
        return (f"{self.name} ({type(self).__name__}) expected input of shape "
                f"(N, {', '.join(map(str, self.input_shape))}) but got {got}")

    def backward(self, dout):
        if dout is None:  # the layers below the first one with parameters need no input gradient
            return None
        if self._weight_format is not None:
            raise RuntimeError(f"{self.name}: its weights are stored in {self._weight_format} for inference; "
                               f"training needs full precision: set_weight_dtype(None) first")
        if not self._cached:
            raise RuntimeError(f"{self.name}: backward() needs a forward(x, train=True) first "
                               f"(forward with train=False caches nothing)")
        if type(dout) is Blocked:
            if self._blk_y:        # this layer's output was blocked: its backward takes either layout
                return self._backward(dout)
            dout = dout.to_nchw()
        if not isinstance(dout, np.ndarray) or (dout.dtype not in _FLOATS):
            dout = np.asarray(dout, dtype=self.dtype)
        if self._cl_view:
            dx = self._backward(_to_cf(dout))
            return None if dx is None else _to_cl(dx)
        return self._backward(dout)

    def _forward(self, x, train):
        raise NotImplementedError

    def _backward(self, dout):
        raise NotImplementedError

    def _check_dout(self, dout, shape):
        """dout must have the shape of the forward output (ValueError otherwise)."""
        if dout.shape != tuple(shape):
            raise ValueError(f"{self.name}: backward expects dout of shape {tuple(shape)} (the forward output's), "
                             f"got {dout.shape}")

    def _set_grad(self, key, value):
        if value is not self.grads[key]:
            np.copyto(self.grads[key], value)

    def _buf(self, key, shape, dtype=None, temp=False):
        """A workspace buffer for an output of this training step, or None (the op allocates) when
        workspaces are off. Reused while the shape stays the same: its content lives until this
        layer's next training-mode forward -- in a model's step, until the end of its lifetime there
        (cnet/layers/_workspace.py). temp: a buffer of backward that this call alone uses (not
        returned, not kept)."""
        if not self._reuse:
            return None
        dtype = self.dtype if dtype is None else dtype
        shape = tuple(shape)
        if self._step_memory is not None:    # a model's step: its buffers share one slab (_workspace.py)
            return self._step_memory.request(self, key, shape, dtype, temp)
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf

    def _as_blocked(self, x, cb, key, shape, temp=True):
        """The blocked data (N, Cb, H, W, cb) of a gradient x: a Blocked's own, or the NCHW x converted
        into the workspace `key` of blocked shape `shape` (requested only then; temp as in _buf)."""
        if type(x) is Blocked:
            return x.data
        return ops.to_blocked(x, cb, out=self._buf(key, shape, temp=temp))

    def _grad_out(self, key):
        """The array backward writes the gradient of parameter key into: the layer's own grads[key]
        (which _set_grad would otherwise copy the result into)."""
        return self.grads.get(key)

    # ---- weights and config --------------------------------------------------------------------

    def _weights(self):
        return list(self.params.values()) + list(self.state.values())

    def _weight_names(self):
        return list(self.params) + list(self.state)

    @property
    def trainable_weights(self):
        """Keras's list of the weights training changes: the parameter arrays themselves (not copies; no
        variables in cnet), [] when the layer is frozen (trainable=False)."""
        return list(self.params.values()) if self.trainable else []

    @property
    def non_trainable_weights(self):
        """The parameters of a frozen layer, and the state training does not differentiate (moving_mean...)."""
        return ([] if self.trainable else list(self.params.values())) + list(self.state.values())

    @property
    def weights(self):
        """trainable_weights + non_trainable_weights, as in Keras."""
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self):
        if self._weight_format is not None:     # the values the layer computes with
            return list(_half.widened(self).values()) + [w.copy() for w in self.state.values()]
        return [w.copy() for w in self._weights()]

    @property
    def weight_dtype(self):
        """How params are stored: 'float16' or 'bfloat16' (set_weight_dtype), else the layer's dtype."""
        return self._weight_format or (None if self.dtype is None else self.dtype.name)

    def set_weight_dtype(self, dtype):
        """Store the parameters in 16 bits for inference: 'float16' or 'bfloat16' (half the memory of
        float32; widened to the layer's dtype by the kernels for each forward pass, see
        cnet.layers._half); None (or 'float32'/'float64') widens them back, for training."""
        _half.store(self, _half.resolve(self, dtype))

    def set_weights(self, weights):
        if self._weight_format is not None:     # set in full precision, then rounded to 16 bits again
            fmt = self._weight_format
            _half.store(self, None)
            try:
                return self.set_weights(weights)
            finally:
                _half.store(self, fmt)
        current = self._weights()
        if not self.built and not current and self._has_weights:
            raise ValueError(f"{self.name} has no weights yet: build it first "
                             f"(layer.build(input_shape)) or run it on data")
        weights = list(weights)
        if len(weights) != len(current):
            raise ValueError(f"{self.name}: set_weights expects {len(current)} arrays "
                             f"({', '.join(self._weight_names()) or 'none'}), got {len(weights)}")
        names = self._weight_names()
        for i, (w, cur) in enumerate(zip(weights, current)):
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"{self.name}: weight {i} ({names[i]}) must have shape {cur.shape}, "
                                 f"got {w.shape}{self._layout_hint(names[i], w.shape)}")
            if w.dtype.kind in "fc" and not np.isfinite(w).all():
                raise ValueError(f"{self.name}: weight {i} ({names[i]}) holds {_nonfinite(w)}: weights must "
                                 f"be finite numbers")
        for w, cur in zip(weights, current):
            np.copyto(cur, np.asarray(w), casting="unsafe")

    def _layout_hint(self, name, shape):
        """More for the message of a weight of the wrong shape (Conv2D: Keras's kernel layout)."""
        return ""

    def count_params(self):
        if not self.built and not self._weights() and self._has_weights:
            raise ValueError(f"{self.name} is not built yet: its number of parameters is unknown")
        return int(sum(w.size for w in self._weights()))

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        if self.dtype is not None:
            config["dtype"] = self.dtype.name
        return config

    @classmethod
    def from_config(cls, config):
        obj = cls.__new__(cls)
        (cls._keras_base or cls).__init__(obj, **config)
        return obj

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LAYERS[cls.__name__] = cls

    def __repr__(self):
        shape = f", output_shape={self.output_shape}" if self.built else ""
        return f"<{type(self).__name__} name={self.name!r}{shape}>"


def may_take_blocked(layer):
    """Whether `layer` may run on blocked inputs at all (its class has an _accepts_blocked of its own)."""
    return type(layer)._accepts_blocked is not Layer._accepts_blocked


@contextlib.contextmanager
def training_workspaces(layers, need_input_grad=None, memory=None):
    """Within this block (one training step of a model), the layers write their outputs and gradients
    into buffers they keep per shape (no allocation in steady state), ReLU is fused where it can be,
    and the layers up to the first one with parameters compute no input gradient (backward returns
    None there). Outside it, every call returns fresh arrays, so nothing a caller holds is overwritten.
    need_input_grad: for layers that are not a chain, whether each needs its input gradient (a graph
    knows: those with a layer with parameters upstream). memory: a model graph's StepMemory, which
    places the buffers of all the layers in one slab by lifetime (cnet/layers/_workspace.py)."""
    layers = list(layers)
    if need_input_grad is None:
        first = next((i for i, layer in enumerate(layers) if layer.params), len(layers))
        need_input_grad = [i > first for i in range(len(layers))]
    for layer, need in zip(layers, need_input_grad):
        layer._workspace, layer._need_input_grad, layer._step_memory = True, need, memory
    try:
        yield
    finally:
        for layer in layers:
            layer._workspace, layer._need_input_grad, layer._step_memory = False, True, None


def sync_params(params, seen, owners, what="params"):
    """Reconcile a dict of parameter arrays shared with layers (a model's or a book network's params).

    owners: {key: (layer, name in layer.params)}; seen: {key: the array this dict held at the last call},
    updated here. An array rebound in the dict (book style, params[k] = new, a list too) goes into its
    layer, cast to the layer's dtype; one rebound in a layer (a dtype change, load_params) replaces the
    dict's entry. The keys are fixed by the layers: adding or removing one raises ValueError."""
    if set(params) != set(seen):
        raise ValueError(f"{what}: keys were added or removed; the keys are fixed by the layers "
                         f"({', '.join(seen)})")
    for key, (layer, name) in owners.items():
        mine, last, theirs = params[key], seen[key], layer.params.get(name)
        if mine is not last:
            mine = np.asarray(mine)
            if mine.shape != last.shape:
                raise ValueError(f"{what}[{key!r}] must be an array of shape {last.shape}, got {mine.shape}")
            dtype = (theirs if theirs is not None else last).dtype
            if layer._weight_format is not None:      # 16-bit storage: rounded like set_weights
                mine = _half.to_storage(layer, mine)
            elif mine.dtype != dtype:
                mine = mine.astype(dtype)
            params[key] = layer.params[name] = mine
        elif theirs is not last:
            params[key] = theirs
        seen[key] = params[key]
