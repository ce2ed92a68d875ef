"""The operation table: every op's C kernel and its NumPy reference, behind one signature.

Layers, losses and optimizers call the functions of this package, never cnet._kernels: the backend
switch and the user-facing checks live here, in one place. Each public op checks its arguments (the
same checks on both backends, with messages that name the argument), then runs `implementation(name)`:
its C kernel under the 'c' backend, its NumPy reference under 'numpy' (or where it has no C kernel;
`op_backends()` and cnet.show_config() say which, op by op, so no fallback is silent).

One module per op family, the same stem as the family's C files, binding (_kernels_<family>.pxi),
reference (cnet/reference/<family>.py) and kernel tests (tests/test_kernels_<family>.py); _table.py holds
the backend state and the registry, _checks.py the checks shared by several families. (The op
cnet.ops.gemm hides the module of the same name: that one is sys.modules["cnet.ops.gemm"].)
"""
from ._table import BACKENDS, get_backend, implementation, op_backends, set_backend, use_backend  # noqa: F401
from . import gemm as _gemm, conv as _conv, pool as _pool, activation as _activation, loss as _loss
from . import regularization as _regularization, optim as _optim, cast as _cast
from .gemm import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .cast import *  # noqa: F401,F403

__all__ = (["BACKENDS", "get_backend", "set_backend", "use_backend", "op_backends", "implementation"]
           + _gemm.__all__ + _conv.__all__ + _pool.__all__ + _activation.__all__ + _loss.__all__
           + _regularization.__all__ + _optim.__all__ + _cast.__all__)
