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
