"""The graph executor of every cnet model: the layers between a model's input tensors and its output
tensors (a directed acyclic graph of layer calls, cnet.layers.node), run forward in the order they were
called and backward in the reverse order, the gradients of a tensor used by several layers summed.

A Sequential model is such a graph over a chain (cnet.models builds it by calling its layers in turn).
The plan is a list of (layer, input slots, output slot): forward keeps each tensor's value in its slot
until its last consumer ran; backward routes the gradients the same way.

A layer called more than once in one model (shared weights) runs each further call through a twin: a
shallow copy that shares the layer's parameters, state and Dropout mask stream but keeps its own caches,
buffers and gradients; after backward the twins' gradients are added into the layer's, so an optimizer
sees the gradient summed over every use.

The functional config (Keras 2's layout: each layer with its ``inbound_nodes`` as [layer name, node index,
tensor index, {}] entries, ``input_layers``, ``output_layers``) is written and read here; `replay` rebuilds
a graph's calls from it, on symbolic tensors or, to check a model file before allocating anything, on
shapes alone.
"""
import contextlib
import copy

import numpy as np

from . import layers as layers_module, ops
from .layers import InputLayer, KerasTensor, training_workspaces
from .layers import _workspace
from .layers._fusion import forward_with, relu_grad_pair, relu_out_pair
from .layers.base import may_take_blocked

__all__ = ["Graph", "softmax_head", "layer_from_spec", "parse_config", "replay"]


def softmax_head(layer):
    """True when `layer` ends in a softmax over the features of 2-D outputs (Dense/Conv2D with
    activation='softmax', Activation('softmax'), Softmax()): forward(x, train, logits=True) skips it."""
    act = getattr(layer, "_act", None)
    if act is None or not getattr(act, "is_softmax", False):
        return False
    out = getattr(layer, "output_shape", None)
    return out is None or len(out) == 1


def _tensors(value, what):
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ValueError(f"Model: {what} is empty")
    for t in items:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model: {what} must be symbolic tensors (from cnet.layers.Input and layer calls), "
                            f"got {type(t).__name__}")
    return items


def _twin(layer):
    """A layer object for a further call of `layer`: its params, state and activation shared, its own
    caches, buffers and gradients; a Dropout twin draws from the layer's mask stream."""
    twin = copy.copy(layer)
    twin.grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    twin._buffers = {}
    twin._inbound_nodes = []
    if hasattr(layer, "_mask_seed"):
        twin._mask_seed = layer._mask_seed
    return twin


def _accumulate(grads, slot, g):
    if g is not None:
        grads[slot] = g if grads[slot] is None else grads[slot] + g


class Graph:
    """The executable graph from `inputs` to `outputs` (lists of KerasTensors).

    layers: the layers, input layers first, then in the order of their first call (or `layer_order`);
    input_nodes/nodes: the InputLayer nodes and the other calls, in the order they run."""

    def __init__(self, inputs, outputs, layer_order=None):
        self.inputs, self.outputs = _tensors(inputs, "inputs"), _tensors(outputs, "outputs")
        for t in self.inputs:
            if t.node.inputs or not isinstance(t.layer, InputLayer):
                raise ValueError(f"Model: the inputs must be tensors made by cnet.layers.Input; {t!r} is the "
                                 f"output of layer {t.layer.name!r}: give the Input it comes from")
        slots = {id(t.node): i for i, t in enumerate(self.inputs)}
        if len(slots) != len(self.inputs):
            raise ValueError("Model: an input tensor is listed twice in inputs")
        found, stack = {}, list(self.outputs)
        while stack:
            node = stack.pop().node
            if id(node) in slots or id(node) in found:
                continue
            if not node.inputs:
                raise ValueError(f"Model: the graph is disconnected: the outputs depend on input "
                                 f"{node.layer.name!r}, which is not among the model's inputs "
                                 f"{[t.layer.name for t in self.inputs]}")
            found[id(node)] = node
            stack.extend(node.inputs)
        self.input_nodes = [t.node for t in self.inputs]
        self.nodes = sorted(found.values(), key=lambda n: n.order)
        for node in self.nodes:
            slots[id(node)] = len(slots)
        self._slots = slots
        self._order_layers(layer_order)
        self._make_plan()

    def _order_layers(self, layer_order):
        layers, seen = [], set()
        for node in self.input_nodes + self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        if layer_order is not None:
            if sorted(map(id, layer_order)) != sorted(seen):
                raise ValueError("Model: layer_order must list the graph's layers")
            layers = list(layer_order)
        names = [layer.name for layer in layers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"Model: all layers of a model need unique names; {', '.join(map(repr, twice))} "
                             "names several layers (pass name=... to the layers)")
        self.layers = layers

    def _make_plan(self):
        """The plan, which slots each step frees, the consumers of each slot, the shared layers' twins
        and which steps need their input gradient (those with a layer with parameters upstream)."""
        slot = self._slots
        n_in = len(self.inputs)
        self.out_slots = [slot[id(t.node)] for t in self.outputs]
        self.plan, self.shared, used = [], {}, {}
        upstream = [False] * (n_in + len(self.nodes))      # a layer with parameters above this slot?
        self.need_input_grad = []
        self.consumers = [0] * len(upstream)
        last_use = {}
        for step, node in enumerate(self.nodes):
            layer = node.layer
            if id(layer) in used:
                layer = _twin(layer)
                self.shared.setdefault(id(node.layer), (node.layer, []))[1].append(layer)
            used[id(node.layer)] = True
            ins = tuple(slot[id(t.node)] for t in node.inputs)
            out = slot[id(node)]
            self.plan.append((layer, ins, out, len(ins) > 1))
            for s in ins:
                self.consumers[s] += 1
                last_use[s] = step
            self.need_input_grad.append(any(upstream[s] for s in ins))
            upstream[out] = self.need_input_grad[-1] or bool(layer.params)
        keep = set(self.out_slots)
        self.frees = [[] for _ in self.plan]
        for s, step in last_use.items():
            if s >= n_in and s not in keep:
                self.frees[step].append(s)
        self.exec_layers = [entry[0] for entry in self.plan]
        self._own = {id(node.layer) for node in self.nodes}    # the layers themselves (not their twins)
        # outputs that go on to one layer (_in_model): one consumer, of one input, and no model output;
        # not a shared layer's (its calls' caches are twins). They may stay blocked (cnet/layers/_blocked.py)
        # when that layer may run on blocked inputs; else the producer converts its own output.
        one_input, takes_blocked = [0] * len(self.consumers), [False] * len(self.consumers)
        for consumer, ins, _, multi in self.plan:
            for s in ins:
                one_input[s] += 0 if multi else 1
                takes_blocked[s] = may_take_blocked(consumer)
        self._one_consumer = [self.consumers[out] == 1 and one_input[out] == 1 and out not in keep
                              and id(layer) in self._own and id(layer) not in self.shared
                              for layer, _, out, _ in self.plan]
        self._blk_ok = [one and takes_blocked[entry[2]] for one, entry in zip(self._one_consumer, self.plan)]
        # a plain ReLU layer right after a layer that can apply it as it writes its output (Conv2D,
        # Dense, with no activation of their own): the producer applies it, the ReLU passes its input on
        # (one pass over the activations less; the same values, so the same bits)
        self._relu_out, self._relu_in = self._pairs(relu_out_pair)
        # a plain ReLU whose one consumer is a max pool: the pool's backward applies the ReLU's mask on
        # its own small gradient (dy where the pooled value > 0) and the ReLU's backward passes it on
        self._grad_out, self._grad_in = self._pairs(relu_grad_pair)
        self._logits = [False] * len(self.plan)
        outputs = [i for i, entry in enumerate(self.plan) if entry[2] in keep]  # read after the step
        self._memory = _workspace.StepMemory(len(self.plan), outputs)
        self._step_memory = None   # the memory of the training step running (workspaces())

    def _pairs(self, match):
        """(first, second): flags over the plan's steps of the pairs a -> b where b is the one consumer of
        a's output (a single-input call of its own layer, not a shared one) and match(a, b) holds."""
        step_of = {out: i for i, (_, _, out, _) in enumerate(self.plan)}
        first, second = [False] * len(self.plan), [False] * len(self.plan)
        for j, (layer, ins, _, multi) in enumerate(self.plan):
            i = None if multi else step_of.get(ins[0])
            if (i is not None and self._one_consumer[i] and id(layer) in self._own and id(layer) not in self.shared
                    and match(self.plan[i][0], layer)):
                first[i] = second[j] = True
        return first, second

    # ---- running ---------------------------------------------------------------------------------

    def fusable(self, position):
        """Whether output `position` may skip its softmax for a fused softmax cross-entropy: a softmax
        head whose tensor feeds no other layer and is listed once among the outputs."""
        s = self.out_slots[position]
        producer = next((entry[0] for entry in self.plan if entry[2] == s), None)
        return (producer is not None and self.consumers[s] == 0 and self.out_slots.count(s) == 1
                and softmax_head(producer))

    def set_fused(self, positions):
        """The outputs (positions) whose layer runs with logits=True when forward(..., fused=True)."""
        slots = {self.out_slots[p] for p in positions}
        self._logits = [entry[2] in slots for entry in self.plan]

    @contextlib.contextmanager
    def workspaces(self):
        """The context of a training step: every layer call writes into workspace buffers, placed in
        one slab by lifetime (cnet/layers/_workspace.py)."""
        self._check_twins()
        memory = self._memory if _workspace.ENABLED else None
        with training_workspaces(self.exec_layers, self.need_input_grad, memory):
            self._step_memory = memory
            try:
                yield
            finally:
                self._step_memory = None

    def _check_twins(self):
        for layer, twins in self.shared.values():
            for i, twin in enumerate(twins):
                if twin.dtype != layer.dtype or twin.params is not layer.params:
                    twins[i] = _twin(layer)
                    self.exec_layers = [twins[i] if e is twin else e for e in self.exec_layers]
                    self.plan = [(twins[i],) + e[1:] if e[0] is twin else e for e in self.plan]

    def forward(self, inputs, train, fused=False):
        """The outputs (a list) of the inputs (a list of arrays, cast already). fused: the outputs chosen
        by set_fused come out as logits."""
        if self.shared:
            self._check_twins()
        values = list(inputs) + [None] * len(self.nodes)
        logits = self._logits if fused else None
        blocked = ops.conv.blocked_activations()
        memory = self._step_memory if train else None
        if memory is not None:
            memory.begin(len(values[0]), self.exec_layers)
        for i, (layer, ins, out, multi) in enumerate(self.plan):
            if memory is not None:
                memory.t = i
            x = [values[s] for s in ins] if multi else values[ins[0]]
            flags = (self._one_consumer[i], blocked and self._blk_ok[i], self._relu_out[i], self._relu_in[i],
                     self._grad_out[i], self._grad_in[i])
            values[out] = forward_with(layer, flags, x, train=train, logits=logits is not None and logits[i])
            for s in self.frees[i]:
                values[s] = None
        outputs = [values[s] for s in self.out_slots]
        if memory is not None:
            memory.end_forward(outputs)
        return outputs

    def backward(self, douts, after_layer=None):
        """Backpropagate the gradients of the outputs (a list, None for no gradient); fills every layer's
        grads and returns the gradients of the inputs (None where nothing needed them). after_layer(layer),
        when given, is called once per layer as soon as its gradients are complete (in reverse order of
        the calls; a shared layer after its first call, the last one backward goes through)."""
        grads = [None] * len(self._slots)
        for s, d in zip(self.out_slots, douts):
            _accumulate(grads, s, d)
        memory, last = self._step_memory, 2 * len(self.plan) - 1
        for i in range(len(self.plan) - 1, -1, -1):
            layer, ins, out, multi = self.plan[i]
            if memory is not None:
                memory.t = last - i
            d, grads[out] = grads[out], None
            if d is None:                  # no gradient reaches this call: its parameters get zeros
                for g in layer.grads.values():
                    g.fill(0)
            else:
                dx = layer.backward(d)
                if multi:
                    for s, g in zip(ins, dx):
                        _accumulate(grads, s, g)
                else:
                    _accumulate(grads, ins[0], dx)
            if id(layer) in self.shared:   # the layer's own call runs backward after its twins'
                for key, g in layer.grads.items():
                    for twin in self.shared[id(layer)][1]:
                        np.add(g, twin.grads[key], out=g)
            if after_layer is not None and id(layer) in self._own:
                after_layer(layer)
        return grads[:len(self.inputs)]

    # ---- the functional config -------------------------------------------------------------------

    def node_indices(self):
        """{id(node): index among its layer's calls in this graph}."""
        counts, index = {}, {}
        for node in self.input_nodes + self.nodes:
            index[id(node)] = counts.get(id(node.layer), 0)
            counts[id(node.layer)] = index[id(node)] + 1
        return index

    def get_config(self, name):
        """Keras 2's functional model config (JSON data)."""
        index = self.node_indices()
        calls = {}
        for node in self.nodes:
            calls.setdefault(id(node.layer), []).append(
                [[t.layer.name, index[id(t.node)], 0, {}] for t in node.inputs])
        layers = [{"name": layer.name, "class_name": type(layer).__name__, "config": layer.get_config(),
                   "inbound_nodes": calls.get(id(layer), [])} for layer in self.layers]
        return {"name": name, "layers": layers,
                "input_layers": [[t.layer.name, 0, 0] for t in self.inputs],
                "output_layers": [[t.layer.name, index[id(t.node)], 0] for t in self.outputs]}


# ---- reading a functional config ------------------------------------------------------------------

def layer_from_spec(i, spec):
    """A new, unbuilt layer from a config entry {'class_name', 'config'} (layer i of a model); classes
    come from cnet's registry only. Raises ValueError naming the layer."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"layer {i}: malformed entry {spec!r}")
    name = spec["class_name"]
    try:
        layer_cls = layers_module.get(name)
    except (ValueError, KeyError, TypeError, AttributeError):
        layer_cls = None
    if not isinstance(layer_cls, type):
        raise ValueError(f"layer {i}: unknown layer class {name!r} (not a cnet layer)")
    lconf = spec.get("config") or {}
    if not isinstance(lconf, dict):
        raise ValueError(f"layer {i} ({name}): its config must be a JSON object")
    try:
        return layer_cls.from_config(lconf)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"layer {i} ({name}): invalid config ({exc})") from None


def _ref(entry, what, names):
    """(layer name, node index) of an [name, node_index, tensor_index(, kwargs)] entry."""
    ok = isinstance(entry, list) and len(entry) in (3, 4) and isinstance(entry[0], str) and \
        all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in entry[1:3])
    if not ok:
        raise ValueError(f"{what}: malformed entry {entry!r} (expected [layer name, node index, tensor index])")
    if entry[0] not in names:
        raise ValueError(f"{what}: no layer named {entry[0]!r} in the model")
    if entry[2] != 0:
        raise ValueError(f"{what}: tensor index {entry[2]} of layer {entry[0]!r} (cnet layers have one output)")
    if len(entry) == 4 and entry[3]:
        raise ValueError(f"{what}: call arguments {entry[3]!r} are not supported (cnet layer calls take none)")
    return entry[0], entry[1]


def parse_config(config):
    """(name, layers, calls, input refs, output refs) of a functional config: the layers created from
    their configs (not built, nothing allocated); calls: [(layer, [refs of its inputs])] per layer call,
    in the config's order; a ref is (layer name, node index)."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("a functional model config needs a 'layers' list")
    specs = config["layers"]
    names = [s.get("name") if isinstance(s, dict) else None for s in specs]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError("every layer of a functional model config needs a name of its own")
    layers, calls = [], []
    for i, spec in enumerate(specs):
        layer = layer_from_spec(i, spec)
        if layer.name != names[i]:
            raise ValueError(f"layer {i}: named {names[i]!r} but its config says {layer.name!r}")
        layers.append(layer)
        nodes = spec.get("inbound_nodes", [])
        if not isinstance(nodes, list) or (isinstance(layer, InputLayer) and nodes):
            raise ValueError(f"layer {i} ({names[i]}): malformed inbound_nodes {nodes!r}")
        for node in nodes:
            if not isinstance(node, list) or not node:
                raise ValueError(f"layer {i} ({names[i]}): malformed call {node!r}")
            calls.append((layer, [_ref(e, f"layer {i} ({names[i]})", names) for e in node]))
    called = {id(layer) for layer, _ in calls}
    for layer in layers:
        if not isinstance(layer, InputLayer) and id(layer) not in called:
            raise ValueError(f"layer {layer.name!r} is not connected to the model (no inbound_nodes)")
    ends = []
    for key in ("input_layers", "output_layers"):
        refs = config.get(key)
        if not isinstance(refs, list) or not refs:
            raise ValueError(f"a functional model config needs a non-empty {key!r} list")
        ends.append([_ref(e, key, names) for e in refs])
    by_name = dict(zip(names, layers))
    for name, k in ends[0]:
        if not isinstance(by_name[name], InputLayer) or k != 0:
            raise ValueError(f"input_layers: {name!r} (node {k}) is not an InputLayer")
    return config.get("name"), layers, calls, ends[0], ends[1]


def replay(layers, calls, input_value, call):
    """Run the calls of a parsed config: each InputLayer's value is input_value(layer); each call's value
    is call(layer, value or list of values of its inputs), made once its inputs exist and in each layer's
    call order. Returns {(layer name, node index): value}. A call whose inputs never exist (a cycle, a
    missing node) raises ValueError."""
    values = {(layer.name, 0): input_value(layer) for layer in layers if isinstance(layer, InputLayer)}
    made, pending = {}, []
    for layer, refs in calls:
        pending.append((layer, made.get(layer.name, 0), refs))
        made[layer.name] = made.get(layer.name, 0) + 1
    while pending:
        left = []
        for layer, k, refs in pending:
            if all(r in values for r in refs) and (k == 0 or (layer.name, k - 1) in values):
                ins = [values[r] for r in refs]
                values[(layer.name, k)] = call(layer, ins[0] if len(ins) == 1 else ins)
            else:
                left.append((layer, k, refs))
        if len(left) == len(pending):
            layer, k, refs = left[0]
            missing = [r for r in refs if r not in values]
            raise ValueError(f"call {k} of layer {layer.name!r} takes {missing} (layer, node), which no call of "
                             "the config makes")
        pending = left
    return values
