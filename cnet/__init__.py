"""cnet: fast neural-network training on the CPU (C kernels with OpenMP, NumPy reference).

`import cnet as keras` works for Keras 2 MNIST programs: cnet.layers, cnet.models, cnet.optimizers,
cnet.losses, cnet.utils, cnet.datasets, cnet.callbacks, cnet.backend and cnet.preprocessing are attributes of
the package, and keras.Input, keras.Model and keras.Sequential are cnet.Input, cnet.Model and cnet.Sequential.
"""
from ._version import __version__

try:
    from . import _kernels  # noqa: F401
except ImportError as exc:  # pragma: no cover - only when the extension was not built
    raise ImportError(
        "cnet's compiled extension (cnet._kernels) could not be imported: " + str(exc) + ".\n"
        "If you are in a source checkout, build it with `pip install -e .` (see README.md)."
    ) from exc

from ._runtime import cpu_count, get_num_threads, set_num_threads  # noqa: E402
from ._info import show_config  # noqa: E402
from . import ops  # noqa: E402
from .ops import get_backend, set_backend, use_backend  # noqa: E402
from . import (activations, backend, callbacks, datasets, initializers, layers, losses,  # noqa: E402
               models, nets, optimizers, preprocessing, utils)
from .gradcheck import gradcheck  # noqa: E402
from .initializers import set_seed  # noqa: E402
from .layers import Input  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from . import metrics, regularizers  # noqa: E402

__all__ = [
    "__version__", "cpu_count", "get_num_threads", "set_num_threads", "show_config",
    "ops", "get_backend", "set_backend", "use_backend", "gradcheck", "set_seed",
    "activations", "backend", "callbacks", "datasets", "initializers", "layers", "losses", "models",
    "nets", "optimizers", "preprocessing", "utils", "Input", "Model", "Sequential",
    "metrics", "regularizers",
]
