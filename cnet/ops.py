"""The operation table: every op's NumPy reference and, where it exists, its C kernel.

Layers, losses and optimizers call the functions of this module, never cnet._kernels: the backend
switch and the user-facing checks live here, in one place. Under the 'c' backend an op runs its C
kernel when it has one and the NumPy reference otherwise; `op_backends()` (and cnet.show_config())
says which, op by op, so no fallback is silent.

Op families live in their own modules (_ops_*.py): each defines the public, checked op functions and
registers its C implementations with `c_kernel`.
"""
from . import reference
from ._optable import (BACKENDS, get_backend, implementation, op_backends, passthrough,  # noqa: F401
                       set_backend, use_backend)
from ._ops_activation import *  # noqa: F401,F403
from ._ops_conv import *  # noqa: F401,F403
from ._ops_elementwise import *  # noqa: F401,F403
from ._ops_gemm import *  # noqa: F401,F403
from ._ops_more import *  # noqa: F401,F403

# Every op without a checked wrapper yet runs the reference's checks, under the same name.
for _name in reference.__all__:
    if _name not in globals():
        globals()[_name] = passthrough(_name)
del _name
