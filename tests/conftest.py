"""Fixtures shared by the test files."""
import pytest

from cnet import _kernels
from helpers import SIMD_PATHS


@pytest.fixture(params=SIMD_PATHS)
def simd(request):
    """Runs the test on one SIMD path (each one this CPU has), restoring the previous path afterwards."""
    current = _kernels.simd_path()
    _kernels.set_simd_path(request.param)
    yield request.param
    _kernels.set_simd_path(current)


@pytest.fixture
def auto_conv_engine():
    """The automatic convolution engine choice (a plan per layer shape), whatever CNET_CONV says."""
    from cnet import ops
    previous = ops.conv.conv_engine()
    ops.conv.set_conv_engine("auto")
    yield
    ops.conv.set_conv_engine(previous)


@pytest.fixture(params=("im2col", "direct"))
def conv_engine(request):
    """Runs the test with every Conv2D layer forced onto one convolution engine (as CNET_CONV does),
    restoring the previous setting afterwards."""
    from cnet import ops
    previous = ops.conv.conv_engine()
    ops.conv.set_conv_engine(request.param)
    yield request.param
    ops.conv.set_conv_engine(previous)
