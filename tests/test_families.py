"""One name per op family through every layer (README, Layout): each op of the NumPy reference lives in
cnet/reference/<family>.py, has its checked public op in cnet/ops/<family>.py registered under both
backends, its binding (when it has a C kernel) in cnet/_kernels_<family>.pxi, and its kernel tests in
tests/test_kernels_<family>.py."""
import pathlib

import pytest

import cnet
from cnet import ops, reference

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAMILIES = ("gemm", "conv", "pool", "activation", "loss", "regularization", "optim", "cast")
# reference modules that are no family: the random stream of dropout
HOME = {"rng": "regularization"}


def _family(fn, package):
    stem = fn.__module__.split(".")[-1]
    assert fn.__module__ == f"{package}.{stem}", fn.__module__
    return HOME.get(stem, stem) if package == "cnet.reference" else stem


@pytest.mark.parametrize("name", reference.__all__)
def test_every_reference_op_has_its_op_binding_and_tests_under_one_stem(name):
    family = _family(getattr(reference, name), "cnet.reference")
    assert family in FAMILIES
    op = getattr(ops, name)
    assert _family(op, "cnet.ops") == family and name in ops.__all__
    with cnet.use_backend("numpy"):
        assert ops.op_backends()[name] == "numpy"
    with cnet.use_backend("c"):
        in_c = ops.op_backends()[name] == "c"
    binding = (ROOT / "cnet" / f"_kernels_{family}.pxi").read_text()
    assert (f"\ndef {name}(" in binding) == in_c, f"{name}: binding in _kernels_{family}.pxi"
    assert (ROOT / "tests" / f"test_kernels_{family}.py").is_file()


def test_every_op_is_a_reference_op():
    table = set(ops.op_backends())
    public = set(ops.__all__) - {"BACKENDS", "get_backend", "set_backend", "use_backend", "op_backends",
                                 "implementation"}
    assert table == public == set(reference.__all__)
