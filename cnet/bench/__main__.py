"""``python -m cnet.bench [options]``: the same as ``cnet-bench [options]``."""
import sys

from .cli import main

sys.exit(main())
