"""model.summary(): Keras 2's tables. A Sequential model: layer (type), output shape, parameters (65
characters wide); a functional model adds the "Connected to" column (98 wide): each call's inputs as
layer[node index][tensor index], one per line."""
import numpy as np

__all__ = ["summary_lines"]


def _columns(width, positions, default):
    positions = list(default if positions is None else positions)
    if len(positions) != len(default):
        raise ValueError(f"summary: positions must give the right end of each of the {len(default)} columns, "
                         f"got {positions!r}")
    if all(p <= 1 for p in positions):
        positions = [int(width * p) for p in positions]
    if any(b <= a for a, b in zip([0] + positions, positions)):
        raise ValueError(f"summary: positions must increase, got {positions!r}")
    return positions


def _row(fields, cols):
    text = ""
    for field, end in zip(fields, cols):
        text = (text + str(field))[:end - 1].ljust(end)
    return text.rstrip()


def _shape_text(shape):
    return str((None,) + tuple(shape)) if shape is not None else "multiple"


def _totals(layers, width):
    total = sum(layer.count_params() if layer.built else 0 for layer in layers)
    trainable = sum(int(np.size(p)) for layer in layers if layer.built and layer.trainable
                    for p in layer.params.values())
    return [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}", "_" * width]


def _sequential_rows(model, cols, width):
    lines = []
    shape = model.input_shape
    for i, layer in enumerate(model.layers):
        if layer.built:
            out = getattr(layer, "output_shape", None)
            if out is None and shape is not None:
                out = layer.compute_output_shape(shape)
            shape = out
            fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(out), layer.count_params()]
        else:
            fields = [f"{layer.name} ({type(layer).__name__})", "(unbuilt)", 0]
        lines.append(_row(fields, cols))
        lines.append("=" * width if i == len(model.layers) - 1 else "_" * width)
    return lines


def _functional_rows(model, cols, width):
    graph = model._graph
    index = graph.node_indices()
    calls, shapes = {}, {}
    for node in graph.input_nodes + graph.nodes:
        calls.setdefault(id(node.layer), []).extend(
            f"{t.layer.name}[{index[id(t.node)]}][0]" for t in node.inputs)
        shapes.setdefault(id(node.layer), set()).add(node.output.shape[1:])
    lines = []
    for i, layer in enumerate(model.layers):
        connections = calls.get(id(layer)) or [""]
        shape = next(iter(shapes[id(layer)])) if len(shapes[id(layer)]) == 1 else None
        lines.append(_row([f"{layer.name} ({type(layer).__name__})", _shape_text(shape), layer.count_params(),
                           connections[0]], cols))
        lines += [_row(["", "", "", c], cols) for c in connections[1:]]
        lines.append("=" * width if i == len(model.layers) - 1 else "_" * width)
    return lines


def summary_lines(model, line_length=None, positions=None, functional=False):
    """The lines of model.summary() (functional: with the "Connected to" column)."""
    width = int(line_length or (98 if functional else 65))
    cols = _columns(width, positions, [.33, .55, .67, 1.] if functional else [.45, .85, 1.])
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    lines = [f'Model: "{model.name}"', "_" * width, _row(header, cols), "=" * width]
    lines += (_functional_rows if functional else _sequential_rows)(model, cols, width)
    if not model.layers:
        lines.append("=" * width)
    return lines + _totals(model.layers, width)
