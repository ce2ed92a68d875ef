"""The layers of the package (../shared/DESIGN.md): every import between cnet's modules points down
this table -- lazy imports in function bodies included -- and the module graph has no cycle.

The source is parsed with `ast` (nothing is imported), so an upward import fails here even when it
sits in a function that no test calls. To place a new module, add its prefix to RANKS.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "cnet"

# Module prefix -> rank, bottom to top. A prefix names a module and, for a package, its submodules
# ("cnet.ops" is cnet.ops and cnet.ops.*); the longest prefix wins. A module may import modules of
# its rank or below (never a cycle), unless ONLY or NEVER below says otherwise. Entries for modules
# that do not exist (yet, or any more) are harmless.
RANKS = {
    # 0: import nothing of cnet
    "cnet._kernels": 0, "cnet._version": 0, "cnet._fileio": 0, "cnet._signals": 0, "cnet._parallel": 0,
    # 1: the NumPy oracle (ONLY: itself)
    "cnet.reference": 1,
    # 2: threads
    "cnet._runtime": 2,
    # 3: the op table, one module per op family, and its checks
    "cnet.ops": 3,
    # 4: what a model is made of
    "cnet.backend": 4, "cnet.initializers": 4, "cnet.activations": 4, "cnet.regularizers": 4,
    "cnet._more_losses": 4, "cnet.layers": 4, "cnet.losses": 4, "cnet.optimizers": 4, "cnet.utils": 4,
    "cnet.gradcheck": 4, "cnet.preprocessing": 4,
    # 5: models, their files and training; the data sets beside them (5', ONLY below)
    "cnet.saving": 5, "cnet.metrics": 5, "cnet.callbacks": 5, "cnet.progbar": 5, "cnet.models": 5,
    "cnet._training": 5, "cnet._model_io": 5, "cnet.keras_h5": 5, "cnet._keras_config": 5, "cnet.nets": 5,
    "cnet.zoo": 5, "cnet.datasets": 5, "cnet._graph": 5, "cnet._compile": 5, "cnet._model": 5, "cnet._summary": 5,
    "cnet._data": 5, "cnet._evaluation": 5,
    # 6: data-parallel training
    "cnet.distributed": 6,
    # 7: the commands and what only they use
    "cnet.cli": 7, "cnet.train": 7, "cnet.plot": 7, "cnet.image": 7, "cnet.bench": 7, "cnet._info": 7,
    "cnet._command": 7, "cnet.__main__": 7, "cnet.book": 7,
    # 8: the package root (matches "cnet" exactly)
    "cnet": 8,
}
_BOTTOM = tuple(prefix for prefix, rank in RANKS.items() if rank == 0)

# Modules that may import only these prefixes of cnet, whatever their rank.
ONLY = {
    "cnet.reference": ("cnet.reference",),                         # the oracle must not share a bug
    "cnet.datasets": _BOTTOM + ("cnet.datasets", "cnet.utils"),   # knows no layer, model or op
    "cnet.saving": _BOTTOM,                                        # the file format knows no model
}
# Ranks whose modules must not import these prefixes although they are below them.
NEVER = {
    4: ("cnet._kernels",),   # layers, losses, optimizers... go through the op table
    5: ("cnet._kernels",),
    6: ("cnet._kernels",),
}
# The package root is rank 8, yet the commands (rank 7) may import it: they use the public API
# (cnet.set_num_threads, cnet.__version__) and the root never imports them (the cycle check holds).
ROOT_IMPORTERS = (7,)


def _modules():
    """{module name: path} of every .py file of the package, plus the compiled cnet._kernels."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    found["cnet._kernels"] = PACKAGE / "_kernels.pyx"
    return found


MODULES = _modules()


def _rank(module):
    """(prefix, rank) of a module: its longest prefix in RANKS (the root only as itself)."""
    if module == "cnet":
        return "cnet", RANKS["cnet"]
    best = None
    for prefix in RANKS:
        if prefix != "cnet" and (module == prefix or module.startswith(prefix + ".")):
            if best is None or len(prefix) > len(best):
                best = prefix
    return (best, RANKS[best]) if best else (None, None)


def _under(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _imports(module, path):
    """(line, imported cnet module) for every import statement in the file, at any depth, and every
    importlib.import_module / __import__ of a constant name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _under(alias.name, ("cnet",)):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if not _under(base, ("cnet",)):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, (sub if sub in MODULES else base)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            target = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(target, str) and _under(target, ("cnet",)):
                yield node.lineno, target


def _graph():
    """{importer: {imported: (file, line)}} over cnet's modules (self-imports left out)."""
    edges = {}
    for module, path in MODULES.items():
        if path.suffix != ".py":
            continue
        out = edges.setdefault(module, {})
        for line, target in _imports(module, path):
            if target != module:
                out.setdefault(target, (path.relative_to(PACKAGE.parent), line))
    return edges


def _violation(importer, target):
    """Why importer may not import target, or None."""
    iprefix, irank = _rank(importer)
    tprefix, trank = _rank(target)
    if irank is None:
        return f"{importer} is not in the layer table (tests/test_imports.py RANKS)"
    if trank is None:
        return f"{target} is not in the layer table (tests/test_imports.py RANKS)"
    only = next((ONLY[p] for p in ONLY if _under(importer, (p,))), None)
    if only is not None and not _under(target, only):
        return f"{iprefix} may import only {', '.join(only)} of cnet"
    if _under(target, NEVER.get(irank, ())):
        return f"rank {irank} must not import {tprefix} (it goes through cnet.ops)"
    if target == "cnet" and irank in ROOT_IMPORTERS:
        return None
    if trank > irank:
        return "an import must point down the table (lazy imports too)"
    return None


def test_every_module_has_a_rank():
    unranked = [f"{path.relative_to(PACKAGE.parent)}: {module}" for module, path in MODULES.items()
                if _rank(module)[1] is None]
    assert not unranked, "modules missing from the layer table (RANKS):\n" + "\n".join(unranked)


def test_imports_point_down_the_layers():
    problems = []
    for importer, targets in _graph().items():
        for target, (file, line) in sorted(targets.items()):
            why = _violation(importer, target)
            if why:
                problems.append(f"{file}:{line}: {importer} (rank {_rank(importer)[1]}) imports {target} "
                                f"(rank {_rank(target)[1]}): {why}")
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def _cycle(edges):
    """One import cycle [a, b, ..., a] of the graph, or None (iterative depth-first search)."""
    state = {}                       # module -> 1 on the current path, 2 done
    for start in sorted(edges):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(edges.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_no_import_cycle():
    edges = _graph()
    cycle = _cycle(edges)
    if cycle:
        steps = [f"  {a} -> {b}  ({edges[a][b][0]}:{edges[a][b][1]})" for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle (lazy imports count):\n" + "\n".join(steps))


@pytest.mark.parametrize("source, expected", [
    ("from . import ops", "cnet.ops"),
    ("from .layers import Dense", "cnet.layers"),
    ("from .layers.base import Layer", "cnet.layers.base"),
    ("import cnet.models", "cnet.models"),
    ("from cnet import __version__", "cnet"),
    ("def f():\n    from .models import Sequential", "cnet.models"),
    ("import importlib\nimportlib.import_module('cnet.nets')", "cnet.nets"),
])
def test_the_parser_sees_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert [t for _, t in _imports("cnet.probe", path)] == [expected]


def test_the_rules_catch_what_they_should():
    assert _violation("cnet.layers.core", "cnet.models")                 # up
    assert _violation("cnet.saving", "cnet.models")                      # saving knows no model
    assert _violation("cnet.saving", "cnet.layers")
    assert _violation("cnet.reference.conv", "cnet._kernels")            # the oracle: only itself
    assert _violation("cnet.datasets.mnist", "cnet.layers")
    assert _violation("cnet.layers.core", "cnet._kernels")               # through the op table
    assert _violation("cnet.models", "cnet")                             # the root from inside
    assert _violation("cnet.ops.conv", "cnet.newmodule") is not None     # unranked
    assert _violation("cnet.models", "cnet.saving") is None
    assert _violation("cnet.ops.gemm", "cnet._runtime") is None
    assert _violation("cnet.cli", "cnet") is None
    assert _cycle({"a": {"b": 0}, "b": {"c": 0}, "c": {"a": 0}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": 0}, "b": {}, "c": {"a": 0, "b": 0}}) is None
